// SPDX-License-Identifier: AGPL-3.0-or-later
#pragma once

#include <QStringList>

namespace valv::ctl {
// Runs one valvctl command line (without argv[0]); returns the process exit code.
int run(const QStringList &args);
} // namespace valv::ctl
