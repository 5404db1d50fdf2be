// SPDX-License-Identifier: AGPL-3.0-or-later
// Key material and password hashing. OpenSSL 3 (HKDF, ChaCha20-Poly1305, RNG) and
// libargon2 (argon2id). Keys are QByteArrays of raw bytes; callers keep them off logs.
#pragma once

#include "result.h"

#include <QByteArray>

namespace valv::store {

enum class CryptoError { Rng = 1, Kdf, Wrap, Unwrap, Hash };

inline constexpr int kKeySize = 32;

[[nodiscard]] QByteArray randomBytes(int count);
// Random printable password (alphabet without look-alikes), for generated credentials.
[[nodiscard]] QByteArray randomPassword(int length = 20);

// HKDF-SHA256 (RFC 5869).
[[nodiscard]] QByteArray hkdfSha256(const QByteArray &key, const QByteArray &salt,
                                    const QByteArray &info, int length = kKeySize);

// ChaCha20-Poly1305 (RFC 8439): blob = version(1) || nonce(12) || ciphertext || tag(16).
// `aad` binds the blob to its owner (e.g. the user id) so blobs cannot be swapped.
[[nodiscard]] Result<QByteArray> wrapKey(const QByteArray &kek, const QByteArray &key,
                                         const QByteArray &aad);
[[nodiscard]] Result<QByteArray> unwrapKey(const QByteArray &kek, const QByteArray &blob,
                                           const QByteArray &aad);

// argon2id in the PHC string format ($argon2id$v=19$m=...,t=...,p=...$salt$hash).
struct Argon2Params {
    uint32_t timeCost = 2;
    uint32_t memoryKiB = 19 * 1024; // OWASP's minimum recommendation for argon2id
    uint32_t parallelism = 1;
};
[[nodiscard]] Result<QByteArray> hashPassword(const QByteArray &password, Argon2Params params = {});
[[nodiscard]] bool verifyPassword(const QByteArray &encodedHash, const QByteArray &password);

[[nodiscard]] QByteArray sha256(const QByteArray &data);

} // namespace valv::store
