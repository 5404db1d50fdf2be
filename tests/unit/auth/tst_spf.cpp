// SPDX-License-Identifier: AGPL-3.0-or-later
// auth/spf: RFC 7208 §7.4 macro examples, Appendix A's records against its example zone,
// the record grammar (§4.6, §12) term by term and each way a record can be wrong, and
// SpfCheck's conduct as a state machine (which questions, in which order, and when it
// stops). The RFC's own test suite runs in tst_spf_suite.
#include "auth/spf.h"

#include <QTest>

using namespace valv::auth;

Q_DECLARE_METATYPE(SpfResult)

namespace {

// A small zone: name -> type -> values ("MX" values in preference order). A name listed
// with the type "TIMEOUT" fails every query; a name not listed does not exist.
struct Zone {
    QHash<QString, QHash<QString, QStringList>> names;
    Zone &add(const QString &name, const QString &type, const QStringList &values)
    {
        names[name.toLower()][type] += values;
        return *this;
    }
};

const char *typeName(DnsQuestion::Type t)
{
    static const char *const names[] = {"A", "AAAA", "MX", "TXT", "PTR"};
    return names[int(t)];
}

DnsAnswer answerFrom(const Zone &zone, const DnsQuestion &q)
{
    DnsAnswer a;
    const auto it = zone.names.constFind(q.name.toLower());
    if (it == zone.names.constEnd()) {
        a.status = DnsAnswer::Status::NxDomain;
        return a;
    }
    if (it->contains(QStringLiteral("TIMEOUT"))) {
        a.status = DnsAnswer::Status::TempError;
        return a;
    }
    for (const QString &v : it->value(QLatin1String(typeName(q.type)))) {
        switch (q.type) {
        case DnsQuestion::Type::A:
        case DnsQuestion::Type::AAAA: a.addresses << QHostAddress(v); break;
        case DnsQuestion::Type::TXT: a.txt << v.toLatin1(); break;
        case DnsQuestion::Type::MX:
        case DnsQuestion::Type::PTR: a.names << v; break;
        }
    }
    return a;
}

struct Run {
    SpfOutcome outcome;
    QStringList asked; // "TXT example.com", in order
};

Run run(SpfCheck check, const Zone &zone)
{
    Run r;
    for (int i = 0; i < 500; ++i) {
        auto step = check.next();
        if (auto *o = std::get_if<SpfOutcome>(&step)) {
            r.outcome = *o;
            return r;
        }
        const DnsQuestion q = std::get<DnsQuestion>(step);
        r.asked << QStringLiteral("%1 %2").arg(QLatin1String(typeName(q.type)), q.name);
        check.answer(answerFrom(zone, q));
    }
    qWarning("SpfCheck did not finish");
    return r;
}

// RFC 7208 Appendix A.
Zone appendixZone()
{
    Zone z;
    z.add("example.com", "MX", {"mail-a.example.com", "mail-b.example.com"})
        .add("example.com", "A", {"192.0.2.10", "192.0.2.11"})
        .add("amy.example.com", "A", {"192.0.2.65"})
        .add("bob.example.com", "A", {"192.0.2.66"})
        .add("mail-a.example.com", "A", {"192.0.2.129"})
        .add("mail-b.example.com", "A", {"192.0.2.130"})
        .add("example.org", "MX", {"mail-c.example.org"})
        .add("mail-c.example.org", "A", {"192.0.2.140"})
        .add("10.2.0.192.in-addr.arpa", "PTR", {"example.com."})
        .add("11.2.0.192.in-addr.arpa", "PTR", {"example.com."})
        .add("65.2.0.192.in-addr.arpa", "PTR", {"amy.example.com."})
        .add("66.2.0.192.in-addr.arpa", "PTR", {"bob.example.com."})
        .add("129.2.0.192.in-addr.arpa", "PTR", {"mail-a.example.com."})
        .add("130.2.0.192.in-addr.arpa", "PTR", {"mail-b.example.com."})
        .add("140.2.0.192.in-addr.arpa", "PTR", {"mail-c.example.org."})
        .add("4.0.0.10.in-addr.arpa", "PTR", {"bob.example.com."}); // the rogue one
    return z;
}

// One line per term: qualifier, kind, argument, non-default CIDR lengths.
QString describe(const QList<SpfTerm> &terms)
{
    static const char *const kinds[] = {"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists", "redirect", "exp"};
    QStringList out;
    for (const SpfTerm &t : terms) {
        if (t.kind == SpfTerm::Kind::Unknown) {
            out << t.name + u'=' + t.value;
            continue;
        }
        if (!t.isMechanism()) {
            out << QLatin1String(kinds[int(t.kind)]) + u'=' + t.domainSpec;
            continue;
        }
        QString s = t.qualifier == SpfResult::Fail ? QStringLiteral("-")
            : t.qualifier == SpfResult::SoftFail   ? QStringLiteral("~")
            : t.qualifier == SpfResult::Neutral    ? QStringLiteral("?")
                                                   : QStringLiteral("+");
        s += QLatin1String(kinds[int(t.kind)]);
        if (!t.domainSpec.isEmpty())
            s += u':' + t.domainSpec;
        if (t.kind == SpfTerm::Kind::Ip4 || t.kind == SpfTerm::Kind::Ip6)
            s += u':' + t.network.toString();
        if (t.cidr4 != 32)
            s += u'/' + QString::number(t.cidr4);
        if (t.cidr6 != 128)
            s += (t.kind == SpfTerm::Kind::Ip6 ? QStringLiteral("/") : QStringLiteral("//")) + QString::number(t.cidr6);
        out << s;
    }
    return out.join(u' ');
}

SpfMacroContext rfcContext(const QString &ip)
{
    // §7.4: <sender> strong-bad@email.example.com, PTR name mx.example.org.
    SpfMacroContext ctx;
    ctx.sender = QStringLiteral("strong-bad@email.example.com");
    ctx.localPart = QStringLiteral("strong-bad");
    ctx.senderDomain = QStringLiteral("email.example.com");
    ctx.domain = QStringLiteral("email.example.com");
    ctx.ip = QHostAddress(ip);
    ctx.validatedName = QStringLiteral("mx.example.org");
    ctx.helo = QStringLiteral("mx.example.org");
    ctx.receiver = QStringLiteral("mx.receiver.example");
    ctx.timestamp = 1700000000;
    return ctx;
}

} // namespace

