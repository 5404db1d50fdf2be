// SPDX-License-Identifier: AGPL-3.0-or-later
// WireSizeCache: per user, the octets RETR sends for each INBOX message a POP3 login
// measured (RFC 1939 §5: LIST and STAT sizes), so that the next login reads only the
// messages that arrived since. Process-wide, thread-safe.
//
// Implementation notes
// - Keyed by the INBOX's UIDVALIDITY and the UID: a message's bytes never change under
//   one UID, and UIDs are not reused within a UIDVALIDITY.
// - Each login replaces the user's entries with its own maildrop's, so the cache holds
//   at most one INBOX listing per POP3 user (a dozen bytes a message).
// - Only a session holding the user's MaildropLock reads or writes the user's entry.
#pragma once

#include <QHash>
#include <QMutex>
#include <QString>

#include <utility>

namespace valv::pop3 {

class WireSizeCache {
public:
    using Sizes = QHash<uint32_t, qint64>; // UID -> octets RETR sends

    static WireSizeCache &instance();
    // The user's sizes for that UIDVALIDITY (empty when none are known).
    [[nodiscard]] Sizes take(const QString &userId, uint32_t uidValidity);
    void put(const QString &userId, uint32_t uidValidity, Sizes sizes);

private:
    QMutex m_mutex;
    QHash<QString, std::pair<uint32_t, Sizes>> m_users;
};

} // namespace valv::pop3
