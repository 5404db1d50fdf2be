// SPDX-License-Identifier: AGPL-3.0-or-later
// ImapReceiver framing: every row is fed whole, split in two at every byte, and one byte
// at a time, and must give the same events. A small "client" reacts to IDLE and
// AUTHENTICATE the way a session would, so mode switches are exercised too.
#include "imapdump.h"

#include <QTest>

using namespace valv::imap;
using namespace valv::imap::test;

namespace {

class Driver {
public:
    explicit Driver(ReceiverLimits limits) : m_rx(limits) {}

    void feed(const QByteArray &bytes)
    {
        m_rx.feed(bytes);
        drain();
    }
    QStringList events() const { return m_events; }
    ImapReceiver &receiver() { return m_rx; }

private:
    void drain()
    {
        for (int guard = 0; guard < 100000; ++guard) {
            ReceiverEvent ev = m_rx.next();
            const QString tag = ev.tag.isEmpty() ? QStringLiteral("-") : QString::fromUtf8(ev.tag);
            switch (ev.type) {
            case ReceiverEvent::Type::NeedMore:
                return;
            case ReceiverEvent::Type::Continuation:
                m_events << QStringLiteral("+ ") + tag;
                break;
            case ReceiverEvent::Type::TooBigLiteral:
                m_events << QStringLiteral("TOOBIG %1 %2").arg(tag, ev.text);
                break;
            case ReceiverEvent::Type::Error:
                m_events << QStringLiteral("ERR %1 %2%3%4")
                                .arg(tag, ev.text, ev.fatal ? QStringLiteral(" FATAL") : QString(),
                                     ev.unknownCommand ? QStringLiteral(" UNKNOWN") : QString());
                break;
            case ReceiverEvent::Type::Command:
                m_events << QStringLiteral("CMD %1 %2").arg(tag, dump(ev.command));
                react(ev.command);
                break;
            }
        }
        QFAIL("receiver never returned NeedMore");
    }
    void react(const Command &c)
    {
        if (c.name == CommandName::Idle)
            m_rx.setIdleMode(true);
        else if (c.name == CommandName::Done)
            m_rx.setIdleMode(false);
        else if (c.name == CommandName::Authenticate && !c.tag.isEmpty() && !c.saslInitialResponse)
            m_rx.setSaslMode(true);
        else if (c.name == CommandName::Authenticate && c.tag.isEmpty())
            m_rx.setSaslMode(false);
    }

    ImapReceiver m_rx;
    QStringList m_events;
};

QByteArray rfcMessage()
{
    // RFC 3501 §6.3.11 / RFC 9051 §6.3.12 APPEND example message (310 octets).
    return "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n"
           "From: Fred Foobar <foobar@Blurdybloop.COM>\r\n"
           "Subject: afternoon meeting\r\n"
           "To: mooch@owatagu.siam.edu\r\n"
           "Message-Id: <B27397-0100000@Blurdybloop.COM>\r\n"
           "MIME-Version: 1.0\r\n"
           "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
           "\r\n"
           "Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n";
}

ReceiverLimits limits(qsizetype line, qsizetype literal, qsizetype command = 1 << 20, int nesting = 64)
{
    ReceiverLimits l;
    l.maxLineLength = line;
    l.maxLiteralSize = literal;
    l.maxCommandSize = command;
    l.maxNesting = nesting;
    return l;
}

} // namespace

Q_DECLARE_METATYPE(ReceiverLimits)

class TestImapReceiver : public QObject {
    Q_OBJECT
private slots:
    void framing_data();
    void framing();
    void startTlsLeavesBytesBuffered();
    void clearDropsEverything();
    void hugeLiteralAnnouncementAllocatesNothing();
};

