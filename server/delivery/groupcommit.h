// SPDX-License-Identifier: AGPL-3.0-or-later
// Group commit: deliveries to one mailbox that arrive together share one transaction
// and one fsync (ARCHITECTURE.md, Durability).
//
// Implementation notes
// - Per mailbox, the first thread to find no commit running becomes the leader: it
//   takes every queued message, commits them in one transaction per folder, hands each
//   waiter its own result, and wakes them. Messages queued meanwhile go in the next
//   round, led by one of their own threads.
// - Callers block (they are pool threads, never event loops). A result is returned
//   only after the transaction holding that message has committed.
// - Waiting on a QWaitCondition here replaces SQLite's busy-retry sleeps, which put
//   tens of milliseconds on concurrent deliveries to the same mailbox.
#pragma once

#include "result.h"
#include "store/mailstore.h"
#include "store/mailstorecache.h"

#include <QHash>
#include <QMutex>
#include <QWaitCondition>

#include <memory>
#include <optional>

namespace valv::delivery {

class GroupCommit {
public:
    explicit GroupCommit(const store::MailStoreOpener *opener) : m_opener(opener) {}

    [[nodiscard]] Result<store::AppendResult> append(const QString &userId, const QString &folder,
                                                     const store::NewMessage &message);

private:
    struct Pending {
        const store::NewMessage *message;
        QString folder;
        std::optional<Result<store::AppendResult>> result;
    };
    struct Mailbox {
        QMutex mutex;
        QWaitCondition committed;
        QList<Pending *> queue;
        bool leading = false;
    };
    std::shared_ptr<Mailbox> mailbox(const QString &userId);
    void commitRound(const QString &userId, const QList<Pending *> &batch);

    const store::MailStoreOpener *m_opener;
    QMutex m_mutex;
    QHash<QString, std::shared_ptr<Mailbox>> m_mailboxes;
};

} // namespace valv::delivery
