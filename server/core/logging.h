// SPDX-License-Identifier: AGPL-3.0-or-later
#pragma once

#include <QString>

namespace valv::core {

// Installs the structured log handler on stderr:
//   2026-11-24T18:00:00.123Z INFO  valv.smtp [s1a2] message
// and sets the minimum level ("debug", "info", "warning", "error").
void installLogHandler(const QString &level);
void setLogLevel(const QString &level);

} // namespace valv::core
