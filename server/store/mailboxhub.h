// SPDX-License-Identifier: AGPL-3.0-or-later
// MailboxHub: tells every open session of a user that one of their folders changed
// (new mail, flags, expunges), across threads. Sessions then read the change from the
// store themselves; the hub carries only "user U, folder F changed".
//
// Implementation notes
// - Listeners are QObjects; calls reach them as queued calls on their own thread.
// - Posting happens under the hub's mutex and unsubscribe() takes it too, so a listener
//   is never posted to while it is being destroyed; Qt drops events still queued for a
//   destroyed object.
#pragma once

#include <QHash>
#include <QMutex>
#include <QObject>
#include <QString>

#include <functional>

namespace valv::store {

class MailboxHub {
public:
    static MailboxHub &instance();

    using RenameHandler = std::function<void(const QString &from, const QString &to)>;
    void subscribe(const QString &userId, QObject *listener, std::function<void(const QString &folder)> onChange,
                   RenameHandler onRename = {});
    void unsubscribe(QObject *listener);
    // `except`: the session that made the change already knows of it.
    void notify(const QString &userId, const QString &folder, const QObject *except = nullptr);
    // Folder `from` (and every folder below it) is now called `to`: a session that has
    // one of them selected keeps it under its new name, and hears of changes to it.
    void notifyRenamed(const QString &userId, const QString &from, const QString &to, const QObject *except = nullptr);

private:
    struct Listener {
        QObject *object;
        std::function<void(const QString &)> onChange;
        RenameHandler onRename;
    };
    QMutex m_mutex;
    QMultiHash<QString, Listener> m_listeners;
};

} // namespace valv::store
