// SPDX-License-Identifier: AGPL-3.0-or-later
// auth/authresults: RFC 8601 Authentication-Results. Every example of the RFC's Appendix B
// parses to the structure the RFC describes; the builder writes our own field byte for
// byte; build -> parse round trips; malformed fields fail cleanly.
#include "auth/authresults.h"

#include <QRandomGenerator>
#include <QTest>

using namespace valv::auth;

namespace {

AuthResultProperty P(const QString &ptype, const QString &property, const QString &value)
{
    return AuthResultProperty{ptype, property, value};
}

AuthResultEntry E(const QString &method, const QString &result, QList<AuthResultProperty> props = {},
    const QString &comment = {}, const QString &reason = {}, int version = 0)
{
    AuthResultEntry e;
    e.method = method;
    e.result = result;
    e.properties = std::move(props);
    e.comment = comment;
    e.reason = reason;
    e.methodVersion = version;
    return e;
}

// A failed Result's message, for QVERIFY2 (which evaluates its message either way).
template <typename T> QByteArray why(const valv::Result<T> &r, const QByteArray &context = {})
{
    return r.ok() ? QByteArray() : r.error().message.toUtf8() + context;
}

// One line per structure, every part delimited, so a failing comparison shows the difference.
QString describe(const QString &id, int version, const QList<AuthResultEntry> &entries)
{
    QString s = QStringLiteral("id{%1} v%2").arg(id).arg(version);
    if (entries.isEmpty())
        s += QStringLiteral(" none");
    for (const AuthResultEntry &e : entries) {
        s += QStringLiteral(" [%1/%2=%3 c{%4} r{%5}")
                 .arg(e.method)
                 .arg(e.methodVersion)
                 .arg(e.result, e.comment, e.reason);
        for (const AuthResultProperty &p : e.properties)
            s += QStringLiteral(" %1.%2{%3}").arg(p.ptype, p.property, p.value);
        s += u']';
    }
    return s;
}

QString describe(const AuthenticationResults &ar) { return describe(ar.authservId, ar.version, ar.entries); }

} // namespace

Q_DECLARE_METATYPE(QList<AuthResultEntry>)

