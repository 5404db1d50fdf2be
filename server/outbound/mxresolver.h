// SPDX-License-Identifier: AGPL-3.0-or-later
// Where to deliver mail for a domain (RFC 5321 §5.1): its MX hosts by preference, each
// with its addresses; the domain's own A/AAAA when it has no MX (implicit MX); null MX
// (RFC 7505) and nonexistent domains as permanent answers. Also TXT lookups (MTA-STS).
//
// Implementation notes
// - QDnsLookup, asynchronous, on the caller's thread (the queue runner's); the
//   nameserver is dns_resolver when set. Qt 6.4 asks port 53 only and ignores an IPv6
//   nameserver (the config refuses one).
// - "Not found" from Qt covers NXDOMAIN and an empty answer alike: a domain with neither
//   MX nor A/AAAA records cannot receive mail, which is the same permanent answer.
// - Hosts of equal preference are shuffled (RFC 5321 §5.1), addresses IPv4 first.
#pragma once

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

class MxResolver : public QObject {
    Q_OBJECT
public:
    explicit MxResolver(const QHostAddress &nameserver, QObject *parent = nullptr)
        : QObject(parent), m_nameserver(nameserver) {}

    void resolve(const QString &domain, std::function<void(Route)> done);
    // TXT strings of `name` (each record's strings joined); empty list when none.
    // `ok` false on a lookup failure other than "not found".
    void txt(const QString &name, std::function<void(QList<QByteArray> records, bool ok)> done);
    // A then AAAA addresses of `name`.
    void addresses(const QString &name, std::function<void(QList<QHostAddress>, bool ok)> done);

private:
    QHostAddress m_nameserver;
};

} // namespace valv::outbound
