// SPDX-License-Identifier: AGPL-3.0-or-later
// MTA-STS (RFC 8461) for the queue runner: finds a domain's policy (TXT record at
// _mta-sts.<domain>, policy over HTTPS from mta-sts.<domain>) and caches it.
//
// Implementation notes
// - The TXT record is looked up for every delivery run; the policy is fetched again only
//   when its id changed or the cached copy expired (max_age), as §5.1 suggests.
// - The HTTPS fetch resolves mta-sts.<domain> through the same DNS server as mail
//   routing (dns_resolver), then connects to that address on port 443 with the name for
//   SNI and certificate checks; QNetworkAccessManager would ask the system resolver.
//   HTTP/1.0 request, no redirects (§3.3), 200 only, text/plain, at most 64 KiB, a
//   timeout; the certificate must be valid for mta-sts.<domain> (system CAs plus
//   remote_tls_ca_file).
// - A failed fetch with a valid cached policy keeps using the cached one (§5.1); with
//   none, the domain is treated as having no policy.
// - The cache lives in memory: after a restart the first delivery fetches again. (§5.1's
//   persistent cache is a later improvement; an attacker able to block the fetch right
//   after our restart gets one opportunistic delivery.)
#pragma once

#include "outbound/mtasts.h"
#include "outbound/mxresolver.h"

#include <QHash>
#include <QObject>
#include <QSslCertificate>

#include <functional>
#include <optional>

namespace valv::outbound {

class MtaStsCache : public QObject {
    Q_OBJECT
public:
    MtaStsCache(MxResolver *resolver, QList<QSslCertificate> extraCas, int timeoutSeconds, QObject *parent = nullptr)
        : QObject(parent), m_resolver(resolver), m_extraCas(std::move(extraCas)), m_timeoutSeconds(timeoutSeconds) {}

    // The policy in force for `domain`, or nullopt when it has none.
    void policyFor(const QString &domain, std::function<void(std::optional<MtaStsPolicy>)> done);
    // Drops the HTTPS fetches under way (shutdown); their callbacks never run.
    void abortFetches();

private:
    struct Cached {
        QString id;
        MtaStsPolicy policy;
        qint64 expires = 0;
    };
    void fetch(const QString &domain, const QString &id, std::function<void(std::optional<MtaStsPolicy>)> done);
    MxResolver *m_resolver;
    QList<QSslCertificate> m_extraCas;
    int m_timeoutSeconds;
    QHash<QString, Cached> m_cache;
};

} // namespace valv::outbound
