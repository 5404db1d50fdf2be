// SPDX-License-Identifier: AGPL-3.0-or-later
// mime::searchText / sortFields: RFC 2047 §8 encoded-word examples, RFC 2045 transfer
// encodings and charsets, the body-size cap, RFC 5256 §2.2 reference fields.
#include "mime/searchtext.h"

#include <QTest>

using namespace valv::mime;

namespace {
QByteArray crlf(QByteArray s) { return s.replace("\n", "\r\n"); }
} // namespace

class TestSearchText : public QObject {
    Q_OBJECT

private slots:
    void headers_data()
    {
        QTest::addColumn<QByteArray>("value");
        QTest::addColumn<QString>("decoded");
        // RFC 2047 §8 examples.
        QTest::newRow("q-ascii") << QByteArray("=?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>")
                                 << QStringLiteral("Keith Moore <moore@cs.utk.edu>");
        QTest::newRow("q-latin1") << QByteArray("=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>")
                                  << QStringLiteral("André Pirard <PIRARD@vm1.ulg.ac.be>");
        QTest::newRow("b-latin1") << QByteArray("=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=")
                                  << QStringLiteral("If you can read this yo");
        QTest::newRow("adjacent words join") << QByteArray("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)")
                                             << QStringLiteral("(ab)");
        QTest::newRow("utf8 raw (RFC 6532)") << QByteArray("Grüße") << QStringLiteral("Grüße");
        QTest::newRow("plain") << QByteArray("Hello world") << QStringLiteral("Hello world");
    }

    void headers()
    {
        QFETCH(QByteArray, value);
        QFETCH(QString, decoded);
        const QByteArray raw = crlf("From: x@example.org\nSubject: " + value + "\n\nbody\n");
        const SearchText t = searchText(raw, SearchParts::Headers);
        QCOMPARE(t.values("subject"), QList<QString>{decoded});
        QVERIFY(t.body.isEmpty());
    }

    void foldedAndRepeated()
    {
        const QByteArray raw = crlf("Received: one\nX-Tag: a\n  b\nreceived: two\n\n");
        const SearchText t = searchText(raw);
        QCOMPARE(t.values("RECEIVED"), (QList<QString>{QStringLiteral("one"), QStringLiteral("two")}));
        QCOMPARE(t.values("x-tag"), QList<QString>{QStringLiteral("a b")});
        QVERIFY(t.values("missing").isEmpty());
    }