class TestAuthResults : public QObject {
    Q_OBJECT

private slots:
    void parse_data()
    {
        QTest::addColumn<QByteArray>("field");
        QTest::addColumn<QString>("id");
        QTest::addColumn<int>("version");
        QTest::addColumn<QList<AuthResultEntry>>("entries");

        // RFC 8601 Appendix B, as printed (folded, CRLF line ends).
        QTest::newRow("B.2 none") << QByteArray("Authentication-Results: example.org 1; none\r\n") << "example.org" << 1
                                  << QList<AuthResultEntry>{};
        QTest::newRow("B.3 spf") << QByteArray("Authentication-Results: example.com;\r\n"
                                               "          spf=pass smtp.mailfrom=example.net\r\n")
                                 << "example.com" << 1
                                 << QList<AuthResultEntry>{E("spf", "pass", {P("smtp", "mailfrom", "example.net")})};
        QTest::newRow("B.4 auth and spf")
            << QByteArray("Authentication-Results: example.com;\r\n"
                          "          auth=pass (cram-md5) smtp.auth=sender@example.net;\r\n"
                          "          spf=pass smtp.mailfrom=example.net\r\n")
            << "example.com" << 1
            << QList<AuthResultEntry>{E("auth", "pass", {P("smtp", "auth", "sender@example.net")}, "cram-md5"),
                   E("spf", "pass", {P("smtp", "mailfrom", "example.net")})};
        QTest::newRow("B.4 iprev") << QByteArray("Authentication-Results: example.com; iprev=pass\r\n"
                                                 "          policy.iprev=192.0.2.200\r\n")
                                   << "example.com" << 1
                                   << QList<AuthResultEntry>{E("iprev", "pass", {P("policy", "iprev", "192.0.2.200")})};
        QTest::newRow("B.5 dkim") << QByteArray("Authentication-Results: example.com;\r\n"
                                                "          dkim=pass (good signature) header.d=example.com\r\n")
                                  << "example.com" << 1
                                  << QList<AuthResultEntry>{
                                         E("dkim", "pass", {P("header", "d", "example.com")}, "good signature")};
        QTest::newRow("B.5 auth and spf fail")
            << QByteArray("Authentication-Results: example.com;\r\n"
                          "          auth=pass (cram-md5) smtp.auth=sender@example.com;\r\n"
                          "          spf=fail smtp.mailfrom=example.com\r\n")
            << "example.com" << 1
            << QList<AuthResultEntry>{E("auth", "pass", {P("smtp", "auth", "sender@example.com")}, "cram-md5"),
                   E("spf", "fail", {P("smtp", "mailfrom", "example.com")})};
        QTest::newRow("B.6 reasons")
            << QByteArray("Authentication-Results: example.com;\r\n"
                          "      dkim=pass reason=\"good signature\"\r\n"
                          "        header.i=@mail-router.example.net;\r\n"
                          "      dkim=fail reason=\"bad signature\"\r\n"
                          "        header.i=@newyork.example.com\r\n")
            << "example.com" << 1
            << QList<AuthResultEntry>{
                   E("dkim", "pass", {P("header", "i", "@mail-router.example.net")}, {}, "good signature"),
                   E("dkim", "fail", {P("header", "i", "@newyork.example.com")}, {}, "bad signature")};
        QTest::newRow("B.6 header.b")
            << QByteArray("Authentication-Results: mail-router.example.net;\r\n"
                          "      dkim=pass (good signature) header.d=newyork.example.com\r\n"
                          "            header.b=oINEO8hg;\r\n"
                          "      dkim=fail (bad signature) header.d=newyork.example.com\r\n"
                          "            header.b=EToRSuvU\r\n")
            << "mail-router.example.net" << 1
            << QList<AuthResultEntry>{
                   E("dkim", "pass", {P("header", "d", "newyork.example.com"), P("header", "b", "oINEO8hg")},
                       "good signature"),
                   E("dkim", "fail", {P("header", "d", "newyork.example.com"), P("header", "b", "EToRSuvU")},
                       "bad signature")};
        QTest::newRow("B.6 (RFC 7001) header.i")
            << QByteArray("Authentication-Results: example.net;\r\n"
                          "      dkim=pass (good signature) header.i=@newyork.example.com\r\n")
            << "example.net" << 1
            << QList<AuthResultEntry>{E("dkim", "pass", {P("header", "i", "@newyork.example.com")}, "good signature")};
        QTest::newRow("B.7 comment-heavy")
            << QByteArray("Authentication-Results: foo.example.net (foobar) 1 (baz);\r\n"
                          "    dkim (Because I like it) / 1 (One yay) = (wait for it) fail\r\n"
                          "      policy (A dot can go here) . (like that) expired\r\n"
                          "      (this surprised me) = (as I wasn't expecting it) 1362471462\r\n")
            << "foo.example.net" << 1
            << QList<AuthResultEntry>{E("dkim", "fail", {P("policy", "expired", "1362471462")}, {}, {}, 1)};
        // §2.7.6: an unknown method is still a method=result.
        QTest::newRow("2.7.6 unknown method")
            << QByteArray("example.com;\r\n          foo=pass bar.baz=blob (2 of 3 tests OK)") << "example.com" << 1
            << QList<AuthResultEntry>{E("foo", "pass", {P("bar", "baz", "blob")})};

        // Other valid forms.
        QTest::newRow("value only, unfolded")
            << QByteArray("mx.a.test; spf=pass smtp.mailfrom=alice@a.test") << "mx.a.test" << 1
            << QList<AuthResultEntry>{E("spf", "pass", {P("smtp", "mailfrom", "alice@a.test")})};
        QTest::newRow("quoted authserv-id")
            << QByteArray("\"example.org\"; none") << "example.org" << 1 << QList<AuthResultEntry>{};
        QTest::newRow("utf-8 authserv-id quoted")
            << QByteArray("\"\xc3\xa9xampl\xc3\xa9.org\"; none") << QString::fromUtf8("\xc3\xa9xampl\xc3\xa9.org") << 1
            << QList<AuthResultEntry>{};
        QTest::newRow("none with comment") << QByteArray("test.example.org; none (SPF not checked for localhost)")
                                           << "test.example.org" << 1 << QList<AuthResultEntry>{};
        QTest::newRow("version 2 kept") << QByteArray("example.org 2; none") << "example.org" << 2
                                        << QList<AuthResultEntry>{};
        QTest::newRow("bare LF folding") << QByteArray("Authentication-Results: a.test;\n\tdkim=pass header.d=a.test\n")
                                         << "a.test" << 1
                                         << QList<AuthResultEntry>{E("dkim", "pass", {P("header", "d", "a.test")})};
        QTest::newRow("name any case, blank before colon") << QByteArray("authentication-results : a.test; spf=none")
                                                           << "a.test" << 1 << QList<AuthResultEntry>{E("spf", "none")};
        QTest::newRow("keywords lower-cased")
            << QByteArray("A.Test; SPF=PASS SMTP.MailFrom=Bob@B.Test") << "A.Test" << 1
            << QList<AuthResultEntry>{E("spf", "pass", {P("smtp", "mailfrom", "Bob@B.Test")})};
        QTest::newRow("quoted values") << QByteArray("a.test; dkim=pass header.d=\"github.com\" header.i=\"x y\\\"z\"")
                                       << "a.test" << 1
                                       << QList<AuthResultEntry>{E("dkim", "pass",
                                              {P("header", "d", "github.com"), P("header", "i", "x y\"z")})};
        QTest::newRow("quoted local-part")
            << QByteArray("a.test; auth=pass smtp.auth=\"a b\"@example.com") << "a.test" << 1
            << QList<AuthResultEntry>{E("auth", "pass", {P("smtp", "auth", "a b@example.com")})};
        QTest::newRow("plus in local-part")
            << QByteArray("a.test; dkim=pass header.i=dkim+foo-bar@example.github.com") << "a.test" << 1
            << QList<AuthResultEntry>{E("dkim", "pass", {P("header", "i", "dkim+foo-bar@example.github.com")})};
        QTest::newRow("utf-8 address") << QByteArray("a.test; dkim=pass header.i=Pel\xc3\xa9@example.com") << "a.test"
                                       << 1
                                       << QList<AuthResultEntry>{E("dkim", "pass",
                                              {P("header", "i", QString::fromUtf8("Pel\xc3\xa9@example.com"))})};
        QTest::newRow("nested comment") << QByteArray("a.test; spf=pass (a (b\\) c) d) smtp.mailfrom=a.test")
                                        << "a.test" << 1
                                        << QList<AuthResultEntry>{
                                               E("spf", "pass", {P("smtp", "mailfrom", "a.test")}, "a (b) c) d")};
        QTest::newRow("comment glued to result")
            << QByteArray("a.test; spf=pass(x)smtp.mailfrom=a.test") << "a.test" << 1
            << QList<AuthResultEntry>{E("spf", "pass", {P("smtp", "mailfrom", "a.test")}, "x")};
        QTest::newRow("gmail style")
            << QByteArray("Authentication-Results: mx.google.com;\r\n"
                          "       dkim=pass header.i=@example.com header.s=20230601 header.b=Ab+Cd1;\r\n"
                          "       spf=pass (google.com: domain of a@example.com designates 192.0.2.1 as permitted "
                          "sender) smtp.mailfrom=a@example.com;\r\n"
                          "       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.com\r\n")
            << "mx.google.com" << 1
            << QList<AuthResultEntry>{
                   E("dkim", "pass",
                       {P("header", "i", "@example.com"), P("header", "s", "20230601"), P("header", "b", "Ab+Cd1")}),
                   E("spf", "pass", {P("smtp", "mailfrom", "a@example.com")},
                       "google.com: domain of a@example.com designates 192.0.2.1 as permitted sender"),
                   E("dmarc", "pass", {P("header", "from", "example.com")}, "p=REJECT sp=REJECT dis=NONE")};
        // Leniency for fields seen in the wild.
        QTest::newRow("lenient: trailing ;")
            << QByteArray("example.com; spf=pass smtp.mailfrom=example.net;") << "example.com" << 1
            << QList<AuthResultEntry>{E("spf", "pass", {P("smtp", "mailfrom", "example.net")})};
        QTest::newRow("lenient: / in header.b")
            << QByteArray("example.com; dkim=pass header.b=gfT/i2HB") << "example.com" << 1
            << QList<AuthResultEntry>{E("dkim", "pass", {P("header", "b", "gfT/i2HB")})};
        QTest::newRow("reason then properties, method version")
            << QByteArray("a.test; dkim/2=fail (c) reason=expired header.d=a.test") << "a.test" << 1
            << QList<AuthResultEntry>{E("dkim", "fail", {P("header", "d", "a.test")}, "c", "expired", 2)};
        QTest::newRow("property named reason after others")
            << QByteArray("a.test; x=pass a.b=c reason.d=e") << "a.test" << 1
            << QList<AuthResultEntry>{E("x", "pass", {P("a", "b", "c"), P("reason", "d", "e")})};
    }

