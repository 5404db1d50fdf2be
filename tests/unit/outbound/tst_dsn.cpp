// SPDX-License-Identifier: AGPL-3.0-or-later
// outbound/dsn: RFC 3464 reports in RFC 6522 multipart/report, read back by a small
// parser of the test's own (no code shared with the builder): three parts, their types,
// every field and its value, what is returned of the original, and line discipline
// (CRLF only, no line over 998 octets). RFC 3461 §4 xtext with the RFC's examples.
#include "outbound/dsn.h"

#include <QRandomGenerator>
#include <QTest>

using namespace valv::outbound;
using Action = DsnRecipient::Action;

Q_DECLARE_METATYPE(valv::outbound::DsnInput)

namespace {

const QByteArray kBoundary = "=_valv-test-boundary_=";
const QByteArray kOriginal = "From: Alice <alice@a.test>\r\n"
                             "To: Bob <bob@b.test>\r\n"
                             "Subject: Lunch\r\n"
                             "Message-ID: <1@a.test>\r\n"
                             "\r\n"
                             "Shall we meet at noon?\r\n"
                             "Body line with a marker: BODY-MARKER\r\n";

QDateTime utc(const char *iso) { return QDateTime::fromString(QString::fromLatin1(iso), Qt::ISODate).toUTC(); }

DsnRecipient failed(const QString &to)
{
    DsnRecipient r;
    r.finalRecipient = to;
    r.originalRecipient = "rfc822;" + to;
    r.action = Action::Failed;
    r.status = "5.1.1";
    r.remoteMta = "mx.b.test";
    r.diagnostic = "550 5.1.1 No such user";
    r.lastAttempt = utc("2024-03-01T10:00:05Z");
    return r;
}

DsnInput baseInput()
{
    DsnInput in;
    in.reportingMta = "mail.a.test";
    in.sender = "alice@a.test";
    in.envelopeId = "QQ314159";
    in.arrivalDate = utc("2024-03-01T10:00:00Z");
    in.recipients = {failed("bob@b.test")};
    in.original = kOriginal;
    in.now = utc("2024-03-01T10:00:06Z");
    in.messageId = "<dsn.1@mail.a.test>";
    in.boundary = kBoundary;
    return in;
}

// --- the test's own reader ---------------------------------------------------------

using Fields = QList<QPair<QByteArray, QByteArray>>; // name lower-cased, value unfolded

struct Part {
    Fields headers;
    QByteArray content;
};

struct Report {
    Fields headers;
    QList<Part> parts;
    bool closed = false; // the close delimiter was found
};

// Header fields up to the first empty line; folded lines joined (the CRLF dropped).
Fields readFields(const QByteArray &block)
{
    Fields out;
    for (const QByteArray &line : block.split('\n')) {
        QByteArray l = line;
        if (l.endsWith('\r'))
            l.chop(1);
        if (l.isEmpty())
            continue;
        if ((l.startsWith(' ') || l.startsWith('\t')) && !out.isEmpty()) {
            out.last().second += l;
            continue;
        }
        const qsizetype colon = l.indexOf(':');
        if (colon < 0)
            continue;
        out.append({l.first(colon).trimmed().toLower(), l.sliced(colon + 1).trimmed()});
    }
    return out;
}

QByteArray value(const Fields &f, const QByteArray &name)
{
    for (const auto &[n, v] : f) {
        if (n == name.toLower())
            return v;
    }
    return {};
}

int count(const Fields &f, const QByteArray &name)
{
    return int(std::count_if(f.begin(), f.end(), [&](const auto &p) { return p.first == name.toLower(); }));
}

QPair<QByteArray, QByteArray> splitHead(const QByteArray &entity)
{
    const qsizetype end = entity.indexOf("\r\n\r\n");
    if (end < 0)
        return {entity, {}};
    return {entity.first(end + 2), entity.sliced(end + 4)};
}

Report readReport(const QByteArray &msg)
{
    Report r;
    const auto [head, body] = splitHead(msg);
    r.headers = readFields(head);
    const QByteArray ct = value(r.headers, "content-type");
    const qsizetype b = ct.indexOf("boundary=\"");
    if (b < 0)
        return r;
    const QByteArray boundary = ct.mid(b + 10, ct.indexOf('"', b + 10) - b - 10);
    // Delimiters are "--boundary" at a line start (RFC 2046 §5.1.1).
    const QByteArray delim = "\r\n--" + boundary;
    const QByteArray text = "\r\n" + body;
    qsizetype at = text.indexOf(delim);
    while (at >= 0) {
        const qsizetype after = at + delim.size();
        if (text.mid(after, 2) == "--") {
            r.closed = true;
            break;
        }
        const qsizetype start = after + 2; // the delimiter's CRLF
        const qsizetype next = text.indexOf(delim, start);
        const QByteArray entity = text.mid(start, next < 0 ? -1 : next - start);
        const auto [ph, pc] = splitHead(entity);
        r.parts.append({readFields(ph), pc});
        at = next;
    }
    return r;
}

QByteArray qpDecode(const QByteArray &qp)
{
    QByteArray out;
    for (qsizetype i = 0; i < qp.size(); ++i) {
        if (qp[i] == '=' && qp.mid(i + 1, 2) == "\r\n") {
            i += 2;
        } else if (qp[i] == '=' && i + 2 < qp.size()) {
            out += char(qp.mid(i + 1, 2).toInt(nullptr, 16));
            i += 2;
        } else {
            out += qp[i];
        }
    }
    return out;
}

// The per-message block and the per-recipient blocks of a message/delivery-status.
QList<Fields> statusBlocks(const QByteArray &content)
{
    QList<Fields> out;
    const QByteArray &c = content;
    qsizetype from = 0;
    while (from < c.size()) {
        qsizetype end = c.indexOf("\r\n\r\n", from);
        if (end < 0)
            end = c.size();
        out << readFields(c.mid(from, end - from));
        from = end + 4;
    }
    return out;
}

} // namespace

