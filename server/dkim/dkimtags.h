// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 6376 §3.2 tag=value lists, the §3.5 DKIM-Signature header field and the §3.6.1 key
// record (with RFC 8463 §4 Ed25519 keys), parsed into checked fields. Pure functions.
//
// Implementation notes
// - Syntax is checked as the RFC's ABNF says, with two allowances: a tag list may end in
//   ";" followed by whitespace, and a line end inside a header value may be a lone LF (an
//   LF-only message, read as CRLF as everywhere in this module).
// - Tag names are case-sensitive (§3.2); a name that occurs twice makes the list invalid.
//   Unknown tags are ignored (§3.2, §3.5, §3.6.1).
// - parseSignature() checks what needs no clock, no key and no message: required tags
//   (§6.1.1), v=1, i= within d=, h= naming From, q= offering dns/txt, x= after t=. It
//   accepts any algorithm of the a= syntax: refusing rsa-sha1 or an unknown one is the
//   verifier's decision (its result differs), so `algorithm` says which it is.
// - parseKeyRecord() checks syntax only (v=DKIM1 first when present, p= present, base64);
//   whether k=, h=, s= and t= suit a signature is the verifier's question.
// - Limits: no recursion; at most 64 tags a list; each parse is linear in its input; l= up to 76 digits (§3.5)
//   (a value past qint64 is read as qint64 max: longer than any body) and t=/x= up to 12
//   digits (§3.5).
#pragma once

#include "result.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QList>

#include <optional>
#include <utility>

namespace valv::dkim {

enum class TagError {
    Syntax = 200,        // not a tag-list (§3.2)
    DuplicateTag,        // a tag name twice (§3.2)
    MissingTag,          // a required tag absent (§6.1.1, p= of §3.6.1)
    InvalidValue,        // a value outside its tag's syntax
    UnsupportedVersion,  // v= other than 1 (signature) or DKIM1 (key record)
    UnsupportedCanonicalization,
    UnsupportedQueryMethod,
    IdentityMismatch,    // i= not d= or a subdomain of it (§6.1.1)
    FromNotSigned,       // h= without From (§6.1.1)
    ExpiryBeforeTimestamp, // x= not after t= (§3.5)
};

enum class Canonicalization { Simple, Relaxed };

enum class SigningAlgorithm {
    RsaSha256,
    Ed25519Sha256, // RFC 8463
    RsaSha1,       // parsed so it can be refused by name (RFC 8301 §3.1)
    Unknown,       // well-formed a= of no algorithm we know
};

// RFC 6376 §3.2. Each pair is a tag name and its value with the whitespace around it
// removed; whitespace (folding included) inside a value stays as sent.
[[nodiscard]] Result<QList<std::pair<QByteArray, QByteArray>>> parseTagList(QByteArrayView value);

struct SignatureFields {
    QByteArray algorithmName;                 // a= as given
    SigningAlgorithm algorithm = SigningAlgorithm::Unknown;
    QByteArray signature;                     // b=, decoded
    QByteArray signatureBase64;               // b= with whitespace removed
    QByteArray bodyHash;                      // bh=, decoded
    Canonicalization headerCanon = Canonicalization::Simple; // c=, default simple/simple
    Canonicalization bodyCanon = Canonicalization::Simple;
    QByteArray domain;                        // d= (A-labels; U-labels are converted)
    QByteArray selector;                      // s= (A-labels)
    QList<QByteArray> signedHeaders;          // h=, lowercased, in order
    QByteArray identity;                      // i= as given, or "@" + d= when absent
    QByteArray identityDomain;                // the domain of i=, lowercased
    std::optional<qint64> bodyLength;         // l=
    std::optional<qint64> timestamp;          // t=
    std::optional<qint64> expiration;         // x=
    // The byte range of b='s value in the parsed header value, the whitespace around it
    // included: the part a verifier deletes (§3.7 step 2).
    qsizetype signatureValueBegin = 0;
    qsizetype signatureValueEnd = 0;
};

// The value of a DKIM-Signature header field (after the colon, as sent).
[[nodiscard]] Result<SignatureFields> parseSignature(QByteArrayView headerValue);

struct KeyRecord {
    QByteArray keyType = "rsa";               // k=
    QList<QByteArray> hashAlgorithms;         // h=; empty: any
    QList<QByteArray> serviceTypes = {"*"};   // s=
    QList<QByteArray> flags;                  // t=
    QByteArray publicKey;                     // p=, decoded; empty: the key is revoked
    [[nodiscard]] bool testing() const { return flags.contains("y"); }
    [[nodiscard]] bool strictIdentity() const { return flags.contains("s"); }
};

// The text of one DNS TXT record (its strings joined).
[[nodiscard]] Result<KeyRecord> parseKeyRecord(QByteArrayView txt);

// RFC 6376 §3.5 d= / s=: dot-separated labels of letters, digits, '-' (and '_', found in
// published selectors), 63 bytes a label, 253 in all.
// `allowUnderscore` false is the stricter form the signer writes (RFC 5321 sub-domain
// labels: letters, digits, inner hyphens); verifiers accept "_" as seen in the field.
[[nodiscard]] bool isDkimDomain(QByteArrayView name, bool allowUnderscore = true);

} // namespace valv::dkim
