// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 4422 client responses as IMAP (RFC 9051 §6.2.2, RFC 4959) and POP3 (RFC 5034 §4)
// carry them; RFC 4616 PLAIN.
#include "core/sasl.h"

#include <QList>

namespace valv::core::sasl {

Response decodeResponse(const QByteArray &line)
{
    const QByteArray t = line.trimmed();
    if (t == "*")
        return {Response::Kind::Cancelled, {}};
    if (t == "=" || t.isEmpty())
        return {Response::Kind::Data, {}};
    auto d = QByteArray::fromBase64Encoding(t, QByteArray::AbortOnBase64DecodingErrors);
    if (!d)
        return {Response::Kind::Invalid, {}};
    return {Response::Kind::Data, std::move(d.decoded)};
}

std::optional<PlainCredentials> parsePlain(const QByteArray &decoded)
{
    const QList<QByteArray> parts = decoded.split('\0');
    if (parts.size() != 3 || parts[1].isEmpty())
        return std::nullopt;
    return PlainCredentials{parts[0], parts[1], parts[2]};
}

} // namespace valv::core::sasl
