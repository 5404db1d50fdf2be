// SPDX-License-Identifier: AGPL-3.0-or-later
#include "store/mailstorecache.h"

#include <QDir>
#include <QHash>

#include <list>

namespace valv::store {

namespace {
constexpr size_t kCachePerThread = 32;

struct CacheEntry {
    QString path;
    std::unique_ptr<MailStore> store;
};
// Most recently used first.
thread_local std::list<CacheEntry> t_cache;
// Per thread: user id -> the connection its sessions share while any is alive.
thread_local QHash<QString, std::weak_ptr<MailStore>> t_shared;
} // namespace

QString MailStoreOpener::pathFor(const QString &userId) const
{
    return QDir(m_dataDir).filePath(QStringLiteral("mail/%1.db").arg(userId));
}

Result<std::unique_ptr<MailStore>> MailStoreOpener::open(const QString &userId, int cacheKiB) const
{
    auto key = m_config->mailboxKey(userId);
    if (!key)
        return key.error();
    QDir().mkpath(QDir(m_dataDir).filePath(QStringLiteral("mail")));
    DbOptions options = MailStore::defaultOptions();
    if (cacheKiB > 0)
        options.cacheKiB = cacheKiB;
    return MailStore::open(pathFor(userId), *key, true, options);
}

Result<std::shared_ptr<MailStore>> MailStoreOpener::shared(const QString &userId, int cacheKiB) const
{
    if (std::shared_ptr<MailStore> alive = t_shared.value(userId).lock())
        return alive;
    t_shared.removeIf([](const auto &it) { return it.value().expired(); });
    auto store = open(userId, cacheKiB);
    if (!store)
        return store.error();
    std::shared_ptr<MailStore> s(std::move(*store));
    t_shared.insert(userId, s);
    return s;
}

Result<MailStore *> MailStoreOpener::cached(const QString &userId) const
{
    const QString path = pathFor(userId);
    for (auto it = t_cache.begin(); it != t_cache.end(); ++it) {
        if (it->path == path) {
            t_cache.splice(t_cache.begin(), t_cache, it);
            return t_cache.front().store.get();
        }
    }
    auto store = open(userId);
    if (!store)
        return store.error();
    t_cache.push_front(CacheEntry{path, std::move(*store)});
    if (t_cache.size() > kCachePerThread)
        t_cache.pop_back();
    return t_cache.front().store.get();
}

void MailStoreOpener::dropCached(const QString &userId) const
{
    const QString path = pathFor(userId);
    t_cache.remove_if([&](const CacheEntry &e) { return e.path == path; });
}

} // namespace valv::store