class TestDsn : public QObject {
    Q_OBJECT

private slots:
    void structure_data()
    {
        QTest::addColumn<DsnInput>("input");
        QTest::addColumn<QByteArray>("subject");
        QTest::addColumn<QByteArray>("returnedType");
        QTest::addColumn<QByteArrayList>("actions");

        QTest::newRow("failed") << baseInput() << QByteArray("Undelivered Mail Returned to Sender")
                                << QByteArray("message/rfc822") << QByteArrayList{"failed"};
        {
            DsnInput in = baseInput();
            in.headersOnly = true;
            QTest::newRow("RET=HDRS") << in << QByteArray("Undelivered Mail Returned to Sender")
                                      << QByteArray("text/rfc822-headers") << QByteArrayList{"failed"};
        }
        {
            DsnInput in = baseInput();
            in.maxReturnedSize = kOriginal.size() - 1;
            QTest::newRow("oversize") << in << QByteArray("Undelivered Mail Returned to Sender")
                                      << QByteArray("text/rfc822-headers") << QByteArrayList{"failed"};
        }
        {
            DsnInput in = baseInput();
            in.maxReturnedSize = kOriginal.size();
            QTest::newRow("at size limit") << in << QByteArray("Undelivered Mail Returned to Sender")
                                           << QByteArray("message/rfc822") << QByteArrayList{"failed"};
        }
        {
            DsnInput in = baseInput();
            in.recipients[0].action = Action::Delayed;
            in.recipients[0].status = "4.4.1";
            in.recipients[0].willRetryUntil = utc("2024-03-06T10:00:00Z");
            QTest::newRow("delayed") << in << QByteArray("Delayed Mail (still being retried)")
                                     << QByteArray("message/rfc822") << QByteArrayList{"delayed"};
        }
        {
            DsnInput in = baseInput();
            in.recipients[0].action = Action::Delivered;
            in.recipients[0].status.clear();
            in.headersOnly = true;
            QTest::newRow("delivered") << in << QByteArray("Successful Mail Delivery Report")
                                       << QByteArray("text/rfc822-headers") << QByteArrayList{"delivered"};
        }
        {
            DsnInput in = baseInput();
            DsnRecipient delayed = failed("carol@c.test");
            delayed.action = Action::Delayed;
            DsnRecipient relayed = failed("dave@d.test");
            relayed.action = Action::Relayed;
            in.recipients << delayed << relayed;
            QTest::newRow("three recipients, one failed")
                << in << QByteArray("Undelivered Mail Returned to Sender") << QByteArray("message/rfc822")
                << QByteArrayList{"failed", "delayed", "relayed"};
        }
        {
            DsnInput in = baseInput();
            in.recipients[0].action = Action::Delivered;
            DsnRecipient delayed = failed("carol@c.test");
            delayed.action = Action::Delayed;
            DsnRecipient expanded = failed("list@d.test");
            expanded.action = Action::Expanded;
            in.recipients << delayed << expanded;
            QTest::newRow("delivered and delayed") << in << QByteArray("Delayed Mail (still being retried)")
                                                   << QByteArray("message/rfc822")
                                                   << QByteArrayList{"delivered", "delayed", "expanded"};
        }
        {
            DsnInput in = baseInput();
            in.original = QByteArray(kOriginal).replace("\r\n", "\n");
            QTest::newRow("LF original") << in << QByteArray("Undelivered Mail Returned to Sender")
                                         << QByteArray("message/rfc822") << QByteArrayList{"failed"};
        }
        {
            DsnInput in = baseInput();
            in.original = "Subject: no body\r\n";
            QTest::newRow("original without body") << in << QByteArray("Undelivered Mail Returned to Sender")
                                                   << QByteArray("message/rfc822") << QByteArrayList{"failed"};
        }
        {
            DsnInput in = baseInput();
            in.original = kOriginal + QByteArray(2000, 'x') + "\r\n";
            QTest::newRow("original with a 2000-octet line")
                << in << QByteArray("Undelivered Mail Returned to Sender") << QByteArray("text/rfc822-headers")
                << QByteArrayList{"failed"};
        }
        {
            DsnInput in = baseInput();
            in.recipients[0].diagnostic = QStringLiteral("550-5.7.1 ") + QString(600, u'y') + "\r\n550-5.7.1 "
                                          + QString(600, u'z') + "\r\n550 5.7.1 " + QString(1200, u'w');
            QTest::newRow("long multi-line reply") << in << QByteArray("Undelivered Mail Returned to Sender")
                                                   << QByteArray("message/rfc822") << QByteArrayList{"failed"};
        }
    }