void TestImapReceiver::framing_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<QStringList>("expected");
    QTest::addColumn<ReceiverLimits>("lim");

    const ReceiverLimits def = limits(1024, 4096);
    auto row = [](const char *name, const QByteArray &input, const QStringList &expected, ReceiverLimits l) {
        QTest::newRow(name) << input << expected << l;
    };

    row("simple", "a1 NOOP\r\n", {"CMD a1 NOOP"}, def);
    row("bare lf", "a1 NOOP\na2 CAPABILITY\n", {"CMD a1 NOOP", "CMD a2 CAPABILITY"}, def);
    row("empty lines ignored", "\r\n\r\na NOOP\r\n\n", {"CMD a NOOP"}, def);
    row("partial line waits", "a NOOP\r\nb NO", {"CMD a NOOP"}, def);
    const QByteArray msg = rfcMessage();
    row("rfc append", "A003 APPEND saved-messages (\\Seen) {" + QByteArray::number(msg.size()) + "}\r\n" + msg + "\r\n",
        {"+ A003", "CMD A003 APPEND mailbox=saved-messages flags=[\\Seen] message=310:Date: Mon, 7 Feb"}, def);
    row("login literals", "a001 LOGIN {11}\r\nFRED FOOBAR {7}\r\nfat man\r\n",
        {"+ a001", "+ a001", "CMD a001 LOGIN user=FRED FOOBAR pass=fat man"}, def);
    row("literal+ no continuation", "a LOGIN {4+}\r\nfred {3+}\r\npw!\r\n", {"CMD a LOGIN user=fred pass=pw!"}, def);
    row("literal data is opaque", "a APPEND INBOX {7}\r\nx {5}\r\n\r\nb NOOP\r\n",
        {"+ a", "CMD a APPEND mailbox=INBOX message=7:x {5}\r\n", "CMD b NOOP"}, def);
    row("zero literals", "a LOGIN {0}\r\n {0+}\r\n\r\n", {"+ a", "CMD a LOGIN user= pass="}, def);
    row("literal8", "a APPEND INBOX ~{3}\r\nabc\r\n", {"+ a", "CMD a APPEND mailbox=INBOX message=3:abc binary"}, def);
    row("too big sync literal", "a APPEND INBOX {101}\r\nz NOOP\r\n",
        {"TOOBIG a [TOOBIG] literal exceeds the limit of 100 bytes", "CMD z NOOP"}, limits(64, 100));
    row("too big sync literal saturating", "a APPEND INBOX {99999999999999999999999999}\r\nz NOOP\r\n",
        {"TOOBIG a [TOOBIG] literal exceeds the limit of 100 bytes", "CMD z NOOP"}, limits(64, 100));
    row("too big literal+ swallowed", "a APPEND INBOX {20+}\r\nb NOOP\r\nc NOOP\r\nd N more\r\nz NOOP\r\n",
        {"ERR a [TOOBIG] literal exceeds the limit of 10 bytes", "CMD z NOOP"}, limits(64, 10));
    row("too big literal+ fatal", "a APPEND INBOX {41+}\r\nz NOOP\r\n",
        {"ERR a [TOOBIG] literal exceeds the limit of 10 bytes",
         "ERR a [TOOBIG] non-synchronizing literal too large to skip; closing FATAL"}, limits(64, 10));
    row("command too big", "a LOGIN {60}\r\n" + QByteArray(60, 'u') + " {60}\r\nz NOOP\r\n",
        {"+ a", "TOOBIG a [TOOBIG] literal exceeds the limit of 100 bytes", "CMD z NOOP"}, limits(64, 100, 120));
    row("line too long", "a NOOP " + QByteArray(40, 'x') + "\r\nz NOOP\r\n", {"ERR a line too long", "CMD z NOOP"}, limits(32, 100));
    row("line exactly at limit", "a LOGIN " + QByteArray(16, 'u') + " " + QByteArray(7, 'p') + "\r\n",
        {"CMD a LOGIN user=uuuuuuuuuuuuuuuu pass=ppppppp"}, limits(32, 100));
    row("line one over limit", "a LOGIN " + QByteArray(16, 'u') + " " + QByteArray(8, 'p') + "\r\nz NOOP\r\n",
        {"ERR a line too long", "CMD z NOOP"}, limits(32, 100));
    row("long line with literal+", "a APPEND INBOX (" + QByteArray(40, 'f') + ") {5+}\r\nb X\r\n\r\nz NOOP\r\n",
        {"ERR a line too long", "CMD z NOOP"}, limits(32, 100));
    row("long line with huge literal+", "a APPEND INBOX (" + QByteArray(40, 'f') + ") {500+}\r\nz NOOP\r\n",
        {"ERR a line too long", "ERR a [TOOBIG] non-synchronizing literal too large to skip; closing FATAL"}, limits(32, 100));
    row("long continuation line", "a LOGIN {3}\r\nabc " + QByteArray(40, 'p') + "\r\nz NOOP\r\n",
        {"+ a", "ERR a line too long", "CMD z NOOP"}, limits(32, 100));
    row("syntax error recovers", "a FETCH 0 FLAGS\r\nb NOOP\r\n",
        {"ERR a 0 is not a valid sequence number in sequence set", "CMD b NOOP"}, def);
    row("unknown command", "a FROB\r\nb NOOP\r\n", {"ERR a unknown command FROB UNKNOWN", "CMD b NOOP"}, def);
    row("bad tag", "+ NOOP\r\nb NOOP\r\n", {"ERR * expected tag at offset 0", "CMD b NOOP"}, def);
    row("unbalanced parens", "a FETCH 1 (FLAGS\r\nb NOOP\r\n",
        {"ERR a expected ')' closing fetch attribute list at end of command", "CMD b NOOP"}, def);
    row("error after literal", "a LOGIN {3}\r\nabc\r\nb NOOP\r\n",
        {"+ a", "ERR a expected SP before password at end of command", "CMD b NOOP"}, def);
    row("bad utf7", "a SELECT &AGE-\r\nb NOOP\r\n", {"ERR a invalid modified UTF-7 in mailbox name", "CMD b NOOP"}, def);
    row("nesting limit", "a SEARCH ((((SEEN))))\r\nb SEARCH (((SEEN)))\r\n",
        {"ERR a parentheses nested too deeply (limit 3)", "CMD b SEARCH keys=AND(AND(AND(AND(SEEN))))"}, limits(64, 64, 1024, 3));
    row("badcharset", "A284 SEARCH CHARSET KOI8-R TEXT x\r\n", {"ERR A284 [BADCHARSET] charset KOI8-R is not supported"}, def);
    row("idle", "a IDLE\r\nDONE\r\nb NOOP\r\n", {"CMD a IDLE", "CMD - DONE", "CMD b NOOP"}, def);
    row("idle junk", "a IDLE\r\nb NOOP {5}\r\ndone\r\n",
        {"CMD a IDLE", "ERR * expected DONE to end IDLE", "CMD - DONE"}, def);
    row("sasl", "a AUTHENTICATE PLAIN\r\nAGZyZWQAdGVzdA==\r\nb NOOP\r\n",
        {"CMD a AUTHENTICATE mech=PLAIN", "CMD - AUTHENTICATE ir=AGZyZWQAdGVzdA==", "CMD b NOOP"}, def);
    row("sasl cancel", "a AUTHENTICATE PLAIN\r\n*\r\n", {"CMD a AUTHENTICATE mech=PLAIN", "CMD - AUTHENTICATE ir=*"}, def);
    row("sasl-ir stays normal", "a AUTHENTICATE PLAIN AGZyZWQAdGVzdA==\r\nb NOOP\r\n",
        {"CMD a AUTHENTICATE mech=PLAIN ir=AGZyZWQAdGVzdA==", "CMD b NOOP"}, def);
}

