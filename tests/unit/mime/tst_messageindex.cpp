// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 9051 §7.5.2 ENVELOPE / BODY / BODYSTRUCTURE, §6.4.5 BODY[section], RFC 3516 BINARY.
// Expected structures follow Dovecot's output (case kept as sent, "7bit" default).
#include "mime/messageindex.h"

#include <QFile>
#include <QTest>

#include <thread>
#include <vector>

using namespace valv::mime;

namespace {

QByteArray crlf(QByteArray s)
{
    return s.replace("\n", "\r\n");
}

QByteArray dataFile(const char *name)
{
    QFile f(QStringLiteral(VALV_TEST_DATA "/mime/") + QLatin1String(name));
    if (!f.open(QIODevice::ReadOnly))
        qFatal("cannot open %s", name);
    return f.readAll();
}

// A body of exactly `size` octets in `lines` CRLF-terminated lines.
QByteArray makeBody(int size, int lines)
{
    QByteArray out;
    const int content = size - 2 * lines;
    for (int i = 0; i < lines; ++i) {
        out += QByteArray(content / lines + (i < content % lines ? 1 : 0), 'x');
        out += "\r\n";
    }
    return out;
}

// RFC 3501 §7.4.2 / RFC 9051 §7.5.2 ENVELOPE and BODY examples, as a message.
QByteArray rfcExampleMessage()
{
    return crlf("Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\n"
                "From: Terry Gray <gray@cac.washington.edu>\n"
                "Subject: IMAP4rev1 WG mtg summary and minutes\n"
                "To: imap@cac.washington.edu\n"
                "cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\n"
                "Message-Id: <B27397-0100000@cac.washington.edu>\n"
                "MIME-Version: 1.0\n"
                "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\n"
                "Content-Transfer-Encoding: 7BIT\n"
                "\n")
        + makeBody(3028, 92);
}

// RFC 9051 §7.5.2 multipart BODYSTRUCTURE example, as a message.
QByteArray rfcExampleMultipart()
{
    return crlf("Content-Type: MULTIPART/MIXED; BOUNDARY=\"xyz\"\n"
                "\n"
                "--xyz\n"
                "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\n"
                "Content-Transfer-Encoding: 7BIT\n"
                "\n")
        + makeBody(1152, 23)
        + crlf("\n--xyz\n"
               "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII; NAME=cc.diff\n"
               "Content-ID: <960723163407.20117h@cac.washington.edu>\n"
               "Content-Description: Compiler diff\n"
               "Content-Transfer-Encoding: BASE64\n"
               "\n")
        + makeBody(4554, 73) + crlf("\n--xyz--\n");
}

const QByteArray kTextPlain = R"("text" "plain" ("charset" "us-ascii") NIL NIL "7bit")";

} // namespace

class TestMessageIndex : public QObject {
    Q_OBJECT

private slots:
    void envelope_data();
    void envelope();
    void bodyStructure_data();
    void bodyStructure();
    void section_data();
    void section();
    void binary_data();
    void binary();
    void imapStringQuoting_data();
    void imapStringQuoting();
    void decodedFields();
    void limits();
    void concurrentIndexing();
};

