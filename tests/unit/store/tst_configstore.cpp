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
    void dkimKeysRoundTrip();
    void dkimKeysWrappedAtRest();
    void dkimKeysTampered_data();
    void dkimKeysTampered();
    void mayUseAddress_data();
    void mayUseAddress();

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
    QTest::newRow("forward only") << "fwd@example.test" << QStringList{"fwd:someone@gmail.example"};
    QTest::newRow("local and forward") << "both@example.test"
                                       << QStringList{"alice@example.test", "fwd:Someone@gmail.example"}; // local parts keep their case
    QTest::newRow("subaddress") << "alice+lists@example.test" << QStringList{"alice@example.test"};
    QTest::newRow("subaddress of alias") << "team+x@example.test" << QStringList{"alice@example.test", "bob@example.test"};
    QTest::newRow("subaddress of nobody: catch-all") << "nobody+x@example.test" << QStringList{"bob@example.test"};
    QTest::newRow("subaddress, no catch-all") << "nobody+x@other.test" << QStringList{"NoSuchUser"};
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
    QVERIFY(m_store->addAlias({"fwd@example.test", {"someone@gmail.example"}}).ok());
    QVERIFY(m_store->addAlias({"both@example.test", {"alice@example.test", "Someone@GMAIL.example"}}).ok());
    QStringList tooMany;
    for (int i = 0; i <= kMaxForwardTargets; ++i)
        tooMany << QStringLiteral("t%1@elsewhere.example").arg(i);
    QCOMPARE(m_store->addAlias({"many@example.test", tooMany}).error().code, int(ConfigError::Invalid));

    auto r = m_store->resolve(recipient);
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
    for (const User &u : r->users)
        got << u.address;
    for (const QString &f : r->forward)
        got << QStringLiteral("fwd:") + f;
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

namespace {
DkimKeyRecord dkimRecord(const QString &selector, const QString &algorithm, const QByteArray &pemBody)
{
    // The store keeps the bytes it is given; they need not parse as a key here.
    return {selector, algorithm,
            "-----BEGIN PRIVATE KEY-----\n" + pemBody + "\n-----END PRIVATE KEY-----\n",
            QStringLiteral("v=DKIM1; k=%1; p=%2").arg(algorithm, QString::fromLatin1(pemBody.toBase64()))};
}

std::unique_ptr<Database> rawConfigDb(const QString &dir, const KeyRing &keys)
{
    auto db = Database::open(QDir(dir).filePath("config.db"), keys.configDbKey());
    return db.ok() ? std::move(*db) : nullptr;
}

QByteArray wrappedKey(Database &db, const QString &selector)
{
    Statement st = db.prepare("SELECT private_key FROM dkim_keys WHERE selector = ?");
    st.bindText(1, selector);
    return st.next() ? st.blob(0) : QByteArray();
}
} // namespace

