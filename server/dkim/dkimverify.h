// SPDX-License-Identifier: AGPL-3.0-or-later
// DKIM verification (RFC 6376 §6) of rsa-sha256 and ed25519-sha256 (RFC 8463) signatures
// under the crypto rules of RFC 8301, as a sans-IO state machine: the verifier names the
// key record it needs (next()), the caller looks it up and hands the answer back
// (answer()), until every signature has an outcome (RFC 8601 §2.7.1 result names).
//
// Implementation notes
// - The message is read as splitMessage() reads it: LF-only line ends count as CRLF, as
//   the signer does. Canonicalization c= simple and relaxed, header and body, default
//   simple/simple; l= hashes that many canonical body octets, and what follows them is
//   reported in unsignedBodyOctets (anyone may have appended it, §8.2).
// - Header fields are taken bottom-up per h= name; a name listed more often than present
//   adds nothing (§5.4.2). The field being verified is never one of them (§5.4); it is
//   hashed last, canonicalized, without its CRLF and with b='s value and the whitespace
//   around it deleted (§3.7 step 2), everything else exactly as sent.
// - A message with more From fields than h= lists fails even when the signer did not
//   oversign From: the added one is what a reader sees (§8.15).
// - Signatures are handled in header order, at most maxSignatures of them (§6.1: a
//   verifier may limit the number); later ones get no outcome. Signatures that need the
//   same key record share one question. Nothing is asked for a signature that is already
//   decided (bad syntax, rsa-sha1, expired).
// - Result mapping (RFC 6376 says SUCCESS / PERMFAIL / TEMPFAIL; RFC 8601 §2.7.1 names):
//   pass     the signature verified;
//   fail     it failed a verification test: body hash or signature mismatch (§6.1.3),
//            key revoked (§6.1.2 step 7 says "treat this as a failed signature check"),
//            signature expired (§3.5 x=: "considered invalid"), body shorter than l=
//            (§3.5 l= "MUST NOT be larger"), an unsigned From added (§8.15);
//   policy   it may verify but is not acceptable: rsa-sha1 (RFC 8301 §3.1), an RSA key
//            under 1024 bits (RFC 8301 §3.2) or over 8192, t= in the future (§3.5
//            allows ignoring such signatures; skew of kClockSkew);
//   permerror it cannot be evaluated and retrying will not change that: malformed or
//            incomplete tags, v≠1, i= outside d=, From not in h=, x≤t, unknown
//            algorithm, canonicalization or q=; no key (NXDOMAIN, no TXT record,
//            §6.1.2 step 3); a key record that is malformed, another version, for other
//            hashes (h=), services (s=), key types (k=), or t=s with i= in a subdomain;
//            a message header that is not fields;
//   temperror the key could not be fetched (DNS temporary failure, §6.1.2 step 2), or
//            the name holds several TXT records: §3.6.2.2 leaves that undefined and the
//            publisher is likely mid-rollover, so a later attempt may succeed;
//   neutral and none are not produced per signature (no signature = empty outcomes()).
// - t=y on the key (testing) is reported in `testing`; the signature is still evaluated
//   (§3.6.1: treating the result differently is the caller's business).
// - Crypto is OpenSSL 3 EVP; RSA p= is a SubjectPublicKeyInfo (or, as some old records
//   hold, a bare PKCS#1 RSAPublicKey), Ed25519 p= the raw 32-byte key (RFC 8463 §4.2).
//   Ed25519 verifies SHA-256 of the header data (RFC 8463 §3).
// - Work: each canonical body is built once (at most twice the body) and hashed per
//   signature; verification is CPU work, callers run it off the event loop.
#pragma once

#include "auth/dnsquery.h"
#include "dkim/canonicalize.h"
#include "dkim/dkimtags.h"

#include <QByteArray>
#include <QList>
#include <QString>

#include <optional>

namespace valv::dkim {

// Seconds a signature's t= may lie ahead of our clock, and x= behind it.
inline constexpr qint64 kClockSkew = 3600;
inline constexpr int kMinRsaBits = 1024; // RFC 8301 §3.2
inline constexpr int kMaxRsaBits = 8192; // RFC 8301 §3.2 asks for 4096; more costs time

// RFC 8601 §2.7.1 dkim results.
enum class VerifyResult { None, Pass, Fail, Neutral, Policy, TempError, PermError };
[[nodiscard]] const char *verifyResultName(VerifyResult result);

struct SignatureOutcome {
    VerifyResult result = VerifyResult::None; // until its key record is answered
    QString domain;    // d=
    QString selector;  // s=
    QString algorithm; // a= as given ("rsa-sha256", "ed25519-sha256")
    QString identity;  // i= (or "@d" default)
    QByteArray bTag;   // the first 8 or more characters of b=, unique among the outcomes
                       // (Authentication-Results header.b, RFC 6008 §4)
    QString problem;   // why not pass (body hash mismatch, key revoked, expired, ...)
    int keyBits = 0;   // RSA modulus size when known
    bool testing = false;          // the key record has t=y
    qint64 unsignedBodyOctets = 0; // canonical body octets after l=, not covered
};

class DkimVerifier {
public:
    explicit DkimVerifier(QByteArray message, qint64 now, int maxSignatures = 10);

    // Next DNS question (TXT <s>._domainkey.<d>), or nullopt when all outcomes are known.
    // The same question until it is answered.
    [[nodiscard]] std::optional<auth::DnsQuestion> next();
    // The answer to the question next() returned last; ignored when none is open.
    void answer(const auth::DnsAnswer &answer);
    // One per DKIM-Signature (up to maxSignatures), in header order; empty = none.
    [[nodiscard]] QList<SignatureOutcome> outcomes() const;

private:
    struct Signature {
        SignatureOutcome outcome;
        SignatureFields fields;
        qsizetype fieldIndex = -1;
        QString keyName; // empty when decided
        QByteArray fullB;
    };

    void prepare(Signature &sig);
    void evaluate(Signature &sig, const auth::DnsAnswer &answer);
    void verifyWithKey(Signature &sig, const KeyRecord &key);
    [[nodiscard]] QByteArray headerData(const Signature &sig) const;
    [[nodiscard]] const QByteArray &canonicalBody(Canonicalization c);

    QByteArray m_message;
    SplitMessage m_split; // views into m_message
    bool m_wellFormed = false;
    qint64 m_now = 0;
    QList<Signature> m_signatures;
    std::optional<QByteArray> m_simpleBody;
    std::optional<QByteArray> m_relaxedBody;
};

} // namespace valv::dkim
