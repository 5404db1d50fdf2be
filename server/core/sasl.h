// SPDX-License-Identifier: AGPL-3.0-or-later
// SASL client-response decoding shared by the IMAP (RFC 9051 §6.2.2, RFC 4959 SASL-IR)
// and POP3 (RFC 5034 §4) AUTH commands, and the RFC 4616 PLAIN message. Pure: bytes in,
// values out; Qt Core only, no I/O, no throws.
//
// Implementation notes
// - A response line is trimmed of surrounding white space first.
// - "*" cancels the exchange (RFC 9051 §6.2.2, RFC 5034 §4).
// - "=" is an empty response (RFC 4959 §3, RFC 5034 §4); an empty line is one as well.
// - Anything else must be valid base64, or the response is Invalid.
#pragma once

#include <QByteArray>

#include <optional>

namespace valv::core::sasl {

struct Response {
    enum class Kind { Data, Cancelled, Invalid };
    Kind kind = Kind::Invalid;
    QByteArray data; // the decoded bytes when kind == Data
};

// One client response line (without CRLF), or an initial response.
[[nodiscard]] Response decodeResponse(const QByteArray &line);

// RFC 4616 §2 PLAIN message (already base64-decoded): [authzid] NUL authcid NUL passwd.
// nullopt unless there are exactly three fields and authcid is not empty.
struct PlainCredentials {
    QByteArray authzid, authcid, password;
};
[[nodiscard]] std::optional<PlainCredentials> parsePlain(const QByteArray &decoded);

} // namespace valv::core::sasl
