// SPDX-License-Identifier: AGPL-3.0-or-later
#include "pop3/maildroplock.h"

namespace valv::pop3 {

MaildropLock &MaildropLock::instance()
{
    static MaildropLock lock;
    return lock;
}

MaildropLock::Guard &MaildropLock::Guard::operator=(Guard &&o) noexcept
{
    if (this != &o) {
        release();
        m_owner = std::exchange(o.m_owner, nullptr);
        m_user = std::move(o.m_user);
    }
    return *this;
}

void MaildropLock::Guard::release()
{
    if (m_owner)
        std::exchange(m_owner, nullptr)->unlock(m_user);
}

MaildropLock::Guard MaildropLock::tryLock(const QString &userId)
{
    QMutexLocker lock(&m_mutex);
    if (m_locked.contains(userId))
        return {};
    m_locked.insert(userId);
    return Guard(this, userId);
}

bool MaildropLock::isLocked(const QString &userId)
{
    QMutexLocker lock(&m_mutex);
    return m_locked.contains(userId);
}

void MaildropLock::unlock(const QString &userId)
{
    QMutexLocker lock(&m_mutex);
    m_locked.remove(userId);
}

qint64 MaildropLock::secondsToWait(const QString &userId, int minDelaySeconds)
{
    if (minDelaySeconds <= 0)
        return 0;
    QMutexLocker lock(&m_mutex);
    const auto it = m_lastLogin.constFind(userId);
    if (it == m_lastLogin.cend())
        return 0;
    const qint64 elapsedMs = QDateTime::currentMSecsSinceEpoch() - *it;
    const qint64 leftMs = qint64(minDelaySeconds) * 1000 - elapsedMs;
    return leftMs > 0 ? (leftMs + 999) / 1000 : 0;
}

void MaildropLock::recordLogin(const QString &userId)
{
    QMutexLocker lock(&m_mutex);
    m_lastLogin.insert(userId, QDateTime::currentMSecsSinceEpoch());
}

} // namespace valv::pop3
