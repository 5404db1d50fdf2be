// SPDX-License-Identifier: AGPL-3.0-or-later
// QueueStore: the durable outbound queue (queue/queue.db) against a temporary data dir.
#include "store/database.h"
#include "store/queuestore.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QLoggingCategory>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

using namespace valv::store;

namespace {
constexpr qint64 kCreated = 1700000000;

QueueRecipient rcpt(const QString &address, const QString &notify = {}, const QString &orcpt = {})
{
    QueueRecipient r;
    r.address = address;
    r.domain = address.mid(address.lastIndexOf(u'@') + 1);
    r.notify = notify;
    r.orcpt = orcpt;
    return r;
}

QueueEntry entry(qint64 created, const QList<QueueRecipient> &recipients)
{
    QueueEntry e;
    e.sender = QStringLiteral("alice@example.test");
    e.user = QStringLiteral("alice@example.test");
    e.created = created;
    e.recipients = recipients;
    return e;
}

QList<qint64> ids(const QList<QueueEntry> &entries)
{
    QList<qint64> out;
    for (const QueueEntry &e : entries)
        out.append(e.id);
    return out;
}

QList<qint64> recipientIds(const QueueEntry &e)
{
    QList<qint64> out;
    for (const QueueRecipient &r : e.recipients)
        out.append(r.id);
    return out;
}

QStringList addresses(const QueueEntry &e)
{
    QStringList out;
    for (const QueueRecipient &r : e.recipients)
        out.append(r.address);
    return out;
}
} // namespace

class TestQueueStore : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { QLoggingCategory::setFilterRules(QStringLiteral("valv.*.info=false")); }
    void init();
    void cleanup();
    void enqueueAndList();
    void due();
    void dueBatchAndOrder();
    void deferred();
    void deliveredAndFailed();
    void purge();
    void retryNow();
    void remove();
    void idsNeverReused();
    void body_data();
    void body();
    void nextDueAndPendingCount();
    void unknownIds();
    void durableAcrossReopen();
    void survivesProcessDeath();
    void encryptedAtRest();
    void wrongKey();

private:
    [[nodiscard]] qint64 enqueue(const QueueEntry &e, const QByteArray &body = "Subject: x\r\n\r\nbody\r\n");
    [[nodiscard]] QueueEntry get(qint64 id);
    void reopen();

    std::unique_ptr<QTemporaryDir> m_dir;
    KeyRing m_keys = KeyRing::fromMasterKey(QByteArray(32, 'q'));
    std::unique_ptr<QueueStore> m_store;
};

void TestQueueStore::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    auto s = QueueStore::open(m_dir->path(), m_keys);
    QVERIFY2(s.ok(), s.ok() ? "" : qPrintable(s.error().message));
    m_store = std::move(*s);
    QCOMPARE(QueueStore::path(m_dir->path()), QDir(m_dir->path()).filePath("queue/queue.db"));
    QVERIFY(QFile::exists(QueueStore::path(m_dir->path())));
}

void TestQueueStore::cleanup()
{
    m_store.reset();
    m_dir.reset();
}

qint64 TestQueueStore::enqueue(const QueueEntry &e, const QByteArray &body)
{
    auto id = m_store->enqueue(e, body);
    if (!id.ok())
        qWarning() << "enqueue:" << id.error().message;
    return id.ok() ? *id : -1;
}

QueueEntry TestQueueStore::get(qint64 id)
{
    auto e = m_store->entry(id);
    if (!e.ok())
        qWarning() << "entry:" << e.error().message;
    return e.ok() ? *e : QueueEntry();
}

void TestQueueStore::reopen()
{
    m_store.reset();
    auto s = QueueStore::open(m_dir->path(), m_keys);
    QVERIFY2(s.ok(), s.ok() ? "" : qPrintable(s.error().message));
    m_store = std::move(*s);
}

