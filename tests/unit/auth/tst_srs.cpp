// SPDX-License-Identifier: AGPL-3.0-or-later
// auth/srs: the Sender Rewriting Scheme (SRS0/SRS1 as libsrs2 lays them out). Round trips
// through forward and reverse, SRS1 wrapping across hops, each way a bounce address can be
// refused, and a hash recomputed here with QMessageAuthenticationCode to pin the HMAC input.
#include "auth/srs.h"

#include <QMessageAuthenticationCode>
#include <QRegularExpression>
#include <QTest>

using namespace valv::auth;

namespace {

constexpr qint64 kDay = 86400;
// 2023-11-14 22:13:20 UTC: day 19675, slot 19675 % 1024 = 219 = 6*32 + 27 -> "G3".
constexpr qint64 kNow = 1700000000;

SrsConfig config(const QByteArray &secret = "our secret, 32 bytes long.......")
{
    SrsConfig cfg;
    cfg.secret = secret;
    return cfg;
}

SrsConfig hopConfig() { return config("the first hop's own secret key"); }

const QString kOur = QStringLiteral("fwd.test");

// The local part with the hash field (the one after "SRSn=") changed by f.
QString withHash(const QString &address, const std::function<QString(const QString &)> &f)
{
    const qsizetype start = 5;
    const qsizetype end = address.indexOf(u'=', start);
    return address.left(start) + f(address.mid(start, end - start)) + address.mid(end);
}

// The error text for QVERIFY2, which evaluates its message even when the check passes.
QByteArray why(const valv::Result<QString> &r) { return r.ok() ? QByteArray() : r.error().message.toUtf8(); }

int code(const valv::Result<QString> &r) { return r.ok() ? 0 : r.error().code; }

QString swapCase(const QString &s)
{
    QString out;
    for (QChar c : s)
        out += c.isUpper() ? c.toLower() : c.toUpper();
    return out;
}

} // namespace

class TestSrs : public QObject {
    Q_OBJECT

private slots:
    // Senders forward leaves alone, and the shape of what it makes of the others.
    void forward_data()
    {
        QTest::addColumn<QString>("sender");
        QTest::addColumn<QString>("pattern"); // anchored regex, or empty: unchanged
        QTest::newRow("null") << QString() << QString();
        QTest::newRow("null brackets") << "<>" << QString();
        QTest::newRow("local sender") << "bob@fwd.test" << QString();
        QTest::newRow("local sender, case") << "bob@FWD.Test" << QString();
        QTest::newRow("local sender, trailing dot") << "bob@fwd.test." << QString();
        QTest::newRow("our own SRS0") << "SRS0=abcd=G3=orig.test=alice@fwd.test" << QString();
        QTest::newRow("no @") << "alice" << QString();
        QTest::newRow("empty local part") << "@orig.test" << QString();
        QTest::newRow("empty domain") << "alice@" << QString();
        QTest::newRow("= in domain") << "alice@orig=test" << QString();
        QTest::newRow("brackets") << "<alice@orig.test>" << QString();
        QTest::newRow("space in domain") << "alice@orig .test" << QString();
        QTest::newRow("plain") << "alice@orig.test" << "SRS0=[A-Za-z0-9+/]{4}=G3=orig\\.test=alice@fwd\\.test";
        QTest::newRow("domain case kept") << "Alice@Orig.Test" << "SRS0=[A-Za-z0-9+/]{4}=G3=Orig\\.Test=Alice@fwd\\.test";
        QTest::newRow("= and +") << "a=b+c@orig.test" << "SRS0=[A-Za-z0-9+/]{4}=G3=orig\\.test=a=b\\+c@fwd\\.test";
        QTest::newRow("quoted, as is") << "\"john doe\"@orig.test"
                                       << "SRS0=[A-Za-z0-9+/]{4}=G3=orig\\.test=\"john doe\"@fwd\\.test";
        QTest::newRow("address literal") << "u@[192.0.2.1]" << "SRS0=[A-Za-z0-9+/]{4}=G3=\\[192\\.0\\.2\\.1\\]=u@fwd\\.test";
        QTest::newRow("SRS0 from a hop")
            << "SRS0=HHHH=TT=orig.test=u@hop1.test" << "SRS1=[A-Za-z0-9+/]{4}=hop1\\.test==HHHH=TT=orig\\.test=u@fwd\\.test";
        QTest::newRow("srs0+ from a hop")
            << "srs0+HHHH=TT=orig.test=u@hop1.test" << "SRS1=[A-Za-z0-9+/]{4}=hop1\\.test=\\+HHHH=TT=orig\\.test=u@fwd\\.test";
        QTest::newRow("SRS1 from a hop")
            << "SRS1=xxxx=hop1.test==HHHH=TT=orig.test=u@hop2.test"
            << "SRS1=[A-Za-z0-9+/]{4}=hop1\\.test==HHHH=TT=orig\\.test=u@fwd\\.test";
        QTest::newRow("SRS1 without hop: plain")
            << "SRS1=xxxx@hop2.test" << "SRS0=[A-Za-z0-9+/]{4}=G3=hop2\\.test=SRS1=xxxx@fwd\\.test";
        QTest::newRow("SRS2 is no tag") << "SRS2=x@orig.test" << "SRS0=[A-Za-z0-9+/]{4}=G3=orig\\.test=SRS2=x@fwd\\.test";
    }
    void forward()
    {
        QFETCH(QString, sender);
        QFETCH(QString, pattern);
        const QString out = srsForward(sender, kOur, config(), kNow);
        if (pattern.isEmpty()) {
            QCOMPARE(out, sender);
            return;
        }
        const QRegularExpression re(QRegularExpression::anchoredPattern(pattern));
        QVERIFY2(re.match(out).hasMatch(), qPrintable(out));
    }