    void body_data()
    {
        QTest::addColumn<QByteArray>("raw");
        QTest::addColumn<QStringList>("present");
        QTest::addColumn<QStringList>("absent");
        QTest::newRow("7bit no content-type") << crlf("Subject: a\n\nplain text here\n")
                                              << QStringList{"plain text here"} << QStringList{"Subject"};
        QTest::newRow("qp latin1") << crlf("Content-Type: text/plain; charset=iso-8859-1\n"
                                           "Content-Transfer-Encoding: quoted-printable\n\ncaf=E9 au l=\nait\n")
                                   << QStringList{"café au lait"} << QStringList{"=E9"};
        QTest::newRow("base64 utf-8") << crlf("Content-Type: text/plain; charset=\"UTF-8\"\n"
                                              "Content-Transfer-Encoding: base64\n\n" + QByteArray("Grüße aus Köln").toBase64() + "\n")
                                      << QStringList{"Grüße aus Köln"} << QStringList{};
        QTest::newRow("koi8-r") << crlf("Content-Type: text/plain; charset=koi8-r\n\n\xf0\xd2\xc9\xd7\xc5\xd4\n")
                                << QStringList{"Привет"} << QStringList{};
        QTest::newRow("unknown charset is latin-1") << crlf("Content-Type: text/plain; charset=x-bogus\n\ncaf\xe9\n")
                                                    << QStringList{"café"} << QStringList{};
        QTest::newRow("multipart skips binary parts")
            << crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nfirst part\n"
                    "--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
                    + QByteArray("secretword").toBase64() + "\n--b\nContent-Type: text/html\n\n<p>second</p>\n--b--\n")
            << QStringList{"first part", "<p>second</p>"} << QStringList{"secretword", "c2VjcmV0d29yZA"};
        QTest::newRow("attached message header")
            << crlf("Content-Type: message/rfc822\n\nSubject: =?UTF-8?Q?inner_=C3=A9?=\n\ninner body\n")
            << QStringList{"inner é", "inner body"} << QStringList{};
    }

    void body()
    {
        QFETCH(QByteArray, raw);
        QFETCH(QStringList, present);
        QFETCH(QStringList, absent);
        const SearchText t = searchText(raw);
        for (const QString &p : present)
            QVERIFY2(t.body.contains(p), qPrintable(p + " not in " + t.body));
        for (const QString &a : absent)
            QVERIFY2(!t.body.contains(a), qPrintable(a + " in " + t.body));
        QVERIFY(!t.truncated);
    }

    void cap()
    {
        const QByteArray raw = "Subject: big\r\n\r\n" + QByteArray(10000, 'x');
        const SearchText t = searchText(raw, SearchParts::HeadersAndBody, 100);
        QVERIFY(t.truncated);
        QCOMPARE(t.body.size(), 100);
    }

    void malformedNeverCrashes_data()
    {
        QTest::addColumn<QByteArray>("raw");
        QTest::newRow("empty") << QByteArray();
        QTest::newRow("no header end") << QByteArray("Subject: x");
        QTest::newRow("nul bytes") << QByteArray("Subject: =?utf-8?q?a\0b?=\r\n\r\n\0\0", 30);
        QTest::newRow("bad base64") << crlf("Content-Transfer-Encoding: base64\n\n!!!@@@\n");
        QTest::newRow("unknown cte") << crlf("Content-Transfer-Encoding: x-uuencode\n\nraw text\n");
        QTest::newRow("open encoded word") << crlf("Subject: =?utf-8?b?\n\n");
    }

    void malformedNeverCrashes()
    {
        QFETCH(QByteArray, raw);
        (void)searchText(raw);
        (void)sortFields(raw);
        (void)sentDate(raw);
    }

    void sentDates()
    {
        const auto d = sentDate(crlf("Date: Mon, 7 Feb 1994 21:52:25 -0800\n\n"));
        QVERIFY(d);
        QCOMPARE(d->date(), QDate(1994, 2, 7)); // the written day, not UTC's Feb 8
        QCOMPARE(d->toUTC(), QDateTime(QDate(1994, 2, 8), QTime(5, 52, 25), Qt::UTC));
        QVERIFY(!sentDate(crlf("Date: not a date\n\n")));
        QVERIFY(!sentDate(crlf("Subject: none\n\n")));
    }

    void sortFieldsOf()
    {
        const QByteArray raw = crlf("From: \"=?ISO-8859-1?Q?Andr=E9?=\" <Andre@Example.org>, bob@example.org\n"
                                    "To: undisclosed:;, Zed <zed@example.org>\n"
                                    "Cc: carol@example.org\n"
                                    "Subject: Re: =?UTF-8?Q?caf=C3=A9?=\n"
                                    "Message-ID: <id-3@example.org>\n"
                                    "In-Reply-To: <id-2@example.org>\n"
                                    "References: <id-1@example.org>\n <id-2@example.org> <broken\n\n");
        const SortFields f = sortFields(raw);
        QCOMPARE(f.fromMailbox, QStringLiteral("Andre"));
        QCOMPARE(f.fromDisplay, QStringLiteral("André"));
        QCOMPARE(f.toMailbox, QStringLiteral("zed")); // the group is skipped
        QCOMPARE(f.toDisplay, QStringLiteral("Zed"));
        QCOMPARE(f.ccMailbox, QStringLiteral("carol"));
        QCOMPARE(f.subject, QStringLiteral("Re: café"));
        QCOMPARE(f.messageId, QByteArray("id-3@example.org"));
        QCOMPARE(f.references, (QList<QByteArray>{"id-1@example.org", "id-2@example.org"}));
        QVERIFY(!f.date);

        // No References: the first msg-id of In-Reply-To (RFC 5256 §2.2 step 1).
        const SortFields g = sortFields(crlf("In-Reply-To: <a@x> (comment) <b@x>\n\n"));
        QCOMPARE(g.references, QList<QByteArray>{"a@x"});
        QVERIFY(g.messageId.isEmpty());
        QCOMPARE(sortFields(crlf("Cc: Bob <bob@x>\n\n")).toDisplay, QString());
    }
};

QTEST_GUILESS_MAIN(TestSearchText)
#include "tst_searchtext.moc"
