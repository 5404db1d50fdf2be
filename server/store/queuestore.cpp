// SPDX-License-Identifier: AGPL-3.0-or-later
#include "store/queuestore.h"

#include <QDir>
#include <QMutexLocker>

#include <functional>

namespace valv::store {

namespace {
Error dbError(const Error &e) { return makeError(int(QueueError::Db), e.message); }

#define VALV_QUEUE_MESSAGE_COLUMNS "id, sender, user, envid, ret, requiretls, smtputf8, eightbit, created, size"
#define VALV_QUEUE_RCPT_COLUMNS \
    "id, address, domain, notify, orcpt, state, attempts, next_attempt, last_error, remote_mta, delay_notified"

QueueEntry readMessage(Statement &st)
{
    QueueEntry e;
    e.id = st.integer(0);
    e.sender = st.text(1);
    e.user = st.text(2);
    e.envid = st.text(3);
    e.ret = st.text(4);
    e.requireTls = st.integer(5) != 0;
    e.smtpUtf8 = st.integer(6) != 0;
    e.eightBit = st.integer(7) != 0;
    e.created = st.integer(8);
    e.size = st.integer(9);
    return e;
}

QueueRecipient readRecipient(Statement &st)
{
    QueueRecipient r;
    r.id = st.integer(0);
    r.address = st.text(1);
    r.domain = st.text(2);
    r.notify = st.text(3);
    r.orcpt = st.text(4);
    r.state = RecipientState(st.integer(5));
    r.attempts = int(st.integer(6));
    r.nextAttempt = st.integer(7);
    r.lastError = st.text(8);
    r.remoteMta = st.text(9);
    r.delayNotified = st.integer(10) != 0;
    return r;
}
} // namespace

QString QueueStore::path(const QString &dataDir)
{
    return QDir(dataDir).filePath(QStringLiteral("queue/queue.db"));
}

QList<QByteArray> QueueStore::migrations()
{
    return {
        // 1: messages and their recipients; the body stays in the message row.
        "CREATE TABLE messages(id INTEGER PRIMARY KEY AUTOINCREMENT, sender TEXT NOT NULL, user TEXT NOT NULL,"
        " envid TEXT NOT NULL, ret TEXT NOT NULL, requiretls INTEGER NOT NULL, smtputf8 INTEGER NOT NULL,"
        " eightbit INTEGER NOT NULL, created INTEGER NOT NULL, size INTEGER NOT NULL, body BLOB NOT NULL);"
        "CREATE TABLE recipients(id INTEGER PRIMARY KEY, message INTEGER NOT NULL REFERENCES messages(id)"
        " ON DELETE CASCADE, address TEXT NOT NULL, domain TEXT NOT NULL, notify TEXT NOT NULL,"
        " orcpt TEXT NOT NULL, state INTEGER NOT NULL, attempts INTEGER NOT NULL, next_attempt INTEGER NOT NULL,"
        " last_error TEXT NOT NULL, remote_mta TEXT NOT NULL, delay_notified INTEGER NOT NULL);"
        "CREATE INDEX recipients_due ON recipients(state, next_attempt);"
        "CREATE INDEX recipients_message ON recipients(message);",
    };
}

Result<std::unique_ptr<QueueStore>> QueueStore::open(const QString &dataDir, const KeyRing &keys)
{
    if (!QDir(dataDir).mkpath(QStringLiteral("queue")))
        return makeError(int(QueueError::Db), QStringLiteral("cannot create %1/queue").arg(dataDir));
    DbOptions opts;
    opts.cacheKiB = 4096;
    auto db = Database::open(path(dataDir), keys.queueDbKey(), opts);
    if (!db)
        return db.error();
    if (auto m = (*db)->migrate(migrations()); !m)
        return m.error();
    if (auto fk = (*db)->exec("PRAGMA foreign_keys = ON;"); !fk)
        return fk.error();
    std::unique_ptr<QueueStore> s(new QueueStore);
    s->m_db = std::move(*db);
    return s;
}

Result<qint64> QueueStore::enqueue(const QueueEntry &entry, const QByteArray &body, QueueEntry *stored)
{
    QMutexLocker lock(&m_mutex);
    Transaction txn(*m_db);
    if (!txn.begun())
        return dbError(m_db->lastError());
    Statement st = m_db->prepare("INSERT INTO messages(sender, user, envid, ret, requiretls, smtputf8, eightbit,"
                                  " created, size, body) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    st.bindText(1, entry.sender).bindText(2, entry.user).bindText(3, entry.envid).bindText(4, entry.ret);
    st.bindInt(5, entry.requireTls).bindInt(6, entry.smtpUtf8).bindInt(7, entry.eightBit);
    st.bindInt(8, entry.created).bindInt(9, body.size()).bind(10, body);
    if (auto r = st.exec(); !r)
        return dbError(r.error());
    const qint64 id = m_db->lastInsertId();
    QList<qint64> ids;
    Statement rc = m_db->prepare("INSERT INTO recipients(message, address, domain, notify, orcpt, state, attempts,"
                                  " next_attempt, last_error, remote_mta, delay_notified)"
                                  " VALUES(?, ?, ?, ?, ?, 0, 0, ?, '', '', 0)");
    for (const QueueRecipient &r : entry.recipients) {
        rc.bindInt(1, id).bindText(2, r.address).bindText(3, r.domain.toLower()).bindText(4, r.notify);
        rc.bindText(5, r.orcpt).bindInt(6, entry.created);
        if (auto x = rc.exec(); !x)
            return dbError(x.error());
        rc.reset();
        if (stored)
            ids.append(m_db->lastInsertId());
    }
    if (auto c = txn.commit(); !c)
        return dbError(c.error());
    if (stored) {
        *stored = entry;
        stored->id = id;
        stored->size = body.size();
        for (qsizetype i = 0; i < stored->recipients.size(); ++i) {
            QueueRecipient &r = stored->recipients[i];
            r = QueueRecipient{ids[i], r.address, r.domain.toLower(), r.notify, r.orcpt, RecipientState::Pending, 0,
                               entry.created, QString(), QString(), false};
        }
    }
    return id;
}

Result<QList<QueueEntry>> QueueStore::readEntries(Statement &messages, Statement &recipients)
{
    QList<QueueEntry> out;
    while (messages.next())
        out.append(readMessage(messages));
    if (messages.failed())
        return dbError(messages.error());
    for (QueueEntry &e : out) {
        recipients.bindInt(1, e.id);
        while (recipients.next())
            e.recipients.append(readRecipient(recipients));
        if (recipients.failed())
            return dbError(recipients.error());
        recipients.reset();
    }
    return out;
}

Result<QList<QueueEntry>> QueueStore::list()
{
    QMutexLocker lock(&m_mutex);
    ReadSnapshot snap(*m_db);
    Statement m = m_db->prepare("SELECT " VALV_QUEUE_MESSAGE_COLUMNS " FROM messages ORDER BY id");
    Statement r = m_db->prepare("SELECT " VALV_QUEUE_RCPT_COLUMNS " FROM recipients WHERE message = ? ORDER BY id");
    return readEntries(m, r);
}

Result<QueueEntry> QueueStore::entry(qint64 id)
{
    QMutexLocker lock(&m_mutex);
    ReadSnapshot snap(*m_db);
    Statement m = m_db->prepare("SELECT " VALV_QUEUE_MESSAGE_COLUMNS " FROM messages WHERE id = ?");
    m.bindInt(1, id);
    Statement r = m_db->prepare("SELECT " VALV_QUEUE_RCPT_COLUMNS " FROM recipients WHERE message = ? ORDER BY id");
    auto entries = readEntries(m, r);
    if (!entries)
        return entries.error();
    if (entries->isEmpty())
        return makeError(int(QueueError::NotFound), QStringLiteral("no queued message %1").arg(id));
    return entries->first();
}

Result<QByteArray> QueueStore::body(qint64 id)
{
    QMutexLocker lock(&m_mutex);
    Statement st = m_db->prepare("SELECT body FROM messages WHERE id = ?");
    st.bindInt(1, id);
    if (!st.next())
        return st.failed() ? dbError(st.error())
                           : makeError(int(QueueError::NotFound), QStringLiteral("no queued message %1").arg(id));
    return st.blob(0);
}

Result<QList<QueueEntry>> QueueStore::due(qint64 now, const QList<qint64> &busy, int limit)
{
    QMutexLocker lock(&m_mutex);
    ReadSnapshot snap(*m_db);
    // Over-fetch by the busy count so skipping them still fills the batch.
    Statement ids = m_db->prepare("SELECT message, MIN(next_attempt) AS due FROM recipients"
                                   " WHERE state = 0 AND next_attempt <= ? GROUP BY message ORDER BY due LIMIT ?");
    ids.bindInt(1, now).bindInt(2, limit + busy.size());
    QList<qint64> wanted;
    while (ids.next()) {
        if (!busy.contains(ids.integer(0)) && wanted.size() < limit)
            wanted.append(ids.integer(0));
    }
    if (ids.failed())
        return dbError(ids.error());
    QList<QueueEntry> out;
    Statement m = m_db->prepare("SELECT " VALV_QUEUE_MESSAGE_COLUMNS " FROM messages WHERE id = ?");
    Statement r = m_db->prepare("SELECT " VALV_QUEUE_RCPT_COLUMNS " FROM recipients"
                                 " WHERE message = ? AND state = 0 AND next_attempt <= ? ORDER BY domain, id");
    for (qint64 id : wanted) {
        m.bindInt(1, id);
        if (!m.next())
            continue;
        QueueEntry e = readMessage(m);
        m.reset();
        r.bindInt(1, id).bindInt(2, now);
        while (r.next())
            e.recipients.append(readRecipient(r));
        if (r.failed())
            return dbError(r.error());
        r.reset();
        out.append(e);
    }
    return out;
}

Result<std::optional<qint64>> QueueStore::nextDue()
{
    QMutexLocker lock(&m_mutex);
    Statement st = m_db->prepare("SELECT MIN(next_attempt) FROM recipients WHERE state = 0");
    if (!st.next())
        return st.failed() ? Result<std::optional<qint64>>(dbError(st.error())) : std::optional<qint64>();
    if (st.isNull(0))
        return std::optional<qint64>();
    return std::optional<qint64>(st.integer(0));
}

Result<qint64> QueueStore::pendingCount()
{
    QMutexLocker lock(&m_mutex);
    Statement st = m_db->prepare("SELECT COUNT(DISTINCT message) FROM recipients WHERE state = 0");
    if (!st.next())
        return dbError(st.error());
    return st.integer(0);
}

Result<void> QueueStore::updateRecipients(const QByteArray &sql, const QList<qint64> &ids,
                                          const std::function<void(Statement &)> &bind, qint64 purge)
{
    QMutexLocker lock(&m_mutex);
    Transaction txn(*m_db);
    if (!txn.begun())
        return dbError(m_db->lastError());
    Statement st = m_db->prepare(sql);
    for (qint64 id : ids) {
        bind(st);
        st.bindInt(1, id);
        if (auto r = st.exec(); !r)
            return dbError(r.error());
        st.reset();
    }
    if (purge) {
        if (auto p = purgeLocked(purge); !p)
            return p;
    }
    if (auto c = txn.commit(); !c)
        return dbError(c.error());
    return {};
}

Result<void> QueueStore::setDelivered(const QList<qint64> &recipientIds, const QString &remoteMta, const QString &reply,
                                      qint64 purge)
{
    return updateRecipients("UPDATE recipients SET state = 1, attempts = attempts + 1, remote_mta = ?2,"
                            " last_error = ?3 WHERE id = ?1",
                            recipientIds, [&](Statement &st) { st.bindText(2, remoteMta).bindText(3, reply); }, purge);
}

Result<void> QueueStore::setFailed(const QList<qint64> &recipientIds, const QString &remoteMta, const QString &error)
{
    return updateRecipients("UPDATE recipients SET state = 2, attempts = attempts + 1, remote_mta = ?2,"
                            " last_error = ?3 WHERE id = ?1",
                            recipientIds, [&](Statement &st) { st.bindText(2, remoteMta).bindText(3, error); });
}

Result<void> QueueStore::setDeferred(const QList<qint64> &recipientIds, const QString &remoteMta, const QString &error,
                                     qint64 nextAttempt)
{
    return updateRecipients("UPDATE recipients SET attempts = attempts + 1, remote_mta = ?2, last_error = ?3,"
                            " next_attempt = ?4 WHERE id = ?1 AND state = 0",
                            recipientIds, [&](Statement &st) {
                                st.bindText(2, remoteMta).bindText(3, error).bindInt(4, nextAttempt);
                            });
}

Result<void> QueueStore::setDelayNotified(const QList<qint64> &recipientIds)
{
    return updateRecipients("UPDATE recipients SET delay_notified = 1 WHERE id = ?1", recipientIds, [](Statement &) {});
}

Result<int> QueueStore::retryNow(qint64 id)
{
    QMutexLocker lock(&m_mutex);
    Statement st = id ? m_db->prepare("UPDATE recipients SET next_attempt = 0 WHERE state = 0 AND message = ?")
                      : m_db->prepare("UPDATE recipients SET next_attempt = 0 WHERE state = 0");
    if (id)
        st.bindInt(1, id);
    if (auto r = st.exec(); !r)
        return dbError(r.error());
    const int n = m_db->changes();
    if (id && n == 0)
        return makeError(int(QueueError::NotFound), QStringLiteral("no queued message %1 with pending recipients").arg(id));
    return n;
}

Result<void> QueueStore::remove(qint64 id)
{
    QMutexLocker lock(&m_mutex);
    Statement st = m_db->prepare("DELETE FROM messages WHERE id = ?");
    st.bindInt(1, id);
    if (auto r = st.exec(); !r)
        return dbError(r.error());
    if (m_db->changes() == 0)
        return makeError(int(QueueError::NotFound), QStringLiteral("no queued message %1").arg(id));
    return {};
}

Result<int> QueueStore::purgeFinished()
{
    QMutexLocker lock(&m_mutex);
    Statement st = m_db->prepare("DELETE FROM messages WHERE NOT EXISTS"
                                  " (SELECT 1 FROM recipients r WHERE r.message = messages.id AND r.state = 0)");
    if (auto r = st.exec(); !r)
        return dbError(r.error());
    return m_db->changes();
}

Result<void> QueueStore::purgeIfFinished(qint64 id)
{
    QMutexLocker lock(&m_mutex);
    return purgeLocked(id);
}

Result<void> QueueStore::purgeLocked(qint64 id)
{
    Statement st = m_db->prepare("DELETE FROM messages WHERE id = ? AND NOT EXISTS"
                                  " (SELECT 1 FROM recipients r WHERE r.message = ? AND r.state = 0)");
    st.bindInt(1, id).bindInt(2, id);
    if (auto r = st.exec(); !r)
        return dbError(r.error());
    return {};
}

} // namespace valv::store