void TestImapReceiver::framing()
{
    QFETCH(QByteArray, input);
    QFETCH(QStringList, expected);
    QFETCH(ReceiverLimits, lim);

    {
        Driver whole(lim);
        whole.feed(input);
        QCOMPARE(whole.events(), expected);
    }
    for (qsizetype cut = 1; cut < input.size(); ++cut) {
        Driver split(lim);
        split.feed(input.left(cut));
        split.feed(input.mid(cut));
        if (split.events() != expected) {
            qWarning() << "split at" << cut;
            QCOMPARE(split.events(), expected);
        }
    }
    {
        Driver bytewise(lim);
        for (const char c : input)
            bytewise.feed(QByteArray(1, c));
        QCOMPARE(bytewise.events(), expected);
    }
}

void TestImapReceiver::startTlsLeavesBytesBuffered()
{
    ImapReceiver rx;
    rx.feed("a STARTTLS\r\nb NOOP\r\n");
    const ReceiverEvent ev = rx.next();
    QCOMPARE(ev.type, ReceiverEvent::Type::Command);
    QCOMPARE(ev.command.name, CommandName::StartTls);
    QCOMPARE(rx.buffered(), qsizetype(8)); // injected plaintext the session must refuse
    rx.clear();
    QCOMPARE(rx.buffered(), qsizetype(0));
    QCOMPARE(rx.next().type, ReceiverEvent::Type::NeedMore);
}

void TestImapReceiver::clearDropsEverything()
{
    ImapReceiver rx;
    rx.feed("a LOGIN {5}\r\nab");
    QCOMPARE(rx.next().type, ReceiverEvent::Type::Continuation);
    rx.clear();
    rx.feed("b NOOP\r\n");
    const ReceiverEvent ev = rx.next();
    QCOMPARE(ev.type, ReceiverEvent::Type::Command);
    QCOMPARE(ev.tag, QByteArray("b"));
}

void TestImapReceiver::hugeLiteralAnnouncementAllocatesNothing()
{
    // 64 MiB default limit: a 60 MiB announcement is accepted but nothing is reserved
    // up front; the receiver buffers only what actually arrives.
    ImapReceiver rx;
    rx.feed("a APPEND INBOX {62914560}\r\n");
    QCOMPARE(rx.next().type, ReceiverEvent::Type::Continuation);
    rx.feed(QByteArray(1000, 'x'));
    QCOMPARE(rx.next().type, ReceiverEvent::Type::NeedMore);
    QCOMPARE(rx.buffered(), qsizetype(0));
    // Over the limit: refused without a continuation.
    ImapReceiver rx2;
    rx2.feed("a APPEND INBOX {18446744073709551615}\r\n");
    QCOMPARE(rx2.next().type, ReceiverEvent::Type::TooBigLiteral);
}

QTEST_GUILESS_MAIN(TestImapReceiver)
#include "tst_imapreceiver.moc"
