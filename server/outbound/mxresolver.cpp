// SPDX-License-Identifier: AGPL-3.0-or-later
#include "outbound/mxresolver.h"

#include <QRandomGenerator>

#include <algorithm>
#include <memory>

namespace valv::outbound {

using auth::DnsAnswer;
using auth::DnsQuestion;

void MxResolver::addresses(const QString &name, std::function<void(QList<QHostAddress>, bool)> done)
{
    m_dns->ask(DnsQuestion{DnsQuestion::Type::A, name}, [this, name, done](DnsAnswer a) {
        m_dns->ask(DnsQuestion{DnsQuestion::Type::AAAA, name}, [a, done](DnsAnswer aaaa) {
            QList<QHostAddress> out = a.addresses + aaaa.addresses;
            const bool failed = a.status == DnsAnswer::Status::TempError || aaaa.status == DnsAnswer::Status::TempError;
            done(out, !out.isEmpty() || !failed);
        });
    });
}

void MxResolver::txt(const QString &name, std::function<void(QList<QByteArray>, bool)> done)
{
    m_dns->ask(DnsQuestion{DnsQuestion::Type::TXT, name},
               [done](DnsAnswer a) { done(a.txt, a.status != DnsAnswer::Status::TempError); });
}

void MxResolver::resolve(const QString &domain, std::function<void(Route)> done)
{
    m_dns->ask(DnsQuestion{DnsQuestion::Type::MX, domain}, [this, domain, done](DnsAnswer mx) {
        if (mx.status == DnsAnswer::Status::TempError)
            return done(Route{Route::Kind::Temporary, {}, QStringLiteral("MX lookup for %1 failed").arg(domain)});
        // RFC 7505 §3: an MX with the root as its exchange: no mail accepted.
        for (const QString &exchange : std::as_const(mx.names)) {
            if (exchange.isEmpty() || exchange == QLatin1String("."))
                return done(Route{Route::Kind::NullMx, {}, QStringLiteral("%1 accepts no mail (null MX)").arg(domain)});
        }
        if (mx.names.isEmpty()) {
            // RFC 5321 §5.1: no MX, the domain itself is the implicit MX.
            addresses(domain, [domain, done](QList<QHostAddress> addrs, bool ok) {
                if (!ok)
                    return done(Route{Route::Kind::Temporary, {}, QStringLiteral("address lookup for %1 failed").arg(domain)});
                if (addrs.isEmpty())
                    return done(Route{Route::Kind::NoSuchDomain, {}, QStringLiteral("%1 has no MX and no address: no such domain").arg(domain)});
                done(Route{Route::Kind::Hosts, {MxHost{domain, 0, addrs}}, {}});
            });
            return;
        }
        QList<MxHost> hosts;
        for (qsizetype i = 0; i < mx.names.size(); ++i)
            hosts.append(MxHost{mx.names[i], mx.preferences.value(i), {}});
        // Shuffle, then stable-sort by preference: equal preferences in random order.
        std::shuffle(hosts.begin(), hosts.end(), *QRandomGenerator::global());
        std::stable_sort(hosts.begin(), hosts.end(), [](const MxHost &a, const MxHost &b) { return a.preference < b.preference; });
        struct Pending {
            QList<MxHost> hosts;
            qsizetype left = 0;
        };
        auto pending = std::make_shared<Pending>(Pending{hosts, hosts.size()});
        for (qsizetype i = 0; i < hosts.size(); ++i) {
            addresses(hosts[i].name, [pending, i, domain, done](QList<QHostAddress> addrs, bool) {
                pending->hosts[i].addresses = addrs;
                if (--pending->left > 0)
                    return;
                QList<MxHost> usable;
                for (const MxHost &h : std::as_const(pending->hosts)) {
                    if (!h.addresses.isEmpty())
                        usable.append(h);
                }
                if (usable.isEmpty())
                    return done(Route{Route::Kind::Temporary, {}, QStringLiteral("no address for any MX host of %1").arg(domain)});
                done(Route{Route::Kind::Hosts, usable, {}});
            });
        }
    });
}

} // namespace valv::outbound