    void forwardNeedsSecretAndDomain()
    {
        QCOMPARE(srsForward("alice@orig.test", kOur, config("15 bytes secret"), kNow), "alice@orig.test");
        QCOMPARE(srsForward("alice@orig.test", QString(), config(), kNow), "alice@orig.test");
        QVERIFY(srsForward("alice@orig.test", kOur, config("16 bytes secret!"), kNow).startsWith("SRS0="));
    }

    void roundTrip_data()
    {
        QTest::addColumn<QString>("sender");
        QTest::newRow("plain") << "alice@orig.test";
        QTest::newRow("mixed case") << "Alice.Smith@Orig.Test";
        QTest::newRow("= in local part") << "a=b@orig.test";
        QTest::newRow("+ in local part") << "alice+lists@orig.test";
        QTest::newRow("= and + everywhere") << "=+a==b++=@orig.test";
        QTest::newRow("- in local part") << "-alice-@orig.test";
        QTest::newRow("UTF-8 local part") << QStringLiteral("jörg.müller@orig.test");
        QTest::newRow("UTF-8 both") << QStringLiteral("用户@例子.test");
        QTest::newRow("quoted") << "\"john doe\"@orig.test";
        QTest::newRow("quoted with @") << "\"a@b\"@orig.test";
        QTest::newRow("long local part") << QString(64, u'x') + "@orig.test";
        QTest::newRow("trailing dot domain") << "alice@orig.test.";
        QTest::newRow("address literal") << "u@[IPv6:2001:db8::1]";
        QTest::newRow("SRS1 without hop") << "SRS1=xxxx@hop2.test";
        QTest::newRow("looks like SRS, is not") << "SRS=a=b=c@orig.test";
    }
    void roundTrip()
    {
        QFETCH(QString, sender);
        const SrsConfig cfg = config();
        const QString fwd = srsForward(sender, kOur, cfg, kNow);
        QVERIFY(fwd != sender);
        QVERIFY(isSrsAddress(fwd));
        QVERIFY(fwd.endsWith("@fwd.test"));
        for (qint64 later : {qint64(0), kDay / 2, 21 * kDay}) {
            const auto r = srsReverse(fwd, cfg, kNow + later);
            QVERIFY2(r.ok(), why(r).constData());
            QCOMPARE(*r, sender);
        }
        // Hash case changed, either way (some MTAs lower-case local parts).
        const QList<std::function<QString(const QString &)>> changes{
            swapCase, [](const QString &h) { return h.toLower(); }, [](const QString &h) { return h.toUpper(); }};
        for (const auto &f : changes) {
            const auto r = srsReverse(withHash(fwd, f), cfg, kNow);
            QVERIFY2(r.ok(), qPrintable(withHash(fwd, f)));
            QCOMPARE(*r, sender);
        }
        // The whole local part lower-cased: still verifies, gives the original lower-cased.
        const qsizetype at = fwd.lastIndexOf(u'@');
        const auto lowered = srsReverse(fwd.left(at).toLower() + fwd.mid(at), cfg, kNow);
        QVERIFY(lowered.ok());
        QCOMPARE(lowered->toLower(), sender.toLower());
    }

