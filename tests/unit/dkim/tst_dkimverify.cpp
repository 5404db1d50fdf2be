// SPDX-License-Identifier: AGPL-3.0-or-later
// dkim verification: tag lists (RFC 6376 §3.2), DKIM-Signature fields (§3.5, §6.1.1), key
// records (§3.6.1), simple canonicalization (§3.4.1, §3.4.3, the §3.4.6 example), the
// RFC 8463 Appendix A message with both published keys, messages signed by dkimpy
// (tests/data/dkim, written once by make_vectors.py), round trips through our signer,
// tampering, DNS answers, the result mapping, and the state machine itself.
#include "dkim/canonicalize.h"
#include "dkim/dkimkey.h"
#include "dkim/dkimsign.h"
#include "dkim/dkimtags.h"
#include "dkim/dkimverify.h"

#include <QFile>
#include <QHash>
#include <QRandomGenerator>
#include <QTest>

using namespace valv;
using namespace valv::dkim;

namespace {

constexpr qint64 kNow = 2000000000; // after every t= in the data (2033)

QByteArray crlf(QByteArray s) { return s.replace("\n", "\r\n"); }

QByteArray dataFile(const QString &name)
{
    QFile f(QStringLiteral(VALV_TEST_DATA "/dkim/") + name);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

auth::DnsAnswer txt(QList<QByteArray> records)
{
    auth::DnsAnswer a;
    a.txt = std::move(records);
    return a;
}

auth::DnsAnswer status(auth::DnsAnswer::Status s)
{
    auth::DnsAnswer a;
    a.status = s;
    return a;
}

using Dns = QHash<QString, auth::DnsAnswer>; // absent names: NXDOMAIN

// The key records make_vectors.py published.
Dns vectorDns()
{
    Dns dns;
    for (const QByteArray &line : dataFile(QStringLiteral("keys.txt")).split('\n')) {
        const qsizetype space = line.indexOf(' ');
        if (space > 0)
            dns.insert(QString::fromLatin1(line.first(space)), txt({line.mid(space + 1)}));
    }
    return dns;
}

struct Run {
    QList<SignatureOutcome> outcomes;
    QStringList asked;
};

Run verify(const QByteArray &message, const Dns &dns, qint64 now = kNow, int max = 10)
{
    DkimVerifier v(message, now, max);
    Run run;
    for (int i = 0; i < 100; ++i) {
        const auto q = v.next();
        if (!q)
            break;
        if (q->type != auth::DnsQuestion::Type::TXT)
            return {};
        run.asked.append(q->name);
        v.answer(dns.value(q->name, status(auth::DnsAnswer::Status::NxDomain)));
    }
    run.outcomes = v.outcomes();
    return run;
}

// "pass,fail" — the results in header order.
QByteArray results(const QList<SignatureOutcome> &outcomes)
{
    QByteArrayList names;
    for (const SignatureOutcome &o : outcomes)
        names.append(verifyResultName(o.result));
    return names.join(',');
}

QByteArray problems(const QList<SignatureOutcome> &outcomes)
{
    QByteArrayList all;
    for (const SignatureOutcome &o : outcomes)
        all.append(o.problem.toUtf8());
    return all.join(" | ");
}

// RFC 8463 Appendix A: the message with both signatures, and the two key records.
const QByteArray kRfc8463Signed = crlf(
    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\n"
    " d=football.example.com; i=@football.example.com;\n"
    " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\n"
    " subject : date : message-id : from : subject : date;\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\n"
    " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\n"
    " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\n"
    "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\n"
    " d=football.example.com; i=@football.example.com;\n"
    " q=dns/txt; s=test; t=1528637909; h=from : to : subject :\n"
    " date : message-id : from : subject : date;\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\n"
    " b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\n"
    " DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\n"
    " dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\n"
    "From: Joe SixPack <joe@football.example.com>\n"
    "To: Suzie Q <suzie@shopping.example.net>\n"
    "Subject: Is dinner ready?\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\n"
    "\n"
    "Hi.\n"
    "\n"
    "We lost the game.  Are you hungry yet?\n"
    "\n"
    "Joe.\n");
const Dns kRfc8463Dns = {
    {"brisbane._domainkey.football.example.com",
     txt({"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="})},
    {"test._domainkey.football.example.com",
     txt({"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5"
          "bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9P"
          "zoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"})},
};

DkimKey rfcEd25519Key()
{
    const auto key = DkimKey::fromEd25519Seed(
        QByteArray::fromBase64("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="));
    return key ? *key : DkimKey();
}

const QByteArray kPlain = crlf("From: Ann <ann@example.org>\n"
                               "To: Ben <ben@example.net>\n"
                               "Subject: plans\n"
                               "\n"
                               "See you at noon.\n");
const QString kSelName = QStringLiteral("sel._domainkey.example.org");

// Signs `message` with the Ed25519 key under hand-written tags, through the signer's own
// relaxed functions: `tags` is everything before b=, with BH standing for the body hash;
// `names` is the h= list the data is built from (normally the one in `tags`).
QByteArray handSigned(const QByteArray &message, QByteArray tags, const QList<QByteArray> &names)
{
    SplitMessage split;
    if (!splitMessage(message, &split))
        return {};
    tags.replace("BH", bodyHashRelaxed(split.body));
    const QByteArray header = "DKIM-Signature: " + tags + " b=";
    const auto sig = signData(rfcEd25519Key(), signedData(split.fields, names, header));
    return header + (sig ? sig->toBase64() : QByteArray()) + "\r\n" + message;
}

const QByteArray kBaseTags = "v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.org; s=sel; "
                             "t=1900000000; h=from:to:subject; bh=BH;";

Dns handDns() { return {{kSelName, txt({rfcEd25519Key().dnsTxtRecord()})}}; }

} // namespace

class TestDkimVerify : public QObject {
    Q_OBJECT

private slots:
    void tagList_data()
    {
        QTest::addColumn<QByteArray>("input");
        QTest::addColumn<QByteArray>("parsed"); // "name=value|..." or "error"
        QTest::newRow("one") << QByteArray("v=1") << QByteArray("v=1");
        QTest::newRow("final ;") << QByteArray("v=1; a=b;") << QByteArray("v=1|a=b");
        QTest::newRow("final ; and wsp") << QByteArray("v=1; a=b; \t") << QByteArray("v=1|a=b");
        QTest::newRow("wsp around") << QByteArray(" v = 1 ;\ta\t=\tb ") << QByteArray("v=1|a=b");
        QTest::newRow("empty value") << QByteArray("p=; k=rsa") << QByteArray("p=|k=rsa");
        QTest::newRow("inner wsp kept") << QByteArray("n=a  b\tc") << QByteArray("n=a  b\tc");
        QTest::newRow("folded crlf") << QByteArray("b=abc\r\n def;\r\n\tc=d") << QByteArray("b=abc\r\n def|c=d");
        QTest::newRow("folded lf") << QByteArray("b=abc\n def") << QByteArray("b=abc\n def");
        QTest::newRow("name with digit, _") << QByteArray("x_1=2") << QByteArray("x_1=2");
        QTest::newRow("case matters") << QByteArray("v=1; V=2") << QByteArray("v=1|V=2");
        QTest::newRow("= in value") << QByteArray("bh=abc==") << QByteArray("bh=abc==");
        QTest::newRow("8-bit value") << QByteArray("i=j\xc3\xb6@x") << QByteArray("i=j\xc3\xb6@x");
        QTest::newRow("empty") << QByteArray() << QByteArray("error");
        QTest::newRow("wsp only") << QByteArray(" \t ") << QByteArray("error");
        QTest::newRow("lone ;") << QByteArray(";") << QByteArray("error");
        QTest::newRow(";;") << QByteArray("v=1;;a=b") << QByteArray("error");
        QTest::newRow("no =") << QByteArray("v=1; a") << QByteArray("error");
        QTest::newRow("digit name") << QByteArray("1v=1") << QByteArray("error");
        QTest::newRow("duplicate") << QByteArray("v=1; a=b; v=1") << QByteArray("error");
        QTest::newRow("bare cr") << QByteArray("v=1\r; a=b") << QByteArray("error");
        QTest::newRow("crlf without wsp") << QByteArray("v=1;\r\na=b") << QByteArray("error");
        QTest::newRow("trailing crlf") << QByteArray("v=1;\r\n") << QByteArray("error");
        QTest::newRow("control byte") << QByteArray("v=1\x01") << QByteArray("error");
        QTest::newRow("nul") << QByteArray("v=1\0", 4) << QByteArray("error");
        QByteArray many;
        for (int i = 0; i < 65; ++i)
            many += "t" + QByteArray::number(i) + "=1;";
        QTest::newRow("65 tags") << many << QByteArray("error");
    }

