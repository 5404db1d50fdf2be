// SPDX-License-Identifier: AGPL-3.0-or-later
// ReplyParser: RFC 5321 §4.2 replies (single and multi-line), RFC 3463 enhanced codes,
// split input, and the malformed cases a client must not follow.
#include "outbound/smtpreply.h"

#include <QTest>

using namespace valv::outbound;

namespace {
// "code|enhanced|text" for each reply, "malformed" for a malformed stream.
QStringList parseAll(const QByteArray &input, bool bytewise)
{
    ReplyParser p;
    QStringList out;
    auto drain = [&] {
        while (true) {
            const auto e = p.next();
            if (e.type == ReplyParser::Event::Type::NeedMore)
                return true;
            if (e.type == ReplyParser::Event::Type::Malformed) {
                out << QStringLiteral("malformed");
                return false;
            }
            out << QStringLiteral("%1|%2|%3").arg(e.reply.code).arg(e.reply.enhanced, e.reply.text);
        }
    };
    if (bytewise) {
        for (char c : input) {
            p.feed(QByteArray(1, c));
            if (!drain())
                break;
        }
    } else {
        p.feed(input);
        drain();
    }
    return out;
}
} // namespace

class TestSmtpReply : public QObject {
    Q_OBJECT

private slots:
    void replies_data()
    {
        QTest::addColumn<QByteArray>("input");
        QTest::addColumn<QStringList>("expected");
        QTest::newRow("greeting") << QByteArray("220 mx.b.test ESMTP\r\n") << QStringList{"220||mx.b.test ESMTP"};
        // RFC 5321 Appendix D.1's EHLO answer.
        QTest::newRow("ehlo multiline") << QByteArray("250-foo.com greets bar.com\r\n250-8BITMIME\r\n250-SIZE\r\n250-DSN\r\n250 HELP\r\n")
                                        << QStringList{"250||foo.com greets bar.com 8BITMIME SIZE DSN HELP"};
        QTest::newRow("enhanced") << QByteArray("550 5.1.1 No such user\r\n") << QStringList{"550|5.1.1|No such user"};
        QTest::newRow("enhanced repeated per line")
            << QByteArray("550-5.1.1 The account does not exist.\r\n550 5.1.1 Check the address.\r\n")
            << QStringList{"550|5.1.1|The account does not exist. Check the address."};
        QTest::newRow("code only") << QByteArray("250\r\n") << QStringList{"250||"};
        QTest::newRow("bare LF") << QByteArray("354 go ahead\n") << QStringList{"354||go ahead"};
        QTest::newRow("not an enhanced code") << QByteArray("250 2.0 ok\r\n") << QStringList{"250||2.0 ok"};
        QTest::newRow("two replies") << QByteArray("250 2.1.0 ok\r\n451 4.3.0 later\r\n")
                                     << QStringList{"250|2.1.0|ok", "451|4.3.0|later"};
        QTest::newRow("incomplete") << QByteArray("250-first\r\n250 sec") << QStringList{};
        QTest::newRow("mixed codes") << QByteArray("250-a\r\n251 b\r\n") << QStringList{"malformed"};
        QTest::newRow("no code") << QByteArray("hello\r\n") << QStringList{"malformed"};
        QTest::newRow("code out of range") << QByteArray("199 x\r\n") << QStringList{"malformed"};
        QTest::newRow("bad separator") << QByteArray("250x\r\n") << QStringList{"malformed"};
        QTest::newRow("line too long") << QByteArray("250 " + QByteArray(kMaxReplyLine, 'a') + "\r\n")
                                       << QStringList{"malformed"};
        QByteArray many;
        for (int i = 0; i <= kMaxReplyLines; ++i)
            many += "250-x\r\n";
        QTest::newRow("too many lines") << many << QStringList{"malformed"};
        QTest::newRow("longest line") << QByteArray("250 " + QByteArray(kMaxReplyLine - 4, 'a') + "\r\n")
                                      << QStringList{"250||" + QString(kMaxReplyLine - 4, u'a')};
    }

    void replies()
    {
        QFETCH(QByteArray, input);
        QFETCH(QStringList, expected);
        QCOMPARE(parseAll(input, false), expected);
        QCOMPARE(parseAll(input, true), expected);
    }

    void ehloLinesKeepKeywords()
    {
        ReplyParser p;
        p.feed("250-mx greets you\r\n250-SIZE 1000\r\n250 STARTTLS\r\n");
        const auto e = p.next();
        QCOMPARE(e.type, ReplyParser::Event::Type::Reply);
        QCOMPARE(e.lines, (QStringList{"mx greets you", "SIZE 1000", "STARTTLS"}));
    }

    void toStringQuotesTheReply()
    {
        QCOMPARE((SmtpReply{550, "5.1.1", "No such user"}).toString(), QStringLiteral("550 5.1.1 No such user"));
        QCOMPARE((SmtpReply{0, {}, "Connection refused"}).toString(), QStringLiteral("Connection refused"));
        QVERIFY((SmtpReply{354, {}, {}}).positive());
        QVERIFY((SmtpReply{554, {}, {}}).permanent());
        QVERIFY(!(SmtpReply{421, {}, {}}).permanent() && !(SmtpReply{421, {}, {}}).positive());
    }
};

QTEST_GUILESS_MAIN(TestSmtpReply)
#include "tst_smtpreply.moc"
