// SPDX-License-Identifier: AGPL-3.0-or-later
// QueueStore: <datadir>/queue/queue.db, the durable outbound queue (SQLCipher).
//
// Implementation notes
// - enqueue() commits the message and its recipients in one transaction (WAL,
//   synchronous=FULL): when it returns, the message survives kill -9 and power loss,
//   and only then may submission answer 250.
// - A recipient is Pending until the runner records Delivered or Failed. Nothing marks
//   "in flight" on disk: after a crash a recipient whose delivery was under way is
//   simply due again, so it is delivered at least once (twice only if the remote had
//   accepted it and we died before recording that).
// - A message row goes once none of its recipients is pending (purgeFinished()).
// - One connection behind a mutex: the runner, submission sessions (on the pool) and
//   valvctl (another process, its own connection) share the file through WAL.
#pragma once

#include "result.h"
#include "store/database.h"
#include "store/keyring.h"

#include <QList>
#include <QMutex>
#include <QString>

#include <functional>
#include <memory>
#include <optional>

namespace valv::store {

enum class QueueError { Db = 1, NotFound };

enum class RecipientState { Pending = 0, Delivered = 1, Failed = 2 };

struct QueueRecipient {
    qint64 id = 0;
    QString address;
    QString domain;          // lower-case, the part after the last '@'
    QString notify;          // RFC 3461 NOTIFY as given ("" = default: FAILURE,DELAY)
    QString orcpt;           // RFC 3461 ORCPT, decoded: "rfc822;bob@b.test"
    RecipientState state = RecipientState::Pending;
    int attempts = 0;
    qint64 nextAttempt = 0;  // seconds since the epoch
    QString lastError;       // the remote's reply or what went wrong, for DSNs and valvctl
    QString remoteMta;       // host name of the MX that answered last
    bool delayNotified = false;
};

struct QueueEntry {
    qint64 id = 0;
    QString sender;          // envelope sender; "" = null reverse-path (a DSN)
    QString user;            // submitting user's address; "" for system mail
    QString envid;           // RFC 3461 ENVID, decoded
    QString ret;             // RFC 3461 RET: "FULL", "HDRS" or ""
    bool requireTls = false; // RFC 8689 REQUIRETLS
    bool smtpUtf8 = false;   // RFC 6531: the message needs SMTPUTF8 downstream
    bool eightBit = false;   // BODY=8BITMIME
    qint64 created = 0;      // seconds since the epoch
    qint64 size = 0;
    QList<QueueRecipient> recipients;
};

class QueueStore {
public:
    [[nodiscard]] static QString path(const QString &dataDir);
    [[nodiscard]] static Result<std::unique_ptr<QueueStore>> open(const QString &dataDir, const KeyRing &keys);
    [[nodiscard]] static QList<QByteArray> migrations();

    // Stores the message and its recipients (ids, state and counters are ignored; all
    // start Pending and due at `entry.created`). Returns the new message id; `stored`,
    // when given, receives the entry as stored (ids, size, due times).
    [[nodiscard]] Result<qint64> enqueue(const QueueEntry &entry, const QByteArray &body, QueueEntry *stored = nullptr);

    // Every message with every recipient, oldest first.
    [[nodiscard]] Result<QList<QueueEntry>> list();
    [[nodiscard]] Result<QueueEntry> entry(qint64 id);
    [[nodiscard]] Result<QByteArray> body(qint64 id);

    // Messages with pending recipients due at `now` (each with only those recipients),
    // oldest due first, skipping the messages in `busy`.
    [[nodiscard]] Result<QList<QueueEntry>> due(qint64 now, const QList<qint64> &busy, int limit);
    // The earliest next_attempt of a pending recipient, if any.
    [[nodiscard]] Result<std::optional<qint64>> nextDue();
    [[nodiscard]] Result<qint64> pendingCount();

    // `purge`: also delete message `purge` in the same transaction if none of its
    // recipients is pending any more (the runner's last outcome for a message).
    [[nodiscard]] Result<void> setDelivered(const QList<qint64> &recipientIds, const QString &remoteMta,
                                            const QString &reply, qint64 purge = 0);
    [[nodiscard]] Result<void> setFailed(const QList<qint64> &recipientIds, const QString &remoteMta,
                                         const QString &error);
    // One more attempt counted, the error kept, due again at `nextAttempt`.
    [[nodiscard]] Result<void> setDeferred(const QList<qint64> &recipientIds, const QString &remoteMta,
                                           const QString &error, qint64 nextAttempt);
    [[nodiscard]] Result<void> setDelayNotified(const QList<qint64> &recipientIds);

    // Makes a message's (0: every message's) pending recipients due now. Returns how many.
    [[nodiscard]] Result<int> retryNow(qint64 id);
    [[nodiscard]] Result<void> remove(qint64 id);
    // Deletes messages none of whose recipients is pending any more. Returns how many.
    [[nodiscard]] Result<int> purgeFinished();
    // The same for one message.
    [[nodiscard]] Result<void> purgeIfFinished(qint64 id);

private:
    QueueStore() = default;
    Result<QList<QueueEntry>> readEntries(Statement &messages, Statement &recipients);
    Result<void> updateRecipients(const QByteArray &sql, const QList<qint64> &ids,
                                  const std::function<void(Statement &)> &bind, qint64 purge = 0);
    Result<void> purgeLocked(qint64 id);
    std::unique_ptr<Database> m_db;
    QMutex m_mutex;
};

} // namespace valv::store
