// SPDX-License-Identifier: AGPL-3.0-or-later
// DKIM keys over OpenSSL 3 EVP: RSA-2048 and Ed25519 generation, PKCS#8 PEM, DNS TXT text.
#include "dkim/dkimkey.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <limits>

namespace valv::dkim {

namespace {

constexpr int kGenerateRsaBits = 2048;
constexpr int kMinRsaBits = 1024;
constexpr int kMaxRsaBits = 4096;

// Failures also leave entries on OpenSSL's per-thread error queue; drop them so they do
// not surface later in unrelated code (TLS) on the same thread.
Error keyError(KeyError code, QString message)
{
    ERR_clear_error();
    return makeError(static_cast<int>(code), std::move(message));
}

struct BioFree {
    void operator()(BIO *b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

QByteArray bioContents(BIO *bio)
{
    char *data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    return n > 0 ? QByteArray(data, n) : QByteArray();
}

} // namespace

Result<DkimKey> DkimKey::adopt(EVP_PKEY *pkey)
{
    std::shared_ptr<EVP_PKEY> owned(pkey, EVP_PKEY_free);
    DkimKey key;
    switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA: {
        const int bits = EVP_PKEY_get_bits(pkey);
        if (bits < kMinRsaBits || bits > kMaxRsaBits)
            return keyError(KeyError::UnsupportedKeySize,
                            QStringLiteral("RSA key of %1 bits; DKIM needs 1024 to 4096").arg(bits));
        key.m_type = KeyType::Rsa;
        break;
    }
    case EVP_PKEY_ED25519:
        key.m_type = KeyType::Ed25519;
        break;
    default:
        return keyError(KeyError::UnsupportedKeyType,
                        QStringLiteral("DKIM keys are RSA or Ed25519"));
    }
    key.m_pkey = std::move(owned);
    return key;
}

Result<DkimKey> DkimKey::generate(KeyType type)
{
    EVP_PKEY *pkey = type == KeyType::Rsa
                         ? EVP_RSA_gen(static_cast<unsigned>(kGenerateRsaBits))
                         : EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    if (!pkey)
        return keyError(KeyError::GenerationFailed, QStringLiteral("key generation failed"));
    return adopt(pkey);
}

Result<DkimKey> DkimKey::fromPem(QByteArrayView pem)
{
    if (pem.isEmpty() || pem.size() > std::numeric_limits<int>::max())
        return keyError(KeyError::InvalidPem, QStringLiteral("no PEM key"));
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio)
        return keyError(KeyError::InvalidPem, QStringLiteral("out of memory"));
    // A null password callback with an empty password: an encrypted PEM fails instead of
    // OpenSSL prompting on the terminal.
    char empty[] = "";
    EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, empty);
    if (!pkey)
        return keyError(KeyError::InvalidPem, QStringLiteral("not an unencrypted PEM private key"));
    return adopt(pkey);
}

Result<DkimKey> DkimKey::fromEd25519Seed(QByteArrayView seed)
{
    if (seed.size() != 32)
        return keyError(KeyError::InvalidSeed, QStringLiteral("an Ed25519 seed has 32 bytes"));
    EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char *>(seed.data()), 32);
    if (!pkey)
        return keyError(KeyError::InvalidSeed, QStringLiteral("invalid Ed25519 seed"));
    return adopt(pkey);
}

int DkimKey::bits() const { return m_pkey ? EVP_PKEY_get_bits(m_pkey.get()) : 0; }

QByteArray DkimKey::privateKeyPem() const
{
    if (!m_pkey)
        return {};
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio
        || PEM_write_bio_PKCS8PrivateKey(bio.get(), m_pkey.get(), nullptr, nullptr, 0, nullptr,
                                         nullptr) != 1)
        return {};
    return bioContents(bio.get());
}

QByteArray DkimKey::publicKeyBase64() const
{
    if (!m_pkey)
        return {};
    if (m_type == KeyType::Ed25519) {
        unsigned char raw[32];
        size_t len = sizeof raw;
        if (EVP_PKEY_get_raw_public_key(m_pkey.get(), raw, &len) != 1 || len != sizeof raw)
            return {};
        return QByteArray(reinterpret_cast<const char *>(raw), 32).toBase64();
    }
    unsigned char *der = nullptr;
    const int len = i2d_PUBKEY(m_pkey.get(), &der);
    if (len <= 0)
        return {};
    QByteArray out = QByteArray(reinterpret_cast<const char *>(der), len).toBase64();
    OPENSSL_free(der);
    return out;
}

QByteArray DkimKey::dnsTxtRecord() const
{
    const QByteArray p = publicKeyBase64();
    if (p.isEmpty())
        return {};
    return QByteArrayLiteral("v=DKIM1; k=") + (m_type == KeyType::Rsa ? "rsa" : "ed25519")
           + "; p=" + p;
}

} // namespace valv::dkim