void TestQueueStore::enqueueAndList()
{
    QueueEntry e = entry(kCreated, {rcpt("carol@remote.example", "SUCCESS,FAILURE", "rfc822;carol@remote.example"),
                                    rcpt("dave@Other.EXAMPLE"), rcpt("erin@remote.example", "NEVER")});
    e.envid = QStringLiteral("env-1");
    e.ret = QStringLiteral("HDRS");
    e.requireTls = true;
    e.smtpUtf8 = true;
    e.eightBit = true;
    // Ignored on enqueue: every recipient starts Pending with no attempts.
    e.recipients[1].state = RecipientState::Failed;
    e.recipients[1].attempts = 7;
    e.recipients[1].lastError = QStringLiteral("stale");
    const QByteArray body = "Subject: queued\r\n\r\nthree recipients\r\n";
    const qint64 id = enqueue(e, body);
    QVERIFY(id > 0);

    auto all = m_store->list();
    QVERIFY(all.ok());
    QCOMPARE(all->size(), 1);
    const QueueEntry &q = all->first();
    QCOMPARE(q.id, id);
    QCOMPARE(q.sender, e.sender);
    QCOMPARE(q.user, e.user);
    QCOMPARE(q.envid, QStringLiteral("env-1"));
    QCOMPARE(q.ret, QStringLiteral("HDRS"));
    QVERIFY(q.requireTls);
    QVERIFY(q.smtpUtf8);
    QVERIFY(q.eightBit);
    QCOMPARE(q.created, kCreated);
    QCOMPARE(q.size, qint64(body.size()));
    QCOMPARE(addresses(q), (QStringList{"carol@remote.example", "dave@Other.EXAMPLE", "erin@remote.example"}));
    QCOMPARE(q.recipients[0].domain, QStringLiteral("remote.example"));
    QCOMPARE(q.recipients[1].domain, QStringLiteral("other.example")); // stored lower-case
    QCOMPARE(q.recipients[0].notify, QStringLiteral("SUCCESS,FAILURE"));
    QCOMPARE(q.recipients[0].orcpt, QStringLiteral("rfc822;carol@remote.example"));
    QCOMPARE(q.recipients[2].notify, QStringLiteral("NEVER"));
    for (const QueueRecipient &r : q.recipients) {
        QVERIFY(r.id > 0);
        QCOMPARE(r.state, RecipientState::Pending);
        QCOMPARE(r.attempts, 0);
        QCOMPARE(r.nextAttempt, kCreated); // due at once
        QCOMPARE(r.lastError, QString());
        QCOMPARE(r.remoteMta, QString());
        QVERIFY(!r.delayNotified);
    }
    QCOMPARE(get(id).recipients.size(), 3);

    // The null reverse-path (a DSN) and a second message: list() is oldest first.
    QueueEntry dsn = entry(kCreated + 5, {rcpt("bounce@remote.example")});
    dsn.sender.clear();
    dsn.user.clear();
    const qint64 id2 = enqueue(dsn);
    QVERIFY(id2 > id);
    all = m_store->list();
    QCOMPARE(ids(*all), (QList<qint64>{id, id2}));
    QCOMPARE(all->at(1).sender, QString());
    QVERIFY(!all->at(1).requireTls);
    QCOMPARE(all->at(1).ret, QString());
}

void TestQueueStore::due()
{
    const qint64 id = enqueue(entry(kCreated, {rcpt("a@one.example"), rcpt("b@two.example"), rcpt("c@one.example")}));
    QVERIFY(id > 0);

    auto now = m_store->due(kCreated, {}, 10);
    QVERIFY(now.ok());
    QCOMPARE(ids(*now), QList<qint64>{id});
    // Each with every pending recipient, grouped by domain.
    QCOMPARE(addresses(now->first()), (QStringList{"a@one.example", "c@one.example", "b@two.example"}));
    QCOMPARE(now->first().sender, QStringLiteral("alice@example.test"));
    QCOMPARE(now->first().size, get(id).size);

    QCOMPARE(m_store->due(kCreated + 3600, {}, 10)->size(), 1);
    QVERIFY(m_store->due(kCreated - 1, {}, 10)->isEmpty()); // before it was created
    QVERIFY(m_store->due(kCreated, {id}, 10)->isEmpty());  // in flight: skipped
    QVERIFY(m_store->due(kCreated, {}, 0)->isEmpty());
}