    void parse()
    {
        QFETCH(QByteArray, field);
        QFETCH(QString, id);
        QFETCH(int, version);
        QFETCH(QList<AuthResultEntry>, entries);
        const auto ar = parseAuthenticationResults(field);
        QVERIFY2(ar.ok(), why(ar).constData());
        QCOMPARE(describe(*ar), describe(id, version, entries));

        const auto idOnly = parseAuthservId(field);
        QVERIFY(idOnly.ok());
        QCOMPARE(*idOnly, id);

        // Round trip: what we build from it parses back to the same results.
        const QByteArray built = buildAuthenticationResults(ar->authservId, ar->entries);
        const auto again = parseAuthenticationResults(built);
        QVERIFY2(again.ok(), why(again, " in " + built).constData());
        QCOMPARE(describe(*again), describe(id, 1, entries));
    }

    void malformed_data()
    {
        QTest::addColumn<QByteArray>("field");
        QTest::newRow("empty") << QByteArray();
        QTest::newRow("blank") << QByteArray("   ");
        QTest::newRow("name only") << QByteArray("Authentication-Results:");
        QTest::newRow("id only") << QByteArray("example.com");
        QTest::newRow("id and ;") << QByteArray("example.com;");
        QTest::newRow("no id") << QByteArray("; spf=pass");
        QTest::newRow("id not a token") << QByteArray("exa[mple].com; none");
        QTest::newRow("method without result") << QByteArray("example.com; spf");
        QTest::newRow("empty result") << QByteArray("example.com; spf=");
        QTest::newRow("result not a keyword") << QByteArray("example.com; spf=\"pass\"");
        QTest::newRow("ptype without property") << QByteArray("example.com; spf=pass smtp");
        QTest::newRow("property without value") << QByteArray("example.com; spf=pass smtp.mailfrom");
        QTest::newRow("property, empty value") << QByteArray("example.com; spf=pass smtp.mailfrom=");
        QTest::newRow("property without dot") << QByteArray("example.com; spf=pass mailfrom=a.test");
        QTest::newRow("two @") << QByteArray("example.com; spf=pass smtp.mailfrom=a@b@c");
        QTest::newRow("@ without domain") << QByteArray("example.com; spf=pass smtp.mailfrom=a@");
        QTest::newRow("quoted local-part, no domain") << QByteArray("example.com; auth=pass smtp.auth=\"a\"@");
        QTest::newRow("unterminated comment") << QByteArray("example.com; spf=pass (abc");
        QTest::newRow("unbalanced comment") << QByteArray("example.com (a (b); none");
        QTest::newRow("stray )") << QByteArray("example.com; spf=pass ) smtp.mailfrom=a.test");
        QTest::newRow("unterminated quote") << QByteArray("example.com; dkim=pass reason=\"abc");
        QTest::newRow("bare CR") << QByteArray("example.com;\r spf=pass");
        QTest::newRow("line break without fold") << QByteArray("example.com;\r\nspf=pass");
        QTest::newRow("NUL") << QByteArray("example.com; spf=pass (a") + '\0' + QByteArray("b)");
        QTest::newRow("control char in quotes") << QByteArray("example.com; dkim=pass reason=\"a\x01\"");
        QTest::newRow("none then results") << QByteArray("example.com; none; spf=pass");
        QTest::newRow("none twice") << QByteArray("example.com; none none");
        QTest::newRow("version too long") << QByteArray("example.com 1234567890; none");
        QTest::newRow("method version empty") << QByteArray("example.com; dkim/=pass");
        QTest::newRow("two reasons") << QByteArray("example.com; dkim=pass reason=a reason=b");
        QTest::newRow("comments too deep")
            << QByteArray("example.com " + QByteArray(65, '(') + QByteArray(65, ')') + "; none");
        QTest::newRow("too large") << QByteArray("example.com; none " + QByteArray(kMaxAuthResultsSize, ' '));
        QTest::newRow("double ;") << QByteArray("example.com; spf=pass;; dkim=pass");
    }

