// SPDX-License-Identifier: AGPL-3.0-or-later
// Modified UTF-7 mailbox names, RFC 3501 §5.1.3 examples and invalid encodings.
#include "imap/imapreceiver.h"

#include <QTest>

using namespace valv::imap;

class TestMailboxUtf7 : public QObject {
    Q_OBJECT
private slots:
    void roundTrip_data();
    void roundTrip();
    void invalid_data();
    void invalid();
};

void TestMailboxUtf7::roundTrip_data()
{
    QTest::addColumn<QByteArray>("encoded");
    QTest::addColumn<QString>("decoded");
    QTest::newRow("ascii") << QByteArray("INBOX/Sent Items") << QStringLiteral("INBOX/Sent Items");
    QTest::newRow("rfc3501 example") << QByteArray("~peter/mail/&U,BTFw-/&ZeVnLIqe-")
                                     << QStringLiteral("~peter/mail/台北/日本語");
    QTest::newRow("ampersand") << QByteArray("Tom &- Jerry") << QStringLiteral("Tom & Jerry");
    QTest::newRow("latin") << QByteArray("Entw&APw-rfe") << QStringLiteral("Entwürfe");
    QTest::newRow("two sections") << QByteArray("&AOk-t&AOk-") << QStringLiteral("été");
    QTest::newRow("surrogate pair") << QByteArray("&2D3eAA-") << QString::fromUtf8("\xF0\x9F\x98\x80");
    QTest::newRow("empty") << QByteArray() << QString();
}

void TestMailboxUtf7::roundTrip()
{
    QFETCH(QByteArray, encoded);
    QFETCH(QString, decoded);
    const auto d = decodeMailboxUtf7(encoded);
    QVERIFY(d.has_value());
    QCOMPARE(*d, decoded);
    QCOMPARE(encodeMailboxUtf7(decoded), encoded);
}

void TestMailboxUtf7::invalid_data()
{
    QTest::addColumn<QByteArray>("encoded");
    QTest::newRow("unterminated") << QByteArray("&AOk");
    QTest::newRow("encoded ascii") << QByteArray("&AGE-");
    QTest::newRow("slash instead of comma") << QByteArray("&U/BTFw-");
    QTest::newRow("adjacent sections") << QByteArray("&AOk-&AOk-");
    QTest::newRow("non-zero padding") << QByteArray("&AOl-");
    QTest::newRow("extra digit") << QByteArray("&AOkA-");
    QTest::newRow("lone high surrogate") << QByteArray("&2D0-");
    QTest::newRow("lone low surrogate") << QByteArray("&3gA-");
    QTest::newRow("8-bit byte") << QByteArray("caf\xc3\xa9");
    QTest::newRow("control char") << QByteArray("a\tb");
    QTest::newRow("bad base64 char") << QByteArray("&A!k-");
}

void TestMailboxUtf7::invalid()
{
    QFETCH(QByteArray, encoded);
    QVERIFY(!decodeMailboxUtf7(encoded).has_value());
}

QTEST_GUILESS_MAIN(TestMailboxUtf7)
#include "tst_mailboxutf7.moc"
