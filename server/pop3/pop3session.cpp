// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 1939 §3-§4 (states, responses), RFC 2449 §3 (PIPELINING, response codes): the
// session core and dispatch.
#include "pop3/pop3session.h"

#include <QLoggingCategory>

Q_LOGGING_CATEGORY(lcPop3, "valv.pop3")

namespace valv::pop3 {

namespace {
constexpr int kMaxErrors = 20; // then the connection closes: a client that only errs is stuck or hostile
const QByteArray kAutologout = "Autologout; idle for too long";
const QByteArray kShuttingDown = "[SYS/TEMP] Server shutting down; nothing was deleted";

// While a password check runs, input waits unread. A pipelining client sends a few
// commands behind PASS or AUTH, never more than a couple of lines' worth; a client that
// keeps sending is flooding, and the per-line limit would not stop it (lines are only
// measured when read).
qsizetype busyInputLimit(qsizetype maxLine) { return 2 * maxLine + 512; }
} // namespace

Pop3Session::Pop3Session(core::SessionSink *sink, std::shared_ptr<const core::ServerContext> ctx, bool tlsAvailable)
    : core::Session(sink), m_ctxHolder(std::move(ctx)), m_ctx(*m_ctxHolder),
      m_receiver(m_ctx.limits.maxLineLength), m_id(core::nextSessionId()), m_tlsAvailable(tlsAvailable)
{
}

Pop3Session::~Pop3Session() = default;

QString Pop3Session::log() const { return QStringLiteral("[%1]").arg(m_id); }

void Pop3Session::start()
{
    qCInfo(lcPop3).noquote() << log() << "connect from" << sink()->peerAddress() << (sink()->isEncrypted() ? "(TLS)" : "");
    // RFC 1939 §3: the autologout timer is at least 10 minutes; idle_timeout (30 by default) applies.
    sink()->setIdleTimeout(m_ctx.limits.idleTimeout);
    ok(m_ctx.hostname.toUtf8() + " Valv POP3 server ready");
}

void Pop3Session::refuse(const QString &reason) { closeWith("[SYS/TEMP] " + reason.toUtf8()); }

void Pop3Session::idleTimeout()
{
    if (m_busy) {
        // The timer does not fire again by itself: apply it when the check is over.
        m_idlePending = true;
        return;
    }
    // RFC 1939 §3: an autologout timer closes the connection without entering UPDATE.
    closeWith(kAutologout);
}

void Pop3Session::shutdown()
{
    if (m_busy) {
        m_shutdownPending = true;
        return;
    }
    closeWith(kShuttingDown);
}

bool Pop3Session::passwordsAllowed() const { return sink()->isEncrypted() || m_ctx.allowPlaintextAuth; }

QByteArray Pop3Session::capabilities() const
{
    // RFC 2449 §6, RFC 2595 §4 (STLS), RFC 5034 §3 (SASL), RFC 6856 §2 (UTF8).
    QByteArray caps = "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n"
                      // Valv never deletes mail on its own.
                      "EXPIRE NEVER\r\n";
    if (m_ctx.limits.pop3LoginDelay > 0)
        caps += "LOGIN-DELAY " + QByteArray::number(m_ctx.limits.pop3LoginDelay) + "\r\n";
    if (m_state == State::Authorization) {
        // RFC 6856 §2: "UTF8 USER" says USER takes UTF-8, so only where USER is allowed.
        caps += passwordsAllowed() ? "UTF8 USER\r\n" : "UTF8\r\n";
        if (!sink()->isEncrypted() && m_tlsAvailable)
            caps += "STLS\r\n";
        if (passwordsAllowed())
            caps += "USER\r\nSASL PLAIN LOGIN\r\n";
    }
    caps += "IMPLEMENTATION Valv\r\n";
    return caps;
}

void Pop3Session::ok(const QByteArray &text)
{
    if (m_ctx.protocolTrace)
        qCDebug(lcPop3).noquote() << log() << "S: +OK" << text.left(300);
    sink()->write(text.isEmpty() ? QByteArray("+OK\r\n") : "+OK " + text + "\r\n");
}

void Pop3Session::err(const QByteArray &text)
{
    if (m_ctx.protocolTrace)
        qCDebug(lcPop3).noquote() << log() << "S: -ERR" << text.left(300);
    sink()->write("-ERR " + text + "\r\n");
}

void Pop3Session::syntaxError(const QByteArray &text)
{
    err(text);
    // Only malformed input counts: a client may meet many -ERRs for messages another
    // client removed meanwhile, and must still reach QUIT.
    if (++m_errors >= kMaxErrors)
        closeWith("Too many invalid commands");
}

void Pop3Session::multiline(const QByteArray &first, const QByteArray &stuffedBody)
{
    if (m_ctx.protocolTrace)
        qCDebug(lcPop3).noquote() << log() << "S: +OK" << first.left(300) << "+" << stuffedBody.size() << "bytes";
    sink()->write("+OK " + first + "\r\n");
    sink()->write(stuffedBody);
}

void Pop3Session::sysTemp(const QString &detail)
{
    qCWarning(lcPop3).noquote() << log() << "server error:" << detail;
    err("[SYS/TEMP] Internal error; the event was logged as session " + m_id.toUtf8());
}

void Pop3Session::closeWith(const QByteArray &errText)
{
    if (m_state == State::Closed)
        return;
    if (m_ctx.protocolTrace)
        qCDebug(lcPop3).noquote() << log() << "S: -ERR" << errText.left(300) << "(closing)";
    sink()->write("-ERR " + errText + "\r\n");
    m_state = State::Closed;
    m_lock.release();
    m_mail.reset();
    sink()->close();
}

void Pop3Session::traceCommand(const ReceiverEvent &ev) const
{
    if (!m_ctx.protocolTrace)
        return;
    QByteArray shown = ev.line.left(300);
    if (ev.type == ReceiverEvent::Type::SaslLine)
        shown = "(authentication data redacted)";
    else if (ev.command.name == CommandName::Pass)
        shown = ev.line.left(4) + " (password redacted)";
    else if (ev.command.name == CommandName::Auth && ev.command.initialResponse)
        shown = ev.line.left(ev.line.indexOf(' ', 5)) + " (initial response redacted)";
    qCDebug(lcPop3).noquote() << log() << "C:" << QString::fromUtf8(shown);
}

void Pop3Session::ingest(const QByteArray &bytes)
{
    if (m_state == State::Closed)
        return;
    const qsizetype limit = busyInputLimit(m_ctx.limits.maxLineLength);
    auto flooding = [&] {
        qCInfo(lcPop3).noquote() << log() << "closing: more than" << limit << "octets sent during a login check";
        closeWith("Too much input while a login is being checked");
    };
    if (m_busy && m_receiver.buffered() + bytes.size() > limit)
        return flooding();
    m_receiver.feed(bytes);
    process();
    // One write may hold PASS and a flood behind it.
    if (m_busy && m_state != State::Closed && m_receiver.buffered() > limit)
        flooding();
}

void Pop3Session::tlsStarted()
{
    qCDebug(lcPop3).noquote() << log() << "TLS established";
    process();
}

void Pop3Session::process()
{
    bool more = true;
    while (more && !m_busy && m_state != State::Closed) {
        if (sink()->outputBacklogged())
            return; // the client is not reading: outputDrained() resumes
        ReceiverEvent ev = m_receiver.next();
        switch (ev.type) {
        case ReceiverEvent::Type::NeedMore:
            more = false;
            break;
        case ReceiverEvent::Type::SaslLine:
            traceCommand(ev);
            saslLine(ev.line);
            break;
        case ReceiverEvent::Type::LineTooLong:
            if (m_sasl != Sasl::None) {
                abortSasl("Authentication aborted: line too long");
                break;
            }
            syntaxError("Line too long (the limit is " + QByteArray::number(m_ctx.limits.maxLineLength) + " octets)");
            break;
        case ReceiverEvent::Type::SyntaxError:
            if (m_ctx.protocolTrace)
                qCDebug(lcPop3).noquote() << log() << "C: (invalid line)";
            if (m_sasl != Sasl::None) {
                abortSasl("Authentication aborted: " + ev.text.toUtf8());
                break;
            }
            syntaxError(ev.text.toUtf8());
            break;
        case ReceiverEvent::Type::Command:
            traceCommand(ev);
            dispatch(ev.command);
            break;
        }
    }
    // What arrived before a shutdown or the idle timeout has been answered; now close.
    if (!m_busy && m_shutdownPending)
        closeWith(kShuttingDown);
    else if (!m_busy && m_idlePending)
        closeWith(kAutologout);
}

void Pop3Session::dispatch(const Command &cmd)
{
    using N = CommandName;
    switch (cmd.name) {
    case N::Capa: return cmdCapa();
    case N::Quit: return cmdQuit();
    case N::Noop:
        if (m_state != State::Transaction)
            return err("NOOP is only valid after login");
        return ok("");
    default: break;
    }
    if (m_state == State::Authorization) {
        switch (cmd.name) {
        case N::Stls: return cmdStls();
        case N::User: return cmdUser(cmd);
        case N::Pass: return cmdPass(cmd);
        case N::Auth: return cmdAuth(cmd);
        case N::Apop: return err("APOP is not supported; use USER/PASS or AUTH over TLS");
        case N::Utf8:
            // RFC 6856 §2: valid in AUTHORIZATION state; mail is sent as stored, UTF-8 headers included.
            m_utf8 = true;
            return ok("UTF8 enabled");
        default: return err("Log in first");
        }
    }
    switch (cmd.name) {
    case N::Stat: return cmdStat();
    case N::List: return cmdList(cmd);
    case N::Uidl: return cmdUidl(cmd);
    case N::Retr: return cmdRetr(cmd);
    case N::Top: return cmdTop(cmd);
    case N::Dele: return cmdDele(cmd);
    case N::Rset: return cmdRset();
    case N::Utf8: return err("UTF8 is only valid before login");
    default: return err("Already logged in");
    }
}

} // namespace valv::pop3
