// SPDX-License-Identifier: AGPL-3.0-or-later
// AUTHORIZATION state: RFC 1939 §7 USER/PASS (APOP is refused), RFC 2449 §5 CAPA,
// RFC 2595 §4 STLS, RFC 5034 AUTH with RFC 4616 PLAIN and LOGIN, RFC 2449 §8.1
// response codes ([IN-USE], [LOGIN-DELAY]), RFC 3206 [AUTH] and [SYS/TEMP].
#include "pop3/pop3session.h"

#include "core/pool.h"
#include "store/crypto.h"
#include "store/mailstorecache.h"

#include <QLoggingCategory>
#include <QTimer>

Q_DECLARE_LOGGING_CATEGORY(lcPop3)

namespace valv::pop3 {

namespace {
// As for IMAP: a failed login answers after a delay (a timer, not a sleep), and the
// third failure closes the connection.
constexpr int kFailureDelayMs = 1000;
constexpr int kMaxAuthFailures = 3;
// A session's own store connection gets a small page cache (see the IMAP session).
constexpr int kSessionCacheKiB = 256;
const QByteArray kPrivacy = "[AUTH] Use STLS or port 995 before sending a password";
} // namespace

void Pop3Session::cmdCapa() { multiline("Capability list follows", capabilities() + ".\r\n"); }

void Pop3Session::cmdStls()
{
    if (sink()->isEncrypted())
        return err("TLS is already active");
    if (!m_tlsAvailable)
        return err("TLS is not available");
    if (!m_userName.isEmpty())
        return err("STLS is only valid before USER");
    if (m_receiver.buffered() > 0) {
        // RFC 2595 §4 with the lesson of CVE-2011-0411: commands sent after STLS in the
        // clear would be taken as if they came through TLS.
        closeWith("Nothing may follow STLS before the TLS handshake");
        return;
    }
    ok("Begin TLS negotiation");
    sink()->startTls();
}

void Pop3Session::cmdUser(const Command &cmd)
{
    if (!passwordsAllowed())
        return err(kPrivacy);
    // RFC 1939 §7: the reply does not tell whether the user exists.
    m_userName = cmd.argument;
    ok("Send your password");
}

void Pop3Session::cmdPass(const Command &cmd)
{
    if (m_userName.isEmpty())
        return err("Send USER first");
    if (!passwordsAllowed())
        return err(kPrivacy);
    const QByteArray name = std::exchange(m_userName, QByteArray());
    checkPassword(QString::fromUtf8(name), cmd.argument);
}

void Pop3Session::cmdAuth(const Command &cmd)
{
    if (cmd.mechanism.isEmpty()) {
        // Not in RFC 5034, but common (and harmless): bare AUTH lists the mechanisms.
        if (!passwordsAllowed())
            return multiline("No mechanisms before TLS", ".\r\n");
        return multiline("Mechanisms follow", "PLAIN\r\nLOGIN\r\n.\r\n");
    }
    if (cmd.mechanism != "PLAIN" && cmd.mechanism != "LOGIN")
        return err("Unsupported authentication mechanism; use PLAIN or LOGIN");
    if (!passwordsAllowed())
        return err(kPrivacy);
    m_userName.clear();
    if (cmd.mechanism == "PLAIN") {
        m_sasl = Sasl::PlainResponse;
        if (cmd.initialResponse)
            return saslLine(*cmd.initialResponse);
        m_receiver.setSaslMode(true);
        sink()->write("+ \r\n");
        return;
    }
    m_sasl = Sasl::LoginUser;
    if (cmd.initialResponse)
        return saslLine(*cmd.initialResponse);
    m_receiver.setSaslMode(true);
    sink()->write("+ VXNlcm5hbWU6\r\n"); // "Username:"
}

void Pop3Session::saslLine(const QByteArray &line)
{
    bool cancelled = false;
    const auto decoded = decodeSaslResponse(line, &cancelled);
    const Sasl step = std::exchange(m_sasl, Sasl::None);
    m_receiver.setSaslMode(false);
    if (cancelled)
        return err("Authentication cancelled");
    if (!decoded)
        return err("Invalid base64 in authentication data");
    switch (step) {
    case Sasl::PlainResponse: {
        const auto creds = parseSaslPlain(*decoded);
        if (!creds)
            return err("Malformed PLAIN authentication data");
        if (!creds->authzid.isEmpty() && creds->authzid != creds->authcid)
            return authFailed("[AUTH] Logging in as another user is not allowed");
        return checkPassword(QString::fromUtf8(creds->authcid), creds->password);
    }
    case Sasl::LoginUser:
        if (decoded->isEmpty())
            return err("Empty user name");
        m_saslUser = *decoded;
        m_sasl = Sasl::LoginPassword;
        m_receiver.setSaslMode(true);
        sink()->write("+ UGFzc3dvcmQ6\r\n"); // "Password:"
        return;
    case Sasl::LoginPassword:
        return checkPassword(QString::fromUtf8(std::exchange(m_saslUser, QByteArray())), *decoded);
    case Sasl::None:
        return err("Unexpected authentication data");
    }
}

void Pop3Session::checkPassword(const QString &user, const QByteArray &password)
{
    m_busy = true;
    beginAsync();
    const core::ServerContext *ctx = &m_ctx;
    core::runPooled([this, ctx, user, password] {
        store::User u;
        std::unique_ptr<store::MailStore> mail;
        QString error;
        auto found = ctx->config->user(user);
        // A dummy verify for unknown users keeps the timing the same as a wrong password.
        static const QByteArray dummy = *store::hashPassword("valv-timing-equaliser");
        const bool good = found ? store::verifyPassword(found->passwordHash, password)
                                : (void(store::verifyPassword(dummy, password)), false);
        if (good && found->disabled)
            error = QStringLiteral("disabled");
        else if (!good)
            error = QStringLiteral("bad credentials");
        else {
            u = *found;
            auto opened = ctx->mail->open(u.id, kSessionCacheKiB);
            if (opened)
                mail = std::move(*opened);
            else
                error = QStringLiteral("mailbox: ") + opened.error().message;
        }
        // The session stays alive until endAsync() (see Session::beginAsync).
        QMetaObject::invokeMethod(this, [this, u, m = mail.release(), error]() mutable {
            loginFinished(u, std::unique_ptr<store::MailStore>(m), error);
        }, Qt::QueuedConnection);
    });
}

void Pop3Session::loginFinished(const store::User &user, std::unique_ptr<store::MailStore> mail, const QString &error)
{
    auto resume = [this] {
        m_busy = false;
        endAsync();
        process();
    };
    if (!error.isEmpty() && !error.startsWith(QLatin1String("mailbox: "))) {
        qCInfo(lcPop3).noquote() << log() << "login failed from" << sink()->peerAddress();
        QTimer::singleShot(kFailureDelayMs, this, [this, resume] {
            authFailed("[AUTH] Invalid user name or password");
            resume();
        });
        return;
    }
    if (!error.isEmpty()) {
        sysTemp(error);
        return resume();
    }
    // RFC 2449 §8.1.2: [LOGIN-DELAY] only after the credentials were found good.
    if (const qint64 wait = MaildropLock::instance().secondsToWait(user.id, m_ctx.limits.pop3LoginDelay); wait > 0) {
        err("[LOGIN-DELAY] Wait " + QByteArray::number(wait) + " more seconds before logging in again");
        return resume();
    }
    MaildropLock::Guard lock = MaildropLock::instance().tryLock(user.id);
    if (!lock.held()) {
        qCInfo(lcPop3).noquote() << log() << "maildrop in use:" << user.address;
        err("[IN-USE] Another POP3 session is using this mailbox");
        return resume();
    }
    m_user = user;
    m_mail = std::move(mail);
    m_lock = std::move(lock);
    QString openError;
    if (!openMaildrop(&openError)) {
        m_lock.release();
        m_mail.reset();
        sysTemp(openError);
        return resume();
    }
    MaildropLock::instance().recordLogin(user.id);
    m_state = State::Transaction;
    qCInfo(lcPop3).noquote() << log() << "login" << user.address << "maildrop" << m_drop.size() << "messages";
    ok("Logged in; " + dropSummary());
    resume();
}

void Pop3Session::authFailed(const QByteArray &text)
{
    err(text);
    if (++m_authFailures >= kMaxAuthFailures)
        closeWith("Too many failed logins");
}

bool Pop3Session::openMaildrop(QString *error)
{
    auto inbox = m_mail->folder(QStringLiteral("INBOX"));
    if (!inbox) {
        *error = QStringLiteral("INBOX: ") + inbox.error().message;
        return false;
    }
    auto messages = m_mail->messages(inbox->id);
    if (!messages) {
        *error = QStringLiteral("INBOX messages: ") + messages.error().message;
        return false;
    }
    m_folderId = inbox->id;
    m_drop.clear();
    m_drop.reserve(messages->size());
    QSet<QByteArray> seen;
    for (const store::MessageMeta &m : *messages) {
        QByteArray uidl = m.emailId.toLatin1();
        if (uidl.isEmpty()) // not expected: every stored message has an EMAILID
            uidl = "V" + QByteArray::number(inbox->uidValidity) + "." + QByteArray::number(m.uid);
        if (seen.contains(uidl))
            uidl += "." + QByteArray::number(m.uid);
        seen.insert(uidl);
        m_drop.append(Entry{m.uid, m.size, uidl, false});
    }
    return true;
}

} // namespace valv::pop3
