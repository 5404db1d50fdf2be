// SPDX-License-Identifier: AGPL-3.0-or-later
// libFuzzer target for DMARC (RFC 7489): the record parser, organizational domains
// (libpsl) and the policy-discovery state machine fed hostile names and answers.
// Oracles besides "no crash, no sanitizer report":
// - a parsed record has pct in 0..100, sp == p unless sp= was given, and a defaulted
//   policy (§6.6.3 step 6) only with a rua URI; isDmarcRecord agrees with the parser;
// - organizationalDomain(x) is a suffix of normalizedDomain(x), and lower-case;
// - the check asks TXT questions under "_dmarc." at most twice, and its outcome holds
//   together: pass only when aligned, applied only on fail, a disposition never
//   stricter than the policy.
#include "auth/dmarc.h"
#include "auth/orgdomain.h"

#include <QByteArray>

#include <cstdint>
#include <cstdlib>

using namespace valv::auth;

namespace {

void check(bool ok)
{
    if (!ok)
        std::abort();
}

void checkRecord(const QByteArray &input)
{
    const auto rec = parseDmarcRecord(input);
    if (!rec.ok()) {
        check(!rec.error().message.isEmpty());
        check(isDmarcRecord(input) == (rec.error().code != int(DmarcError::NotDmarcRecord)));
        return;
    }
    check(isDmarcRecord(input));
    check(rec->pct >= 0 && rec->pct <= 100);
    check(rec->spSet || rec->sp == rec->p);
    check(!rec->policyDefaulted || (rec->p == DmarcRecord::Policy::None && !rec->rua.isEmpty()));
    check(!rec->fo.isEmpty() && !rec->rf.isEmpty());
}

void checkOrgDomain(const QString &domain)
{
    const QString norm = normalizedDomain(domain);
    const QString org = organizationalDomain(domain);
    check(norm.endsWith(org));
    check(org == org.toLower());
}

// Input: "from\nspf-domain\ndkim-domain\nrecord\nrecord..." (missing lines are empty).
void checkCheck(const QByteArray &input)
{
    const QList<QByteArray> lines = input.split('\n');
    auto line = [&](qsizetype i) { return lines.value(i); };
    const QString from = QString::fromUtf8(line(0));
    checkOrgDomain(from);
    int randomCalls = 0;
    DmarcCheck dmarc(from, input.size() % 2, QString::fromUtf8(line(1)), {QString::fromUtf8(line(2))},
        [&] { return ++randomCalls * 37; });
    int questions = 0;
    while (const auto q = dmarc.next()) {
        check(++questions <= 2);
        check(q->type == DnsQuestion::Type::TXT && q->name.startsWith(QLatin1String("_dmarc.")));
        DnsAnswer a;
        if (questions == 1 && input.size() % 3 == 0)
            a.status = DnsAnswer::Status::NxDomain;
        else if (input.size() % 7 == 0)
            a.status = DnsAnswer::Status::TempError;
        else
            a.txt = lines.mid(3);
        dmarc.answer(a);
    }
    check(dmarc.done());
    const DmarcOutcome o = dmarc.outcome();
    check(randomCalls <= 1);
    check(o.result != DmarcResult::Pass || o.spfAligned || o.dkimAligned);
    check(!o.applied || o.result == DmarcResult::Fail);
    check(int(o.disposition) <= int(o.policy));
    check(o.record.has_value() == (o.result == DmarcResult::Pass || o.result == DmarcResult::Fail));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16 * 1024)
        return 0;
    const QByteArray input(reinterpret_cast<const char *>(data), qsizetype(size));
    checkRecord(input);
    checkCheck(input);
    return 0;
}
