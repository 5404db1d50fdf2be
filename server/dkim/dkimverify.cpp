// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 6376 §6 verifier actions; RFC 8463 §3 Ed25519-SHA256; RFC 8301 §3 crypto rules.
#include "dkim/dkimverify.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <QHash>

#include <memory>

namespace valv::dkim {

namespace {

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

constexpr qsizetype kMaxDnsName = 253;
constexpr qsizetype kMinBTag = 8; // RFC 6008 §4

QByteArray sha256(QByteArrayView data)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(data.data(), static_cast<size_t>(data.size()), md, &len, EVP_sha256(), nullptr)
        != 1)
        return {};
    return QByteArray(reinterpret_cast<const char *>(md), static_cast<qsizetype>(len));
}

// §3.6.1 p= for k=rsa: a SubjectPublicKeyInfo, or a bare RSAPublicKey as RFC 4871 §3.6.1
// described it. Null unless it is an RSA key.
PkeyPtr rsaKey(const QByteArray &der)
{
    const auto *p = reinterpret_cast<const unsigned char *>(der.constData());
    PkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())), EVP_PKEY_free);
    if (key && p != reinterpret_cast<const unsigned char *>(der.constData()) + der.size())
        key.reset(); // trailing bytes
    if (!key) {
        p = reinterpret_cast<const unsigned char *>(der.constData());
        key.reset(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(der.size())));
        if (key && p != reinterpret_cast<const unsigned char *>(der.constData()) + der.size())
            key.reset();
    }
    if (key && EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA)
        key.reset();
    ERR_clear_error();
    return key;
}

PkeyPtr ed25519Key(const QByteArray &raw)
{
    PkeyPtr key(nullptr, EVP_PKEY_free);
    if (raw.size() == 32)
        key.reset(EVP_PKEY_new_raw_public_key(
            EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char *>(raw.constData()), 32));
    ERR_clear_error();
    return key;
}

// RSASSA-PKCS1-v1_5 with SHA-256 over `data`, or PureEdDSA over SHA-256(data).
bool verifyData(EVP_PKEY *key, bool ed25519, QByteArrayView data, const QByteArray &signature)
{
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    QByteArray digest;
    if (ed25519) {
        digest = sha256(data);
        data = digest;
    }
    const char empty = 0;
    const auto *in = reinterpret_cast<const unsigned char *>(data.isEmpty() ? &empty : data.data());
    const bool ok =
        ctx && !signature.isEmpty()
        && EVP_DigestVerifyInit(ctx.get(), nullptr, ed25519 ? nullptr : EVP_sha256(), nullptr, key) == 1
        && EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char *>(signature.constData()),
                            static_cast<size_t>(signature.size()), in,
                            static_cast<size_t>(data.size()))
               == 1;
    ERR_clear_error();
    return ok;
}

void decide(SignatureOutcome &o, VerifyResult result, QString problem = {})
{
    o.result = result;
    o.problem = std::move(problem);
}

// What an unparsable signature still tells (for the report): d=, s=, a=, i=, b=.
void fillBestEffort(SignatureOutcome &o, QByteArray *fullB, QByteArrayView value)
{
    const auto tags = parseTagList(value);
    if (!tags)
        return;
    for (const auto &[name, v] : *tags) {
        if (name == "d")
            o.domain = QString::fromUtf8(v);
        else if (name == "s")
            o.selector = QString::fromUtf8(v);
        else if (name == "a")
            o.algorithm = QString::fromUtf8(v);
        else if (name == "i")
            o.identity = QString::fromUtf8(v);
        else if (name == "b")
            *fullB = QByteArray(v).replace(' ', "").replace('\t', "").replace('\r', "").replace('\n', "");
    }
}

} // namespace

const char *verifyResultName(VerifyResult result)
{
    switch (result) {
    case VerifyResult::None:
        return "none";
    case VerifyResult::Pass:
        return "pass";
    case VerifyResult::Fail:
        return "fail";
    case VerifyResult::Neutral:
        return "neutral";
    case VerifyResult::Policy:
        return "policy";
    case VerifyResult::TempError:
        return "temperror";
    case VerifyResult::PermError:
        return "permerror";
    }
    return "permerror";
}

DkimVerifier::DkimVerifier(QByteArray message, qint64 now, int maxSignatures)
    : m_message(std::move(message)), m_now(now)
{
    m_wellFormed = splitMessage(QByteArrayView(m_message), &m_split);
    for (qsizetype i = 0; i < m_split.fields.size(); ++i) {
        const HeaderField &field = m_split.fields[i];
        if (field.name.compare("DKIM-Signature", Qt::CaseInsensitive) != 0)
            continue;
        if (m_signatures.size() >= maxSignatures)
            break;
        Signature sig;
        sig.fieldIndex = i;
        fillBestEffort(sig.outcome, &sig.fullB, field.value);
        if (m_wellFormed)
            prepare(sig);
        else // the fields after the bad line, and the body, are unknown
            decide(sig.outcome, VerifyResult::PermError, QStringLiteral("message header is malformed"));
        m_signatures.append(std::move(sig));
    }
}

