// SPDX-License-Identifier: AGPL-3.0-or-later
// MaildropLock: one POP3 session per user at a time (RFC 1939 §8 "exclusive-access
// lock", RFC 2449 §8.1.1 [IN-USE]), and the time of each user's last POP3 login for
// RFC 2449 §6.8 LOGIN-DELAY. Process-wide, thread-safe.
//
// Implementation notes
// - The lock is in memory: it only has to keep out other POP3 sessions of this valvd
//   (IMAP and delivery keep working; the POP3 snapshot is safe against them). A crash
//   loses nothing to release.
// - A Guard releases on destruction, so a session that ends any way (QUIT, dropped
//   connection, shutdown) never leaves its user locked.
#pragma once

#include <QDateTime>
#include <QHash>
#include <QMutex>
#include <QSet>
#include <QString>

#include <optional>
#include <utility>

namespace valv::pop3 {

class MaildropLock {
public:
    static MaildropLock &instance();

    class Guard {
    public:
        Guard() = default;
        Guard(const Guard &) = delete;
        Guard &operator=(const Guard &) = delete;
        Guard(Guard &&o) noexcept : m_owner(std::exchange(o.m_owner, nullptr)), m_user(std::move(o.m_user)) {}
        Guard &operator=(Guard &&o) noexcept;
        ~Guard() { release(); }
        [[nodiscard]] bool held() const { return m_owner != nullptr; }
        void release();

    private:
        friend class MaildropLock;
        Guard(MaildropLock *owner, QString user) : m_owner(owner), m_user(std::move(user)) {}
        MaildropLock *m_owner = nullptr;
        QString m_user;
    };

    // An unheld Guard when another session holds the user's maildrop.
    [[nodiscard]] Guard tryLock(const QString &userId);
    [[nodiscard]] bool isLocked(const QString &userId);

    // LOGIN-DELAY: seconds the user must still wait (0 = may log in now), given the
    // minimum delay between logins. recordLogin() notes a successful login now.
    [[nodiscard]] qint64 secondsToWait(const QString &userId, int minDelaySeconds);
    void recordLogin(const QString &userId);

private:
    void unlock(const QString &userId);
    QMutex m_mutex;
    QSet<QString> m_locked;
    QHash<QString, qint64> m_lastLogin; // msecs since epoch
};

} // namespace valv::pop3
