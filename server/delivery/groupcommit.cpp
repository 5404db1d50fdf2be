// SPDX-License-Identifier: AGPL-3.0-or-later
#include "delivery/groupcommit.h"

#include <QMutexLocker>

namespace valv::delivery {

std::shared_ptr<GroupCommit::Mailbox> GroupCommit::mailbox(const QString &userId)
{
    QMutexLocker lock(&m_mutex);
    auto &mb = m_mailboxes[userId];
    if (!mb)
        mb = std::make_shared<Mailbox>();
    return mb;
}

Result<store::AppendResult> GroupCommit::append(const QString &userId, const QString &folder,
                                                const store::NewMessage &message)
{
    const auto mb = mailbox(userId);
    Pending mine{&message, folder, std::nullopt};
    QMutexLocker lock(&mb->mutex);
    mb->queue.append(&mine);
    while (!mine.result) {
        if (mb->leading) {
            mb->committed.wait(&mb->mutex);
            continue;
        }
        mb->leading = true;
        const QList<Pending *> batch = std::exchange(mb->queue, {});
        lock.unlock();
        commitRound(userId, batch);
        lock.relock();
        mb->leading = false;
        mb->committed.wakeAll();
    }
    return *mine.result;
}

void GroupCommit::commitRound(const QString &userId, const QList<Pending *> &batch)
{
    auto store = m_opener->cached(userId);
    if (!store) {
        for (Pending *p : batch)
            p->result = Result<store::AppendResult>(store.error());
        return;
    }
    // One transaction per folder (nearly always just INBOX).
    QList<QString> folders;
    for (const Pending *p : batch) {
        if (!folders.contains(p->folder))
            folders.append(p->folder);
    }
    for (const QString &folder : folders) {
        QList<Pending *> group;
        QList<const store::NewMessage *> messages;
        for (Pending *p : batch) {
            if (p->folder == folder) {
                group.append(p);
                messages.append(p->message);
            }
        }
        auto r = (*store)->appendMany(folder, messages);
        for (qsizetype i = 0; i < group.size(); ++i)
            group[i]->result = r ? Result<store::AppendResult>(r->at(i)) : Result<store::AppendResult>(r.error());
        if (!r && r.error().code != int(store::MailError::NoSuchFolder)) {
            m_opener->dropCached(userId); // reopen next time: the connection may be broken
            // The store is in doubt: the other folders' messages fail too (and are retried
            // by their senders) rather than being committed on a connection just dropped.
            for (Pending *p : batch) {
                if (!p->result)
                    p->result = Result<store::AppendResult>(r.error());
            }
            return;
        }
    }
}

} // namespace valv::delivery
