// SPDX-License-Identifier: AGPL-3.0-or-later
// auth/dmarc + auth/orgdomain: RFC 7489 records (Appendix B's among them), §3.2
// organizational domains from the Public Suffix List, §3.1 alignment (Appendix B.1's
// cases), §6.6.3 policy discovery against a DNS table, p/sp selection and pct sampling.
#include "auth/dmarc.h"
#include "auth/orgdomain.h"

#include <QHash>
#include <QRandomGenerator>
#include <QTest>

using namespace valv::auth;
using Policy = DmarcRecord::Policy;

Q_DECLARE_METATYPE(DmarcRecord::Policy)
Q_DECLARE_METATYPE(DmarcResult)

namespace {

DnsAnswer txt(QList<QByteArray> records)
{
    DnsAnswer a;
    a.txt = std::move(records);
    return a;
}

DnsAnswer status(DnsAnswer::Status s)
{
    DnsAnswer a;
    a.status = s;
    return a;
}

// Runs a check against a table of TXT answers (a name not in it is NXDOMAIN) and returns
// the names asked, in order.
QStringList run(DmarcCheck &check, const QHash<QString, DnsAnswer> &dns)
{
    QStringList asked;
    for (int guard = 0; guard < 10; ++guard) {
        const auto q = check.next();
        if (!q)
            return asked;
        if (q->type != DnsQuestion::Type::TXT)
            return asked << QStringLiteral("non-TXT question");
        asked << q->name;
        check.answer(dns.value(q->name, status(DnsAnswer::Status::NxDomain)));
    }
    return asked << QStringLiteral("too many questions");
}

// A failed Result's message, for QVERIFY2 (which evaluates its message either way).
template <typename T> QByteArray why(const valv::Result<T> &r, const QByteArray &context = {})
{
    return r.ok() ? QByteArray() : r.error().message.toUtf8() + context;
}

// A random source that counts its calls and always returns the same number.
struct FixedRandom {
    int value = 0;
    int *calls = nullptr;
    int operator()() const
    {
        ++*calls;
        return value;
    }
};

} // namespace

class TestDmarc : public QObject {
    Q_OBJECT

private slots:
    void orgDomain_data()
    {
        QTest::addColumn<QString>("domain");
        QTest::addColumn<QString>("org");
        QTest::newRow("org itself") << "example.com"
                                    << "example.com";
        QTest::newRow("subdomain") << "mail.example.com"
                                   << "example.com";
        QTest::newRow("deep") << "a.b.c.example.com"
                              << "example.com";
        QTest::newRow("co.uk") << "mail.example.co.uk"
                               << "example.co.uk";
        QTest::newRow("co.uk org") << "example.co.uk"
                                   << "example.co.uk";
        QTest::newRow("public suffix") << "co.uk"
                                       << "co.uk";
        QTest::newRow("tld") << "com"
                             << "com";
        QTest::newRow("unknown tld") << "mx.a.test"
                                     << "a.test";
        QTest::newRow("private suffix") << "x.foo.blogspot.com"
                                        << "foo.blogspot.com";
        QTest::newRow("upper case") << "MAIL.Example.COM"
                                    << "example.com";
        QTest::newRow("trailing dot") << "mail.example.com."
                                      << "example.com";
        QTest::newRow("a-label") << "www.xn--bcher-kva.example"
                                 << "xn--bcher-kva.example";
        QTest::newRow("u-label") << QString::fromUtf8("www.b\xc3\xbc"
                                                      "cher.example")
                                 << "xn--bcher-kva.example";
        QTest::newRow("idn tld") << "a.b.xn--fiqs8s"
                                 << "b.xn--fiqs8s";
        QTest::newRow("empty") << ""
                               << "";
    }

    void orgDomain()
    {
        QFETCH(QString, domain);
        QFETCH(QString, org);
        QCOMPARE(organizationalDomain(domain), org);
    }

