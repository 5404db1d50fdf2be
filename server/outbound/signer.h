// SPDX-License-Identifier: AGPL-3.0-or-later
// DKIM signing of outgoing mail with the sender domain's keys (RFC 6376, RFC 8463):
// every message gets one signature per key the domain has (Ed25519 and RSA-2048).
//
// Implementation notes
// - Keys come from config.db (wrapped under the key ring) and are kept per domain for
//   kKeyCacheSeconds, so a key added with valvctl is used within a minute without a
//   restart; parsing a PEM per message would cost more than the signature.
// - sign() is CPU work (RSA above all): call it on the thread pool.
// - Ed25519 is listed first: verifiers that know it stop there, older ones fall back
//   to RSA (RFC 8463 §1 recommends signing with both during the transition).
#pragma once

#include "dkim/dkimkey.h"
#include "result.h"
#include "store/configstore.h"

#include <QDateTime>
#include <QHash>
#include <QMutex>

namespace valv::outbound {

inline constexpr char kRsaSelector[] = "valv-rsa";
inline constexpr char kEd25519Selector[] = "valv-ed25519";

class DomainSigner {
public:
    explicit DomainSigner(store::ConfigStore *config) : m_config(config) {}

    // The DKIM-Signature fields (CRLF-terminated, folded) to prepend to `message`, one
    // per key of `domain`; empty when the domain has no keys (not a local domain).
    [[nodiscard]] Result<QByteArray> sign(const QByteArray &message, const QString &domain, qint64 timestamp);

    // Generates an Ed25519 and an RSA-2048 key for `domain` unless it has keys already.
    // Returns the domain's keys.
    [[nodiscard]] static Result<QList<store::DkimKeyRecord>> provision(store::ConfigStore &config, const QString &domain);

private:
    struct Cached {
        QList<std::pair<QByteArray, dkim::DkimKey>> keys; // selector, key
        qint64 loaded = 0;
    };
    static constexpr qint64 kKeyCacheSeconds = 60;
    store::ConfigStore *m_config;
    QMutex m_mutex;
    QHash<QString, Cached> m_cache;
};

} // namespace valv::outbound