void TestConfigStore::dkimKeysRoundTrip()
{
    const DkimKeyRecord ed = dkimRecord("valv-ed25519", "ed25519", "MC4CAQAwBQYDK2VwBCIEIEd25519SeedBytesForTheTest0000");
    const DkimKeyRecord rsa = dkimRecord("valv-rsa", "rsa", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7");
    QVERIFY(m_store->addDkimKey("example.test", ed).ok());
    QVERIFY(m_store->addDkimKey("Example.TEST", rsa).ok()); // the domain in any case

    auto keys = m_store->dkimKeys("example.test");
    QVERIFY2(keys.ok(), keys.ok() ? "" : qPrintable(keys.error().message));
    QCOMPARE(keys->size(), 2);
    // In the order they were added: the signer puts Ed25519 first (RFC 8463 §1).
    QCOMPARE(keys->at(0).selector, ed.selector);
    QCOMPARE(keys->at(0).algorithm, ed.algorithm);
    QCOMPARE(keys->at(0).privateKeyPem, ed.privateKeyPem);
    QCOMPARE(keys->at(0).publicTxt, ed.publicTxt);
    QCOMPARE(keys->at(1).selector, rsa.selector);
    QCOMPARE(keys->at(1).privateKeyPem, rsa.privateKeyPem);
    QCOMPARE(m_store->dkimKeys("EXAMPLE.test")->size(), 2);

    // Per domain: another domain has none, and may use the same selector names.
    QVERIFY(m_store->addDomain("other.test").ok());
    QCOMPARE(m_store->dkimKeys("other.test")->size(), 0);
    QCOMPARE(m_store->dkimKeys("nowhere.example")->size(), 0);
    const DkimKeyRecord otherEd = dkimRecord("valv-ed25519", "ed25519", "T3RoZXJEb21haW5LZXk=");
    QVERIFY(m_store->addDkimKey("other.test", otherEd).ok());
    QCOMPARE(m_store->dkimKeys("other.test")->first().privateKeyPem, otherEd.privateKeyPem);
    QCOMPARE(m_store->dkimKeys("example.test")->first().privateKeyPem, ed.privateKeyPem);

    // One selector per domain; only local domains.
    QCOMPARE(m_store->addDkimKey("example.test", ed).error().code, int(ConfigError::Exists));
    QCOMPARE(m_store->addDkimKey("nowhere.example", ed).error().code, int(ConfigError::NoSuchDomain));

    // Kept across a restart.
    m_store.reset();
    auto reopened = ConfigStore::open(m_dir->path(), m_keys);
    QVERIFY(reopened.ok());
    m_store = std::move(*reopened);
    keys = m_store->dkimKeys("example.test");
    QVERIFY(keys.ok());
    QCOMPARE(keys->size(), 2);
    QCOMPARE(keys->at(0).privateKeyPem, ed.privateKeyPem);
    QCOMPARE(keys->at(1).privateKeyPem, rsa.privateKeyPem);
    QCOMPARE(keys->at(1).publicTxt, rsa.publicTxt);
}

void TestConfigStore::dkimKeysWrappedAtRest()
{
    // config.db is encrypted as a whole; the private keys are wrapped once more, so a
    // database handle alone (valvctl, a backup restored elsewhere) does not give them.
    const DkimKeyRecord rsa = dkimRecord("valv-rsa", "rsa", "UGxhaW50ZXh0UHJpdmF0ZUtleU1hcmtlcg==");
    QVERIFY(m_store->addDkimKey("example.test", rsa).ok());
    auto db = rawConfigDb(m_dir->path(), m_keys);
    QVERIFY(db);
    const QByteArray stored = wrappedKey(*db, "valv-rsa");
    QVERIFY(!stored.isEmpty());
    QVERIFY(!stored.contains("BEGIN PRIVATE KEY"));
    QVERIFY(!stored.contains("UGxhaW50ZXh0UHJpdmF0ZUtleU1hcmtlcg"));
    QVERIFY(stored.size() > rsa.privateKeyPem.size()); // nonce and tag
    // The same key added for another domain wraps to other bytes.
    QVERIFY(m_store->addDomain("other.test").ok());
    QVERIFY(m_store->addDkimKey("other.test", dkimRecord("valv-rsa2", "rsa", "UGxhaW50ZXh0UHJpdmF0ZUtleU1hcmtlcg==")).ok());
    QVERIFY(wrappedKey(*db, "valv-rsa2") != stored);
}

void TestConfigStore::dkimKeysTampered_data()
{
    QTest::addColumn<QString>("how");
    QTest::newRow("a flipped byte") << "flip";
    QTest::newRow("truncated") << "truncate";
    QTest::newRow("moved to another domain") << "move";
    QTest::newRow("selector renamed") << "rename";
    QTest::newRow("copied from another server's key ring") << "foreign";
    QTest::newRow("another key's wrapped bytes") << "swap";
}

void TestConfigStore::dkimKeysTampered()
{
    // The wrapping binds each key to its domain and selector and to this key ring: a
    // row changed or moved in config.db fails to unwrap (never a wrong key silently).
    QFETCH(QString, how);
    QVERIFY(m_store->addDomain("other.test").ok());
    QVERIFY(m_store->addDkimKey("example.test", dkimRecord("valv-rsa", "rsa", "RXhhbXBsZVRlc3RLZXk=")).ok());
    QVERIFY(m_store->addDkimKey("other.test", dkimRecord("other-rsa", "rsa", "T3RoZXJUZXN0S2V5")).ok());
    QVERIFY(m_store->dkimKeys("example.test").ok());
    auto db = rawConfigDb(m_dir->path(), m_keys);
    QVERIFY(db);
    QString victimDomain = "example.test";
    auto setBlob = [&](const QByteArray &blob) {
        Statement st = db->prepare("UPDATE dkim_keys SET private_key = ? WHERE selector = 'valv-rsa'");
        st.bind(1, blob);
        QVERIFY(st.exec().ok());
    };
    const QByteArray original = wrappedKey(*db, "valv-rsa");
    if (how == "flip") {
        QByteArray b = original;
        b[b.size() / 2] = char(b[b.size() / 2] ^ 0x01);
        setBlob(b);
    } else if (how == "truncate") {
        setBlob(original.left(original.size() - 1));
    } else if (how == "move") {
        QVERIFY(db->exec("UPDATE dkim_keys SET domain_id = (SELECT id FROM domains WHERE name = 'other.test')"
                         " WHERE selector = 'valv-rsa'").ok());
        victimDomain = "other.test";
        QCOMPARE(m_store->dkimKeys("example.test")->size(), 0);
    } else if (how == "rename") {
        QVERIFY(db->exec("UPDATE dkim_keys SET selector = 'valv-rsa-2' WHERE selector = 'valv-rsa'").ok());
    } else if (how == "foreign") {
        // The same domain and selector on another server (another master key).
        QTemporaryDir otherDir;
        const KeyRing otherKeys = KeyRing::fromMasterKey(QByteArray(32, 'f'));
        auto other = ConfigStore::open(otherDir.path(), otherKeys, true);
        QVERIFY(other.ok());
        QVERIFY((*other)->addDomain("example.test").ok());
        QVERIFY((*other)->addDkimKey("example.test", dkimRecord("valv-rsa", "rsa", "Rm9yZWlnbktleQ==")).ok());
        auto otherDb = rawConfigDb(otherDir.path(), otherKeys);
        QVERIFY(otherDb);
        const QByteArray foreign = wrappedKey(*otherDb, "valv-rsa");
        QVERIFY(!foreign.isEmpty());
        setBlob(foreign);
    } else if (how == "swap") {
        setBlob(wrappedKey(*db, "other-rsa"));
    }
    auto keys = m_store->dkimKeys(victimDomain);
    QVERIFY2(!keys.ok(), "a tampered key was returned");
    QCOMPARE(keys.error().code, int(ConfigError::Crypto));
    // Other domains' keys are unaffected.
    if (victimDomain != "other.test" && how != "swap")
        QCOMPARE(m_store->dkimKeys("other.test")->size(), 1);
}

void TestConfigStore::mayUseAddress_data()
{
    QTest::addColumn<QString>("user");
    QTest::addColumn<QString>("address");
    QTest::addColumn<bool>("allowed");
    // Aliases (see mayUseAddress()): sales -> alice, team -> alice+bob, press -> sales,
    // info -> bob, @example.test (catch-all) -> alice; postmaster@example.test -> alice
    // (the domain's first mailbox, automatically).
    QTest::newRow("own address") << "alice@example.test" << "alice@example.test" << true;
    QTest::newRow("own, domain in upper case") << "alice@example.test" << "alice@EXAMPLE.TEST" << true;
    QTest::newRow("own, local part in other case") << "alice@example.test" << "Alice@example.test" << true;
    QTest::newRow("own, surrounding space") << "alice@example.test" << " alice@example.test " << true;
    QTest::newRow("subaddress") << "alice@example.test" << "alice+lists@example.test" << true;
    QTest::newRow("subaddress, domain case") << "alice@example.test" << "alice+x@Example.Test" << true;
    QTest::newRow("subaddress, empty tag") << "alice@example.test" << "alice+@example.test" << true;
    QTest::newRow("subaddress with two +") << "alice@example.test" << "alice+a+b@example.test" << true;
    QTest::newRow("alias to the user") << "alice@example.test" << "sales@example.test" << true;
    QTest::newRow("alias, other case") << "alice@example.test" << "SALES@Example.test" << true;
    QTest::newRow("alias subaddress") << "alice@example.test" << "sales+q3@example.test" << true;
    QTest::newRow("alias of an alias") << "alice@example.test" << "press@example.test" << true;
    QTest::newRow("alias to a group with the user") << "alice@example.test" << "team@example.test" << true;
    QTest::newRow("same group alias, other member") << "bob@example.test" << "team@example.test" << true;
    QTest::newRow("automatic postmaster alias") << "alice@example.test" << "postmaster@example.test" << true;
    QTest::newRow("postmaster, not the first mailbox") << "bob@example.test" << "postmaster@example.test" << false;
    QTest::newRow("alias to someone else") << "alice@example.test" << "info@example.test" << false;
    QTest::newRow("alias to the user, asked by another") << "bob@example.test" << "sales@example.test" << false;
    QTest::newRow("catch-all") << "alice@example.test" << "anything@example.test" << false;
    QTest::newRow("catch-all, subaddress") << "alice@example.test" << "anything+x@example.test" << false;
    QTest::newRow("another user") << "alice@example.test" << "bob@example.test" << false;
    QTest::newRow("another user, domain case") << "alice@example.test" << "bob@EXAMPLE.test" << false;
    QTest::newRow("another user's subaddress") << "alice@example.test" << "bob+alice@example.test" << false;
    QTest::newRow("tag that names the user") << "bob@example.test" << "alice+bob@example.test" << false;
    QTest::newRow("same local part, other local domain") << "alice@example.test" << "alice@other.test" << false;
    QTest::newRow("same local part, remote domain") << "alice@example.test" << "alice@example.com" << false;
    QTest::newRow("user of the other domain") << "carol@other.test" << "carol@other.test" << true;
    QTest::newRow("other domain's user, alias here") << "carol@other.test" << "sales@example.test" << false;
    QTest::newRow("malformed: empty") << "alice@example.test" << "" << false;
    QTest::newRow("malformed: no @") << "alice@example.test" << "alice" << false;
    QTest::newRow("malformed: no domain") << "alice@example.test" << "alice@" << false;
    QTest::newRow("malformed: only @") << "alice@example.test" << "@" << false;
    QTest::newRow("malformed: two @") << "alice@example.test" << "alice@@example.test" << false;
    QTest::newRow("malformed: space inside") << "alice@example.test" << "ali ce@example.test" << false;
    QTest::newRow("malformed: angle brackets") << "alice@example.test" << "<alice@example.test>" << false;
    QTest::newRow("malformed: CRLF") << "alice@example.test" << "alice@example.test\r\nBcc: x@y" << false;
    QTest::newRow("malformed: catch-all source") << "alice@example.test" << "@example.test" << false;
    // A user whose own address holds a '+' (not a subaddress of anyone here).
    QTest::newRow("own address with +") << "dev+ops@example.test" << "dev+ops@example.test" << true;
    QTest::newRow("own address with +, base part") << "dev+ops@example.test" << "dev@example.test" << false;
}

void TestConfigStore::mayUseAddress()
{
    QFETCH(QString, user);
    QFETCH(QString, address);
    QFETCH(bool, allowed);
    QVERIFY(m_store->addDomain("other.test").ok());
    QVERIFY(m_store->addUser("alice@example.test", "h").ok());
    QVERIFY(m_store->addUser("bob@example.test", "h").ok());
    QVERIFY(m_store->addUser("carol@other.test", "h").ok());
    QVERIFY(m_store->addUser("dev+ops@example.test", "h").ok());
    QVERIFY(m_store->addAlias({"sales@example.test", {"alice@example.test"}}).ok());
    QVERIFY(m_store->addAlias({"team@example.test", {"alice@example.test", "bob@example.test"}}).ok());
    QVERIFY(m_store->addAlias({"press@example.test", {"sales@example.test"}}).ok());
    QVERIFY(m_store->addAlias({"info@example.test", {"bob@example.test"}}).ok());
    QVERIFY(m_store->addAlias({"@example.test", {"alice@example.test"}}).ok());
    auto u = m_store->user(user);
    QVERIFY(u.ok());
    auto may = m_store->mayUseAddress(*u, address);
    QVERIFY2(may.ok(), may.ok() ? "" : qPrintable(may.error().message));
    QCOMPARE(*may, allowed);
}

QTEST_GUILESS_MAIN(TestConfigStore)
#include "tst_configstore.moc"
