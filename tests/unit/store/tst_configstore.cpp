// SPDX-License-Identifier: AGPL-3.0-or-later
#include "store/configstore.h"
#include "store/crypto.h"
#include "store/database.h"

#include <QDir>
#include <QTemporaryDir>
#include <QTest>

using namespace valv::store;

class TestConfigStore : public QObject {
    Q_OBJECT
private slots:
    void init();
    void domains();
    void users();
    void mailboxKeys();
    void aliasesAndResolution_data();
    void aliasesAndResolution();
    void aliasLoop();
    void postmaster();
    void wrongMasterKey();
    void migratesOlderSchema();
    void auditLog();
    void authenticate();

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    KeyRing m_keys = KeyRing::fromMasterKey(QByteArray(32, 'k'));
    std::unique_ptr<ConfigStore> m_store;
};

void TestConfigStore::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    auto s = ConfigStore::open(m_dir->path(), m_keys, true);
    QVERIFY2(s.ok(), s.ok() ? "" : qPrintable(s.error().message));
    m_store = std::move(*s);
    QVERIFY(m_store->addDomain("example.test").ok());
}

void TestConfigStore::domains()
{
    QVERIFY(m_store->addDomain("Example.ORG").ok());
    auto dup = m_store->addDomain("example.org");
    QVERIFY(!dup.ok());
    QCOMPARE(dup.error().code, int(ConfigError::Exists));
    QVERIFY(!m_store->addDomain("not a domain").ok());
    QVERIFY(!m_store->addDomain("nodot").ok());
    QCOMPARE(*m_store->domains(), (QList<QString>{"example.org", "example.test"}));
    QVERIFY(m_store->isLocalDomain("example.org"));
    QVERIFY(m_store->isLocalDomain("EXAMPLE.org"));
    QVERIFY(!m_store->isLocalDomain("example.com"));
}

void TestConfigStore::users()
{
    auto u = m_store->addUser("Alice@Example.TEST", "$argon2id$x");
    QVERIFY(u.ok());
    QCOMPARE(u->address, QString("Alice@example.test"));
    QCOMPARE(u->id.size(), 24);
    QVERIFY(!m_store->addUser("alice@example.test", "h").ok()); // case-insensitive duplicate
    QCOMPARE(m_store->addUser("bob@nowhere.test", "h").error().code, int(ConfigError::NoSuchDomain));
    QVERIFY(!m_store->addUser("no-at-sign", "h").ok());
    QCOMPARE(m_store->user("alice@EXAMPLE.test")->id, u->id);
    QCOMPARE(m_store->userById(u->id)->address, u->address);
    QVERIFY(m_store->setPassword("alice@example.test", "new").ok());
    QCOMPARE(m_store->user("alice@example.test")->passwordHash, QByteArray("new"));
    QCOMPARE(m_store->setPassword("ghost@example.test", "x").error().code, int(ConfigError::NoSuchUser));
    QCOMPARE(m_store->users()->size(), 1);
    QVERIFY(m_store->removeUser("alice@example.test").ok());
    QCOMPARE(m_store->users()->size(), 0);
    QCOMPARE(m_store->user("alice@example.test").error().code, int(ConfigError::NoSuchUser));
}

void TestConfigStore::mailboxKeys()
{
    auto a = m_store->addUser("a@example.test", "h");
    auto b = m_store->addUser("b@example.test", "h");
    auto ka = m_store->mailboxKey(a->id);
    auto kb = m_store->mailboxKey(b->id);
    QVERIFY(ka.ok() && kb.ok());
    QCOMPARE(ka->size(), 32);
    QVERIFY(*ka != *kb);
    QCOMPARE(*m_store->mailboxKey(a->id), *ka); // stable across calls
    QVERIFY(!m_store->mailboxKey("nope").ok());
}

void TestConfigStore::aliasesAndResolution_data()
{
    QTest::addColumn<QString>("recipient");
    QTest::addColumn<QStringList>("expected"); // addresses, or an error name
    QTest::newRow("user") << "alice@example.test" << QStringList{"alice@example.test"};
    QTest::newRow("user, other case") << "ALICE@EXAMPLE.TEST" << QStringList{"alice@example.test"};
    QTest::newRow("alias to two") << "team@example.test" << QStringList{"alice@example.test", "bob@example.test"};
    QTest::newRow("alias of alias") << "sales@example.test" << QStringList{"alice@example.test", "bob@example.test"};
    QTest::newRow("catch-all") << "anything@example.test" << QStringList{"bob@example.test"};
    QTest::newRow("other domain") << "alice@example.com" << QStringList{"NotLocal"};
    QTest::newRow("no catch-all there") << "x@other.test" << QStringList{"NoSuchUser"};
    QTest::newRow("malformed") << "alice" << QStringList{"Invalid"};
}

