// SPDX-License-Identifier: AGPL-3.0-or-later
#include "core/ratelimit.h"

#include <QMutexLocker>

namespace valv::core {

void SlidingWindow::expire(QList<qint64> &times, qint64 now, int windowSeconds)
{
    qsizetype drop = 0;
    while (drop < times.size() && times[drop] <= now - windowSeconds)
        ++drop;
    times.remove(0, drop);
}

void SlidingWindow::sweep(qint64 now, int windowSeconds)
{
    if (now - m_lastSweep < windowSeconds)
        return;
    m_lastSweep = now;
    for (auto it = m_events.begin(); it != m_events.end();) {
        expire(*it, now, windowSeconds);
        it = it->isEmpty() ? m_events.erase(it) : std::next(it);
    }
}

int SlidingWindow::count(const QString &key, qint64 now, int windowSeconds)
{
    QMutexLocker lock(&m_mutex);
    auto it = m_events.find(key);
    if (it == m_events.end())
        return 0;
    expire(*it, now, windowSeconds);
    return int(it->size());
}

void SlidingWindow::add(const QString &key, qint64 now, int windowSeconds, int n, int cap)
{
    QMutexLocker lock(&m_mutex);
    sweep(now, windowSeconds);
    QList<qint64> &times = m_events[key];
    expire(times, now, windowSeconds);
    for (int i = 0; i < n; ++i)
        times.append(now);
    if (times.size() > cap)
        times.remove(0, times.size() - cap);
}

qint64 SlidingWindow::secondsUntilOldestExpires(const QString &key, qint64 now, int windowSeconds)
{
    QMutexLocker lock(&m_mutex);
    auto it = m_events.find(key);
    if (it == m_events.end())
        return 0;
    expire(*it, now, windowSeconds);
    return it->isEmpty() ? 0 : it->first() + windowSeconds - now;
}

void SlidingWindow::clear(const QString &key)
{
    QMutexLocker lock(&m_mutex);
    m_events.remove(key);
}

SlidingWindow &authFailures()
{
    static SlidingWindow w;
    return w;
}

SlidingWindow &sentRecipients()
{
    static SlidingWindow w;
    return w;
}

} // namespace valv::core