// §6.1.1: what can be decided from the signature field and the clock alone.
void DkimVerifier::prepare(Signature &sig)
{
    SignatureOutcome &o = sig.outcome;
    const auto parsed = parseSignature(m_split.fields[sig.fieldIndex].value);
    if (!parsed) {
        decide(o, VerifyResult::PermError, parsed.error().message);
        return;
    }
    sig.fields = *parsed;
    const SignatureFields &f = sig.fields;
    o.domain = QString::fromLatin1(f.domain);
    o.selector = QString::fromLatin1(f.selector);
    o.algorithm = QString::fromLatin1(f.algorithmName);
    o.identity = QString::fromUtf8(f.identity);
    sig.fullB = f.signatureBase64;

    switch (f.algorithm) {
    case SigningAlgorithm::RsaSha256:
    case SigningAlgorithm::Ed25519Sha256:
        break;
    case SigningAlgorithm::RsaSha1:
        decide(o, VerifyResult::Policy, QStringLiteral("rsa-sha1 signatures are not accepted (RFC 8301)"));
        return;
    case SigningAlgorithm::Unknown:
        decide(o, VerifyResult::PermError, QStringLiteral("unsupported algorithm a=%1").arg(o.algorithm));
        return;
    }
    // t= and x= have at most 12 digits: these sums cannot overflow, whatever `now` is.
    if (f.expiration && *f.expiration + kClockSkew < m_now) {
        decide(o, VerifyResult::Fail, QStringLiteral("signature expired"));
        return;
    }
    if (f.timestamp && *f.timestamp - kClockSkew > m_now) {
        decide(o, VerifyResult::Policy, QStringLiteral("signature timestamp is in the future"));
        return;
    }
    const QString name = QString::fromLatin1(f.selector + "._domainkey." + f.domain).toLower();
    if (name.size() > kMaxDnsName) {
        decide(o, VerifyResult::PermError, QStringLiteral("key record name is too long"));
        return;
    }
    sig.keyName = name;
}

std::optional<auth::DnsQuestion> DkimVerifier::next()
{
    for (const Signature &sig : std::as_const(m_signatures)) {
        if (!sig.keyName.isEmpty())
            return auth::DnsQuestion{auth::DnsQuestion::Type::TXT, sig.keyName};
    }
    return std::nullopt;
}

void DkimVerifier::answer(const auth::DnsAnswer &answer)
{
    const auto question = next();
    if (!question)
        return;
    for (Signature &sig : m_signatures) {
        if (sig.keyName == question->name) {
            evaluate(sig, answer);
            sig.keyName.clear();
        }
    }
}

// §6.1.2: the key record.
void DkimVerifier::evaluate(Signature &sig, const auth::DnsAnswer &answer)
{
    SignatureOutcome &o = sig.outcome;
    switch (answer.status) {
    case auth::DnsAnswer::Status::TempError:
        decide(o, VerifyResult::TempError, QStringLiteral("key unavailable (DNS temporary failure)"));
        return;
    case auth::DnsAnswer::Status::NxDomain:
        decide(o, VerifyResult::PermError, QStringLiteral("no key for signature"));
        return;
    case auth::DnsAnswer::Status::Ok:
        break;
    }
    if (answer.txt.isEmpty()) {
        decide(o, VerifyResult::PermError, QStringLiteral("no key for signature"));
        return;
    }
    if (answer.txt.size() > 1) {
        decide(o, VerifyResult::TempError, QStringLiteral("several key records"));
        return;
    }
    const auto key = parseKeyRecord(answer.txt.first());
    if (!key) {
        decide(o, VerifyResult::PermError, QStringLiteral("key syntax error: %1").arg(key.error().message));
        return;
    }
    o.testing = key->testing();
    verifyWithKey(sig, *key);
}

