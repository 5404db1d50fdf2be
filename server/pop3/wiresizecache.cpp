// SPDX-License-Identifier: AGPL-3.0-or-later
#include "pop3/wiresizecache.h"

namespace valv::pop3 {

WireSizeCache &WireSizeCache::instance()
{
    static WireSizeCache cache;
    return cache;
}

WireSizeCache::Sizes WireSizeCache::take(const QString &userId, uint32_t uidValidity)
{
    QMutexLocker locker(&m_mutex);
    auto it = m_users.find(userId);
    if (it == m_users.end())
        return {};
    auto entry = std::move(it.value());
    m_users.erase(it);
    return entry.first == uidValidity ? std::move(entry.second) : Sizes();
}

void WireSizeCache::put(const QString &userId, uint32_t uidValidity, Sizes sizes)
{
    QMutexLocker locker(&m_mutex);
    m_users.insert(userId, {uidValidity, std::move(sizes)});
}

} // namespace valv::pop3