    void malformed()
    {
        QFETCH(QByteArray, field);
        const auto ar = parseAuthenticationResults(field);
        QVERIFY2(!ar.ok(), qPrintable(ar.ok() ? describe(*ar) : QString()));
        QVERIFY(!ar.error().message.isEmpty());
        QVERIFY(ar.error().code == int(AuthResultsError::Syntax) || ar.error().code == int(AuthResultsError::TooLarge));
    }

    void deepButAllowedComments()
    {
        const QByteArray f = "example.com " + QByteArray(64, '(') + QByteArray(64, ')') + "; none";
        QVERIFY(parseAuthenticationResults(f).ok());
    }

    // The authserv-id alone, for removing forged fields (§5) whose results are broken.
    void authservIdOnly()
    {
        QCOMPARE(*parseAuthservId("Authentication-Results: mx.a.test; spf=((("), "mx.a.test");
        QCOMPARE(*parseAuthservId(" (comment) \"mx.a.test\" junk"), "mx.a.test");
        QCOMPARE(*parseAuthservId("MX.A.TEST;"), "MX.A.TEST");
        QVERIFY(!parseAuthservId("").ok());
        QVERIFY(!parseAuthservId("(unterminated").ok());
        QVERIFY(!parseAuthservId("; spf=pass").ok());
    }

