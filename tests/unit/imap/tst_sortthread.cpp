// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 5256: §2.1 base subject, §3 SORT (criteria, REVERSE, sequence-number tie-break),
// §2.2 THREAD=ORDEREDSUBJECT and THREAD=REFERENCES, §4 the thread response form
// ("(2)(3 6 (4 23)(44 7 96))" built from the RFC's own description), RFC 5957 DISPLAY*.
#include "imap/sortthread.h"

#include <QTest>

using namespace valv;
using namespace valv::imap;

namespace {

QDateTime at(int day, int hour = 0) { return QDateTime(QDate(2024, 3, day), QTime(hour, 0), Qt::UTC); }

SortItem item(uint32_t n, const QString &subject, std::optional<QDateTime> date, const QByteArray &id = {},
              const QList<QByteArray> &refs = {})
{
    SortItem it;
    it.number = n;
    it.internalDate = at(28);
    it.fields.subject = subject;
    it.fields.date = date;
    it.fields.messageId = id;
    it.fields.references = refs;
    return it;
}

QString joined(const QList<uint32_t> &v)
{
    QStringList out;
    for (uint32_t n : v)
        out << QString::number(n);
    return out.join(u' ');
}

} // namespace

Q_DECLARE_METATYPE(QList<valv::imap::SortItem>)

class TestSortThread : public QObject {
    Q_OBJECT

private slots:
    void baseSubjects_data()
    {
        QTest::addColumn<QString>("subject");
        QTest::addColumn<QString>("base");
        QTest::addColumn<bool>("reply");
        QTest::newRow("plain") << "Hello" << "Hello" << false;
        QTest::newRow("re") << "Re: Hello" << "Hello" << true;
        QTest::newRow("stacked leaders") << "RE: [list] Re: Fwd: Hello (fwd)" << "Hello" << true;
        QTest::newRow("fw and fwd") << "Fw: FWD: x" << "x" << true;
        QTest::newRow("re with blob") << "Re[2]: x" << "x" << true;
        QTest::newRow("blob only prefix") << "[PATCH] fix it" << "fix it" << false;
        QTest::newRow("blob would leave nothing") << "[PATCH]" << "[PATCH]" << false;
        QTest::newRow("fwd wrapper") << "[Fwd: Re: Meeting]" << "Meeting" << true;
        QTest::newRow("whitespace") << "Re:\t  spaced   out  " << "spaced out" << true;
        QTest::newRow("trailer only") << "news (fwd)" << "news" << true;
        QTest::newRow("no colon") << "Rebooting" << "Rebooting" << false;
        QTest::newRow("empty") << "" << "" << false;
        QTest::newRow("only leaders") << "Re: re:" << "" << true;
    }

    void baseSubjects()
    {
        QFETCH(QString, subject);
        QFETCH(QString, base);
        QFETCH(bool, reply);
        const BaseSubject b = baseSubject(subject);
        QCOMPARE(b.text, base);
        QCOMPARE(b.replyOrForward, reply);
    }

    void criteria()
    {
        const auto c = sortCriteria({"REVERSE", "DATE", "SUBJECT"});
        QVERIFY(c);
        QCOMPARE(c->size(), 2);
        QVERIFY(c->at(0).reverse && c->at(0).key == SortKey::Date);
        QVERIFY(!c->at(1).reverse && c->at(1).key == SortKey::Subject);
        QVERIFY(!sortCriteria({"REVERSE"}));
        QVERIFY(!sortCriteria({"REVERSE", "REVERSE", "DATE"}));
        QVERIFY(!sortCriteria({}));
        QVERIFY(!sortCriteria({"COLOR"}));
        QVERIFY(!needsHeaders(*sortCriteria({"ARRIVAL", "REVERSE", "SIZE"})));
        QVERIFY(needsHeaders(*sortCriteria({"SIZE", "CC"})));
    }

    void sort_data()
    {
        QTest::addColumn<QList<QByteArray>>("criteria");
        QTest::addColumn<QString>("expected");
        QTest::newRow("SIZE") << QList<QByteArray>{"SIZE"} << "20 30 10";
        QTest::newRow("REVERSE SIZE") << QList<QByteArray>{"REVERSE", "SIZE"} << "10 30 20";
        QTest::newRow("ARRIVAL") << QList<QByteArray>{"ARRIVAL"} << "20 10 30";
        QTest::newRow("DATE (fallback to internal)") << QList<QByteArray>{"DATE"} << "30 10 20";
        QTest::newRow("FROM casemap") << QList<QByteArray>{"FROM"} << "20 30 10";
        QTest::newRow("TO") << QList<QByteArray>{"TO"} << "20 10 30";
        QTest::newRow("CC empty first, ties by number") << QList<QByteArray>{"CC"} << "10 30 20";
        QTest::newRow("SUBJECT ties in mailbox order") << QList<QByteArray>{"SUBJECT"} << "20 10 30";
        QTest::newRow("REVERSE SUBJECT keeps tie order") << QList<QByteArray>{"REVERSE", "SUBJECT"} << "10 30 20";
        QTest::newRow("SUBJECT REVERSE SIZE") << QList<QByteArray>{"SUBJECT", "REVERSE", "SIZE"} << "20 10 30";
        QTest::newRow("SUBJECT SIZE") << QList<QByteArray>{"SUBJECT", "SIZE"} << "20 30 10";
        QTest::newRow("DISPLAYFROM") << QList<QByteArray>{"DISPLAYFROM"} << "30 10 20";
        QTest::newRow("DISPLAYTO") << QList<QByteArray>{"DISPLAYTO"} << "20 10 30";
    }