void TestQueueStore::dueBatchAndOrder()
{
    // Due order is the earliest due recipient, not the id.
    const qint64 a = enqueue(entry(kCreated + 30, {rcpt("x@a.example")}));
    const qint64 b = enqueue(entry(kCreated + 10, {rcpt("x@b.example")}));
    const qint64 c = enqueue(entry(kCreated + 20, {rcpt("x@c.example")}));
    QCOMPARE(ids(*m_store->due(kCreated + 100, {}, 10)), (QList<qint64>{b, c, a}));
    QCOMPARE(ids(*m_store->due(kCreated + 100, {}, 2)), (QList<qint64>{b, c}));
    // Busy ones are skipped and the batch is still filled from the rest.
    QCOMPARE(ids(*m_store->due(kCreated + 100, {b}, 2)), (QList<qint64>{c, a}));
    QCOMPARE(ids(*m_store->due(kCreated + 100, {b, c}, 2)), (QList<qint64>{a}));
    QCOMPARE(ids(*m_store->due(kCreated + 100, {a, b, c}, 2)), QList<qint64>{});
    QCOMPARE(ids(*m_store->due(kCreated + 25, {}, 10)), (QList<qint64>{b, c}));
}

void TestQueueStore::deferred()
{
    const qint64 id = enqueue(entry(kCreated, {rcpt("a@one.example"), rcpt("b@two.example")}));
    const QueueEntry e = get(id);
    const qint64 a = e.recipients[0].id, b = e.recipients[1].id;

    QVERIFY(m_store->setDeferred({a}, "mx.one.example", "451 4.3.0 try later", kCreated + 600).ok());
    QueueEntry after = get(id);
    QCOMPARE(after.recipients[0].attempts, 1);
    QCOMPARE(after.recipients[0].lastError, QStringLiteral("451 4.3.0 try later"));
    QCOMPARE(after.recipients[0].remoteMta, QStringLiteral("mx.one.example"));
    QCOMPARE(after.recipients[0].nextAttempt, kCreated + 600);
    QCOMPARE(after.recipients[0].state, RecipientState::Pending);
    QCOMPARE(after.recipients[1].attempts, 0); // the other one untouched
    QCOMPARE(after.recipients[1].nextAttempt, kCreated);

    // Only the recipient still due comes back now; both at the new time.
    auto now = m_store->due(kCreated + 1, {}, 10);
    QCOMPARE(now->size(), 1);
    QCOMPARE(recipientIds(now->first()), QList<qint64>{b});
    QCOMPARE(recipientIds(m_store->due(kCreated + 600, {}, 10)->first()), (QList<qint64>{a, b}));

    QVERIFY(m_store->setDeferred({b}, "mx.two.example", "421 busy", kCreated + 900).ok());
    QVERIFY(m_store->due(kCreated + 1, {}, 10)->isEmpty());
    QCOMPARE(recipientIds(m_store->due(kCreated + 600, {}, 10)->first()), QList<qint64>{a});

    QVERIFY(m_store->setDeferred({a}, "mx.one.example", "451 again", kCreated + 1800).ok());
    QCOMPARE(get(id).recipients[0].attempts, 2);
    QCOMPARE(get(id).recipients[0].lastError, QStringLiteral("451 again"));

    QVERIFY(m_store->setDelayNotified({a}).ok());
    QVERIFY(get(id).recipients[0].delayNotified);
    QVERIFY(!get(id).recipients[1].delayNotified);

    // A recipient no longer pending is not deferred again (a late retry result).
    QVERIFY(m_store->setDelivered({b}, "mx.two.example", "250 ok").ok());
    QVERIFY(m_store->setDeferred({b}, "mx.two.example", "451 late", kCreated + 5000).ok());
    QCOMPARE(get(id).recipients[1].state, RecipientState::Delivered);
    QCOMPARE(get(id).recipients[1].lastError, QStringLiteral("250 ok"));
}

void TestQueueStore::deliveredAndFailed()
{
    const qint64 id = enqueue(entry(kCreated, {rcpt("a@one.example"), rcpt("b@two.example"), rcpt("c@two.example")}));
    const QueueEntry e = get(id);
    QVERIFY(m_store->setDelivered({e.recipients[0].id}, "mx.one.example", "250 2.0.0 queued as X").ok());
    QVERIFY(m_store->setFailed({e.recipients[1].id}, "mx.two.example", "550 5.1.1 no such user").ok());
    const QueueEntry after = get(id);
    QCOMPARE(after.recipients[0].state, RecipientState::Delivered);
    QCOMPARE(after.recipients[0].attempts, 1);
    QCOMPARE(after.recipients[0].remoteMta, QStringLiteral("mx.one.example"));
    QCOMPARE(after.recipients[0].lastError, QStringLiteral("250 2.0.0 queued as X"));
    QCOMPARE(after.recipients[1].state, RecipientState::Failed);
    QCOMPARE(after.recipients[1].lastError, QStringLiteral("550 5.1.1 no such user"));
    QCOMPARE(after.recipients[2].state, RecipientState::Pending);
    // due() lists only the recipient still pending.
    QCOMPARE(addresses(m_store->due(kCreated, {}, 10)->first()), QStringList{"c@two.example"});
    // list() still shows all three with their states.
    QCOMPARE(m_store->list()->first().recipients.size(), 3);
}