    void record_data()
    {
        QTest::addColumn<QByteArray>("txt");
        QTest::addColumn<int>("error"); // 0: parses
        QTest::addColumn<Policy>("p");
        QTest::addColumn<Policy>("sp");
        QTest::addColumn<bool>("spSet");
        QTest::addColumn<bool>("strictDkim");
        QTest::addColumn<bool>("strictSpf");
        QTest::addColumn<int>("pct");
        QTest::addColumn<QStringList>("rua");
        QTest::addColumn<QStringList>("ruf");
        QTest::addColumn<QString>("fo");
        QTest::addColumn<bool>("defaulted");
        const int notDmarc = int(DmarcError::NotDmarcRecord);
        const int invalid = int(DmarcError::InvalidPolicy);
        const QStringList none;
        const QStringList fb{QStringLiteral("mailto:dmarc-feedback@example.com")};
        const auto n = Policy::None, q = Policy::Quarantine, r = Policy::Reject;
        // RFC 7489 Appendix B.2 (TXT strings joined).
        QTest::newRow("B.2.1 monitoring only")
            << QByteArray("v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com") << 0 << n << n << false << false
            << false << 100 << fb << none << "0" << false;
        QTest::newRow("B.2.2 per-message reports")
            << QByteArray("v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com; "
                          "ruf=mailto:auth-reports@example.com")
            << 0 << n << n << false << false << false << 100 << fb << QStringList{"mailto:auth-reports@example.com"}
            << "0" << false;
        QTest::newRow("B.2.3 third-party failure reports")
            << QByteArray("v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com; "
                          "ruf=mailto:auth-reports@thirdparty.example.net")
            << 0 << n << n << false << false << false << 100 << fb
            << QStringList{"mailto:auth-reports@thirdparty.example.net"} << "0" << false;
        QTest::newRow("B.2.4 sampling, two rua")
            << QByteArray("v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com,"
                          "mailto:tld-test@thirdparty.example.net!10m; pct=25")
            << 0 << q << q << false << false << false << 25
            << QStringList{"mailto:dmarc-feedback@example.com", "mailto:tld-test@thirdparty.example.net!10m"} << none
            << "0" << false;
        QTest::newRow("reject, aspf=r") << QByteArray(
            "v=DMARC1; p=reject; aspf=r; rua=mailto:dmarc-feedback@example.com")
                                        << 0 << r << r << false << false << false << 100 << fb << none << "0" << false;
        // Tags and their defaults.
        QTest::newRow("minimal") << QByteArray("v=DMARC1; p=reject") << 0 << r << r << false << false << false << 100
                                 << none << none << "0" << false;
        QTest::newRow("trailing ;") << QByteArray("v=DMARC1; p=reject;") << 0 << r << r << false << false << false
                                    << 100 << none << none << "0" << false;
        QTest::newRow("sp") << QByteArray("v=DMARC1; p=none; sp=reject") << 0 << n << r << true << false << false << 100
                            << none << none << "0" << false;
        QTest::newRow("strict both") << QByteArray("v=DMARC1; p=reject; adkim=s; aspf=s") << 0 << r << r << false
                                     << true << true << 100 << none << none << "0" << false;
        QTest::newRow("bad adkim -> r") << QByteArray("v=DMARC1; p=reject; adkim=x; aspf=strict") << 0 << r << r
                                        << false << false << false << 100 << none << none << "0" << false;
        QTest::newRow("pct 0") << QByteArray("v=DMARC1; p=reject; pct=0") << 0 << r << r << false << false << false << 0
                               << none << none << "0" << false;
        QTest::newRow("pct 101 -> 100") << QByteArray("v=DMARC1; p=reject; pct=101") << 0 << r << r << false << false
                                        << false << 100 << none << none << "0" << false;
        QTest::newRow("pct 4 digits -> 100") << QByteArray("v=DMARC1; p=reject; pct=0050") << 0 << r << r << false
                                             << false << false << 100 << none << none << "0" << false;
        QTest::newRow("pct text -> 100") << QByteArray("v=DMARC1; p=reject; pct=half") << 0 << r << r << false << false
                                         << false << 100 << none << none << "0" << false;
        QTest::newRow("fo list") << QByteArray("v=DMARC1; p=none; fo=1:D : s") << 0 << n << n << false << false << false
                                 << 100 << none << none << "1:d:s" << false;
        QTest::newRow("bad fo -> 0") << QByteArray("v=DMARC1; p=none; fo=1:x") << 0 << n << n << false << false << false
                                     << 100 << none << none << "0" << false;
        QTest::newRow("unknown tags ignored")
            << QByteArray("v=DMARC1; np=reject; p=quarantine; x-foo=bar; psd=y") << 0 << q << q << false << false
            << false << 100 << none << none << "0" << false;
        QTest::newRow("p not second") << QByteArray("v=DMARC1; pct=50; p=reject") << 0 << r << r << false << false
                                      << false << 50 << none << none << "0" << false;
        QTest::newRow("blanks everywhere") << QByteArray(" v = DMARC1 ;\tp = reject ; ; sp=none ") << 0 << r << n
                                           << true << false << false << 100 << none << none << "0" << false;
        QTest::newRow("no spaces") << QByteArray("v=DMARC1;p=quarantine;pct=10") << 0 << q << q << false << false
                                   << false << 10 << none << none << "0" << false;
        QTest::newRow("tag and keyword case")
            << QByteArray("V=DMARC1; P=Reject; ADKIM=S; Rua=mailto:A@Example.com") << 0 << r << r << false << true
            << false << 100 << QStringList{"mailto:A@Example.com"} << none << "0" << false;
        QTest::newRow("first of a repeated tag") << QByteArray("v=DMARC1; p=none; pct=10; pct=20") << 0 << n << n
                                                 << false << false << false << 10 << none << none << "0" << false;
        QTest::newRow("invalid uri dropped")
            << QByteArray("v=DMARC1; p=none; rua=dmarc@example.com, mailto:x@a.test ,") << 0 << n << n << false << false
            << false << 100 << QStringList{"mailto:x@a.test"} << none << "0" << false;
        // §6.6.3 step 6: an unusable p or sp is p=none when rua has a valid URI.
        QTest::newRow("no p, rua") << QByteArray("v=DMARC1; rua=mailto:dmarc-feedback@example.com") << 0 << n << n
                                   << false << false << false << 100 << fb << none << "0" << true;
        QTest::newRow("bad p, rua") << QByteArray("v=DMARC1; p=block; rua=mailto:dmarc-feedback@example.com") << 0 << n
                                    << n << false << false << false << 100 << fb << none << "0" << true;
        QTest::newRow("bad sp, rua") << QByteArray("v=DMARC1; p=reject; sp=nope; rua=mailto:dmarc-feedback@example.com")
                                     << 0 << n << n << false << false << false << 100 << fb << none << "0" << true;
        QTest::newRow("repeated p, rua") << QByteArray(
            "v=DMARC1; p=reject; p=none; rua=mailto:dmarc-feedback@example.com")
                                         << 0 << n << n << false << false << false << 100 << fb << none << "0" << true;
        QTest::newRow("no p") << QByteArray("v=DMARC1; sp=reject") << invalid << n << n << false << false << false
                              << 100 << none << none << "0" << false;
        QTest::newRow("version only (§7.1 verification record)")
            << QByteArray("v=DMARC1") << invalid << n << n << false << false << false << 100 << none << none << "0"
            << false;
        QTest::newRow("bad p, bad rua") << QByteArray("v=DMARC1; p=block; rua=nobody") << invalid << n << n << false
                                        << false << false << 100 << none << none << "0" << false;
        QTest::newRow("bad sp") << QByteArray("v=DMARC1; p=reject; sp=everything") << invalid << n << n << false
                                << false << false << 100 << none << none << "0" << false;
        QTest::newRow("repeated p") << QByteArray("v=DMARC1; p=reject; p=reject") << invalid << n << n << false << false
                                    << false << 100 << none << none << "0" << false;
        QTest::newRow("empty p") << QByteArray("v=DMARC1; p=") << invalid << n << n << false << false << false << 100
                                 << none << none << "0" << false;
        // Not DMARC at all: the version must come first and match exactly.
        QTest::newRow("empty") << QByteArray() << notDmarc << n << n << false << false << false << 100 << none << none
                               << "0" << false;
        QTest::newRow("spf") << QByteArray("v=spf1 -all") << notDmarc << n << n << false << false << false << 100
                             << none << none << "0" << false;
        QTest::newRow("version case") << QByteArray("v=dmarc1; p=reject") << notDmarc << n << n << false << false
                                      << false << 100 << none << none << "0" << false;
        QTest::newRow("version 2") << QByteArray("v=DMARC2; p=reject") << notDmarc << n << n << false << false << false
                                   << 100 << none << none << "0" << false;
        QTest::newRow("version not first") << QByteArray("p=reject; v=DMARC1") << notDmarc << n << n << false << false
                                           << false << 100 << none << none << "0" << false;
        QTest::newRow("missing separator") << QByteArray("v=DMARC1 p=reject") << notDmarc << n << n << false << false
                                           << false << 100 << none << none << "0" << false;
        QTest::newRow("garbage") << QByteArray("\x00\xff;=;", 5) << notDmarc << n << n << false << false << false << 100
                                 << none << none << "0" << false;
    }