void DkimVerifier::verifyWithKey(Signature &sig, const KeyRecord &key)
{
    SignatureOutcome &o = sig.outcome;
    const SignatureFields &f = sig.fields;
    const bool ed25519 = f.algorithm == SigningAlgorithm::Ed25519Sha256;

    if (!key.hashAlgorithms.isEmpty() && !key.hashAlgorithms.contains("sha256")) {
        decide(o, VerifyResult::PermError, QStringLiteral("inappropriate hash algorithm (key h=)"));
        return;
    }
    if (key.publicKey.isEmpty()) { // §6.1.2 step 7
        decide(o, VerifyResult::Fail, QStringLiteral("key revoked"));
        return;
    }
    if (!key.serviceTypes.contains("*") && !key.serviceTypes.contains("email")) {
        decide(o, VerifyResult::PermError, QStringLiteral("key is not for email (key s=)"));
        return;
    }
    if (key.strictIdentity() && f.identityDomain != f.domain.toLower()) {
        decide(o, VerifyResult::PermError, QStringLiteral("i= must be in d= itself (key t=s)"));
        return;
    }
    if (key.keyType != "rsa" && key.keyType != "ed25519") {
        decide(o, VerifyResult::PermError,
               QStringLiteral("unknown key type k=%1").arg(QString::fromLatin1(key.keyType.left(32))));
        return;
    }
    if ((key.keyType == "ed25519") != ed25519) {
        decide(o, VerifyResult::PermError, QStringLiteral("inappropriate key algorithm"));
        return;
    }
    const PkeyPtr pkey = ed25519 ? ed25519Key(key.publicKey) : rsaKey(key.publicKey);
    if (!pkey) {
        decide(o, VerifyResult::PermError, QStringLiteral("key syntax error: p= is not a usable key"));
        return;
    }
    if (!ed25519) {
        o.keyBits = EVP_PKEY_get_bits(pkey.get());
        if (o.keyBits < kMinRsaBits) {
            decide(o, VerifyResult::Policy,
                   QStringLiteral("RSA key of %1 bits is too short (RFC 8301)").arg(o.keyBits));
            return;
        }
        if (o.keyBits > kMaxRsaBits) {
            decide(o, VerifyResult::Policy, QStringLiteral("RSA key of %1 bits is too long").arg(o.keyBits));
            return;
        }
    }

    // §6.1.3: body hash, then the signature.
    QByteArrayView body = canonicalBody(f.bodyCanon);
    if (f.bodyLength) {
        if (*f.bodyLength > body.size()) {
            decide(o, VerifyResult::Fail, QStringLiteral("body is shorter than l="));
            return;
        }
        o.unsignedBodyOctets = body.size() - *f.bodyLength;
        body = body.first(*f.bodyLength);
    }
    if (sha256(body) != f.bodyHash) {
        decide(o, VerifyResult::Fail, QStringLiteral("body hash did not verify"));
        return;
    }
    if (!verifyData(pkey.get(), ed25519, headerData(sig), f.signature)) {
        decide(o, VerifyResult::Fail, QStringLiteral("signature did not verify"));
        return;
    }
    qsizetype froms = 0;
    for (const HeaderField &field : m_split.fields)
        froms += field.name.compare("from", Qt::CaseInsensitive) == 0 ? 1 : 0;
    if (froms > f.signedHeaders.count("from")) {
        decide(o, VerifyResult::Fail, QStringLiteral("a From field is not signed"));
        return;
    }
    decide(o, VerifyResult::Pass);
}

// §3.7 steps 2 and 3: the selected fields with CRLF, then this signature's own field.
QByteArray DkimVerifier::headerData(const Signature &sig) const
{
    const SignatureFields &f = sig.fields;
    const bool simple = f.headerCanon == Canonicalization::Simple;
    QHash<QByteArray, QList<qsizetype>> byName; // indices top to bottom; taken from the back
    for (qsizetype i = 0; i < m_split.fields.size(); ++i) {
        if (i != sig.fieldIndex)
            byName[m_split.fields[i].name.toByteArray().toLower()].append(i);
    }
    QByteArray data;
    for (const QByteArray &name : f.signedHeaders) {
        auto it = byName.find(name);
        if (it == byName.end() || it->isEmpty())
            continue;
        const HeaderField &field = m_split.fields[it->takeLast()];
        data += simple ? canonicalizeHeaderSimple(rawField(field))
                       : canonicalizeHeaderRelaxed(field.name, field.value);
        data += "\r\n";
    }
    const HeaderField &own = m_split.fields[sig.fieldIndex];
    QByteArray value = own.value.toByteArray();
    value.remove(f.signatureValueBegin, f.signatureValueEnd - f.signatureValueBegin);
    if (simple) {
        const QByteArrayView raw = rawField(own);
        const qsizetype valueOffset = own.value.data() - raw.data();
        data += canonicalizeHeaderSimple(raw.first(valueOffset).toByteArray() + value);
    } else {
        data += canonicalizeHeaderRelaxed(own.name, value);
    }
    return data;
}

const QByteArray &DkimVerifier::canonicalBody(Canonicalization c)
{
    std::optional<QByteArray> &cached = c == Canonicalization::Simple ? m_simpleBody : m_relaxedBody;
    if (!cached)
        cached = c == Canonicalization::Simple ? canonicalizeBodySimple(m_split.body)
                                               : canonicalizeBodyRelaxed(m_split.body);
    return *cached;
}

QList<SignatureOutcome> DkimVerifier::outcomes() const
{
    QList<SignatureOutcome> out;
    out.reserve(m_signatures.size());
    for (qsizetype i = 0; i < m_signatures.size(); ++i) {
        const QByteArray &b = m_signatures[i].fullB;
        qsizetype n = kMinBTag;
        for (qsizetype j = 0; j < m_signatures.size(); ++j) {
            const QByteArray &other = m_signatures[j].fullB;
            if (j == i || other == b)
                continue;
            qsizetype common = 0;
            while (common < b.size() && common < other.size() && b[common] == other[common])
                ++common;
            n = std::max(n, common + 1);
        }
        out.append(m_signatures[i].outcome);
        out.last().bTag = b.left(n);
    }
    return out;
}

} // namespace valv::dkim
