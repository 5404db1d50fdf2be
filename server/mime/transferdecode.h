// SPDX-License-Identifier: AGPL-3.0-or-later
// Private to valv_mime: RFC 2045 §6 Content-Transfer-Encoding decoders for BINARY[].
#pragma once

#include <QByteArray>

#include <optional>

namespace valv::mime::detail {

// The content with `encoding` (any case; empty = 7bit) removed; nullopt when the
// encoding is not one RFC 2045 defines. Decoders are lenient: invalid base64 characters
// are skipped and malformed quoted-printable escapes are kept literally.
[[nodiscard]] std::optional<QByteArray> decodeTransfer(const QByteArray &encoding,
                                                       QByteArrayView content);

} // namespace valv::mime::detail