    void build_data()
    {
        QTest::addColumn<QString>("id");
        QTest::addColumn<QList<AuthResultEntry>>("entries");
        QTest::addColumn<QByteArray>("field");
        QTest::newRow("spf, dkim, dmarc")
            << "mx.a.test"
            << QList<AuthResultEntry>{E("spf", "pass", {P("smtp", "mailfrom", "alice@a.test")}),
                   E("dkim", "pass",
                       {P("header", "d", "a.test"), P("header", "s", "sel"), P("header", "a", "ed25519-sha256"),
                           P("header", "b", "abcdefgh")}),
                   E("dmarc", "pass", {P("header", "from", "a.test")})}
            << QByteArray("Authentication-Results: mx.a.test;\r\n"
                          "\tspf=pass smtp.mailfrom=alice@a.test;\r\n"
                          "\tdkim=pass header.d=a.test header.s=sel header.a=ed25519-sha256 header.b=abcdefgh;\r\n"
                          "\tdmarc=pass header.from=a.test\r\n");
        QTest::newRow("none") << "mx.a.test" << QList<AuthResultEntry>{}
                              << QByteArray("Authentication-Results: mx.a.test; none\r\n");
        QTest::newRow("comment, reason, version")
            << "mx.a.test"
            << QList<AuthResultEntry>{E(
                   "dkim", "fail", {P("header", "d", "a.test")}, "bad (really) sig\\", "body hash mismatch", 1)}
            << QByteArray("Authentication-Results: mx.a.test;\r\n"
                          "\tdkim/1=fail (bad \\(really\\) sig\\\\) reason=\"body hash mismatch\" header.d=a.test\r\n");
        QTest::newRow("quoting") << "mx.a.test"
                                 << QList<AuthResultEntry>{E("spf", "pass",
                                        {P("smtp", "mailfrom", "a;b@c.test"), P("smtp", "helo", ""),
                                            P("policy", "x", "say \"hi\""), P("header", "i", "@c.test"),
                                            P("header", "b", "ab/c+d")})}
                                 << QByteArray("Authentication-Results: mx.a.test;\r\n"
                                               "\tspf=pass smtp.mailfrom=\"a;b@c.test\" smtp.helo=\"\" policy.x=\"say "
                                               "\\\"hi\\\"\" header.i=@c.test header.b=\"ab/c+d\"\r\n");
        QTest::newRow("utf-8 quoted")
            << QString::fromUtf8("m\xc3\xbc.test")
            << QList<AuthResultEntry>{E("dmarc", "pass", {P("header", "from", QString::fromUtf8("b\xc3\xbc.test"))})}
            << QByteArray(
                   "Authentication-Results: \"m\xc3\xbc.test\";\r\n\tdmarc=pass header.from=\"b\xc3\xbc.test\"\r\n");
        QTest::newRow("no header injection")
            << "mx.a.test\r\nX-Evil: 1"
            << QList<AuthResultEntry>{E(
                   "spf", "pass", {P("smtp", "mailfrom", "a@b.test\r\nX-Evil: 2")}, "x\r\nX-Evil: 3", "r\nX-Evil: 4")}
            << QByteArray("Authentication-Results: \"mx.a.testX-Evil: 1\";\r\n"
                          "\tspf=pass (xX-Evil: 3) reason=\"rX-Evil: 4\" smtp.mailfrom=\"a@b.testX-Evil: 2\"\r\n");
        QTest::newRow("non-keywords left out")
            << "mx.a.test"
            << QList<AuthResultEntry>{E("spf pass", "x"), E("spf", ""),
                   E("dkim", "pass", {P("head er", "d", "x"), P("header", "", "y"), P("header", "d", "a.test")})}
            << QByteArray("Authentication-Results: mx.a.test;\r\n\tdkim=pass header.d=a.test\r\n");
    }