void TestQueueStore::purge()
{
    const qint64 id = enqueue(entry(kCreated, {rcpt("a@one.example"), rcpt("b@two.example")}));
    const QueueEntry e = get(id);
    QVERIFY(m_store->setDelivered({e.recipients[0].id}, "mx", "250").ok());
    QVERIFY(m_store->purgeIfFinished(id).ok());
    QCOMPARE(get(id).id, id); // one recipient still pending: kept
    QCOMPARE(*m_store->purgeFinished(), 0);

    QVERIFY(m_store->setFailed({e.recipients[1].id}, "mx", "550").ok());
    QVERIFY(m_store->purgeIfFinished(id).ok());
    auto gone = m_store->entry(id);
    QVERIFY(!gone.ok());
    QCOMPARE(gone.error().code, int(QueueError::NotFound));
    QCOMPARE(m_store->body(id).error().code, int(QueueError::NotFound));
    QVERIFY(m_store->list()->isEmpty());
    QVERIFY(m_store->purgeIfFinished(id).ok()); // nothing left to purge: not an error

    // purgeFinished() takes every finished message and only those.
    const qint64 done1 = enqueue(entry(kCreated, {rcpt("a@one.example")}));
    const qint64 open = enqueue(entry(kCreated, {rcpt("b@one.example")}));
    const qint64 done2 = enqueue(entry(kCreated, {rcpt("c@one.example")}));
    QVERIFY(m_store->setDelivered(recipientIds(get(done1)), "mx", "250").ok());
    QVERIFY(m_store->setFailed(recipientIds(get(done2)), "mx", "550").ok());
    QCOMPARE(*m_store->purgeFinished(), 2);
    QCOMPARE(ids(*m_store->list()), QList<qint64>{open});
}

void TestQueueStore::retryNow()
{
    const qint64 one = enqueue(entry(kCreated, {rcpt("a@one.example"), rcpt("b@one.example")}));
    const qint64 two = enqueue(entry(kCreated, {rcpt("c@two.example")}));
    const QueueEntry e1 = get(one);
    QVERIFY(m_store->setDeferred(recipientIds(e1), "mx", "451", kCreated + 10000).ok());
    QVERIFY(m_store->setDeferred(recipientIds(get(two)), "mx", "451", kCreated + 10000).ok());
    QVERIFY(m_store->due(kCreated + 1, {}, 10)->isEmpty());

    auto n = m_store->retryNow(one);
    QVERIFY(n.ok());
    QCOMPARE(*n, 2);
    QCOMPARE(ids(*m_store->due(kCreated + 1, {}, 10)), QList<qint64>{one});
    QCOMPARE(get(one).recipients[0].attempts, 1); // attempts are history, not reset

    QCOMPARE(*m_store->retryNow(0), 3); // every pending recipient of every message
    QCOMPARE(m_store->due(kCreated + 1, {}, 10)->size(), 2);

    auto unknown = m_store->retryNow(999999);
    QVERIFY(!unknown.ok());
    QCOMPARE(unknown.error().code, int(QueueError::NotFound));

    // A message with nothing pending has nothing to retry.
    QVERIFY(m_store->setDelivered(recipientIds(get(two)), "mx", "250").ok());
    QCOMPARE(m_store->retryNow(two).error().code, int(QueueError::NotFound));
    QVERIFY(m_store->setFailed({e1.recipients[0].id}, "mx", "550").ok());
    QCOMPARE(*m_store->retryNow(0), 1);
    QCOMPARE(get(one).recipients[0].state, RecipientState::Failed); // not revived
}