    void longLocalPartIsProduced()
    {
        // 45 + "SRS0=HHHH=TT=" + "orig.test=" > 64 octets (RFC 5321 §4.5.3.1.1): made anyway.
        const QString sender = QString(45, u'y') + "@orig.test";
        const QString fwd = srsForward(sender, kOur, config(), kNow);
        QVERIFY(fwd.indexOf(u'@') > 64);
        QCOMPARE(*srsReverse(fwd, config(), kNow), sender);
    }

    // hop1 rewrote alice's address, we forward again: SRS1 back to hop1's SRS0 address,
    // and hop1 (with its own secret) turns that into alice.
    void srs1Wrapping_data()
    {
        QTest::addColumn<QString>("original");
        QTest::newRow("plain") << "alice@orig.test";
        QTest::newRow("= and +") << "a=b+c@orig.test";
        QTest::newRow("UTF-8") << QStringLiteral("åsa@orig.test");
    }
    void srs1Wrapping()
    {
        QFETCH(QString, original);
        const QString atHop1 = srsForward(original, "hop1.test", hopConfig(), kNow);
        QVERIFY(atHop1.startsWith("SRS0=") && atHop1.endsWith("@hop1.test"));

        const QString atUs = srsForward(atHop1, kOur, config(), kNow);
        const QString inner = atHop1.left(atHop1.lastIndexOf(u'@')).mid(4); // "=HHHH=TT=orig.test=alice"
        QVERIFY(atUs.startsWith("SRS1="));
        QVERIFY(atUs.endsWith("=hop1.test=" + inner + "@fwd.test"));
        QCOMPARE(atUs.indexOf(u'='), 4);
        QCOMPARE(atUs.indexOf(u'=', 5), 9); // a 4-character hash

        const auto back = srsReverse(atUs, config(), kNow + 30 * kDay); // no timestamp in SRS1
        QVERIFY2(back.ok(), why(back).constData());
        QCOMPARE(*back, atHop1);
        QCOMPARE(*srsReverse(*back, hopConfig(), kNow), original);
        // hop1's part is not ours to check: our secret does not verify it.
        QCOMPARE(code(srsReverse(*back, config(), kNow)), int(SrsError::BadHash));

        // A hash case change still verifies.
        QCOMPARE(*srsReverse(withHash(atUs, swapCase), config(), kNow), atHop1);

        // hop2 forwarded it after hop1 (SRS1 at hop2); we re-hash and keep hop1's part.
        const QString atHop2 = srsForward(atHop1, "hop2.test", config("hop2's secret, also long"), kNow);
        QVERIFY(atHop2.startsWith("SRS1=") && atHop2.endsWith("@hop2.test"));
        const QString atUs2 = srsForward(atHop2, kOur, config(), kNow);
        QCOMPARE(atUs2, atUs); // same hop, same inner part, our hash
        QCOMPARE(*srsReverse(atUs2, config(), kNow), atHop1);
    }

    void srs1KeepsHopSeparator()
    {
        // libsrs2 accepts '+' and '-' after the tag; the separator lives on in the inner part.
        const QString atHop1 = "SRS0-HHHH=TT=orig.test=u@hop1.test";
        const QString atUs = srsForward(atHop1, kOur, config(), kNow);
        QVERIFY(atUs.contains("=hop1.test=-HHHH=TT=orig.test=u@"));
        QCOMPARE(*srsReverse(atUs, config(), kNow), atHop1);
        // A lower-case tag comes back upper-case (the tag is not part of the SRS1 address).
        QCOMPARE(*srsReverse(srsForward("srs0=HHHH=TT=orig.test=u@hop1.test", kOur, config(), kNow), config(), kNow),
                 "SRS0=HHHH=TT=orig.test=u@hop1.test");
    }

