// SPDX-License-Identifier: AGPL-3.0-or-later
// Private to valv_mime: RFC 5322 / RFC 2045 structured header values, parsed the way
// Dovecot's lib-mail does so that ENVELOPE and BODYSTRUCTURE match what clients know.
//
// Implementation notes
// - Values stay in their transmitted form: no RFC 2047 decoding (IMAP returns the
//   encoded words) and RFC 2231 continuations are merged but not decoded
//   (`name*=utf-8''%E2%82%AC` stays so, as in Dovecot). GMime is used only where a
//   decoded value is wanted (MessageIndex::subject, fromName, date).
// - Every loop advances at least one byte or token per iteration; no recursion.
#pragma once

#include "mime/mimetree.h"

#include <QByteArray>
#include <QList>

namespace valv::mime::detail {

// "type/subtype; params". False (outputs untouched) when the type/subtype is invalid.
[[nodiscard]] bool parseContentType(const QByteArray &value, QByteArray *type,
                                    QByteArray *subtype, Params *params);
// A MIME token followed by optional params (Content-Disposition, Content-Transfer-Encoding).
// Null when the value does not start with a token.
[[nodiscard]] QByteArray parseTokenWithParams(const QByteArray &value, Params *params);
// Content-Language: 1#Language-tag.
[[nodiscard]] QList<QByteArray> parseLanguageList(const QByteArray &value);

// An ENVELOPE address (RFC 9051 §7.5.2). Null members are NIL. A group start has a
// null host and the group name in `mailbox`; a group end has all four null.
struct Address {
    QByteArray name, adl, mailbox, host;
    [[nodiscard]] bool isGroupMarker() const { return host.isNull(); }
};

inline constexpr int kMaxAddresses = 10000;

[[nodiscard]] QList<Address> parseAddressList(const QByteArray &value);

} // namespace valv::mime::detail
