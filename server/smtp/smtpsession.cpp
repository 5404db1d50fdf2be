// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 5321 SMTP server session (MX), with RFC 3207 STARTTLS, RFC 1870 SIZE,
// RFC 6152 8BITMIME, RFC 2920 PIPELINING, RFC 2034 ENHANCEDSTATUSCODES,
// RFC 6531 SMTPUTF8 and RFC 3030 CHUNKING.
#include "smtp/smtpsession.h"

#include "core/context.h"
#include "rfc5322date.h"
#include "store/mailstorecache.h"

#include <QLocale>
#include <QLoggingCategory>
#include <QScopeGuard>

Q_LOGGING_CATEGORY(lcSmtp, "valv.smtp")

namespace valv::smtp {

namespace {
constexpr int kMaxErrors = 20;       // then 421: a client that only errs is not a mail client
constexpr int kMaxTransactions = 1000;
} // namespace

SmtpSession::SmtpSession(core::SessionSink *sink, std::shared_ptr<const core::ServerContext> ctx,
                         const delivery::LocalDelivery *delivery, bool tlsAvailable, Mode mode,
                         outbound::Submitter *submitter)
    : core::Session(sink), m_ctxHolder(std::move(ctx)), m_ctx(*m_ctxHolder), m_delivery(delivery), m_mode(mode),
      m_submitter(submitter), m_receiver(ReceiverLimits{m_ctx.limits.maxLineLength, m_ctx.limits.maxMessageSize}),
      m_id(core::nextSessionId()), m_tlsAvailable(tlsAvailable)
{
}

void SmtpSession::start()
{
    qCInfo(lcSmtp).noquote() << QStringLiteral("[%1]").arg(m_id) << "connect from" << sink()->peerAddress()
                             << (sink()->isEncrypted() ? "(TLS)" : "");
    sink()->setIdleTimeout(m_ctx.limits.smtpIdleTimeout);
    reply(220, nullptr, m_ctx.hostname + QStringLiteral(" ESMTP Valv ready"));
}

void SmtpSession::refuse(const QString &reason)
{
    closeWith(421, "4.7.0", m_ctx.hostname + QStringLiteral(" ") + reason + QStringLiteral(", try again later"));
}

void SmtpSession::idleTimeout()
{
    if (m_state == State::Committing)
        return; // the commit answers first
    closeWith(421, "4.4.2", m_ctx.hostname + QStringLiteral(" idle too long, closing"));
}

void SmtpSession::shutdown()
{
    if (m_state == State::Committing) {
        m_shutdownPending = true; // answer the message first, then say goodbye
        return;
    }
    closeWith(421, "4.3.2", m_ctx.hostname + QStringLiteral(" shutting down, try again later"));
}

void SmtpSession::ingest(const QByteArray &bytes)
{
    if (m_state == State::Closed)
        return;
    if (m_ctx.protocolTrace)
        qCDebug(lcSmtp).noquote() << QStringLiteral("[%1] C:").arg(m_id) << bytes.left(512);
    m_receiver.feed(bytes);
    process();
}

void SmtpSession::tlsStarted()
{
    qCDebug(lcSmtp).noquote() << QStringLiteral("[%1]").arg(m_id) << "TLS established";
    // RFC 3207 §4.2: forget everything learnt before TLS.
    m_state = State::Connected;
    m_helo.clear();
    m_esmtp = false;
    m_user.reset();
    resetTransaction();
    process();
}

void SmtpSession::reply(int code, const char *enhanced, const QString &text)
{
    QByteArray line = QByteArray::number(code) + ' ';
    if (enhanced)
        line += QByteArray(enhanced) + ' ';
    line += text.toUtf8() + "\r\n";
    if (m_ctx.protocolTrace)
        qCDebug(lcSmtp).noquote() << QStringLiteral("[%1] S:").arg(m_id) << line.trimmed();
    sink()->write(line);
}

void SmtpSession::replyLines(int code, const QStringList &lines)
{
    QByteArray out;
    for (qsizetype i = 0; i < lines.size(); ++i)
        out += QByteArray::number(code) + (i + 1 < lines.size() ? '-' : ' ') + lines[i].toUtf8() + "\r\n";
    sink()->write(out);
}

void SmtpSession::closeWith(int code, const char *enhanced, const QString &text)
{
    if (m_state == State::Closed)
        return;
    reply(code, enhanced, text);
    m_state = State::Closed;
    sink()->close();
}

bool SmtpSession::countError()
{
    if (++m_errors < kMaxErrors)
        return true;
    closeWith(421, "4.7.0", m_ctx.hostname + QStringLiteral(" too many errors, closing"));
    return false;
}

void SmtpSession::resetTransaction()
{
    if (m_state == State::InMail || m_state == State::Data)
        m_state = State::Greeted;
    m_from.clear();
    m_rcptAddresses.clear();
    m_recipients.clear();
    m_utf8 = false;
    m_bdatActive = false;
    m_bdatRejected = false;
    m_remote.clear();
    m_forward.clear();
    m_forwardDomain.clear();
    m_envid.clear();
    m_ret.clear();
    m_requireTls = false;
    m_eightBit = false;
}

void SmtpSession::process()
{
    while (m_state != State::Closed && m_state != State::Committing && !m_authBusy) {
        if (sink()->outputBacklogged())
            return; // the client is not reading: outputDrained() resumes
        ReceiverEvent ev = m_receiver.next();
        switch (ev.type) {
        case ReceiverEvent::Type::NeedMore:
            return;
        case ReceiverEvent::Type::Command:
            if (m_sasl != Sasl::None && ev.command.verb == Command::Verb::Auth)
                authLine(ev.command.argument);
            else
                handle(ev.command);
            break;
        case ReceiverEvent::Type::SyntaxError:
            if (ev.text.contains(QLatin1String("BDAT"))) {
                // The chunk size is unknown, so the stream cannot be followed any more.
                closeWith(501, "5.5.4", ev.text + QStringLiteral("; closing"));
                return;
            }
            if (ev.unknownCommand)
                reply(500, "5.5.2", QStringLiteral("Command not recognized"));
            else
                reply(501, "5.5.4", ev.text.isEmpty() ? QStringLiteral("Syntax error in parameters") : ev.text);
            (void)countError();
            break;
        case ReceiverEvent::Type::LineTooLong:
            if (m_sasl != Sasl::None) { // RFC 4954 §4: the exchange ends with the error
                m_sasl = Sasl::None;
                m_saslUser.clear();
                m_receiver.setAuthMode(false);
            }
            reply(500, "5.5.6", QStringLiteral("Line too long"));
            (void)countError();
            break;
        case ReceiverEvent::Type::MessageTooBig:
            reply(552, "5.3.4", QStringLiteral("Message exceeds the maximum size of %1 bytes").arg(m_ctx.limits.maxMessageSize));
            resetTransaction();
            break;
        case ReceiverEvent::Type::BdatChunk:
            if (ev.overLimit)
                reply(552, "5.3.4", QStringLiteral("Message exceeds the maximum size of %1 bytes").arg(m_ctx.limits.maxMessageSize));
            else if (m_bdatRejected)
                reply(503, "5.5.1", QStringLiteral("BDAT without a valid transaction"));
            else
                reply(250, "2.0.0", QStringLiteral("%1 octets received").arg(ev.command.bdatSize));
            break;
        case ReceiverEvent::Type::Message:
            if (m_bdatRejected) {
                reply(503, "5.5.1", QStringLiteral("BDAT without a valid transaction"));
                resetTransaction();
            } else {
                onMessage(ev.message);
            }
            break;
        }
    }
}

void SmtpSession::handle(const Command &cmd)
{
    using V = Command::Verb;
    if (m_bdatActive && cmd.verb != V::Bdat && cmd.verb != V::Rset && cmd.verb != V::Quit && cmd.verb != V::Noop) {
        // RFC 3030 §2: only BDAT may follow a BDAT that was not LAST.
        reply(503, "5.5.1", QStringLiteral("BDAT sequence in progress; send BDAT ... LAST or RSET"));
        return;
    }
    switch (cmd.verb) {
    case V::Helo:
    case V::Ehlo: onEhlo(cmd); break;
    case V::Mail: onMail(cmd); break;
    case V::Rcpt: onRcpt(cmd); break;
    case V::Data: onData(); break;
    case V::Bdat: onBdat(cmd); break;
    case V::Rset:
        m_receiver.discardMessage(); // chunks of an unfinished BDAT sequence go too
        resetTransaction();
        reply(250, "2.0.0", QStringLiteral("Reset"));
        break;
    case V::Noop: reply(250, "2.0.0", QStringLiteral("OK")); break;
    case V::Quit:
        closeWith(221, "2.0.0", m_ctx.hostname + QStringLiteral(" closing connection"));
        break;
    case V::Vrfy:
        // RFC 5321 §3.5.3: 252 when the server will not confirm addresses (harvesting).
        reply(252, "2.5.0", QStringLiteral("Cannot VRFY user, but will accept message for local recipients"));
        break;
    case V::Expn: reply(502, "5.5.1", QStringLiteral("EXPN is not available")); break;
    case V::Help: reply(214, "2.0.0", QStringLiteral("See RFC 5321; commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT STARTTLS")); break;
    case V::StartTls: onStartTls(); break;
    case V::Auth:
        if (isSubmission()) {
            onAuth(cmd);
            break;
        }
        reply(503, "5.5.1", QStringLiteral("Authentication is not offered on this port; use submission"));
        (void)countError();
        break;
    }
}

void SmtpSession::onEhlo(const Command &cmd)
{
    resetTransaction();
    m_helo = cmd.domain;
    m_esmtp = cmd.verb == Command::Verb::Ehlo;
    m_state = State::Greeted;
    const QString greet = m_ctx.hostname + QStringLiteral(" greets ") + cmd.domain;
    if (!m_esmtp) {
        reply(250, nullptr, greet);
        return;
    }
    QStringList lines{greet, QStringLiteral("PIPELINING"), QStringLiteral("SIZE %1").arg(m_ctx.limits.maxMessageSize),
                      QStringLiteral("8BITMIME"), QStringLiteral("ENHANCEDSTATUSCODES"), QStringLiteral("SMTPUTF8"),
                      QStringLiteral("CHUNKING")};
    if (m_tlsAvailable && !sink()->isEncrypted())
        lines << QStringLiteral("STARTTLS");
    if (isSubmission()) {
        // RFC 4954 §4: no AUTH (and so no password) before TLS, unless configured.
        if (!m_user && (sink()->isEncrypted() || m_ctx.allowPlaintextAuth))
            lines << QStringLiteral("AUTH PLAIN LOGIN");
        lines << QStringLiteral("DSN");
        if (sink()->isEncrypted())
            lines << QStringLiteral("REQUIRETLS"); // RFC 8689 §4.1: only over TLS
    }
    replyLines(250, lines);
}

void SmtpSession::onStartTls()
{
    if (sink()->isEncrypted() || !m_tlsAvailable) {
        reply(503, "5.5.1", sink()->isEncrypted() ? QStringLiteral("TLS already active") : QStringLiteral("TLS not available"));
        return;
    }
    if (m_receiver.buffered() > 0) {
        // RFC 3207 §6: commands pipelined after STARTTLS would be injected into TLS.
        closeWith(554, "5.5.1", QStringLiteral("Commands must not follow STARTTLS before the handshake"));
        return;
    }
    reply(220, "2.0.0", QStringLiteral("Ready to start TLS"));
    sink()->startTls();
}

void SmtpSession::onMail(const Command &cmd)
{
    if (m_state == State::Connected) {
        reply(503, "5.5.1", QStringLiteral("Send EHLO or HELO first"));
        return;
    }
    if (m_state != State::Greeted) {
        reply(503, "5.5.1", QStringLiteral("Sender already given; RSET to start over"));
        return;
    }
    if (isSubmission() && !m_user) {
        reply(530, "5.7.0", QStringLiteral("Authentication required"));
        (void)countError();
        return;
    }
    if (++m_transactions > kMaxTransactions) {
        closeWith(421, "4.7.0", QStringLiteral("Too many messages in one session; reconnect"));
        return;
    }
    // Submission parameters (RET, ENVID, REQUIRETLS, BODY) count only for an accepted MAIL.
    auto forgetUnlessAccepted = qScopeGuard([this] {
        if (m_state != State::InMail) {
            m_ret.clear();
            m_envid.clear();
            m_requireTls = false;
            m_eightBit = false;
        }
    });
    bool utf8 = false;
    for (const auto &[key, value] : cmd.params) {
        if (!m_esmtp) {
            reply(555, "5.5.4", QStringLiteral("Parameters need EHLO"));
            return;
        }
        if (key == "SIZE") {
            bool ok = false;
            const qint64 size = value.toLongLong(&ok);
            if (!ok) {
                reply(501, "5.5.4", QStringLiteral("SIZE needs a number"));
                return;
            }
            if (size > m_ctx.limits.maxMessageSize) {
                reply(552, "5.3.4", QStringLiteral("Message exceeds the maximum size of %1 bytes").arg(m_ctx.limits.maxMessageSize));
                return;
            }
        } else if (key == "BODY") {
            const QByteArray v = value.toUpper();
            if (v != "7BIT" && v != "8BITMIME" && v != "BINARYMIME") {
                reply(501, "5.5.4", QStringLiteral("BODY must be 7BIT or 8BITMIME"));
                return;
            }
        } else if (key == "SMTPUTF8") {
            utf8 = true;
        } else if (isSubmission() && (key == "RET" || key == "ENVID" || key == "REQUIRETLS")) {
            continue; // submissionMailParams()
        } else {
            reply(555, "5.5.4", QStringLiteral("Unsupported parameter %1").arg(QString::fromUtf8(key)));
            return;
        }
    }
    if (isSubmission()) {
        if (!submissionMailParams(cmd))
            return;
        const QString from = cmd.path.toString();
        auto mine = cmd.path.isNull() ? Result<bool>(false) : m_ctx.config->mayUseAddress(*m_user, from);
        if (!mine) {
            reply(451, "4.3.0", QStringLiteral("Temporary server error, try again later"));
            return;
        }
        if (!*mine) {
            qCInfo(lcSmtp).noquote() << QStringLiteral("[%1]").arg(m_id) << m_user->address << "may not send as" << from;
            reply(550, "5.7.1", QStringLiteral("Sender address <%1> is not yours; send as %2 or one of its aliases")
                                    .arg(from, m_user->address));
            return;
        }
        for (const auto &[key, value] : cmd.params) {
            if (key == "BODY")
                m_eightBit = value.toUpper() == "8BITMIME";
        }
    }
    m_from = cmd.path.isNull() ? QString() : cmd.path.toString();
    m_utf8 = utf8;
    m_state = State::InMail;
    reply(250, "2.1.0", QStringLiteral("Sender OK"));
}

void SmtpSession::onRcpt(const Command &cmd)
{
    if (m_state != State::InMail) {
        reply(503, "5.5.1", QStringLiteral("Send MAIL FROM first"));
        return;
    }
    if (!cmd.params.isEmpty() && !isSubmission()) {
        reply(555, "5.5.4", QStringLiteral("Unsupported RCPT parameter %1").arg(QString::fromUtf8(cmd.params.first().first)));
        return;
    }
    if (m_rcptAddresses.size() >= m_ctx.limits.maxRecipients) {
        reply(452, "4.5.3", QStringLiteral("Too many recipients"));
        return;
    }
    QString address = cmd.path.toString();
    if (cmd.postmaster) {
        auto domains = m_ctx.config->domains();
        if (!domains || domains->isEmpty()) {
            reply(550, "5.1.1", QStringLiteral("No postmaster here"));
            return;
        }
        address = QStringLiteral("postmaster@") + domains->first();
    }
    if (!m_utf8 && [&] { for (QChar c : address) if (c.unicode() > 127) return true; return false; }()) {
        reply(553, "5.6.7", QStringLiteral("Non-ASCII address needs SMTPUTF8"));
        return;
    }
    if (isSubmission()) {
        if (submissionRcpt(cmd, address))
            reply(250, "2.1.5", QStringLiteral("Recipient OK"));
        return;
    }
    auto users = resolveForMx(address);
    if (!users) {
        switch (store::ConfigError(users.error().code)) {
        case store::ConfigError::NotLocal:
        case store::ConfigError::Invalid:
            qCInfo(lcSmtp).noquote() << QStringLiteral("[%1]").arg(m_id) << "relay denied for" << address;
            reply(550, "5.7.1", QStringLiteral("Relaying denied: %1 is not a local address").arg(address));
            break;
        case store::ConfigError::NoSuchUser:
            reply(550, "5.1.1", QStringLiteral("No such user here: %1").arg(address));
            break;
        case store::ConfigError::Loop:
            reply(550, "5.4.6", QStringLiteral("Alias loop for %1").arg(address));
            break;
        default:
            qCWarning(lcSmtp).noquote() << QStringLiteral("[%1]").arg(m_id) << "recipient lookup failed:" << users.error().message;
            reply(451, "4.3.0", QStringLiteral("Temporary server error, try again later"));
            break;
        }
        return;
    }
    if (!users->forward.isEmpty() && !m_submitter) {
        reply(550, "5.7.1", QStringLiteral("%1 forwards elsewhere, which this listener cannot do").arg(address));
        return;
    }
    for (const store::User &u : std::as_const(users->users)) {
        if (u.quotaBytes <= 0)
            continue;
        // Known at RCPT: the mailbox is already full. (The message's size is not known
        // yet; one message may take a mailbox past its quota, as with most servers.)
        auto mailbox = m_ctx.mail->cached(u.id);
        if (mailbox) {
            auto used = (*mailbox)->totalSize();
            if (used && *used >= u.quotaBytes) {
                reply(452, "4.2.2", QStringLiteral("Mailbox full: %1").arg(address));
                return;
            }
        }
    }
    m_rcptAddresses.append(address);
    for (const store::User &u : std::as_const(users->users)) {
        if (std::none_of(m_recipients.begin(), m_recipients.end(), [&](const store::User &x) { return x.id == u.id; }))
            m_recipients.append(u);
    }
    for (const QString &f : std::as_const(users->forward)) {
        if (!m_forward.contains(f, Qt::CaseInsensitive))
            m_forward.append(f);
        if (m_forwardDomain.isEmpty())
            m_forwardDomain = store::ConfigStore::domainOf(address);
    }
    reply(250, "2.1.5", QStringLiteral("Recipient OK"));
}

void SmtpSession::onData()
{
    if (m_state != State::InMail) {
        reply(503, "5.5.1", QStringLiteral("Send MAIL FROM first"));
        return;
    }
    if (m_rcptAddresses.isEmpty()) {
        reply(554, "5.5.1", QStringLiteral("No valid recipients"));
        return;
    }
    m_state = State::Data;
    reply(354, nullptr, QStringLiteral("End data with <CR><LF>.<CR><LF>"));
    m_receiver.beginData();
}

void SmtpSession::onBdat(const Command &cmd)
{
    // The receiver reads the chunk bytes by itself; here only the state is checked.
    if (!m_bdatActive)
        m_bdatRejected = m_state != State::InMail || m_rcptAddresses.isEmpty();
    m_bdatActive = !cmd.bdatLast;
    if (m_bdatRejected)
        m_receiver.discardMessage(); // swallow the chunk without keeping it
    else
        m_state = State::Data;
}

QByteArray SmtpSession::traceHeaders() const
{
    // RFC 5321 §4.4: Return-Path by the final delivery, Received by every hop.
    QString with = m_utf8 ? QStringLiteral("UTF8SMTP") : m_esmtp ? QStringLiteral("ESMTP") : QStringLiteral("SMTP");
    if (sink()->isEncrypted())
        with += u'S';
    if (m_user)
        with += u'A'; // RFC 3848
    QString received = QStringLiteral("Received: from %1 ([%2])\r\n\tby %3 (Valv) with %4 id %5")
                           .arg(m_helo.isEmpty() ? QStringLiteral("unknown") : m_helo, sink()->peerAddress(),
                                m_ctx.hostname, with, m_id + QString::number(m_transactions));
    if (m_rcptAddresses.size() == 1)
        received += QStringLiteral("\r\n\tfor <%1>").arg(m_rcptAddresses.first());
    received += QStringLiteral(";\r\n\t%1\r\n").arg(rfc5322Date(QDateTime::currentDateTimeUtc()));
    if (isSubmission() || !m_forward.isEmpty())
        return received.toUtf8(); // Return-Path is added at final delivery (Submitter)
    return QStringLiteral("Return-Path: <%1>\r\n").arg(m_from).toUtf8() + received.toUtf8();
}

void SmtpSession::onMessage(const QByteArray &content)
{
    if (isSubmission())
        return submitMessage(content);
    if (tooManyHops(content)) {
        reply(554, "5.4.6", QStringLiteral("Too many hops (Received headers): a mail loop?"));
        resetTransaction();
        m_state = State::Greeted;
        return;
    }
    if (m_ctx.senderChecks)
        return checkSender(content);
    deliverChecked(content, QStringLiteral("INBOX"));
}

void SmtpSession::deliverChecked(const QByteArray &content, const QString &folder)
{
    if (!m_forward.isEmpty())
        return forwardMessage(content);
    m_state = State::Committing;
    m_bdatActive = false;
    beginAsync();
    const QByteArray raw = traceHeaders() + content;
    qCInfo(lcSmtp).noquote() << QStringLiteral("[%1]").arg(m_id) << "message from <" + m_from + ">" << content.size()
                             << "bytes for" << m_rcptAddresses.join(u',') << "to" << folder;
    m_delivery->deliverAsync(
        this, raw, m_recipients,
        [this](Result<void> r) {
            commitDone(r);
            endAsync();
        },
        folder);
}

void SmtpSession::commitDone(const Result<void> &result)
{
    m_state = State::Greeted;
    if (result)
        reply(250, "2.0.0", isSubmission() ? QStringLiteral("OK, accepted for delivery") : QStringLiteral("OK, delivered"));
    else
        reply(451, "4.3.0", QStringLiteral("Temporary server error, message not accepted; try again later"));
    resetTransaction();
    if (m_shutdownPending) {
        closeWith(421, "4.3.2", m_ctx.hostname + QStringLiteral(" shutting down, try again later"));
        return;
    }
    process();
}

} // namespace valv::smtp
