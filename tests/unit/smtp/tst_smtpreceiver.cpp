// SPDX-License-Identifier: AGPL-3.0-or-later
// SmtpReceiver and parseCommandLine: rows from RFC 5321 (§4.1, Appendix C and D),
// RFC 1870, RFC 3030, RFC 3461, RFC 4954 and RFC 6531/6530. Every receiver row is fed
// whole, split at every byte, and one byte at a time; all three must give the same events.
#include "smtp/smtpreceiver.h"

#include <QTest>

using namespace valv::smtp;
using Verb = Command::Verb;

namespace {

const char *verbName(Verb v)
{
    switch (v) {
    case Verb::Helo: return "HELO";
    case Verb::Ehlo: return "EHLO";
    case Verb::Mail: return "MAIL";
    case Verb::Rcpt: return "RCPT";
    case Verb::Data: return "DATA";
    case Verb::Bdat: return "BDAT";
    case Verb::Rset: return "RSET";
    case Verb::Noop: return "NOOP";
    case Verb::Quit: return "QUIT";
    case Verb::Vrfy: return "VRFY";
    case Verb::Expn: return "EXPN";
    case Verb::Help: return "HELP";
    case Verb::StartTls: return "STARTTLS";
    case Verb::Auth: return "AUTH";
    }
    return "?";
}

// Printable form of raw bytes: CR, LF and non-printables escaped.
QString escaped(const QByteArray &bytes)
{
    QString out;
    for (char ch : bytes) {
        const uchar b = uchar(ch);
        if (b == '\r')
            out += QLatin1String("\\r");
        else if (b == '\n')
            out += QLatin1String("\\n");
        else if (b == '\\')
            out += QLatin1String("\\\\");
        else if (b < 32 || b >= 127)
            out += QStringLiteral("\\x%1").arg(b, 2, 16, QLatin1Char('0'));
        else
            out += QLatin1Char(char(b));
    }
    return out;
}

QString describe(const Command &c)
{
    QString s = QLatin1String(verbName(c.verb));
    switch (c.verb) {
    case Verb::Helo:
    case Verb::Ehlo:
        return s + u' ' + c.domain;
    case Verb::Mail:
    case Verb::Rcpt:
        s += QLatin1String(" <") + c.path.toString() + u'>';
        if (c.postmaster)
            s += QLatin1String(" [postmaster]");
        if (c.path.domainIsLiteral)
            s += QLatin1String(" [literal]");
        for (const auto &[k, v] : c.params)
            s += u' ' + QString::fromUtf8(k) + (v.isEmpty() ? QString() : u'=' + QString::fromUtf8(v));
        return s;
    case Verb::Bdat:
        return s + u' ' + QString::number(c.bdatSize) + (c.bdatLast ? QLatin1String(" LAST") : QLatin1String(""));
    default:
        return c.argument.isEmpty() ? s : s + u' ' + escaped(c.argument);
    }
}

QString describe(const ReceiverEvent &ev)
{
    using T = ReceiverEvent::Type;
    switch (ev.type) {
    case T::NeedMore: return QStringLiteral("NEEDMORE");
    case T::Command: return describe(ev.command);
    case T::SyntaxError: return ev.unknownCommand ? QStringLiteral("500") : QStringLiteral("501");
    case T::LineTooLong: return QStringLiteral("TOOLONG");
    case T::Message:
        return QLatin1String("MSG:") + escaped(ev.message)
            + (ev.bareLineFeed ? QLatin1String(" [bareLF]") : QLatin1String(""));
    case T::MessageTooBig: return QStringLiteral("TOOBIG");
    case T::BdatChunk: return ev.overLimit ? QStringLiteral("CHUNK over") : QStringLiteral("CHUNK");
    }
    return QStringLiteral("?");
}

// A minimal session: accepts DATA (unless told not to) and answers AUTH challenges by
// putting the receiver in auth mode for as many lines as the mechanism needs.
struct Driver {
    SmtpReceiver rx;
    bool acceptData = true;
    int authLines = 0;
    QStringList events;

    explicit Driver(ReceiverLimits limits, bool accept) : rx(limits), acceptData(accept) {}

    void drain()
    {
        for (int guard = 0; guard < 100000; ++guard) {
            const ReceiverEvent ev = rx.next();
            if (ev.type == ReceiverEvent::Type::NeedMore)
                return;
            if (authLines > 0 && ev.type == ReceiverEvent::Type::Command) {
                events << QLatin1String("AUTHLINE ") + escaped(ev.command.argument);
                if (--authLines == 0)
                    rx.setAuthMode(false);
                continue;
            }
            events << describe(ev);
            if (ev.type != ReceiverEvent::Type::Command)
                continue;
            if (ev.command.verb == Verb::Data && acceptData)
                rx.beginData();
            if (ev.command.verb == Verb::Auth) {
                const QList<QByteArray> parts = ev.command.argument.split(' ');
                const bool login = parts.first().toUpper() == "LOGIN";
                authLines = (login ? 2 : 1) - (parts.size() > 1 ? 1 : 0);
                if (authLines > 0)
                    rx.setAuthMode(true);
            }
        }
        events << QStringLiteral("LOOP");
    }
};

QStringList runPieces(const QList<QByteArray> &pieces, ReceiverLimits limits, bool acceptData)
{
    Driver d(limits, acceptData);
    for (const QByteArray &p : pieces) {
        d.rx.feed(p);
        d.drain();
    }
    if (d.rx.buffered() != 0)
        d.events << QStringLiteral("LEFT %1").arg(d.rx.buffered());
    return d.events;
}

// Feeds whole, split at every byte, and one byte at a time; checks all agree.
QStringList runAllSplits(const QByteArray &input, ReceiverLimits limits, bool acceptData)
{
    const QStringList whole = runPieces({input}, limits, acceptData);
    for (qsizetype k = 1; k < input.size(); ++k) {
        const QStringList split = runPieces({input.left(k), input.mid(k)}, limits, acceptData);
        if (split != whole) {
            qWarning() << "split at" << k << "gives" << split;
            return {QStringLiteral("SPLIT MISMATCH at %1").arg(k)};
        }
    }
    QList<QByteArray> bytes;
    for (char ch : input)
        bytes << QByteArray(1, ch);
    const QStringList single = runPieces(bytes, limits, acceptData);
    if (single != whole) {
        qWarning() << "byte by byte gives" << single;
        return {QStringLiteral("BYTEWISE MISMATCH")};
    }
    return whole;
}

} // namespace

