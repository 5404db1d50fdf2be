// SPDX-License-Identifier: AGPL-3.0-or-later
// core::sasl: client responses (RFC 9051 §6.2.2, RFC 4959, RFC 5034 §4) and RFC 4616
// PLAIN, with the RFCs' own examples.
#include "core/sasl.h"

#include <QTest>

using namespace valv::core::sasl;

Q_DECLARE_METATYPE(Response::Kind)

class TestSasl : public QObject {
    Q_OBJECT

private slots:
    void response_data()
    {
        QTest::addColumn<QByteArray>("line");
        QTest::addColumn<Response::Kind>("kind");
        QTest::addColumn<QByteArray>("data");
        using K = Response::Kind;
        // RFC 5034 §7 and RFC 4616 §4: "test\0test\0test".
        QTest::newRow("RFC 5034 example") << QByteArray("dGVzdAB0ZXN0AHRlc3Q=") << K::Data
                                          << QByteArray("test\0test\0test", 14);
        QTest::newRow("surrounding spaces") << QByteArray("  dGVzdA==  ") << K::Data << QByteArray("test");
        QTest::newRow("= is empty (RFC 4959)") << QByteArray("=") << K::Data << QByteArray();
        QTest::newRow("empty line") << QByteArray() << K::Data << QByteArray();
        QTest::newRow("* cancels") << QByteArray("*") << K::Cancelled << QByteArray();
        QTest::newRow("* with spaces") << QByteArray(" * ") << K::Cancelled << QByteArray();
        QTest::newRow("not base64") << QByteArray("not base64!") << K::Invalid << QByteArray();
        QTest::newRow("bad padding") << QByteArray("dGVzdA=") << K::Invalid << QByteArray();
        QTest::newRow("** is not cancel") << QByteArray("**") << K::Invalid << QByteArray();
    }

    void response()
    {
        QFETCH(QByteArray, line);
        QFETCH(Response::Kind, kind);
        QFETCH(QByteArray, data);
        const Response r = decodeResponse(line);
        QCOMPARE(r.kind, kind);
        QCOMPARE(r.data, data);
    }

    void plain_data()
    {
        QTest::addColumn<QByteArray>("decoded");
        QTest::addColumn<bool>("valid");
        QTest::addColumn<QByteArray>("authzid");
        QTest::addColumn<QByteArray>("authcid");
        QTest::addColumn<QByteArray>("password");
        // RFC 4616 §4 examples.
        QTest::newRow("tim") << QByteArray("\0tim\0tanstaaftanstaaf", 21) << true << QByteArray() << QByteArray("tim")
                             << QByteArray("tanstaaftanstaaf");
        QTest::newRow("Ursel as Kurt") << QByteArray("Ursel\0Kurt\0xipj3plmq", 20) << true << QByteArray("Ursel")
                                       << QByteArray("Kurt") << QByteArray("xipj3plmq");
        QTest::newRow("empty password") << QByteArray("\0tim\0", 5) << true << QByteArray() << QByteArray("tim")
                                        << QByteArray();
        QTest::newRow("empty authcid") << QByteArray("\0\0pw", 4) << false << QByteArray() << QByteArray() << QByteArray();
        QTest::newRow("one NUL") << QByteArray("\0tim", 4) << false << QByteArray() << QByteArray() << QByteArray();
        QTest::newRow("three NULs") << QByteArray("\0a\0b\0c", 6) << false << QByteArray() << QByteArray() << QByteArray();
        QTest::newRow("empty") << QByteArray() << false << QByteArray() << QByteArray() << QByteArray();
    }

    void plain()
    {
        QFETCH(QByteArray, decoded);
        QFETCH(bool, valid);
        const auto c = parsePlain(decoded);
        QCOMPARE(c.has_value(), valid);
        if (valid) {
            QFETCH(QByteArray, authzid);
            QFETCH(QByteArray, authcid);
            QFETCH(QByteArray, password);
            QCOMPARE(c->authzid, authzid);
            QCOMPARE(c->authcid, authcid);
            QCOMPARE(c->password, password);
        }
    }
};

QTEST_GUILESS_MAIN(TestSasl)
#include "tst_sasl.moc"
