// SPDX-License-Identifier: AGPL-3.0-or-later
// What every protocol session is and what it may ask of its connection. Sessions are
// state machines: bytes in through ingest(), effects out through the sink. They never
// touch a socket, so tests drive them with a fake sink.
#pragma once

#include <QByteArray>
#include <QObject>
#include <QString>

#include <functional>

namespace valv::core {

class SessionSink {
public:
    virtual ~SessionSink() = default;
    virtual void write(const QByteArray &bytes) = 0;
    // Begin the TLS handshake once everything written so far has been sent.
    virtual void startTls() = 0;
    // Close once everything written so far has been sent.
    virtual void close() = 0;
    [[nodiscard]] virtual bool isEncrypted() const = 0;
    [[nodiscard]] virtual QString peerAddress() const = 0;
    virtual void setIdleTimeout(int seconds) = 0;
    // RFC 4978 COMPRESS=DEFLATE: whether this connection can compress, and switching it
    // on. Everything written after startCompression() is deflated, and everything read
    // after it is inflated before ingest().
    [[nodiscard]] virtual bool canCompress() const { return false; }
    virtual bool startCompression() { return false; }
    // Backpressure: true while more than kMaxPendingOutput bytes wait to go to a client
    // that is not reading. Sessions take no further pipelined command meanwhile; the
    // connection stops reading and calls Session::outputDrained() once it has drained.
    [[nodiscard]] virtual bool outputBacklogged() const { return false; }
};

inline constexpr qint64 kMaxPendingOutput = 1024 * 1024;

// Sessions live in their connection's worker thread; async work (password hashing,
// delivery) runs on the thread pool and comes back as queued calls on the session.
class Session : public QObject {
public:
    explicit Session(SessionSink *sink) : m_sink(sink) {}
    ~Session() override = default;

    // Connection established (and for implicit TLS: after the handshake). Send greeting.
    virtual void start() = 0;
    virtual void ingest(const QByteArray &bytes) = 0;
    virtual void tlsStarted() {}
    // The idle timer fired: say goodbye the protocol's way; the connection then closes.
    virtual void idleTimeout() = 0;
    // The server is stopping: finish what is in flight, say goodbye, close.
    virtual void shutdown() = 0;
    // Refused before start (too many connections): say so the protocol's way.
    virtual void refuse(const QString &reason) = 0;
    // The client has read what was backlogged (SessionSink::outputBacklogged): go on with
    // commands already received.
    virtual void outputDrained() {}

    // A session with async work in flight is kept alive (even after its client left)
    // until the work reports back: pool threads post their results to it.
    [[nodiscard]] bool hasAsyncWork() const { return m_async > 0; }
    void whenIdle(std::function<void()> f) { m_whenIdle = std::move(f); }

protected:
    SessionSink *sink() const { return m_sink; }
    void beginAsync() { ++m_async; }
    void endAsync()
    {
        if (--m_async == 0 && m_whenIdle)
            m_whenIdle();
    }

private:
    SessionSink *m_sink;
    int m_async = 0;
    std::function<void()> m_whenIdle;
};

} // namespace valv::core