    void tagList()
    {
        QFETCH(QByteArray, input);
        QFETCH(QByteArray, parsed);
        const auto r = parseTagList(input);
        if (parsed == "error") {
            QVERIFY(!r.ok());
            QVERIFY(!r.error().message.isEmpty());
            return;
        }
        QVERIFY2(r.ok(), qPrintable(r.ok() ? QString() : r.error().message));
        QByteArrayList parts;
        for (const auto &[name, value] : *r)
            parts.append(name + '=' + value);
        QCOMPARE(parts.join('|'), parsed);
    }

    void signatureFields()
    {
        const QByteArray value = crlf(" v=1; a=rsa-sha256; c=relaxed;\n d=Example.COM; s=s1.sel;\n"
                                      "\th=From : to:\n SUBJECT; i=joe%40x@mail.example.com;\n"
                                      " l=42; q=dns/txt; t=100; x=200; z=From:x|To:y;\n"
                                      " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\n b=AAAA\n BBBB ;");
        const auto r = parseSignature(value);
        QVERIFY2(r.ok(), qPrintable(r.ok() ? QString() : r.error().message));
        QCOMPARE(r->algorithm, SigningAlgorithm::RsaSha256);
        QCOMPARE(r->headerCanon, Canonicalization::Relaxed);
        QCOMPARE(r->bodyCanon, Canonicalization::Simple); // "c=relaxed" is relaxed/simple
        QCOMPARE(r->domain, QByteArray("Example.COM"));
        QCOMPARE(r->selector, QByteArray("s1.sel"));
        QCOMPARE(r->signedHeaders, QList<QByteArray>({"from", "to", "subject"}));
        QCOMPARE(r->identity, QByteArray("joe%40x@mail.example.com"));
        QCOMPARE(r->identityDomain, QByteArray("mail.example.com"));
        QCOMPARE(r->bodyLength, std::optional<qint64>(42));
        QCOMPARE(r->timestamp, std::optional<qint64>(100));
        QCOMPARE(r->expiration, std::optional<qint64>(200));
        QCOMPARE(r->signatureBase64, QByteArray("AAAABBBB"));
        QCOMPARE(r->signature, QByteArray(3, '\0') + QByteArray::fromBase64("BBBB"));
        QCOMPARE(r->bodyHash.size(), 32);
        // §3.7: the part deleted is b='s value with the whitespace around it.
        QCOMPARE(value.mid(r->signatureValueBegin, r->signatureValueEnd - r->signatureValueBegin),
                 QByteArray("AAAA\r\n BBBB "));

        const auto d = parseSignature("v=1; a=ed25519-sha256; d=x.org; s=s; h=from; bh=AAAA; b=AAAA");
        QVERIFY(d.ok());
        QCOMPARE(d->headerCanon, Canonicalization::Simple); // default simple/simple
        QCOMPARE(d->bodyCanon, Canonicalization::Simple);
        QCOMPARE(d->identity, QByteArray("@x.org"));
        QVERIFY(!d->bodyLength && !d->timestamp && !d->expiration);
        QCOMPARE(d->signatureValueEnd, qsizetype(d->signatureValueBegin + 4));
    }

