// SPDX-License-Identifier: AGPL-3.0-or-later
#include "core/connection.h"

#include <QLoggingCategory>
#include <QSslSocket>

#include <zlib.h>

Q_LOGGING_CATEGORY(lcNet, "valv.net")

namespace valv::core {

namespace {
constexpr int kHandshakeTimeoutMs = 60 * 1000;
// Bytes Qt reads ahead from a client; beyond it, the kernel's buffers and window hold
// the rest (backpressure, see connection.h).
constexpr qint64 kReadBufferSize = 256 * 1024;
constexpr int kChunk = 64 * 1024;
}

// RFC 4978: raw DEFLATE (no zlib header) in both directions, flushed after every write
// so each response reaches the client whole.
struct Connection::Deflate {
    z_stream out{};
    z_stream in{};
    bool ok = false;
    Deflate()
    {
        ok = deflateInit2(&out, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK
            && inflateInit2(&in, -15) == Z_OK;
    }
    ~Deflate()
    {
        deflateEnd(&out);
        inflateEnd(&in);
    }
    QByteArray compress(const QByteArray &data)
    {
        QByteArray result;
        out.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(data.constData()));
        out.avail_in = uInt(data.size());
        do {
            char buf[kChunk];
            out.next_out = reinterpret_cast<Bytef *>(buf);
            out.avail_out = kChunk;
            deflate(&out, Z_SYNC_FLUSH);
            result.append(buf, kChunk - int(out.avail_out));
        } while (out.avail_out == 0);
        return result;
    }
    // Hands the inflated bytes to `out` a chunk at a time, so a small packet that inflates
    // to megabytes never sits in one buffer. false: the client's stream is corrupt.
    template <typename Out>
    bool decompress(const QByteArray &data, Out &&out)
    {
        in.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(data.constData()));
        in.avail_in = uInt(data.size());
        while (in.avail_in > 0) {
            char buf[kChunk];
            in.next_out = reinterpret_cast<Bytef *>(buf);
            in.avail_out = kChunk;
            const int rc = inflate(&in, Z_SYNC_FLUSH);
            if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END)
                return false;
            if (in.avail_out < uInt(kChunk))
                out(QByteArray(buf, kChunk - int(in.avail_out)));
            if (rc == Z_STREAM_END || (rc == Z_BUF_ERROR && in.avail_out == uInt(kChunk)))
                break;
        }
        return true;
    }
};

Connection::Connection(qintptr descriptor, bool implicitTls, const QSslConfiguration &tls,
                       const SessionFactory &factory, const QString &refusal, QObject *parent)
    : QObject(parent), m_tls(tls)
{
    m_socket = new QSslSocket(this);
    if (!m_socket->setSocketDescriptor(descriptor)) {
        qCWarning(lcNet) << "cannot adopt socket:" << m_socket->errorString();
        QMetaObject::invokeMethod(this, [this] { onDisconnected(); }, Qt::QueuedConnection);
        return;
    }
    m_peer = m_socket->peerAddress().toString();
    m_socket->setSslConfiguration(m_tls);
    m_socket->setReadBufferSize(kReadBufferSize);
    m_idle.setSingleShot(true);
    connect(&m_idle, &QTimer::timeout, this, &Connection::onIdle);
    connect(m_socket, &QSslSocket::readyRead, this, &Connection::onReadyRead);
    connect(m_socket, &QSslSocket::encrypted, this, &Connection::onEncrypted);
    connect(m_socket, &QSslSocket::bytesWritten, this, &Connection::onBytesWritten);
    connect(m_socket, &QSslSocket::encryptedBytesWritten, this, &Connection::onBytesWritten);
    connect(m_socket, &QSslSocket::disconnected, this, &Connection::onDisconnected);
    connect(m_socket, &QSslSocket::errorOccurred, this, [this](QAbstractSocket::SocketError e) {
        if (e != QAbstractSocket::RemoteHostClosedError)
            qCDebug(lcNet) << m_peer << "socket error:" << m_socket->errorString();
        if (m_socket->state() != QAbstractSocket::ConnectedState)
            onDisconnected();
    });
    connect(m_socket, &QSslSocket::sslErrors, this, [this](const QList<QSslError> &errors) {
        qCDebug(lcNet) << m_peer << "TLS errors:" << errors;
    });
    m_session = factory(this);
    if (!refusal.isEmpty()) {
        if (implicitTls) {
            m_socket->abort();
            QMetaObject::invokeMethod(this, [this] { onDisconnected(); }, Qt::QueuedConnection);
        } else {
            m_session->refuse(refusal);
        }
        return;
    }
    if (implicitTls) {
        // A client that never finishes the handshake must not hold a slot for long.
        m_idle.setInterval(kHandshakeTimeoutMs);
        m_idle.start();
        m_socket->startServerEncryption();
    } else {
        m_started = true;
        m_session->start();
    }
}

