// SPDX-License-Identifier: AGPL-3.0-or-later
// SlidingWindow: the counters behind the per-address failed-login throttle and the
// per-user sending limit. Time is passed in, so every row is exact.
#include "core/ratelimit.h"

#include <QTest>

#include <thread>
#include <vector>

using valv::core::SlidingWindow;

class TestRateLimit : public QObject {
    Q_OBJECT
private slots:
    void countsWithinWindow_data();
    void countsWithinWindow();
    void keysAreSeparate();
    void addSeveralAtOnce();
    void capKeepsNewest();
    void secondsUntilOldestExpires_data();
    void secondsUntilOldestExpires();
    void clear();
    void sweepKeepsLiveKeys();
    void throttleAsSessionsUseIt();
    void sendLimitAsSessionsUseIt();
    void threads();
    void processWide();
};

// Events are added at `times` (window 60 s); the count is read at `at`.
void TestRateLimit::countsWithinWindow_data()
{
    QTest::addColumn<QList<qint64>>("times");
    QTest::addColumn<qint64>("at");
    QTest::addColumn<int>("expected");
    QTest::newRow("none") << QList<qint64>{} << qint64(1000) << 0;
    QTest::newRow("one, same second") << QList<qint64>{1000} << qint64(1000) << 1;
    QTest::newRow("one, 59 s later") << QList<qint64>{1000} << qint64(1059) << 1;
    // An event at t counts while now < t + window: at t + window it is gone.
    QTest::newRow("one, exactly a window later") << QList<qint64>{1000} << qint64(1060) << 0;
    QTest::newRow("one, long after") << QList<qint64>{1000} << qint64(99999) << 0;
    QTest::newRow("three, same second") << QList<qint64>{1000, 1000, 1000} << qint64(1000) << 3;
    QTest::newRow("spread, oldest expired") << QList<qint64>{1000, 1030, 1050} << qint64(1061) << 2;
    QTest::newRow("spread, two expired") << QList<qint64>{1000, 1030, 1050} << qint64(1095) << 1;
    QTest::newRow("spread, all expired") << QList<qint64>{1000, 1030, 1050} << qint64(1110) << 0;
}

void TestRateLimit::countsWithinWindow()
{
    QFETCH(QList<qint64>, times);
    QFETCH(qint64, at);
    QFETCH(int, expected);
    SlidingWindow w;
    for (qint64 t : times)
        w.add(QStringLiteral("k"), t, 60);
    QCOMPARE(w.count(QStringLiteral("k"), at, 60), expected);
    // Reading does not change what a later read sees.
    QCOMPARE(w.count(QStringLiteral("k"), at, 60), expected);
}

void TestRateLimit::keysAreSeparate()
{
    SlidingWindow w;
    w.add(QStringLiteral("192.0.2.1"), 100, 60);
    w.add(QStringLiteral("192.0.2.1"), 101, 60);
    w.add(QStringLiteral("192.0.2.2"), 102, 60);
    QCOMPARE(w.count(QStringLiteral("192.0.2.1"), 110, 60), 2);
    QCOMPARE(w.count(QStringLiteral("192.0.2.2"), 110, 60), 1);
    QCOMPARE(w.count(QStringLiteral("192.0.2.3"), 110, 60), 0);
    QCOMPARE(w.count(QString(), 110, 60), 0);
}

void TestRateLimit::addSeveralAtOnce()
{
    // The sending limit adds a transaction's recipients in one call.
    SlidingWindow w;
    w.add(QStringLiteral("u"), 1000, 3600, 5);
    QCOMPARE(w.count(QStringLiteral("u"), 1000, 3600), 5);
    w.add(QStringLiteral("u"), 2000, 3600, 3);
    QCOMPARE(w.count(QStringLiteral("u"), 2000, 3600), 8);
    QCOMPARE(w.count(QStringLiteral("u"), 4600, 3600), 3); // the first five expired together
    QCOMPARE(w.count(QStringLiteral("u"), 5600, 3600), 0);
    w.add(QStringLiteral("u"), 6000, 3600, 0);
    QCOMPARE(w.count(QStringLiteral("u"), 6000, 3600), 0);
}