    void signatureErrors_data()
    {
        QTest::addColumn<QByteArray>("value");
        QTest::addColumn<int>("code");
        const QByteArray ok = "v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=AAAA; b=AAAA";
        auto with = [&ok](const char *from, const char *to) { return QByteArray(ok).replace(from, to); };
        QTest::newRow("not a tag list") << QByteArray("v=1; a") << int(TagError::Syntax);
        QTest::newRow("duplicate") << ok + "; d=example.com" << int(TagError::DuplicateTag);
        QTest::newRow("v=2") << with("v=1", "v=2") << int(TagError::UnsupportedVersion);
        QTest::newRow("v=1.0") << with("v=1", "v=1.0") << int(TagError::UnsupportedVersion);
        for (const char *tag : {"v=1", "a=rsa-sha256", "d=example.com", "s=s", "h=from", "bh=AAAA", "b=AAAA"})
            QTest::newRow(qPrintable(QStringLiteral("missing %1").arg(QLatin1StringView(tag))))
                << (tag == QByteArrayView("v=1") ? with("v=1; ", "") : with(tag, "xx=1")) << int(TagError::MissingTag);
        QTest::newRow("a= syntax") << with("rsa-sha256", "rsa_sha256") << int(TagError::InvalidValue);
        QTest::newRow("b= not base64") << with("b=AAAA", "b=AA*A") << int(TagError::InvalidValue);
        QTest::newRow("b= bad padding") << with("b=AAAA", "b=AAA") << int(TagError::InvalidValue);
        QTest::newRow("b= empty") << with("b=AAAA", "b=") << int(TagError::InvalidValue);
        QTest::newRow("bh= not base64") << with("bh=AAAA", "bh=A=AA") << int(TagError::InvalidValue);
        QTest::newRow("c=fancy") << ok + "; c=fancy" << int(TagError::UnsupportedCanonicalization);
        QTest::newRow("c=relaxed/fancy") << ok + "; c=relaxed/fancy" << int(TagError::UnsupportedCanonicalization);
        QTest::newRow("c=Relaxed") << ok + "; c=Relaxed" << int(TagError::UnsupportedCanonicalization);
        QTest::newRow("d= with space") << with("d=example.com", "d=exa mple.com") << int(TagError::InvalidValue);
        QTest::newRow("d= trailing dot") << with("d=example.com", "d=example.com.") << int(TagError::InvalidValue);
        QTest::newRow("d= empty label") << with("d=example.com", "d=a..com") << int(TagError::InvalidValue);
        QTest::newRow("s= with @") << with("s=s", "s=a@b") << int(TagError::InvalidValue);
        QTest::newRow("h= empty name") << with("h=from", "h=from::to") << int(TagError::InvalidValue);
        QTest::newRow("h= without from") << with("h=from", "h=to:subject") << int(TagError::FromNotSigned);
        QTest::newRow("h= from-x only") << with("h=from", "h=from-x") << int(TagError::FromNotSigned);
        QTest::newRow("i= outside d=") << ok + "; i=@other.com" << int(TagError::IdentityMismatch);
        QTest::newRow("i= suffix not label") << ok + "; i=@xexample.com" << int(TagError::IdentityMismatch);
        QTest::newRow("i= parent of d=") << with("d=example.com", "d=mail.example.com") + "; i=@example.com"
                                        << int(TagError::IdentityMismatch);
        QTest::newRow("i= without @") << ok + "; i=example.com" << int(TagError::InvalidValue);
        QTest::newRow("l= not digits") << ok + "; l=-1" << int(TagError::InvalidValue);
        QTest::newRow("l= 77 digits") << ok + "; l=" + QByteArray(77, '1') << int(TagError::InvalidValue);
        QTest::newRow("q=http") << ok + "; q=http/well-known" << int(TagError::UnsupportedQueryMethod);
        QTest::newRow("t= not digits") << ok + "; t=12a" << int(TagError::InvalidValue);
        QTest::newRow("t= 13 digits") << ok + "; t=1234567890123" << int(TagError::InvalidValue);
        QTest::newRow("x= before t=") << ok + "; t=200; x=100" << int(TagError::ExpiryBeforeTimestamp);
        QTest::newRow("x= equal to t=") << ok + "; t=200; x=200" << int(TagError::ExpiryBeforeTimestamp);
    }

    void signatureErrors()
    {
        QFETCH(QByteArray, value);
        QFETCH(int, code);
        const auto r = parseSignature(value);
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, code);
    }

    void signatureAccepted_data()
    {
        QTest::addColumn<QByteArray>("extra");
        QTest::newRow("unknown tags") << QByteArray("; foo=bar; z=From:x");
        QTest::newRow("q with args") << QByteArray("; q=dns/txt:other");
        QTest::newRow("i= subdomain") << QByteArray("; i=a@b.c.example.com");
        QTest::newRow("i= case") << QByteArray("; i=@EXAMPLE.com");
        QTest::newRow("l= 76 digits saturates") << "; l=" + QByteArray(76, '9');
        QTest::newRow("utf-8 d= in a-labels") << QByteArray("; i=@xn--mlm-pla.example.com");
    }

    void signatureAccepted()
    {
        QFETCH(QByteArray, extra);
        const auto r = parseSignature("v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=AAAA; b=AAAA" + extra);
        QVERIFY2(r.ok(), qPrintable(r.ok() ? QString() : r.error().message));
        const auto u = parseSignature("v=1; a=rsa-sha256; d=malm\xc3\xb6.se; s=s; h=from; bh=AAAA; b=AAAA");
        QVERIFY(u.ok());
        QCOMPARE(u->domain, QByteArray("xn--malm-8qa.se"));
    }

    void keyRecord_data()
    {
        QTest::addColumn<QByteArray>("record");
        QTest::addColumn<int>("code"); // 0: parses
        QTest::newRow("full") << QByteArray("v=DKIM1; k=rsa; h=sha256; s=email; t=y:s; n=hi; p=AAAA") << 0;
        QTest::newRow("no v") << QByteArray("p=AAAA") << 0;
        QTest::newRow("revoked") << QByteArray("v=DKIM1; p=") << 0;
        QTest::newRow("folded p") << QByteArray("v=DKIM1; p=AA AA") << 0;
        QTest::newRow("unknown k parses") << QByteArray("k=dsa; p=AAAA") << 0;
        QTest::newRow("no p") << QByteArray("v=DKIM1; k=rsa") << int(TagError::MissingTag);
        QTest::newRow("v=DKIM2") << QByteArray("v=DKIM2; p=AAAA") << int(TagError::UnsupportedVersion);
        QTest::newRow("v not first") << QByteArray("k=rsa; v=DKIM1; p=AAAA") << int(TagError::Syntax);
        QTest::newRow("p not base64") << QByteArray("v=DKIM1; p=!!!!") << int(TagError::InvalidValue);
        QTest::newRow("empty k") << QByteArray("k=; p=AAAA") << int(TagError::InvalidValue);
        QTest::newRow("spf record") << QByteArray("v=spf1 -all") << int(TagError::UnsupportedVersion);
        QTest::newRow("empty") << QByteArray() << int(TagError::Syntax);
    }