class TestSpf : public QObject {
    Q_OBJECT

private slots:
    void resultNames()
    {
        QCOMPARE(spfResultName(SpfResult::None), "none");
        QCOMPARE(spfResultName(SpfResult::Neutral), "neutral");
        QCOMPARE(spfResultName(SpfResult::Pass), "pass");
        QCOMPARE(spfResultName(SpfResult::Fail), "fail");
        QCOMPARE(spfResultName(SpfResult::SoftFail), "softfail");
        QCOMPARE(spfResultName(SpfResult::TempError), "temperror");
        QCOMPARE(spfResultName(SpfResult::PermError), "permerror");
    }

    void macros_data()
    {
        QTest::addColumn<QString>("ip");
        QTest::addColumn<QString>("macro");
        QTest::addColumn<bool>("explanation");
        QTest::addColumn<QString>("expansion");
        const QString v4 = QStringLiteral("192.0.2.3");
        const QString v6 = QStringLiteral("2001:db8::cb01");
        // RFC 7208 §7.4, IPv4.
        QTest::newRow("7.4 %{s}") << v4 << "%{s}" << false << "strong-bad@email.example.com";
        QTest::newRow("7.4 %{o}") << v4 << "%{o}" << false << "email.example.com";
        QTest::newRow("7.4 %{d}") << v4 << "%{d}" << false << "email.example.com";
        QTest::newRow("7.4 %{d4}") << v4 << "%{d4}" << false << "email.example.com";
        QTest::newRow("7.4 %{d3}") << v4 << "%{d3}" << false << "email.example.com";
        QTest::newRow("7.4 %{d2}") << v4 << "%{d2}" << false << "example.com";
        QTest::newRow("7.4 %{d1}") << v4 << "%{d1}" << false << "com";
        QTest::newRow("7.4 %{dr}") << v4 << "%{dr}" << false << "com.example.email";
        QTest::newRow("7.4 %{d2r}") << v4 << "%{d2r}" << false << "example.email";
        QTest::newRow("7.4 %{l}") << v4 << "%{l}" << false << "strong-bad";
        QTest::newRow("7.4 %{l-}") << v4 << "%{l-}" << false << "strong.bad";
        QTest::newRow("7.4 %{lr}") << v4 << "%{lr}" << false << "strong-bad";
        QTest::newRow("7.4 %{lr-}") << v4 << "%{lr-}" << false << "bad.strong";
        QTest::newRow("7.4 %{l1r-}") << v4 << "%{l1r-}" << false << "strong";
        QTest::newRow("7.4 ir.v._spf.d2") << v4 << "%{ir}.%{v}._spf.%{d2}" << false << "3.2.0.192.in-addr._spf.example.com";
        QTest::newRow("7.4 lr-.lp._spf.d2") << v4 << "%{lr-}.lp._spf.%{d2}" << false << "bad.strong.lp._spf.example.com";
        QTest::newRow("7.4 lr-.lp.ir.v._spf.d2") << v4 << "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}" << false
                                                 << "bad.strong.lp.3.2.0.192.in-addr._spf.example.com";
        QTest::newRow("7.4 ir.v.l1r-.lp._spf.d2") << v4 << "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}" << false
                                                  << "3.2.0.192.in-addr.strong.lp._spf.example.com";
        QTest::newRow("7.4 d2.trusted-domains") << v4 << "%{d2}.trusted-domains.example.net" << false
                                                << "example.com.trusted-domains.example.net";
        // RFC 7208 §7.4, IPv6. The RFC prints the nibbles in lower case, its test suite
        // (v-macro-ip6) expects upper case; SpfCheck follows the suite and this row
        // compares without regard to case (see macrosIpv6Case).
        QTest::newRow("7.4 IPv6 ir.v._spf.d2")
            << v6 << "%{ir}.%{v}._spf.%{d2}" << false
            << "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com";
        // The other letters and escapes.
        QTest::newRow("i IPv4") << v4 << "%{i}" << false << "192.0.2.3";
        QTest::newRow("p") << v4 << "%{p}" << false << "mx.example.org";
        QTest::newRow("p2") << v4 << "%{p2}" << false << "example.org";
        QTest::newRow("h") << v4 << "%{h}" << false << "mx.example.org";
        QTest::newRow("v IPv6") << v6 << "%{v}" << false << "ip6";
        QTest::newRow("escapes") << v4 << "a%%b%_c%-d" << false << "a%b c%20d";
        QTest::newRow("upper: URL-escaped") << v4 << "%{S}" << false << "strong-bad%40email.example.com";
        QTest::newRow("upper with transformers") << v4 << "%{L1R-}" << false << "strong";
        QTest::newRow("big digit count") << v4 << "%{d99999999999}" << false << "email.example.com";
        QTest::newRow("several delimiters") << v4 << "%{s-.}" << false << "strong.bad@email.example.com";
        QTest::newRow("R transformer") << v4 << "%{dR}" << false << "com.example.email";
        QTest::newRow("c IPv4") << v4 << "%{c}" << true << "192.0.2.3";
        QTest::newRow("c IPv6") << v6 << "%{c}" << true << "2001:db8::cb01";
        QTest::newRow("c IPv4-mapped") << "::ffff:192.0.2.3" << "%{c} %{i} %{v}" << true << "192.0.2.3 192.0.2.3 in-addr";
        QTest::newRow("r") << v4 << "%{r}" << true << "mx.receiver.example";
        QTest::newRow("t") << v4 << "%{t}" << true << "1700000000";
        QTest::newRow("explanation text") << v4 << "Mail from %{s} at %{c} is not welcome." << true
                                          << "Mail from strong-bad@email.example.com at 192.0.2.3 is not welcome.";
    }

    void macros()
    {
        QFETCH(QString, ip);
        QFETCH(QString, macro);
        QFETCH(bool, explanation);
        QFETCH(QString, expansion);
        const auto r = expandSpfMacro(macro, rfcContext(ip), explanation);
        QVERIFY2(r.ok(), qPrintable(r.ok() ? QString() : r.error().message));
        QCOMPARE(r->toLower(), expansion.toLower());
        if (!QTest::currentDataTag() || !QByteArray(QTest::currentDataTag()).contains("IPv6 ir"))
            QCOMPARE(*r, expansion);
    }

