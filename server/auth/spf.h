// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 7208 Sender Policy Framework: check_host() as a sans-IO state machine, the record
// grammar (§4.6, §12) and macro expansion (§7). No DNS here: SpfCheck says which question
// it needs answered (next()), the caller answers it (answer()), until next() gives the
// outcome.
//
// Implementation notes
// - Replay: SpfCheck keeps every answer it was given and, on each next(), evaluates
//   check_host() from the start against them, stopping at the first question it has no
//   answer for. Evaluation is deterministic, so a replay asks the same questions in the
//   same order; the lookup limits bound the distinct questions (about 130 at most), hence
//   the replays. No evaluation state has to be kept across answers.
// - The whole record is parsed before any mechanism runs: a syntax error anywhere is a
//   permerror (§4.6), including c/r/t macros outside exp text (§7.1) and CIDR lengths
//   with leading zeros or out of range.
// - Limits (§4.6.4): include, a, mx, ptr, exists and redirect count towards 10 per check
//   (the 11th is a permerror); more than 10 MX names is a permerror; only the first 10
//   PTR names are looked at. Void lookups (NXDOMAIN or no records) of the a, mx and
//   exists mechanisms count towards 2; those of ptr and of %{p} do not, as the client
//   controls its reverse zone. The exp= lookup counts towards nothing.
// - Names: a trailing dot is ignored; an expanded name over 253 octets loses labels on
//   the left (§7.3). A target with an empty label or a label over 63 octets is not looked
//   up: a, mx, ptr and exists do not match, include and redirect give permerror, exp= is
//   ignored. The checked domain itself must have two labels at least, or the result is
//   none (§4.3); a U-label domain is converted to A-labels first (RFC 8616).
// - DNS errors: temperror, except for the ptr mechanism and %{p}, where a failed lookup
//   skips the name (§5.5), and exp=, which is then ignored (§6.2).
// - %{i} of an IPv6 client is 32 upper-case nibbles joined by dots, as the RFC's test
//   suite expects (the RFC's §7.4 example prints them in lower case; DNS does not care).
//   An IPv4-mapped IPv6 client is an IPv4 client throughout (§5).
// - The explanation is filled only for Fail, from the exp= of the record that gave the
//   result (a redirect's target, never an include's), and left empty when there is none
//   or it cannot be used: the caller supplies its own default text then.
#pragma once

#include "auth/dnsquery.h"
#include "result.h"

#include <QByteArray>
#include <QHash>
#include <QHostAddress>
#include <QList>
#include <QString>

#include <optional>
#include <variant>