    void keyRecord()
    {
        QFETCH(QByteArray, record);
        QFETCH(int, code);
        const auto r = parseKeyRecord(record);
        QCOMPARE(r.ok() ? 0 : r.error().code, code);
        if (QByteArray(QTest::currentDataTag()) == "full") {
            QCOMPARE(r->keyType, QByteArray("rsa"));
            QCOMPARE(r->hashAlgorithms, QList<QByteArray>({"sha256"}));
            QCOMPARE(r->serviceTypes, QList<QByteArray>({"email"}));
            QVERIFY(r->testing() && r->strictIdentity());
            QCOMPARE(r->publicKey, QByteArray(3, '\0'));
        }
        if (QByteArray(QTest::currentDataTag()) == "no v") {
            QCOMPARE(r->keyType, QByteArray("rsa"));
            QCOMPARE(r->serviceTypes, QList<QByteArray>({"*"}));
            QVERIFY(!r->testing());
        }
        if (QByteArray(QTest::currentDataTag()) == "revoked")
            QVERIFY(r->publicKey.isEmpty());
    }

    void canonicalizeSimple_data()
    {
        QTest::addColumn<QByteArray>("header");
        QTest::addColumn<QByteArray>("canonicalHeader");
        QTest::addColumn<QByteArray>("body");
        QTest::addColumn<QByteArray>("canonicalBody");
        // RFC 6376 §3.4.6: simple changes only the trailing empty lines.
        QTest::newRow("rfc 3.4.6") << QByteArray("A: X\r\nB : Y\t\r\n\tZ  \r\n")
                                   << QByteArray("A: X\r\nB : Y\t\r\n\tZ  \r\n")
                                   << QByteArray(" C \r\nD \t E\r\n\r\n\r\n") << QByteArray(" C \r\nD \t E\r\n");
        QTest::newRow("lf only") << QByteArray("Sub: a\n\tb\n") << QByteArray("Sub: a\r\n\tb\r\n")
                                 << QByteArray("x \n\n") << QByteArray("x \r\n");
        QTest::newRow("no final line end") << QByteArray("X: 1") << QByteArray("X: 1\r\n")
                                           << QByteArray("abc") << QByteArray("abc\r\n");
        QTest::newRow("empty body") << QByteArray("X:\r\n") << QByteArray("X:\r\n") << QByteArray()
                                    << QByteArray("\r\n");
        QTest::newRow("blank lines only") << QByteArray("X:\r\n") << QByteArray("X:\r\n")
                                          << QByteArray("\r\n\n\r\n") << QByteArray("\r\n");
        QTest::newRow("wsp line is not empty") << QByteArray("X:\r\n") << QByteArray("X:\r\n")
                                               << QByteArray("a\r\n \r\n\r\n") << QByteArray("a\r\n \r\n");
        QTest::newRow("bare cr kept") << QByteArray("X: a\rb\r\n") << QByteArray("X: a\rb\r\n")
                                      << QByteArray("a\r\r\n\r\n") << QByteArray("a\r\r\n");
    }

    void canonicalizeSimple()
    {
        QFETCH(QByteArray, header);
        QFETCH(QByteArray, canonicalHeader);
        QFETCH(QByteArray, body);
        QFETCH(QByteArray, canonicalBody);
        SplitMessage split;
        QVERIFY(splitMessage(header, &split));
        QByteArray out;
        for (const HeaderField &f : split.fields)
            out += canonicalizeHeaderSimple(rawField(f)) + "\r\n";
        QCOMPARE(out, canonicalHeader);
        QCOMPARE(canonicalizeBodySimple(body), canonicalBody);
    }

    // RFC 8463 Appendix A: both signatures verify with the published keys (RSA: 1024 bits).
    void rfc8463Message()
    {
        for (const QByteArray &message : {kRfc8463Signed, QByteArray(kRfc8463Signed).replace("\r\n", "\n")}) {
            const Run run = verify(message, kRfc8463Dns);
            QCOMPARE(results(run.outcomes), QByteArray("pass,pass"));
            QCOMPARE(run.asked, QStringList({"brisbane._domainkey.football.example.com",
                                             "test._domainkey.football.example.com"}));
            const SignatureOutcome &ed = run.outcomes[0];
            QCOMPARE(ed.domain, QStringLiteral("football.example.com"));
            QCOMPARE(ed.selector, QStringLiteral("brisbane"));
            QCOMPARE(ed.algorithm, QStringLiteral("ed25519-sha256"));
            QCOMPARE(ed.identity, QStringLiteral("@football.example.com"));
            QCOMPARE(ed.bTag, QByteArray("/gCrinpc"));
            QCOMPARE(ed.keyBits, 0);
            QCOMPARE(run.outcomes[1].bTag, QByteArray("F45dVWDf"));
            QCOMPARE(run.outcomes[1].keyBits, 1024);
            QVERIFY(ed.problem.isEmpty() && !ed.testing && ed.unsignedBodyOctets == 0);
        }
        QByteArray changed = kRfc8463Signed;
        changed.replace("Is dinner ready?", "Is dinner ready!");
        QCOMPARE(results(verify(changed, kRfc8463Dns).outcomes), QByteArray("fail,fail"));
    }

