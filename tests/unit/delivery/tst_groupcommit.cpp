// SPDX-License-Identifier: AGPL-3.0-or-later
#include "delivery/groupcommit.h"
#include "store/configstore.h"
#include "store/crypto.h"

#include <QTemporaryDir>
#include <QTest>
#include <QThread>

#include <atomic>

using namespace valv;

class TestGroupCommit : public QObject {
    Q_OBJECT
private slots:
    void concurrentDeliveriesAllCommitOnce();
    void unknownFolderFailsOnlyItsMessages();
};

namespace {
struct Fixture {
    QTemporaryDir dir;
    std::unique_ptr<store::ConfigStore> config;
    std::unique_ptr<store::MailStoreOpener> opener;
    store::User user;

    Fixture()
    {
        auto c = store::ConfigStore::open(dir.path(), store::KeyRing::fromMasterKey(QByteArray(32, 'g')), true);
        config = std::move(*c);
        (void)config->addDomain("example.test");
        user = *config->addUser("u@example.test", "h");
        opener = std::make_unique<store::MailStoreOpener>(dir.path(), config.get());
    }
};

store::NewMessage message(int i)
{
    store::NewMessage m;
    m.raw = "Subject: " + QByteArray::number(i) + "\r\n\r\nbody " + QByteArray::number(i) + "\r\n";
    m.envelope = m.bodyStructure = m.body = "NIL";
    return m;
}
} // namespace

void TestGroupCommit::concurrentDeliveriesAllCommitOnce()
{
    Fixture f;
    delivery::GroupCommit commits(f.opener.get());
    constexpr int kThreads = 8;
    constexpr int kPerThread = 25;
    std::atomic<int> failures{0};
    QList<QList<uint32_t>> uids(kThreads);
    QList<QThread *> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads << QThread::create([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                const store::NewMessage m = message(t * 1000 + i);
                auto r = commits.append(f.user.id, "INBOX", m);
                if (!r)
                    ++failures;
                else
                    uids[t] << r->uid;
            }
            f.opener->dropCached(f.user.id); // close this thread's connection before it ends
        });
    }
    for (QThread *t : threads)
        t->start();
    for (QThread *t : threads) {
        QVERIFY(t->wait(120000));
        delete t;
    }
    QCOMPARE(failures.load(), 0);
    // Every message got its own UID, and every acknowledged message is in the store.
    QList<uint32_t> all;
    for (const auto &l : uids)
        all << l;
    std::sort(all.begin(), all.end());
    QCOMPARE(all.size(), kThreads * kPerThread);
    QVERIFY(std::adjacent_find(all.begin(), all.end()) == all.end());
    auto store = f.opener->open(f.user.id);
    const auto inbox = (*store)->folder("INBOX");
    const auto metas = (*store)->messages(inbox->id);
    QCOMPARE(metas->size(), kThreads * kPerThread);
    for (const auto &m : *metas)
        QVERIFY(std::binary_search(all.begin(), all.end(), m.uid));
    QCOMPARE(inbox->uidNext, all.last() + 1);
}

void TestGroupCommit::unknownFolderFailsOnlyItsMessages()
{
    Fixture f;
    delivery::GroupCommit commits(f.opener.get());
    QVERIFY(commits.append(f.user.id, "INBOX", message(1)).ok());
    auto bad = commits.append(f.user.id, "NoSuchFolder", message(2));
    QVERIFY(!bad.ok());
    QVERIFY(commits.append(f.user.id, "INBOX", message(3)).ok());
    f.opener->dropCached(f.user.id);
}

QTEST_GUILESS_MAIN(TestGroupCommit)
#include "tst_groupcommit.moc"
