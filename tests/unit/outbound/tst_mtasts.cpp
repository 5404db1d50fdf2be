// SPDX-License-Identifier: AGPL-3.0-or-later
// outbound/mtasts: RFC 8461 §3.1 TXT records, §3.2 policies (the RFC's own examples and
// each way one can be wrong), §4.1 MX pattern matching.
#include "outbound/mtasts.h"

#include <QRandomGenerator>
#include <QTest>

using namespace valv::outbound;
using Mode = MtaStsPolicy::Mode;

Q_DECLARE_METATYPE(MtaStsPolicy::Mode)

namespace {

QByteArray crlf(QByteArray s) { return s.replace("\n", "\r\n"); }

// RFC 8461 §3.2.
const QByteArray kRfcPolicy = "version: STSv1\n"
                              "mode: enforce\n"
                              "mx: mail.example.com\n"
                              "mx: *.example.net\n"
                              "mx: backupmx.example.com\n"
                              "max_age: 604800\n";

} // namespace

class TestMtaSts : public QObject {
    Q_OBJECT

private slots:
    void record_data()
    {
        QTest::addColumn<QByteArray>("txt");
        QTest::addColumn<bool>("ok");
        QTest::addColumn<QString>("id");
        QTest::addColumn<int>("error");
        const int none = 0;
        const int notSts = int(MtaStsError::NotStsRecord);
        const int badId = int(MtaStsError::BadId);
        // RFC 8461 §3.1.
        QTest::newRow("rfc 3.1") << QByteArray("v=STSv1; id=20160831085700Z;") << true << "20160831085700Z" << none;
        QTest::newRow("no trailing ;") << QByteArray("v=STSv1; id=abc") << true << "abc" << none;
        QTest::newRow("no spaces") << QByteArray("v=STSv1;id=abc;") << true << "abc" << none;
        QTest::newRow("tabs and spaces") << QByteArray("v=STSv1 \t;\t id=abc \t; ") << true << "abc" << none;
        QTest::newRow("extension ignored") << QByteArray("v=STSv1; foo=bar; id=X1; ext.x-y_z=!\"#") << true << "X1" << none;
        QTest::newRow("32 chars") << QByteArray("v=STSv1; id=" + QByteArray(32, 'a')) << true << QString(32, u'a') << none;
        QTest::newRow("first id counts") << QByteArray("v=STSv1; id=one; id=two;") << true << "one" << none;
        QTest::newRow("empty") << QByteArray() << false << QString() << notSts;
        QTest::newRow("spf") << QByteArray("v=spf1 -all") << false << QString() << notSts;
        QTest::newRow("version case") << QByteArray("v=stsv1; id=abc;") << false << QString() << notSts;
        QTest::newRow("version 2") << QByteArray("v=STSv2; id=abc;") << false << QString() << notSts;
        QTest::newRow("leading space") << QByteArray(" v=STSv1; id=abc;") << false << QString() << notSts;
        QTest::newRow("version not first") << QByteArray("id=abc; v=STSv1;") << false << QString() << notSts;
        QTest::newRow("version only") << QByteArray("v=STSv1") << false << QString() << badId;
        QTest::newRow("no id") << QByteArray("v=STSv1; foo=bar;") << false << QString() << badId;
        QTest::newRow("empty id") << QByteArray("v=STSv1; id=;") << false << QString() << badId;
        QTest::newRow("33 chars") << QByteArray("v=STSv1; id=" + QByteArray(33, 'a')) << false << QString() << badId;
        QTest::newRow("id punctuation") << QByteArray("v=STSv1; id=2016-08-31;") << false << QString() << badId;
        QTest::newRow("id space inside") << QByteArray("v=STSv1; id=ab cd;") << false << QString() << badId;
        QTest::newRow("id 8-bit") << QByteArray("v=STSv1; id=ab\xc3\xa9;") << false << QString() << badId;
        QTest::newRow("garbage") << QByteArray("\x00\xff;;;=\r\n", 7) << false << QString() << notSts;
    }

    void record()
    {
        QFETCH(QByteArray, txt);
        QFETCH(bool, ok);
        QFETCH(QString, id);
        QFETCH(int, error);
        const auto r = parseMtaStsRecord(txt);
        QCOMPARE(r.ok(), ok);
        if (ok)
            QCOMPARE(r->id, id);
        else
            QCOMPARE(r.error().code, error);
    }