    // Messages signed by dkimpy (make_vectors.py), as sent and tampered with.
    void dkimpyVectors_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QByteArray>("from"); // replace this (empty: none; "^": prepend, "$": append)
        QTest::addColumn<QByteArray>("to");
        QTest::addColumn<QByteArray>("expected");
        QTest::addColumn<QByteArray>("problem");
        auto row = [](const char *name, const char *file, QByteArray from, QByteArray to, QByteArray expected,
                      QByteArray problem = {}) {
            QTest::newRow(name) << QString::fromLatin1(file) << from << to << expected << problem;
        };
        for (const char *f : {"simple-simple-rsa2048", "relaxed-simple-rsa2048", "simple-relaxed-rsa2048",
                              "relaxed-relaxed-rsa2048", "relaxed-relaxed-rsa1024", "simple-simple-ed25519",
                              "relaxed-relaxed-ed25519", "length-relaxed-simple", "length-simple-relaxed",
                              "identity-subdomain", "pkcs1-key", "not-oversigned", "oversigned", "lf-only",
                              "lf-only-simple"})
            row(f, f, {}, {}, "pass");
        row("two signatures", "two-signatures", {}, {}, "pass,pass");
        row("rsa-sha1", "rsa-sha1", {}, {}, "policy", "rsa-sha1");
        row("512-bit key", "short-key-rsa512", {}, {}, "policy", "512 bits");