    void macrosIpv6Case()
    {
        const auto r = expandSpfMacro(QStringLiteral("%{i}"), rfcContext(QStringLiteral("2001:db8::cb01")), false);
        QVERIFY(r.ok());
        QCOMPARE(*r, QStringLiteral("2.0.0.1.0.D.B.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.C.B.0.1"));
    }

    void macroErrors_data()
    {
        QTest::addColumn<QString>("macro");
        QTest::addColumn<bool>("explanation");
        QTest::newRow("(ir)") << "%(ir).sbl.example.org" << false; // §7.1's own bad example
        QTest::newRow("lone %") << "foo%.example.org" << false;
        QTest::newRow("% at end") << "foo%" << false;
        QTest::newRow("unknown letter") << "%{a}.example.org" << false;
        QTest::newRow("digit zero") << "%{d0}" << false;
        QTest::newRow("unterminated") << "%{d2" << false;
        QTest::newRow("bad delimiter") << "%{d2r:}" << false;
        QTest::newRow("c outside exp") << "%{c}.example.org" << false;
        QTest::newRow("r outside exp") << "%{r}.example.org" << false;
        QTest::newRow("t outside exp") << "%{T}.example.org" << false;
        QTest::newRow("space outside exp") << "a b.example.org" << false;
        QTest::newRow("control char in exp") << "bad\tnews" << true;
        QTest::newRow("8-bit in exp") << QString::fromUtf8("caf\xc3\xa9") << true;
        QTest::newRow("%{x} in exp") << "The %{x}-files." << true;
    }