namespace valv::auth {

enum class SpfResult { None, Neutral, Pass, Fail, SoftFail, TempError, PermError };

// "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror" (RFC 8601 spelling).
[[nodiscard]] const char *spfResultName(SpfResult result);

enum class SpfError {
    NotSpfRecord = 400, // does not start with "v=spf1" followed by a space or its end
    BadCharacter,       // outside printable ASCII, or a separator other than SP
    UnknownMechanism,
    BadMechanism,       // a known mechanism with a missing or extra argument
    BadDomainSpec,      // §7.1 domain-spec: empty, or no toplabel and no macro at its end
    BadMacro,           // §7.1 macro syntax, or a letter not allowed where it stands
    BadCidr,            // leading zero, or over 32 / 128
    BadAddress,         // ip4-network / ip6-network
    BadModifier,        // name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
    DuplicateModifier,  // redirect= or exp= twice
};

struct SpfOutcome {
    SpfResult result = SpfResult::None;
    QString domain;      // the domain checked (MAIL FROM's domain, or HELO's when MAIL FROM is empty)
    QString mechanism;   // the mechanism that matched, as written ("-all", "include:x.test"); empty when none did
    QString explanation; // exp= text on Fail (macro-expanded), may be empty
    QString problem;     // why temperror/permerror
};

// One term of a record, mechanisms and modifiers in record order.
struct SpfTerm {
    enum class Kind { All, Include, A, Mx, Ptr, Ip4, Ip6, Exists, Redirect, Exp, Unknown };
    Kind kind = Kind::All;
    SpfResult qualifier = SpfResult::Pass; // mechanisms: Pass "+", Fail "-", SoftFail "~", Neutral "?"
    QString domainSpec;   // include, exists, redirect, exp; a, mx, ptr when given (empty: <domain>)
    QHostAddress network; // ip4, ip6
    int cidr4 = 32;       // a, mx, ip4
    int cidr6 = 128;      // a, mx, ip6
    QString name;         // unknown modifier: its name, lower-case
    QString value;        // unknown modifier: its macro-string, never expanded
    QString text;         // the term as written
    [[nodiscard]] bool isMechanism() const { return kind < Kind::Redirect; }
};

// §4.5: "v=spf1" (any case) followed by SP or the end. Only such TXT records are SPF's.
[[nodiscard]] bool isSpfRecord(const QByteArray &txt);

// §4.6 / §12: the whole record, version included, checked term by term.
[[nodiscard]] Result<QList<SpfTerm>> parseSpfRecord(const QByteArray &record);

// The values the macro letters expand to (§7.2).
struct SpfMacroContext {
    QString sender;       // s: <sender>, local-part@domain
    QString localPart;    // l
    QString senderDomain; // o
    QString domain;       // d: <domain>, the domain whose record is being evaluated
    QHostAddress ip;      // i, c, v
    QString validatedName = QStringLiteral("unknown"); // p
    QString helo;         // h
    QString receiver;     // r (empty: "unknown")
    qint64 timestamp = 0; // t, seconds since the epoch
};

// §7: a macro-string (domain-spec) or, with forExplanation, an explain-string, where SP
// and the letters c, r and t are allowed too. No trailing-dot or length processing.
[[nodiscard]] Result<QString> expandSpfMacro(const QString &macroString, const SpfMacroContext &ctx,
                                             bool forExplanation);

class SpfCheck {
public:
    // RFC 7208 §4.1: ip of the SMTP client, the MAIL FROM address ("" = null path -> check
    // postmaster@helo), the HELO/EHLO name, our host name (the %{r} macro).
    SpfCheck(const QHostAddress &ip, const QString &mailFrom, const QString &helo, const QString &receiver);

    // Either the next DNS question to answer, or the final outcome.
    [[nodiscard]] std::variant<DnsQuestion, SpfOutcome> next();
    // The answer to the question next() returned; ignored when none is pending.
    void answer(const DnsAnswer &answer);

    // check_host() for a given domain and sender.
    static SpfCheck checkHost(const QHostAddress &ip, const QString &domain, const QString &sender,
                              const QString &helo, const QString &receiver);

    // %{t}; the current time unless set.
    void setTimestamp(qint64 secondsSinceEpoch) { m_timestamp = secondsSinceEpoch; }

private:
    friend struct SpfRun;
    SpfCheck() = default;
    void init(const QHostAddress &ip, const QString &domain, const QString &sender, const QString &helo,
              const QString &receiver);

    QHostAddress m_ip; // IPv4-mapped addresses unmapped
    QString m_domain;
    QString m_sender;
    QString m_localPart;
    QString m_senderDomain;
    QString m_helo;
    QString m_receiver;
    qint64 m_timestamp = 0;
    bool m_malformed = false; // §4.3: the result is none without asking anything
    QHash<QString, DnsAnswer> m_answers; // by question (type and lower-case name)

    // A domain's record, selected and parsed once (replays would parse it again and again).
    struct Record {
        SpfResult unusable = SpfResult::Neutral; // None or PermError: no record, several, bad syntax
        QString problem;
        QList<SpfTerm> terms;
    };
    QHash<QString, Record> m_records; // by TXT question
    std::optional<DnsQuestion> m_pending;
    std::optional<SpfOutcome> m_outcome;
};

} // namespace valv::auth