void TestRateLimit::capKeepsNewest()
{
    SlidingWindow w;
    for (qint64 t = 100; t < 110; ++t)
        w.add(QStringLiteral("k"), t, 60, 1, 3);
    QCOMPARE(w.count(QStringLiteral("k"), 110, 60), 3);
    // The three kept are the newest (107, 108, 109): the oldest of them expires at 167.
    QCOMPARE(w.secondsUntilOldestExpires(QStringLiteral("k"), 110, 60), qint64(57));
    QCOMPARE(w.count(QStringLiteral("k"), 167, 60), 2);
    QCOMPARE(w.count(QStringLiteral("k"), 169, 60), 0);

    // n larger than the cap at once.
    SlidingWindow v;
    v.add(QStringLiteral("k"), 100, 60, 50, 4);
    QCOMPARE(v.count(QStringLiteral("k"), 100, 60), 4);
}

// Events at `times` (window 900 s, as auth_block_seconds); asked at `at`.
void TestRateLimit::secondsUntilOldestExpires_data()
{
    QTest::addColumn<QList<qint64>>("times");
    QTest::addColumn<qint64>("at");
    QTest::addColumn<qint64>("expected");
    QTest::newRow("none") << QList<qint64>{} << qint64(5000) << qint64(0);
    QTest::newRow("just added") << QList<qint64>{5000} << qint64(5000) << qint64(900);
    QTest::newRow("100 s later") << QList<qint64>{5000} << qint64(5100) << qint64(800);
    QTest::newRow("1 s left") << QList<qint64>{5000} << qint64(5899) << qint64(1);
    QTest::newRow("expired") << QList<qint64>{5000} << qint64(5900) << qint64(0);
    QTest::newRow("oldest counts") << QList<qint64>{5000, 5500} << qint64(5600) << qint64(300);
    QTest::newRow("oldest expired, next counts") << QList<qint64>{5000, 5500} << qint64(6000) << qint64(400);
}

void TestRateLimit::secondsUntilOldestExpires()
{
    QFETCH(QList<qint64>, times);
    QFETCH(qint64, at);
    QFETCH(qint64, expected);
    SlidingWindow w;
    for (qint64 t : times)
        w.add(QStringLiteral("k"), t, 900);
    QCOMPARE(w.secondsUntilOldestExpires(QStringLiteral("k"), at, 900), expected);
    QCOMPARE(w.secondsUntilOldestExpires(QStringLiteral("other"), at, 900), qint64(0));
}

void TestRateLimit::clear()
{
    SlidingWindow w;
    w.add(QStringLiteral("a"), 100, 60, 3);
    w.add(QStringLiteral("b"), 100, 60, 2);
    w.clear(QStringLiteral("a"));
    QCOMPARE(w.count(QStringLiteral("a"), 100, 60), 0);
    QCOMPARE(w.secondsUntilOldestExpires(QStringLiteral("a"), 100, 60), qint64(0));
    QCOMPARE(w.count(QStringLiteral("b"), 100, 60), 2);
    w.clear(QStringLiteral("never-added"));
    w.add(QStringLiteral("a"), 101, 60);
    QCOMPARE(w.count(QStringLiteral("a"), 101, 60), 1);
}

void TestRateLimit::sweepKeepsLiveKeys()
{
    // A sweep (on add, once per window) drops keys with no event in the window and
    // must not touch the others.
    SlidingWindow w;
    w.add(QStringLiteral("old"), 1000, 60);
    w.add(QStringLiteral("live"), 1050, 60);
    w.add(QStringLiteral("new"), 1100, 60); // sweeps: "old" is gone, "live" stays
    QCOMPARE(w.count(QStringLiteral("old"), 1100, 60), 0);
    QCOMPARE(w.count(QStringLiteral("live"), 1100, 60), 1);
    QCOMPARE(w.count(QStringLiteral("new"), 1100, 60), 1);
    w.add(QStringLiteral("old"), 1101, 60);
    QCOMPARE(w.count(QStringLiteral("old"), 1101, 60), 1);
}