    void policy_data()
    {
        QTest::addColumn<QByteArray>("body");
        QTest::addColumn<Mode>("mode");
        QTest::addColumn<QStringList>("mx");
        QTest::addColumn<qint64>("maxAge");
        const QStringList rfcMx{"mail.example.com", "*.example.net", "backupmx.example.com"};
        QTest::newRow("rfc 3.2 LF") << kRfcPolicy << Mode::Enforce << rfcMx << qint64(604800);
        QTest::newRow("rfc 3.2 CRLF") << crlf(kRfcPolicy) << Mode::Enforce << rfcMx << qint64(604800);
        QTest::newRow("no final line end") << kRfcPolicy.chopped(1) << Mode::Enforce << rfcMx << qint64(604800);
        QTest::newRow("testing, reordered, wsp")
            << QByteArray("max_age:86400  \r\nmx:\tMX1.B.test.\r\nmode:   testing\t\r\nversion: STSv1\r\n")
            << Mode::Testing << QStringList{"mx1.b.test"} << qint64(86400);
        QTest::newRow("none without mx") << QByteArray("version: STSv1\nmode: none\nmax_age: 0\n") << Mode::None
                                         << QStringList() << qint64(0);
        QTest::newRow("max max_age") << QByteArray("version: STSv1\nmode: none\nmax_age: 31557600\n") << Mode::None
                                     << QStringList() << qint64(31557600);
        QTest::newRow("unknown keys, junk lines")
            << QByteArray("version: STSv1\nfoo: bar\njunk line\n\nmode: enforce\nMX: other.test\nmx: a.test\nmax_age: 10\n")
            << Mode::Enforce << QStringList{"a.test"} << qint64(10);
        QTest::newRow("duplicates: first wins")
            << QByteArray("version: STSv1\nmode: testing\nmode: enforce\nmax_age: 5\nmax_age: 99\nmx: a.test\n"
                          "mx: a.test\nversion: STSv2\n")
            << Mode::Testing << QStringList{"a.test"} << qint64(5);
        QTest::newRow("invalid mx skipped")
            << QByteArray("version: STSv1\nmode: enforce\nmax_age: 5\nmx: bad..test\nmx: *\nmx: a.*.test\n"
                          "mx: -ok_.test\nmx: sp ace.test\n")
            << Mode::Enforce << QStringList{"-ok_.test"} << qint64(5);
    }

    void policy()
    {
        QFETCH(QByteArray, body);
        QFETCH(Mode, mode);
        QFETCH(QStringList, mx);
        QFETCH(qint64, maxAge);
        const auto r = parseMtaStsPolicy(body);
        QVERIFY2(r.ok(), qPrintable(r.ok() ? QString() : r.error().message));
        QCOMPARE(r->mode, mode);
        QCOMPARE(r->mx, mx);
        QCOMPARE(r->maxAgeSeconds, maxAge);
    }

    void policyErrors_data()
    {
        QTest::addColumn<QByteArray>("body");
        QTest::addColumn<int>("error");
        const QByteArray mx = "mx: mail.example.com\n";
        QTest::newRow("empty") << QByteArray() << int(MtaStsError::MissingVersion);
        QTest::newRow("missing version") << QByteArray("mode: enforce\nmax_age: 1\n" + mx) << int(MtaStsError::MissingVersion);
        QTest::newRow("bad version") << QByteArray("version: STSv2\nmode: enforce\nmax_age: 1\n" + mx)
                                     << int(MtaStsError::MissingVersion);
        QTest::newRow("version key case") << QByteArray("Version: STSv1\nmode: enforce\nmax_age: 1\n" + mx)
                                          << int(MtaStsError::MissingVersion);
        QTest::newRow("space before colon") << QByteArray("version : STSv1\nmode: enforce\nmax_age: 1\n" + mx)
                                            << int(MtaStsError::MissingVersion);
        QTest::newRow("missing mode") << QByteArray("version: STSv1\nmax_age: 1\n" + mx) << int(MtaStsError::MissingMode);
        QTest::newRow("bad mode") << QByteArray("version: STSv1\nmode: strict\nmax_age: 1\n" + mx) << int(MtaStsError::BadMode);
        QTest::newRow("mode case") << QByteArray("version: STSv1\nmode: Enforce\nmax_age: 1\n" + mx) << int(MtaStsError::BadMode);
        QTest::newRow("empty mode") << QByteArray("version: STSv1\nmode:\nmax_age: 1\n" + mx) << int(MtaStsError::BadMode);
        QTest::newRow("missing max_age") << QByteArray("version: STSv1\nmode: enforce\n" + mx) << int(MtaStsError::MissingMaxAge);
        QTest::newRow("max_age too big") << QByteArray("version: STSv1\nmode: enforce\nmax_age: 31557601\n" + mx)
                                         << int(MtaStsError::BadMaxAge);
        QTest::newRow("max_age 11 digits") << QByteArray("version: STSv1\nmode: enforce\nmax_age: 00000000001\n" + mx)
                                           << int(MtaStsError::BadMaxAge);
        QTest::newRow("max_age negative") << QByteArray("version: STSv1\nmode: enforce\nmax_age: -1\n" + mx)
                                          << int(MtaStsError::BadMaxAge);
        QTest::newRow("max_age word") << QByteArray("version: STSv1\nmode: enforce\nmax_age: week\n" + mx)
                                      << int(MtaStsError::BadMaxAge);
        QTest::newRow("max_age empty") << QByteArray("version: STSv1\nmode: enforce\nmax_age:\n" + mx)
                                       << int(MtaStsError::BadMaxAge);
        QTest::newRow("no mx in enforce") << QByteArray("version: STSv1\nmode: enforce\nmax_age: 1\n")
                                          << int(MtaStsError::MissingMx);
        QTest::newRow("no mx in testing") << QByteArray("version: STSv1\nmode: testing\nmax_age: 1\n")
                                          << int(MtaStsError::MissingMx);
        QTest::newRow("only invalid mx") << QByteArray("version: STSv1\nmode: enforce\nmax_age: 1\nmx: *.\nmx:\n")
                                         << int(MtaStsError::MissingMx);
        QByteArray big = kRfcPolicy;
        big += "x-padding: " + QByteArray(kMaxPolicySize, 'a') + '\n';
        QTest::newRow("oversize") << big << int(MtaStsError::TooLarge);
        QTest::newRow("garbage") << QByteArray("\x00\xff\xfe\r\r\n:::\x01\n", 11) << int(MtaStsError::MissingVersion);
        QTest::newRow("html") << QByteArray("<html><body>404 Not Found</body></html>\n") << int(MtaStsError::MissingVersion);
    }