class TestSmtpReceiver : public QObject {
    Q_OBJECT
private slots:
    void parseValid_data();
    void parseValid();
    void parseMalformed_data();
    void parseMalformed();
    void parseAddress_data();
    void parseAddress();
    void addressToString_data();
    void addressToString();
    void receiver_data();
    void receiver();
    void discardDuringBdat();
    void discardDuringData();
    void discardedChunkDoesNotCount();
    void starttlsInjectionVisible();
    void longLineBoundedMemory();
    void oversizeDataBoundedMemory();
    void setMaxMessageSize();
};

void TestSmtpReceiver::parseValid_data()
{
    QTest::addColumn<QByteArray>("line");
    QTest::addColumn<QString>("expected");

    // RFC 5321 Appendix D.1
    QTest::newRow("D.1 EHLO") << QByteArray("EHLO bar.com") << "EHLO bar.com";
    QTest::newRow("D.1 MAIL") << QByteArray("MAIL FROM:<Smith@bar.com>") << "MAIL <Smith@bar.com>";
    QTest::newRow("D.1 RCPT") << QByteArray("RCPT TO:<Jones@foo.com>") << "RCPT <Jones@foo.com>";
    QTest::newRow("D.1 DATA") << QByteArray("DATA") << "DATA";
    QTest::newRow("D.1 QUIT") << QByteArray("QUIT") << "QUIT";
    // D.2, D.3, D.4
    QTest::newRow("D.2 RSET") << QByteArray("RSET") << "RSET";
    QTest::newRow("D.3 MAIL") << QByteArray("MAIL FROM:<JQP@bar.com>") << "MAIL <JQP@bar.com>";
    QTest::newRow("D.3 RCPT") << QByteArray("RCPT TO:<Jones@XYZ.COM>") << "RCPT <Jones@XYZ.COM>";
    QTest::newRow("D.4 VRFY") << QByteArray("VRFY Crispin") << "VRFY Crispin";
    QTest::newRow("3.5.2 EXPN") << QByteArray("EXPN Example-People") << "EXPN Example-People";
    QTest::newRow("VRFY mailbox") << QByteArray("VRFY <Smith@bar.com>") << "VRFY <Smith@bar.com>";
    QTest::newRow("HELO") << QByteArray("HELO foo.com") << "HELO foo.com";
    // Verbs and "FROM:"/"TO:" are case-insensitive (§2.4)
    QTest::newRow("lower case") << QByteArray("mail from:<a@b.example>") << "MAIL <a@b.example>";
    QTest::newRow("mixed case") << QByteArray("rCpT tO:<a@b.example>") << "RCPT <a@b.example>";
    QTest::newRow("ehlo literal v4") << QByteArray("ehlo [192.0.2.1]") << "EHLO [192.0.2.1]";
    QTest::newRow("ehlo literal v6") << QByteArray("EHLO [IPv6:2001:db8::1]") << "EHLO [IPv6:2001:db8::1]";
    QTest::newRow("ehlo literal v6 loopback") << QByteArray("EHLO [IPv6:::1]") << "EHLO [IPv6:::1]";
    QTest::newRow("ehlo literal v6v4") << QByteArray("EHLO [IPv6:::ffff:192.0.2.1]") << "EHLO [IPv6:::ffff:192.0.2.1]";
    QTest::newRow("ehlo literal v6 full") << QByteArray("EHLO [IPv6:2001:db8:0:0:0:0:0:1]") << "EHLO [IPv6:2001:db8:0:0:0:0:0:1]";
    QTest::newRow("ehlo general literal") << QByteArray("EHLO [x-tag:anything]") << "EHLO [x-tag:anything]";
    QTest::newRow("ehlo underscore, root dot") << QByteArray("EHLO my_pc.example.") << "EHLO my_pc.example.";
    QTest::newRow("ehlo U-label") << QByteArray("EHLO m\xc3\xbcller.example") << QString::fromUtf8("EHLO m\xc3\xbcller.example");
    QTest::newRow("ehlo trailing spaces") << QByteArray("EHLO bar.com  ") << "EHLO bar.com";
    // Null reverse-path (§4.5.5), space after colon (lenient)
    QTest::newRow("null path") << QByteArray("MAIL FROM:<>") << "MAIL <>";
    QTest::newRow("space after colon") << QByteArray("MAIL FROM: <a@b.example>") << "MAIL <a@b.example>";
    QTest::newRow("space after TO:") << QByteArray("RCPT TO: <a@b.example>") << "RCPT <a@b.example>";
    // RFC 1870 §6 example; RFC 3461 §4.2, §4.3 examples; RFC 3030 §4.2; RFC 4954 §5
    QTest::newRow("1870 SIZE") << QByteArray("MAIL FROM:<ned@thor.innosoft.com> SIZE=500000")
                               << "MAIL <ned@thor.innosoft.com> SIZE=500000";
    QTest::newRow("3461 RET ENVID") << QByteArray("MAIL FROM:<Alice@Example.ORG> RET=HDRS ENVID=QQ314159")
                                    << "MAIL <Alice@Example.ORG> RET=HDRS ENVID=QQ314159";
    QTest::newRow("3461 NOTIFY ORCPT")
        << QByteArray("RCPT TO:<Bob@Example.COM> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob@Example.COM")
        << "RCPT <Bob@Example.COM> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob@Example.COM";
    QTest::newRow("3461 ENVID xtext") << QByteArray("MAIL FROM:<a@b.example> ENVID=a+2Bb")
                                      << "MAIL <a@b.example> ENVID=a+2Bb";
    QTest::newRow("3030 BINARYMIME") << QByteArray("MAIL FROM:<ned@thor.innosoft.com> BODY=BINARYMIME")
                                     << "MAIL <ned@thor.innosoft.com> BODY=BINARYMIME";
    QTest::newRow("4954 AUTH=<>") << QByteArray("MAIL FROM:<e@example.com> AUTH=<>") << "MAIL <e@example.com> AUTH=<>";
    QTest::newRow("keywords upper-cased, values raw, extra spaces")
        << QByteArray("MAIL FROM:<a@b.example>  body=8bitmime   smtputf8 ")
        << "MAIL <a@b.example> BODY=8bitmime SMTPUTF8";
    QTest::newRow("6531 UTF-8 esmtp-value") << QByteArray("RCPT TO:<a@b.example> ORCPT=utf-8;\xc3\xa9@b.example")
                                            << QString::fromUtf8("RCPT <a@b.example> ORCPT=utf-8;\xc3\xa9@b.example");
    // §4.1.1.3 Postmaster
    QTest::newRow("<Postmaster>") << QByteArray("RCPT TO:<Postmaster>") << "RCPT <Postmaster> [postmaster]";
    QTest::newRow("<postmaster>") << QByteArray("RCPT TO:<postmaster>") << "RCPT <postmaster> [postmaster]";
    QTest::newRow("<Postmaster@domain>") << QByteArray("RCPT TO:<Postmaster@foo.com>") << "RCPT <Postmaster@foo.com>";
    // Appendix C / §4.1.1.3: source routes accepted and ignored
    QTest::newRow("C source route") << QByteArray("RCPT TO:<@hosta.int,@jkl.org:userc@d.bar.org>")
                                    << "RCPT <userc@d.bar.org>";
    QTest::newRow("source route MAIL") << QByteArray("MAIL FROM:<@a.example:x@b.example>") << "MAIL <x@b.example>";
    // Quoted local parts (§4.1.2 Quoted-string)
    QTest::newRow("quoted") << QByteArray("RCPT TO:<\"John Doe\"@example.com>") << "RCPT <\"John Doe\"@example.com>";
    QTest::newRow("quoted escapes") << QByteArray("RCPT TO:<\"a\\\"b\\\\c\"@example.com>")
                                    << "RCPT <\"a\\\"b\\\\c\"@example.com>";
    QTest::newRow("quoted unneeded") << QByteArray("RCPT TO:<\"abc\"@example.com>") << "RCPT <abc@example.com>";
    QTest::newRow("quoted >") << QByteArray("RCPT TO:<\"a>b\"@example.com>") << "RCPT <\"a>b\"@example.com>";
    QTest::newRow("atext specials") << QByteArray("RCPT TO:<a!#$%&'*+-/=?^_`{|}~z@example.com>")
                                    << "RCPT <a!#$%&'*+-/=?^_`{|}~z@example.com>";
    QTest::newRow("literal v4") << QByteArray("RCPT TO:<user@[192.0.2.5]>") << "RCPT <user@[192.0.2.5]> [literal]";
    QTest::newRow("literal v6") << QByteArray("RCPT TO:<user@[IPv6:2001:db8::5]>") << "RCPT <user@[IPv6:2001:db8::5]> [literal]";
    // RFC 6531 / RFC 6530 examples: UTF-8 local parts and domains
    QTest::newRow("6531 chinese") << QByteArray("RCPT TO:<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a> SMTPUTF8")
                                  << QString::fromUtf8("RCPT <\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a> SMTPUTF8");
    QTest::newRow("6531 quoted greek") << QByteArray("MAIL FROM:<\"\xce\xb4\xce\xbf\xce\xba\"@\xcf\x80\xce\xb1.example> SMTPUTF8")
                                       << QString::fromUtf8("MAIL <\xce\xb4\xce\xbf\xce\xba@\xcf\x80\xce\xb1.example> SMTPUTF8");
    // Other verbs
    QTest::newRow("NOOP") << QByteArray("NOOP") << "NOOP";
    QTest::newRow("NOOP arg") << QByteArray("NOOP hello there") << "NOOP hello there";
    QTest::newRow("HELP") << QByteArray("HELP") << "HELP";
    QTest::newRow("HELP arg") << QByteArray("help MAIL") << "HELP MAIL";
    QTest::newRow("STARTTLS") << QByteArray("StartTLS") << "STARTTLS";
    QTest::newRow("RSET trailing spaces") << QByteArray("RSET   ") << "RSET";
    QTest::newRow("4954 AUTH PLAIN initial") << QByteArray("AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=") << "AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=";
    QTest::newRow("4954 AUTH GSSAPI") << QByteArray("AUTH GSSAPI") << "AUTH GSSAPI";
    QTest::newRow("4954 AUTH empty initial") << QByteArray("AUTH PLAIN =") << "AUTH PLAIN =";
    QTest::newRow("AUTH lower mech") << QByteArray("auth login") << "AUTH login";
    QTest::newRow("AUTH SCRAM") << QByteArray("AUTH SCRAM-SHA-256") << "AUTH SCRAM-SHA-256";
    // RFC 3030 §4
    QTest::newRow("3030 BDAT LAST") << QByteArray("BDAT 86 LAST") << "BDAT 86 LAST";
    QTest::newRow("3030 BDAT") << QByteArray("BDAT 100000") << "BDAT 100000";
    QTest::newRow("BDAT 0 last lower") << QByteArray("bdat 0 last") << "BDAT 0 LAST";
    QTest::newRow("BDAT max") << QByteArray("BDAT 18446744073709551615") << "BDAT 18446744073709551615";
}