    void record()
    {
        QFETCH(QByteArray, txt);
        QFETCH(int, error);
        const auto rec = parseDmarcRecord(txt);
        QCOMPARE(isDmarcRecord(txt), error != int(DmarcError::NotDmarcRecord));
        if (error) {
            QVERIFY(!rec.ok());
            QCOMPARE(rec.error().code, error);
            QVERIFY(!rec.error().message.isEmpty());
            return;
        }
        QVERIFY2(rec.ok(), why(rec).constData());
        QTEST(rec->p, "p");
        QTEST(rec->sp, "sp");
        QTEST(rec->spSet, "spSet");
        QTEST(rec->strictDkim, "strictDkim");
        QTEST(rec->strictSpf, "strictSpf");
        QTEST(rec->pct, "pct");
        QTEST(rec->rua, "rua");
        QTEST(rec->ruf, "ruf");
        QTEST(rec->fo, "fo");
        QTEST(rec->policyDefaulted, "defaulted");
    }

    void reportTags()
    {
        const auto rec = parseDmarcRecord("v=DMARC1; p=none; ri=3600; rf=afrf:iodef");
        QVERIFY(rec.ok());
        QCOMPARE(rec->ri, 3600u);
        QCOMPARE(rec->rf, (QStringList{"afrf", "iodef"}));
        const auto bad = parseDmarcRecord("v=DMARC1; p=none; ri=99999999999; rf=a f");
        QVERIFY(bad.ok());
        QCOMPARE(bad->ri, 86400u);
        QCOMPARE(bad->rf, QStringList{"afrf"});
    }

