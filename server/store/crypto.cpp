// SPDX-License-Identifier: AGPL-3.0-or-later
#include "store/crypto.h"

#include <argon2.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <memory>

namespace valv::store {

namespace {
constexpr unsigned char kWrapVersion = 1;
constexpr int kNonceSize = 12;
constexpr int kTagSize = 16;

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>;

auto u8(const QByteArray &b) { return reinterpret_cast<const unsigned char *>(b.constData()); }
auto u8(QByteArray &b) { return reinterpret_cast<unsigned char *>(b.data()); }
} // namespace

QByteArray randomBytes(int count)
{
    QByteArray out(count, Qt::Uninitialized);
    if (RAND_bytes(u8(out), count) != 1)
        qFatal("OpenSSL RAND_bytes failed: no safe randomness available");
    return out;
}

QByteArray randomPassword(int length)
{
    static constexpr char alphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    constexpr int n = sizeof(alphabet) - 1;
    QByteArray out;
    out.reserve(length);
    while (out.size() < length) {
        const QByteArray r = randomBytes(32);
        for (unsigned char c : r) {
            if (c >= 256 - (256 % n)) // rejection sampling: no modulo bias
                continue;
            out.append(alphabet[c % n]);
            if (out.size() == length)
                break;
        }
    }
    return out;
}

QByteArray hkdfSha256(const QByteArray &key, const QByteArray &salt, const QByteArray &info, int length)
{
    PkeyCtx ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr), EVP_PKEY_CTX_free);
    QByteArray out(length, Qt::Uninitialized);
    size_t outLen = size_t(length);
    if (!ctx || EVP_PKEY_derive_init(ctx.get()) <= 0
        || EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha256()) <= 0
        || EVP_PKEY_CTX_set1_hkdf_salt(ctx.get(), u8(salt), int(salt.size())) <= 0
        || EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), u8(key), int(key.size())) <= 0
        || EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), u8(info), int(info.size())) <= 0
        || EVP_PKEY_derive(ctx.get(), u8(out), &outLen) <= 0)
        qFatal("OpenSSL HKDF failed");
    return out;
}

Result<QByteArray> wrapKey(const QByteArray &kek, const QByteArray &key, const QByteArray &aad)
{
    if (kek.size() != kKeySize)
        return makeError(int(CryptoError::Wrap), QStringLiteral("key-encryption key has the wrong size"));
    const QByteArray nonce = randomBytes(kNonceSize);
    CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
    QByteArray ct(key.size(), Qt::Uninitialized);
    QByteArray tag(kTagSize, Qt::Uninitialized);
    int len = 0;
    if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_chacha20_poly1305(), nullptr, u8(kek), u8(nonce)) != 1
        || EVP_EncryptUpdate(ctx.get(), nullptr, &len, u8(aad), int(aad.size())) != 1
        || EVP_EncryptUpdate(ctx.get(), u8(ct), &len, u8(key), int(key.size())) != 1
        || EVP_EncryptFinal_ex(ctx.get(), nullptr, &len) != 1
        || EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, kTagSize, tag.data()) != 1)
        return makeError(int(CryptoError::Wrap), QStringLiteral("key wrapping failed"));
    return QByteArray(1, char(kWrapVersion)) + nonce + ct + tag;
}

Result<QByteArray> unwrapKey(const QByteArray &kek, const QByteArray &blob, const QByteArray &aad)
{
    if (kek.size() != kKeySize || blob.size() < 1 + kNonceSize + kTagSize || blob[0] != char(kWrapVersion))
        return makeError(int(CryptoError::Unwrap), QStringLiteral("wrapped key is malformed"));
    const QByteArray nonce = blob.mid(1, kNonceSize);
    const QByteArray ct = blob.mid(1 + kNonceSize, blob.size() - 1 - kNonceSize - kTagSize);
    QByteArray tag = blob.right(kTagSize);
    CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
    QByteArray pt(ct.size(), Qt::Uninitialized);
    int len = 0;
    if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_chacha20_poly1305(), nullptr, u8(kek), u8(nonce)) != 1
        || EVP_DecryptUpdate(ctx.get(), nullptr, &len, u8(aad), int(aad.size())) != 1
        || EVP_DecryptUpdate(ctx.get(), u8(pt), &len, u8(ct), int(ct.size())) != 1
        || EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, kTagSize, tag.data()) != 1
        || EVP_DecryptFinal_ex(ctx.get(), nullptr, &len) != 1)
        return makeError(int(CryptoError::Unwrap),
                         QStringLiteral("wrapped key does not authenticate (wrong master key or tampered data)"));
    return pt;
}

Result<QByteArray> hashPassword(const QByteArray &password, Argon2Params p)
{
    const QByteArray salt = randomBytes(16);
    constexpr uint32_t hashLen = 32;
    const size_t encLen = argon2_encodedlen(p.timeCost, p.memoryKiB, p.parallelism, uint32_t(salt.size()),
                                            hashLen, Argon2_id);
    QByteArray encoded(qsizetype(encLen), '\0');
    const int rc = argon2id_hash_encoded(p.timeCost, p.memoryKiB, p.parallelism, password.constData(),
                                         size_t(password.size()), salt.constData(), size_t(salt.size()),
                                         hashLen, encoded.data(), encLen);
    if (rc != ARGON2_OK)
        return makeError(int(CryptoError::Hash), QString::fromUtf8(argon2_error_message(rc)));
    encoded.truncate(qsizetype(qstrlen(encoded.constData())));
    return encoded;
}

bool verifyPassword(const QByteArray &encodedHash, const QByteArray &password)
{
    if (!encodedHash.startsWith("$argon2id$"))
        return false;
    return argon2id_verify(encodedHash.constData(), password.constData(), size_t(password.size())) == ARGON2_OK;
}

QByteArray sha256(const QByteArray &data)
{
    QByteArray out(SHA256_DIGEST_LENGTH, Qt::Uninitialized);
    SHA256(u8(data), size_t(data.size()), u8(out));
    return out;
}

} // namespace valv::store
