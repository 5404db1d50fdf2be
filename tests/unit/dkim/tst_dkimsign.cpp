// SPDX-License-Identifier: AGPL-3.0-or-later
// dkim: relaxed canonicalization (RFC 6376 §3.4.2, §3.4.4, the §3.4.6 example), header
// selection (§5.4.2), the RFC 8463 Appendix A Ed25519 example reproduced byte for byte,
// keys (PEM, DNS TXT), and sign()'s errors and robustness. Verification by an independent
// implementation is in tests/integration/test_dkim_dkimpy.py.
#include "dkim/canonicalize.h"
#include "dkim/dkimkey.h"
#include "dkim/dkimsign.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <QRandomGenerator>
#include <QTest>

using namespace valv::dkim;

namespace {

QByteArray crlf(QByteArray s) { return s.replace("\n", "\r\n"); }

// RFC 8463 Appendix A.
const QByteArray kRfc8463Seed = QByteArray::fromBase64("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=");
const QByteArray kRfc8463Public = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
const QByteArray kRfc8463Message = crlf("From: Joe SixPack <joe@football.example.com>\n"
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
// The Ed25519 signature's header field with the b= value removed, as a verifier sees it.
const QByteArray kRfc8463SigHeader = crlf("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\n"
                                          " d=football.example.com; i=@football.example.com;\n"
                                          " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\n"
                                          " subject : date : message-id : from : subject : date;\n"
                                          " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\n"
                                          " b=");
const QByteArray kRfc8463Bh = "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=";
const QByteArray kRfc8463B = "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus"
                             "Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==";

DkimKey rfcKey()
{
    auto key = DkimKey::fromEd25519Seed(kRfc8463Seed);
    return key ? *key : DkimKey();
}

// The value of tag `tag` in a DKIM-Signature field, unfolded, WSP removed.
QByteArray tagValue(const QByteArray &header, const QByteArray &tag)
{
    QByteArray flat = header;
    flat.replace("\r\n", "").replace(' ', "").replace('\t', "");
    flat = flat.mid(flat.indexOf(':') + 1);
    for (const QByteArray &part : flat.split(';')) {
        if (part.startsWith(tag + '='))
            return part.mid(tag.size() + 1);
    }
    return {};
}

} // namespace

class TestDkimSign : public QObject {
    Q_OBJECT

private slots:
    void headerRelaxed_data()
    {
        QTest::addColumn<QByteArray>("field");
        QTest::addColumn<QByteArray>("canonical");
        // RFC 6376 §3.4.6.
        QTest::newRow("rfc 3.4.6 A") << QByteArray("A: X\r\n") << QByteArray("a:X");
        QTest::newRow("rfc 3.4.6 B") << QByteArray("B : Y\t\r\n\tZ  \r\n") << QByteArray("b:Y Z");
        QTest::newRow("leading wsp") << QByteArray("Subject: \t  hi\r\n") << QByteArray("subject:hi");
        QTest::newRow("inner runs") << QByteArray("Subject: a \t b\t\tc\r\n") << QByteArray("subject:a b c");
        QTest::newRow("empty value") << QByteArray("X-Empty:\r\n") << QByteArray("x-empty:");
        QTest::newRow("wsp only value") << QByteArray("X-Empty: \t \r\n") << QByteArray("x-empty:");
        QTest::newRow("colon in value") << QByteArray("X: : b\r\n") << QByteArray("x:: b");
        QTest::newRow("fold crlf") << QByteArray("To: a@x,\r\n b@y,\r\n\tc@z\r\n") << QByteArray("to:a@x, b@y, c@z");
        QTest::newRow("fold lf") << QByteArray("To: a@x,\n b@y\n") << QByteArray("to:a@x, b@y");
        QTest::newRow("fold at colon") << QByteArray("Subject:\r\n hi\r\n") << QByteArray("subject:hi");
        QTest::newRow("utf8 untouched") << QByteArray("Subject: Grüße  aus Malmö\r\n")
                                        << QByteArray("subject:Grüße aus Malmö");
        QTest::newRow("name case") << QByteArray("MESSAGE-Id: <a@b>\r\n") << QByteArray("message-id:<a@b>");
        QTest::newRow("no line end") << QByteArray("Subject: x") << QByteArray("subject:x");
    }

