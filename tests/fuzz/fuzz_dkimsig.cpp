// SPDX-License-Identifier: AGPL-3.0-or-later
// libFuzzer target for DKIM verification input: tag lists, DKIM-Signature values and key
// records (RFC 6376 §3.2, §3.5, §3.6.1), and the verifier over hostile messages and keys.
// Oracles besides "no crash, no sanitizer report":
// - a parsed tag list has at most 64 tags, distinct names starting with a letter, no ';'
//   in a value and no whitespace at a value's ends;
// - a parsed signature lists From in h=, has a valid d= containing i='s domain, and its
//   b= range, whitespace removed, is exactly the b= text it decoded;
// - the verifier asks at most one question per signature and then stops; afterwards
//   every outcome (at most maxSignatures) is decided, and only a pass has no problem.
// Runs: the input as a message (every question answered with the RFC 8463 Ed25519 or RSA
// key), the RFC 8463 message with the input as the answer's TXT text, and the input as
// the value of a DKIM-Signature field on that message.
#include "dkim/dkimtags.h"
#include "dkim/dkimverify.h"

#include <QByteArray>

#include <cstdint>
#include <cstdlib>

using namespace valv;
using namespace valv::dkim;

namespace {

void check(bool ok)
{
    if (!ok)
        std::abort();
}

bool isWsp(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

const QByteArray kMessage =
    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
    " subject : date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
    " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n";
const QByteArray kUnsigned = "From: Joe SixPack <joe@football.example.com>\r\n"
                             "To: Suzie Q <suzie@shopping.example.net>\r\n"
                             "Subject: Is dinner ready?\r\n"
                             "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
                             "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
                             "\r\n"
                             "Hi.\r\n"
                             "\r\n"
                             "We lost the game.  Are you hungry yet?\r\n"
                             "\r\n"
                             "Joe.\r\n";
const QByteArray kEdKey = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
const QByteArray kRsaKey =
    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdO"
    "Kb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyV"
    "YLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB";

void checkTagList(const QByteArray &input)
{
    const auto r = parseTagList(input);
    if (!r.ok()) {
        check(!r.error().message.isEmpty());
        return;
    }
    check(!r->isEmpty() && r->size() <= 64);
    for (qsizetype i = 0; i < r->size(); ++i) {
        const auto &[name, value] = r->at(i);
        check(!name.isEmpty() && ((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z')));
        check(!value.contains(';'));
        check(value.isEmpty() || (!isWsp(value.front()) && !isWsp(value.back())));
        for (qsizetype j = 0; j < i; ++j)
            check(r->at(j).first != name);
    }
}

void checkSignature(const QByteArray &input)
{
    const auto r = parseSignature(input);
    if (!r.ok())
        return;
    check(r->signedHeaders.contains("from"));
    check(isDkimDomain(r->domain) && isDkimDomain(r->selector));
    const QByteArray d = r->domain.toLower();
    check(r->identityDomain == d || r->identityDomain.endsWith('.' + d));
    check(0 <= r->signatureValueBegin && r->signatureValueBegin <= r->signatureValueEnd
          && r->signatureValueEnd <= input.size());
    QByteArray b;
    for (const char c : input.mid(r->signatureValueBegin, r->signatureValueEnd - r->signatureValueBegin)) {
        if (!isWsp(c))
            b += c;
    }
    check(b == r->signatureBase64 && !r->signature.isEmpty());
    check(!r->bodyLength || *r->bodyLength >= 0);
    check(!r->timestamp || !r->expiration || *r->expiration > *r->timestamp);
}

void checkKeyRecord(const QByteArray &input)
{
    const auto r = parseKeyRecord(input);
    if (r.ok())
        check(!r->keyType.isEmpty() && !r->serviceTypes.isEmpty());
}

void runVerifier(const QByteArray &message, const QByteArray &key)
{
    constexpr int kMax = 10;
    DkimVerifier v(message, 1700000000, kMax);
    const qsizetype signatures = v.outcomes().size();
    check(signatures <= kMax);
    int asked = 0;
    while (const auto q = v.next()) {
        check(++asked <= signatures);
        check(q->type == auth::DnsQuestion::Type::TXT && q->name.contains(QLatin1String("._domainkey.")));
        auth::DnsAnswer a;
        a.txt = {key};
        v.answer(a);
    }
    const QList<SignatureOutcome> outcomes = v.outcomes();
    check(outcomes.size() == signatures);
    for (const SignatureOutcome &o : outcomes) {
        check(o.result != VerifyResult::None && o.result != VerifyResult::Neutral);
        check(o.problem.isEmpty() == (o.result == VerifyResult::Pass));
        check(o.unsignedBodyOctets >= 0);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0;
    const QByteArray input(reinterpret_cast<const char *>(data), qsizetype(size));
    checkTagList(input);
    checkSignature(input);
    checkKeyRecord(input);
    runVerifier(input, size % 2 ? kRsaKey : kEdKey);
    runVerifier(kMessage + kUnsigned, input);
    runVerifier("DKIM-Signature:" + input + "\r\n" + kUnsigned, kEdKey);
    return 0;
}