void TestMessageIndex::envelope_data()
{
    QTest::addColumn<QByteArray>("raw");
    QTest::addColumn<QByteArray>("expected");

    QTest::newRow("rfc3501 example") << rfcExampleMessage()
        << QByteArray(R"x(("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" )x"
                      R"((("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) )"
                      R"((("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) )"
                      R"(((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL )"
                      R"("<B27397-0100000@cac.washington.edu>"))");
    QTest::newRow("no headers") << crlf("\nbody\n")
        << QByteArray("(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
    QTest::newRow("groups (RFC 5322 A.1.3)")
        << crlf("From: Pete <pete@silly.example>\n"
                "To: A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;\n"
                "Cc: Undisclosed recipients:;\n\n")
        << QByteArray(R"((NIL NIL (("Pete" NIL "pete" "silly.example")) (("Pete" NIL "pete" "silly.example")) )"
                      R"((("Pete" NIL "pete" "silly.example")) ((NIL NIL "A Group" NIL)("Ed Jones" NIL "c" "a.test")(NIL NIL "joe" "where.test"))"
                      R"(("John" NIL "jdoe" "one.test")(NIL NIL NIL NIL)) ((NIL NIL "Undisclosed recipients" NIL)(NIL NIL NIL NIL)) NIL NIL NIL))");
    QTest::newRow("rfc2047 stays encoded")
        << crlf("From: =?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>\n"
                "To: =?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>\n"
                "CC: =?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>\n"
                "Subject: =?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\n"
                "    =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=\n\n")
        << QByteArray(R"((NIL "=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=    =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=" )"
                      R"((("=?US-ASCII?Q?Keith_Moore?=" NIL "moore" "cs.utk.edu")) (("=?US-ASCII?Q?Keith_Moore?=" NIL "moore" "cs.utk.edu")) )"
                      R"((("=?US-ASCII?Q?Keith_Moore?=" NIL "moore" "cs.utk.edu")) (("=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?=" NIL "keld" "dkuug.dk")) )"
                      R"((("=?ISO-8859-1?Q?Andr=E9?= Pirard" NIL "PIRARD" "vm1.ulg.ac.be")) NIL NIL NIL))");
    QTest::newRow("sender, reply-to, bcc, in-reply-to")
        << crlf("From: a@x.test\nSender: s@x.test\nReply-To: r@x.test, \"Q \\\"T\\\"\" <q@x.test>\n"
                "Bcc: (hidden) b@x.test\nIn-Reply-To: <p@x.test>\nMessage-ID: <m@x.test>\n\n")
        << QByteArray(R"((NIL NIL ((NIL NIL "a" "x.test")) ((NIL NIL "s" "x.test")) ((NIL NIL "r" "x.test")("Q \"T\"" NIL "q" "x.test")) )"
                      R"(NIL NIL ((NIL NIL "b" "x.test")) "<p@x.test>" "<m@x.test>"))");
    QTest::newRow("empty sender defaults to from")
        << crlf("From: a@x.test\nSender:\nSubject:\n\n")
        << QByteArray(R"((NIL "" ((NIL NIL "a" "x.test")) ((NIL NIL "a" "x.test")) ((NIL NIL "a" "x.test")) NIL NIL NIL NIL NIL))");
    QTest::newRow("comment name, route, missing domain")
        << crlf("From: john@x.test (John Doe)\nTo: <@relay.test,@hub.test:jane@y.test>, undisclosed\n\n")
        << QByteArray(R"((NIL NIL (("John Doe" NIL "john" "x.test")) (("John Doe" NIL "john" "x.test")) (("John Doe" NIL "john" "x.test")) )"
                      R"(((NIL "@relay.test,@hub.test" "jane" "y.test")(NIL NIL "undisclosed" "MISSING_DOMAIN")) NIL NIL NIL NIL))");
    QTest::newRow("8-bit subject becomes a literal, folding removed")
        << crlf("Subject: Gr\xc3\xbc\xc3\x9f""e\n\taus Bern\n\n")
        << QByteArray("(NIL {16}\r\nGr\xc3\xbc\xc3\x9f""e\taus Bern NIL NIL NIL NIL NIL NIL NIL NIL)");
    QTest::newRow("bare LF") << QByteArray("Subject: lf\nFrom: a@b.test\n\nx\n")
        << QByteArray(R"((NIL "lf" ((NIL NIL "a" "b.test")) ((NIL NIL "a" "b.test")) ((NIL NIL "a" "b.test")) NIL NIL NIL NIL NIL))");
}

void TestMessageIndex::envelope()
{
    QFETCH(QByteArray, raw);
    QFETCH(QByteArray, expected);
    QCOMPARE(indexMessage(raw).envelope, expected);
}