void TestSmtpReceiver::parseValid()
{
    QFETCH(QByteArray, line);
    QFETCH(QString, expected);
    const ParseResult r = parseCommandLine(line);
    QVERIFY2(r.ok, qPrintable(r.error));
    QCOMPARE(describe(r.command), expected);
}

void TestSmtpReceiver::parseMalformed_data()
{
    QTest::addColumn<QByteArray>("line");
    QTest::addColumn<bool>("unknownCommand");

    QTest::newRow("empty") << QByteArray("") << true;
    QTest::newRow("unknown verb") << QByteArray("FOO bar") << true;
    QTest::newRow("MAILFROM") << QByteArray("MAILFROM:<a@b.example>") << true;
    QTest::newRow("leading space") << QByteArray(" MAIL FROM:<a@b.example>") << true;
    QTest::newRow("verb with NUL") << QByteArray("NOOP\0", 5) << true;
    QTest::newRow("HTTP") << QByteArray("GET / HTTP/1.1") << true;

    QTest::newRow("HELO no arg") << QByteArray("HELO") << false;
    QTest::newRow("EHLO blank") << QByteArray("EHLO   ") << false;
    QTest::newRow("EHLO two words") << QByteArray("EHLO foo bar") << false;
    QTest::newRow("EHLO bad v4") << QByteArray("EHLO [300.1.1.1]") << false;
    QTest::newRow("EHLO v4 too short") << QByteArray("EHLO [1.2.3]") << false;
    QTest::newRow("EHLO v6 two gaps") << QByteArray("EHLO [IPv6:1::2::3]") << false;
    QTest::newRow("EHLO v6 long group") << QByteArray("EHLO [IPv6:12345::]") << false;
    QTest::newRow("EHLO v6 seven groups") << QByteArray("EHLO [IPv6:1:2:3:4:5:6:7]") << false;
    QTest::newRow("EHLO literal no tag") << QByteArray("EHLO [foo]") << false;
    QTest::newRow("EHLO literal unclosed") << QByteArray("EHLO [1.2.3.4") << false;
    QTest::newRow("EHLO empty label") << QByteArray("EHLO a..b") << false;

    QTest::newRow("MAIL no arg") << QByteArray("MAIL") << false;
    QTest::newRow("MAIL TO") << QByteArray("MAIL TO:<a@b.example>") << false;
    QTest::newRow("MAIL no brackets") << QByteArray("MAIL FROM:a@b.example") << false;
    QTest::newRow("MAIL unclosed") << QByteArray("MAIL FROM:<a@b.example") << false;
    QTest::newRow("MAIL no domain") << QByteArray("MAIL FROM:<a@>") << false;
    QTest::newRow("MAIL no local") << QByteArray("MAIL FROM:<@b.example>") << false;
    QTest::newRow("MAIL no at") << QByteArray("MAIL FROM:<ab.example>") << false;
    QTest::newRow("MAIL double dot") << QByteArray("MAIL FROM:<a..b@c.example>") << false;
    QTest::newRow("MAIL leading dot") << QByteArray("MAIL FROM:<.a@c.example>") << false;
    QTest::newRow("MAIL hyphen label") << QByteArray("MAIL FROM:<a@-b.example>") << false;
    QTest::newRow("MAIL underscore domain") << QByteArray("MAIL FROM:<a@b_c.example>") << false;
    QTest::newRow("MAIL empty label") << QByteArray("MAIL FROM:<a@b..example>") << false;
    QTest::newRow("MAIL space in local") << QByteArray("MAIL FROM:<a b@c.example>") << false;
    QTest::newRow("MAIL unterminated quote") << QByteArray("MAIL FROM:<\"abc@c.example>") << false;
    QTest::newRow("MAIL control in quote") << QByteArray("MAIL FROM:<\"a\x01\"@c.example>") << false;
    QTest::newRow("MAIL tab") << QByteArray("MAIL FROM:<a@b.example>\tSIZE=1") << false;
    QTest::newRow("MAIL CR inside") << QByteArray("MAIL FROM:<a@b.example>\r") << false;
    QTest::newRow("MAIL invalid UTF-8") << QByteArray("MAIL FROM:<a\xff@b.example>") << false;
    QTest::newRow("MAIL bad continuation") << QByteArray("MAIL FROM:<\xc3\x28@b.example>") << false;
    QTest::newRow("MAIL overlong") << QByteArray("MAIL FROM:<\xc0\xaf@b.example>") << false;
    QTest::newRow("MAIL surrogate") << QByteArray("MAIL FROM:<a@\xed\xa0\x80.example>") << false;
    QTest::newRow("MAIL route without mailbox") << QByteArray("MAIL FROM:<@a.example,@b.example>") << false;
    QTest::newRow("MAIL route no colon") << QByteArray("MAIL FROM:<@a.example x@b.example>") << false;
    QTest::newRow("MAIL postmaster not allowed") << QByteArray("MAIL FROM:<Postmaster>") << false;
    QTest::newRow("MAIL SIZE letters") << QByteArray("MAIL FROM:<a@b.example> SIZE=abc") << false;
    QTest::newRow("MAIL SIZE no value") << QByteArray("MAIL FROM:<a@b.example> SIZE") << false;
    QTest::newRow("MAIL SIZE negative") << QByteArray("MAIL FROM:<a@b.example> SIZE=-1") << false;
    QTest::newRow("MAIL SIZE overflow") << QByteArray("MAIL FROM:<a@b.example> SIZE=99999999999999999999999") << false;
    QTest::newRow("MAIL param glued") << QByteArray("MAIL FROM:<a@b.example>SIZE=1") << false;
    QTest::newRow("MAIL param no keyword") << QByteArray("MAIL FROM:<a@b.example> =x") << false;
    QTest::newRow("MAIL param empty value") << QByteArray("MAIL FROM:<a@b.example> BODY=") << false;
    QTest::newRow("MAIL param two =") << QByteArray("MAIL FROM:<a@b.example> X=a=b") << false;
    QTest::newRow("MAIL param bad keyword") << QByteArray("MAIL FROM:<a@b.example> -X=1") << false;
    QTest::newRow("MAIL param keyword char") << QByteArray("MAIL FROM:<a@b.example> X_Y=1") << false;

    QTest::newRow("RCPT null") << QByteArray("RCPT TO:<>") << false;
    QTest::newRow("RCPT nothing") << QByteArray("RCPT TO:") << false;
    QTest::newRow("RCPT FROM") << QByteArray("RCPT FROM:<a@b.example>") << false;
    QTest::newRow("RCPT postmaster glued") << QByteArray("RCPT TO:<Postmaster>x") << false;
    QTest::newRow("RCPT two addresses") << QByteArray("RCPT TO:<a@b.example>,<c@d.example>") << false;

    QTest::newRow("DATA arg") << QByteArray("DATA now") << false;
    QTest::newRow("QUIT arg") << QByteArray("QUIT now") << false;
    QTest::newRow("RSET arg") << QByteArray("RSET x") << false;
    QTest::newRow("STARTTLS arg") << QByteArray("STARTTLS x") << false;
    QTest::newRow("VRFY no arg") << QByteArray("VRFY") << false;
    QTest::newRow("EXPN no arg") << QByteArray("EXPN ") << false;
    QTest::newRow("NOOP DEL") << QByteArray("NOOP \x7f") << false;

    QTest::newRow("AUTH no mech") << QByteArray("AUTH") << false;
    QTest::newRow("AUTH bad mech") << QByteArray("AUTH PL@IN") << false;
    QTest::newRow("AUTH mech too long") << QByteArray("AUTH ABCDEFGHIJKLMNOPQRSTU") << false;
    QTest::newRow("AUTH initial with space") << QByteArray("AUTH PLAIN dGVz dA==") << false;
    QTest::newRow("AUTH initial not base64") << QByteArray("AUTH PLAIN d*Vz") << false;

    QTest::newRow("BDAT no size") << QByteArray("BDAT") << false;
    QTest::newRow("BDAT letters") << QByteArray("BDAT x") << false;
    QTest::newRow("BDAT negative") << QByteArray("BDAT -1") << false;
    QTest::newRow("BDAT bad marker") << QByteArray("BDAT 10 FIRST") << false;
    QTest::newRow("BDAT overflow") << QByteArray("BDAT 18446744073709551616") << false;
    QTest::newRow("BDAT extra") << QByteArray("BDAT 10 LAST x") << false;
}