    void sort()
    {
        QFETCH(QList<QByteArray>, criteria);
        QFETCH(QString, expected);
        QList<SortItem> items;
        SortItem a = item(10, QStringLiteral("Re: beta"), at(2));
        a.size = 300;
        a.internalDate = at(3);
        a.fields.fromMailbox = QStringLiteral("carol");
        a.fields.fromDisplay = QStringLiteral("Carol Z");
        a.fields.toMailbox = QStringLiteral("x");
        a.fields.toDisplay = QStringLiteral("x@example.org");
        SortItem b = item(20, QStringLiteral("alpha"), std::nullopt);
        b.size = 100;
        b.fields.fromMailbox = QStringLiteral("Alice");
        b.fields.fromDisplay = QStringLiteral("Dora");
        b.fields.toMailbox = QStringLiteral("bob");
        b.fields.toDisplay = QStringLiteral("Bob");
        b.fields.ccMailbox = QStringLiteral("zed");
        SortItem c = item(30, QStringLiteral("BETA"), at(1));
        c.size = 200;
        c.internalDate = at(3, 1);
        c.fields.fromMailbox = QStringLiteral("bob");
        c.fields.fromDisplay = QStringLiteral("andy");
        c.fields.toMailbox = QStringLiteral("y");
        c.fields.toDisplay = QStringLiteral("y");
        b.internalDate = at(1, 2); // earliest arrival
        b.fields.date = at(4);     // latest sent date
        items << a << b << c;
        const auto crit = sortCriteria(criteria);
        QVERIFY(crit);
        QCOMPARE(joined(sortItems(items, *crit)), expected);
    }

    void dateFallback()
    {
        // RFC 5256 §2.2: no Date: -> INTERNALDATE.
        SortItem x = item(1, QString(), std::nullopt);
        x.internalDate = at(5);
        SortItem y = item(2, QString(), at(6));
        SortItem z = item(3, QString(), std::nullopt);
        z.internalDate = at(4);
        QCOMPARE(joined(sortItems({x, y, z}, *sortCriteria({"DATE"}))), QStringLiteral("3 1 2"));
    }