    // Common to every report: the RFC 6522 frame, the required fields, the line discipline.
    void structure()
    {
        QFETCH(DsnInput, input);
        QFETCH(QByteArray, subject);
        QFETCH(QByteArray, returnedType);
        QFETCH(QByteArrayList, actions);
        const QByteArray msg = buildDsn(input);

        QVERIFY(msg.endsWith("\r\n"));
        for (qsizetype i = 0; i < msg.size(); ++i) {
            if (msg[i] == '\n')
                QVERIFY2(i > 0 && msg[i - 1] == '\r', "bare LF");
            if (msg[i] == '\r')
                QVERIFY2(i + 1 < msg.size() && msg[i + 1] == '\n', "bare CR");
        }
        for (const QByteArray &line : msg.split('\n'))
            QVERIFY2(line.size() <= 999, line.left(80).constData()); // 998 + the CR

        const Report r = readReport(msg);
        QCOMPARE(value(r.headers, "from"), QByteArray("Mail Delivery System <MAILER-DAEMON@mail.a.test>"));
        QCOMPARE(value(r.headers, "to"), QByteArray("<alice@a.test>"));
        QCOMPARE(value(r.headers, "subject"), subject);
        QCOMPARE(value(r.headers, "date"), QByteArray("Fri, 01 Mar 2024 10:00:06 +0000"));
        QCOMPARE(value(r.headers, "message-id"), QByteArray("<dsn.1@mail.a.test>"));
        QCOMPARE(value(r.headers, "mime-version"), QByteArray("1.0"));
        QCOMPARE(value(r.headers, "auto-submitted"), QByteArray("auto-replied"));
        for (const char *name : {"from", "to", "subject", "date", "message-id", "content-type"})
            QCOMPARE(count(r.headers, name), 1);
        const QByteArray ct = value(r.headers, "content-type");
        QVERIFY2(ct.startsWith("multipart/report;"), ct.constData());
        QVERIFY(ct.contains("report-type=delivery-status"));
        QVERIFY(ct.contains("boundary=\"" + kBoundary + '"'));

        QCOMPARE(r.parts.size(), 3);
        QVERIFY(r.closed);
        QCOMPARE(value(r.parts[0].headers, "content-type"), QByteArray("text/plain; charset=utf-8"));
        QCOMPARE(value(r.parts[1].headers, "content-type"), QByteArray("message/delivery-status"));
        QCOMPARE(value(r.parts[2].headers, "content-type"), returnedType);
        const QByteArray cte = value(r.parts[2].headers, "content-transfer-encoding");
        QVERIFY(cte.isEmpty() || cte == "7bit" || cte == "8bit");

        const QList<Fields> blocks = statusBlocks(r.parts[1].content);
        QCOMPARE(blocks.size(), 1 + actions.size());
        QCOMPARE(value(blocks[0], "reporting-mta"), QByteArray("dns; mail.a.test"));
        QCOMPARE(value(blocks[0], "original-envelope-id"), QByteArray("QQ314159"));
        QCOMPARE(value(blocks[0], "arrival-date"), QByteArray("Fri, 01 Mar 2024 10:00:00 +0000"));
        for (qsizetype i = 0; i < actions.size(); ++i) {
            const Fields &b = blocks[i + 1];
            const DsnRecipient &rcpt = input.recipients[i];
            QCOMPARE(value(b, "action"), actions[i]);
            QCOMPARE(value(b, "final-recipient"), "rfc822;" + rcpt.finalRecipient.toUtf8());
            QCOMPARE(value(b, "original-recipient"), "rfc822;" + rcpt.finalRecipient.toUtf8());
            QVERIFY(!value(b, "status").isEmpty());
            QCOMPARE(count(b, "will-retry-until"), actions[i] == "delayed" && rcpt.willRetryUntil.isValid() ? 1 : 0);
        }

        for (const QByteArray &line : r.parts[0].content.split('\n'))
            QVERIFY(line.size() <= 77); // quoted-printable: 76 + the CR
        const QByteArray text = qpDecode(r.parts[0].content);
        for (const DsnRecipient &rcpt : input.recipients)
            QVERIFY(text.contains(rcpt.finalRecipient.toUtf8()));

        // What is returned of the original.
        const QByteArray original = QByteArray(input.original).replace("\r\n", "\n").replace("\n", "\r\n");
        const QByteArray headers = original.left(original.indexOf("\r\n\r\n") + 2);
        if (returnedType == "message/rfc822") {
            QCOMPARE(r.parts[2].content, original);
        } else {
            QVERIFY(!r.parts[2].content.contains("BODY-MARKER"));
            QVERIFY(!r.parts[2].content.contains("xxxxxxxx"));
            QCOMPARE(r.parts[2].content, headers);
        }
    }