    void reverseAcceptsSeparatorsAndCase_data()
    {
        QTest::addColumn<QString>("tag");
        QTest::newRow("SRS0=") << "SRS0=";
        QTest::newRow("SRS0+") << "SRS0+";
        QTest::newRow("SRS0-") << "SRS0-";
        QTest::newRow("srs0=") << "srs0=";
        QTest::newRow("Srs0+") << "Srs0+";
    }
    void reverseAcceptsSeparatorsAndCase()
    {
        QFETCH(QString, tag);
        const QString fwd = srsForward("alice@orig.test", kOur, config(), kNow);
        const QString other = tag + fwd.mid(5);
        QVERIFY(isSrsAddress(other));
        const auto r = srsReverse(other, config(), kNow);
        QVERIFY2(r.ok(), why(r).constData());
        QCOMPARE(*r, "alice@orig.test");
    }

    void errors_data()
    {
        QTest::addColumn<QString>("address");
        QTest::addColumn<qint64>("now");
        QTest::addColumn<int>("error");
        const SrsConfig cfg = config();
        const QString good = srsForward("alice@orig.test", kOur, cfg, kNow);
        const QString goodSrs1 = srsForward("SRS0=HHHH=TT=orig.test=u@hop1.test", kOur, cfg, kNow);
        const int notSrs = int(SrsError::NotSrs);
        const int badHash = int(SrsError::BadHash);
        const int expired = int(SrsError::Expired);
        const int malformed = int(SrsError::Malformed);

        auto flip = [](const QString &h) {
            QString t = h;
            t[0] = t[0] == u'A' || t[0] == u'a' ? u'B' : u'A';
            return t;
        };
        QTest::newRow("tampered hash") << withHash(good, flip) << kNow << badHash;
        QTest::newRow("tampered hash SRS1") << withHash(goodSrs1, flip) << kNow << badHash;
        QTest::newRow("hash too short") << withHash(good, [](const QString &h) { return h.left(3); }) << kNow << badHash;
        QTest::newRow("hash too long") << withHash(good, [](const QString &h) { return h + QString(40, u'A'); }) << kNow
                                       << badHash;
        QTest::newRow("tampered local part") << QString(good).replace("=alice@", "=alicf@") << kNow << badHash;
        QTest::newRow("tampered domain") << QString(good).replace("=orig.test=", "=evil.test=") << kNow << badHash;
        QTest::newRow("tampered timestamp") << QString(good).replace("=G3=", "=G4=") << kNow << badHash;
        QTest::newRow("tampered SRS1 hop") << QString(goodSrs1).replace("=hop1.test=", "=evil.test=") << kNow << badHash;
        QTest::newRow("expired: 22 days") << good << kNow + 22 * kDay << expired;
        QTest::newRow("expired: 1000 days") << good << kNow + 1000 * kDay << expired;
        QTest::newRow("from tomorrow") << good << kNow - kDay << expired;

        QTest::newRow("SRS0 no fields") << "SRS0=@fwd.test" << kNow << malformed;
        QTest::newRow("SRS0 hash only") << "SRS0=abcd@fwd.test" << kNow << malformed;
        QTest::newRow("SRS0 no local part") << "SRS0=abcd=G3=orig.test@fwd.test" << kNow << malformed;
        QTest::newRow("SRS0 empty local part") << "SRS0=abcd=G3=orig.test=@fwd.test" << kNow << malformed;
        QTest::newRow("SRS0 empty hash") << "SRS0==G3=orig.test=alice@fwd.test" << kNow << malformed;
        QTest::newRow("SRS0 empty domain") << "SRS0=abcd=G3==alice@fwd.test" << kNow << malformed;
        QTest::newRow("SRS0 1-char timestamp") << "SRS0=abcd=G=orig.test=alice@fwd.test" << kNow << malformed;
        QTest::newRow("SRS0 3-char timestamp") << "SRS0=abcd=G3A=orig.test=alice@fwd.test" << kNow << malformed;
        QTest::newRow("SRS0 timestamp not base32") << "SRS0=abcd=G1=orig.test=alice@fwd.test" << kNow << malformed;
        QTest::newRow("SRS1 hash only") << "SRS1=abcd@fwd.test" << kNow << malformed;
        QTest::newRow("SRS1 no rest") << "SRS1=abcd=hop1.test@fwd.test" << kNow << malformed;
        QTest::newRow("SRS1 empty rest") << "SRS1=abcd=hop1.test=@fwd.test" << kNow << malformed;
        QTest::newRow("SRS1 empty hop") << "SRS1=abcd==HHHH=TT=o=u@fwd.test" << kNow << malformed;

        QTest::newRow("plain") << "alice@fwd.test" << kNow << notSrs;
        QTest::newRow("empty") << QString() << kNow << notSrs;
        QTest::newRow("no @") << QString(good).replace(u'@', u'.') << kNow << notSrs;
        QTest::newRow("SRS2") << "SRS2=abcd=G3=orig.test=alice@fwd.test" << kNow << notSrs;
        QTest::newRow("no separator") << "SRS0abcd=G3=orig.test=alice@fwd.test" << kNow << notSrs;
        QTest::newRow("other separator") << "SRS0_abcd=G3=orig.test=alice@fwd.test" << kNow << notSrs;
        QTest::newRow("tag only") << "SRS0@fwd.test" << kNow << notSrs;
        QTest::newRow("tag in domain") << "alice@SRS0=abcd" << kNow << notSrs;
    }
    void errors()
    {
        QFETCH(QString, address);
        QFETCH(qint64, now);
        QFETCH(int, error);
        const auto r = srsReverse(address, config(), now);
        QVERIFY2(!r.ok(), qPrintable(r.ok() ? *r : QString()));
        QCOMPARE(r.error().code, error);
        QVERIFY(!r.error().message.isEmpty());
        QCOMPARE(isSrsAddress(address), error != int(SrsError::NotSrs));
    }