void TestSmtpReceiver::parseMalformed()
{
    QFETCH(QByteArray, line);
    QFETCH(bool, unknownCommand);
    const ParseResult r = parseCommandLine(line);
    QVERIFY2(!r.ok, qPrintable(describe(r.command)));
    QCOMPARE(r.unknownCommand, unknownCommand);
    QVERIFY(!r.error.isEmpty());

    // Through the receiver: the error, then the receiver goes on with the next line.
    QByteArray input = line;
    input.replace('\n', ' '); // keep the row a single line
    input += "\r\nNOOP\r\n";
    const QStringList expected{unknownCommand ? QStringLiteral("500") : QStringLiteral("501"),
                               QStringLiteral("NOOP")};
    QCOMPARE(runAllSplits(input, {}, true), expected);
}

void TestSmtpReceiver::parseAddress_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<QString>("localPart");
    QTest::addColumn<QString>("domain");
    QTest::addColumn<bool>("literal");

    QTest::newRow("plain") << QByteArray("Smith@bar.com") << true << "Smith" << "bar.com" << false;
    QTest::newRow("quoted") << QByteArray("\"a b\"@x.example") << true << "a b" << "x.example" << false;
    QTest::newRow("quoted escape") << QByteArray("\"a\\\"b\"@x.example") << true << "a\"b" << "x.example" << false;
    QTest::newRow("quoted at") << QByteArray("\"a@b\"@x.example") << true << "a@b" << "x.example" << false;
    QTest::newRow("literal") << QByteArray("u@[192.0.2.1]") << true << "u" << "192.0.2.1" << true;
    QTest::newRow("utf8") << QByteArray("j\xc3\xb6rg@m\xc3\xbcller.example") << true
                          << QString::fromUtf8("j\xc3\xb6rg") << QString::fromUtf8("m\xc3\xbcller.example") << false;
    QTest::newRow("empty") << QByteArray() << false << "" << "" << false;
    QTest::newRow("brackets") << QByteArray("<a@b.example>") << false << "" << "" << false;
    QTest::newRow("trailing") << QByteArray("a@b.example x") << false << "" << "" << false;
    QTest::newRow("two at") << QByteArray("a@b@c.example") << false << "" << "" << false;
    QTest::newRow("no domain") << QByteArray("a@") << false << "" << "" << false;
    QTest::newRow("C1 in utf8") << QByteArray("a\xc2\x80@b.example") << true << QString::fromUtf8("a\xc2\x80") << "b.example" << false;
}