Connection::~Connection()
{
    // The session may still refer to the sink while it is destroyed.
    m_session.reset();
}

void Connection::write(const QByteArray &bytes)
{
    if (m_socket->state() != QAbstractSocket::ConnectedState)
        return;
    m_socket->write(m_deflate ? m_deflate->compress(bytes) : bytes);
    if (outputBacklogged())
        m_backlogged = true;
}

bool Connection::outputBacklogged() const
{
    return m_socket->bytesToWrite() + m_socket->encryptedBytesToWrite() > kMaxPendingOutput;
}

bool Connection::startCompression()
{
    if (m_deflate)
        return false;
    auto d = std::make_unique<Deflate>();
    if (!d->ok)
        return false;
    m_deflate = std::move(d);
    return true;
}

void Connection::startTls()
{
    m_tlsPending = true;
    onBytesWritten();
}

void Connection::close()
{
    m_closing = true;
    m_idle.stop();
    // disconnectFromHost() sends what is buffered first.
    m_socket->disconnectFromHost();
}

bool Connection::isEncrypted() const { return m_socket->isEncrypted(); }
QString Connection::peerAddress() const { return m_peer; }

void Connection::setIdleTimeout(int seconds)
{
    m_sessionIdleMs = seconds * 1000;
    m_idle.setInterval(m_sessionIdleMs);
    m_idle.start();
}

void Connection::shutdown()
{
    if (m_session && !m_closing)
        m_session->shutdown();
}

void Connection::onReadyRead()
{
    if (m_closing || m_tlsPending) {
        // RFC 3207 §6 / RFC 2595 §3.1: plaintext sent after STARTTLS before the handshake
        // is an injection attempt; it is dropped, never executed later under TLS.
        m_socket->readAll();
        return;
    }
    if (m_socket->isEncrypted() == false && m_socket->mode() == QSslSocket::SslServerMode)
        return; // handshake in progress
    if (m_idle.interval() > 0)
        m_idle.start();
    if (outputBacklogged()) {
        m_backlogged = m_readPaused = true; // resumed by onBytesWritten()
        return;
    }
    const QByteArray data = m_socket->readAll();
    if (data.isEmpty() || !m_session)
        return;
    if (!m_deflate) {
        m_session->ingest(data);
        return;
    }
    const bool ok = m_deflate->decompress(data, [this](const QByteArray &plain) {
        if (m_session && !m_closing)
            m_session->ingest(plain);
    });
    if (!ok) {
        qCDebug(lcNet) << m_peer << "corrupt DEFLATE stream; closing";
        m_socket->abort();
        onDisconnected();
    }
}

void Connection::onEncrypted()
{
    if (!m_started) { // implicit TLS: greet now
        m_started = true;
        m_session->start();
    } else {
        if (m_sessionIdleMs > 0) {
            m_idle.setInterval(m_sessionIdleMs);
            m_idle.start();
        }
        m_session->tlsStarted();
    }
    if (m_socket->bytesAvailable() > 0)
        onReadyRead();
}

void Connection::onBytesWritten()
{
    if (m_tlsPending && m_socket->bytesToWrite() == 0) {
        m_tlsPending = false;
        m_idle.setInterval(kHandshakeTimeoutMs);
        m_idle.start();
        m_socket->setSslConfiguration(m_tls);
        m_socket->startServerEncryption();
    }
    if (m_backlogged && !outputBacklogged() && !m_closing) {
        m_backlogged = false;
        if (std::exchange(m_readPaused, false))
            onReadyRead(); // what arrived meanwhile (readyRead is not emitted again for it)
        if (m_session)
            m_session->outputDrained();
    }
}

void Connection::onDisconnected()
{
    if (m_finished)
        return;
    m_finished = true;
    m_idle.stop();
    if (m_session && m_session->hasAsyncWork()) {
        m_session->whenIdle([this] {
            emit finished(m_peer);
            deleteLater();
        });
        return;
    }
    emit finished(m_peer);
    deleteLater();
}

void Connection::onIdle()
{
    const bool handshaking = !m_started || (m_socket->mode() == QSslSocket::SslServerMode && !m_socket->isEncrypted());
    if (handshaking) {
        qCDebug(lcNet) << m_peer << "TLS handshake timed out";
        m_socket->abort();
        onDisconnected();
        return;
    }
    if (m_session && !m_closing)
        m_session->idleTimeout();
}

} // namespace valv::core
