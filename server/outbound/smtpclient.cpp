// SPDX-License-Identifier: AGPL-3.0-or-later
#include "outbound/smtpclient.h"

#include "outbound/dsn.h"

#include <QLoggingCategory>
#include <QSslSocket>

Q_LOGGING_CATEGORY(lcSmtpClient, "valv.smtpclient")

namespace valv::outbound {

namespace {
SmtpReply localError(const QString &text) { return SmtpReply{0, QString(), text}; }

// RFC 5321 §4.5.2: a line starting with "." gets one more.
QByteArray dotStuffed(const QByteArray &body)
{
    QByteArray out;
    out.reserve(body.size() + body.size() / 64 + 8);
    qsizetype pos = 0;
    while (pos < body.size()) {
        qsizetype nl = body.indexOf('\n', pos);
        const qsizetype end = nl < 0 ? body.size() : nl + 1;
        if (body[pos] == '.')
            out += '.';
        out.append(body.constData() + pos, end - pos);
        pos = end;
    }
    if (!out.endsWith("\r\n"))
        out += out.endsWith('\n') ? QByteArray() : QByteArray("\r\n");
    out += ".\r\n";
    return out;
}
} // namespace

SmtpClient::SmtpClient(Options options, QObject *parent) : QObject(parent), m_options(std::move(options))
{
    m_timer.setSingleShot(true);
    connect(&m_timer, &QTimer::timeout, this, [this] {
        fail(localError(QStringLiteral("no answer from %1 within %2 seconds").arg(m_mxHost).arg(m_options.timeoutSeconds)),
             m_step == Step::Handshake);
    });
}

SmtpClient::~SmtpClient() = default;

void SmtpClient::arm()
{
    m_timer.start(m_options.timeoutSeconds * 1000);
}

void SmtpClient::open(const QHostAddress &address, quint16 port, const QString &mxHost, bool verifyTls)
{
    m_mxHost = mxHost;
    m_verifyTls = verifyTls;
    m_socket = new QSslSocket(this);
    QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
    tls.setProtocol(QSsl::TlsV1_2OrLater);
    if (verifyTls) {
        QList<QSslCertificate> cas = tls.caCertificates();
        cas += m_options.extraCas;
        tls.setCaCertificates(cas);
        tls.setPeerVerifyMode(QSslSocket::VerifyPeer);
    } else {
        tls.setPeerVerifyMode(QSslSocket::VerifyNone); // RFC 7435 opportunistic
    }
    m_socket->setSslConfiguration(tls);
    m_socket->setPeerVerifyName(mxHost);
    connect(m_socket, &QSslSocket::readyRead, this, &SmtpClient::onReadable);
    connect(m_socket, &QSslSocket::connected, this, [this] { m_step = Step::Greeting; arm(); });
    connect(m_socket, &QSslSocket::encrypted, this, [this] {
        m_tls = true;
        m_verified = m_verifyTls;
        m_extensions.clear();
        command("EHLO " + m_options.heloName.toUtf8(), Step::Ehlo); // RFC 3207 §4.2: start over
    });
    connect(m_socket, &QSslSocket::errorOccurred, this, [this](QAbstractSocket::SocketError) {
        if (m_step == Step::Quit || m_step == Step::Dead || m_step == Step::Idle)
            return;
        fail(localError(QStringLiteral("%1: %2").arg(m_mxHost, m_socket->errorString())), m_step == Step::Handshake);
    });
    m_step = Step::Connecting;
    arm();
    // A loopback source cannot reach other hosts (a dev setup listening on 127.0.0.1).
    if (!m_options.bindAddress.isNull() && m_options.bindAddress.protocol() == address.protocol()
        && (!m_options.bindAddress.isLoopback() || address.isLoopback()))
        m_socket->bind(m_options.bindAddress);
    m_socket->connectToHost(address, port);
}

void SmtpClient::command(const QByteArray &line, Step next)
{
    m_step = next;
    m_socket->write(line + "\r\n");
    arm();
}

void SmtpClient::fail(const SmtpReply &reply, bool tlsFailed)
{
    if (m_step == Step::Dead)
        return;
    m_step = Step::Dead;
    m_timer.stop();
    if (m_socket)
        m_socket->abort();
    emit failed(reply, tlsFailed);
}

void SmtpClient::quit()
{
    m_timer.stop();
    if (!m_socket || m_step == Step::Dead)
        return;
    if (m_step == Step::Ready) {
        m_socket->write("QUIT\r\n");
        m_socket->disconnectFromHost();
    } else {
        m_socket->abort();
    }
    m_step = Step::Quit;
}

void SmtpClient::onReadable()
{
    m_replies.feed(m_socket->readAll());
    while (m_step != Step::Dead) {
        ReplyParser::Event ev = m_replies.next();
        if (ev.type == ReplyParser::Event::Type::NeedMore)
            return;
        if (ev.type == ReplyParser::Event::Type::Malformed)
            return fail(localError(QStringLiteral("%1: %2").arg(m_mxHost, ev.error)));
        m_timer.stop();
        onReply(ev.reply, ev.lines);
    }
}

void SmtpClient::onReply(const SmtpReply &reply, const QStringList &lines)
{
    switch (m_step) {
    case Step::Greeting:
        if (reply.code != 220)
            return fail(reply);
        return command("EHLO " + m_options.heloName.toUtf8(), Step::Ehlo);
    case Step::Ehlo:
    case Step::Helo:
        if (!reply.positive()) {
            if (m_step == Step::Ehlo && !m_tls)
                return command("HELO " + m_options.heloName.toUtf8(), Step::Helo);
            return fail(reply);
        }
        m_extensions.clear();
        if (m_step == Step::Ehlo) {
            for (qsizetype i = 1; i < lines.size(); ++i)
                m_extensions.append(lines[i].trimmed().toUpper());
        }
        if (!m_tls && m_options.tryStartTls && hasExtension(QStringLiteral("STARTTLS")))
            return command("STARTTLS", Step::StartTls);
        if (m_verifyTls && !m_tls)
            return fail(localError(QStringLiteral("%1 does not offer STARTTLS, which this destination's policy requires")
                                       .arg(m_mxHost)));
        m_step = Step::Ready;
        emit ready();
        return;
    case Step::StartTls:
        if (reply.code != 220) {
            if (m_verifyTls)
                return fail(reply);
            m_step = Step::Ready; // opportunistic: go on without TLS
            emit ready();
            return;
        }
        m_step = Step::Handshake;
        arm();
        m_socket->startClientEncryption();
        return;
    case Step::Mail:
        if (!reply.positive()) {
            for (qsizetype i = 0; i < m_rcpts.size(); ++i)
                m_result.recipients.append(reply);
            return command("RSET", Step::Rset);
        }
        m_rcptIndex = 0;
        return command(rcptCommand(m_entry.recipients[m_rcpts[0]]), Step::Rcpt);
    case Step::Rcpt:
        m_result.recipients.append(reply);
        if (reply.positive())
            ++m_accepted;
        if (++m_rcptIndex < m_rcpts.size())
            return command(rcptCommand(m_entry.recipients[m_rcpts[m_rcptIndex]]), Step::Rcpt);
        if (m_accepted == 0)
            return command("RSET", Step::Rset);
        return command("DATA", Step::Data);
    case Step::Data:
        if (reply.code != 354) {
            for (SmtpReply &r : m_result.recipients) {
                if (r.positive())
                    r = reply;
            }
            return command("RSET", Step::Rset);
        }
        m_step = Step::Body;
        m_socket->write(dotStuffed(m_body));
        arm();
        return;
    case Step::Rset:
        return finishTransaction(); // whatever RSET answered, the transaction is over
    case Step::Body:
        for (SmtpReply &r : m_result.recipients) {
            if (r.positive())
                r = reply;
        }
        return finishTransaction();
    case Step::Idle:
    case Step::Connecting:
    case Step::Handshake:
    case Step::Ready:
    case Step::Quit:
    case Step::Dead:
        if (reply.code == 421)
            return fail(reply);
        return; // unsolicited: ignore
    }
}

void SmtpClient::finishTransaction()
{
    m_step = Step::Ready;
    m_body.clear();
    TransactionResult result = std::exchange(m_result, {});
    emit sent(result);
}

QByteArray SmtpClient::mailCommand() const
{
    QByteArray cmd = "MAIL FROM:<" + m_entry.sender.toUtf8() + '>';
    if (std::any_of(m_extensions.begin(), m_extensions.end(), [](const QString &e) { return e.startsWith(QLatin1String("SIZE")); }))
        cmd += " SIZE=" + QByteArray::number(m_body.size());
    if (m_entry.eightBit && hasExtension(QStringLiteral("8BITMIME")))
        cmd += " BODY=8BITMIME";
    if (m_entry.smtpUtf8)
        cmd += " SMTPUTF8";
    if (hasExtension(QStringLiteral("DSN"))) {
        if (!m_entry.ret.isEmpty())
            cmd += " RET=" + m_entry.ret.toLatin1();
        if (!m_entry.envid.isEmpty())
            cmd += " ENVID=" + xtextEncode(m_entry.envid.toUtf8());
    }
    if (m_entry.requireTls)
        cmd += " REQUIRETLS";
    return cmd;
}

QByteArray SmtpClient::rcptCommand(const store::QueueRecipient &r) const
{
    QByteArray cmd = "RCPT TO:<" + r.address.toUtf8() + '>';
    if (hasExtension(QStringLiteral("DSN"))) {
        if (!r.notify.isEmpty())
            cmd += " NOTIFY=" + r.notify.toLatin1();
        if (!r.orcpt.isEmpty())
            cmd += " ORCPT=" + xtextEncode(r.orcpt.toUtf8());
    }
    return cmd;
}

void SmtpClient::send(const store::QueueEntry &entry, const QByteArray &body, const QList<int> &recipients)
{
    m_entry = entry;
    m_body = body;
    m_rcpts = recipients;
    m_result = {};
    m_accepted = 0;
    auto refuseAll = [&](const SmtpReply &reply) {
        for (qsizetype i = 0; i < m_rcpts.size(); ++i)
            m_result.recipients.append(reply);
        QMetaObject::invokeMethod(this, [this] { finishTransaction(); }, Qt::QueuedConnection);
    };
    if (entry.smtpUtf8 && !hasExtension(QStringLiteral("SMTPUTF8")))
        return refuseAll(SmtpReply{553, QStringLiteral("5.6.7"),
                                   QStringLiteral("%1 does not support SMTPUTF8, which this message needs").arg(m_mxHost)});
    for (const QString &e : std::as_const(m_extensions)) {
        if (!e.startsWith(QLatin1String("SIZE ")))
            continue;
        const qint64 max = e.mid(5).trimmed().toLongLong();
        if (max > 0 && body.size() > max)
            return refuseAll(SmtpReply{552, QStringLiteral("5.3.4"),
                                       QStringLiteral("%1 accepts at most %2 bytes").arg(m_mxHost).arg(max)});
    }
    if (entry.requireTls && !(m_verified && hasExtension(QStringLiteral("REQUIRETLS"))))
        return refuseAll(SmtpReply{550, QStringLiteral("5.7.30"),
                                   QStringLiteral("REQUIRETLS: %1 offers no verified TLS with REQUIRETLS").arg(m_mxHost)});
    command(mailCommand(), Step::Mail);
}

} // namespace valv::outbound
