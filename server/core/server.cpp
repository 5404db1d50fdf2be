// SPDX-License-Identifier: AGPL-3.0-or-later
#include "core/server.h"

#include "core/pool.h"

#include <QLoggingCategory>
#include <QTimer>

#include <sys/socket.h>

Q_DECLARE_LOGGING_CATEGORY(lcNet)

namespace valv::core {

void Worker::adopt(qintptr fd, bool implicitTls, const QSslConfiguration &tls,
                   const Connection::SessionFactory &factory, const QString &refusal,
                   std::function<void(const QString &)> onFinished)
{
    auto *c = new Connection(fd, implicitTls, tls, factory, refusal, this);
    m_connections.removeAll(nullptr);
    m_connections.append(c);
    connect(c, &Connection::finished, this, [onFinished](const QString &peer) { onFinished(peer); });
}

void Worker::shutdownAll()
{
    for (const QPointer<Connection> &c : std::as_const(m_connections)) {
        if (c)
            c->shutdown();
    }
}

Server::Server(TlsContext *tls, int workers, ServerLimits limits, QObject *parent)
    : QObject(parent), m_tls(tls), m_limits(limits)
{
    for (int i = 0; i < std::max(1, workers); ++i) {
        auto *thread = new QThread;
        thread->setObjectName(QStringLiteral("worker-%1").arg(i));
        auto *worker = new Worker;
        worker->moveToThread(thread);
        connect(thread, &QThread::finished, worker, &QObject::deleteLater);
        // Runs in the worker thread itself, before it ends.
        connect(thread, &QThread::finished, thread, &releaseThreadCryptoState, Qt::DirectConnection);
        thread->start();
        m_threads.append(thread);
        m_workers.append(worker);
    }
}

Server::~Server()
{
    for (QThread *t : std::as_const(m_threads)) {
        t->quit();
        t->wait();
        delete t;
    }
}

Result<quint16> Server::listen(const QString &name, const QHostAddress &address, quint16 port, bool implicitTls,
                               Connection::SessionFactory factory)
{
    auto *l = new Listener;
    l->setParent(this);
    l->onIncoming = [this, l, implicitTls, factory](qintptr fd) { accept(l, fd, implicitTls, factory); };
    if (!l->listen(address, port)) {
        const QString err = l->errorString();
        delete l;
        return makeError(1, QStringLiteral("cannot listen for %1 on %2 port %3: %4")
                                .arg(name, address.toString()).arg(port).arg(err));
    }
    m_listeners.append({name, l});
    qCInfo(lcNet).noquote() << "listening for" << name << "on" << address.toString() << "port" << l->serverPort()
                            << (implicitTls ? "(implicit TLS)" : "");
    return l->serverPort();
}

QList<std::pair<QString, quint16>> Server::boundPorts() const
{
    QList<std::pair<QString, quint16>> out;
    for (const auto &[name, l] : m_listeners)
        out.append({name, l->serverPort()});
    return out;
}

void Server::setLimits(ServerLimits limits)
{
    QMutexLocker lock(&m_mutex);
    m_limits = limits;
}

void Server::accept(Listener *, qintptr fd, bool implicitTls, const Connection::SessionFactory &factory)
{
    // The peer address is read from the descriptor before handing it off.
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    QString peer;
    if (::getpeername(int(fd), reinterpret_cast<sockaddr *>(&addr), &len) == 0)
        peer = QHostAddress(reinterpret_cast<const sockaddr *>(&addr)).toString();
    QString refusal;
    {
        QMutexLocker lock(&m_mutex);
        if (m_draining)
            refusal = QStringLiteral("server shutting down");
        else if (m_total >= m_limits.maxConnections)
            refusal = QStringLiteral("too many connections");
        else if (m_perIp.value(peer) >= m_limits.maxPerIp)
            refusal = QStringLiteral("too many connections from your address");
        ++m_total;
        ++m_perIp[peer];
    }
    if (!refusal.isEmpty())
        qCInfo(lcNet).noquote() << "refusing" << peer << "-" << refusal;
    Worker *w = m_workers[m_next++ % m_workers.size()];
    const QSslConfiguration tls = m_tls->current();
    QMetaObject::invokeMethod(w, [=, this] {
        w->adopt(fd, implicitTls, tls, factory, refusal, [this](const QString &p) {
            QMetaObject::invokeMethod(this, [this, p] { connectionFinished(p); }, Qt::QueuedConnection);
        });
    }, Qt::QueuedConnection);
}

void Server::connectionFinished(const QString &peer)
{
    {
        QMutexLocker lock(&m_mutex);
        --m_total;
        if (--m_perIp[peer] <= 0)
            m_perIp.remove(peer);
    }
    if (m_draining)
        checkDrained();
}

void Server::drain()
{
    if (m_draining)
        return;
    {
        QMutexLocker lock(&m_mutex);
        m_draining = true;
    }
    for (const auto &[name, l] : std::as_const(m_listeners))
        l->close();
    for (Worker *w : std::as_const(m_workers))
        QMetaObject::invokeMethod(w, [w] { w->shutdownAll(); }, Qt::QueuedConnection);
    QTimer::singleShot(m_limits.graceSeconds * 1000, this, [this] {
        qCWarning(lcNet) << "grace period over with" << m_total << "connections still open; stopping anyway";
        emit drained();
    });
    checkDrained();
}

void Server::checkDrained()
{
    QMutexLocker lock(&m_mutex);
    if (m_total == 0) {
        lock.unlock();
        QMetaObject::invokeMethod(this, &Server::drained, Qt::QueuedConnection);
    }
}

} // namespace valv::core
