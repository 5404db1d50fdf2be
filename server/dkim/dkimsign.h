// SPDX-License-Identifier: AGPL-3.0-or-later
// DKIM signing (RFC 6376) with relaxed/relaxed canonicalization, RSA-SHA256 and
// Ed25519-SHA256 (RFC 8463). Pure functions over message bytes: no I/O, no DNS.
//
// Implementation notes
// - Input is the message as it will be transmitted, CRLF line ends; LF-only input is read
//   as if every LF were CRLF (see canonicalize.h), so both sign to the same signature.
// - Headers signed (RFC 6376 §5.4): those of kSignedHeaders and every List-* field that
//   are present, each name listed once per occurrence, in kSignedHeaders order then
//   List-* in message order. From is listed once more than it occurs ("oversigned",
//   §5.4.2 and §8.15): a verifier then fails a message to which a From was added.
//   Names in h= select field instances bottom-up (§5.4.2).
// - The signature header is built first with an empty b=, canonicalized and hashed after
//   the selected header fields with no CRLF of its own (§3.7); b= is then appended. Only
//   the b= value and folding differ between what was hashed and what is emitted, and
//   relaxed canonicalization plus the verifier's removal of the b= value make those
//   invisible.
// - The emitted header is folded so no line exceeds kFoldWidth bytes (the RFC 5322 §2.1.1
//   SHOULD of 78; only a d= or s= value near its 253-byte limit can pass it), ends with
//   CRLF and is prepended to the message by the caller.
// - No i=, l=, x= or q= tags: the defaults (i=@d, whole body, no expiry, dns/txt) are what
//   we want, and l= would let anyone append content.
// - The canonical body is built once and hashed: memory is about twice the body size at
//   worst. Signing is CPU work (RSA most of all): callers run it on the thread pool.
#pragma once

#include "dkim/canonicalize.h"
#include "dkim/dkimkey.h"
#include "result.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QList>

namespace valv::dkim {

enum class SignError {
    MalformedHeader = 100,
    NoFrom,
    InvalidDomain,
    InvalidSelector,
    InvalidTimestamp,
    NullKey,
    CryptoFailure,
};

// RFC 6376 §5.4.1's recommended set, in the order they are listed in h=.
inline constexpr const char *kSignedHeaders[] = {
    "From",        "To",         "Cc",           "Subject",      "Date",
    "Message-ID",  "Reply-To",   "In-Reply-To",  "References",   "MIME-Version",
    "Content-Type", "Content-Transfer-Encoding",
};

inline constexpr int kFoldWidth = 78;

// bh=: base64 of SHA-256 over the relaxed canonical body.
[[nodiscard]] QByteArray bodyHashRelaxed(QByteArrayView body);

// The h= list for a message's fields, names lowercased.
[[nodiscard]] QList<QByteArray> signedHeaderNames(const QList<HeaderField> &fields);

// The bytes the signature covers (RFC 6376 §3.7 steps 2 and 3, before hashing): for each
// name of `names`, the next unused field of that name from the bottom, canonicalized with
// CRLF; then `signatureHeader` (the whole "DKIM-Signature: ..." field with an empty b=
// value) canonicalized, without CRLF. Absent names contribute nothing.
[[nodiscard]] QByteArray signedData(const QList<HeaderField> &fields,
                                    const QList<QByteArray> &names,
                                    QByteArrayView signatureHeader);

// Signs `data` as a= of `key` requires: RSASSA-PKCS1-v1_5 with SHA-256 over `data`, or
// PureEdDSA Ed25519 over SHA-256(data) (RFC 8463 §3). Returns the raw signature.
[[nodiscard]] Result<QByteArray> signData(const DkimKey &key, QByteArrayView data);

// The "DKIM-Signature: ...\r\n" field (folded, CRLF-terminated) to prepend to `message`.
// `domain` is the d= domain (A-labels, LDH), `selector` the s= selector, `timestamp`
// the t= value in seconds since the epoch.
[[nodiscard]] Result<QByteArray> sign(QByteArrayView message, QByteArrayView domain,
                                      QByteArrayView selector, const DkimKey &key,
                                      qint64 timestamp);

} // namespace valv::dkim
