// SPDX-License-Identifier: AGPL-3.0-or-later
// The GMime pieces the indexing and search code share.
#pragma once

#include <QByteArray>
#include <QDateTime>

#include <gmime/gmime.h>

#include <mutex>
#include <optional>

namespace valv::mime::detail {

// GMime needs g_mime_init() once per process before any use, from whichever thread
// indexes first (delivery runs on the thread pool).
inline void ensureGMime()
{
    static std::once_flag once;
    std::call_once(once, [] { g_mime_init(); });
}

// An RFC 5322 date-time (GMime's lenient parser), keeping the written UTC offset.
inline std::optional<QDateTime> parseDate(const QByteArray &value)
{
    if (value.isNull())
        return std::nullopt;
    ensureGMime();
    QByteArray v = value;
    v.replace('\0', ' ');
    GDateTime *dt = g_mime_utils_header_decode_date(v.constData());
    if (!dt)
        return std::nullopt;
    const qint64 secs = g_date_time_to_unix(dt);
    const int offset = int(g_date_time_get_utc_offset(dt) / G_TIME_SPAN_SECOND);
    g_date_time_unref(dt);
    QDateTime out = QDateTime::fromSecsSinceEpoch(secs, Qt::OffsetFromUTC, offset);
    if (!out.isValid())
        return std::nullopt;
    return out;
}

} // namespace valv::mime::detail