    void build()
    {
        QFETCH(QString, id);
        QFETCH(QList<AuthResultEntry>, entries);
        QFETCH(QByteArray, field);
        const QByteArray built = buildAuthenticationResults(id, entries);
        QCOMPARE(built, field);
        QVERIFY2(parseAuthenticationResults(built).ok(), built.constData());
    }

    // Build -> parse gives back what went in, for hostile texts too, and no line is over
    // 998 octets.
    void roundTrip()
    {
        QRandomGenerator rng(5);
        const QString alphabet = QString::fromUtf8("ab@.;:=()\\\" \t/\"+-_x\xc3\xa9\xe2\x82\xac");
        auto randomText = [&](int max) {
            QString s;
            const int n = int(rng.bounded(max + 1));
            for (int i = 0; i < n; ++i)
                s += alphabet[rng.bounded(int(alphabet.size()))];
            return s;
        };
        for (int i = 0; i < 2000; ++i) {
            QList<AuthResultEntry> entries;
            const int count = int(rng.bounded(4));
            for (int j = 0; j < count; ++j) {
                AuthResultEntry e = E("dkim", j % 2 ? "pass" : "fail");
                e.methodVersion = int(rng.bounded(3));
                e.comment = randomText(i % 100 == 0 ? 1500 : 20);
                e.reason = randomText(10);
                for (int k = int(rng.bounded(4)); k > 0; --k)
                    e.properties << P("header", "x", randomText(i % 50 == 0 ? 1200 : 15));
                entries << e;
            }
            const QString id = randomText(12);
            const QByteArray built = buildAuthenticationResults(id, entries);
            for (const QByteArray &line : built.split('\n'))
                QVERIFY(line.size() <= 999);
            const auto ar = parseAuthenticationResults(built);
            QVERIFY2(ar.ok(), why(ar, " in " + built).constData());
            QCOMPARE(describe(*ar), describe(id, 1, entries));
        }
    }

    // Random mutations of the RFC examples parse or fail cleanly.
    void noInputCrashes()
    {
        const QByteArray base = "Authentication-Results: foo.example.net (foobar) 1 (baz);\r\n"
                                "    dkim (Because I like it) / 1 (One yay) = (wait for it) fail\r\n"
                                "      policy (A dot can go here) . (like that) expired\r\n"
                                "      (this surprised me) = (as I wasn't expecting it) 1362471462;\r\n"
                                "    spf=pass smtp.mailfrom=\"a b\"@example.com reason=\"x\"";
        QRandomGenerator rng(3);
        const QByteArray alphabet("();=.@\"\\/ \t\r\nax1\xff\x00", 18);
        for (int i = 0; i < 5000; ++i) {
            QByteArray m = base;
            const int edits = 1 + int(rng.bounded(8));
            for (int j = 0; j < edits; ++j) {
                const int at = int(rng.bounded(int(m.size()) + 1));
                if (rng.bounded(2))
                    m.insert(at, alphabet[rng.bounded(int(alphabet.size()))]);
                else if (at < m.size())
                    m.remove(at, 1 + int(rng.bounded(4)));
            }
            const auto ar = parseAuthenticationResults(m);
            if (!ar.ok())
                continue;
            const auto again = parseAuthenticationResults(buildAuthenticationResults(ar->authservId, ar->entries));
            QVERIFY(again.ok());
            QCOMPARE(describe(again->authservId, 1, again->entries), describe(ar->authservId, 1, ar->entries));
        }
    }
};

QTEST_GUILESS_MAIN(TestAuthResults)
#include "tst_authresults.moc"
