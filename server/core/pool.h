// SPDX-License-Identifier: AGPL-3.0-or-later
// Work that must not run on an event loop (password hashing, delivery commits) goes
// to the global thread pool through here.
#pragma once

#include <functional>

namespace valv::core {

// Runs `task` on QThreadPool::globalInstance(). Afterwards it frees OpenSSL's
// per-thread state (DRBGs, error queue), which OpenSSL would otherwise free only when
// the pool thread exits — and that can race with process exit.
void runPooled(std::function<void()> task);

// Frees the calling thread's OpenSSL state; worker threads call it as they finish.
void releaseThreadCryptoState();

} // namespace valv::core
