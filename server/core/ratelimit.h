// SPDX-License-Identifier: AGPL-3.0-or-later
// Sliding-window counters shared by every session of the process: failed logins per
// client address (brute-force throttling) and recipients sent per user per hour.
//
// Implementation notes
// - A counter keeps the time of each event inside its window (at most `limit` of them),
//   so memory per key is bounded by the limit; keys with no event in the window are
//   dropped on the next sweep.
// - Thread-safe (one mutex): sessions on every worker thread share one instance.
#pragma once

#include <QHash>
#include <QList>
#include <QMutex>
#include <QString>

namespace valv::core {

class SlidingWindow {
public:
    // How many events `key` had in the last `windowSeconds` (at `now`, seconds).
    [[nodiscard]] int count(const QString &key, qint64 now, int windowSeconds);
    // Records `n` events now, keeping at most `cap` times per key.
    void add(const QString &key, qint64 now, int windowSeconds, int n = 1, int cap = 100000);
    // Seconds until the oldest event in the window expires (0 if none).
    [[nodiscard]] qint64 secondsUntilOldestExpires(const QString &key, qint64 now, int windowSeconds);
    void clear(const QString &key);

private:
    void expire(QList<qint64> &times, qint64 now, int windowSeconds);
    void sweep(qint64 now, int windowSeconds);
    QMutex m_mutex;
    QHash<QString, QList<qint64>> m_events;
    qint64 m_lastSweep = 0;
};

// Failed logins per client address, all protocols together.
[[nodiscard]] SlidingWindow &authFailures();
// Recipients submitted per user.
[[nodiscard]] SlidingWindow &sentRecipients();

} // namespace valv::core
