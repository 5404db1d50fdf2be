// SPDX-License-Identifier: AGPL-3.0-or-later
// DKIM signing keys: RSA (RFC 6376, 2048 bits generated) and Ed25519 (RFC 8463); PKCS#8
// PEM in and out; the DNS TXT record that publishes a key's public half.
//
// Implementation notes
// - A DkimKey shares one immutable OpenSSL EVP_PKEY; copies are cheap and may be used
//   from several threads at once (each signing makes its own EVP_MD_CTX).
// - Imported RSA keys must have 1024..4096 bits: RFC 8301 §3.2 forbids signing with less
//   than 1024 and verifiers need not handle more than 4096. Generation makes 2048.
// - The TXT record's p= is the DER SubjectPublicKeyInfo for RSA (RFC 6376 §3.6.1), the raw
//   32-byte public key for Ed25519 (RFC 8463 §4.2), both in base64 without line breaks.
//   A record longer than 255 bytes must be split into several strings when put into a
//   zone file; the text returned here is the joined form, which is what resolvers return.
#pragma once

#include "result.h"

#include <QByteArray>
#include <QByteArrayView>

#include <memory>

typedef struct evp_pkey_st EVP_PKEY;

namespace valv::dkim {

enum class KeyType { Rsa, Ed25519 };

enum class KeyError {
    GenerationFailed = 1,
    InvalidPem,
    UnsupportedKeyType,
    UnsupportedKeySize,
    InvalidSeed,
};

class DkimKey {
public:
    DkimKey() = default;

    [[nodiscard]] bool isNull() const { return !m_pkey; }
    [[nodiscard]] KeyType type() const { return m_type; }
    [[nodiscard]] int bits() const;

    // PKCS#8 "-----BEGIN PRIVATE KEY-----" PEM, unencrypted: the key store encrypts it.
    [[nodiscard]] QByteArray privateKeyPem() const;
    // "v=DKIM1; k=rsa; p=..." or "v=DKIM1; k=ed25519; p=...".
    [[nodiscard]] QByteArray dnsTxtRecord() const;
    // The base64 p= value alone.
    [[nodiscard]] QByteArray publicKeyBase64() const;

    EVP_PKEY *pkey() const { return m_pkey.get(); }

    [[nodiscard]] static Result<DkimKey> generate(KeyType type);
    // PKCS#8 PEM; traditional "BEGIN RSA PRIVATE KEY" PEM is read too.
    [[nodiscard]] static Result<DkimKey> fromPem(QByteArrayView pem);
    // The 32-byte Ed25519 private key (seed) of RFC 8032 §5.1.5, as RFC 8463 prints it.
    [[nodiscard]] static Result<DkimKey> fromEd25519Seed(QByteArrayView seed);

private:
    static Result<DkimKey> adopt(EVP_PKEY *pkey);

    std::shared_ptr<EVP_PKEY> m_pkey;
    KeyType m_type = KeyType::Rsa;
};

} // namespace valv::dkim