    void maxAge_data()
    {
        QTest::addColumn<int>("maxAgeDays");
        QTest::addColumn<int>("days");
        QTest::addColumn<bool>("ok");
        QTest::newRow("default, 21 days") << 21 << 21 << true;
        QTest::newRow("default, 22 days") << 21 << 22 << false;
        QTest::newRow("0, same day") << 0 << 0 << true;
        QTest::newRow("0, next day") << 0 << 1 << false;
        QTest::newRow("3, 3 days") << 3 << 3 << true;
        QTest::newRow("3, 4 days") << 3 << 4 << false;
        QTest::newRow("huge: clamped to 1023") << 5000 << 1023 << true;
        QTest::newRow("huge: 1024 wraps to today") << 5000 << 1024 << true;
    }
    void maxAge()
    {
        QFETCH(int, maxAgeDays);
        QFETCH(int, days);
        QFETCH(bool, ok);
        SrsConfig cfg = config();
        cfg.maxAgeDays = maxAgeDays;
        const QString fwd = srsForward("alice@orig.test", kOur, cfg, kNow);
        const auto r = srsReverse(fwd, cfg, kNow + days * kDay);
        QCOMPARE(r.ok(), ok);
        if (!ok)
            QCOMPARE(r.error().code, int(SrsError::Expired));
    }

    // The day counter wraps at 1024: made on slot 1023 ("77"), checked on slots 0..3.
    void timestampWrap_data()
    {
        QTest::addColumn<qint64>("made");
        QTest::addColumn<qint64>("checked");
        QTest::addColumn<bool>("ok");
        const qint64 slot1023 = (19 * 1024 + 1023) * kDay + 3600;
        QTest::newRow("same day") << slot1023 << slot1023 + 3600 << true;
        QTest::newRow("1 day, wrapped") << slot1023 << slot1023 + kDay << true;
        QTest::newRow("4 days, wrapped") << slot1023 << slot1023 + 4 * kDay << true;
        QTest::newRow("21 days, wrapped") << slot1023 << slot1023 + 21 * kDay << true;
        QTest::newRow("22 days, wrapped") << slot1023 << slot1023 + 22 * kDay << false;
        QTest::newRow("slot 0 checked on 1023") << slot1023 + kDay << slot1023 << false;
        QTest::newRow("slot 1000 checked 30 days on") << slot1023 - 23 * kDay << slot1023 + 7 * kDay << false;
        QTest::newRow("slot 1010 checked 20 days on") << slot1023 - 13 * kDay << slot1023 + 7 * kDay << true;
        QTest::newRow("1024 days later looks fresh") << slot1023 << slot1023 + 1024 * kDay << true;
    }
    void timestampWrap()
    {
        QFETCH(qint64, made);
        QFETCH(qint64, checked);
        QFETCH(bool, ok);
        const QString fwd = srsForward("alice@orig.test", kOur, config(), made);
        if (made == (19 * 1024 + 1023) * kDay + 3600)
            QVERIFY(fwd.contains("=77=orig.test="));
        const auto r = srsReverse(fwd, config(), checked);
        QCOMPARE(r.ok(), ok);
        if (!ok)
            QCOMPARE(r.error().code, int(SrsError::Expired));
    }