    // §3.1 alignment: RFC 7489 Appendix B.1's examples, strict and relaxed, and
    // organizational domains under multi-label public suffixes.
    void alignment_data()
    {
        QTest::addColumn<QString>("from");
        QTest::addColumn<bool>("spfPass");
        QTest::addColumn<QString>("spfDomain");
        QTest::addColumn<QStringList>("dkim");
        QTest::addColumn<QByteArray>("tags"); // appended to "v=DMARC1; p=reject"
        QTest::addColumn<bool>("spfAligned");
        QTest::addColumn<bool>("dkimAligned");
        const QStringList noDkim;
        const QByteArray relaxed, strictSpf = "; aspf=s", strictDkim = "; adkim=s";
        // B.1.1 SPF
        QTest::newRow("B.1.1 same domain")
            << "example.com" << true << "example.com" << noDkim << relaxed << true << false;
        QTest::newRow("B.1.1 same domain, strict")
            << "example.com" << true << "example.com" << noDkim << strictSpf << true << false;
        QTest::newRow("B.1.1 child mailfrom, relaxed")
            << "example.com" << true << "child.example.com" << noDkim << relaxed << true << false;
        QTest::newRow("B.1.1 child mailfrom, strict")
            << "example.com" << true << "child.example.com" << noDkim << strictSpf << false << false;
        QTest::newRow("B.1.1 other org") << "example.com" << true << "example.org" << noDkim << relaxed << false
                                         << false;
        QTest::newRow("spf not passing") << "example.com" << false << "example.com" << noDkim << relaxed << false
                                         << false;
        QTest::newRow("spf domain empty") << "example.com" << true << "" << noDkim << relaxed << false << false;
        QTest::newRow("from child, mailfrom parent, relaxed")
            << "news.example.com" << true << "example.com" << noDkim << relaxed << true << false;
        QTest::newRow("siblings, relaxed")
            << "news.example.com" << true << "bounce.example.com" << noDkim << relaxed << true << false;
        QTest::newRow("siblings, strict")
            << "news.example.com" << true << "bounce.example.com" << noDkim << strictSpf << false << false;
        QTest::newRow("spf case") << "Example.COM" << true << "EXAMPLE.com" << noDkim << strictSpf << true << false;
        // B.1.2 DKIM
        QTest::newRow("B.1.2 same domain")
            << "example.com" << false << "" << QStringList{"example.com"} << relaxed << false << true;
        QTest::newRow("B.1.2 same domain, strict")
            << "example.com" << false << "" << QStringList{"example.com"} << strictDkim << false << true;
        QTest::newRow("B.1.2 from child, relaxed")
            << "newyork.example.com" << false << "" << QStringList{"example.com"} << relaxed << false << true;
        QTest::newRow("B.1.2 from child, strict")
            << "newyork.example.com" << false << "" << QStringList{"example.com"} << strictDkim << false << false;
        QTest::newRow("B.1.2 other org") << "example.com" << false << "" << QStringList{"example.net"} << relaxed
                                         << false << false;
        QTest::newRow("one of several signatures")
            << "example.com" << false << "" << QStringList{"esp.test", "mail.example.com"} << relaxed << false << true;
        QTest::newRow("several, strict, none exact")
            << "example.com" << false << "" << QStringList{"esp.test", "mail.example.com"} << strictDkim << false
            << false;
        QTest::newRow("dkim case, trailing dot")
            << "example.com" << false << "" << QStringList{"EXAMPLE.COM."} << strictDkim << false << true;
        QTest::newRow("strict spf does not make dkim strict")
            << "a.example.com" << false << "" << QStringList{"example.com"} << strictSpf << false << true;
        // libpsl: organizational domains under co.uk, and suffixes that are not orgs.
        QTest::newRow("co.uk relaxed") << "mail.example.co.uk" << true << "bounce.example.co.uk"
                                       << QStringList{"example.co.uk"} << relaxed << true << true;
        QTest::newRow("co.uk different orgs")
            << "example.co.uk" << true << "other.co.uk" << QStringList{"other.co.uk"} << relaxed << false << false;
        QTest::newRow("d= is the public suffix")
            << "example.co.uk" << true << "co.uk" << QStringList{"co.uk"} << relaxed << false << false;
        QTest::newRow("tld mail from") << "example.com" << true << "com" << QStringList{"com"} << relaxed << false
                                       << false;
        QTest::newRow("private suffix splits orgs") << "alice.blogspot.com" << true << "bob.blogspot.com"
                                                    << QStringList{"blogspot.com"} << relaxed << false << false;
        QTest::newRow("idn from, a-label d=")
            << QString::fromUtf8("b\xc3\xbc"
                                 "cher.example")
            << false << "" << QStringList{"xn--bcher-kva.example"} << strictDkim << false << true;
        QTest::newRow("both aligned") << "example.com" << true << "example.com" << QStringList{"example.com"} << relaxed
                                      << true << true;
    }