    void macroErrors()
    {
        QFETCH(QString, macro);
        QFETCH(bool, explanation);
        const auto r = expandSpfMacro(macro, rfcContext(QStringLiteral("192.0.2.3")), explanation);
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, int(SpfError::BadMacro));
    }

    void parse_data()
    {
        QTest::addColumn<QByteArray>("record");
        QTest::addColumn<QString>("terms");
        QTest::newRow("version only") << QByteArray("v=spf1") << "";
        QTest::newRow("version case") << QByteArray("V=SpF1 ~ALL") << "~all";
        QTest::newRow("spaces") << QByteArray("v=spf1  a   -all   ") << "+a -all";
        QTest::newRow("every term")
            << QByteArray("v=spf1 a/24//64 mx:%{d}/30 ptr:example.com ip4:192.0.2.0/24 ip6:2001:DB8::/32 "
                          "exists:%{ir}.bl.example.org include:_spf.example.net ?all redirect=_spf.example.com "
                          "exp=explain._spf.%{d} moo.cow-far_out=man:dog/cat")
            << "+a/24//64 +mx:%{d}/30 +ptr:example.com +ip4:192.0.2.0/24 +ip6:2001:db8::/32 "
               "+exists:%{ir}.bl.example.org +include:_spf.example.net ?all redirect=_spf.example.com "
               "exp=explain._spf.%{d} moo.cow-far_out=man:dog/cat";
        QTest::newRow("qualifiers") << QByteArray("v=spf1 +a -mx ~ptr ?exists:x.example.com") << "+a -mx ~ptr ?exists:x.example.com";
        QTest::newRow("mechanism case") << QByteArray("v=spf1 A//64 MX:Example.COM IP4:192.0.2.1") << "+a//64 +mx:Example.COM +ip4:192.0.2.1";
        QTest::newRow("cidr 0") << QByteArray("v=spf1 a/0//0 ip4:0.0.0.0/0 ip6:::/0") << "+a/0//0 +ip4:0.0.0.0/0 +ip6:::/0";
        QTest::newRow("colon in domain") << QByteArray("v=spf1 a:foo:bar/baz.example.com") << "+a:foo:bar/baz.example.com";
        QTest::newRow("dash toplabel") << QByteArray("v=spf1 a:foo.example.xn--zckzah") << "+a:foo.example.xn--zckzah";
        QTest::newRow("trailing dot") << QByteArray("v=spf1 include:o.spf.example.com.") << "+include:o.spf.example.com.";
        QTest::newRow("ends in macro") << QByteArray("v=spf1 a:%{H} exists:x%%") << "+a:%{H} +exists:x%%";
        QTest::newRow("escapes and cidr") << QByteArray("v=spf1 -mx:%%%_/.Clara.de/27") << "-mx:%%%_/.Clara.de/27";
        QTest::newRow("ip4-mapped ip6 network") << QByteArray("v=spf1 ip6:::FFFF:1.2.3.4") << "+ip6:::ffff:1.2.3.4";
        QTest::newRow("unknown modifiers") << QByteArray("v=spf1 default=+ x.y_z-1=%{c}") << "default=+ x.y_z-1=%{c}";
    }

    void parse()
    {
        QFETCH(QByteArray, record);
        QFETCH(QString, terms);
        const auto r = parseSpfRecord(record);
        QVERIFY2(r.ok(), qPrintable(r.ok() ? QString() : r.error().message));
        QCOMPARE(describe(*r), terms);
    }

    void parseErrors_data()
    {
        QTest::addColumn<QByteArray>("record");
        QTest::addColumn<SpfError>("error");
        using E = SpfError;
        QTest::newRow("empty") << QByteArray() << E::NotSpfRecord;
        QTest::newRow("spf10") << QByteArray("v=spf10 -all") << E::NotSpfRecord;
        QTest::newRow("no space after version") << QByteArray("v=spf1-all") << E::NotSpfRecord;
        QTest::newRow("leading space") << QByteArray(" v=spf1 -all") << E::NotSpfRecord;
        QTest::newRow("tab") << QByteArray("v=spf1 a\t-all") << E::BadCharacter;
        QTest::newRow("CR") << QByteArray("v=spf1 a:ctrl.example.com\rptr -all") << E::BadCharacter;
        QTest::newRow("LF") << QByteArray("v=spf1 ip4:192.0.2.5\n include:x.example.com") << E::BadCharacter;
        QTest::newRow("NUL") << QByteArray("v=spf1 a:foo.example.com\0", 25) << E::BadCharacter;
        QTest::newRow("8-bit") << QByteArray("v=spf1 a:example.net \x96" "all") << E::BadCharacter;
        QTest::newRow("unknown mechanism") << QByteArray("v=spf1 ip4:1.2.3.4 -all moo") << E::UnknownMechanism;
        QTest::newRow("all.") << QByteArray("v=spf1 -all.") << E::UnknownMechanism;
        QTest::newRow("redirect as mechanism") << QByteArray("v=spf1 redirect:t2.example.com") << E::UnknownMechanism;
        QTest::newRow("'/' before '='") << QByteArray("v=spf1 moo.cow/far_out=man:dog/cat") << E::UnknownMechanism;
        QTest::newRow("':' before '='") << QByteArray("v=spf1 moo.cow:far_out=man:dog/cat") << E::UnknownMechanism;
        QTest::newRow("all:arg") << QByteArray("v=spf1 -all:foobar") << E::BadMechanism;
        QTest::newRow("all/8") << QByteArray("v=spf1 -all/8") << E::BadMechanism;
        QTest::newRow("ptr/0") << QByteArray("v=spf1 ptr/0 -all") << E::BadMechanism;
        QTest::newRow("bare include") << QByteArray("v=spf1 include -all") << E::BadMechanism;
        QTest::newRow("bare exists") << QByteArray("v=spf1 exists") << E::BadMechanism;
        QTest::newRow("bare ip4") << QByteArray("v=spf1 ip4") << E::BadMechanism;
        QTest::newRow("bare ip6") << QByteArray("v=spf1 -all ip6") << E::BadMechanism;
        QTest::newRow("a/24/64") << QByteArray("v=spf1 a/24/64 -all") << E::BadCidr;
        QTest::newRow("include:") << QByteArray("v=spf1 include: -all") << E::BadDomainSpec;
        QTest::newRow("a:") << QByteArray("v=spf1 a:") << E::BadDomainSpec;
        QTest::newRow("exp=") << QByteArray("v=spf1 exp= -all") << E::BadDomainSpec;
        QTest::newRow("redirect=") << QByteArray("v=spf1 ?all redirect=") << E::BadDomainSpec;
        QTest::newRow("redirect=-all") << QByteArray("v=spf1 redirect=-all ?all") << E::BadDomainSpec;
        QTest::newRow("numeric toplabel") << QByteArray("v=spf1 a:abc.123") << E::BadDomainSpec;
        QTest::newRow("ip4 as a") << QByteArray("v=spf1 a:111.222.33.44") << E::BadDomainSpec;
        QTest::newRow("toplabel only") << QByteArray("v=spf1 a:museum") << E::BadDomainSpec;
        QTest::newRow("toplabel only, dot") << QByteArray("v=spf1 a:museum.") << E::BadDomainSpec;
        QTest::newRow("dash first") << QByteArray("v=spf1 a:example.-com") << E::BadDomainSpec;
        QTest::newRow("port") << QByteArray("v=spf1 a:example.com:8080") << E::BadDomainSpec;
        QTest::newRow("include with cidr") << QByteArray("v=spf1 include:ip5.example.com/24 -all") << E::BadDomainSpec;
        QTest::newRow("exists with cidr") << QByteArray("v=spf1 exists:mail.example.com/24") << E::BadDomainSpec;
        QTest::newRow("macro then dot") << QByteArray("v=spf1 a:%{d}.") << E::BadDomainSpec;
        QTest::newRow("a/33") << QByteArray("v=spf1 a/33 -all") << E::BadCidr;
        QTest::newRow("a//129") << QByteArray("v=spf1 a//129 -all") << E::BadCidr;
        QTest::newRow("mx:x/33") << QByteArray("v=spf1 mx:example.com/33") << E::BadCidr;
        QTest::newRow("ip4 /33") << QByteArray("v=spf1 ip4:1.2.3.4/33 -all") << E::BadCidr;
        QTest::newRow("ip4 /032") << QByteArray("v=spf1 ip4:1.2.3.4/032 -all") << E::BadCidr;
        QTest::newRow("ip4 dual cidr") << QByteArray("v=spf1 ip4:1.2.3.4//32") << E::BadCidr;
        QTest::newRow("ip6 /129") << QByteArray("v=spf1 ip6:::1.1.1.1/129") << E::BadCidr;
        QTest::newRow("ip6 dual cidr") << QByteArray("v=spf1 ip6:::1.1.1.1//33") << E::BadCidr;
        QTest::newRow("ip4 short") << QByteArray("v=spf1 ip4:1.2.3") << E::BadAddress;
        QTest::newRow("ip4 leading zero") << QByteArray("v=spf1 ip4:1.2.03.4/24") << E::BadAddress;
        QTest::newRow("ip4 256") << QByteArray("v=spf1 ip4:1.2.3.256") << E::BadAddress;
        QTest::newRow("ip4 port") << QByteArray("v=spf1 ip4:1.2.3.4:8080") << E::BadAddress;
        QTest::newRow("ip6 two ::") << QByteArray("v=spf1 ip6::CAFE::BABE") << E::BadAddress;
        QTest::newRow("ip6 with ip4") << QByteArray("v=spf1 ip6:1.2.3.4") << E::BadAddress;
        QTest::newRow("ip6 scope") << QByteArray("v=spf1 ip6:fe80::1%eth0") << E::BadAddress;
        QTest::newRow("modifier digit first") << QByteArray("v=spf1 1up=foo") << E::BadModifier;
        QTest::newRow("modifier without name") << QByteArray("v=spf1 =all") << E::BadModifier;
        QTest::newRow("qualified modifier") << QByteArray("v=spf1 -redirect=x.example.com") << E::BadModifier;
        QTest::newRow("modifier bad macro") << QByteArray("v=spf1 -all foo=%abc") << E::BadMacro;
        QTest::newRow("(ir)") << QByteArray("v=spf1 -exists:%(ir).sbl.example.com ?all") << E::BadMacro;
        QTest::newRow("%{a}") << QByteArray("v=spf1 a:%{a}.example.com -all") << E::BadMacro;
        QTest::newRow("%{r} in exp=") << QByteArray("v=spf1 -all exp=%{r}.example.com") << E::BadMacro;
        QTest::newRow("exp twice") << QByteArray("v=spf1 exp=a.example.com -all exp=b.example.com") << E::DuplicateModifier;
        QTest::newRow("redirect twice") << QByteArray("v=spf1 redirect=a.example.com -all REDIRECT=a.example.com")
                                        << E::DuplicateModifier;
    }

    void parseErrors()
    {
        QFETCH(QByteArray, record);
        QFETCH(SpfError, error);
        const auto r = parseSpfRecord(record);
        QVERIFY(!r.ok());
        QCOMPARE(SpfError(r.error().code), error);
        QVERIFY(!r.error().message.isEmpty());
    }

    // RFC 7208 Appendix A.1: records for example.com and the hosts each lets pass.
    void appendixA1_data()
    {
        QTest::addColumn<QByteArray>("record");
        QTest::addColumn<QString>("ip");
        QTest::addColumn<SpfResult>("result");
        QTest::addColumn<QString>("mechanism");
        const auto pass = SpfResult::Pass;
        const auto fail = SpfResult::Fail;
        auto row = [](const char *record, const char *ip, SpfResult r, const char *mechanism) {
            QTest::addRow("%s from %s", record, ip)
                << QByteArray(record) << QString::fromLatin1(ip) << r << QString::fromLatin1(mechanism);
        };
        row("v=spf1 +all", "192.0.2.200", pass, "+all");
        row("v=spf1 +all", "10.0.0.4", pass, "+all");
        row("v=spf1 a -all", "192.0.2.10", pass, "a");
        row("v=spf1 a -all", "192.0.2.11", pass, "a");
        row("v=spf1 a -all", "192.0.2.65", fail, "-all");
        row("v=spf1 a:example.org -all", "192.0.2.140", fail, "-all"); // example.org has no A
        row("v=spf1 mx -all", "192.0.2.129", pass, "mx");
        row("v=spf1 mx -all", "192.0.2.130", pass, "mx");
        row("v=spf1 mx -all", "192.0.2.10", fail, "-all");
        row("v=spf1 mx:example.org -all", "192.0.2.140", pass, "mx:example.org");
        row("v=spf1 mx:example.org -all", "192.0.2.129", fail, "-all");
        row("v=spf1 mx mx:example.org -all", "192.0.2.129", pass, "mx");
        row("v=spf1 mx mx:example.org -all", "192.0.2.130", pass, "mx");
        row("v=spf1 mx mx:example.org -all", "192.0.2.140", pass, "mx:example.org");
        row("v=spf1 mx mx:example.org -all", "192.0.2.65", fail, "-all");
        row("v=spf1 mx/30 mx:example.org/30 -all", "192.0.2.131", pass, "mx/30");
        row("v=spf1 mx/30 mx:example.org/30 -all", "192.0.2.143", pass, "mx:example.org/30");
        row("v=spf1 mx/30 mx:example.org/30 -all", "192.0.2.132", fail, "-all");
        row("v=spf1 mx/30 mx:example.org/30 -all", "192.0.2.139", fail, "-all");
        row("v=spf1 ptr -all", "192.0.2.65", pass, "ptr");   // valid reverse DNS in example.com
        row("v=spf1 ptr -all", "192.0.2.140", fail, "-all"); // valid, but not in example.com
        row("v=spf1 ptr -all", "10.0.0.4", fail, "-all");    // bob.example.com is not 10.0.0.4
        row("v=spf1 ip4:192.0.2.128/28 -all", "192.0.2.65", fail, "-all");
        row("v=spf1 ip4:192.0.2.128/28 -all", "192.0.2.129", pass, "ip4:192.0.2.128/28");
    }

    void appendixA1()
    {
        QFETCH(QByteArray, record);
        QFETCH(QString, ip);
        QFETCH(SpfResult, result);
        QFETCH(QString, mechanism);
        Zone zone = appendixZone();
        zone.add("example.com", "TXT", {QString::fromLatin1(record)});
        const Run r = run(SpfCheck(QHostAddress(ip), QStringLiteral("someone@example.com"),
                                   QStringLiteral("helo.example.net"), QStringLiteral("mx.example.net")),
                          zone);
        QCOMPARE(r.outcome.result, result);
        QCOMPARE(r.outcome.domain, QStringLiteral("example.com"));
        QCOMPARE(r.outcome.mechanism, mechanism);
        QVERIFY(r.outcome.explanation.isEmpty());
        QVERIFY(r.outcome.problem.isEmpty());
    }

    // A.2: one domain's record shared through include and redirect (example.net's record
    // is ours: the RFC names the domain without showing one).
    void appendixA2_data()
    {
        QTest::addColumn<QString>("mailFrom");
        QTest::addColumn<QString>("ip");
        QTest::addColumn<SpfResult>("result");
        QTest::newRow("org via example.com") << "whatever@example.org" << "192.0.2.129" << SpfResult::Pass;
        QTest::newRow("org via example.net") << "whatever@example.org" << "198.51.100.7" << SpfResult::Pass;
        QTest::newRow("org, neither") << "whatever@example.org" << "203.0.113.1" << SpfResult::Fail;
        QTest::newRow("la via example.com") << "someone@la.example.org" << "192.0.2.130" << SpfResult::Pass;
        QTest::newRow("ny, neither") << "someone@ny.example.org" << "203.0.113.1" << SpfResult::Fail;
        QTest::newRow("sf via example.net") << "someone@sf.example.org" << "198.51.100.7" << SpfResult::Pass;
    }

    void appendixA2()
    {
        QFETCH(QString, mailFrom);
        QFETCH(QString, ip);
        QFETCH(SpfResult, result);
        Zone zone = appendixZone();
        zone.add("example.com", "TXT", {"v=spf1 mx -all"})
            .add("example.net", "TXT", {"v=spf1 ip4:198.51.100.0/24 -all"})
            .add("example.org", "TXT", {"v=spf1 include:example.com include:example.net -all"})
            .add("la.example.org", "TXT", {"v=spf1 redirect=example.org"})
            .add("ny.example.org", "TXT", {"v=spf1 redirect=example.org"})
            .add("sf.example.org", "TXT", {"v=spf1 redirect=example.org"});
        const Run r = run(SpfCheck(QHostAddress(ip), mailFrom, QStringLiteral("helo.example.net"), {}), zone);
        QCOMPARE(r.outcome.result, result);
    }

    // A.3: DNSBL-style records with macros.
    void appendixA3_data()
    {
        QTest::addColumn<QString>("mailFrom");
        QTest::addColumn<QString>("ip");
        QTest::addColumn<SpfResult>("result");
        QTest::newRow("mobile mary") << "mary@example.com" << "203.0.113.9" << SpfResult::Pass;
        QTest::newRow("mobile mary+tag") << "mary+lists@example.com" << "203.0.113.9" << SpfResult::Pass;
        QTest::newRow("mobile fred") << "fred@example.com" << "198.51.100.1" << SpfResult::Pass;
        QTest::newRow("remote joel .15") << "joel@example.com" << "192.168.15.15" << SpfResult::Pass;
        QTest::newRow("remote joel .16") << "joel@example.com" << "192.168.15.16" << SpfResult::Pass;
        QTest::newRow("remote joel .17") << "joel@example.com" << "192.168.15.17" << SpfResult::Fail;
        QTest::newRow("mx") << "bob@example.com" << "192.0.2.129" << SpfResult::Pass;
        QTest::newRow("stranger") << "zoe@example.com" << "203.0.113.9" << SpfResult::Fail;
    }

    void appendixA3()
    {
        QFETCH(QString, mailFrom);
        QFETCH(QString, ip);
        QFETCH(SpfResult, result);
        Zone zone = appendixZone();
        zone.add("example.com", "TXT",
                 {"v=spf1 mx include:mobile-users._spf.%{d} include:remote-users._spf.%{d} -all"})
            .add("mobile-users._spf.example.com", "TXT", {"v=spf1 exists:%{l1r+}.%{d}"})
            .add("remote-users._spf.example.com", "TXT", {"v=spf1 exists:%{ir}.%{l1r+}.%{d}"})
            .add("mary.mobile-users._spf.example.com", "A", {"127.0.0.2"})
            .add("fred.mobile-users._spf.example.com", "A", {"127.0.0.2"})
            .add("15.15.168.192.joel.remote-users._spf.example.com", "A", {"127.0.0.2"})
            .add("16.15.168.192.joel.remote-users._spf.example.com", "A", {"127.0.0.2"});
        const Run r = run(SpfCheck(QHostAddress(ip), mailFrom, QStringLiteral("helo.example.net"), {}), zone);
        QCOMPARE(r.outcome.result, result);
    }

    // The questions, in order, and the outcome: what a DNS driver sees.
    void transcript()
    {
        Zone zone = appendixZone();
        zone.add("example.com", "TXT", {"v=spf1 a mx include:inc.example.net -all exp=why.example.com"})
            .add("inc.example.net", "TXT", {"v=spf1 ip4:198.51.100.0/24 -all"})
            .add("why.example.com", "TXT", {"%{i} is not one of %{d}'s hosts, %{l}"});
        SpfCheck check(QHostAddress(QStringLiteral("203.0.113.5")), QStringLiteral("jo@example.com"),
                       QStringLiteral("helo.example.net"), {});
        const Run r = run(check, zone);
        QCOMPARE(r.asked, (QStringList{"TXT example.com", "A example.com", "MX example.com", "A mail-a.example.com",
                                       "A mail-b.example.com", "TXT inc.example.net", "TXT why.example.com"}));
        QCOMPARE(r.outcome.result, SpfResult::Fail);
        QCOMPARE(r.outcome.mechanism, QStringLiteral("-all"));
        QCOMPARE(r.outcome.explanation, QStringLiteral("203.0.113.5 is not one of example.com's hosts, jo"));
    }

    void explanationOnlyOnFail()
    {
        Zone zone;
        zone.add("example.com", "TXT", {"v=spf1 ~all exp=why.example.com"}).add("why.example.com", "TXT", {"No."});
        const Run soft = run(SpfCheck(QHostAddress(QStringLiteral("192.0.2.1")), QStringLiteral("a@example.com"), {}, {}), zone);
        QCOMPARE(soft.outcome.result, SpfResult::SoftFail);
        QVERIFY(soft.outcome.explanation.isEmpty());
        QCOMPARE(soft.asked, QStringList{"TXT example.com"}); // exp= is not even looked up

        zone.names["example.com"]["TXT"] = QStringList{"v=spf1 -all exp=why.example.com"};
        const Run hard = run(SpfCheck(QHostAddress(QStringLiteral("192.0.2.1")), QStringLiteral("a@example.com"), {}, {}), zone);
        QCOMPARE(hard.outcome.result, SpfResult::Fail);
        QCOMPARE(hard.outcome.explanation, QStringLiteral("No."));
    }

    void explanationMacros()
    {
        Zone zone;
        zone.add("example.com", "TXT", {"v=spf1 -all exp=%{d2}.why.example.org"})
            .add("example.com.why.example.org", "TXT", {"%{c} via %{h} to %{r} at %{t} for %{s} (%{p})"})
            .add("1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", "PTR", {"mx.example.com."})
            .add("mx.example.com", "AAAA", {"2001:db8::cb01"});
        SpfCheck check(QHostAddress(QStringLiteral("2001:db8::cb01")), QStringLiteral("a@Mx.Example.com"),
                       QStringLiteral("helo.example.net"), QStringLiteral("mx.receiver.example"));
        check.setTimestamp(1700000000);
        zone.add("mx.example.com", "TXT", {"v=spf1 redirect=example.com"});
        const Run r = run(check, zone);
        QCOMPARE(r.outcome.result, SpfResult::Fail);
        QCOMPARE(r.outcome.domain, QStringLiteral("Mx.Example.com"));
        QCOMPARE(r.outcome.explanation,
                 QStringLiteral("2001:db8::cb01 via helo.example.net to mx.receiver.example at 1700000000 for "
                                "a@Mx.Example.com (mx.example.com)"));
    }

    // §5.2: what an included record's result makes of "include".
    void includeResults_data()
    {
        QTest::addColumn<QString>("outer");
        QTest::addColumn<QStringList>("inner"); // TXT records of inner.example.net; "NX": no such name
        QTest::addColumn<SpfResult>("result");
        const QString outer = QStringLiteral("v=spf1 include:inner.example.net -all");
        QTest::newRow("pass -> match") << outer << QStringList{"v=spf1 +all"} << SpfResult::Pass;
        QTest::newRow("fail -> no match") << outer << QStringList{"v=spf1 -all"} << SpfResult::Fail;
        QTest::newRow("softfail -> no match") << outer << QStringList{"v=spf1 ~all"} << SpfResult::Fail;
        QTest::newRow("neutral -> no match") << outer << QStringList{"v=spf1 ?all"} << SpfResult::Fail;
        QTest::newRow("default neutral -> no match") << outer << QStringList{"v=spf1"} << SpfResult::Fail;
        QTest::newRow("temperror") << outer << QStringList{"TIMEOUT"} << SpfResult::TempError;
        QTest::newRow("permerror") << outer << QStringList{"v=spf1 bogus"} << SpfResult::PermError;
        QTest::newRow("none -> permerror") << outer << QStringList{"not spf"} << SpfResult::PermError;
        QTest::newRow("nxdomain -> permerror") << outer << QStringList{"NX"} << SpfResult::PermError;
        QTest::newRow("two records -> permerror") << outer << QStringList{"v=spf1 +all", "v=spf1 +all"} << SpfResult::PermError;
        QTest::newRow("?include pass -> neutral") << "v=spf1 ?include:inner.example.net -all" << QStringList{"v=spf1 +all"}
                                                  << SpfResult::Neutral;
        QTest::newRow("-include pass -> fail") << "v=spf1 -include:inner.example.net +all" << QStringList{"v=spf1 +all"}
                                               << SpfResult::Fail;
    }

    void includeResults()
    {
        QFETCH(QString, outer);
        QFETCH(QStringList, inner);
        QFETCH(SpfResult, result);
        Zone zone;
        zone.add("example.com", "TXT", {outer});
        if (inner == QStringList{"TIMEOUT"})
            zone.add("inner.example.net", "TIMEOUT", {});
        else if (inner != QStringList{"NX"})
            zone.add("inner.example.net", "TXT", inner);
        const Run r = run(SpfCheck(QHostAddress(QStringLiteral("192.0.2.1")), QStringLiteral("a@example.com"), {}, {}), zone);
        QCOMPARE(r.outcome.result, result);
        if (result == SpfResult::TempError || result == SpfResult::PermError)
            QVERIFY(!r.outcome.problem.isEmpty());
        else
            QVERIFY(r.outcome.problem.isEmpty());
    }

    // §4.6.4: ten DNS-querying terms are fine, the eleventh is a permerror; so are more
    // than ten MX names.
    void lookupLimits_data()
    {
        QTest::addColumn<int>("terms");
        QTest::addColumn<int>("mxNames");
        QTest::addColumn<SpfResult>("result");
        QTest::newRow("10 terms") << 10 << 1 << SpfResult::Fail;
        QTest::newRow("11 terms") << 11 << 1 << SpfResult::PermError;
        QTest::newRow("10 MX names") << 1 << 10 << SpfResult::Fail;
        QTest::newRow("11 MX names") << 1 << 11 << SpfResult::PermError;
    }

    void lookupLimits()
    {
        QFETCH(int, terms);
        QFETCH(int, mxNames);
        QFETCH(SpfResult, result);
        Zone zone;
        QString record = QStringLiteral("v=spf1");
        for (int i = 1; i < terms; ++i) {
            record += QStringLiteral(" a:h%1.example.com").arg(i);
            zone.add(QStringLiteral("h%1.example.com").arg(i), "A", {"198.51.100.1"});
        }
        record += QStringLiteral(" mx -all");
        for (int i = 1; i <= mxNames; ++i) {
            zone.add("example.com", "MX", {QStringLiteral("mx%1.example.com").arg(i)});
            zone.add(QStringLiteral("mx%1.example.com").arg(i), "A", {"198.51.100.2"});
        }
        zone.add("example.com", "TXT", {record});
        const Run r = run(SpfCheck(QHostAddress(QStringLiteral("192.0.2.1")), QStringLiteral("a@example.com"), {}, {}), zone);
        QCOMPARE(r.outcome.result, result);
        QVERIFY(r.asked.size() <= 1 + terms + mxNames);
    }

    void ipv4MappedClient()
    {
        Zone zone = appendixZone();
        zone.add("example.com", "TXT", {"v=spf1 -ip6:::ffff:192.0.2.10 a -all"});
        const Run r = run(SpfCheck(QHostAddress(QStringLiteral("::ffff:192.0.2.10")), QStringLiteral("a@example.com"), {}, {}), zone);
        QCOMPARE(r.outcome.result, SpfResult::Pass); // an IPv4 client: ip6 cannot match, a asks for A
        QCOMPARE(r.asked, (QStringList{"TXT example.com", "A example.com"}));
    }

    void ipv6ClientPtr()
    {
        Zone zone;
        zone.add("example.com", "TXT", {"v=spf1 a ptr -all"})
            .add("example.com", "A", {"192.0.2.10"})
            .add("1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", "PTR",
                 {"other.example.org.", "MX.Example.COM."})
            .add("mx.example.com", "AAAA", {"2001:db8::cb01"});
        const Run r = run(SpfCheck(QHostAddress(QStringLiteral("2001:DB8::CB01")), QStringLiteral("a@example.com"), {}, {}), zone);
        QCOMPARE(r.outcome.result, SpfResult::Pass);
        QCOMPARE(r.outcome.mechanism, QStringLiteral("ptr"));
        // Only names within the target are validated.
        QCOMPARE(r.asked, (QStringList{"TXT example.com", "AAAA example.com",
                                       "PTR 1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
                                       "AAAA MX.Example.COM"}));
    }

    void heloIdentity()
    {
        Zone zone;
        zone.add("mail.example.com", "TXT", {"v=spf1 -all exp=why.example.com"}).add("why.example.com", "TXT", {"%{s} %{o}"});
        const Run r = run(SpfCheck(QHostAddress(QStringLiteral("192.0.2.1")), {}, QStringLiteral("mail.example.com."), {}), zone);
        QCOMPARE(r.outcome.domain, QStringLiteral("mail.example.com"));
        QCOMPARE(r.outcome.explanation, QStringLiteral("postmaster@mail.example.com mail.example.com"));
    }

    void noLocalPart()
    {
        Zone zone;
        zone.add("example.net", "TXT", {"v=spf1 -all exp=why.example.com"}).add("why.example.com", "TXT", {"%{l} %{s}"});
        const Run r = run(SpfCheck(QHostAddress(QStringLiteral("192.0.2.1")), QStringLiteral("@example.net"), {}, {}), zone);
        QCOMPARE(r.outcome.explanation, QStringLiteral("postmaster postmaster@example.net"));
    }

    // §4.3: a domain that cannot be asked for gives none at once.
    void malformedDomain_data()
    {
        QTest::addColumn<QString>("mailFrom");
        QTest::addColumn<QString>("helo");
        QTest::newRow("address literal") << "x@[192.0.2.1]" << "mail.example.com";
        QTest::newRow("single label") << "x@localhost" << "mail.example.com";
        QTest::newRow("empty label") << "x@a..example.com" << "mail.example.com";
        QTest::newRow("64-octet label") << "x@" + QString(64, u'a') + ".example.com" << "mail.example.com";
        QTest::newRow("over 253 octets") << "x@" + QString(40, u'a').append(u'.').repeated(7) + "com" << "mail.example.com";
        QTest::newRow("space") << "x@exa mple.com" << "mail.example.com";
        QTest::newRow("null path, no HELO") << "" << "";
        QTest::newRow("null path, literal HELO") << "" << "[192.0.2.1]";
    }

    void malformedDomain()
    {
        QFETCH(QString, mailFrom);
        QFETCH(QString, helo);
        const Run r = run(SpfCheck(QHostAddress(QStringLiteral("192.0.2.1")), mailFrom, helo, {}), Zone{});
        QCOMPARE(r.outcome.result, SpfResult::None);
        QVERIFY(r.asked.isEmpty());
    }

    void idnDomain()
    {
        const Run r = run(SpfCheck(QHostAddress(QStringLiteral("192.0.2.1")), QString::fromUtf8("x@b\xc3\xbc" "cher.example"), {}, {}),
                          Zone{});
        QCOMPARE(r.asked, QStringList{"TXT xn--bcher-kva.example"});
        QCOMPARE(r.outcome.result, SpfResult::None);
    }

    void dnsErrors_data()
    {
        QTest::addColumn<QString>("record");
        QTest::addColumn<QString>("broken"); // the name whose every query fails
        QTest::addColumn<SpfResult>("result");
        QTest::newRow("record") << "v=spf1 -all" << "example.com" << SpfResult::TempError;
        QTest::newRow("a") << "v=spf1 a:h.example.org -all" << "h.example.org" << SpfResult::TempError;
        QTest::newRow("exists") << "v=spf1 exists:h.example.org -all" << "h.example.org" << SpfResult::TempError;
        QTest::newRow("mx") << "v=spf1 mx:h.example.org -all" << "h.example.org" << SpfResult::TempError;
        QTest::newRow("mx host") << "v=spf1 mx -all" << "mail-a.example.com" << SpfResult::TempError;
        QTest::newRow("redirect") << "v=spf1 redirect=h.example.org" << "h.example.org" << SpfResult::TempError;
        // §5.5: ptr skips what it cannot look up.
        QTest::newRow("ptr: reverse zone") << "v=spf1 ptr -all" << "4.0.0.10.in-addr.arpa" << SpfResult::Fail;
        QTest::newRow("ptr: name") << "v=spf1 ptr -all" << "bob.example.com" << SpfResult::Fail;
        // §6.2: exp= is ignored.
        QTest::newRow("exp") << "v=spf1 -all exp=h.example.org" << "h.example.org" << SpfResult::Fail;
    }

    void dnsErrors()
    {
        QFETCH(QString, record);
        QFETCH(QString, broken);
        QFETCH(SpfResult, result);
        Zone zone = appendixZone();
        zone.add("example.com", "TXT", {record}).add(broken, "TIMEOUT", {});
        const Run r = run(SpfCheck(QHostAddress(QStringLiteral("10.0.0.4")), QStringLiteral("a@example.com"), {}, {}), zone);
        QCOMPARE(r.outcome.result, result);
        QCOMPARE(r.outcome.problem.isEmpty(), result != SpfResult::TempError);
        QVERIFY(r.outcome.explanation.isEmpty());
    }

    void stateMachine()
    {
        SpfCheck check = SpfCheck::checkHost(QHostAddress(QStringLiteral("192.0.2.1")), QStringLiteral("inner.example.org"),
                                             QStringLiteral("jo@outer.example.net"), QStringLiteral("helo.example.net"), {});
        check.answer(DnsAnswer{}); // nothing asked yet: ignored
        auto first = check.next();
        QCOMPARE(std::get<DnsQuestion>(first), (DnsQuestion{DnsQuestion::Type::TXT, QStringLiteral("inner.example.org")}));
        QCOMPARE(std::get<DnsQuestion>(check.next()), std::get<DnsQuestion>(first)); // asked again until answered
        DnsAnswer txt;
        txt.txt = {"v=spf1 exists:%{l}.%{o}.%{d}.example.com -all"};
        check.answer(txt);
        auto second = check.next();
        QCOMPARE(std::get<DnsQuestion>(second),
                 (DnsQuestion{DnsQuestion::Type::A, QStringLiteral("jo.outer.example.net.inner.example.org.example.com")}));
        DnsAnswer a;
        a.addresses = {QHostAddress(QStringLiteral("127.0.0.2"))};
        check.answer(a);
        const SpfOutcome o = std::get<SpfOutcome>(check.next());
        QCOMPARE(o.result, SpfResult::Pass);
        QCOMPARE(o.domain, QStringLiteral("inner.example.org"));
        check.answer(a); // after the outcome: ignored
        QCOMPARE(std::get<SpfOutcome>(check.next()).mechanism, o.mechanism);
    }
};

QTEST_GUILESS_MAIN(TestSpf)
#include "tst_spf.moc"
