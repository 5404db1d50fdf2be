// SPDX-License-Identifier: AGPL-3.0-or-later
// Connection: one client socket and its session, owned by one worker thread.
//
// Implementation notes
// - The socket is a QSslSocket in plain mode; implicit-TLS ports start the handshake
//   at once and greet only after it, STARTTLS starts it when the session asks, after
//   the session's last plaintext reply has been flushed.
// - The idle timer restarts on every read; when it fires the session says goodbye.
// - Nothing here blocks: no waitFor*() calls.
// - Backpressure: while more than kMaxPendingOutput bytes wait for a client that does
//   not read, nothing more is read from it (the socket's read buffer is bounded, so the
//   kernel's window closes), and sessions stop taking pipelined commands. A client
//   that pipelines commands and never reads answers cannot grow the server's memory.
#pragma once

#include "core/session.h"

#include <QObject>
#include <QPointer>
#include <QSslConfiguration>
#include <QTimer>

#include <functional>
#include <memory>

class QSslSocket;
struct z_stream_s;

namespace valv::core {

class Connection : public QObject, public SessionSink {
    Q_OBJECT
public:
    using SessionFactory = std::function<std::unique_ptr<Session>(SessionSink *)>;

    Connection(qintptr descriptor, bool implicitTls, const QSslConfiguration &tls, const SessionFactory &factory,
               const QString &refusal, QObject *parent = nullptr);
    ~Connection() override;

    void write(const QByteArray &bytes) override;
    void startTls() override;
    void close() override;
    [[nodiscard]] bool isEncrypted() const override;
    [[nodiscard]] QString peerAddress() const override;
    void setIdleTimeout(int seconds) override;
    [[nodiscard]] bool canCompress() const override { return true; }
    bool startCompression() override;
    [[nodiscard]] bool outputBacklogged() const override;

    void shutdown();

signals:
    void finished(const QString &peer);

private:
    void onReadyRead();
    void onEncrypted();
    void onBytesWritten();
    void onDisconnected();
    void onIdle();

    QSslSocket *m_socket = nullptr;
    std::unique_ptr<Session> m_session;
    QSslConfiguration m_tls;
    QTimer m_idle;
    QString m_peer;
    int m_sessionIdleMs = 0;
    bool m_tlsPending = false;
    bool m_readPaused = false; // output backlogged: input waits in the socket (and the kernel)
    bool m_backlogged = false; // output went over kMaxPendingOutput and has not drained yet
    bool m_closing = false;
    bool m_finished = false;
    bool m_started = false;
    struct Deflate;
    std::unique_ptr<Deflate> m_deflate; // set once COMPRESS=DEFLATE is active
};

} // namespace valv::core