    void alignment()
    {
        QFETCH(QString, from);
        QFETCH(bool, spfPass);
        QFETCH(QString, spfDomain);
        QFETCH(QStringList, dkim);
        QFETCH(QByteArray, tags);
        QFETCH(bool, spfAligned);
        QFETCH(bool, dkimAligned);
        int calls = 0;
        DmarcCheck check(from, spfPass, spfDomain, dkim, FixedRandom{0, &calls});
        const QString name = QStringLiteral("_dmarc.") + organizationalDomain(from);
        const QStringList asked = run(check, {{name, txt({"v=DMARC1; p=reject" + tags})}});
        QVERIFY(asked.contains(name));
        const DmarcOutcome o = check.outcome();
        QCOMPARE(o.spfAligned, spfAligned);
        QCOMPARE(o.dkimAligned, dkimAligned);
        QCOMPARE(o.result, spfAligned || dkimAligned ? DmarcResult::Pass : DmarcResult::Fail);
        QCOMPARE(o.applied, !(spfAligned || dkimAligned));
        QCOMPARE(o.disposition, spfAligned || dkimAligned ? Policy::None : Policy::Reject);
        QCOMPARE(calls, 0); // pct=100: no sampling
    }

    // §6.6.3 policy discovery and §6.3 p/sp selection.
    void discovery_data()
    {
        QTest::addColumn<QString>("from");
        QTest::addColumn<QStringList>("names"); // DNS table: name, TXT record, name, record...
        QTest::addColumn<QStringList>("asked");
        QTest::addColumn<DmarcResult>("result");
        QTest::addColumn<QString>("policyDomain");
        QTest::addColumn<Policy>("policy");

        const auto n = Policy::None, q = Policy::Quarantine, r = Policy::Reject;
        const QString sub = QStringLiteral("_dmarc.mail.example.com");
        const QString org = QStringLiteral("_dmarc.example.com");
        QTest::newRow("record at from") << "mail.example.com" << QStringList{sub, "v=DMARC1; p=quarantine; sp=reject"}
                                        << QStringList{sub} << DmarcResult::Fail << "mail.example.com" << q;
        QTest::newRow("nxdomain, org sp applies")
            << "mail.example.com" << QStringList{org, "v=DMARC1; p=quarantine; sp=reject"} << QStringList{sub, org}
            << DmarcResult::Fail << "example.com" << r;
        QTest::newRow("nxdomain, org without sp: p")
            << "mail.example.com" << QStringList{org, "v=DMARC1; p=quarantine"} << QStringList{sub, org}
            << DmarcResult::Fail << "example.com" << q;
        QTest::newRow("from is org: p, not sp") << "example.com" << QStringList{org, "v=DMARC1; p=none; sp=reject"}
                                                << QStringList{org} << DmarcResult::Fail << "example.com" << n;
        QTest::newRow("only non-DMARC TXT at from")
            << "mail.example.com" << QStringList{sub, "v=spf1 -all", org, "v=DMARC1; p=reject"} << QStringList{sub, org}
            << DmarcResult::Fail << "example.com" << r;
        QTest::newRow("DMARC and other TXT at from")
            << "mail.example.com"
            << QStringList{sub, "v=spf1 -all", sub, "v=DMARC1; p=quarantine", org, "v=DMARC1; p=reject"}
            << QStringList{sub} << DmarcResult::Fail << "mail.example.com" << q;
        QTest::newRow("two records at from: none, no fallback")
            << "mail.example.com"
            << QStringList{sub, "v=DMARC1; p=reject", sub, "v=DMARC1; p=none", org, "v=DMARC1; p=reject"}
            << QStringList{sub} << DmarcResult::None << "mail.example.com" << n;
        QTest::newRow("two records at org")
            << "mail.example.com" << QStringList{org, "v=DMARC1; p=reject", org, "v=DMARC1; p=reject"}
            << QStringList{sub, org} << DmarcResult::None << "example.com" << n;
        QTest::newRow("nothing anywhere")
            << "mail.example.com" << QStringList{} << QStringList{sub, org} << DmarcResult::None << "" << n;
        QTest::newRow("org has nothing, one question")
            << "example.com" << QStringList{} << QStringList{org} << DmarcResult::None << "" << n;
        QTest::newRow("public suffix from, one question")
            << "co.uk" << QStringList{} << QStringList{"_dmarc.co.uk"} << DmarcResult::None << "" << n;
        QTest::newRow("co.uk subdomain falls back to org")
            << "mail.example.co.uk" << QStringList{"_dmarc.example.co.uk", "v=DMARC1; p=none; sp=quarantine"}
            << QStringList{"_dmarc.mail.example.co.uk", "_dmarc.example.co.uk"} << DmarcResult::Fail << "example.co.uk"
            << q;
        QTest::newRow("invalid record: permerror") << "example.com" << QStringList{org, "v=DMARC1; p=banana"}
                                                   << QStringList{org} << DmarcResult::PermError << "example.com" << n;
        QTest::newRow("invalid record at from: no fallback")
            << "mail.example.com" << QStringList{sub, "v=DMARC1; sp=reject", org, "v=DMARC1; p=reject"}
            << QStringList{sub} << DmarcResult::PermError << "mail.example.com" << n;
        QTest::newRow("defaulted p acts as none")
            << "example.com" << QStringList{org, "v=DMARC1; p=banana; rua=mailto:d@example.com"} << QStringList{org}
            << DmarcResult::Fail << "example.com" << n;
        QTest::newRow("u-label from asked as a-label")
            << QString::fromUtf8("B\xc3\xbc"
                                 "cher.example")
            << QStringList{"_dmarc.xn--bcher-kva.example", "v=DMARC1; p=reject"}
            << QStringList{"_dmarc.xn--bcher-kva.example"} << DmarcResult::Fail << "xn--bcher-kva.example" << r;
        QTest::newRow("no from: permerror, no DNS")
            << "" << QStringList{} << QStringList{} << DmarcResult::PermError << "" << n;
        QTest::newRow("from not a domain")
            << "a..example.com" << QStringList{} << QStringList{} << DmarcResult::PermError << "" << n;
        QTest::newRow("from an address literal")
            << "[192.0.2.1]" << QStringList{} << QStringList{} << DmarcResult::PermError << "" << n;
    }

