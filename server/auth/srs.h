// SPDX-License-Identifier: AGPL-3.0-or-later
// Sender Rewriting Scheme (Shevek's "SRS0/SRS1" scheme as libsrs2, postsrsd and Forward
// Email implement it): the envelope sender of a message we forward is rewritten to an
// address at our own domain, so the forward passes SPF there, and a bounce to that address
// can be turned back into the original sender. Pure: no I/O, no configuration store.
//
//   alice@orig.test               -> SRS0=HHHH=TT=orig.test=alice@our.test
//   SRS0=hhhh=tt=orig.test=u@hop1 -> SRS1=HHHH=hop1==hhhh=tt=orig.test=u@our.test
//   SRS1=xxxx=hop1==rest@hop2     -> SRS1=HHHH=hop1==rest@our.test
//
// Implementation notes
// - HHHH is HMAC-SHA256 (libsrs2 uses HMAC-SHA1) with the secret as key, base64 with the
//   standard alphabet, cut to hashLength characters. We only ever verify hashes we made
//   ourselves, so the choice of digest does not need to match other implementations.
//   The HMAC input is the fields concatenated without separators, ASCII lower-cased,
//   as UTF-8: timestamp + domain + local for SRS0, hop + rest for SRS1 ("rest" being the
//   first hop's SRS0 local part without its "SRS0" tag, so it starts with a separator).
//   Lower-casing the input and comparing hashes case-insensitively (as libsrs2 does)
//   lets an address survive MTAs that lower-case local parts; it costs a little of the
//   hash's strength.
// - TT is the day number (seconds since the epoch / 86400) mod 1024, two base32 chars
//   ("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", high five bits first), read back
//   case-insensitively. Age = (today - TT) mod 1024, so the wrap is handled; a timestamp
//   from "tomorrow" therefore reads as 1023 days old and is refused.
// - SRS0 addresses are checked for hash first, then age: a tampered timestamp is BadHash,
//   never Expired. SRS1 addresses carry no timestamp (the first hop's SRS0 part does, and
//   the first hop checks it).
// - Reverse accepts "SRS0"/"SRS1" in any case followed by '=', '+' or '-' (libsrs2 does);
//   forward always writes "SRS0="/"SRS1=". Reversing an SRS1 address therefore always
//   gives "SRS0<rest>@hop", whatever case the first hop used for its tag.
// - Secrets shorter than kSrsMinSecretLength bytes are never used, for signing or for
//   checking: with no usable secret forward leaves the sender alone and reverse answers
//   BadHash. Old secrets are only tried when reversing.
// - hashLength is clamped to 4..43 (43 = an unpadded base64 SHA-256). Reverse accepts a
//   presented hash of at least hashLength characters (a longer one from before a
//   configuration change still verifies) and compares that many.
// - Forward leaves unchanged: the null sender ("" or "<>"), a sender at ourDomain (case
//   ignored, a trailing dot ignored), and anything it cannot rewrite reversibly: no '@',
//   an empty local part, or a domain that is empty or holds '=', '@', '<', '>', blanks or
//   control characters. The address splits at its last '@'.
// - A quoted local part ("\"john doe\"@orig.test") is out of scope: it is carried as is,
//   quotes and all, which makes an SRS local part that is not RFC 5321 syntax. It still
//   reverses to the original.
// - A local part may hold '=' and '+': everything after the third '=' of an SRS0 local
//   part is the original local part, so they round trip.
// - RFC 5321 §4.5.3.1.1 limits a local part to 64 octets. A long original makes a longer
//   SRS local part; it is produced anyway (servers accept longer ones in practice, and
//   refusing would lose the forward), the caller may log it.
// - An SRS1 address whose first hop is missing or empty is forwarded as an ordinary
//   sender (wrapped in SRS0), not rejected.
#pragma once

#include "result.h"

#include <QByteArray>
#include <QByteArrayList>
#include <QString>

namespace valv::auth {

inline constexpr qsizetype kSrsMinSecretLength = 16;

struct SrsConfig {
    QByteArray secret;         // HMAC key (>= 16 bytes), from config.db
    QByteArrayList oldSecrets; // still accepted when reversing (key rotation)
    int maxAgeDays = 21;       // timestamps older than this are refused on reverse
    int hashLength = 4;        // base64 chars of the HMAC kept (libsrs2 default 4)
};

enum class SrsError {
    NotSrs = 1, // no '@', or the local part does not start with SRS0/SRS1 and a separator
    BadHash,    // no secret gives this hash (or no usable secret at all)
    Expired,    // the SRS0 timestamp is older than maxAgeDays
    Malformed,  // SRS tag present, fields missing or empty, timestamp not base32
};

// Rewrites the envelope sender of a message we forward (see the examples above); returns
// the sender unchanged when it is null, local to ourDomain or not rewritable.
[[nodiscard]] QString srsForward(const QString &sender, const QString &ourDomain, const SrsConfig &cfg,
                                 qint64 nowSeconds);

// Reverses an address at our domain (the bounce path): SRS0 -> the original sender,
// checking hash and age; SRS1 -> the first hop's SRS0 address, checking our hash.
[[nodiscard]] Result<QString> srsReverse(const QString &address, const SrsConfig &cfg, qint64 nowSeconds);

// The local part (before the last '@') starts with SRS0 or SRS1, any case, and a
// separator ('=', '+', '-'): exactly the addresses srsReverse does not call NotSrs.
[[nodiscard]] bool isSrsAddress(const QString &address);

} // namespace valv::auth