void TestMessageIndex::bodyStructure_data()
{
    QTest::addColumn<QByteArray>("raw");
    QTest::addColumn<QByteArray>("bodyStructure");
    QTest::addColumn<QByteArray>("body");

    QTest::newRow("rfc3501 text/plain example") << rfcExampleMessage()
        << QByteArray(R"(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92 NIL NIL NIL NIL))")
        << QByteArray(R"(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92))");
    QTest::newRow("rfc9051 multipart example") << rfcExampleMultipart()
        << QByteArray(R"((("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23 NIL NIL NIL NIL))"
                      R"(("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") "<960723163407.20117h@cac.washington.edu>" )"
                      R"("Compiler diff" "BASE64" 4554 73 NIL NIL NIL NIL) "MIXED" ("BOUNDARY" "xyz") NIL NIL NIL))")
        << QByteArray(R"((("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)("TEXT" "PLAIN" ("CHARSET" "US-ASCII" )"
                      R"("NAME" "cc.diff") "<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73) "MIXED"))");
    QTest::newRow("plain, no content-type") << crlf("Subject: hi\n\nHello\nworld\n")
        << "(" + kTextPlain + " 14 2 NIL NIL NIL NIL)"
        << "(" + kTextPlain + " 14 2)";
    QTest::newRow("8-bit utf-8 body")
        << crlf("Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n\xc3\xa9t\xc3\xa9\n")
        << QByteArray(R"(("text" "plain" ("charset" "UTF-8") NIL NIL "8bit" 7 1 NIL NIL NIL NIL))")
        << QByteArray(R"(("text" "plain" ("charset" "UTF-8") NIL NIL "8bit" 7 1))");
    QTest::newRow("multipart/alternative")
        << crlf("Content-Type: multipart/alternative; boundary=alt\n\n--alt\nContent-Type: text/plain; charset=utf-8\n\nplain\n"
                "--alt\nContent-Type: text/html; charset=utf-8\n\n<b>html</b>\n--alt--\n")
        << QByteArray(R"((("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 5 0 NIL NIL NIL NIL))"
                      R"(("text" "html" ("charset" "utf-8") NIL NIL "7bit" 11 0 NIL NIL NIL NIL) "alternative" ("boundary" "alt") NIL NIL NIL))")
        << QByteArray(R"((("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 5 0)("text" "html" ("charset" "utf-8") NIL NIL "7bit" 11 0) "alternative"))");
    QTest::newRow("mixed with base64 attachment, rfc2231") << crlf(dataFile("attachment.eml"))
        << QByteArray(R"((("text" "plain" ("charset" "iso-8859-1") NIL NIL "quoted-printable" 60 2 NIL NIL NIL NIL))"
                      R"(("application" "octet-stream" ("name*" "utf-8''%E2%82%AC.txt") NIL NIL "base64" 16 "Q2hlY2sgSW50ZWdyaXR5IQ==" )"
                      R"(("attachment" ("size" "12" "filename*" "utf-8''%E2%82%AC.txt")) ("de" "en-GB") "http://example.com/euro.txt") )"
                      R"("mixed" ("boundary" "----=_Part_0_1") NIL NIL NIL))")
        << QByteArray(R"((("text" "plain" ("charset" "iso-8859-1") NIL NIL "quoted-printable" 60 2))"
                      R"(("application" "octet-stream" ("name*" "utf-8''%E2%82%AC.txt") NIL NIL "base64" 16) "mixed"))");
    const QByteArray inner = R"(("message" "rfc822" NIL NIL NIL "7bit" 232 )"
                             R"((NIL "inner message" ((NIL NIL "c" "example.org")) ((NIL NIL "c" "example.org")) )"
                             R"(((NIL NIL "c" "example.org")) NIL NIL NIL NIL NIL) )";
    QTest::newRow("nested multipart with message/rfc822") << crlf(dataFile("nested.eml"))
        << R"((("text" "plain" ("charset" "utf-8") NIL NIL "8bit" 7 0 NIL NIL NIL NIL)(()" + kTextPlain
               + R"( 5 0 NIL NIL NIL NIL)("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 11 0 NIL NIL NIL NIL) )"
                 R"("alternative" ("boundary" "inner") NIL NIL NIL))" + inner + "((" + kTextPlain
               + R"( 10 0 NIL NIL NIL NIL)("application" "octet-stream" NIL NIL NIL "base64" 4 NIL NIL NIL NIL) )"
                 R"("mixed" ("boundary" "b2") NIL NIL NIL) 13 NIL NIL NIL NIL))"
                 R"(("application" "pdf" ("name" "doc.pdf") NIL NIL "base64" 12 NIL ("attachment" ("filename" "doc.pdf")) NIL NIL) )"
                 R"("mixed" ("boundary" "outer") NIL NIL NIL))"
        << R"((("text" "plain" ("charset" "utf-8") NIL NIL "8bit" 7 0)(()" + kTextPlain
               + R"( 5 0)("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 11 0) "alternative"))" + inner + "(("
               + kTextPlain + R"( 10 0)("application" "octet-stream" NIL NIL NIL "base64" 4) "mixed") 13))"
                 R"(("application" "pdf" ("name" "doc.pdf") NIL NIL "base64" 12) "mixed"))";
    QTest::newRow("nested, bare LF: sizes are stored octets") << dataFile("nested.eml")
        << QByteArray() << QByteArray();
    QTest::newRow("digest parts default to message/rfc822") << crlf(dataFile("digest.eml"))
        << QByteArray(R"((("message" "rfc822" NIL NIL NIL "7bit" 21 (NIL "one" NIL NIL NIL NIL NIL NIL NIL NIL) )"
                      R"(()" + kTextPlain + R"( 5 0 NIL NIL NIL NIL) 2 NIL NIL NIL NIL)()"
                      + kTextPlain + R"( 13 0 NIL NIL NIL NIL) "digest" ("boundary" "d") NIL NIL NIL))")
        << QByteArray();
    QTest::newRow("malformed: no blank line") << crlf("Subject: x\nFrom: a@b.test")
        << "(" + kTextPlain + " 0 0 NIL NIL NIL NIL)" << QByteArray();
    QTest::newRow("malformed: missing close delimiter")
        << crlf("Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain\n\nhello\n")
        << "((" + kTextPlain + R"( 7 1 NIL NIL NIL NIL) "mixed" ("boundary" "x") NIL NIL NIL))" << QByteArray();
    QTest::newRow("malformed: boundary never appears")
        << crlf("Content-Type: multipart/mixed; boundary=x\n\nno parts here\n")
        << "((" + kTextPlain + R"( 0 0 NIL NIL NIL NIL) "mixed" ("boundary" "x") NIL NIL NIL))" << QByteArray();
    QTest::newRow("malformed: multipart without boundary")
        << crlf("Content-Type: multipart/mixed\n\nabc\n")
        << QByteArray(R"(("multipart" "mixed" NIL NIL NIL "7bit" 5 NIL NIL NIL NIL))") << QByteArray();
    QTest::newRow("malformed: invalid content-type")
        << crlf("Content-Type: text\nContent-Transfer-Encoding: \n\nabc")
        << "(" + kTextPlain + " 3 0 NIL NIL NIL NIL)" << QByteArray();
    QTest::newRow("empty message/rfc822")
        << crlf("Content-Type: message/rfc822\n\n")
        << "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 0 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) (" + kTextPlain
               + " 0 0 NIL NIL NIL NIL) 0 NIL NIL NIL NIL)"
        << QByteArray();
}

void TestMessageIndex::bodyStructure()
{
    QFETCH(QByteArray, raw);
    QFETCH(QByteArray, bodyStructure);
    QFETCH(QByteArray, body);
    const MessageIndex index = indexMessage(raw);
    if (bodyStructure.isNull()) {
        // Bare-LF nested.eml: same shape, sizes are what BODY[n] returns.
        for (const QList<uint32_t> &part : {QList<uint32_t>{1}, {2, 2}, {3}, {4}}) {
            const QByteArray bytes = *extractSection(raw, part);
            QVERIFY2(index.bodyStructure.contains(' ' + QByteArray::number(bytes.size()) + ' '),
                     index.bodyStructure.constData());
        }
        QVERIFY(index.bodyStructure.contains(R"("message" "rfc822" NIL NIL NIL "7bit" 219 )"));
        return;
    }
    QCOMPARE(index.bodyStructure, bodyStructure);
    if (!body.isNull())
        QCOMPARE(index.body, body);
}

void TestMessageIndex::section_data()
{
    QTest::addColumn<QByteArray>("raw");
    QTest::addColumn<QList<uint32_t>>("part");
    QTest::addColumn<int>("text");
    QTest::addColumn<QList<QByteArray>>("fields");
    QTest::addColumn<QByteArray>("expected"); // null = the part does not exist

    using P = QList<uint32_t>;
    using F = QList<QByteArray>;
    const int none = int(SectionText::None);
    const int header = int(SectionText::Header);
    const int text = int(SectionText::Text);
    const int mime = int(SectionText::Mime);
    const int fields = int(SectionText::HeaderFields);
    const int fieldsNot = int(SectionText::HeaderFieldsNot);

    for (const bool useCrlf : {true, false}) {
        const QByteArray raw = useCrlf ? crlf(dataFile("nested.eml")) : dataFile("nested.eml");
        auto eol = [useCrlf](const char *s) { return useCrlf ? crlf(s) : QByteArray(s); };
        auto row = [&](const char *name, const P &part, int kind, const F &f, const QByteArray &expected) {
            QTest::addRow("%s %s", useCrlf ? "crlf" : "lf", name) << raw << part << kind << f << expected;
        };
        row("BODY[]", {}, none, {}, raw);
        row("BODY[HEADER]", {}, header, {},
            eol("From: a@example.org\nTo: b@example.org\nSubject: nested\nMIME-Version: 1.0\n"
                "Content-Type: multipart/mixed; boundary=\"outer\"\n\n"));
        row("BODY[TEXT]", {}, text, {}, raw.mid(raw.indexOf("preamble")));
        row("BODY[HEADER.FIELDS (subject FROM)]", {}, fields, {"subject", "FROM"},
            eol("From: a@example.org\nSubject: nested\n\n"));
        row("BODY[HEADER.FIELDS.NOT (Content-Type MIME-Version)]", {}, fieldsNot,
            {"Content-Type", "MIME-Version"}, eol("From: a@example.org\nTo: b@example.org\nSubject: nested\n\n"));
        row("BODY[MIME] is not a section", {}, mime, {}, QByteArray());
        row("BODY[1]", {1}, none, {}, "Gr\xc3\xbc\xc3\x9f""e");
        row("BODY[1.MIME]", {1}, mime, {},
            eol("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"));
        row("BODY[1.HEADER] of a non-message part", {1}, header, {}, "");
        row("BODY[2]", {2}, none, {},
            eol("--inner\nContent-Type: text/plain\n\nplain\n--inner\nContent-Type: text/html\n\n<p>html</p>\n--inner--"));
        row("BODY[2.1]", {2, 1}, none, {}, "plain");
        row("BODY[2.2]", {2, 2}, none, {}, "<p>html</p>");
        row("BODY[2.2.MIME]", {2, 2}, mime, {}, eol("Content-Type: text/html\n\n"));
        const QByteArray innerHeader = eol("From: c@example.org\nSubject: inner message\n"
                                           "Content-Type: multipart/mixed; boundary=b2\n\n");
        const QByteArray innerText = eol("--b2\nContent-Type: text/plain\n\ninner body\n--b2\n"
                                         "Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\nAAEC\n--b2--");
        row("BODY[3]", {3}, none, {}, innerHeader + innerText);
        row("BODY[3.MIME]", {3}, mime, {}, eol("Content-Type: message/rfc822\n\n"));
        row("BODY[3.HEADER]", {3}, header, {}, innerHeader);
        row("BODY[3.TEXT]", {3}, text, {}, innerText);
        row("BODY[3.HEADER.FIELDS (Subject)]", {3}, fields, {"Subject"}, eol("Subject: inner message\n\n"));
        row("BODY[3.1]", {3, 1}, none, {}, "inner body");
        row("BODY[3.2]", {3, 2}, none, {}, "AAEC");
        row("BODY[3.2.MIME]", {3, 2}, mime, {},
            eol("Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"));
        row("BODY[4]", {4}, none, {}, "JVBERi0xLjQK");
        row("BODY[0]", {0}, none, {}, QByteArray());
        row("BODY[5]", {5}, none, {}, QByteArray());
        row("BODY[1.1]", {1, 1}, none, {}, QByteArray());
        row("BODY[2.3]", {2, 3}, none, {}, QByteArray());
        row("BODY[3.3]", {3, 3}, none, {}, QByteArray());
        row("BODY[3.1.1]", {3, 1, 1}, none, {}, QByteArray());
    }

    const QByteArray plain = crlf("Subject: plain\nX-Folded: a\n b\n\nline 1\nline 2\n");
    QTest::newRow("plain BODY[1] is the body") << plain << P{1} << none << F{} << crlf("line 1\nline 2\n");
    QTest::newRow("plain BODY[1.MIME] is the header") << plain << P{1} << mime << F{}
                                                      << crlf("Subject: plain\nX-Folded: a\n b\n\n");
    QTest::newRow("plain BODY[2]") << plain << P{2} << none << F{} << QByteArray();
    QTest::newRow("folded field kept whole") << plain << P{} << fields << F{"x-folded"}
                                             << crlf("X-Folded: a\n b\n\n");
    QTest::newRow("no matching field") << plain << P{} << fields << F{"Cc"} << QByteArray("\r\n");
    const QByteArray noBlank = crlf("Subject: x\nFrom: a@b.test");
    QTest::newRow("no blank line: HEADER") << noBlank << P{} << header << F{} << noBlank;
    QTest::newRow("no blank line: TEXT") << noBlank << P{} << text << F{} << QByteArray("");
    QTest::newRow("no blank line: HEADER.FIELDS") << noBlank << P{} << fields << F{"From"}
                                                  << QByteArray("From: a@b.test\r\n\r\n");
    const QByteArray missingClose = crlf("Content-Type: multipart/mixed; boundary=x\n\npre\n--x\n\nhello\n");
    QTest::newRow("missing close: last part runs to the end") << missingClose << P{1} << none << F{}
                                                              << QByteArray("hello\r\n");
    QTest::newRow("part without header: empty MIME") << missingClose << P{1} << mime << F{} << QByteArray("\r\n");
    const QByteArray rfc822Top = crlf("Content-Type: message/rfc822\n\nSubject: in\n\nbody\n");
    QTest::newRow("top-level message/rfc822: BODY[1.HEADER]") << rfc822Top << P{1} << header << F{}
                                                              << crlf("Subject: in\n\n");
    QTest::newRow("top-level message/rfc822: BODY[1.1]") << rfc822Top << P{1, 1} << none << F{}
                                                         << crlf("body\n");
}

void TestMessageIndex::section()
{
    QFETCH(QByteArray, raw);
    QFETCH(QList<uint32_t>, part);
    QFETCH(int, text);
    QFETCH(QList<QByteArray>, fields);
    QFETCH(QByteArray, expected);
    const std::optional<QByteArray> got = extractSection(raw, part, SectionText(text), fields);
    if (expected.isNull()) {
        QVERIFY2(!got, got ? got->constData() : "");
        return;
    }
    QVERIFY(got.has_value());
    QCOMPARE(*got, expected);
}

void TestMessageIndex::binary_data()
{
    QTest::addColumn<QByteArray>("raw");
    QTest::addColumn<QList<uint32_t>>("part");
    QTest::addColumn<QByteArray>("expected"); // null = no such part
    QTest::addColumn<bool>("unknown");

    using P = QList<uint32_t>;
    const QByteArray nested = crlf(dataFile("nested.eml"));
    QTest::newRow("base64 in message/rfc822") << nested << P{3, 2} << QByteArray("\x00\x01\x02", 3) << false;
    QTest::newRow("base64 pdf") << nested << P{4} << QByteArray("%PDF-1.4\n") << false;
    QTest::newRow("8bit identity") << nested << P{1} << QByteArray("Gr\xc3\xbc\xc3\x9f""e") << false;
    QTest::newRow("no part") << nested << P{9} << QByteArray() << false;
    const QByteArray att = crlf(dataFile("attachment.eml"));
    QTest::newRow("quoted-printable") << att << P{1}
                                      << QByteArray("Hallo Mary, \r\nanbei der Bericht f\xfcr M\xe4rz. Gr\xfc\xdf""e") << false;
    QTest::newRow("base64") << att << P{2} << QByteArray("Hello world!") << false;
    QTest::newRow("qp: trailing space, bad escape, soft break at end")
        << crlf("Content-Transfer-Encoding: Quoted-Printable\n\na=3Db =ZZ  \nc=\n")
        << P{1} << QByteArray("a=b =ZZ\r\nc") << false;
    QTest::newRow("unknown encoding") << crlf("Content-Transfer-Encoding: x-uuencode\n\nbegin\n")
                                      << P{1} << QByteArray() << true;
}

void TestMessageIndex::binary()
{
    QFETCH(QByteArray, raw);
    QFETCH(QList<uint32_t>, part);
    QFETCH(QByteArray, expected);
    QFETCH(bool, unknown);
    bool unknownEncoding = !unknown;
    const std::optional<QByteArray> got = extractBinary(raw, part, &unknownEncoding);
    QCOMPARE(unknownEncoding, unknown);
    QCOMPARE(got.has_value(), !expected.isNull());
    if (got)
        QCOMPARE(*got, expected);
}

void TestMessageIndex::imapStringQuoting_data()
{
    QTest::addColumn<QByteArray>("value");
    QTest::addColumn<bool>("nilIfNull");
    QTest::addColumn<QByteArray>("expected");
    QTest::newRow("null") << QByteArray() << true << QByteArray("NIL");
    QTest::newRow("null, no NIL") << QByteArray() << false << QByteArray("\"\"");
    QTest::newRow("empty") << QByteArray("") << true << QByteArray("\"\"");
    QTest::newRow("quotes and backslash") << QByteArray("a\"b\\c") << true << QByteArray("\"a\\\"b\\\\c\"");
    QTest::newRow("8-bit") << QByteArray("\xc3\xa9") << true << QByteArray("{2}\r\n\xc3\xa9");
    QTest::newRow("CRLF") << QByteArray("a\r\nb") << true << QByteArray("{4}\r\na\r\nb");
}

void TestMessageIndex::imapStringQuoting()
{
    QFETCH(QByteArray, value);
    QFETCH(bool, nilIfNull);
    QFETCH(QByteArray, expected);
    QCOMPARE(imapString(value, nilIfNull), expected);
}

void TestMessageIndex::decodedFields()
{
    const MessageIndex a = indexMessage(crlf(dataFile("attachment.eml")));
    QCOMPARE(a.subject, QStringLiteral("Bericht für März"));
    QCOMPARE(a.from, QStringLiteral("john@example.com"));
    QCOMPARE(a.fromName, QStringLiteral("Doe, John"));
    QCOMPARE(a.to, QList<QString>{QStringLiteral("mary@example.net")});
    QCOMPARE(a.messageId, QStringLiteral("abc.123@example.com"));
    QVERIFY(a.date.has_value());
    QCOMPARE(a.date->toUTC(), QDateTime(QDate(1997, 2, 13), QTime(22, 32, 54), Qt::UTC));
    QCOMPARE(a.date->offsetFromUtc(), 3600);

    const MessageIndex b = indexMessage(crlf("From: =?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>\n"
                                             "Cc: G:x@y.test,z@y.test;, w@v.test\n"
                                             "Subject: =?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\n"
                                             " =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=\n"
                                             "Date: not a date\n\n"));
    QCOMPARE(b.subject, QStringLiteral("If you can read this you understand the example."));
    QCOMPARE(b.fromName, QStringLiteral("Keith Moore"));
    QCOMPARE(b.cc, (QList<QString>{"x@y.test", "z@y.test", "w@v.test"}));
    QVERIFY(!b.date.has_value());
}

void TestMessageIndex::limits()
{
    // 300 nested multiparts and 300 nested message/rfc822: bounded depth, no crash.
    QByteArray deep;
    for (int i = 0; i < 300; ++i)
        deep += "Content-Type: multipart/mixed; boundary=b" + QByteArray::number(i) + "\r\n\r\n--b"
              + QByteArray::number(i) + "\r\n";
    deep += "\r\nleaf\r\n";
    const MessageIndex m = indexMessage(deep);
    QVERIFY(m.bodyStructure.count('(') < 1000);
    QVERIFY(m.bodyStructure.contains(R"("application" "octet-stream")"));
    QList<uint32_t> path(90, 1);
    QVERIFY(extractSection(deep, path).has_value());
    path = QList<uint32_t>(250, 1);
    QVERIFY(!extractSection(deep, path).has_value());

    QByteArray messages;
    for (int i = 0; i < 300; ++i)
        messages += "Content-Type: message/rfc822\r\n\r\n";
    QVERIFY(indexMessage(messages).bodyStructure.contains(R"("application" "octet-stream")"));

    // Many parts: capped, still well-formed.
    QByteArray wide = "Content-Type: multipart/mixed; boundary=w\r\n\r\n";
    for (int i = 0; i < 12000; ++i)
        wide += "--w\r\n\r\nx\r\n";
    const MessageIndex w = indexMessage(wide);
    QVERIFY(w.bodyStructure.count("\"plain\"") < 10000);
    QVERIFY(w.bodyStructure.endsWith(R"("mixed" ("boundary" "w") NIL NIL NIL))"));

    for (const QByteArray &junk : {QByteArray(), QByteArray("\r\n"), QByteArray("\n\n\n"), QByteArray(":"),
                                   QByteArray("Content-Type: multipart/x; boundary=\"\r\n\r\n--\r\n"),
                                   QByteArray("To: ,,;;<<>>@@::\"\\(((\r\n\r\n")}) {
        const MessageIndex j = indexMessage(junk);
        QVERIFY(j.bodyStructure.startsWith('('));
        QVERIFY(j.envelope.startsWith('('));
    }
}

void TestMessageIndex::concurrentIndexing()
{
    const QByteArray raw = crlf(dataFile("nested.eml")) + crlf(dataFile("attachment.eml"));
    const QByteArray att = crlf(dataFile("attachment.eml"));
    const MessageIndex reference = indexMessage(att);
    std::vector<std::thread> threads;
    std::atomic<int> mismatches{0};
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 50; ++i) {
                const MessageIndex m = indexMessage(att);
                if (m.bodyStructure != reference.bodyStructure || m.subject != reference.subject
                    || m.date != reference.date)
                    ++mismatches;
            }
        });
    }
    for (auto &t : threads)
        t.join();
    QCOMPARE(mismatches.load(), 0);
}

QTEST_APPLESS_MAIN(TestMessageIndex)
#include "tst_messageindex.moc"