    void failedFields()
    {
        const QByteArray msg = buildDsn(baseInput());
        const Report r = readReport(msg);
        const QList<Fields> blocks = statusBlocks(r.parts[1].content);
        QCOMPARE(blocks.size(), 2);
        const Fields &b = blocks[1];
        QCOMPARE(value(b, "original-recipient"), QByteArray("rfc822;bob@b.test"));
        QCOMPARE(value(b, "final-recipient"), QByteArray("rfc822;bob@b.test"));
        QCOMPARE(value(b, "action"), QByteArray("failed"));
        QCOMPARE(value(b, "status"), QByteArray("5.1.1"));
        QCOMPARE(value(b, "remote-mta"), QByteArray("dns; mx.b.test"));
        QCOMPARE(value(b, "diagnostic-code"), QByteArray("smtp; 550 5.1.1 No such user"));
        QCOMPARE(value(b, "last-attempt-date"), QByteArray("Fri, 01 Mar 2024 10:00:05 +0000"));
        QCOMPARE(count(b, "will-retry-until"), 0);
        // Exactly these fields, in RFC 3464's order.
        QByteArrayList names;
        for (const auto &f : b)
            names << f.first;
        QCOMPARE(names, (QByteArrayList{"original-recipient", "final-recipient", "action", "status", "remote-mta",
                                        "diagnostic-code", "last-attempt-date"}));
        const QByteArray text = qpDecode(r.parts[0].content);
        QVERIFY(text.contains("could not be delivered"));
        QVERIFY(text.contains("550 5.1.1 No such user"));
        QVERIFY(text.contains("mx.b.test"));
        QVERIFY(text.contains("original message is attached"));
    }

