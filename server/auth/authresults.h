// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 8601 Authentication-Results: building our own header field and parsing others'
// (to remove those that claim our authserv-id on arrival, §5).
//
// Implementation notes
// - Builder: one result per line, "Authentication-Results: <id>;" then "\r\n\t<result>;"
//   each, the last without ';'; "<id>; none" when there is none (§2.2). Values that are
//   not RFC 2045 tokens (nor a pvalue's local-part@domain) become quoted-strings; a
//   comment is written as "(...)" right after the result with '\', '(' and ')' escaped.
//   Control characters in any text are dropped, so no input can end the field early.
//   Lines longer than 998 octets are folded at a blank (RFC 5322 §2.1.1); shorter ones
//   are left alone. A result whose method or result is not a keyword, or a property
//   whose ptype or property is not one, is left out.
// - Parser: follows §2.2's ABNF with RFC 5322 CFWS anywhere it allows it (B.7), folded
//   or unfolded input, with or without the "Authentication-Results:" name in front.
//   Keywords (method, result, ptype, property) are returned lower-case; values as
//   written, quoted-strings decoded, UTF-8 allowed (RFC 6532). The first comment after a
//   result is kept as that result's comment; other comments are ignored.
// - Leniency the ABNF does not grant, for headers seen in the wild: a ';' after the last
//   result, '_' in keywords, and '/' in an unquoted property value (header.b=gfT/i2HB).
// - Limits: 64 KiB of input, 64 levels of nested comments, 9-digit versions.
#pragma once

#include "result.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <QString>

namespace valv::auth {

enum class AuthResultsError {
    Syntax = 700,
    TooLarge,
};

struct AuthResultProperty {
    QString ptype; // "smtp", "header", "policy", ...
    QString property; // "mailfrom", "d", ...
    QString value;
    friend bool operator==(const AuthResultProperty &, const AuthResultProperty &) = default;
};

struct AuthResultEntry {
    QString method; // "spf", "dkim", "dmarc", ...
    int methodVersion = 0; // 0: not given
    QString result; // "pass", "fail", ...
    QString reason; // reason="..." (empty: none)
    QString comment; // "(...)" after the result (empty: none)
    QList<AuthResultProperty> properties;
    friend bool operator==(const AuthResultEntry &, const AuthResultEntry &) = default;
};

struct AuthenticationResults {
    QString authservId;
    int version = 1; // authres-version, 1 when not given
    QList<AuthResultEntry> entries; // empty for "none"
};

inline constexpr qsizetype kMaxAuthResultsSize = 64 * 1024;

// The whole header field, CRLF-terminated.
[[nodiscard]] QByteArray buildAuthenticationResults(const QString &authservId, const QList<AuthResultEntry> &entries);

// A field's value (or the whole field).
[[nodiscard]] Result<AuthenticationResults> parseAuthenticationResults(QByteArrayView value);

// Only the authserv-id at the start of a field's value (or the whole field), the rest
// unchecked: enough to decide whether a header claims to be ours even when the results
// after it are malformed.
[[nodiscard]] Result<QString> parseAuthservId(QByteArrayView value);

} // namespace valv::auth
