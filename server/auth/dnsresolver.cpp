// SPDX-License-Identifier: AGPL-3.0-or-later
#include "auth/dnsresolver.h"

#include <QDnsLookup>

#include <algorithm>

namespace valv::auth {

namespace {
QDnsLookup::Type lookupType(DnsQuestion::Type t)
{
    switch (t) {
    case DnsQuestion::Type::A: return QDnsLookup::A;
    case DnsQuestion::Type::AAAA: return QDnsLookup::AAAA;
    case DnsQuestion::Type::MX: return QDnsLookup::MX;
    case DnsQuestion::Type::TXT: return QDnsLookup::TXT;
    case DnsQuestion::Type::PTR: return QDnsLookup::PTR;
    }
    return QDnsLookup::TXT;
}
} // namespace

void DnsResolver::ask(const DnsQuestion &question, std::function<void(DnsAnswer)> done)
{
    auto *lookup = new QDnsLookup(lookupType(question.type), question.name, this);
    if (!m_nameserver.isNull())
        lookup->setNameserver(m_nameserver);
    connect(lookup, &QDnsLookup::finished, this, [lookup, type = question.type, done] {
        lookup->deleteLater();
        DnsAnswer a;
        switch (lookup->error()) {
        case QDnsLookup::NoError:
            break;
        case QDnsLookup::NotFoundError:
            a.status = DnsAnswer::Status::NxDomain;
            return done(a);
        case QDnsLookup::InvalidReplyError:
            // Qt 6.4 reports an answer with no records of the type (NODATA: the name
            // exists, e.g. only with other types) as InvalidReplyError, "Invalid reply
            // received" (checked against dnsmasq). A reply Qt cannot parse lands here too;
            // either way there is no usable record.
            return done(a);
        default:
            a.status = DnsAnswer::Status::TempError;
            return done(a);
        }
        switch (type) {
        case DnsQuestion::Type::A:
        case DnsQuestion::Type::AAAA:
            for (const QDnsHostAddressRecord &r : lookup->hostAddressRecords())
                a.addresses.append(r.value());
            break;
        case DnsQuestion::Type::MX: {
            QList<QDnsMailExchangeRecord> mx = lookup->mailExchangeRecords();
            std::stable_sort(mx.begin(), mx.end(), [](const auto &x, const auto &y) { return x.preference() < y.preference(); });
            for (const QDnsMailExchangeRecord &r : mx) {
                a.names.append(r.exchange());
                a.preferences.append(r.preference());
            }
            break;
        }
        case DnsQuestion::Type::TXT:
            for (const QDnsTextRecord &r : lookup->textRecords())
                a.txt.append(r.values().join());
            break;
        case DnsQuestion::Type::PTR:
            for (const QDnsDomainNameRecord &r : lookup->pointerRecords())
                a.names.append(r.value());
            break;
        }
        done(a);
    });
    lookup->lookup();
}

} // namespace valv::auth
