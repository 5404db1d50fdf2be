// SPDX-License-Identifier: AGPL-3.0-or-later
#include "store/crypto.h"
#include "store/keyring.h"

#include <QTemporaryDir>
#include <QTest>

using namespace valv::store;

class TestCrypto : public QObject {
    Q_OBJECT
private slots:
    void hkdf_rfc5869_data();
    void hkdf_rfc5869();
    void wrapRoundTrip();
    void unwrapFailures_data();
    void unwrapFailures();
    void argon2id();
    void randomPassword();
    void keyRingFiles();
};

void TestCrypto::hkdf_rfc5869_data()
{
    QTest::addColumn<QByteArray>("ikm");
    QTest::addColumn<QByteArray>("salt");
    QTest::addColumn<QByteArray>("info");
    QTest::addColumn<int>("length");
    QTest::addColumn<QByteArray>("okm");
    // RFC 5869 Appendix A.1 and A.3.
    QTest::newRow("A.1") << QByteArray::fromHex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b")
                         << QByteArray::fromHex("000102030405060708090a0b0c") << QByteArray::fromHex("f0f1f2f3f4f5f6f7f8f9")
                         << 42
                         << QByteArray::fromHex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
    QTest::newRow("A.3") << QByteArray::fromHex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b") << QByteArray()
                         << QByteArray() << 42
                         << QByteArray::fromHex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

void TestCrypto::hkdf_rfc5869()
{
    QFETCH(QByteArray, ikm);
    QFETCH(QByteArray, salt);
    QFETCH(QByteArray, info);
    QFETCH(int, length);
    QFETCH(QByteArray, okm);
    QCOMPARE(hkdfSha256(ikm, salt, info, length).toHex(), okm.toHex());
}

void TestCrypto::wrapRoundTrip()
{
    const QByteArray kek = randomBytes(32);
    const QByteArray key = randomBytes(32);
    auto wrapped = wrapKey(kek, key, "user-1");
    QVERIFY(wrapped.ok());
    QVERIFY(!wrapped->contains(key));
    QCOMPARE(wrapped->size(), 1 + 12 + 32 + 16);
    auto unwrapped = unwrapKey(kek, *wrapped, "user-1");
    QVERIFY(unwrapped.ok());
    QCOMPARE(*unwrapped, key);
    // Fresh nonce each time: the same key wraps differently.
    QVERIFY(*wrapKey(kek, key, "user-1") != *wrapped);
}

void TestCrypto::unwrapFailures_data()
{
    QTest::addColumn<int>("mutation");
    QTest::newRow("wrong kek") << 0;
    QTest::newRow("wrong aad (blob moved to another user)") << 1;
    QTest::newRow("flipped ciphertext bit") << 2;
    QTest::newRow("flipped tag bit") << 3;
    QTest::newRow("truncated") << 4;
    QTest::newRow("unknown version") << 5;
}

void TestCrypto::unwrapFailures()
{
    QFETCH(int, mutation);
    QByteArray kek = randomBytes(32);
    QByteArray aad = "user-1";
    QByteArray blob = *wrapKey(kek, randomBytes(32), aad);
    switch (mutation) {
    case 0: kek = randomBytes(32); break;
    case 1: aad = "user-2"; break;
    case 2: blob[20] = char(blob[20] ^ 1); break;
    case 3: blob[blob.size() - 1] = char(blob[blob.size() - 1] ^ 1); break;
    case 4: blob.chop(1); break;
    case 5: blob[0] = 9; break;
    }
    QVERIFY(!unwrapKey(kek, blob, aad).ok());
}

void TestCrypto::argon2id()
{
    auto h = hashPassword("correct horse", Argon2Params{1, 1024, 1});
    QVERIFY(h.ok());
    QVERIFY2(h->startsWith("$argon2id$v=19$m=1024,t=1,p=1$"), h->constData());
    QVERIFY(verifyPassword(*h, "correct horse"));
    QVERIFY(!verifyPassword(*h, "correct horsE"));
    QVERIFY(!verifyPassword(*h, ""));
    QVERIFY(!verifyPassword("$2y$10$notargon", "correct horse"));
    QVERIFY(!verifyPassword("", ""));
    // The default parameters are the ones we ship.
    auto d = hashPassword("x");
    QVERIFY(d->startsWith("$argon2id$v=19$m=19456,t=2,p=1$"));
}

void TestCrypto::randomPassword()
{
    const QByteArray a = valv::store::randomPassword(20);
    QCOMPARE(a.size(), 20);
    QVERIFY(a != valv::store::randomPassword(20));
    for (char c : a)
        QVERIFY(QByteArray("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789").contains(c));
}

void TestCrypto::keyRingFiles()
{
    QTemporaryDir dir;
    auto created = KeyRing::create(dir.path());
    QVERIFY(created.ok());
    QVERIFY(!KeyRing::create(dir.path()).ok()); // never overwrites a master key
    QFile f(KeyRing::masterKeyPath(dir.path()));
    QCOMPARE(f.permissions() & (QFileDevice::ReadGroup | QFileDevice::ReadOther), QFileDevice::Permissions());
    auto loaded = KeyRing::load(dir.path());
    QVERIFY(loaded.ok());
    QCOMPARE(loaded->configDbKey(), created->configDbKey());
    QVERIFY(loaded->configDbKey() != loaded->mailboxWrapKey());
    QVERIFY(!KeyRing::load(dir.path() + "/nope").ok());
}

QTEST_GUILESS_MAIN(TestCrypto)
#include "tst_crypto.moc"
