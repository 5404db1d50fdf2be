// SPDX-License-Identifier: AGPL-3.0-or-later
// DnsResolver: answers DnsQuestions with QDnsLookup, asynchronously, on the caller's
// thread. One place for valvd's DNS: mail routing (MX), MTA-STS, and the sender checks
// (SPF, DKIM, DMARC), which are sans-IO state machines driven by runCheck().
//
// Implementation notes
// - The nameserver is dns_resolver when set (IPv4 only: Qt 6.4 ignores an IPv6 one and
//   asks the system resolver; the config refuses it), else the system's.
// - NXDOMAIN (Qt: NotFoundError) becomes NxDomain. An empty answer (NODATA), which Qt 6.4
//   reports as InvalidReplyError, becomes Ok with no records, as do replies Qt cannot
//   parse (there is no usable record either way).
// - Any other failure (SERVFAIL, timeout, refused) is TempError.
#pragma once

#include "auth/dnsquery.h"

#include <QObject>

#include <functional>
#include <memory>
#include <optional>
#include <variant>

namespace valv::auth {

class DnsResolver : public QObject {
    Q_OBJECT
public:
    explicit DnsResolver(const QHostAddress &nameserver, QObject *parent = nullptr)
        : QObject(parent), m_nameserver(nameserver) {}

    void ask(const DnsQuestion &question, std::function<void(DnsAnswer)> done);

private:
    QHostAddress m_nameserver;
};

namespace detail {
inline std::optional<DnsQuestion> question(const std::optional<DnsQuestion> &q) { return q; }
template <typename Outcome>
std::optional<DnsQuestion> question(const std::variant<DnsQuestion, Outcome> &v)
{
    if (const auto *q = std::get_if<DnsQuestion>(&v))
        return *q;
    return std::nullopt;
}
} // namespace detail

// Asks `check`'s questions one after another until it needs none, then calls `done` (on
// this thread). `check` is any sans-IO check: next() returns optional<DnsQuestion> or
// variant<DnsQuestion, Outcome>, answer(DnsAnswer) feeds it. `maxQuestions` bounds a
// check that would never finish (a bug, or a hostile zone the check does not limit).
template <typename Check>
void runCheck(DnsResolver *resolver, std::shared_ptr<Check> check, std::function<void()> done, int maxQuestions = 200)
{
    const auto q = detail::question(check->next());
    if (!q || maxQuestions <= 0)
        return done();
    resolver->ask(*q, [resolver, check, done, maxQuestions](DnsAnswer a) {
        check->answer(a);
        runCheck(resolver, check, done, maxQuestions - 1);
    });
}

} // namespace valv::auth