    void defaultsAndOmissions_data()
    {
        QTest::addColumn<int>("action");
        QTest::addColumn<QByteArray>("status");
        QTest::newRow("failed") << int(Action::Failed) << QByteArray("5.0.0");
        QTest::newRow("delayed") << int(Action::Delayed) << QByteArray("4.0.0");
        QTest::newRow("delivered") << int(Action::Delivered) << QByteArray("2.0.0");
        QTest::newRow("relayed") << int(Action::Relayed) << QByteArray("2.0.0");
        QTest::newRow("expanded") << int(Action::Expanded) << QByteArray("2.0.0");
    }

    // Empty and invalid inputs omit their fields; an empty or malformed status gets the default.
    void defaultsAndOmissions()
    {
        QFETCH(int, action);
        QFETCH(QByteArray, status);
        for (const QString &given : {QString(), QStringLiteral("5.1"), QStringLiteral("x.1.1"), QStringLiteral("5.1.1\r\nX: y")}) {
            DsnInput in = baseInput();
            in.envelopeId.clear();
            in.arrivalDate = QDateTime();
            DsnRecipient r;
            r.finalRecipient = "bob@b.test";
            r.action = Action(action);
            r.status = given;
            in.recipients = {r};
            const Report rep = readReport(buildDsn(in));
            QCOMPARE(rep.parts.size(), 3);
            const QList<Fields> blocks = statusBlocks(rep.parts[1].content);
            QCOMPARE(blocks.size(), 2);
            QCOMPARE(blocks[0].size(), 1); // Reporting-MTA only
            QCOMPARE(value(blocks[1], "status"), status);
            QByteArrayList names;
            for (const auto &f : blocks[1])
                names << f.first;
            QCOMPARE(names, (QByteArrayList{"final-recipient", "action", "status"}));
        }
    }

    void delayedText()
    {
        DsnInput in = baseInput();
        in.recipients[0].action = Action::Delayed;
        in.recipients[0].status = "4.4.1";
        in.recipients[0].diagnostic.clear();
        in.recipients[0].remoteMta.clear();
        in.recipients[0].problem = "Connection refused by mx.b.test";
        in.recipients[0].willRetryUntil = utc("2024-03-06T10:00:00Z");
        const Report r = readReport(buildDsn(in));
        const Fields b = statusBlocks(r.parts[1].content).value(1);
        QCOMPARE(value(b, "will-retry-until"), QByteArray("Wed, 06 Mar 2024 10:00:00 +0000"));
        QCOMPARE(value(b, "status"), QByteArray("4.4.1"));
        QCOMPARE(count(b, "diagnostic-code"), 0);
        QCOMPARE(count(b, "remote-mta"), 0);
        const QByteArray text = qpDecode(r.parts[0].content);
        QVERIFY(text.contains("not been delivered"));
        QVERIFY(text.contains("Connection refused by mx.b.test"));
        QVERIFY(text.contains("keep trying until Wed, 06 Mar 2024 10:00:00 +0000"));
    }