    void timestampEncoding_data()
    {
        QTest::addColumn<qint64>("now");
        QTest::addColumn<QString>("tt");
        QTest::newRow("epoch") << qint64(0) << "AA";
        QTest::newRow("day 1") << kDay << "AB";
        QTest::newRow("day 31") << 31 * kDay + kDay - 1 << "A7";
        QTest::newRow("day 32") << 32 * kDay << "BA";
        QTest::newRow("day 1023") << 1023 * kDay << "77";
        QTest::newRow("day 1024") << 1024 * kDay << "AA";
        QTest::newRow("kNow") << kNow << "G3";
    }
    void timestampEncoding()
    {
        QFETCH(qint64, now);
        QFETCH(QString, tt);
        const QString fwd = srsForward("alice@orig.test", kOur, config(), now);
        QCOMPARE(fwd.section(u'=', 2, 2), tt);
        QVERIFY(srsReverse(fwd, config(), now).ok());
        // Read back case-insensitively.
        QVERIFY(srsReverse(QString(fwd).replace("=" + tt + "=", "=" + tt.toLower() + "="), config(), now).ok());
    }

    void keyRotation()
    {
        const SrsConfig before = config("the secret we used last month");
        const QString fwd = srsForward("alice@orig.test", kOur, before, kNow);
        const QString fwd1 = srsForward("SRS0=HHHH=TT=orig.test=u@hop1.test", kOur, before, kNow);

        SrsConfig after = config("the secret we use from now on");
        QCOMPARE(code(srsReverse(fwd, after, kNow)), int(SrsError::BadHash));
        QCOMPARE(code(srsReverse(fwd1, after, kNow)), int(SrsError::BadHash));
        after.oldSecrets = {"some even older secret value", before.secret};
        QCOMPARE(*srsReverse(fwd, after, kNow), "alice@orig.test");
        QCOMPARE(*srsReverse(fwd1, after, kNow), "SRS0=HHHH=TT=orig.test=u@hop1.test");
        // Forward signs with the current secret only.
        const QString fresh = srsForward("alice@orig.test", kOur, after, kNow);
        QVERIFY(srsReverse(fresh, config("the secret we use from now on"), kNow).ok());
        QVERIFY(!srsReverse(fresh, before, kNow).ok());
    }

    void shortSecretsAreNeverUsed()
    {
        const QString fwd = srsForward("alice@orig.test", kOur, config("exactly 16 bytes"), kNow);
        QVERIFY(fwd.startsWith("SRS0="));
        SrsConfig cfg = config("exactly 15 byte");
        QCOMPARE(code(srsReverse(fwd, cfg, kNow)), int(SrsError::BadHash));
        cfg.oldSecrets = {"short", QByteArray()};
        QCOMPARE(code(srsReverse(fwd, cfg, kNow)), int(SrsError::BadHash));
        cfg.oldSecrets += "exactly 16 bytes";
        QVERIFY(srsReverse(fwd, cfg, kNow).ok());
        // No usable secret at all: nothing verifies, not even an empty-key hash.
        SrsConfig none;
        const QByteArray emptyKeyHash = QMessageAuthenticationCode::hash("g3orig.testalice", QByteArray(),
                                                                         QCryptographicHash::Sha256)
                                            .toBase64(QByteArray::OmitTrailingEquals)
                                            .left(4);
        const QString forged = "SRS0=" + QString::fromLatin1(emptyKeyHash) + "=G3=orig.test=alice@fwd.test";
        QCOMPARE(code(srsReverse(forged, none, kNow)), int(SrsError::BadHash));
    }

