// SPDX-License-Identifier: AGPL-3.0-or-later
// GMime needs g_mime_init() once per process before any use, from whichever thread
// indexes first (delivery runs on the thread pool).
#pragma once

#include <gmime/gmime.h>

#include <mutex>

namespace valv::mime::detail {

inline void ensureGMime()
{
    static std::once_flag once;
    std::call_once(once, [] { g_mime_init(); });
}

} // namespace valv::mime::detail