    void discovery()
    {
        QFETCH(QString, from);
        QFETCH(QStringList, names);
        QFETCH(QStringList, asked);
        QHash<QString, DnsAnswer> dns;
        for (qsizetype i = 0; i + 1 < names.size(); i += 2)
            dns[names[i]].txt << names[i + 1].toUtf8();
        int calls = 0;
        DmarcCheck check(from, false, QString(), {}, FixedRandom{0, &calls});
        QCOMPARE(run(check, dns), asked);
        QVERIFY(check.done());
        const DmarcOutcome o = check.outcome();
        QTEST(o.result, "result");
        QTEST(o.policyDomain, "policyDomain");
        QTEST(o.policy, "policy");
        QCOMPARE(o.problem.isEmpty(), o.result == DmarcResult::Pass || o.result == DmarcResult::Fail);
        QCOMPARE(o.record.has_value(), o.result == DmarcResult::Pass || o.result == DmarcResult::Fail);
        QCOMPARE(calls, 0);
    }

    void tempError_data()
    {
        QTest::addColumn<bool>("atOrg");
        QTest::newRow("at from") << false;
        QTest::newRow("at org") << true;
    }

    void tempError()
    {
        QFETCH(bool, atOrg);
        int calls = 0;
        DmarcCheck check("mail.example.com", false, QString(), {}, FixedRandom{0, &calls});
        QHash<QString, DnsAnswer> dns;
        dns[atOrg ? "_dmarc.example.com" : "_dmarc.mail.example.com"] = status(DnsAnswer::Status::TempError);
        QCOMPARE(run(check, dns).size(), atOrg ? 2 : 1);
        QCOMPARE(check.outcome().result, DmarcResult::TempError);
        QVERIFY(check.outcome().problem.contains(atOrg ? "_dmarc.example.com" : "_dmarc.mail.example.com"));
    }

