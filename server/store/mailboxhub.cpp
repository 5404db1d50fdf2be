// SPDX-License-Identifier: AGPL-3.0-or-later
#include "store/mailboxhub.h"

namespace valv::store {

MailboxHub &MailboxHub::instance()
{
    static MailboxHub hub;
    return hub;
}

void MailboxHub::subscribe(const QString &userId, QObject *listener, std::function<void(const QString &)> onChange,
                           RenameHandler onRename)
{
    QMutexLocker lock(&m_mutex);
    m_listeners.insert(userId, Listener{listener, std::move(onChange), std::move(onRename)});
}

void MailboxHub::unsubscribe(QObject *listener)
{
    QMutexLocker lock(&m_mutex);
    for (auto it = m_listeners.begin(); it != m_listeners.end();) {
        if (it->object == listener)
            it = m_listeners.erase(it);
        else
            ++it;
    }
}

void MailboxHub::notify(const QString &userId, const QString &folder, const QObject *except)
{
    QMutexLocker lock(&m_mutex);
    for (auto it = m_listeners.constFind(userId); it != m_listeners.cend() && it.key() == userId; ++it) {
        if (it->object == except)
            continue;
        auto onChange = it->onChange;
        QMetaObject::invokeMethod(it->object, [onChange, folder] { onChange(folder); }, Qt::QueuedConnection);
    }
}

void MailboxHub::notifyRenamed(const QString &userId, const QString &from, const QString &to, const QObject *except)
{
    QMutexLocker lock(&m_mutex);
    for (auto it = m_listeners.constFind(userId); it != m_listeners.cend() && it.key() == userId; ++it) {
        if (it->object == except || !it->onRename)
            continue;
        auto onRename = it->onRename;
        QMetaObject::invokeMethod(it->object, [onRename, from, to] { onRename(from, to); }, Qt::QueuedConnection);
    }
}

} // namespace valv::store
