// SPDX-License-Identifier: AGPL-3.0-or-later
// The submission half of SmtpSession (RFC 6409): AUTH (RFC 4954, PLAIN RFC 4616 and
// LOGIN), sender checks, DSN (RFC 3461) and REQUIRETLS (RFC 8689) parameters, the
// per-user sending limit, and the hand-over to the Submitter.
#include "smtp/smtpsession.h"

#include "core/pool.h"
#include "core/ratelimit.h"
#include "core/sasl.h"
#include "mime/headerfields.h"
#include "outbound/dsn.h"
#include "outbound/submitter.h"
#include "rfc5322date.h"
#include "store/crypto.h"
#include "store/mailstorecache.h"

#include <QDateTime>
#include <QLoggingCategory>
#include <QTimer>

Q_DECLARE_LOGGING_CATEGORY(lcSmtp)

namespace valv::smtp {

namespace {
// As for IMAP and POP3: a failed login answers after a delay (a timer, not a sleep).
constexpr int kFailureDelayMs = 1000;
constexpr int kMaxAuthFailures = 3;
constexpr int kSendWindowSeconds = 3600;
constexpr int kMaxEnvidLength = 100; // RFC 3461 §4.4

qint64 now() { return QDateTime::currentSecsSinceEpoch(); }

// RFC 3461 §4.1: NOTIFY=NEVER or a comma list of SUCCESS, FAILURE, DELAY.
bool validNotify(const QByteArray &value)
{
    const QList<QByteArray> items = value.toUpper().split(',');
    if (items.size() == 1 && items.first() == "NEVER")
        return true;
    for (const QByteArray &i : items) {
        if (i != "SUCCESS" && i != "FAILURE" && i != "DELAY")
            return false;
    }
    return true;
}
} // namespace

void SmtpSession::onAuth(const Command &cmd)
{
    if (m_user) {
        reply(503, "5.5.1", QStringLiteral("Already authenticated"));
        return;
    }
    if (m_state != State::Greeted) {
        reply(503, "5.5.1", m_state == State::Connected ? QStringLiteral("Send EHLO first")
                                                        : QStringLiteral("AUTH is not allowed during a mail transaction"));
        return;
    }
    if (!sink()->isEncrypted() && !m_ctx.allowPlaintextAuth) {
        reply(538, "5.7.11", QStringLiteral("Encryption required: use STARTTLS before AUTH"));
        (void)countError();
        return;
    }
    const QString peer = sink()->peerAddress();
    if (m_ctx.limits.authFailuresPerIp > 0
        && core::authFailures().count(peer, now(), m_ctx.limits.authBlockSeconds) >= m_ctx.limits.authFailuresPerIp) {
        const qint64 wait = core::authFailures().secondsUntilOldestExpires(peer, now(), m_ctx.limits.authBlockSeconds);
        reply(454, "4.7.0", QStringLiteral("Too many failed logins from your address; try again in %1 seconds").arg(wait));
        (void)countError();
        return;
    }
    const qsizetype sp = cmd.argument.indexOf(' ');
    const QByteArray mech = (sp < 0 ? cmd.argument : cmd.argument.left(sp)).toUpper();
    const QByteArray initial = sp < 0 ? QByteArray() : cmd.argument.mid(sp + 1);
    if (mech != "PLAIN" && mech != "LOGIN") {
        reply(504, "5.5.4", QStringLiteral("Unrecognized authentication type; use PLAIN or LOGIN"));
        return;
    }
    if (mech == "PLAIN") {
        m_sasl = Sasl::PlainResponse;
        if (sp >= 0)
            return authLine(initial);
        m_receiver.setAuthMode(true);
        sink()->write("334 \r\n");
        return;
    }
    m_sasl = Sasl::LoginUser;
    if (sp >= 0)
        return authLine(initial);
    m_receiver.setAuthMode(true);
    sink()->write("334 VXNlcm5hbWU6\r\n"); // "Username:"
}

void SmtpSession::authLine(const QByteArray &line)
{
    const core::sasl::Response response = core::sasl::decodeResponse(line);
    const Sasl step = std::exchange(m_sasl, Sasl::None);
    m_receiver.setAuthMode(false);
    if (response.kind == core::sasl::Response::Kind::Cancelled) {
        m_saslUser.clear();
        reply(501, "5.7.0", QStringLiteral("Authentication cancelled"));
        return;
    }
    if (response.kind == core::sasl::Response::Kind::Invalid) {
        m_saslUser.clear();
        reply(501, "5.5.2", QStringLiteral("Invalid base64 in authentication data"));
        (void)countError();
        return;
    }
    switch (step) {
    case Sasl::PlainResponse: {
        const auto creds = core::sasl::parsePlain(response.data);
        if (!creds) {
            reply(501, "5.5.2", QStringLiteral("Malformed PLAIN authentication data"));
            return;
        }
        if (!creds->authzid.isEmpty() && creds->authzid != creds->authcid)
            return authFailed(535, "5.7.8", QStringLiteral("Authenticating as another user is not allowed"));
        return checkPassword(QString::fromUtf8(creds->authcid), creds->password);
    }
    case Sasl::LoginUser:
        if (response.data.isEmpty()) {
            reply(501, "5.5.2", QStringLiteral("Empty user name"));
            return;
        }
        m_saslUser = response.data;
        m_sasl = Sasl::LoginPassword;
        m_receiver.setAuthMode(true);
        sink()->write("334 UGFzc3dvcmQ6\r\n"); // "Password:"
        return;
    case Sasl::LoginPassword:
        return checkPassword(QString::fromUtf8(std::exchange(m_saslUser, QByteArray())), response.data);
    case Sasl::None:
        break;
    }
}

void SmtpSession::checkPassword(const QString &user, const QByteArray &password)
{
    m_authBusy = true;
    beginAsync();
    const core::ServerContext *ctx = &m_ctx;
    core::runPooled([this, ctx, user, password] {
        auto login = ctx->config->authenticate(user, password);
        const store::User u = login ? *login : store::User();
        const QString error = login ? QString() : login.error().message;
        // The session stays alive until endAsync() (see Session::beginAsync).
        QMetaObject::invokeMethod(this, [this, u, error] { loginFinished(u, error); }, Qt::QueuedConnection);
    });
}

void SmtpSession::loginFinished(const store::User &user, const QString &error)
{
    auto finish = [this] {
        m_authBusy = false;
        endAsync();
        process();
    };
    if (m_state == State::Closed)
        return finish();
    if (error.isEmpty()) {
        m_user = user;
        qCInfo(lcSmtp).noquote() << QStringLiteral("[%1]").arg(m_id) << "login" << user.address;
        reply(235, "2.7.0", QStringLiteral("Authentication successful"));
        return finish();
    }
    qCInfo(lcSmtp).noquote() << QStringLiteral("[%1]").arg(m_id) << "login failed from" << sink()->peerAddress();
    QTimer::singleShot(kFailureDelayMs, this, [this, finish] {
        if (m_state != State::Closed)
            authFailed(535, "5.7.8", QStringLiteral("Authentication credentials invalid"));
        finish();
    });
}

void SmtpSession::authFailed(int code, const char *enhanced, const QString &text)
{
    if (m_ctx.limits.authFailuresPerIp > 0)
        core::authFailures().add(sink()->peerAddress(), now(), m_ctx.limits.authBlockSeconds, 1,
                                 m_ctx.limits.authFailuresPerIp);
    reply(code, enhanced, text);
    if (++m_authFailures >= kMaxAuthFailures)
        closeWith(421, "4.7.0", m_ctx.hostname + QStringLiteral(" too many failed logins, closing"));
}

bool SmtpSession::submissionMailParams(const Command &cmd)
{
    for (const auto &[key, value] : cmd.params) {
        if (key == "RET") {
            const QByteArray v = value.toUpper();
            if ((v != "FULL" && v != "HDRS") || !m_ret.isEmpty()) {
                reply(501, "5.5.4", QStringLiteral("RET must be FULL or HDRS, once"));
                return false;
            }
            m_ret = QString::fromLatin1(v);
        } else if (key == "ENVID") {
            const QByteArray decoded = outbound::xtextDecode(value);
            if (value.isEmpty() || value.size() > kMaxEnvidLength || !m_envid.isEmpty()) {
                reply(501, "5.5.4", QStringLiteral("ENVID must be 1 to 100 characters of xtext, once"));
                return false;
            }
            m_envid = QString::fromUtf8(decoded);
        } else if (key == "REQUIRETLS") {
            if (!sink()->isEncrypted() || !value.isNull()) {
                reply(530, "5.7.10", QStringLiteral("REQUIRETLS needs a TLS session and takes no value"));
                return false;
            }
            m_requireTls = true;
        }
    }
    return true;
}

bool SmtpSession::submissionRcpt(const Command &cmd, const QString &address)
{
    QString notify, orcpt;
    for (const auto &[key, value] : cmd.params) {
        if (key == "NOTIFY" && notify.isEmpty() && validNotify(value)) {
            notify = QString::fromLatin1(value.toUpper());
        } else if (key == "ORCPT" && orcpt.isEmpty() && value.contains(';')) {
            orcpt = QString::fromUtf8(outbound::xtextDecode(value));
        } else {
            reply(501, "5.5.4", QStringLiteral("Invalid RCPT parameter %1").arg(QString::fromUtf8(key)));
            return false;
        }
    }
    if (const int limit = m_ctx.limits.userSendRate; limit > 0) {
        const int sent = core::sentRecipients().count(m_user->id, now(), kSendWindowSeconds);
        if (sent + int(m_rcptAddresses.size()) >= limit) {
            qCInfo(lcSmtp).noquote() << QStringLiteral("[%1]").arg(m_id) << m_user->address << "reached its sending limit";
            reply(450, "4.7.1", QStringLiteral("Sending limit reached (%1 recipients per hour); try again later").arg(limit));
            return false;
        }
    }
    if (cmd.path.domainIsLiteral) {
        reply(550, "5.7.1", QStringLiteral("Address literals are not accepted as recipients"));
        return false;
    }
    auto users = m_ctx.config->resolveRecipient(address);
    if (users) {
        for (const store::User &u : *users) {
            if (std::none_of(m_recipients.begin(), m_recipients.end(), [&](const store::User &x) { return x.id == u.id; }))
                m_recipients.append(u);
        }
    } else if (users.error().code == int(store::ConfigError::NotLocal)) {
        store::QueueRecipient r;
        r.address = address;
        r.domain = store::ConfigStore::domainOf(address);
        r.notify = notify;
        r.orcpt = orcpt;
        m_remote.append(r);
    } else if (users.error().code == int(store::ConfigError::NoSuchUser)) {
        reply(550, "5.1.1", QStringLiteral("No such user here: %1").arg(address));
        return false;
    } else if (users.error().code == int(store::ConfigError::Invalid)) {
        reply(553, "5.1.3", QStringLiteral("Malformed address: %1").arg(address));
        return false;
    } else {
        qCWarning(lcSmtp).noquote() << QStringLiteral("[%1]").arg(m_id) << "recipient lookup failed:" << users.error().message;
        reply(451, "4.3.0", QStringLiteral("Temporary server error, try again later"));
        return false;
    }
    m_rcptAddresses.append(address);
    return true;
}

void SmtpSession::submitMessage(const QByteArray &content)
{
    m_bdatActive = false;
    // RFC 6409 §6.1: the From: addresses must be the user's too.
    for (const QString &from : mime::headerAddresses(content, "From")) {
        auto mine = m_ctx.config->mayUseAddress(*m_user, from);
        if (!mine || !*mine) {
            reply(550, "5.7.1", QStringLiteral("From: <%1> is not your address; send as %2 or one of its aliases")
                                    .arg(from, m_user->address));
            resetTransaction();
            m_state = State::Greeted;
            return;
        }
    }
    // RFC 6409 §8: complete the header the client left out.
    QByteArray added;
    if (mime::headerValues(content, "From").isEmpty())
        added += "From: <" + m_from.toUtf8() + ">\r\n";
    if (mime::headerValues(content, "Date").isEmpty())
        added += "Date: " + rfc5322Date(QDateTime::currentDateTimeUtc()).toLatin1() + "\r\n";
    if (mime::headerValues(content, "Message-ID").isEmpty())
        added += "Message-ID: <" + store::randomBytes(16).toHex() + '@' + m_ctx.hostname.toUtf8() + ">\r\n";

    m_state = State::Committing;
    beginAsync();
    outbound::Submission s;
    s.sender = m_from;
    s.user = m_user->address;
    s.message = traceHeaders() + added + content;
    s.local = m_recipients;
    s.remote = m_remote;
    s.envid = m_envid;
    s.ret = m_ret;
    s.requireTls = m_requireTls;
    s.smtpUtf8 = m_utf8;
    s.eightBit = m_eightBit;
    const int recipients = int(m_rcptAddresses.size());
    qCInfo(lcSmtp).noquote() << QStringLiteral("[%1]").arg(m_id) << m_user->address << "submits <" + m_from + ">"
                             << content.size() << "bytes for" << m_rcptAddresses.join(u',');
    m_submitter->submitAsync(this, std::move(s), [this, recipients](Result<void> r) {
        if (r)
            core::sentRecipients().add(m_user->id, now(), kSendWindowSeconds, recipients,
                                       std::max(m_ctx.limits.userSendRate, 1));
        else
            qCWarning(lcSmtp).noquote() << QStringLiteral("[%1]").arg(m_id) << "submission failed:" << r.error().message;
        commitDone(r);
        endAsync();
    });
}

} // namespace valv::smtp
