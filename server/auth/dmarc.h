// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 7489 DMARC, the pure parts: the policy record (§6.3, §6.4), policy discovery
// (§6.6.3), identifier alignment (§3.1) and the result (§6.6.2, §11.2). No DNS: the check
// asks its questions through next() and is fed the answers.
//
// Implementation notes
// - Record: "v=DMARC1" must be the first tag ("v" any case, "DMARC1" exactly, blanks
//   around "=" allowed). Other tag names and the keyword values (none/quarantine/reject,
//   r/s, fo letters) are case-insensitive, as the §6.4 ABNF's quoted strings are. URIs
//   keep their case. Unknown tags and fields without "=" are ignored.
// - §6.3 "syntax errors ... discarded in favor of default values": a bad adkim, aspf,
//   pct (not 1-3 digits, or over 100), ri, fo or rf value falls back to its default; an
//   invalid URI is dropped from rua/ruf. Of a repeated tag the first counts, except p and
//   sp: a repeated one is an invalid policy (which one did the owner mean?).
// - §6.6.3 step 6: p missing or invalid, or sp invalid, with at least one valid rua URI
//   -> the record counts as "p=none" (policyDefaulted); without one -> an error.
// - Discovery: TXT _dmarc.<From domain>; if no record there (NXDOMAIN, NODATA or only
//   non-DMARC TXT), TXT _dmarc.<organizational domain> when that differs. More than one
//   DMARC record at the name that answered -> result none (step 5). A temporary DNS
//   failure -> temperror. A DMARC record that does not parse -> permerror (§11.2).
// - No usable From domain (none, several, not a domain name) -> permerror, no DNS asked
//   (§6.6.1 leaves such messages to local policy; the caller passes an empty domain).
// - pass = an aligned SPF pass or an aligned DKIM pass. Relaxed alignment compares
//   organizational domains (libpsl), strict compares the names exactly, both after
//   lower-casing and conversion to A-labels.
// - sp applies only when the record came from the organizational domain and the From
//   domain is a subdomain of it; without sp, p applies there too.
// - pct (§6.6.4): a failing message under a quarantine/reject policy is sampled with
//   the injected random 0..99 ("(random mod 100) < pct", §6.3); the random source is
//   called at most once and only in that case. A message not sampled gets the next less
//   strict policy (reject -> quarantine -> none), as OpenDMARC does.
#pragma once

#include "auth/dnsquery.h"
#include "result.h"

#include <QByteArray>
#include <QString>
#include <QStringList>

#include <functional>
#include <optional>

namespace valv::auth {

enum class DmarcError {
    NotDmarcRecord = 600, // does not start with v=DMARC1
    InvalidPolicy, // p missing/invalid (or sp invalid) and no valid rua
};

struct DmarcRecord {
    enum class Policy { None, Quarantine, Reject };
    Policy p = Policy::None;
    Policy sp = Policy::None; // equals p when the record has no sp
    bool spSet = false;
    bool strictDkim = false; // adkim=s
    bool strictSpf = false; // aspf=s
    int pct = 100;
    QStringList rua, ruf; // URIs as written, with any "!size" suffix
    QString fo = QStringLiteral("0"); // colon-separated, lower-case: "0", "1:d", ...
    QStringList rf = {QStringLiteral("afrf")};
    quint32 ri = 86400;
    bool policyDefaulted = false; // §6.6.3 step 6: p was missing/invalid, acting as p=none
};

// One TXT record's text, its strings already joined.
[[nodiscard]] Result<DmarcRecord> parseDmarcRecord(const QByteArray &txt);

// True when the text starts with a "v=DMARC1" tag (§6.6.3 steps 2 and 4), whether or not
// the rest parses.
[[nodiscard]] bool isDmarcRecord(const QByteArray &txt);

enum class DmarcResult { None, Pass, Fail, TempError, PermError };

// The Authentication-Results result keyword (RFC 7489 §11.2): "none", "pass", ...
[[nodiscard]] QString dmarcResultName(DmarcResult result);
// "none", "quarantine", "reject".
[[nodiscard]] QString dmarcPolicyName(DmarcRecord::Policy policy);

struct DmarcOutcome {
    DmarcResult result = DmarcResult::None;
    QString fromDomain; // normalized
    QString policyDomain; // where the record was found (From or organizational domain)
    DmarcRecord::Policy policy = DmarcRecord::Policy::None; // p or sp, whichever applies
    bool applied = false; // Fail under quarantine/reject and selected by pct
    // What to do with the message: policy when applied, the next less strict one when a
    // failing message was not selected by pct, None otherwise.
    DmarcRecord::Policy disposition = DmarcRecord::Policy::None;
    QString problem; // why the result is none/temperror/permerror, for logs and comments
    bool spfAligned = false;
    bool dkimAligned = false;
    std::optional<DmarcRecord> record;
};

class DmarcCheck {
public:
    // fromDomain: the RFC5322.From domain, empty when there is not exactly one.
    // spfPass/spfDomain: whether SPF passed, and for which domain (MAIL FROM, or HELO
    // for a null reverse path). passingDkimDomains: d= of each signature that verified.
    // random0to99: the pct sample source.
    DmarcCheck(const QString &fromDomain, bool spfPass, const QString &spfDomain, const QStringList &passingDkimDomains,
        std::function<int()> random0to99);

    // The next DNS question, or nothing when the outcome is final.
    [[nodiscard]] std::optional<DnsQuestion> next() const;
    // The answer to the question next() returned.
    void answer(const DnsAnswer &answer);
    [[nodiscard]] bool done() const { return m_stage == Stage::Done; }
    [[nodiscard]] DmarcOutcome outcome() const { return m_outcome; }

private:
    enum class Stage { AskFrom, AskOrg, Done };
    void finish(const QByteArray &txt, const QString &domain);
    void finishWith(DmarcResult result, const QString &problem);

    Stage m_stage = Stage::Done;
    QString m_orgDomain;
    QString m_spfDomain;
    bool m_spfPass = false;
    QStringList m_dkimDomains;
    std::function<int()> m_random;
    DmarcOutcome m_outcome;
};

} // namespace valv::auth
