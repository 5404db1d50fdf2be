// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 5322 §3.3 date-time in UTC, as every header this server writes uses it:
// "Wed, 25 Nov 2026 00:07:31 +0000".
#pragma once

#include <QDateTime>
#include <QLocale>
#include <QString>

namespace valv {

[[nodiscard]] inline QString rfc5322Date(const QDateTime &t)
{
    return QLocale::c().toString(t.toUTC(), QStringLiteral("ddd, dd MMM yyyy HH:mm:ss")) + QStringLiteral(" +0000");
}

} // namespace valv
