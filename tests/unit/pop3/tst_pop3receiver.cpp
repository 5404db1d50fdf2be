// SPDX-License-Identifier: AGPL-3.0-or-later
// Pop3Receiver, parseCommandLine, stuffMessage and wireSize: rows from RFC 1939
// (§5-§7 and the §10 example session), RFC 2449 (§5 CAPA), RFC 2595 (§4 STLS), RFC 5034
// (§4 and §7 examples) and RFC 6856 (UTF8). Every receiver row is fed whole, split at
// every byte, and one byte at a time; all three must give the same events.
#include "pop3/pop3receiver.h"

#include <QTest>

using namespace valv::pop3;

namespace {

const char *name(CommandName n)
{
    switch (n) {
    case CommandName::User: return "USER";
    case CommandName::Pass: return "PASS";
    case CommandName::Apop: return "APOP";
    case CommandName::Auth: return "AUTH";
    case CommandName::Stls: return "STLS";
    case CommandName::Capa: return "CAPA";
    case CommandName::Utf8: return "UTF8";
    case CommandName::Stat: return "STAT";
    case CommandName::List: return "LIST";
    case CommandName::Retr: return "RETR";
    case CommandName::Dele: return "DELE";
    case CommandName::Noop: return "NOOP";
    case CommandName::Rset: return "RSET";
    case CommandName::Top: return "TOP";
    case CommandName::Uidl: return "UIDL";
    case CommandName::Quit: return "QUIT";
    }
    return "?";
}

QString describe(const Command &c)
{
    QString s = QLatin1String(name(c.name));
    if (!c.argument.isEmpty())
        s += QStringLiteral(" arg=[%1]").arg(QString::fromUtf8(c.argument));
    if (c.msg)
        s += QStringLiteral(" msg=%1").arg(*c.msg);
    if (c.name == CommandName::Top)
        s += QStringLiteral(" lines=%1").arg(c.lines);
    if (!c.mechanism.isEmpty())
        s += QStringLiteral(" mech=%1").arg(QString::fromLatin1(c.mechanism));
    if (c.initialResponse)
        s += QStringLiteral(" ir=[%1]").arg(QString::fromLatin1(*c.initialResponse));
    return s;
}

// Events until NeedMore, one line each; `saslAfter` names the event index after which
// the session would switch SASL mode on (the AUTH without initial response).
QStringList drain(Pop3Receiver &r, QList<bool> *saslMode)
{
    QStringList out;
    while (true) {
        ReceiverEvent ev = r.next();
        switch (ev.type) {
        case ReceiverEvent::Type::NeedMore: return out;
        case ReceiverEvent::Type::Command:
            out << describe(ev.command);
            // The session enters SASL mode after a bare "AUTH PLAIN"/"AUTH LOGIN".
            if (saslMode && ev.command.name == CommandName::Auth && !ev.command.mechanism.isEmpty()
                && !ev.command.initialResponse) {
                r.setSaslMode(true);
                saslMode->append(true);
            }
            break;
        case ReceiverEvent::Type::SaslLine:
            out << QStringLiteral("SASL [%1]").arg(QString::fromLatin1(ev.line));
            r.setSaslMode(false);
            break;
        case ReceiverEvent::Type::SyntaxError:
            out << QStringLiteral("ERR%1 %2").arg(ev.unknownCommand ? QStringLiteral("(unknown)") : QString(), ev.text);
            break;
        case ReceiverEvent::Type::LineTooLong: out << QStringLiteral("TOOLONG"); break;
        }
    }
}

QStringList feedInPieces(const QByteArray &input, const QList<qsizetype> &cuts, qsizetype maxLine)
{
    Pop3Receiver r(maxLine);
    QList<bool> sasl;
    QStringList out;
    qsizetype from = 0;
    for (qsizetype cut : cuts) {
        r.feed(input.mid(from, cut - from));
        out += drain(r, &sasl);
        from = cut;
    }
    r.feed(input.mid(from));
    out += drain(r, &sasl);
    return out;
}

} // namespace

