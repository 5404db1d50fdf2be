// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 9051 §6.1 (any state: CAPABILITY, LOGOUT), §6.2 (STARTTLS, AUTHENTICATE, LOGIN),
// RFC 4959 SASL-IR, RFC 4616 PLAIN.
#include "imap/imapsession.h"

#include "core/pool.h"
#include "core/sasl.h"
#include "store/crypto.h"
#include "store/mailboxhub.h"
#include "store/mailstorecache.h"

#include <QLoggingCategory>
#include <QPointer>
#include <QTimer>

Q_DECLARE_LOGGING_CATEGORY(lcImap)

namespace valv::imap {

namespace {
// A failed login answers after this delay, which slows password guessing without
// blocking the worker (a timer, not a sleep).
constexpr int kFailureDelayMs = 1000;
constexpr int kMaxAuthFailures = 3;
} // namespace

void ImapSession::cmdCapability(const Command &cmd)
{
    untagged("CAPABILITY " + capabilities());
    ok(cmd.tag, "CAPABILITY completed");
}

void ImapSession::cmdLogout(const Command &cmd)
{
    untagged("BYE Logging out");
    ok(cmd.tag, "LOGOUT completed");
    m_state = State::Logout;
    sink()->close();
}

void ImapSession::cmdStartTls(const Command &cmd)
{
    if (sink()->isEncrypted())
        return bad(cmd.tag, "TLS is already active");
    if (!m_tlsAvailable)
        return no(cmd.tag, "TLS is not available");
    if (m_state != State::NotAuthenticated)
        return bad(cmd.tag, "STARTTLS is only valid before login");
    if (m_receiver.buffered() > 0) {
        // RFC 9051 §6.2.1: commands pipelined after STARTTLS would be injected into TLS.
        bad(cmd.tag, "Nothing may follow STARTTLS before the handshake");
        bye("Protocol violation");
        return;
    }
    ok(cmd.tag, "Begin TLS negotiation now");
    sink()->startTls();
}

void ImapSession::cmdLogin(const Command &cmd)
{
    if (m_state != State::NotAuthenticated)
        return bad(cmd.tag, "Already logged in");
    if (!sink()->isEncrypted() && !m_ctx.allowPlaintextAuth)
        return no(cmd.tag, "[PRIVACYREQUIRED] Use STARTTLS or port 993 before sending a password");
    checkPassword(cmd.tag, QString::fromUtf8(cmd.userName), cmd.password);
}

void ImapSession::cmdAuthenticate(const Command &cmd)
{
    if (m_state != State::NotAuthenticated)
        return bad(cmd.tag, "Already logged in");
    if (cmd.saslMechanism != "PLAIN")
        return no(cmd.tag, "[CANNOT] Unsupported authentication mechanism; use PLAIN");
    if (!sink()->isEncrypted() && !m_ctx.allowPlaintextAuth)
        return no(cmd.tag, "[PRIVACYREQUIRED] Use STARTTLS or port 993 before sending a password");
    if (cmd.saslInitialResponse) {
        m_pendingAuthTag = cmd.tag;
        continueAuthenticate(*cmd.saslInitialResponse);
        return;
    }
    m_pendingAuthTag = cmd.tag;
    m_receiver.setSaslMode(true);
    sink()->write("+ \r\n");
}

void ImapSession::continueAuthenticate(const QByteArray &line)
{
    const QByteArray tag = std::exchange(m_pendingAuthTag, QByteArray());
    m_receiver.setSaslMode(false);
    const core::sasl::Response response = core::sasl::decodeResponse(line);
    if (response.kind == core::sasl::Response::Kind::Cancelled)
        return bad(tag, "AUTHENTICATE cancelled");
    if (response.kind == core::sasl::Response::Kind::Invalid)
        return bad(tag, "Invalid base64 in authentication data");
    const auto creds = core::sasl::parsePlain(response.data);
    if (!creds)
        return bad(tag, "Malformed PLAIN authentication data");
    if (!creds->authzid.isEmpty() && creds->authzid != creds->authcid)
        return no(tag, "[AUTHORIZATIONFAILED] Logging in as another user is not allowed");
    checkPassword(tag, QString::fromUtf8(creds->authcid), creds->password);
}

void ImapSession::checkPassword(const QByteArray &tag, const QString &user, const QByteArray &password)
{
    m_busy = true;
    beginAsync();
    const core::ServerContext *ctx = &m_ctx;
    core::runPooled([this, ctx, tag, user, password] {
        auto login = ctx->config->authenticate(user, password);
        // A mailbox file's first open after an upgrade migrates it: here, not on the
        // session's event loop (which then opens a file already current).
        if (login)
            (void)ctx->mail->cached(login->id);
        const store::User u = login ? *login : store::User();
        const QString error = login ? QString() : login.error().message;
        // The session stays alive until endAsync() (see Session::beginAsync).
        QMetaObject::invokeMethod(this, [this, tag, u, error]() { loginFinished(tag, u, error); },
                                  Qt::QueuedConnection);
    });
}

void ImapSession::loginFinished(const QByteArray &tag, const store::User &user, QString error)
{
    if (error.isEmpty()) {
        // On this (the session's) thread: the connection this user's sessions here share.
        auto mail = m_ctx.mail->shared(user.id, m_ctx.limits.mailboxCacheKiB);
        if (mail)
            m_mail = std::move(*mail);
        else
            error = QStringLiteral("mailbox: ") + mail.error().message;
    }
    if (error.isEmpty()) {
        m_user = user;
        m_state = State::Authenticated;
        store::MailboxHub::instance().subscribe(
            m_user.id, this, [this](const QString &folder) { mailboxChanged(folder); },
            [this](const QString &from, const QString &to) { mailboxRenamed(from, to); });
        qCInfo(lcImap).noquote() << log() << "login" << user.address;
        ok(tag, "[CAPABILITY " + capabilities() + "] Logged in");
        m_busy = false;
        endAsync();
        process();
        return;
    }
    if (error.startsWith(QLatin1String("mailbox: "))) {
        serverBug(tag, error);
        m_busy = false;
        endAsync();
        process();
        return;
    }
    qCInfo(lcImap).noquote() << log() << "login failed from" << sink()->peerAddress();
    QTimer::singleShot(kFailureDelayMs, this, [this, tag] {
        no(tag, "[AUTHENTICATIONFAILED] Invalid credentials");
        m_busy = false;
        if (++m_authFailures >= kMaxAuthFailures)
            bye("Too many failed logins");
        endAsync();
        process();
    });
}

} // namespace valv::imap