void TestSmtpReceiver::parseAddress()
{
    QFETCH(QByteArray, text);
    QFETCH(bool, valid);
    const std::optional<Address> a = valv::smtp::parseAddress(text);
    QCOMPARE(a.has_value(), valid);
    if (!valid)
        return;
    QFETCH(QString, localPart);
    QFETCH(QString, domain);
    QFETCH(bool, literal);
    QCOMPARE(a->localPart, localPart);
    QCOMPARE(a->domain, domain);
    QCOMPARE(a->domainIsLiteral, literal);
    QVERIFY(!a->isNull());
    // toString() round-trips through the parser.
    const std::optional<Address> again = valv::smtp::parseAddress(a->toString().toUtf8());
    QVERIFY(again.has_value());
    QCOMPARE(again->localPart, localPart);
    QCOMPARE(again->domain, domain);
}

void TestSmtpReceiver::addressToString_data()
{
    QTest::addColumn<QString>("localPart");
    QTest::addColumn<QString>("domain");
    QTest::addColumn<bool>("literal");
    QTest::addColumn<QString>("expected");
    QTest::newRow("null") << "" << "" << false << "";
    QTest::newRow("plain") << "a.b" << "x.example" << false << "a.b@x.example";
    QTest::newRow("space") << "a b" << "x.example" << false << "\"a b\"@x.example";
    QTest::newRow("quote+backslash") << "a\"\\" << "x.example" << false << "\"a\\\"\\\\\"@x.example";
    QTest::newRow("double dot") << "a..b" << "x.example" << false << "\"a..b\"@x.example";
    QTest::newRow("empty local") << "" << "x.example" << false << "\"\"@x.example";
    QTest::newRow("literal") << "u" << "IPv6:::1" << true << "u@[IPv6:::1]";
    QTest::newRow("postmaster") << "Postmaster" << "" << false << "Postmaster";
}

void TestSmtpReceiver::addressToString()
{
    QFETCH(QString, localPart);
    QFETCH(QString, domain);
    QFETCH(bool, literal);
    QFETCH(QString, expected);
    Address a;
    a.localPart = localPart;
    a.domain = domain;
    a.domainIsLiteral = literal;
    QCOMPARE(a.toString(), expected);
}

namespace {
void row(const char *name, const QByteArray &input, const QStringList &expected, int maxLine = 0,
         int maxMessage = 0, bool acceptData = true)
{
    QTest::newRow(name) << input << expected << maxLine << maxMessage << acceptData;
}
} // namespace

