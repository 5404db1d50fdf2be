// SPDX-License-Identifier: AGPL-3.0-or-later
// The master key and the keys derived from it (ARCHITECTURE.md, Storage and encryption).
#pragma once

#include "result.h"

#include <QByteArray>
#include <QString>

namespace valv::store {

class KeyRing {
public:
    // Reads <datadir>/master.key, or the file named by VALV_MASTER_KEY_FILE (Docker secret).
    [[nodiscard]] static Result<KeyRing> load(const QString &dataDir);
    // Writes a new random master key (mode 0600); fails if one exists.
    [[nodiscard]] static Result<KeyRing> create(const QString &dataDir);
    static KeyRing fromMasterKey(const QByteArray &masterKey); // tests

    [[nodiscard]] QByteArray configDbKey() const { return m_configKey; }
    [[nodiscard]] QByteArray mailboxWrapKey() const { return m_wrapKey; }
    [[nodiscard]] QByteArray queueDbKey() const { return m_queueKey; }
    [[nodiscard]] static QString masterKeyPath(const QString &dataDir);

private:
    QByteArray m_configKey;
    QByteArray m_wrapKey;
    QByteArray m_queueKey;
};

} // namespace valv::store