    // Will-Retry-Until belongs to delayed recipients only.
    void willRetryOnlyWhenDelayed()
    {
        DsnInput in = baseInput();
        in.recipients[0].willRetryUntil = utc("2024-03-06T10:00:00Z");
        const Report r = readReport(buildDsn(in));
        QCOMPARE(count(statusBlocks(r.parts[1].content).value(1), "will-retry-until"), 0);
    }

    void nullMxProblem()
    {
        DsnInput in = baseInput();
        in.recipients[0].diagnostic.clear();
        in.recipients[0].remoteMta.clear();
        in.recipients[0].status = "5.1.10";
        in.recipients[0].problem = "The domain b.test has no mail server (null MX)";
        const Report r = readReport(buildDsn(in));
        QCOMPARE(value(statusBlocks(r.parts[1].content).value(1), "status"), QByteArray("5.1.10"));
        QVERIFY(qpDecode(r.parts[0].content).contains("The domain b.test has no mail server (null MX)"));
    }

    // RFC 6533 §3: a non-ASCII address is of type utf-8, written as utf-8-addr-xtext in the
    // 7-bit message/delivery-status; the people's part shows it as it is.
    void nonAsciiRecipient()
    {
        DsnInput in = baseInput();
        in.recipients[0].finalRecipient = QStringLiteral("bj\u00f6rn@b\u00fccher.test");
        in.recipients[0].originalRecipient = QStringLiteral("rfc822;bj\u00f6rn+x=y@b\u00fccher.test");
        const Report r = readReport(buildDsn(in));
        const Fields b = statusBlocks(r.parts[1].content).value(1);
        QCOMPARE(value(b, "final-recipient"), QByteArray("utf-8;bj\\x{F6}rn@b\\x{FC}cher.test"));
        QCOMPARE(value(b, "original-recipient"), QByteArray("utf-8;bj\\x{F6}rn\\x{2B}x\\x{3D}y@b\\x{FC}cher.test"));
        for (char c : r.parts[1].content)
            QVERIFY(uchar(c) < 0x80);
        for (char c : r.parts[0].content)
            QVERIFY(uchar(c) < 0x80); // quoted-printable
        QVERIFY(qpDecode(r.parts[0].content).contains(QStringLiteral("bj\u00f6rn@b\u00fccher.test").toUtf8()));
    }

    void originalRecipientTypes_data()
    {
        QTest::addColumn<QString>("orcpt");
        QTest::addColumn<QByteArray>("field");
        QTest::newRow("rfc822") << "rfc822;bob@b.test" << QByteArray("rfc822;bob@b.test");
        QTest::newRow("no type") << "bob@b.test" << QByteArray("rfc822;bob@b.test");
        QTest::newRow("other type kept") << "x400;/G=bob/" << QByteArray("x400;/G=bob/");
        QTest::newRow("utf-8 type, already escaped") << "utf-8;b\\x{F8}b@b.test" << QByteArray("utf-8;b\\x{F8}b@b.test");
        QTest::newRow("controls dropped") << "rfc822;bob@b.test\r\nX-Evil: 1" << QByteArray("rfc822;bob@b.test X-Evil: 1");
    }

    void originalRecipientTypes()
    {
        QFETCH(QString, orcpt);
        QFETCH(QByteArray, field);
        DsnInput in = baseInput();
        in.recipients[0].originalRecipient = orcpt;
        const Report r = readReport(buildDsn(in));
        const Fields b = statusBlocks(r.parts[1].content).value(1);
        QCOMPARE(value(b, "original-recipient"), field);
        QCOMPARE(count(b, "x-evil"), 0);
    }

