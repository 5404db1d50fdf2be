// SPDX-License-Identifier: AGPL-3.0-or-later
// The DNS questions and answers of the sender-authentication checks (SPF, DKIM, DMARC,
// ARC). The checks are pure state machines ("sans-IO"): they say which question they
// need answered next, the caller asks DNS (server/auth/dnsdriver: QDnsLookup through
// dns_resolver) or, in tests, a table, and feeds the answer back.
#pragma once

#include <QByteArray>
#include <QHostAddress>
#include <QList>
#include <QString>

namespace valv::auth {

struct DnsQuestion {
    enum class Type { A, AAAA, MX, TXT, PTR };
    Type type = Type::TXT;
    QString name; // absolute, without trailing dot; for PTR the address's reverse name
    friend bool operator==(const DnsQuestion &, const DnsQuestion &) = default;
};

struct DnsAnswer {
    enum class Status {
        Ok,        // records (possibly none: NODATA)
        NxDomain,  // the name does not exist
        TempError, // SERVFAIL, timeout, network
    };
    Status status = Status::Ok;
    QList<QByteArray> txt;          // TXT: each record's strings joined (RFC 7208 §3.3)
    QList<QHostAddress> addresses;  // A / AAAA
    QList<QString> names;           // MX: exchanges in preference order; PTR: names
    QList<int> preferences;         // MX: the preference of each of `names`
};

} // namespace valv::auth