        const QByteArray body = "Lunch at the  caf", subject = "Subject:  Lunch   on";
        for (const char *f : {"simple-simple-rsa2048", "relaxed-relaxed-ed25519", "length-relaxed-simple"})
            row(qPrintable(QStringLiteral("%1: body changed").arg(f)), f, body, "Dinner at the  caf", "fail",
                "body hash");
        for (const char *f : {"simple-simple-ed25519", "relaxed-relaxed-rsa2048"})
            row(qPrintable(QStringLiteral("%1: signed header changed").arg(f)), f, subject, "Subject:  Dinner   on",
                "fail", "signature did not verify");
        row("two signatures: body changed", "two-signatures", body, "Dinner at the  caf", "fail,fail");
        // Whitespace: relaxed tolerates what simple does not.
        row("relaxed header: refolded", "relaxed-relaxed-rsa2048", subject + "\r\n\tTuesday?  ",
            "SUBJECT:Lunch on\r\n Tuesday?", "pass");
        row("simple header: refolded", "simple-simple-rsa2048", subject, "Subject: Lunch   on", "fail");
        row("relaxed body: wsp changed", "simple-relaxed-rsa2048", "Hi Bob,  ", "Hi   Bob,", "pass");
        row("simple body: wsp changed", "relaxed-simple-rsa2048", "Hi Bob,  ", "Hi   Bob,", "fail", "body hash");
        row("simple body: blank lines added", "simple-simple-ed25519", "$", "\r\n\r\n", "pass");
        row("simple body: LF line ends", "simple-simple-rsa2048", "\r\n", "\n", "pass");
        // Fields not signed, or added where h= does not reach.
        row("unsigned field changed", "relaxed-relaxed-rsa2048", "id 1234", "id 9999", "pass");
        row("unsigned field added", "simple-simple-ed25519", "^", "X-Spam: no\r\n", "pass");
        row("Subject added above, not oversigned", "not-oversigned", "^", "Subject: Free money\r\n", "pass");
        row("Subject added above, oversigned", "oversigned", "^", "Subject: Free money\r\n", "fail",
            "signature did not verify");
        row("From added above, oversigned", "oversigned", "^", "From: Mallory <m@evil.test>\r\n", "fail");
        row("From added above, not oversigned", "not-oversigned", "^", "From: Mallory <m@evil.test>\r\n", "fail",
            "From field is not signed");
        row("absent signed field added", "not-oversigned", "^", "Reply-To: m@evil.test\r\n", "fail");
        // l=: appended content is not covered; a shorter body is.
        row("l=: content appended", "length-relaxed-simple", "$", "Click here: http://evil.test/\r\n", "pass");
        row("l=: body cut", "length-simple-relaxed", "  -- Alice\r\n", "", "fail", "shorter than l=");
        row("body removed", "relaxed-relaxed-rsa2048", "\r\n\r\nHi Bob,  \r\n\r\nLunch at the  caf\xc3\xa9\ton Tuesday?\t \r\n"
            "  -- Alice\r\n\r\n\r\n", "\r\n", "fail", "body hash");
    }

    void dkimpyVectors()
    {
        QFETCH(QString, file);
        QFETCH(QByteArray, from);
        QFETCH(QByteArray, to);
        QFETCH(QByteArray, expected);
        QFETCH(QByteArray, problem);
        QByteArray message = dataFile(file + ".eml");
        QVERIFY2(!message.isEmpty(), qPrintable(file));
        if (from == "^")
            message.prepend(to);
        else if (from == "$")
            message.append(to);
        else if (!from.isEmpty()) {
            QVERIFY(message.contains(from));
            message.replace(from, to);
        }
        const Run run = verify(message, vectorDns());
        QCOMPARE(results(run.outcomes), expected);
        if (!problem.isEmpty())
            QVERIFY2(problems(run.outcomes).contains(problem), problems(run.outcomes).constData());
        for (const SignatureOutcome &o : run.outcomes) {
            QCOMPARE(o.domain, QStringLiteral("example.com"));
            QVERIFY(o.bTag.size() >= 8);
            QCOMPARE(o.problem.isEmpty(), o.result == VerifyResult::Pass);
        }
        const SignatureOutcome &o = run.outcomes.first();
        if (file == "identity-subdomain")
            QCOMPARE(o.identity, QStringLiteral("alice@mail.example.com"));
        if (file == "relaxed-relaxed-rsa1024")
            QCOMPARE(o.keyBits, 1024);
        if (file == "pkcs1-key" || file == "simple-simple-rsa2048")
            QCOMPARE(o.keyBits, 2048);
        if (file == "length-relaxed-simple" && o.result == VerifyResult::Pass)
            // The two blank lines that ended the signed body are inside it now.
            QCOMPARE(o.unsignedBodyOctets, from == "$" ? 4 + to.size() : 0);
    }

    // The key record and the DNS answer, for a valid rsa2048 signature (i= default).
    void keyAnswers_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QList<QByteArray>>("records"); // empty list + status
        QTest::addColumn<int>("status");
        QTest::addColumn<QByteArray>("expected");
        QTest::addColumn<QByteArray>("problem");
        const Dns dns = vectorDns();
        const QByteArray rsa = dns.value("rsa2048._domainkey.example.com").txt.first();
        const QByteArray p = rsa.mid(rsa.indexOf("p=") + 2);
        const QByteArray other = dns.value("rsa1024._domainkey.example.com").txt.first();
        const QByteArray ed = dns.value("ed._domainkey.example.com").txt.first();
        const QString r = QStringLiteral("relaxed-relaxed-rsa2048");
        const int ok = int(auth::DnsAnswer::Status::Ok);
        auto row = [&](const char *name, QList<QByteArray> records, QByteArray expected, QByteArray problem = {},
                       int st = int(auth::DnsAnswer::Status::Ok), QString file = {}) {
            QTest::newRow(name) << (file.isEmpty() ? r : file) << records << st << expected << problem;
        };
        row("published", {rsa}, "pass");
        row("no v=", {"k=rsa; p=" + p}, "pass");
        row("no k=", {"v=DKIM1; p=" + p}, "pass");
        row("p= folded", {"v=DKIM1; p=" + p.left(40) + " " + p.mid(40)}, "pass");
        row("h=sha1:sha256", {"v=DKIM1; h=sha1:sha256; p=" + p}, "pass");
        row("s=email", {"v=DKIM1; s=email; p=" + p}, "pass");
        row("s=*", {"v=DKIM1; s=*:x; p=" + p}, "pass");
        row("t=s, i= is d=", {"v=DKIM1; t=s; p=" + p}, "pass");
        row("unknown tag and flag", {"v=DKIM1; t=q; zz=1; p=" + p}, "pass");
        row("NXDOMAIN", {}, "permerror", "no key", int(auth::DnsAnswer::Status::NxDomain));
        row("no TXT (NODATA)", {}, "permerror", "no key", ok);
        row("temporary failure", {}, "temperror", "temporary", int(auth::DnsAnswer::Status::TempError));
        row("two records", {rsa, rsa}, "temperror", "several key records");
        row("wrong key", {other}, "fail", "signature did not verify");
        row("revoked", {"v=DKIM1; k=rsa; p="}, "fail", "revoked");
        row("revoked, no v=", {"p="}, "fail", "revoked");
        row("p= not base64", {"v=DKIM1; p=@@@@"}, "permerror", "key syntax");
        row("p= not a key", {"v=DKIM1; p=AAAAAAAA"}, "permerror", "key syntax");
        row("p= truncated", {"v=DKIM1; p=" + p.left(p.size() - 8)}, "permerror", "key syntax");
        row("v=DKIM2", {"v=DKIM2; p=" + p}, "permerror", "version");
        row("v= not first", {"k=rsa; v=DKIM1; p=" + p}, "permerror", "key syntax");
        row("not a tag list", {"v=DKIM1; p=" + p + ";;"}, "permerror", "key syntax");
        row("h=sha1", {"v=DKIM1; h=sha1; p=" + p}, "permerror", "hash");
        row("s=other", {"v=DKIM1; s=tlsrpt; p=" + p}, "permerror", "not for email");
        row("k=ed25519 for rsa", {"v=DKIM1; k=ed25519; p=" + p}, "permerror", "inappropriate key");
        row("k=dsa", {"v=DKIM1; k=dsa; p=" + p}, "permerror", "unknown key type");
        row("ed25519 key with k=rsa", {QByteArray(ed).replace("k=ed25519", "k=rsa")}, "permerror", "key syntax");
        row("t=s, i= in a subdomain", {"v=DKIM1; t=s; p=" + p}, "permerror", "t=s", ok,
            QStringLiteral("identity-subdomain"));
        row("spf record", {"v=spf1 -all"}, "permerror", "key syntax");
    }

    void keyAnswers()
    {
        QFETCH(QString, file);
        QFETCH(QList<QByteArray>, records);
        QFETCH(int, status);
        QFETCH(QByteArray, expected);
        QFETCH(QByteArray, problem);
        auth::DnsAnswer answer = txt(records);
        answer.status = auth::DnsAnswer::Status(status);
        const Run run = verify(dataFile(file + ".eml"), {{"rsa2048._domainkey.example.com", answer}});
        QCOMPARE(run.asked, QStringList({"rsa2048._domainkey.example.com"}));
        QCOMPARE(results(run.outcomes), expected);
        QVERIFY2(problems(run.outcomes).contains(problem), problems(run.outcomes).constData());
    }

    void testingFlag()
    {
        const Dns dns = vectorDns();
        const QByteArray rsa = dns.value("rsa2048._domainkey.example.com").txt.first();
        const QByteArray message = dataFile("relaxed-relaxed-rsa2048.eml");
        for (const bool broken : {false, true}) {
            const Run run = verify(broken ? QByteArray(message).replace("Hi Bob", "Hi Rob") : message,
                                   {{"rsa2048._domainkey.example.com", txt({rsa + "; t=y"})}});
            QCOMPARE(results(run.outcomes), broken ? QByteArray("fail") : QByteArray("pass"));
            QVERIFY(run.outcomes[0].testing);
        }
    }

    // Tags of a hand-made signature (signed with the signer's own relaxed functions) and
    // the clock.
    void signatureTags_data()
    {
        QTest::addColumn<QByteArray>("tags");
        QTest::addColumn<qint64>("now");
        QTest::addColumn<QByteArray>("expected");
        QTest::addColumn<QByteArray>("problem");
        QTest::addColumn<int>("questions");
        const QByteArray b = kBaseTags;
        auto with = [&b](const char *from, const char *to) { return QByteArray(b).replace(from, to); };
        QTest::newRow("base") << b << kNow << QByteArray("pass") << QByteArray() << 1;
        QTest::newRow("x= ahead") << b + " x=2100000000;" << kNow << QByteArray("pass") << QByteArray() << 1;
        QTest::newRow("x= passed within skew") << b + " x=1999999000;" << kNow << QByteArray("pass") << QByteArray() << 1;
        QTest::newRow("x= passed") << b + " x=1990000000;" << kNow << QByteArray("fail") << QByteArray("expired") << 0;
        QTest::newRow("x= before t=") << b + " x=1800000000;" << kNow << QByteArray("permerror") << QByteArray("x=") << 0;
        QTest::newRow("t= in the future") << b << qint64(1899000000) << QByteArray("policy")
                                          << QByteArray("future") << 0;
        QTest::newRow("t= ahead within skew") << b << qint64(1899999000) << QByteArray("pass") << QByteArray() << 1;
        QTest::newRow("no t=") << with(" t=1900000000;", "") << kNow << QByteArray("pass") << QByteArray() << 1;
        QTest::newRow("q=dns/txt") << b + " q=dns/txt;" << kNow << QByteArray("pass") << QByteArray() << 1;
        QTest::newRow("i= subdomain") << b + " i=ann@mail.example.org;" << kNow << QByteArray("pass") << QByteArray() << 1;
        QTest::newRow("unknown tags") << b + " foo=bar; z=From:x;" << kNow << QByteArray("pass") << QByteArray() << 1;
        // §5.4: the field being verified is not one of h='s fields, even when h= names it.
        QTest::newRow("h= names dkim-signature") << with("subject;", "subject:dkim-signature;") << kNow
                                                 << QByteArray("pass") << QByteArray() << 1;
        QTest::newRow("folded tags") << with("; h=", ";\r\n\th=") << kNow << QByteArray("pass") << QByteArray() << 1;
        QTest::newRow("v=2") << with("v=1", "v=2") << kNow << QByteArray("permerror") << QByteArray("version") << 0;
        QTest::newRow("no v=") << with("v=1; ", "") << kNow << QByteArray("permerror") << QByteArray("v=") << 0;
        QTest::newRow("no d=") << with("d=example.org; ", "") << kNow << QByteArray("permerror") << QByteArray("d=") << 0;
        QTest::newRow("no bh=") << with(" bh=BH;", "") << kNow << QByteArray("permerror") << QByteArray("bh=") << 0;
        QTest::newRow("a=rsa-sha512") << with("ed25519-sha256", "rsa-sha512") << kNow << QByteArray("permerror")
                                      << QByteArray("unsupported algorithm") << 0;
        QTest::newRow("a=rsa-sha1") << with("ed25519-sha256", "rsa-sha1") << kNow << QByteArray("policy")
                                    << QByteArray("rsa-sha1") << 0;
        QTest::newRow("c=fancy") << with("relaxed/relaxed", "fancy") << kNow << QByteArray("permerror")
                                 << QByteArray("canonicalization") << 0;
        QTest::newRow("q=other") << b + " q=other;" << kNow << QByteArray("permerror") << QByteArray("q=") << 0;
        QTest::newRow("i= elsewhere") << b + " i=@example.net;" << kNow << QByteArray("permerror")
                                      << QByteArray("domain mismatch") << 0;
        QTest::newRow("From not signed") << with("from:to", "to") << kNow << QByteArray("permerror")
                                         << QByteArray("From") << 0;
        QTest::newRow("duplicate tag") << b + " d=example.org;" << kNow << QByteArray("permerror")
                                       << QByteArray("twice") << 0;
        QTest::newRow("l= longer than body") << b + " l=1000;" << kNow << QByteArray("fail")
                                             << QByteArray("shorter than l=") << 1;
        QTest::newRow("l= whole body") << b + " l=18;" << kNow << QByteArray("pass") << QByteArray() << 1;
        QTest::newRow("d= other key") << with("d=example.org", "d=example.net") << kNow << QByteArray("permerror")
                                      << QByteArray("no key") << 1;
    }

    void signatureTags()
    {
        QFETCH(QByteArray, tags);
        QFETCH(qint64, now);
        QFETCH(QByteArray, expected);
        QFETCH(QByteArray, problem);
        QFETCH(int, questions);
        const Run run = verify(handSigned(kPlain, tags, {"from", "to", "subject"}), handDns(), now);
        QCOMPARE(results(run.outcomes), expected);
        QVERIFY2(problems(run.outcomes).contains(problem), problems(run.outcomes).constData());
        QCOMPARE(run.asked.size(), questions);
    }

    void signatureValueRemoval()
    {
        // b= is deleted with the whitespace around it; tags after it stay hashed.
        SplitMessage split;
        QVERIFY(splitMessage(kPlain, &split));
        const QByteArray header = "DKIM-Signature: " + QByteArray(kBaseTags).replace("BH", bodyHashRelaxed(split.body))
                                  + " b=;\r\n\tx=2100000000";
        const auto sig = signData(rfcEd25519Key(), signedData(split.fields, {"from", "to", "subject"}, header));
        QVERIFY(sig.ok());
        QByteArray signedMessage = header;
        signedMessage.insert(header.indexOf("b=") + 2, "  " + sig->toBase64().insert(20, "\r\n ") + " ");
        signedMessage += "\r\n" + kPlain;
        QCOMPARE(results(verify(signedMessage, handDns()).outcomes), QByteArray("pass"));
        QCOMPARE(results(verify(QByteArray(signedMessage).replace("x=2100000000", "x=2100000001"), handDns()).outcomes),
                 QByteArray("fail"));
    }

    // Our signer's output verifies (relaxed/relaxed, the one canonicalization it makes).
    void signerRoundTrip_data()
    {
        QTest::addColumn<int>("type");
        QTest::newRow("ed25519") << int(KeyType::Ed25519);
        QTest::newRow("rsa") << int(KeyType::Rsa);
    }

    void signerRoundTrip()
    {
        QFETCH(int, type);
        const auto key = DkimKey::generate(KeyType(type));
        QVERIFY(key.ok());
        const Dns dns = {{"sel._domainkey.example.org", txt({key->dnsTxtRecord()})}};
        const QByteArray message = crlf("From: Ann <ann@example.org>\nTo: b@example.net\nSubject: Gr\xc3\xbc\xc3\x9f"
                                        "e\n\tfrom  Malm\xc3\xb6\nList-Id: <l.example.org>\n\nBody  line \n\n\n");
        for (const QByteArray &m : {message, QByteArray(message).replace("\r\n", "\n")}) {
            const auto field = sign(m, "example.org", "sel", *key, 1900000000);
            QVERIFY(field.ok());
            const Run run = verify(*field + m, dns);
            QCOMPARE(results(run.outcomes), QByteArray("pass"));
            QCOMPARE(run.outcomes[0].keyBits, type == int(KeyType::Rsa) ? 2048 : 0);
            QCOMPARE(results(verify(*field + QByteArray(m).replace("Body", "body"), dns).outcomes),
                     QByteArray("fail"));
            QCOMPARE(results(verify("From: x@evil.test\r\n" + *field + m, dns).outcomes), QByteArray("fail"));
        }
    }

    // Several signatures: header order, mixed results, one question per key name.
    void mixedSignatures()
    {
        const QByteArray good = handSigned(kPlain, kBaseTags, {"from", "to", "subject"});
        const QByteArray goodField = good.left(good.indexOf("\r\nFrom:") + 2);
        QByteArray message = goodField + "DKIM-Signature: v=1; a=ed25519-sha256; d=example.org; b=AAAA\r\n"
                             + "DKIM-Signature: v=1; a=ed25519-sha256; d=gone.example; s=x; h=from; bh=AAAA; b=AAAB\r\n"
                             + goodField + "DKIM-Signature: v=1; a=rsa-sha256; d=down.example; s=y; h=from; "
                             + "bh=AAAA; b=AAAC\r\n" + kPlain;
        Dns dns = handDns();
        dns.insert("y._domainkey.down.example", status(auth::DnsAnswer::Status::TempError));
        const Run run = verify(message, dns);
        QCOMPARE(results(run.outcomes), QByteArray("pass,permerror,permerror,pass,temperror"));
        QCOMPARE(run.asked, QStringList({kSelName, "x._domainkey.gone.example", "y._domainkey.down.example"}));
        // header.b: 8 characters, more where two signatures share a longer prefix.
        QCOMPARE(run.outcomes[1].bTag, QByteArray("AAAA"));
        QCOMPARE(run.outcomes[0].bTag, run.outcomes[3].bTag);
        QCOMPARE(run.outcomes[0].bTag.size(), 8);
        QCOMPARE(run.outcomes[1].domain, QStringLiteral("example.org")); // best effort for a broken one
    }

    void bTagPrefix()
    {
        const QByteArray a = "DKIM-Signature: v=1; a=rsa-sha1; d=x.example; s=s; h=from; bh=AAAA; "
                             "b=ABCDEFGHIJKLMNOP\r\n";
        QByteArray b = a;
        b.replace("LMNOP", "LMXOP");
        const Run run = verify(a + b + "From: x\r\n\r\n", {});
        QCOMPARE(run.outcomes[0].bTag, QByteArray("ABCDEFGHIJKLMN"));
        QCOMPARE(run.outcomes[1].bTag, QByteArray("ABCDEFGHIJKLMX"));
    }

    void maxSignatures_data()
    {
        QTest::addColumn<int>("count");
        QTest::addColumn<int>("max");
        QTest::addColumn<int>("outcomes");
        QTest::newRow("12, default 10") << 12 << 10 << 10;
        QTest::newRow("3 of 2") << 3 << 2 << 2;
        QTest::newRow("limit 0") << 3 << 0 << 0;
        QTest::newRow("none") << 0 << 10 << 0;
    }

    void maxSignatures()
    {
        QFETCH(int, count);
        QFETCH(int, max);
        QFETCH(int, outcomes);
        const QByteArray good = handSigned(kPlain, kBaseTags, {"from", "to", "subject"});
        const QByteArray field = good.left(good.indexOf("\r\nFrom:") + 2);
        QByteArray message = kPlain;
        for (int i = 0; i < count; ++i)
            message.prepend(field);
        const Run run = verify(message, handDns(), kNow, max);
        QCOMPARE(run.outcomes.size(), outcomes);
        QCOMPARE(run.asked.size(), outcomes > 0 ? 1 : 0); // one key serves all
        for (const SignatureOutcome &o : run.outcomes)
            QCOMPARE(o.result, VerifyResult::Pass);
    }

    void stateMachine()
    {
        DkimVerifier v(handSigned(kPlain, kBaseTags, {"from", "to", "subject"}), kNow);
        QCOMPARE(v.outcomes().size(), 1);
        QCOMPARE(v.outcomes()[0].result, VerifyResult::None); // not decided yet
        const auto q = v.next();
        QVERIFY(q);
        QVERIFY(v.next() == q); // asked again until answered
        v.answer(txt({rfcEd25519Key().dnsTxtRecord()}));
        QVERIFY(!v.next());
        v.answer(txt({})); // no open question: ignored
        QCOMPARE(v.outcomes()[0].result, VerifyResult::Pass);

        DkimVerifier unsigned_(kPlain, kNow);
        QVERIFY(!unsigned_.next());
        QVERIFY(unsigned_.outcomes().isEmpty());

        const Run malformed = verify("DKIM-Signature: v=1; d=example.org\r\nnot a field\r\n\r\nbody\r\n", handDns());
        QCOMPARE(results(malformed.outcomes), QByteArray("permerror"));
        QVERIFY(malformed.asked.isEmpty());
        QCOMPARE(verifyResultName(VerifyResult::None), "none");
        QCOMPARE(verifyResultName(VerifyResult::Neutral), "neutral");
    }

    // Every prefix of a signed message, and random bytes in it, end with an outcome for
    // each signature found, and no more questions than signatures.
    void noInputCrashes()
    {
        const QByteArray message = dataFile("two-signatures.eml");
        const Dns dns = vectorDns();
        for (qsizetype n = 0; n <= message.size(); n += 3) {
            const Run run = verify(message.first(n), dns);
            QVERIFY(run.asked.size() <= run.outcomes.size());
        }
        QRandomGenerator rng(7);
        for (int i = 0; i < 300; ++i) {
            QByteArray m = message;
            for (int j = 0; j < 4; ++j)
                m[rng.bounded(int(m.size()))] = char(rng.bounded(256));
            const Run run = verify(m, dns);
            QVERIFY(run.asked.size() <= run.outcomes.size());
            for (const SignatureOutcome &o : run.outcomes)
                QVERIFY(o.result != VerifyResult::None);
        }
    }
};

QTEST_GUILESS_MAIN(TestDkimVerify)
#include "tst_dkimverify.moc"