void TestSmtpReceiver::receiver_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<QStringList>("expected");
    QTest::addColumn<int>("maxLine");
    QTest::addColumn<int>("maxMessage");
    QTest::addColumn<bool>("acceptData");

    // RFC 5321 D.1: the client's "...etc. etc. etc." line goes out dot-stuffed.
    row("D.1 typical transaction",
        "EHLO bar.com\r\nMAIL FROM:<Smith@bar.com>\r\nRCPT TO:<Jones@foo.com>\r\n"
        "RCPT TO:<Green@foo.com>\r\nRCPT TO:<Brown@foo.com>\r\nDATA\r\n"
        "Blah blah blah...\r\n....etc. etc. etc.\r\n.\r\nQUIT\r\n",
        {"EHLO bar.com", "MAIL <Smith@bar.com>", "RCPT <Jones@foo.com>", "RCPT <Green@foo.com>",
         "RCPT <Brown@foo.com>", "DATA", "MSG:Blah blah blah...\\r\\n...etc. etc. etc.\\r\\n", "QUIT"});
    row("D.2 aborted transaction",
        "EHLO bar.com\r\nMAIL FROM:<Smith@bar.com>\r\nRCPT TO:<Jones@foo.com>\r\n"
        "RCPT TO:<Green@foo.com>\r\nRSET\r\nQUIT\r\n",
        {"EHLO bar.com", "MAIL <Smith@bar.com>", "RCPT <Jones@foo.com>", "RCPT <Green@foo.com>",
         "RSET", "QUIT"});
    row("D.3 relayed mail",
        "EHLO foo.com\r\nMAIL FROM:<JQP@bar.com>\r\nRCPT TO:<Jones@XYZ.COM>\r\nDATA\r\n"
        "Date: Thu, 21 May 1998 05:33:29 -0700\r\nFrom: John Q. Public <JQP@bar.com>\r\n"
        "Subject: The Next Meeting of the Board\r\nTo: Jones@xyz.com\r\n\r\nBill:\r\n"
        "The next meeting of the board of directors will be\r\non Tuesday.\r\n"
        "                                         John.\r\n.\r\nQUIT\r\n",
        {"EHLO foo.com", "MAIL <JQP@bar.com>", "RCPT <Jones@XYZ.COM>", "DATA",
         "MSG:Date: Thu, 21 May 1998 05:33:29 -0700\\r\\nFrom: John Q. Public <JQP@bar.com>\\r\\n"
         "Subject: The Next Meeting of the Board\\r\\nTo: Jones@xyz.com\\r\\n\\r\\nBill:\\r\\n"
         "The next meeting of the board of directors will be\\r\\non Tuesday.\\r\\n"
         "                                         John.\\r\\n",
         "QUIT"});
    row("D.4 verify and send",
        "EHLO bar.com\r\nVRFY Crispin\r\nMAIL FROM:<EAK@bar.com>\r\n"
        "RCPT TO:<Admin.MRC@foo.com>\r\nDATA\r\nBlah blah blah...\r\n...etc. etc. etc.\r\n.\r\nQUIT\r\n",
        {"EHLO bar.com", "VRFY Crispin", "MAIL <EAK@bar.com>", "RCPT <Admin.MRC@foo.com>", "DATA",
         "MSG:Blah blah blah...\\r\\n..etc. etc. etc.\\r\\n", "QUIT"});
    // §4.5.2 transparency
    row("dot-stuffing", "DATA\r\n..leading dot\r\n...\r\nx\r\n.\r\n",
        {"DATA", "MSG:.leading dot\\r\\n..\\r\\nx\\r\\n"});
    row("dot-stuffed lone dot line", "DATA\r\nabc\r\n..\r\n.\r\n", {"DATA", "MSG:abc\\r\\n.\\r\\n"});
    row("dot not at line start", "DATA\r\na.b\r\n x.\r\n.\r\n", {"DATA", "MSG:a.b\\r\\n x.\\r\\n"});
    row("empty message", "DATA\r\n.\r\nQUIT\r\n", {"DATA", "MSG:", "QUIT"});
    row("message of one empty line", "DATA\r\n\r\n.\r\n", {"DATA", "MSG:\\r\\n"});
    row("dot CR not LF", "DATA\r\nx\r\n.\rfoo\r\n.\r\n", {"DATA", "MSG:x\\r\\n\\rfoo\\r\\n"});
    row("dot CR CR LF", "DATA\r\n.\r\r\n.\r\n", {"DATA", "MSG:\\r\\r\\n"});
    row("terminator after CR CR LF", "DATA\r\na\r\r\n.\r\n", {"DATA", "MSG:a\\r\\r\\n"});
    // Bare LF is data, never a line end: no "\n.\n" / "\r\n.\n" smuggling.
    row("bare LF kept", "DATA\r\na\nb\r\n.\r\n", {"DATA", "MSG:a\\nb\\r\\n [bareLF]"});
    row("LF dot LF is not the end", "DATA\r\na\n.\nb\r\n.\r\n", {"DATA", "MSG:a\\n.\\nb\\r\\n [bareLF]"});
    row("LF dot CRLF is not the end", "DATA\r\na\n.\r\nb\r\n.\r\n", {"DATA", "MSG:a\\n.\\r\\nb\\r\\n [bareLF]"});
    row("CRLF dot LF smuggling", "DATA\r\na\r\n.\nMAIL FROM:<x@evil.example>\r\n.\r\nQUIT\r\n",
        {"DATA", "MSG:a\\r\\n\\nMAIL FROM:<x@evil.example>\\r\\n [bareLF]", "QUIT"});
    row("binary in DATA", "DATA\r\n" + QByteArray(1, '\0') + "\xff\x80\r\n.\r\n", {"DATA", "MSG:\\x00\\xff\\x80\\r\\n"});
    // Pipelining (RFC 2920): everything in one feed, bytes after the end stay queued.
    row("pipelined transaction",
        "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nRCPT TO:<Postmaster>\r\nDATA\r\n"
        "Subject: x\r\n\r\nhi\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<e@f.example>\r\nDATA\r\n.\r\nQUIT\r\n",
        {"MAIL <a@b.example>", "RCPT <c@d.example>", "RCPT <Postmaster> [postmaster]", "DATA",
         "MSG:Subject: x\\r\\n\\r\\nhi\\r\\n", "MAIL <>", "RCPT <e@f.example>", "DATA", "MSG:", "QUIT"});
    row("refused DATA: following lines are commands", "DATA\r\nhello\r\n.\r\nQUIT\r\n",
        {"DATA", "500", "500", "QUIT"}, 0, 0, false);
    // Line framing
    row("bare LF command lines", "NOOP\nRSET\nQUIT\n", {"NOOP", "RSET", "QUIT"});
    row("CR only at end", "NOOP x\r\r\n", {"501"});
    row("errors keep going", "FOO\r\nMAIL FROM:<bad\r\nHELP\r\n", {"500", "501", "HELP"});
    row("line at the limit", "NOOP 123456789\r\nQUIT\r\n", {"NOOP 123456789", "QUIT"}, 16);
    row("line one over the limit", "NOOP 1234567890\r\nQUIT\r\n", {"TOOLONG", "QUIT"}, 16);
    row("bare LF line at the limit", "NOOP 1234567890\nQUIT\n", {"NOOP 1234567890", "QUIT"}, 16);
    row("very long line", "NOOP " + QByteArray(100, 'x') + "\r\nQUIT\r\n", {"TOOLONG", "QUIT"}, 16);
    row("long line then DATA", QByteArray(40, 'z') + "\nDATA\r\n.\r\n", {"TOOLONG", "DATA", "MSG:"}, 16);
    // Size limit (RFC 5321 §4.5.3.1.10, RFC 1870): read to the end, keep nothing.
    row("DATA at the limit", "DATA\r\n12345678\r\n.\r\n", {"DATA", "MSG:12345678\\r\\n"}, 0, 10);
    row("DATA over the limit", "DATA\r\n123456789\r\n.\r\nQUIT\r\n", {"DATA", "TOOBIG", "QUIT"}, 0, 10);
    row("DATA far over the limit", "DATA\r\n" + QByteArray(200, 'q') + "\r\n..\r\n.\r\nNOOP\r\n",
        {"DATA", "TOOBIG", "NOOP"}, 0, 10);
    row("stuffing dots do not count", "DATA\r\n..\r\n..\r\n..\r\n.\r\n", {"DATA", "MSG:.\\r\\n.\\r\\n.\\r\\n"}, 0, 9);
    // AUTH continuation lines are raw (RFC 4954 §4)
    row("AUTH LOGIN", "AUTH LOGIN\r\ndGVzdA==\r\ncGFzcw==\r\nQUIT\r\n",
        {"AUTH LOGIN", "AUTHLINE dGVzdA==", "AUTHLINE cGFzcw==", "QUIT"});
    row("AUTH PLAIN cancel", "AUTH PLAIN\r\n*\r\nNOOP\r\n", {"AUTH PLAIN", "AUTHLINE *", "NOOP"});
    row("AUTH raw line not parsed", "AUTH PLAIN\r\nMAIL FROM:<x\r\n", {"AUTH PLAIN", "AUTHLINE MAIL FROM:<x"});
    row("AUTH initial response", "AUTH PLAIN AHRlc3QAdGVzdA==\r\nQUIT\r\n", {"AUTH PLAIN AHRlc3QAdGVzdA==", "QUIT"});
    // RFC 3030 §4.1 example 1 (86 octets) and §4.2 (pipelined, binary)
    row("3030 example 1",
        "EHLO ymir.claremont.edu\r\nMAIL FROM:<Sam@Random.com>\r\nRCPT TO:<Susan@Random.com>\r\n"
        "BDAT 86 LAST\r\nTo: Susan@random.com\r\nFrom: Sam@random.com\r\n"
        "Subject: This is a bodyless test message\r\nQUIT\r\n",
        {"EHLO ymir.claremont.edu", "MAIL <Sam@Random.com>", "RCPT <Susan@Random.com>", "BDAT 86 LAST",
         "MSG:To: Susan@random.com\\r\\nFrom: Sam@random.com\\r\\nSubject: This is a bodyless test message\\r\\n",
         "QUIT"});
    row("3030 example 2 pipelined chunks",
        "MAIL FROM:<ned@thor.innosoft.com> BODY=BINARYMIME\r\nRCPT TO:<gvaudre@lucent.com>\r\n"
        "BDAT 11\r\nab\r\n.\r\n" + QByteArray(1, '\0') + "\xff\n.BDAT 4 LAST\r\nEND!QUIT\r\n",
        {"MAIL <ned@thor.innosoft.com> BODY=BINARYMIME", "RCPT <gvaudre@lucent.com>", "BDAT 11", "CHUNK",
         "BDAT 4 LAST", "MSG:ab\\r\\n.\\r\\n\\x00\\xff\\n.END!", "QUIT"});
    row("BDAT 0 LAST", "BDAT 3\r\nabcBDAT 0 LAST\r\nNOOP\r\n", {"BDAT 3", "CHUNK", "BDAT 0 LAST", "MSG:abc", "NOOP"});
    row("BDAT empty message", "BDAT 0 LAST\r\n", {"BDAT 0 LAST", "MSG:"});
    row("BDAT bytes look like commands", "BDAT 6\r\nQUIT\r\nBDAT 1 LAST\r\n.", {"BDAT 6", "CHUNK", "BDAT 1 LAST", "MSG:QUIT\\r\\n."});
    row("BDAT at the limit", "BDAT 6\r\n123456BDAT 4 LAST\r\n7890", {"BDAT 6", "CHUNK", "BDAT 4 LAST", "MSG:1234567890"}, 0, 10);
    row("BDAT over the limit across chunks",
        "BDAT 6\r\n123456BDAT 6\r\n123456BDAT 2 LAST\r\n12NOOP\r\n",
        {"BDAT 6", "CHUNK", "BDAT 6", "CHUNK over", "BDAT 2 LAST", "TOOBIG", "NOOP"}, 0, 10);
    row("BDAT over the limit in one chunk", "BDAT 30 LAST\r\n" + QByteArray(30, 'b') + "QUIT\r\n",
        {"BDAT 30 LAST", "TOOBIG", "QUIT"}, 0, 10);
    row("BDAT bad size: no chunk read", "BDAT 1x\r\nQUIT\r\n", {"501", "QUIT"});
    row("BDAT then DATA", "BDAT 2\r\nxyBDAT 1 LAST\r\nzDATA\r\nw\r\n.\r\n",
        {"BDAT 2", "CHUNK", "BDAT 1 LAST", "MSG:xyz", "DATA", "MSG:w\\r\\n"});
    row("BDAT incomplete", "BDAT 10 LAST\r\nabc", {"BDAT 10 LAST"});
}

