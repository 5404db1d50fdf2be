// SPDX-License-Identifier: AGPL-3.0-or-later
// Server TLS settings: TLS 1.2 or later, forward-secret AEAD ciphers only. The current
// configuration can be swapped at runtime (SIGHUP); connections pick it up when they
// start TLS, existing connections keep theirs.
#pragma once

#include "result.h"

#include <QReadWriteLock>
#include <QSslConfiguration>
#include <QString>
#include <QStringList>

namespace valv::core {

class TlsContext {
public:
    [[nodiscard]] static Result<QSslConfiguration> load(const QString &certPath, const QString &keyPath);
    // SHA-256 of the leaf certificate, "AB:CD:…".
    [[nodiscard]] static QString fingerprint(const QSslConfiguration &config);

    void set(const QSslConfiguration &config);
    [[nodiscard]] QSslConfiguration current() const;

private:
    mutable QReadWriteLock m_lock;
    QSslConfiguration m_config;
};

} // namespace valv::core

namespace valv::core {
// Writes a new self-signed certificate (ECDSA P-256, SHA-256, serverAuth) for the
// given DNS names and IP addresses, valid for `days`. The key file gets mode 0600.
[[nodiscard]] Result<void> writeSelfSigned(const QString &certPath, const QString &keyPath, const QStringList &dnsNames,
                                           const QStringList &ipAddresses, int days = 825);
} // namespace valv::core
