// SPDX-License-Identifier: AGPL-3.0-or-later
// Server: listeners on the main thread, connections on worker threads.
//
// Implementation notes
// - A listener accepts and hands the descriptor to the next worker (round robin);
//   the worker thread creates the Connection and owns it until it ends.
// - Connection limits (total, per client IP) are counted here under a mutex; a refused
//   client gets its protocol's "too many connections" reply.
// - drain(): stop accepting, ask every session to finish, quit when none are left or
//   the grace period ends.
#pragma once

#include "core/connection.h"
#include "core/tls.h"

#include <QHash>
#include <QHostAddress>
#include <QList>
#include <QMutex>
#include <QObject>
#include <QTcpServer>
#include <QThread>

#include <functional>

namespace valv::core {

class Worker : public QObject {
    Q_OBJECT
public:
    void adopt(qintptr fd, bool implicitTls, const QSslConfiguration &tls, const Connection::SessionFactory &factory,
               const QString &refusal, std::function<void(const QString &)> onFinished);
    void shutdownAll();
    [[nodiscard]] int count() const { return m_connections.size(); }

private:
    QList<QPointer<Connection>> m_connections;
};

class Listener : public QTcpServer {
    Q_OBJECT
public:
    std::function<void(qintptr)> onIncoming;

protected:
    void incomingConnection(qintptr fd) override { onIncoming(fd); }
};

struct ServerLimits {
    int maxConnections = 1000;
    int maxPerIp = 20;
    int graceSeconds = 10;
};

class Server : public QObject {
    Q_OBJECT
public:
    Server(TlsContext *tls, int workers, ServerLimits limits, QObject *parent = nullptr);
    ~Server() override;

    // Binds now; returns the bound port (useful with port 0) or an error.
    [[nodiscard]] Result<quint16> listen(const QString &name, const QHostAddress &address, quint16 port,
                                         bool implicitTls, Connection::SessionFactory factory);
    [[nodiscard]] QList<std::pair<QString, quint16>> boundPorts() const;
    void setLimits(ServerLimits limits);

    // Stop accepting and let sessions finish; emits drained() when done.
    void drain();

signals:
    void drained();

private:
    void accept(Listener *listener, qintptr fd, bool implicitTls, const Connection::SessionFactory &factory);
    void connectionFinished(const QString &peer);
    void checkDrained();

    TlsContext *m_tls;
    ServerLimits m_limits;
    QList<QThread *> m_threads;
    QList<Worker *> m_workers;
    QList<std::pair<QString, Listener *>> m_listeners;
    int m_next = 0;
    QMutex m_mutex;
    QHash<QString, int> m_perIp;
    int m_total = 0;
    bool m_draining = false;
};

} // namespace valv::core