void TestSmtpReceiver::receiver()
{
    QFETCH(QByteArray, input);
    QFETCH(QStringList, expected);
    QFETCH(int, maxLine);
    QFETCH(int, maxMessage);
    QFETCH(bool, acceptData);
    ReceiverLimits limits;
    if (maxLine > 0)
        limits.maxLineLength = maxLine;
    if (maxMessage > 0)
        limits.maxMessageSize = maxMessage;
    QCOMPARE(runAllSplits(input, limits, acceptData), expected);
}

void TestSmtpReceiver::discardDuringBdat()
{
    // A session that refuses BDAT (no MAIL yet) discards at once; the chunk is swallowed
    // and the next transaction starts clean.
    SmtpReceiver rx;
    rx.feed("BDAT 5\r\nhel");
    ReceiverEvent ev = rx.next();
    QCOMPARE(ev.type, ReceiverEvent::Type::Command);
    QCOMPARE(ev.command.verb, Verb::Bdat);
    rx.discardMessage();
    QCOMPARE(rx.next().type, ReceiverEvent::Type::NeedMore);
    rx.feed("loBDAT 3 LAST\r\nabc");
    QCOMPARE(rx.next().type, ReceiverEvent::Type::BdatChunk);
    ev = rx.next();
    QCOMPARE(ev.type, ReceiverEvent::Type::Command);
    QCOMPARE(ev.command.bdatLast, true);
    ev = rx.next();
    QCOMPARE(ev.type, ReceiverEvent::Type::Message);
    QCOMPARE(ev.message, QByteArray("abc"));

    // discardMessage() between chunks (e.g. RSET) drops what was collected.
    rx.feed("BDAT 3\r\nxyzRSET\r\nBDAT 2 LAST\r\nuv");
    QCOMPARE(rx.next().type, ReceiverEvent::Type::Command);
    QCOMPARE(rx.next().type, ReceiverEvent::Type::BdatChunk);
    ev = rx.next();
    QCOMPARE(ev.command.verb, Verb::Rset);
    rx.discardMessage();
    QCOMPARE(rx.next().command.verb, Verb::Bdat);
    ev = rx.next();
    QCOMPARE(ev.type, ReceiverEvent::Type::Message);
    QCOMPARE(ev.message, QByteArray("uv"));
    QCOMPARE(rx.buffered(), 0);
}