void TestConfigStore::aliasesAndResolution()
{
    QFETCH(QString, recipient);
    QFETCH(QStringList, expected);
    QVERIFY(m_store->addDomain("other.test").ok());
    QVERIFY(m_store->addUser("alice@example.test", "h").ok());
    QVERIFY(m_store->addUser("bob@example.test", "h").ok());
    QVERIFY(m_store->addAlias({"team@example.test", {"alice@example.test", "bob@example.test"}}).ok());
    QVERIFY(m_store->addAlias({"sales@example.test", {"team@example.test"}}).ok());
    QVERIFY(m_store->addAlias({"@example.test", {"bob@example.test"}}).ok());
    QCOMPARE(m_store->addAlias({"alice@example.test", {"bob@example.test"}}).error().code, int(ConfigError::Exists));
    QCOMPARE(m_store->addAlias({"fwd@example.test", {"someone@gmail.example"}}).error().code, int(ConfigError::NotLocal));

    auto r = m_store->resolveRecipient(recipient);
    if (expected.first() == "NotLocal" || expected.first() == "NoSuchUser" || expected.first() == "Invalid") {
        QVERIFY(!r.ok());
        const int code = expected.first() == "NotLocal" ? int(ConfigError::NotLocal)
            : expected.first() == "Invalid"             ? int(ConfigError::Invalid)
                                                        : int(ConfigError::NoSuchUser);
        QCOMPARE(r.error().code, code);
        return;
    }
    QVERIFY2(r.ok(), r.ok() ? "" : qPrintable(r.error().message));
    QStringList got;
    for (const User &u : *r)
        got << u.address;
    got.sort();
    QCOMPARE(got, expected);
}

void TestConfigStore::aliasLoop()
{
    QVERIFY(m_store->addUser("x@example.test", "h").ok());
    QVERIFY(m_store->addAlias({"a@example.test", {"b@example.test"}}).ok());
    QVERIFY(m_store->addAlias({"b@example.test", {"a@example.test"}}).ok());
    auto r = m_store->resolveRecipient("a@example.test");
    QVERIFY(!r.ok());
    QCOMPARE(r.error().code, int(ConfigError::Loop));
    QVERIFY(m_store->removeAlias("b@example.test").ok());
    QVERIFY(!m_store->removeAlias("b@example.test").ok());
}

void TestConfigStore::postmaster()
{
    // RFC 5321 §4.5.1: the first mailbox of a domain receives its postmaster mail...
    QVERIFY(m_store->resolveRecipient("postmaster@example.test").error().code == int(ConfigError::NoSuchUser));
    QVERIFY(m_store->addUser("first@example.test", "h").ok());
    QVERIFY(m_store->addUser("second@example.test", "h").ok());
    QCOMPARE(m_store->resolveRecipient("Postmaster@example.test")->first().address, QString("first@example.test"));
    // ...until a real postmaster mailbox exists.
    QVERIFY(m_store->addUser("postmaster@example.test", "h").ok());
    QCOMPARE(m_store->resolveRecipient("postmaster@example.test")->first().address, QString("postmaster@example.test"));
    QCOMPARE(m_store->aliases()->size(), 0);
}

void TestConfigStore::wrongMasterKey()
{
    m_store.reset();
    auto other = ConfigStore::open(m_dir->path(), KeyRing::fromMasterKey(QByteArray(32, 'x')));
    QVERIFY(!other.ok());
    QCOMPARE(other.error().code, int(DbError::WrongKey));
    // And the right key still opens it: a failed open must not damage the file.
    QVERIFY(ConfigStore::open(m_dir->path(), m_keys).ok());
}

void TestConfigStore::migratesOlderSchema()
{
    // Build a version-1 database by hand, with data in it, then open it with the current code.
    QTemporaryDir dir;
    {
        auto db = Database::open(QDir(dir.path()).filePath("config.db"), m_keys.configDbKey());
        QVERIFY(db.ok());
        QCOMPARE(*(*db)->migrate(ConfigStore::migrations().mid(0, 1)), 1);
        QVERIFY((*db)->exec("INSERT INTO domains(name, created) VALUES('old.test', 1)").ok());
    }
    auto s = ConfigStore::open(dir.path(), m_keys);
    QVERIFY2(s.ok(), s.ok() ? "" : qPrintable(s.error().message));
    QCOMPARE(*(*s)->domains(), QList<QString>{"old.test"});
    (*s)->audit("test", "after-migration", "works");
    QCOMPARE((*s)->auditLog()->size(), 1);
}

void TestConfigStore::auditLog()
{
    m_store->audit("tester", "user add", "a@example.test");
    m_store->audit("tester", "user del", "a@example.test");
    auto log = m_store->auditLog(10);
    QCOMPARE(log->size(), 2);
    QCOMPARE(log->first().action, QString("user del")); // newest first
    QCOMPARE(log->first().actor, QString("tester"));
}

void TestConfigStore::authenticate()
{
    QVERIFY(m_store->addUser("login@example.test", *hashPassword("right horse battery")).ok());
    auto good = m_store->authenticate("login@example.test", "right horse battery");
    QVERIFY(good.ok());
    QCOMPARE(good->address, QStringLiteral("login@example.test"));
    auto wrong = m_store->authenticate("login@example.test", "wrong horse battery");
    QCOMPARE(wrong.error().code, int(ConfigError::BadCredentials));
    auto unknown = m_store->authenticate("nobody@example.test", "right horse battery");
    QCOMPARE(unknown.error().code, int(ConfigError::BadCredentials)); // the same answer
    QCOMPARE(unknown.error().message, wrong.error().message);
}

QTEST_GUILESS_MAIN(TestConfigStore)
#include "tst_configstore.moc"