    // A remote reply cannot add header or status fields, and a long one is folded.
    void hostileDiagnostic()
    {
        DsnInput in = baseInput();
        in.recipients[0].diagnostic = "550 no\r\nAction: delivered\r\n\r\n--" + QString::fromLatin1(kBoundary)
                                      + "\r\nX: \xff";
        in.sender = "alice@a.test>\r\nBcc: <eve@e.test";
        const QByteArray msg = buildDsn(in);
        const Report r = readReport(msg);
        QCOMPARE(r.parts.size(), 3);
        QCOMPARE(count(r.headers, "bcc"), 0);
        const QList<Fields> blocks = statusBlocks(r.parts[1].content);
        QCOMPARE(blocks.size(), 2);
        QCOMPARE(count(blocks[1], "action"), 1);
        QCOMPARE(value(blocks[1], "action"), QByteArray("failed"));
        QVERIFY(value(blocks[1], "diagnostic-code").startsWith("smtp; 550 no Action: delivered --"));
    }

    void longDiagnosticFolded()
    {
        DsnInput in = baseInput();
        QString reply;
        for (int i = 0; i < 40; ++i)
            reply += QStringLiteral("550-5.7.1 word%1 more words here\r\n").arg(i);
        reply += QStringLiteral("550 5.7.1 done");
        in.recipients[0].diagnostic = reply;
        const QByteArray msg = buildDsn(in);
        const Report r = readReport(msg);
        const QByteArray diag = value(statusBlocks(r.parts[1].content).value(1), "diagnostic-code");
        QVERIFY(diag.startsWith("smtp; 550-5.7.1 word0 more words here 550-5.7.1 word1"));
        QVERIFY(diag.endsWith("550 5.7.1 done"));
        const qsizetype start = msg.indexOf("Diagnostic-Code:");
        const qsizetype end = msg.indexOf("\r\nLast-Attempt-Date:");
        for (const QByteArray &line : msg.mid(start, end - start).split('\n'))
            QVERIFY(line.size() <= 79);
    }

    void eightBitOriginal()
    {
        DsnInput in = baseInput();
        in.original = "Subject: caf\xc3\xa9\r\n\r\nna\xc3\xafve\r\n";
        const QByteArray msg = buildDsn(in);
        const Report r = readReport(msg);
        QCOMPARE(value(r.headers, "content-transfer-encoding"), QByteArray("8bit"));
        QCOMPARE(value(r.parts[2].headers, "content-transfer-encoding"), QByteArray("8bit"));
        QCOMPARE(r.parts[2].content, in.original);

        const Report seven = readReport(buildDsn(baseInput()));
        QCOMPARE(count(seven.headers, "content-transfer-encoding"), 0);
        QCOMPARE(value(seven.parts[2].headers, "content-transfer-encoding"), QByteArray("7bit"));
    }

    void headerSection_data()
    {
        QTest::addColumn<QByteArray>("message");
        QTest::addColumn<QByteArray>("headers");
        QTest::newRow("CRLF") << QByteArray("A: 1\r\nB: 2\r\n\r\nbody\r\n\r\nmore") << QByteArray("A: 1\r\nB: 2\r\n");
        QTest::newRow("LF") << QByteArray("A: 1\nB: 2\n\nbody\n") << QByteArray("A: 1\nB: 2\n");
        QTest::newRow("no body") << QByteArray("A: 1\r\nB: 2\r\n") << QByteArray("A: 1\r\nB: 2\r\n");
        QTest::newRow("no line end") << QByteArray("A: 1") << QByteArray("A: 1");
        QTest::newRow("empty header") << QByteArray("\r\nbody\r\n") << QByteArray();
        QTest::newRow("empty") << QByteArray() << QByteArray();
    }

    void headerSection()
    {
        QFETCH(QByteArray, message);
        QFETCH(QByteArray, headers);
        QCOMPARE(valv::outbound::headerSection(message), headers);
    }