void TestSmtpReceiver::discardDuringData()
{
    SmtpReceiver rx;
    rx.feed("DATA\r\nabc\r\n");
    QCOMPARE(rx.next().command.verb, Verb::Data);
    rx.beginData();
    QCOMPARE(rx.next().type, ReceiverEvent::Type::NeedMore);
    rx.discardMessage();
    rx.feed("def\r\n.\r\nNOOP\r\n");
    ReceiverEvent ev = rx.next();
    QCOMPARE(ev.type, ReceiverEvent::Type::Message);
    QVERIFY(ev.message.isEmpty());
    QCOMPARE(rx.next().command.verb, Verb::Noop);
}

void TestSmtpReceiver::discardedChunkDoesNotCount()
{
    ReceiverLimits limits;
    limits.maxMessageSize = 10;
    SmtpReceiver rx(limits);
    rx.feed("BDAT 8\r\n12345678BDAT 5 LAST\r\nabcde");
    QCOMPARE(rx.next().command.bdatSize, 8u);
    rx.discardMessage(); // refused: no MAIL yet
    const ReceiverEvent chunk = rx.next();
    QCOMPARE(chunk.type, ReceiverEvent::Type::BdatChunk);
    QVERIFY(!chunk.overLimit);
    QCOMPARE(chunk.command.verb, Verb::Bdat); // the BDAT is repeated for the reply text
    QCOMPARE(chunk.command.bdatSize, 8u);
    QCOMPARE(rx.next().command.bdatSize, 5u);
    const ReceiverEvent ev = rx.next();
    QCOMPARE(ev.type, ReceiverEvent::Type::Message);
    QCOMPARE(ev.message, QByteArray("abcde"));
    QCOMPARE(ev.command.bdatSize, 5u);
    QVERIFY(ev.command.bdatLast);
}

void TestSmtpReceiver::starttlsInjectionVisible()
{
    // RFC 3207 §6 / CVE-2011-0411: bytes pipelined after STARTTLS must be visible so
    // the session can refuse them instead of treating them as sent under TLS.
    SmtpReceiver rx;
    rx.feed("STARTTLS\r\nRSET\r\n");
    QCOMPARE(rx.next().command.verb, Verb::StartTls);
    QCOMPARE(rx.buffered(), 6);
}

void TestSmtpReceiver::longLineBoundedMemory()
{
    ReceiverLimits limits;
    limits.maxLineLength = 512;
    SmtpReceiver rx(limits);
    int tooLong = 0;
    const QByteArray block(1000, 'x');
    for (int i = 0; i < 2000; ++i) {
        rx.feed(block);
        for (ReceiverEvent ev = rx.next(); ev.type != ReceiverEvent::Type::NeedMore; ev = rx.next()) {
            QCOMPARE(ev.type, ReceiverEvent::Type::LineTooLong);
            ++tooLong;
        }
        QVERIFY(rx.buffered() <= limits.maxLineLength);
    }
    rx.feed("\r\nQUIT\r\n");
    QCOMPARE(rx.next().command.verb, Verb::Quit);
    QCOMPARE(tooLong, 1);
}

void TestSmtpReceiver::oversizeDataBoundedMemory()
{
    ReceiverLimits limits;
    limits.maxMessageSize = 1000;
    SmtpReceiver rx(limits);
    rx.feed("DATA\r\n");
    QCOMPARE(rx.next().command.verb, Verb::Data);
    rx.beginData();
    const QByteArray block = QByteArray(998, 'y') + "\r\n";
    for (int i = 0; i < 1000; ++i) {
        rx.feed(block);
        QCOMPARE(rx.next().type, ReceiverEvent::Type::NeedMore);
        QCOMPARE(rx.buffered(), 0);
    }
    rx.feed(".\r\nQUIT\r\n");
    QCOMPARE(rx.next().type, ReceiverEvent::Type::MessageTooBig);
    QCOMPARE(rx.next().command.verb, Verb::Quit);
}

void TestSmtpReceiver::setMaxMessageSize()
{
    // RFC 1870: a session may lower the limit for one transaction.
    SmtpReceiver rx;
    rx.setMaxMessageSize(3);
    rx.feed("DATA\r\n");
    QCOMPARE(rx.next().command.verb, Verb::Data);
    rx.beginData();
    rx.feed("a\r\n.\r\nDATA\r\n");
    QCOMPARE(rx.next().message, QByteArray("a\r\n"));
    QCOMPARE(rx.next().command.verb, Verb::Data);
    rx.beginData();
    rx.feed("ab\r\n.\r\n");
    QCOMPARE(rx.next().type, ReceiverEvent::Type::MessageTooBig);
}

QTEST_APPLESS_MAIN(TestSmtpReceiver)
#include "tst_smtpreceiver.moc"
