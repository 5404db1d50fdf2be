// SPDX-License-Identifier: AGPL-3.0-or-later
#include "outbound/signer.h"

#include "dkim/dkimsign.h"

#include <QMutexLocker>

namespace valv::outbound {

Result<QByteArray> DomainSigner::sign(const QByteArray &message, const QString &domain, qint64 timestamp)
{
    const QString d = domain.toLower();
    Cached keys;
    {
        QMutexLocker lock(&m_mutex);
        keys = m_cache.value(d);
    }
    const qint64 now = QDateTime::currentSecsSinceEpoch();
    if (keys.loaded == 0 || now - keys.loaded > kKeyCacheSeconds) {
        auto records = m_config->dkimKeys(d);
        if (!records)
            return records.error();
        keys = Cached{{}, now};
        for (const store::DkimKeyRecord &r : *records) {
            auto key = dkim::DkimKey::fromPem(r.privateKeyPem);
            if (!key)
                return makeError(key.error().code, QStringLiteral("DKIM key %1 of %2: %3").arg(r.selector, d, key.error().message));
            keys.keys.append({r.selector.toUtf8(), *key});
        }
        QMutexLocker lock(&m_mutex);
        m_cache.insert(d, keys);
    }
    QByteArray out;
    for (const auto &[selector, key] : keys.keys) {
        auto field = dkim::sign(message, d.toUtf8(), selector, key, timestamp);
        if (!field)
            return field.error();
        out += *field;
    }
    return out;
}

Result<QList<store::DkimKeyRecord>> DomainSigner::provision(store::ConfigStore &config, const QString &domain)
{
    auto existing = config.dkimKeys(domain);
    if (!existing || !existing->isEmpty())
        return existing;
    const struct {
        const char *selector;
        const char *algorithm;
        dkim::KeyType type;
    } wanted[] = {{kEd25519Selector, "ed25519", dkim::KeyType::Ed25519}, {kRsaSelector, "rsa", dkim::KeyType::Rsa}};
    for (const auto &w : wanted) {
        auto key = dkim::DkimKey::generate(w.type);
        if (!key)
            return key.error();
        store::DkimKeyRecord r{QString::fromLatin1(w.selector), QString::fromLatin1(w.algorithm), key->privateKeyPem(),
                               QString::fromLatin1(key->dnsTxtRecord())};
        if (auto added = config.addDkimKey(domain, r); !added)
            return added.error();
    }
    return config.dkimKeys(domain);
}

} // namespace valv::outbound