void TestRateLimit::throttleAsSessionsUseIt()
{
    // auth_failures_per_ip = 3, auth_block_seconds = 900, cap = the limit: blocked
    // from the third failure until the oldest kept failure is 900 s old.
    const int limit = 3, window = 900;
    const QString ip = QStringLiteral("198.51.100.7");
    SlidingWindow w;
    auto blocked = [&](qint64 now) { return w.count(ip, now, window) >= limit; };
    w.add(ip, 0, window, 1, limit);
    w.add(ip, 10, window, 1, limit);
    QVERIFY(!blocked(20));
    w.add(ip, 20, window, 1, limit);
    QVERIFY(blocked(20));
    QCOMPARE(w.secondsUntilOldestExpires(ip, 20, window), qint64(880));
    QVERIFY(blocked(899));
    QVERIFY(!blocked(900)); // what 454's "try again in N seconds" promised
    // More failures while blocked do not push the block past limit events.
    w.add(ip, 905, window, 1, limit);
    w.add(ip, 906, window, 1, limit);
    w.add(ip, 907, window, 1, limit);
    w.add(ip, 908, window, 1, limit);
    QVERIFY(blocked(908));
    QCOMPARE(w.secondsUntilOldestExpires(ip, 908, window), qint64(898)); // oldest kept: 906
    QVERIFY(!blocked(1806));
}

void TestRateLimit::sendLimitAsSessionsUseIt()
{
    // user_send_rate = 10 per 3600 s; RCPT is refused once sent + pending >= limit.
    const int limit = 10, window = 3600;
    const QString user = QStringLiteral("0123456789abcdef01234567");
    SlidingWindow w;
    w.add(user, 100, window, 4, limit);
    w.add(user, 200, window, 6, limit);
    QCOMPARE(w.count(user, 300, window), 10);
    QCOMPARE(w.count(user, 3699, window), 10);
    QCOMPARE(w.count(user, 3700, window), 6);
    QCOMPARE(w.count(user, 3800, window), 0);
}

void TestRateLimit::threads()
{
    // Sessions on every worker thread share one instance.
    SlidingWindow w;
    constexpr int kThreads = 8, kAdds = 2000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&w, t] {
            for (int i = 0; i < kAdds; ++i) {
                w.add(QStringLiteral("shared"), 1000, 60);
                w.add(QStringLiteral("own-%1").arg(t), 1000, 60);
                (void)w.count(QStringLiteral("shared"), 1000, 60);
            }
        });
    }
    for (std::thread &t : threads)
        t.join();
    QCOMPARE(w.count(QStringLiteral("shared"), 1000, 60), kThreads * kAdds);
    for (int t = 0; t < kThreads; ++t)
        QCOMPARE(w.count(QStringLiteral("own-%1").arg(t), 1000, 60), kAdds);
}

void TestRateLimit::processWide()
{
    // One counter each for the whole process, and two different ones.
    QCOMPARE(&valv::core::authFailures(), &valv::core::authFailures());
    QCOMPARE(&valv::core::sentRecipients(), &valv::core::sentRecipients());
    QVERIFY(&valv::core::authFailures() != &valv::core::sentRecipients());
    const QString key = QStringLiteral("tst_ratelimit-key");
    valv::core::authFailures().add(key, 100, 60);
    QCOMPARE(valv::core::sentRecipients().count(key, 100, 60), 0);
    QCOMPARE(valv::core::authFailures().count(key, 100, 60), 1);
    valv::core::authFailures().clear(key);
}

QTEST_GUILESS_MAIN(TestRateLimit)
#include "tst_ratelimit.moc"