void TestQueueStore::remove()
{
    const qint64 keep = enqueue(entry(kCreated, {rcpt("a@one.example")}));
    const qint64 drop = enqueue(entry(kCreated - 100, {rcpt("b@two.example"), rcpt("c@two.example")}));
    QVERIFY(m_store->remove(drop).ok());
    QCOMPARE(ids(*m_store->list()), QList<qint64>{keep});
    QCOMPARE(m_store->remove(drop).error().code, int(QueueError::NotFound));
    QCOMPARE(m_store->body(drop).error().code, int(QueueError::NotFound));
    // Its recipients went with it: not pending, not due, not counted.
    QCOMPARE(*m_store->pendingCount(), qint64(1));
    QCOMPARE(*m_store->nextDue(), std::optional<qint64>(kCreated));
    QCOMPARE(ids(*m_store->due(kCreated, {}, 10)), QList<qint64>{keep});
    QCOMPARE(*m_store->retryNow(0), 1);
}

void TestQueueStore::idsNeverReused()
{
    // valvctl and logs name messages by id: a new message must never take an old id.
    const qint64 a = enqueue(entry(kCreated, {rcpt("a@one.example")}));
    const qint64 b = enqueue(entry(kCreated, {rcpt("b@one.example")}));
    QVERIFY(m_store->remove(b).ok());
    const qint64 c = enqueue(entry(kCreated, {rcpt("c@one.example")}));
    QVERIFY(c > b);
    QVERIFY(m_store->setDelivered(recipientIds(get(c)), "mx", "250").ok());
    QVERIFY(m_store->purgeIfFinished(c).ok());
    QVERIFY(m_store->remove(a).ok());
    QVERIFY(m_store->list()->isEmpty());
    const qint64 d = enqueue(entry(kCreated, {rcpt("d@one.example")}));
    QVERIFY(d > c);
    // Also across a restart, with the queue empty.
    QVERIFY(m_store->remove(d).ok());
    reopen();
    const qint64 e = enqueue(entry(kCreated, {rcpt("e@one.example")}));
    QVERIFY2(e > d, qPrintable(QStringLiteral("%1 after %2").arg(e).arg(d)));
    // Recipient ids are unique across messages.
    const qint64 f = enqueue(entry(kCreated, {rcpt("f@one.example"), rcpt("g@one.example")}));
    QList<qint64> all = recipientIds(get(e)) + recipientIds(get(f));
    std::sort(all.begin(), all.end());
    QVERIFY(std::adjacent_find(all.begin(), all.end()) == all.end());
}

void TestQueueStore::body_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::newRow("ascii") << QByteArray("Subject: hi\r\n\r\nhello\r\n");
    QTest::newRow("8-bit") << QByteArray("Subject: =?utf-8?q?x?=\r\n\r\nGr\xc3\xbc\xc3\x9f" "e \xff\xfe\x80\r\n");
    QTest::newRow("NUL bytes") << QByteArray("Subject: nul\r\n\r\na\0b\0\0c\r\n", 24);
    QTest::newRow("bare LF and CR") << QByteArray("Subject: x\n\nline\rmore\n");
    QTest::newRow("no final CRLF") << QByteArray("Subject: x\r\n\r\nend");
    QByteArray big(3 * 1024 * 1024 + 17, '\0');
    for (qsizetype i = 0; i < big.size(); ++i)
        big[i] = char((i * 7919) % 256);
    QTest::newRow("3 MiB, every byte value") << big;
}

void TestQueueStore::body()
{
    QFETCH(QByteArray, body);
    const qint64 id = enqueue(entry(kCreated, {rcpt("a@one.example")}), body);
    QVERIFY(id > 0);
    auto stored = m_store->body(id);
    QVERIFY(stored.ok());
    QCOMPARE(stored->size(), body.size());
    QVERIFY(*stored == body);
    QCOMPARE(get(id).size, qint64(body.size()));
    reopen();
    QVERIFY(*m_store->body(id) == body);
}