class TestPop3Receiver : public QObject {
    Q_OBJECT

private slots:
    void receiver_data()
    {
        QTest::addColumn<QByteArray>("input");
        QTest::addColumn<int>("maxLine");
        QTest::addColumn<QStringList>("events");

        // RFC 1939 §10, the example POP3 session (APOP replaced by USER/PASS).
        QTest::newRow("rfc1939 example")
            << QByteArray("USER mrose\r\nPASS tanstaaf\r\nSTAT\r\nLIST\r\nRETR 1\r\nDELE 1\r\nRETR 2\r\nDELE 2\r\nQUIT\r\n")
            << 8192
            << QStringList{"USER arg=[mrose]", "PASS arg=[tanstaaf]", "STAT", "LIST", "RETR msg=1", "DELE msg=1",
                           "RETR msg=2", "DELE msg=2", "QUIT"};
        // RFC 1939 §5/§7 examples: LIST 2, LIST 3, TOP 10 0, UIDL, UIDL 2, NOOP, RSET.
        QTest::newRow("rfc1939 §5 §7 examples")
            << QByteArray("LIST 2\r\nLIST 3\r\nTOP 10 0\r\nUIDL\r\nUIDL 2\r\nNOOP\r\nRSET\r\n") << 8192
            << QStringList{"LIST msg=2", "LIST msg=3", "TOP msg=10 lines=0", "UIDL", "UIDL msg=2", "NOOP", "RSET"};
        QTest::newRow("keywords are case-insensitive")
            << QByteArray("user Alice\r\nStAt\r\ncapa\r\nstls\r\nutf8\r\n") << 8192
            << QStringList{"USER arg=[Alice]", "STAT", "CAPA", "STLS", "UTF8"};
        QTest::newRow("PASS keeps spaces")
            << QByteArray("PASS  two  words \r\n") << 8192 << QStringList{"PASS arg=[ two  words ]"};
        QTest::newRow("bare LF ends a line too") << QByteArray("STAT\nQUIT\r\n") << 8192 << QStringList{"STAT", "QUIT"};
        // RFC 5034 §4: AUTH with an initial response, "=" for an empty one; §7's example
        // continuation exchange for PLAIN.
        QTest::newRow("rfc5034 auth")
            << QByteArray("AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=\r\nAUTH plain =\r\nAUTH PLAIN\r\ndGVzdAB0ZXN0AHRlc3Q=\r\nAUTH\r\n")
            << 8192
            << QStringList{"AUTH mech=PLAIN ir=[dGVzdAB0ZXN0AHRlc3Q=]", "AUTH mech=PLAIN ir=[=]", "AUTH mech=PLAIN",
                           "SASL [dGVzdAB0ZXN0AHRlc3Q=]", "AUTH"};
        QTest::newRow("sasl cancel") << QByteArray("AUTH LOGIN\r\n*\r\nNOOP\r\n") << 8192
                                     << QStringList{"AUTH mech=LOGIN", "SASL [*]", "NOOP"};
        QTest::newRow("errors")
            << QByteArray("XYZZY\r\n\r\nRETR\r\nRETR x\r\nRETR 1 2\r\nTOP 1\r\nTOP 1 -1\r\nSTAT 1\r\nLIST 99999999999\r\n"
                          "USER\r\nPASS\r\nUSER a b\r\nAPOP mrose\r\n")
            << 8192
            << QStringList{"ERR(unknown) Unknown command",
                           "ERR(unknown) Empty command",
                           "ERR A message number is required",
                           "ERR Invalid message number",
                           "ERR A message number is required",
                           "ERR TOP needs a message number and a line count",
                           "ERR Invalid message number or line count",
                           "ERR STAT takes no arguments",
                           "ERR Invalid message number",
                           "ERR USER needs exactly one name",
                           "ERR PASS needs a password",
                           "ERR USER needs exactly one name",
                           "ERR APOP needs a name and a digest"};
        QTest::newRow("control characters")
            << QByteArray("US\x01R a\r\nSTAT\tx\r\nNOOP\r\n", 22) << 8192
            << QStringList{"ERR Control characters are not allowed in commands",
                           "ERR Control characters are not allowed in commands", "NOOP"};
        QTest::newRow("NUL in a line") << QByteArray("US\0ER a\r\nNOOP\r\n", 15) << 8192
                                       << QStringList{"ERR Control characters are not allowed in commands", "NOOP"};
        QTest::newRow("line too long, then usable")
            << QByteArray("USER " + QByteArray(1200, 'a') + "\r\nNOOP\r\n") << 1000 << QStringList{"TOOLONG", "NOOP"};
        QTest::newRow("long line at the limit")
            << QByteArray("USER " + QByteArray(995, 'a') + "\r\n") << 1000
            << QStringList{"USER arg=[" + QString(995, u'a') + "]"};
        QTest::newRow("UTF-8 user name (RFC 6856)")
            << QByteArray("UTF8\r\nUSER j\xc3\xb6rg@example.test\r\n") << 8192
            << QStringList{"UTF8", QStringLiteral("USER arg=[j\u00f6rg@example.test]")};
        QTest::newRow("incomplete line waits") << QByteArray("NOOP\r\nSTA") << 8192 << QStringList{"NOOP"};
    }

