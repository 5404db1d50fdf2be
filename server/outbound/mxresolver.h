// SPDX-License-Identifier: AGPL-3.0-or-later
// Where to deliver mail for a domain (RFC 5321 §5.1): its MX hosts by preference, each
// with its addresses; the domain's own A/AAAA when it has no MX (implicit MX); null MX
// (RFC 7505) and nonexistent domains as permanent answers. Also TXT lookups (MTA-STS).
//
// Implementation notes
// - Questions go through auth::DnsResolver (QDnsLookup via dns_resolver), on the
//   caller's thread.
// - "Not found" covers NXDOMAIN and an empty answer alike (see DnsResolver): a domain
//   with neither MX nor A/AAAA records cannot receive mail, the same permanent answer.
// - Hosts of equal preference are shuffled (RFC 5321 §5.1), addresses IPv4 first.
#pragma once

#include "auth/dnsresolver.h"

#include <QHostAddress>
#include <QObject>

#include <functional>

namespace valv::outbound {

struct MxHost {
    QString name;
    int preference = 0;
    QList<QHostAddress> addresses;
};

struct Route {
    enum class Kind { Hosts, NullMx, NoSuchDomain, Temporary };
    Kind kind = Kind::Temporary;
    QList<MxHost> hosts;   // Hosts: in the order to try, each with at least one address
    QString error;         // why, for the other kinds
};

class MxResolver {
public:
    explicit MxResolver(auth::DnsResolver *dns) : m_dns(dns) {}

    void resolve(const QString &domain, std::function<void(Route)> done);
    // TXT strings of `name` (each record's strings joined); empty list when none.
    // `ok` false on a lookup failure other than "not found".
    void txt(const QString &name, std::function<void(QList<QByteArray> records, bool ok)> done);
    // A then AAAA addresses of `name`; `ok` false if a lookup failed temporarily and
    // nothing was found.
    void addresses(const QString &name, std::function<void(QList<QHostAddress>, bool ok)> done);

private:
    auth::DnsResolver *m_dns;
};

} // namespace valv::outbound
