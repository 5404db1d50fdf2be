// SPDX-License-Identifier: AGPL-3.0-or-later
// AUTHORIZATION state: RFC 1939 §7 USER/PASS (APOP is refused), RFC 2449 §5 CAPA,
// RFC 2595 §4 STLS, RFC 5034 AUTH with RFC 4616 PLAIN and LOGIN, RFC 2449 §8.1
// response codes ([IN-USE], [LOGIN-DELAY]), RFC 3206 [AUTH] and [SYS/TEMP].
#include "pop3/pop3session.h"

#include "core/pool.h"
#include "core/sasl.h"
#include "pop3/wiresizecache.h"
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
const QByteArray kPrivacy = "[AUTH] Use STLS or port 995 before sending a password";
} // namespace

void Pop3Session::cmdCapa() { multiline("Capability list follows", capabilities() + ".\r\n"); }

void Pop3Session::cmdStls()
{
    if (sink()->isEncrypted())
        return err("TLS is already active");
    if (!m_tlsAvailable)
        return err("TLS is not available");
    if (m_receiver.buffered() > 0) {
        // RFC 2595 §4 with the lesson of CVE-2011-0411: commands sent after STLS in the
        // clear would be taken as if they came through TLS.
        closeWith("Nothing may follow STLS before the TLS handshake");
        return;
    }
    ok("Begin TLS negotiation");
    // RFC 2595 §4: "the server MUST discard any knowledge obtained from the client, such
    // as the argument to the USER command, which was not obtained from the TLS
    // negotiation itself".
    m_userName.clear();
    m_utf8 = false;
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

void Pop3Session::abortSasl(const QByteArray &text)
{
    m_sasl = Sasl::None;
    m_saslUser.clear();
    m_receiver.setSaslMode(false);
    syntaxError(text);
}

void Pop3Session::saslLine(const QByteArray &line)
{
    const core::sasl::Response response = core::sasl::decodeResponse(line);
    const Sasl step = std::exchange(m_sasl, Sasl::None);
    m_receiver.setSaslMode(false);
    if (response.kind == core::sasl::Response::Kind::Cancelled) {
        m_saslUser.clear();
        return err("Authentication cancelled");
    }
    if (response.kind == core::sasl::Response::Kind::Invalid) {
        m_saslUser.clear();
        return err("Invalid base64 in authentication data");
    }
    const QByteArray &decoded = response.data;
    switch (step) {
    case Sasl::PlainResponse: {
        const auto creds = core::sasl::parsePlain(decoded);
        if (!creds)
            return err("Malformed PLAIN authentication data");
        if (!creds->authzid.isEmpty() && creds->authzid != creds->authcid)
            return authFailed("[AUTH] Logging in as another user is not allowed");
        return checkPassword(QString::fromUtf8(creds->authcid), creds->password);
    }
    case Sasl::LoginUser:
        if (decoded.isEmpty())
            return err("Empty user name");
        m_saslUser = decoded;
        m_sasl = Sasl::LoginPassword;
        m_receiver.setSaslMode(true);
        sink()->write("+ UGFzc3dvcmQ6\r\n"); // "Password:"
        return;
    case Sasl::LoginPassword:
        return checkPassword(QString::fromUtf8(std::exchange(m_saslUser, QByteArray())), decoded);
    case Sasl::None:
        return err("Unexpected authentication data");
    }
}

void Pop3Session::checkPassword(const QString &user, const QByteArray &password)
{
    m_busy = true;
    beginAsync();
    const core::ServerContext *ctx = &m_ctx;
    // The pool only verifies the password; the store is opened back on this thread.
    core::runPooled([this, ctx, user, password] {
        auto login = ctx->config->authenticate(user, password);
        // A mailbox file's first open after an upgrade migrates it: here, not on the
        // session's event loop (which then opens a file already current).
        if (login)
            (void)ctx->mail->cached(login->id);
        const store::User u = login ? *login : store::User();
        const QString error = login ? QString() : login.error().message;
        // The session stays alive until endAsync() (see Session::beginAsync).
        QMetaObject::invokeMethod(this, [this, u, error] { loginFinished(u, error); }, Qt::QueuedConnection);
    });
}

void Pop3Session::checkFinished()
{
    m_busy = false;
    endAsync();
    process();
}

void Pop3Session::loginFinished(const store::User &user, const QString &error)
{
    if (m_state == State::Closed)
        return checkFinished(); // closed meanwhile (too much input): nothing more to say
    if (!error.isEmpty()) {
        qCInfo(lcPop3).noquote() << log() << "login failed from" << sink()->peerAddress();
        QTimer::singleShot(kFailureDelayMs, this, [this] {
            if (m_state != State::Closed)
                authFailed("[AUTH] Invalid user name or password");
            checkFinished();
        });
        return;
    }
    // RFC 2449 §8.1.2: [LOGIN-DELAY] only after the credentials were found good.
    if (const qint64 wait = MaildropLock::instance().secondsToWait(user.id, m_ctx.limits.pop3LoginDelay); wait > 0) {
        err("[LOGIN-DELAY] Wait " + QByteArray::number(wait) + " more seconds before logging in again");
        return checkFinished();
    }
    MaildropLock::Guard lock = MaildropLock::instance().tryLock(user.id);
    if (!lock.held()) {
        qCInfo(lcPop3).noquote() << log() << "maildrop in use:" << user.address;
        err("[IN-USE] Another POP3 session is using this mailbox");
        return checkFinished();
    }
    // On this (the session's) thread: the connection this user's sessions here share.
    auto mail = m_ctx.mail->shared(user.id, m_ctx.limits.mailboxCacheKiB);
    if (!mail) {
        sysTemp(QStringLiteral("mailbox: ") + mail.error().message);
        return checkFinished();
    }
    m_user = user;
    m_mail = std::move(*mail);
    m_lock = std::move(lock);
    QString openError;
    if (!openMaildrop(&openError)) {
        m_lock.release();
        m_mail.reset();
        sysTemp(openError);
        return checkFinished();
    }
    MaildropLock::instance().recordLogin(user.id);
    m_state = State::Transaction;
    qCInfo(lcPop3).noquote() << log() << "login" << user.address << "maildrop" << m_drop.size() << "messages";
    ok("Logged in; " + dropSummary());
    checkFinished();
}

void Pop3Session::authFailed(const QByteArray &text)
{
    err(text);
    if (++m_authFailures >= kMaxAuthFailures)
        closeWith("Too many failed logins");
}

bool Pop3Session::openMaildrop(QString *error)
{
    // One snapshot: the listing and the sizes measured from it agree.
    const store::ReadSnapshot snapshot = m_mail->readSnapshot();
    auto inbox = m_mail->folder(QStringLiteral("INBOX"), store::MailStore::Counts::No);
    if (!inbox) {
        *error = QStringLiteral("INBOX: ") + inbox.error().message;
        return false;
    }
    auto messages = m_mail->messages(inbox->id);
    if (!messages) {
        *error = QStringLiteral("INBOX messages: ") + messages.error().message;
        return false;
    }
    // RFC 1939 §5: a size is what RETR will send: the size with CRLF line ends, kept with
    // every message stored since schema 9. Older messages not measured by an earlier
    // login are read once here.
    const WireSizeCache::Sizes known = WireSizeCache::instance().take(m_user.id, inbox->uidValidity);
    WireSizeCache::Sizes sizes;
    sizes.reserve(messages->size());
    m_folderId = inbox->id;
    m_drop.clear();
    m_drop.reserve(messages->size());
    QSet<QByteArray> seen;
    for (const store::MessageMeta &m : *messages) {
        qint64 size = m.crlfSize >= 0 ? m.crlfSize : known.value(m.uid, -1);
        if (size < 0) {
            auto raw = m_mail->raw(inbox->id, m.uid);
            if (!raw) {
                *error = QStringLiteral("INBOX message %1: %2").arg(m.uid).arg(raw.error().message);
                return false;
            }
            size = wireSize(*raw);
        }
        sizes.insert(m.uid, size);
        QByteArray uidl = m.emailId.toLatin1();
        if (uidl.isEmpty()) // not expected: every stored message has an EMAILID
            uidl = "V" + QByteArray::number(inbox->uidValidity) + "." + QByteArray::number(m.uid);
        if (seen.contains(uidl))
            uidl += "." + QByteArray::number(m.uid);
        seen.insert(uidl);
        m_drop.append(Entry{m.uid, size, uidl, false});
    }
    WireSizeCache::instance().put(m_user.id, inbox->uidValidity, std::move(sizes));
    return true;
}

} // namespace valv::pop3