    void receiver()
    {
        QFETCH(QByteArray, input);
        QFETCH(int, maxLine);
        QFETCH(QStringList, events);
        // Whole.
        QCOMPARE(feedInPieces(input, {}, maxLine), events);
        // Split once at every byte.
        for (qsizetype i = 1; i < input.size(); ++i) {
            const QStringList got = feedInPieces(input, {i}, maxLine);
            if (got != events)
                QFAIL(qPrintable(QStringLiteral("split at %1: got %2").arg(i).arg(got.join(QStringLiteral(" | ")))));
        }
        // One byte at a time.
        QList<qsizetype> every;
        for (qsizetype i = 1; i < input.size(); ++i)
            every.append(i);
        QCOMPARE(feedInPieces(input, every, maxLine), events);
    }

    void buffered()
    {
        Pop3Receiver r;
        r.feed("STLS\r\nUSER a\r\n");
        QCOMPARE(r.next().type, ReceiverEvent::Type::Command);
        QCOMPARE(r.buffered(), qsizetype(8)); // the injected USER stays visible
        r.feed("");
        QCOMPARE(r.next().command.name, CommandName::User);
        QCOMPARE(r.buffered(), qsizetype(0));
    }

    void stuff_data()
    {
        QTest::addColumn<QByteArray>("raw");
        QTest::addColumn<int>("lines");
        QTest::addColumn<QByteArray>("wire");
        const QByteArray msg = "Subject: x\r\nFrom: a@b\r\n\r\nline 1\r\n.line 2\r\n..\r\n.\r\nline 5\r\n";
        QTest::newRow("RETR stuffs dots") << msg << -1
                                          << QByteArray("Subject: x\r\nFrom: a@b\r\n\r\nline 1\r\n..line 2\r\n...\r\n..\r\nline 5\r\n.\r\n");
        // RFC 1939 §7 TOP: the header, the blank line, then n body lines.
        QTest::newRow("TOP 0") << msg << 0 << QByteArray("Subject: x\r\nFrom: a@b\r\n\r\n.\r\n");
        QTest::newRow("TOP 2") << msg << 2 << QByteArray("Subject: x\r\nFrom: a@b\r\n\r\nline 1\r\n..line 2\r\n.\r\n");
        QTest::newRow("TOP more than there is") << msg << 100
                                                << QByteArray("Subject: x\r\nFrom: a@b\r\n\r\nline 1\r\n..line 2\r\n...\r\n..\r\nline 5\r\n.\r\n");
        QTest::newRow("no final CRLF") << QByteArray("A: b\r\n\r\nend") << -1 << QByteArray("A: b\r\n\r\nend\r\n.\r\n");
        QTest::newRow("bare LF becomes CRLF") << QByteArray("A: b\n\nx\n.y\n") << -1 << QByteArray("A: b\r\n\r\nx\r\n..y\r\n.\r\n");
        QTest::newRow("header only") << QByteArray("A: b\r\n") << 0 << QByteArray("A: b\r\n\r\n.\r\n");
        QTest::newRow("empty") << QByteArray() << -1 << QByteArray(".\r\n");
        QTest::newRow("dot header line") << QByteArray(".A: b\r\n\r\n") << -1 << QByteArray("..A: b\r\n\r\n.\r\n");
        // RFC 1939 §7: the blank line after the header is sent even when the message has none.
        QTest::newRow("TOP 0, no blank line") << QByteArray("A: b\r\nC: d\r\n") << 0
                                              << QByteArray("A: b\r\nC: d\r\n\r\n.\r\n");
        QTest::newRow("TOP 5, no blank line, no final CRLF") << QByteArray("A: b\r\nC: d") << 5
                                                             << QByteArray("A: b\r\nC: d\r\n\r\n.\r\n");
        QTest::newRow("TOP 0, header only (from MailStore::header)") << QByteArray("A: b\r\n\r\n") << 0
                                                                     << QByteArray("A: b\r\n\r\n.\r\n");
        QTest::newRow("RETR, no blank line") << QByteArray("A: b\r\n") << -1 << QByteArray("A: b\r\n.\r\n");
        QTest::newRow("dot after bare LF") << QByteArray("A: b\r\n\r\nx\n.\r\n") << -1
                                           << QByteArray("A: b\r\n\r\nx\r\n..\r\n.\r\n");
        QTest::newRow("lone CR kept") << QByteArray("A: b\rc\r\n\r\n") << -1 << QByteArray("A: b\rc\r\n\r\n.\r\n");
    }