void TestQueueStore::nextDueAndPendingCount()
{
    QCOMPARE(*m_store->nextDue(), std::optional<qint64>());
    QCOMPARE(*m_store->pendingCount(), qint64(0));
    const qint64 one = enqueue(entry(kCreated + 50, {rcpt("a@one.example"), rcpt("b@two.example")}));
    const qint64 two = enqueue(entry(kCreated + 20, {rcpt("c@two.example")}));
    QCOMPARE(*m_store->nextDue(), std::optional<qint64>(kCreated + 20));
    QCOMPARE(*m_store->pendingCount(), qint64(2)); // messages, not recipients

    QVERIFY(m_store->setDeferred(recipientIds(get(two)), "mx", "451", kCreated + 500).ok());
    QCOMPARE(*m_store->nextDue(), std::optional<qint64>(kCreated + 50));
    const QueueEntry e1 = get(one);
    QVERIFY(m_store->setDeferred({e1.recipients[0].id}, "mx", "451", kCreated + 300).ok());
    QCOMPARE(*m_store->nextDue(), std::optional<qint64>(kCreated + 50)); // b@two still due then
    QVERIFY(m_store->setFailed({e1.recipients[1].id}, "mx", "550").ok());
    QCOMPARE(*m_store->nextDue(), std::optional<qint64>(kCreated + 300));
    QCOMPARE(*m_store->pendingCount(), qint64(2));

    QVERIFY(m_store->setDelivered({e1.recipients[0].id}, "mx", "250").ok());
    QCOMPARE(*m_store->pendingCount(), qint64(1)); // finished but not purged: not pending
    QCOMPARE(*m_store->nextDue(), std::optional<qint64>(kCreated + 500));
    QVERIFY(m_store->setDelivered(recipientIds(get(two)), "mx", "250").ok());
    QCOMPARE(*m_store->pendingCount(), qint64(0));
    QCOMPARE(*m_store->nextDue(), std::optional<qint64>());
}

void TestQueueStore::unknownIds()
{
    QCOMPARE(m_store->entry(42).error().code, int(QueueError::NotFound));
    QCOMPARE(m_store->body(42).error().code, int(QueueError::NotFound));
    QCOMPARE(m_store->remove(42).error().code, int(QueueError::NotFound));
    // Updates of unknown recipients change nothing and do not fail.
    QVERIFY(m_store->setDelivered({4242}, "mx", "250").ok());
    QVERIFY(m_store->setDeferred({4242}, "mx", "451", kCreated).ok());
    QVERIFY(m_store->setDelivered({}, "mx", "250").ok());
    QVERIFY(m_store->list()->isEmpty());
}

void TestQueueStore::durableAcrossReopen()
{
    QueueEntry e = entry(kCreated, {rcpt("a@one.example", "DELAY", "rfc822;a@one.example"), rcpt("b@two.example"),
                                    rcpt("c@two.example")});
    e.envid = QStringLiteral("durable");
    e.ret = QStringLiteral("FULL");
    e.requireTls = true;
    const QByteArray body("Subject: durable\r\n\r\nstill here\0\xff\r\n", 34);
    const qint64 id = enqueue(e, body);
    const QueueEntry before = get(id);
    QVERIFY(m_store->setDelivered({before.recipients[0].id}, "mx.one.example", "250 ok").ok());
    QVERIFY(m_store->setDeferred({before.recipients[1].id}, "mx.two.example", "451 later", kCreated + 700).ok());
    QVERIFY(m_store->setDelayNotified({before.recipients[1].id}).ok());
    const qint64 other = enqueue(entry(kCreated + 1, {rcpt("d@three.example")}));

    reopen();
    auto all = m_store->list();
    QVERIFY(all.ok());
    QCOMPARE(ids(*all), (QList<qint64>{id, other}));
    const QueueEntry &q = all->first();
    QCOMPARE(q.envid, QStringLiteral("durable"));
    QCOMPARE(q.ret, QStringLiteral("FULL"));
    QVERIFY(q.requireTls);
    QCOMPARE(q.size, qint64(body.size()));
    QCOMPARE(q.recipients.size(), 3);
    QCOMPARE(q.recipients[0].state, RecipientState::Delivered);
    QCOMPARE(q.recipients[0].notify, QStringLiteral("DELAY"));
    QCOMPARE(q.recipients[0].orcpt, QStringLiteral("rfc822;a@one.example"));
    QCOMPARE(q.recipients[1].state, RecipientState::Pending);
    QCOMPARE(q.recipients[1].attempts, 1);
    QCOMPARE(q.recipients[1].nextAttempt, kCreated + 700);
    QCOMPARE(q.recipients[1].lastError, QStringLiteral("451 later"));
    QCOMPARE(q.recipients[1].remoteMta, QStringLiteral("mx.two.example"));
    QVERIFY(q.recipients[1].delayNotified);
    QCOMPARE(q.recipients[2].state, RecipientState::Pending);
    QVERIFY(*m_store->body(id) == body);
    QCOMPARE(*m_store->pendingCount(), qint64(2));
    QCOMPARE(*m_store->nextDue(), std::optional<qint64>(kCreated));
    QCOMPARE(ids(*m_store->due(kCreated + 1, {}, 10)), (QList<qint64>{id, other}));
    QCOMPARE(addresses(m_store->due(kCreated + 1, {}, 10)->first()), QStringList{"c@two.example"});

    // Two connections on one file (valvd and valvctl): what one commits, the other sees.
    auto second = QueueStore::open(m_dir->path(), m_keys);
    QVERIFY(second.ok());
    QVERIFY((*second)->remove(other).ok());
    QCOMPARE(ids(*m_store->list()), QList<qint64>{id});
}