    void hashLength()
    {
        SrsConfig eight = config();
        eight.hashLength = 8;
        const QString fwd = srsForward("alice@orig.test", kOur, eight, kNow);
        QCOMPARE(fwd.section(u'=', 1, 1).size(), 8);
        QVERIFY(srsReverse(fwd, eight, kNow).ok());
        // A longer hash than configured (made before a change) still verifies...
        QVERIFY(srsReverse(fwd, config(), kNow).ok());
        // ...a shorter one does not.
        SrsConfig ten = config();
        ten.hashLength = 10;
        QCOMPARE(code(srsReverse(fwd, ten, kNow)), int(SrsError::BadHash));
        // Clamped to 4..43.
        SrsConfig tiny = config();
        tiny.hashLength = 1;
        QCOMPARE(srsForward("alice@orig.test", kOur, tiny, kNow).section(u'=', 1, 1).size(), 4);
        SrsConfig huge = config();
        huge.hashLength = 100;
        const QString full = srsForward("alice@orig.test", kOur, huge, kNow);
        QCOMPARE(full.section(u'=', 1, 1).size(), 43);
        QVERIFY(srsReverse(full, huge, kNow).ok());
    }

    // The HMAC input, recomputed independently: HMAC-SHA256(secret, lower-case UTF-8 of
    // timestamp + domain + local part) for SRS0, of hop + rest for SRS1; standard base64,
    // no padding, the first hashLength characters.
    void referenceVector()
    {
        const QByteArray secret = "our secret, 32 bytes long.......";
        auto expect = [&](const QByteArray &data, int len) {
            return QString::fromLatin1(QMessageAuthenticationCode::hash(data, secret, QCryptographicHash::Sha256)
                                           .toBase64(QByteArray::OmitTrailingEquals)
                                           .left(len));
        };
        QCOMPARE(srsForward("Alice@Orig.Test", kOur, config(), kNow),
                 "SRS0=" + expect("g3orig.testalice", 4) + "=G3=Orig.Test=Alice@fwd.test");
        SrsConfig cfg = config();
        cfg.hashLength = 43;
        QCOMPARE(srsForward(QStringLiteral("Jörg@Orig.Test"), kOur, cfg, kNow),
                 "SRS0=" + expect(QStringLiteral("g3orig.testjörg").toUtf8(), 43) + QStringLiteral("=G3=Orig.Test=Jörg@fwd.test"));
        QCOMPARE(srsForward("SRS0=HhHh=TT=orig.test=u@Hop1.Test", kOur, config(), kNow),
                 "SRS1=" + expect("hop1.test=hhhh=tt=orig.test=u", 4) + "=Hop1.Test==HhHh=TT=orig.test=u@fwd.test");
        // A fixed value (from `openssl dgst -sha256 -hmac`), so a change of digest shows too.
        QCOMPARE(expect("g3orig.testalice", 43), "2LudHUChiL/IxOL30vPc1I1YqgWKYGiGf5dvqZ9tw5g");
        QCOMPARE(srsForward("alice@orig.test", kOur, config(), kNow), "SRS0=2Lud=G3=orig.test=alice@fwd.test");
    }

    void isSrs_data()
    {
        QTest::addColumn<QString>("address");
        QTest::addColumn<bool>("srs");
        QTest::newRow("SRS0=") << "SRS0=x@a.test" << true;
        QTest::newRow("srs1-") << "srs1-x@a.test" << true;
        QTest::newRow("SRS0+ bare") << "SRS0+@a.test" << true;
        QTest::newRow("plain") << "alice@a.test" << false;
        QTest::newRow("no @") << "SRS0=x" << false;
        QTest::newRow("SRS3") << "SRS3=x@a.test" << false;
        QTest::newRow("SRS0 alone") << "SRS0@a.test" << false;
        QTest::newRow("SRS0 in the middle") << "xSRS0=x@a.test" << false;
        QTest::newRow("@ in local part") << "SRS0=a@b@a.test" << true;
    }
    void isSrs()
    {
        QFETCH(QString, address);
        QFETCH(bool, srs);
        QCOMPARE(isSrsAddress(address), srs);
    }
};

QTEST_GUILESS_MAIN(TestSrs)
#include "tst_srs.moc"