    void policyErrors()
    {
        QFETCH(QByteArray, body);
        QFETCH(int, error);
        const auto r = parseMtaStsPolicy(body);
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, error);
        QVERIFY(!r.error().message.isEmpty());
    }

    void policyAtSizeLimit()
    {
        QByteArray body = kRfcPolicy + "x-padding: ";
        body += QByteArray(kMaxPolicySize - body.size() - 1, 'a') + '\n';
        QCOMPARE(body.size(), kMaxPolicySize);
        QVERIFY(parseMtaStsPolicy(body).ok());
    }

    void match_data()
    {
        QTest::addColumn<QString>("host");
        QTest::addColumn<QStringList>("patterns");
        QTest::addColumn<bool>("match");
        const QStringList rfc{"mail.example.com", "*.example.net", "backupmx.example.com"};
        QTest::newRow("exact") << "mail.example.com" << rfc << true;
        QTest::newRow("exact, case") << "MAIL.Example.COM" << rfc << true;
        QTest::newRow("exact, trailing dot") << "mail.example.com." << rfc << true;
        QTest::newRow("pattern trailing dot") << "mail.example.com" << QStringList{"Mail.Example.com."} << true;
        QTest::newRow("other host") << "mail2.example.com" << rfc << false;
        QTest::newRow("suffix only") << "xmail.example.com" << rfc << false;
        QTest::newRow("parent") << "example.com" << rfc << false;
        // RFC 8461 §4.1: "*.example.com" matches one label, no more, no less.
        QTest::newRow("wildcard one label") << "mx1.example.net" << rfc << true;
        QTest::newRow("wildcard case, dot") << "MX1.EXAMPLE.NET." << rfc << true;
        QTest::newRow("wildcard two labels") << "a.mx1.example.net" << rfc << false;
        QTest::newRow("wildcard bare domain") << "example.net" << rfc << false;
        QTest::newRow("wildcard empty label") << ".example.net" << rfc << false;
        QTest::newRow("wildcard other domain") << "mx1.example.org" << rfc << false;
        QTest::newRow("wildcard not a suffix label") << "mx1example.net" << rfc << false;
        QTest::newRow("star host") << "*.example.net" << rfc << false;
        QTest::newRow("empty host") << "" << rfc << false;
        QTest::newRow("dot host") << "." << rfc << false;
        QTest::newRow("no patterns") << "mail.example.com" << QStringList() << false;
        QTest::newRow("empty pattern") << "" << QStringList{""} << false;
    }

    void match()
    {
        QFETCH(QString, host);
        QFETCH(QStringList, patterns);
        QFETCH(bool, match);
        QCOMPARE(mxMatchesPolicy(host, patterns), match);
    }

    // Every prefix of the RFC policy and random bytes either parse or fail cleanly, and a
    // parsed policy keeps its invariants.
    void noInputCrashes()
    {
        const QByteArray base = crlf(kRfcPolicy);
        QRandomGenerator rng(7);
        QList<QByteArray> inputs;
        for (qsizetype n = 0; n <= base.size(); ++n)
            inputs << base.first(n);
        const QByteArray alphabet("vmx:;=*. \t\r\n\xff\x00" "aSTv1", 19);
        for (int i = 0; i < 3000; ++i) {
            QByteArray m = i % 2 ? base : QByteArray("v=STSv1;");
            const int len = int(rng.bounded(120));
            for (int j = 0; j < len; ++j)
                m.insert(rng.bounded(int(m.size()) + 1), alphabet[rng.bounded(int(alphabet.size()))]);
            inputs << m;
        }
        for (const QByteArray &in : inputs) {
            (void)parseMtaStsRecord(in);
            const auto p = parseMtaStsPolicy(in);
            if (!p.ok())
                continue;
            QVERIFY(p->maxAgeSeconds >= 0 && p->maxAgeSeconds <= kMaxPolicyAge);
            QVERIFY(p->mode == Mode::None || !p->mx.isEmpty());
            for (const QString &mx : p->mx)
                QCOMPARE(mx, mx.toLower());
        }
    }
};

QTEST_GUILESS_MAIN(TestMtaSts)
#include "tst_mtasts.moc"
