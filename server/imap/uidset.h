// SPDX-License-Identifier: AGPL-3.0-or-later
// UID sets against a folder snapshot (RFC 9051 §9 sequence-set with UIDs): '*' is the
// highest UID in use, a range's ends may come in either order, UIDs that do not exist
// are skipped.
#pragma once

#include "imap/imapcommand.h"
#include "store/mailstore.h"

#include <algorithm>

namespace valv::imap {

// Calls f(index) for each message of `messages` (in UID order) inside one of `ranges`.
template <typename F>
void forEachUidInSet(const QList<store::MessageMeta> &messages, const QList<SeqRange> &ranges, F &&f)
{
    const uint32_t maxUid = messages.isEmpty() ? 0 : messages.last().uid;
    for (const SeqRange &r : ranges) {
        uint32_t a = r.first == 0 ? maxUid : r.first;
        uint32_t b = r.last == 0 ? maxUid : r.last;
        if (a > b)
            std::swap(a, b);
        auto it = std::lower_bound(messages.begin(), messages.end(), a,
                                   [](const store::MessageMeta &m, uint32_t v) { return m.uid < v; });
        for (; it != messages.end() && it->uid <= b; ++it)
            f(int(it - messages.begin()));
    }
}

} // namespace valv::imap