    void stuff()
    {
        QFETCH(QByteArray, raw);
        QFETCH(int, lines);
        QFETCH(QByteArray, wire);
        QCOMPARE(stuffMessage(raw, lines), wire);
    }

    // RFC 1939 §5: the size LIST and STAT give is the octets RETR sends, before
    // byte-stuffing and the terminating ".CRLF".
    void size_data()
    {
        QTest::addColumn<QByteArray>("raw");
        QTest::addColumn<qint64>("size");
        QTest::newRow("CRLF") << QByteArray("A: b\r\n\r\nx\r\n") << qint64(11);
        QTest::newRow("LF only") << QByteArray("A: b\n\nx\n") << qint64(11);
        QTest::newRow("mixed") << QByteArray("A: b\r\n\nx\n") << qint64(11);
        QTest::newRow("no final line end") << QByteArray("A: b\r\n\r\nx") << qint64(11);
        QTest::newRow("final CR only") << QByteArray("A: b\r\n\r\nx\r") << qint64(11);
        QTest::newRow("CR CR LF") << QByteArray("A: b\r\r\n") << qint64(7);
        QTest::newRow("dots do not count") << QByteArray(".A: b\n\n.\n") << qint64(12);
        QTest::newRow("empty") << QByteArray() << qint64(0);
        QTest::newRow("LF") << QByteArray("\n") << qint64(2);
    }

    void size()
    {
        QFETCH(QByteArray, raw);
        QFETCH(qint64, size);
        QCOMPARE(wireSize(raw), size);
        // The same count, taken from what RETR really sends.
        QByteArray wire = stuffMessage(raw);
        wire.chop(3);
        qint64 stuffedDots = 0;
        for (const QByteArray &line : wire.split('\n'))
            stuffedDots += line.startsWith("..") ? 1 : 0;
        QCOMPARE(qint64(wire.size()) - stuffedDots, size);
    }

    // What a client gets back after undoing the stuffing equals the stored bytes, for
    // every CRLF message (byte-identical retrieval).
    void stuffRoundTrip()
    {
        QByteArray raw = "Received: x\r\n\r\n";
        for (int i = 0; i < 300; ++i)
            raw += (i % 7 == 0 ? "." : "") + QByteArray(i % 90, char('a' + i % 26)) + "\r\n";
        QByteArray wire = stuffMessage(raw);
        QVERIFY(wire.endsWith("\r\n.\r\n"));
        wire.chop(3);
        QByteArray back;
        for (const QByteArray &line : wire.split('\n')) {
            if (line.isEmpty())
                continue;
            back += (line.startsWith('.') ? line.mid(1) : line) + "\n";
        }
        QCOMPARE(back, raw);
    }
};

QTEST_GUILESS_MAIN(TestPop3Receiver)
#include "tst_pop3receiver.moc"
