// SPDX-License-Identifier: AGPL-3.0-or-later
// Opens users' mailbox files with their unwrapped keys; keeps a small per-thread cache
// of open connections for delivery (a connection must stay on the thread that uses it).
#pragma once

#include "result.h"
#include "store/configstore.h"
#include "store/mailstore.h"

#include <QString>

#include <memory>

namespace valv::store {

class MailStoreOpener {
public:
    MailStoreOpener(QString dataDir, ConfigStore *config) : m_dataDir(std::move(dataDir)), m_config(config) {}

    [[nodiscard]] QString pathFor(const QString &userId) const;
    // A new connection, owned by the caller (an IMAP session keeps one for its life).
    // `cacheKiB` > 0 sets a smaller page cache (sessions; see DbOptions::cacheKiB).
    [[nodiscard]] Result<std::unique_ptr<MailStore>> open(const QString &userId, int cacheKiB = 0) const;
    // The connection every session of this user on the calling thread shares: sessions
    // on one worker thread run one command at a time, so they never use it at once, and
    // one connection's page cache (plaintext pages, decrypted once) serves them all. It
    // closes when the last holder lets go. Use it on the calling thread only; work sent
    // to the thread pool uses cached() there instead.
    [[nodiscard]] Result<std::shared_ptr<MailStore>> shared(const QString &userId, int cacheKiB = 0) const;
    // A connection cached for the calling thread. Valid until the thread ends or
    // dropCached() is called on that thread.
    [[nodiscard]] Result<MailStore *> cached(const QString &userId) const;
    void dropCached(const QString &userId) const;

private:
    QString m_dataDir;
    ConfigStore *m_config;
};

} // namespace valv::store