    void nodataFallsBack()
    {
        DmarcCheck check("mail.example.com", true, "example.com", {}, {});
        QHash<QString, DnsAnswer> dns;
        dns["_dmarc.mail.example.com"] = DnsAnswer{}; // NODATA
        dns["_dmarc.example.com"] = txt({"v=DMARC1; p=reject"});
        QCOMPARE(run(check, dns), (QStringList{"_dmarc.mail.example.com", "_dmarc.example.com"}));
        QCOMPARE(check.outcome().result, DmarcResult::Pass);
        QVERIFY(!check.outcome().applied);
    }

    void nextIsStableUntilAnswered()
    {
        DmarcCheck check("example.com", false, QString(), {}, {});
        QVERIFY(check.next() == check.next());
        check.answer(txt({"v=DMARC1; p=none"}));
        QVERIFY(!check.next());
        check.answer(status(DnsAnswer::Status::TempError)); // ignored once done
        QCOMPARE(check.outcome().result, DmarcResult::Fail);
    }

    // §6.6.4 pct: "(random mod 100) < pct" selects; a failing message not selected gets
    // the next less strict policy. The random source is only asked when it matters.
    void pct_data()
    {
        QTest::addColumn<QByteArray>("record");
        QTest::addColumn<bool>("pass");
        QTest::addColumn<int>("random");
        QTest::addColumn<int>("calls");
        QTest::addColumn<bool>("applied");
        QTest::addColumn<Policy>("disposition");
        const auto n = Policy::None, q = Policy::Quarantine, r = Policy::Reject;
        QTest::newRow("25%, 24 selected") << QByteArray("v=DMARC1; p=reject; pct=25") << false << 24 << 1 << true << r;
        QTest::newRow("25%, 25 not") << QByteArray("v=DMARC1; p=reject; pct=25") << false << 25 << 1 << false << q;
        QTest::newRow("25%, quarantine not")
            << QByteArray("v=DMARC1; p=quarantine; pct=25") << false << 99 << 1 << false << n;
        QTest::newRow("25%, quarantine selected")
            << QByteArray("v=DMARC1; p=quarantine; pct=25") << false << 0 << 1 << true << q;
        QTest::newRow("random mod 100") << QByteArray("v=DMARC1; p=reject; pct=25") << false << 124 << 1 << true << r;
        QTest::newRow("negative random") << QByteArray("v=DMARC1; p=reject; pct=25") << false << -99 << 1 << true << r;
        QTest::newRow("99%, 98") << QByteArray("v=DMARC1; p=reject; pct=99") << false << 98 << 1 << true << r;
        QTest::newRow("99%, 99") << QByteArray("v=DMARC1; p=reject; pct=99") << false << 99 << 1 << false << q;
        QTest::newRow("100%: no sampling") << QByteArray("v=DMARC1; p=reject") << false << 99 << 0 << true << r;
        QTest::newRow("0%: never") << QByteArray("v=DMARC1; p=reject; pct=0") << false << 0 << 0 << false << q;
        QTest::newRow("pass: no sampling") << QByteArray("v=DMARC1; p=reject; pct=25") << true << 0 << 0 << false << n;
        QTest::newRow("p=none: no sampling") << QByteArray("v=DMARC1; p=none; pct=25") << false << 0 << 0 << false << n;
    }