    void headerRelaxed()
    {
        QFETCH(QByteArray, field);
        QFETCH(QByteArray, canonical);
        SplitMessage split;
        QVERIFY(splitMessage(field, &split));
        QCOMPARE(split.fields.size(), 1);
        QCOMPARE(canonicalizeHeaderRelaxed(split.fields[0].name, split.fields[0].value), canonical);
    }

    void bodyRelaxed_data()
    {
        QTest::addColumn<QByteArray>("body");
        QTest::addColumn<QByteArray>("canonical");
        // RFC 6376 §3.4.6.
        QTest::newRow("rfc 3.4.6") << QByteArray(" C \r\nD \t E\r\n\r\n\r\n") << QByteArray(" C\r\nD E\r\n");
        QTest::newRow("empty") << QByteArray() << QByteArray();
        QTest::newRow("one empty line") << QByteArray("\r\n") << QByteArray();
        QTest::newRow("only empty lines") << QByteArray("\r\n\r\n\n") << QByteArray();
        QTest::newRow("only wsp lines") << QByteArray(" \t\r\n  \r\n") << QByteArray();
        QTest::newRow("no final crlf") << QByteArray("abc") << QByteArray("abc\r\n");
        QTest::newRow("no final crlf, trailing wsp") << QByteArray("abc \t") << QByteArray("abc\r\n");
        QTest::newRow("lf only") << QByteArray("a\nb\n\n") << QByteArray("a\r\nb\r\n");
        QTest::newRow("trailing wsp") << QByteArray("a  \r\nb\t\r\n") << QByteArray("a\r\nb\r\n");
        QTest::newRow("leading wsp kept as one sp") << QByteArray("\t\t a\r\n") << QByteArray(" a\r\n");
        QTest::newRow("inner empty lines kept") << QByteArray("a\r\n\r\n \r\nb\r\n\r\n")
                                                << QByteArray("a\r\n\r\n\r\nb\r\n");
        QTest::newRow("bare cr is data") << QByteArray("a\rb\r\nc\r\r\n") << QByteArray("a\rb\r\nc\r\r\n");
        QTest::newRow("8bit") << QByteArray("Grüße  \r\n") << QByteArray("Grüße\r\n");
    }

    void bodyRelaxed()
    {
        QFETCH(QByteArray, body);
        QFETCH(QByteArray, canonical);
        QCOMPARE(canonicalizeBodyRelaxed(body), canonical);
    }