void TestQueueStore::survivesProcessDeath()
{
    // enqueue() returning is the promise behind submission's 250: a process killed
    // right after it (no close, no checkpoint) must not lose the message.
    m_store.reset();
    const QByteArray body("Subject: kill -9\r\n\r\nacknowledged\r\n");
    const pid_t pid = fork();
    QVERIFY(pid >= 0);
    if (pid == 0) {
        auto s = QueueStore::open(m_dir->path(), m_keys);
        if (!s.ok() || !(*s)->enqueue(entry(kCreated, {rcpt("a@one.example"), rcpt("b@two.example")}), body).ok())
            _exit(3);
        std::raise(SIGKILL);
        _exit(4);
    }
    int status = 0;
    QCOMPARE(waitpid(pid, &status, 0), pid);
    QVERIFY2(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
             qPrintable(QStringLiteral("child status %1").arg(status)));
    reopen();
    auto all = m_store->list();
    QVERIFY(all.ok());
    QCOMPARE(all->size(), 1);
    QCOMPARE(addresses(all->first()), (QStringList{"a@one.example", "b@two.example"}));
    QVERIFY(*m_store->body(all->first().id) == body);
}

void TestQueueStore::encryptedAtRest()
{
    const QByteArray marker = "VALV-QUEUE-PLAINTEXT-MARKER-4f1c2e";
    QueueEntry e = entry(kCreated, {rcpt("marker-rcpt-7d3a@remote.example")});
    e.sender = QStringLiteral("marker-sender-9b2e@example.test");
    const qint64 id = enqueue(e, "Subject: " + marker + "\r\n\r\n" + marker + "\r\n");
    QVERIFY(id > 0);
    // The file, its WAL and the directory's other files, while open and after close.
    auto check = [&] {
        QDir dir(QFileInfo(QueueStore::path(m_dir->path())).absolutePath());
        int files = 0;
        for (const QFileInfo &fi : dir.entryInfoList(QDir::Files)) {
            QFile f(fi.absoluteFilePath());
            QVERIFY(f.open(QIODevice::ReadOnly));
            const QByteArray bytes = f.readAll();
            QVERIFY2(!bytes.contains(marker), qPrintable(fi.fileName() + " holds the body in plaintext"));
            QVERIFY2(!bytes.contains("marker-rcpt-7d3a"), qPrintable(fi.fileName() + " holds a recipient in plaintext"));
            QVERIFY2(!bytes.contains("marker-sender-9b2e"), qPrintable(fi.fileName() + " holds the sender in plaintext"));
            QVERIFY2(!bytes.startsWith("SQLite format 3"), qPrintable(fi.fileName() + " is a plain SQLite file"));
            ++files;
        }
        QVERIFY(files >= 1);
    };
    check();
    m_store.reset();
    check();
}

void TestQueueStore::wrongKey()
{
    QVERIFY(enqueue(entry(kCreated, {rcpt("a@one.example")})) > 0);
    m_store.reset();
    auto other = QueueStore::open(m_dir->path(), KeyRing::fromMasterKey(QByteArray(32, 'x')));
    QVERIFY(!other.ok());
    QCOMPARE(other.error().code, int(DbError::WrongKey));
    // The right key still opens it, with the message in it.
    reopen();
    QCOMPARE(m_store->list()->size(), 1);
}

QTEST_GUILESS_MAIN(TestQueueStore)
#include "tst_queuestore.moc"