    void pct()
    {
        QFETCH(QByteArray, record);
        QFETCH(bool, pass);
        QFETCH(int, random);
        int calls = 0;
        DmarcCheck check("example.com", pass, "example.com", {}, FixedRandom{random, &calls});
        run(check, {{"_dmarc.example.com", txt({record})}});
        const DmarcOutcome o = check.outcome();
        QCOMPARE(o.result, pass ? DmarcResult::Pass : DmarcResult::Fail);
        QTEST(calls, "calls");
        QTEST(o.applied, "applied");
        QTEST(o.disposition, "disposition");
        QCOMPARE(o.policy, o.record->p);
    }

    void names()
    {
        QCOMPARE(dmarcResultName(DmarcResult::None), "none");
        QCOMPARE(dmarcResultName(DmarcResult::Pass), "pass");
        QCOMPARE(dmarcResultName(DmarcResult::Fail), "fail");
        QCOMPARE(dmarcResultName(DmarcResult::TempError), "temperror");
        QCOMPARE(dmarcResultName(DmarcResult::PermError), "permerror");
        QCOMPARE(dmarcPolicyName(Policy::Quarantine), "quarantine");
    }

    // Random mutations of real records parse or fail cleanly; a parsed record keeps its
    // invariants (pct 0..100, sp == p without sp=, URIs without blanks).
    void noInputCrashes()
    {
        const QByteArray base = "v=DMARC1; p=quarantine; sp=reject; adkim=s; aspf=r; pct=25; fo=1:d; ri=3600; "
                                "rua=mailto:a@example.com,mailto:b@example.net!10m; ruf=mailto:c@example.com";
        QRandomGenerator rng(11);
        const QByteArray alphabet("v=;:,! \tDMARC1psqr\xff\x00", 20);
        for (int i = 0; i < 5000; ++i) {
            QByteArray m = base;
            const int edits = int(rng.bounded(12));
            for (int j = 0; j < edits; ++j) {
                const int at = int(rng.bounded(int(m.size()) + 1));
                if (rng.bounded(2))
                    m.insert(at, alphabet[rng.bounded(int(alphabet.size()))]);
                else if (at < m.size())
                    m.remove(at, 1 + int(rng.bounded(5)));
            }
            const auto rec = parseDmarcRecord(m);
            if (!rec.ok())
                continue;
            QVERIFY(rec->pct >= 0 && rec->pct <= 100);
            QVERIFY(rec->spSet || rec->sp == rec->p);
            for (const QString &u : rec->rua + rec->ruf)
                QVERIFY(!u.contains(u' ') && u.contains(u':'));
        }
    }
};

QTEST_GUILESS_MAIN(TestDmarc)
#include "tst_dmarc.moc"