    void bodyHash_data()
    {
        QTest::addColumn<QByteArray>("body");
        QTest::addColumn<QByteArray>("bh");
        // SHA-256 of the empty string: an empty relaxed body adds no CRLF.
        QTest::newRow("empty") << QByteArray() << QByteArray("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
        QTest::newRow("blank lines") << QByteArray("\r\n\r\n") << QByteArray("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
        SplitMessage split;
        QVERIFY(splitMessage(kRfc8463Message, &split));
        QTest::newRow("rfc 8463 A.3") << split.body.toByteArray() << kRfc8463Bh;
        QByteArray lf = split.body.toByteArray();
        lf.replace("\r\n", "\n");
        QTest::newRow("rfc 8463 A.3, LF line ends") << lf << kRfc8463Bh;
        QTest::newRow("rfc 8463 A.3, extra blank lines and trailing wsp")
            << split.body.toByteArray().replace("Joe.", "Joe.  \t") + "\r\n\r\n" << kRfc8463Bh;
    }

    void bodyHash()
    {
        QFETCH(QByteArray, body);
        QFETCH(QByteArray, bh);
        QCOMPARE(bodyHashRelaxed(body), bh);
    }

    void splitMessageShapes()
    {
        SplitMessage split;
        const QByteArray folded = crlf("A: 1\nB: 2\n\tmore\n\nbody\n");
        QVERIFY(splitMessage(folded, &split));
        QCOMPARE(split.fields.size(), 2);
        QCOMPARE(split.fields[1].name.toByteArray(), QByteArray("B"));
        QCOMPARE(split.fields[1].value.toByteArray(), QByteArray(" 2\r\n\tmore"));
        QCOMPARE(split.body.toByteArray(), QByteArray("body\r\n"));

        QVERIFY(splitMessage("A: 1\r\nB: 2\r\n", &split)); // header only
        QCOMPARE(split.fields.size(), 2);
        QVERIFY(split.body.isEmpty());

        QVERIFY(!splitMessage("A: 1\r\nnot a field\r\n\r\n", &split));
        QVERIFY(!splitMessage(" leading continuation\r\n", &split));
        QVERIFY(!splitMessage("Bad Name: x\r\n", &split));
        QVERIFY(!splitMessage(": no name\r\n", &split));
        QVERIFY(!splitMessage("Caf\xc3\xa9: 8-bit name\r\n", &split));
    }

    void headerSelection_data()
    {
        QTest::addColumn<QByteArray>("header");
        QTest::addColumn<QByteArray>("h");
        QTest::newRow("minimal") << QByteArray("From: a@x\n") << QByteArray("from:from");
        QTest::newRow("usual") << QByteArray("Received: x\nSubject: s\nFrom: a@x\nTo: b@y\nDate: d\n"
                                             "Message-ID: <m@x>\nMIME-Version: 1.0\n"
                                             "Content-Type: text/plain\nX-Mailer: z\n")
                               << QByteArray("from:from:to:subject:date:message-id:mime-version:content-type");
        QTest::newRow("repeated fields") << QByteArray("To: a\nFrom: f\nTo: b\ncc: c\nCC: d\n")
                                         << QByteArray("from:from:to:to:cc:cc");
        QTest::newRow("two From") << QByteArray("From: a\nFrom: b\n") << QByteArray("from:from:from");
        QTest::newRow("all listed") << QByteArray("From: f\nTo: t\nCc: c\nSubject: s\nDate: d\nMessage-ID: m\n"
                                                  "Reply-To: r\nIn-Reply-To: i\nReferences: r\nMIME-Version: 1.0\n"
                                                  "Content-Type: c\nContent-Transfer-Encoding: 8bit\n")
                                    << QByteArray("from:from:to:cc:subject:date:message-id:reply-to:"
                                                  "in-reply-to:references:mime-version:content-type:"
                                                  "content-transfer-encoding");
        QTest::newRow("list fields") << QByteArray("List-Unsubscribe: <u>\nFrom: f\nList-Id: <l>\n"
                                                   "list-unsubscribe-post: x\nLIST-ID: <l2>\n")
                                     << QByteArray("from:from:list-unsubscribe:list-id:list-id:"
                                                   "list-unsubscribe-post");
        QTest::newRow("unsigned fields") << QByteArray("From: f\nReceived: r\nX-Spam: y\nDKIM-Signature: v=1\n")
                                         << QByteArray("from:from");
    }

    void headerSelection()
    {
        QFETCH(QByteArray, header);
        QFETCH(QByteArray, h);
        SplitMessage split;
        const QByteArray message = crlf(header);
        QVERIFY(splitMessage(message, &split));
        QCOMPARE(signedHeaderNames(split.fields).join(':'), h);
    }

    void signedDataBottomUp()
    {
        SplitMessage split;
        const QByteArray msg = crlf("Subject: one\nFrom: f\nSubject:  two\n\n");
        QVERIFY(splitMessage(msg, &split));
        // §5.4.2: the last instance first; a name listed more often than present adds nothing.
        const QByteArray data = signedData(split.fields, {"subject", "subject", "subject", "from", "x"},
                                           "DKIM-Signature: a=1;\r\n b=");
        QCOMPARE(data, QByteArray("subject:two\r\nsubject:one\r\nfrom:f\r\ndkim-signature:a=1; b="));
    }

    // RFC 8463 Appendix A: the same key, message, signature field and h= list give the
    // RFC's b= exactly (Ed25519 is deterministic).
    void rfc8463Example()
    {
        const DkimKey key = rfcKey();
        QVERIFY(!key.isNull());
        QCOMPARE(key.type(), KeyType::Ed25519);
        QCOMPARE(key.publicKeyBase64(), kRfc8463Public);
        QCOMPARE(key.dnsTxtRecord(), "v=DKIM1; k=ed25519; p=" + kRfc8463Public);

        SplitMessage split;
        QVERIFY(splitMessage(kRfc8463Message, &split));
        QCOMPARE(bodyHashRelaxed(split.body), kRfc8463Bh);
        const QList<QByteArray> h = {"from", "to", "subject", "date", "message-id",
                                     "from", "subject", "date"};
        const auto sig = signData(key, signedData(split.fields, h, kRfc8463SigHeader));
        QVERIFY2(sig.ok(), qPrintable(sig.ok() ? QString() : sig.error().message));
        QCOMPARE(sig->toBase64(), kRfc8463B);

        // The same through LF-only input.
        QByteArray lf = kRfc8463Message;
        lf.replace("\r\n", "\n");
        QVERIFY(splitMessage(lf, &split));
        QCOMPARE(signData(key, signedData(split.fields, h, kRfc8463SigHeader))->toBase64(), kRfc8463B);
    }

    void signProducesField_data()
    {
        QTest::addColumn<int>("type");
        QTest::newRow("ed25519") << int(KeyType::Ed25519);
        QTest::newRow("rsa") << int(KeyType::Rsa);
    }

    void signProducesField()
    {
        QFETCH(int, type);
        const auto key = DkimKey::generate(KeyType(type));
        QVERIFY(key.ok());
        const auto field = sign(kRfc8463Message, "football.example.com", "brisbane", *key, 1528637909);
        QVERIFY2(field.ok(), qPrintable(field.ok() ? QString() : field.error().message));
        QVERIFY(field->startsWith("DKIM-Signature: v=1; "));
        QVERIFY(field->endsWith("\r\n"));
        const QList<QByteArray> lines = field->chopped(2).split('\n');
        for (int i = 0; i < lines.size(); ++i) {
            QByteArray line = lines[i];
            if (i + 1 < lines.size()) {
                QVERIFY(line.endsWith('\r'));
                line.chop(1);
            }
            QVERIFY2(line.size() <= kFoldWidth, line.constData());
            QVERIFY(!line.contains('\r'));
            if (i > 0)
                QVERIFY(line.startsWith(' '));
        }
        QCOMPARE(tagValue(*field, "a"), type == int(KeyType::Rsa) ? QByteArray("rsa-sha256")
                                                                   : QByteArray("ed25519-sha256"));
        QCOMPARE(tagValue(*field, "c"), QByteArray("relaxed/relaxed"));
        QCOMPARE(tagValue(*field, "d"), QByteArray("football.example.com"));
        QCOMPARE(tagValue(*field, "s"), QByteArray("brisbane"));
        QCOMPARE(tagValue(*field, "t"), QByteArray("1528637909"));
        QCOMPARE(tagValue(*field, "h"), QByteArray("from:from:to:subject:date:message-id"));
        QCOMPARE(tagValue(*field, "bh"), kRfc8463Bh);
        const QByteArray b = QByteArray::fromBase64(tagValue(*field, "b"));
        QCOMPARE(b.size(), type == int(KeyType::Rsa) ? 256 : 64);
    }

    // Ed25519 is deterministic, so the same message with LF or CRLF line ends, or with
    // other folding and whitespace, gives the same field.
    void signLfEqualsCrlf()
    {
        const DkimKey key = rfcKey();
        QByteArray lf = kRfc8463Message;
        lf.replace("\r\n", "\n");
        const auto a = sign(kRfc8463Message, "football.example.com", "brisbane", key, 1);
        const auto b = sign(lf, "football.example.com", "brisbane", key, 1);
        QByteArray refolded = kRfc8463Message;
        refolded.replace("Subject: Is dinner ready?", "SUBJECT :  Is\r\n\tdinner  ready?  ");
        refolded.replace("Joe.\r\n", "Joe.  \r\n\r\n\r\n");
        const auto c = sign(refolded, "football.example.com", "brisbane", key, 1);
        QVERIFY(a.ok() && b.ok() && c.ok());
        QCOMPARE(*b, *a);
        QCOMPARE(*c, *a);
        QByteArray changed = kRfc8463Message;
        changed.replace("hungry", "Hungry");
        QVERIFY(*sign(changed, "football.example.com", "brisbane", key, 1) != *a);
    }

    void signErrors_data()
    {
        QTest::addColumn<QByteArray>("message");
        QTest::addColumn<QByteArray>("domain");
        QTest::addColumn<QByteArray>("selector");
        QTest::addColumn<qint64>("timestamp");
        QTest::addColumn<bool>("nullKey");
        QTest::addColumn<int>("code");
        const QByteArray m = kRfc8463Message;
        const int dom = int(SignError::InvalidDomain), sel = int(SignError::InvalidSelector);
        QTest::newRow("empty domain") << m << QByteArray() << QByteArray("s") << qint64(1) << false << dom;
        QTest::newRow("domain with space") << m << QByteArray("exa mple.org") << QByteArray("s") << qint64(1) << false << dom;
        QTest::newRow("domain with ;") << m << QByteArray("example.org;x=1") << QByteArray("s") << qint64(1) << false << dom;
        QTest::newRow("domain crlf") << m << QByteArray("example.org\r\nBcc: x") << QByteArray("s") << qint64(1) << false << dom;
        QTest::newRow("domain empty label") << m << QByteArray("a..org") << QByteArray("s") << qint64(1) << false << dom;
        QTest::newRow("domain trailing dot") << m << QByteArray("example.org.") << QByteArray("s") << qint64(1) << false << dom;
        QTest::newRow("domain hyphen") << m << QByteArray("-a.org") << QByteArray("s") << qint64(1) << false << dom;
        QTest::newRow("domain utf8") << m << QByteArray("malmö.se") << QByteArray("s") << qint64(1) << false << dom;
        QTest::newRow("domain too long") << m << QByteArray(254, 'a') << QByteArray("s") << qint64(1) << false << dom;
        QTest::newRow("label too long") << m << QByteArray(64, 'a') + ".org" << QByteArray("s") << qint64(1) << false << dom;
        QTest::newRow("empty selector") << m << QByteArray("example.org") << QByteArray() << qint64(1) << false << sel;
        QTest::newRow("selector underscore") << m << QByteArray("example.org") << QByteArray("a_b") << qint64(1) << false << sel;
        QTest::newRow("selector =") << m << QByteArray("example.org") << QByteArray("s=x") << qint64(1) << false << sel;
        QTest::newRow("negative t") << m << QByteArray("example.org") << QByteArray("s") << qint64(-1) << false
                                    << int(SignError::InvalidTimestamp);
        QTest::newRow("null key") << m << QByteArray("example.org") << QByteArray("s") << qint64(1) << true
                                  << int(SignError::NullKey);
        QTest::newRow("no From") << crlf("To: a@b\nSubject: x\n\nbody\n") << QByteArray("example.org")
                                 << QByteArray("s") << qint64(1) << false << int(SignError::NoFrom);
        QTest::newRow("empty message") << QByteArray() << QByteArray("example.org") << QByteArray("s")
                                       << qint64(1) << false << int(SignError::NoFrom);
        QTest::newRow("garbage header") << crlf("From: a@b\nthis is not a field\n\nbody\n")
                                        << QByteArray("example.org") << QByteArray("s") << qint64(1) << false
                                        << int(SignError::MalformedHeader);
    }

    void signErrors()
    {
        QFETCH(QByteArray, message);
        QFETCH(QByteArray, domain);
        QFETCH(QByteArray, selector);
        QFETCH(qint64, timestamp);
        QFETCH(bool, nullKey);
        QFETCH(int, code);
        const auto r = sign(message, domain, selector, nullKey ? DkimKey() : rfcKey(), timestamp);
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, code);
        QVERIFY(!r.error().message.isEmpty());
    }

    void keysRoundTrip_data()
    {
        QTest::addColumn<int>("type");
        QTest::newRow("ed25519") << int(KeyType::Ed25519);
        QTest::newRow("rsa") << int(KeyType::Rsa);
    }

    void keysRoundTrip()
    {
        QFETCH(int, type);
        const auto key = DkimKey::generate(KeyType(type));
        QVERIFY(key.ok());
        QCOMPARE(int(key->type()), type);
        const QByteArray pem = key->privateKeyPem();
        QVERIFY(pem.startsWith("-----BEGIN PRIVATE KEY-----\n")); // PKCS#8
        const auto back = DkimKey::fromPem(pem);
        QVERIFY(back.ok());
        QCOMPARE(int(back->type()), type);
        QCOMPARE(back->publicKeyBase64(), key->publicKeyBase64());
        QCOMPARE(back->privateKeyPem(), pem);

        const QByteArray txt = key->dnsTxtRecord();
        const QByteArray p = QByteArray::fromBase64(key->publicKeyBase64());
        if (type == int(KeyType::Rsa)) {
            QCOMPARE(key->bits(), 2048);
            QVERIFY(txt.startsWith("v=DKIM1; k=rsa; p=MII"));
            // p= is a DER SubjectPublicKeyInfo that OpenSSL reads back as the same key.
            const auto *der = reinterpret_cast<const unsigned char *>(p.constData());
            EVP_PKEY *pub = d2i_PUBKEY(nullptr, &der, p.size());
            QVERIFY(pub);
            QCOMPARE(EVP_PKEY_eq(pub, key->pkey()), 1);
            EVP_PKEY_free(pub);
        } else {
            QVERIFY(txt.startsWith("v=DKIM1; k=ed25519; p="));
            QCOMPARE(p.size(), 32); // RFC 8463 §4.2: the raw key, not an SPKI
        }
        QVERIFY(!txt.contains('\n') && !txt.contains('"'));
    }

    void keysRejected()
    {
        QCOMPARE(DkimKey::fromPem("").error().code, int(KeyError::InvalidPem));
        QCOMPARE(DkimKey::fromPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").error().code,
                 int(KeyError::InvalidPem));
        QCOMPARE(DkimKey::fromEd25519Seed(QByteArray(31, 'x')).error().code, int(KeyError::InvalidSeed));

        auto pemOf = [](EVP_PKEY *pkey) {
            BIO *bio = BIO_new(BIO_s_mem());
            PEM_write_bio_PKCS8PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr);
            char *data = nullptr;
            const long n = BIO_get_mem_data(bio, &data);
            QByteArray out(data, n);
            BIO_free(bio);
            EVP_PKEY_free(pkey);
            return out;
        };
        QCOMPARE(DkimKey::fromPem(pemOf(EVP_RSA_gen(512))).error().code, int(KeyError::UnsupportedKeySize));
        QCOMPARE(DkimKey::fromPem(pemOf(EVP_EC_gen("P-256"))).error().code, int(KeyError::UnsupportedKeyType));
        // A public key is not a signing key.
        // (The RFC 8463 key as an SPKI: a 12-byte DER prefix, then the raw key.)
        const QByteArray pub = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA" + kRfc8463Public
                               + "\n-----END PUBLIC KEY-----\n";
        QVERIFY(!DkimKey::fromPem(pub).ok());
    }

    // No input crashes the signer: every prefix of a message with folding, 8-bit bytes,
    // CRs and LFs, and random bytes, either signs or returns an error.
    void noInputCrashes()
    {
        const DkimKey key = rfcKey();
        const QByteArray base = crlf("From: \xc3\xa5 <a@x>\nSubject: a\n\tb \r\n\n \r\r\n\t\nbody\n\n");
        for (qsizetype n = 0; n <= base.size(); ++n) {
            const auto r = sign(base.first(n), "example.org", "s", key, 1);
            (void)r;
        }
        QRandomGenerator rng(42);
        const QByteArray alphabet("Fr:om \t\r\n\xff\x00a", 12);
        for (int i = 0; i < 2000; ++i) {
            QByteArray m = "From: x\r\n";
            const int len = int(rng.bounded(200));
            for (int j = 0; j < len; ++j)
                m += alphabet[rng.bounded(int(alphabet.size()))];
            const auto r = sign(m, "example.org", "s", key, 1);
            (void)r;
        }
    }
};

QTEST_GUILESS_MAIN(TestDkimSign)
#include "tst_dkimsign.moc"