    void thread_data()
    {
        QTest::addColumn<QList<SortItem>>("items");
        QTest::addColumn<int>("algorithm");
        QTest::addColumn<QByteArray>("expected");
        const int refs = int(ThreadAlgorithm::References);
        const int ordered = int(ThreadAlgorithm::OrderedSubject);

        // RFC 5256 §4: "(2)(3 6 (4 23)(44 7 96))": 2 alone; 3 with reply 6, which has
        // replies 4 (with reply 23) and 44 (with reply 7, with reply 96).
        const QList<SortItem> rfc = {
            item(2, "Lunch", at(1), "m2"),
            item(3, "Plans", at(2), "m3"),
            item(4, "Re: Plans", at(4), "m4", {"m3", "m6"}),
            item(6, "Re: Plans", at(3), "m6", {"m3"}),
            item(7, "Re: Plans", at(7), "m7", {"m3", "m6", "m44"}),
            item(23, "Re: Plans", at(5), "m23", {"m3", "m6", "m4"}),
            item(44, "Re: Plans", at(6), "m44", {"m3", "m6"}),
            item(96, "Re: Plans", at(8), "m96", {"m3", "m6", "m44", "m7"}),
        };
        QTest::newRow("rfc5256 example") << rfc << refs << QByteArray("(2)(3 6 (4 23)(44 7 96))");
        QTest::newRow("rfc5256 example, ordered") << rfc << ordered
                                                  << QByteArray("(2)(3 (6)(4)(23)(44)(7)(96))");
        // References to messages not in the result make dummies (step 1, step 3).
        QTest::newRow("dummy kept at top with two children")
            << QList<SortItem>{item(1, "a", at(1), "x1", {"gone"}), item(2, "b", at(2), "x2", {"gone"})} << refs
            << QByteArray("((1)(2))");
        QTest::newRow("dummy with one child promoted")
            << QList<SortItem>{item(1, "a", at(1), "x1", {"gone"}), item(2, "b", at(2), "x2")} << refs
            << QByteArray("(1)(2)");
        QTest::newRow("dummy inside a thread spliced")
            << QList<SortItem>{item(1, "a", at(1), "r"), item(2, "b", at(2), "x2", {"r", "gone"})} << refs
            << QByteArray("(1 2)");
        // Step 5: subjects gather threads.
        QTest::newRow("reply joins by subject")
            << QList<SortItem>{item(1, "Plans", at(1), "p1"), item(2, "Re: Plans", at(2), "p2")} << refs
            << QByteArray("(1 2)");
        QTest::newRow("same subject, neither a reply: dummy")
            << QList<SortItem>{item(1, "Plans", at(1), "p1"), item(2, "plans", at(2), "p2")} << refs
            << QByteArray("((1)(2))");
        QTest::newRow("reply first in mailbox order")
            << QList<SortItem>{item(1, "Re: Plans", at(2), "p2"), item(2, "Plans", at(1), "p1")} << refs
            << QByteArray("(2 1)");
        QTest::newRow("empty subjects never merge")
            << QList<SortItem>{item(1, "", at(1), "e1"), item(2, "Re:", at(2), "e2")} << refs << QByteArray("(1)(2)");
        // Step 1: duplicates and loops.
        QTest::newRow("duplicate message-id")
            << QList<SortItem>{item(1, "a", at(1), "same"), item(2, "b", at(2), "same"), item(3, "c", at(3), "c", {"same"})}
            << refs << QByteArray("(1 3)(2)");
        QTest::newRow("reference loop")
            << QList<SortItem>{item(1, "a", at(1), "a", {"b"}), item(2, "b", at(2), "b", {"a"})} << refs
            << QByteArray("(2 1)");
        QTest::newRow("self reference") << QList<SortItem>{item(1, "a", at(1), "a", {"a"})} << refs << QByteArray("(1)");
        QTest::newRow("existing links kept (1A)")
            << QList<SortItem>{item(1, "x", at(1), "p"), item(2, "y", at(2), "q"), item(3, "z", at(3), "c", {"p"}),
                               item(4, "w", at(4), "d", {"q", "c"})}
            << refs << QByteArray("(1 3 4)(2)");
        QTest::newRow("own references override (1B)")
            << QList<SortItem>{item(1, "x", at(1), "p"), item(2, "y", at(2), "q"), item(3, "w", at(3), "d", {"q", "c"}),
                               item(4, "z", at(4), "c", {"p"})}
            << refs << QByteArray("(1 4 3)(2)");
        // ORDEREDSUBJECT (§2.2): threads by base subject, each sorted by sent date,
        // threads ordered by their first message.
        QTest::newRow("ordered subject")
            << QList<SortItem>{item(1, "b", at(5)), item(2, "Re: a", at(3)), item(3, "a", at(2)), item(4, "B", at(1)),
                               item(5, "c", at(4))}
            << ordered << QByteArray("(4 1)(3 2)(5)");
        QTest::newRow("empty") << QList<SortItem>{} << refs << QByteArray();
    }

    void thread()
    {
        QFETCH(QList<SortItem>, items);
        QFETCH(int, algorithm);
        QFETCH(QByteArray, expected);
        QCOMPARE(threadItems(items, ThreadAlgorithm(algorithm)), expected);
    }

    void algorithms()
    {
        QCOMPARE(threadAlgorithm("references"), ThreadAlgorithm::References);
        QCOMPARE(threadAlgorithm("ORDEREDSUBJECT"), ThreadAlgorithm::OrderedSubject);
        QVERIFY(!threadAlgorithm("REFS"));
    }

    // A reply chain far deeper than any stack allows recursion for.
    void deepChain()
    {
        QList<SortItem> items;
        const int n = 20000;
        for (int i = 1; i <= n; ++i) {
            QList<QByteArray> refs;
            if (i > 1)
                refs << "id" + QByteArray::number(i - 1);
            items << item(uint32_t(i), "Re: deep", at(1).addSecs(i), "id" + QByteArray::number(i), refs);
        }
        const QByteArray out = threadItems(items, ThreadAlgorithm::References);
        QVERIFY(out.startsWith("(1 2 3 4 "));
        QVERIFY(out.endsWith(" 19999 20000)"));
        QCOMPARE(out.count('('), 1);
        const QByteArray flat = threadItems(items, ThreadAlgorithm::OrderedSubject);
        QVERIFY(flat.startsWith("(1 (2)(3)"));
    }
};

QTEST_GUILESS_MAIN(TestSortThread)
#include "tst_sortthread.moc"
