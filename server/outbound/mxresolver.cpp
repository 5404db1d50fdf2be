// SPDX-License-Identifier: AGPL-3.0-or-later
#include "outbound/mxresolver.h"

#include <QDnsLookup>
#include <QRandomGenerator>

#include <algorithm>
#include <memory>

namespace valv::outbound {

namespace {
QDnsLookup *makeLookup(QDnsLookup::Type type, const QString &name, const QHostAddress &ns, QObject *parent)
{
    auto *lookup = new QDnsLookup(type, name, parent);
    if (!ns.isNull())
        lookup->setNameserver(ns);
    return lookup;
}

bool temporary(QDnsLookup::Error e) { return e != QDnsLookup::NoError && e != QDnsLookup::NotFoundError; }
} // namespace

void MxResolver::addresses(const QString &name, std::function<void(QList<QHostAddress>, bool)> done)
{
    auto *a = makeLookup(QDnsLookup::A, name, m_nameserver, this);
    connect(a, &QDnsLookup::finished, this, [this, a, name, done] {
        a->deleteLater();
        QList<QHostAddress> out;
        for (const QDnsHostAddressRecord &r : a->hostAddressRecords())
            out.append(r.value());
        const bool aFailed = temporary(a->error());
        auto *aaaa = makeLookup(QDnsLookup::AAAA, name, m_nameserver, this);
        connect(aaaa, &QDnsLookup::finished, this, [aaaa, out, aFailed, done]() mutable {
            aaaa->deleteLater();
            for (const QDnsHostAddressRecord &r : aaaa->hostAddressRecords())
                out.append(r.value());
            done(out, out.isEmpty() ? !(aFailed || temporary(aaaa->error())) : true);
        });
        aaaa->lookup();
    });
    a->lookup();
}

void MxResolver::txt(const QString &name, std::function<void(QList<QByteArray>, bool)> done)
{
    auto *lookup = makeLookup(QDnsLookup::TXT, name, m_nameserver, this);
    connect(lookup, &QDnsLookup::finished, this, [lookup, done] {
        lookup->deleteLater();
        QList<QByteArray> out;
        for (const QDnsTextRecord &r : lookup->textRecords())
            out.append(r.values().join());
        done(out, !temporary(lookup->error()));
    });
    lookup->lookup();
}

void MxResolver::resolve(const QString &domain, std::function<void(Route)> done)
{
    auto *mx = makeLookup(QDnsLookup::MX, domain, m_nameserver, this);
    connect(mx, &QDnsLookup::finished, this, [this, mx, domain, done] {
        mx->deleteLater();
        if (temporary(mx->error()))
            return done(Route{Route::Kind::Temporary, {}, QStringLiteral("MX lookup for %1 failed: %2").arg(domain, mx->errorString())});
        QList<QDnsMailExchangeRecord> records = mx->mailExchangeRecords();
        // RFC 7505 §3: a single MX with the root as its exchange: no mail accepted.
        for (const QDnsMailExchangeRecord &r : records) {
            const QString exchange = r.exchange();
            if (exchange.isEmpty() || exchange == QLatin1String("."))
                return done(Route{Route::Kind::NullMx, {}, QStringLiteral("%1 accepts no mail (null MX)").arg(domain)});
        }
        if (records.isEmpty()) {
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
        // Shuffle, then stable-sort by preference: equal preferences in random order.
        std::shuffle(records.begin(), records.end(), *QRandomGenerator::global());
        std::stable_sort(records.begin(), records.end(), [](const auto &a, const auto &b) { return a.preference() < b.preference(); });
        struct Pending {
            QList<MxHost> hosts;
            int left = 0;
            bool anyFailed = false;
        };
        auto pending = std::make_shared<Pending>();
        for (const QDnsMailExchangeRecord &r : records)
            pending->hosts.append(MxHost{r.exchange(), int(r.preference()), {}});
        pending->left = int(pending->hosts.size());
        for (qsizetype i = 0; i < pending->hosts.size(); ++i) {
            addresses(pending->hosts[i].name, [pending, i, domain, done](QList<QHostAddress> addrs, bool ok) {
                pending->hosts[i].addresses = addrs;
                pending->anyFailed |= !ok;
                if (--pending->left > 0)
                    return;
                QList<MxHost> usable;
                for (const MxHost &h : pending->hosts) {
                    if (!h.addresses.isEmpty())
                        usable.append(h);
                }
                if (usable.isEmpty())
                    return done(Route{Route::Kind::Temporary, {},
                                      QStringLiteral("no address for any MX host of %1").arg(domain)});
                done(Route{Route::Kind::Hosts, usable, {}});
            });
        }
    });
    mx->lookup();
}

} // namespace valv::outbound
