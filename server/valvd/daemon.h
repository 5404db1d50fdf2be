// SPDX-License-Identifier: AGPL-3.0-or-later
#pragma once

class QCoreApplication;

namespace valv {
// Loads the configuration, opens the stores, listens, and runs until SIGTERM/SIGINT.
// SIGHUP reloads the config file and TLS certificate without dropping connections.
int runDaemon(QCoreApplication &app);
} // namespace valv
