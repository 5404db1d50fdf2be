// SPDX-License-Identifier: AGPL-3.0-or-later
#include "core/pool.h"

#include <QThreadPool>

#include <openssl/crypto.h>

namespace valv::core {

void releaseThreadCryptoState() { OPENSSL_thread_stop(); }

void runPooled(std::function<void()> task)
{
    QThreadPool::globalInstance()->start([task = std::move(task)] {
        task();
        releaseThreadCryptoState();
    });
}

} // namespace valv::core
