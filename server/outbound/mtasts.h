// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 8461 MTA-STS, the pure parts: the _mta-sts TXT record (§3.1), the policy file
// (§3.2) and MX host matching (§4.1). No DNS, no HTTPS: the fetcher hands us bytes.
//
// Implementation notes
// - Grammar keywords are case-sensitive (%s in the RFC's ABNF): "v=STSv1", "version",
//   "STSv1", "mode", "enforce"... A record or policy spelled otherwise is not MTA-STS.
// - The TXT record must start with "v=STSv1" and carry an id of 1-32 letters/digits;
//   other fields are ignored, and of repeated ids the first counts. Choosing among several
//   TXT records is the caller's business (§3.1: more than one STS record means none).
// - Policy: lines end in LF or CRLF; a line without ':' and unknown keys are ignored; of a
//   repeated key the first value counts, except mx, which may repeat. An mx value that is
//   not ["*."] followed by a domain name is skipped rather than failing the policy (the
//   others still bind); a testing/enforce policy with no usable mx is an error.
// - max_age above 31557600 (one year, §3.2) is an error, not clamped.
// - Bodies over 64 KiB are refused before any parsing (§3.3 suggests a limit).
#pragma once

#include "result.h"

#include <QByteArray>
#include <QString>
#include <QStringList>

namespace valv::outbound {

enum class MtaStsError {
    NotStsRecord = 300, // does not start with v=STSv1
    BadId,              // id missing or not 1-32 alphanumerics
    TooLarge,
    MissingVersion,
    MissingMode,
    BadMode,
    MissingMaxAge,
    BadMaxAge,
    MissingMx,
};

inline constexpr qsizetype kMaxPolicySize = 64 * 1024;
inline constexpr qint64 kMaxPolicyAge = 31557600;

struct MtaStsRecord {
    QString id;
};

struct MtaStsPolicy {
    enum class Mode { None, Testing, Enforce };
    Mode mode = Mode::None;
    QStringList mx; // patterns, lower-case, no trailing dot: "mx.b.test", "*.b.test"
    qint64 maxAgeSeconds = 0;
};

// TXT record text, the strings already joined: "v=STSv1; id=20160831085700Z;".
[[nodiscard]] Result<MtaStsRecord> parseMtaStsRecord(const QByteArray &txt);

// The body of https://mta-sts.<domain>/.well-known/mta-sts.txt.
[[nodiscard]] Result<MtaStsPolicy> parseMtaStsPolicy(const QByteArray &body);

// §4.1: a pattern matches the host exactly (case-insensitive, a trailing dot on either
// ignored); "*.b.test" matches one extra left-most label only ("x.b.test", not
// "a.x.b.test" nor "b.test").
[[nodiscard]] bool mxMatchesPolicy(const QString &mxHost, const QStringList &patterns);

} // namespace valv::outbound