    // A boundary that the original contains is not used as it is.
    void boundaryClash()
    {
        DsnInput in = baseInput();
        in.original = kOriginal + "--" + kBoundary + "\r\n";
        const QByteArray msg = buildDsn(in);
        const Report r = readReport(msg);
        QCOMPARE(r.parts.size(), 3);
        QVERIFY(r.closed);
        QCOMPARE(r.parts[2].content, in.original);
        QVERIFY(!value(r.headers, "content-type").contains("boundary=\"" + kBoundary + '"'));

        in.boundary.clear();
        QCOMPARE(readReport(buildDsn(in)).parts.size(), 3);
    }

    void xtext_data()
    {
        QTest::addColumn<QByteArray>("raw");
        QTest::addColumn<QByteArray>("encoded");
        // RFC 3461 §4 and §4.2's ORCPT examples.
        QTest::newRow("plain") << QByteArray("bob@b.test") << QByteArray("bob@b.test");
        QTest::newRow("plus") << QByteArray("+") << QByteArray("+2B");
        QTest::newRow("equals") << QByteArray("=") << QByteArray("+3D");
        QTest::newRow("space") << QByteArray("a b") << QByteArray("a+20b");
        QTest::newRow("rfc 3461 orcpt") << QByteArray("rfc822;Bob+Smith@b.test") << QByteArray("rfc822;Bob+2BSmith@b.test");
        QTest::newRow("controls") << QByteArray("\r\n\t\x7f", 4) << QByteArray("+0D+0A+09+7F");
        QTest::newRow("nul") << QByteArray("\0", 1) << QByteArray("+00");
        QTest::newRow("8-bit") << QByteArray("\xc3\xa9") << QByteArray("+C3+A9");
        QTest::newRow("printable edge") << QByteArray("!~") << QByteArray("!~");
        QTest::newRow("empty") << QByteArray() << QByteArray();
    }

    void xtext()
    {
        QFETCH(QByteArray, raw);
        QFETCH(QByteArray, encoded);
        QCOMPARE(xtextEncode(raw), encoded);
        QCOMPARE(xtextDecode(encoded), raw);
    }

    void xtextLenient_data()
    {
        QTest::addColumn<QByteArray>("xtext");
        QTest::addColumn<QByteArray>("decoded");
        QTest::newRow("lower-case hex") << QByteArray("a+2bb") << QByteArray("a+b");
        QTest::newRow("lone plus at end") << QByteArray("a+") << QByteArray("a+");
        QTest::newRow("one digit at end") << QByteArray("a+2") << QByteArray("a+2");
        QTest::newRow("not hex") << QByteArray("a+ZZb") << QByteArray("a+ZZb");
        QTest::newRow("half hex") << QByteArray("+2G") << QByteArray("+2G");
        QTest::newRow("raw space kept") << QByteArray("a b") << QByteArray("a b");
        QTest::newRow("two in a row") << QByteArray("+2B+3D") << QByteArray("+=");
    }

    void xtextLenient()
    {
        QFETCH(QByteArray, xtext);
        QFETCH(QByteArray, decoded);
        QCOMPARE(xtextDecode(xtext), decoded);
    }

    void xtextRoundTripAllBytes()
    {
        QByteArray all;
        for (int c = 0; c < 256; ++c)
            all += char(c);
        const QByteArray enc = xtextEncode(all);
        for (char c : enc)
            QVERIFY(uchar(c) >= 33 && uchar(c) <= 126 && c != '=');
        QCOMPARE(xtextDecode(enc), all);
        QRandomGenerator rng(3);
        for (int i = 0; i < 500; ++i) {
            QByteArray s;
            for (int j = int(rng.bounded(40)); j > 0; --j)
                s += char(rng.bounded(256));
            QCOMPARE(xtextDecode(xtextEncode(s)), s);
        }
    }
};

QTEST_GUILESS_MAIN(TestDsn)
#include "tst_dsn.moc"
