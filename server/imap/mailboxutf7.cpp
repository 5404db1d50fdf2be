// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 3501 §5.1.3 Mailbox International Naming Convention (modified UTF-7).
//
// Implementation notes:
// - Decoding is strict: printable US-ASCII (0x20-0x7e) must appear as itself, never
//   inside a base64 section; base64 sections must be non-empty, use ',' for '/', end
//   with '-', carry only zero padding bits, decode to whole UTF-16 code units with
//   paired surrogates, and two encoded sections may not be adjacent ("&AOk-&AOk-").
// - Raw bytes outside 0x20-0x7e are never valid in modified UTF-7.
#include "imap/imapreceiver.h"

namespace valv::imap {

namespace {

int base64Value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == ',')
        return 63;
    return -1;
}

bool isHighSurrogate(char16_t u) { return u >= 0xD800 && u <= 0xDBFF; }
bool isLowSurrogate(char16_t u) { return u >= 0xDC00 && u <= 0xDFFF; }

// Decodes one base64 section (between '&' and '-') and appends it to `out`.
bool decodeSection(const char *p, qsizetype n, QString &out)
{
    uint32_t bits = 0;
    int nbits = 0;
    QList<char16_t> units;
    for (qsizetype i = 0; i < n; ++i) {
        const int v = base64Value(p[i]);
        if (v < 0)
            return false;
        bits = (bits << 6) | uint32_t(v);
        nbits += 6;
        if (nbits >= 16) {
            nbits -= 16;
            units.append(char16_t((bits >> nbits) & 0xFFFF));
        }
        bits &= (1u << nbits) - 1;
    }
    // Leftover bits must be fewer than one base64 digit and all zero.
    if (nbits >= 6 || bits != 0 || units.isEmpty())
        return false;
    for (qsizetype i = 0; i < units.size(); ++i) {
        const char16_t u = units[i];
        if (u >= 0x20 && u <= 0x7E)
            return false; // printable ASCII must represent itself
        if (isHighSurrogate(u)) {
            if (i + 1 >= units.size() || !isLowSurrogate(units[i + 1]))
                return false;
            out.append(QChar(u));
            out.append(QChar(units[++i]));
            continue;
        }
        if (isLowSurrogate(u))
            return false;
        out.append(QChar(u));
    }
    return true;
}

} // namespace

std::optional<QString> decodeMailboxUtf7(const QByteArray &encoded)
{
    QString out;
    out.reserve(encoded.size());
    bool previousWasEncoded = false;
    qsizetype i = 0;
    while (i < encoded.size()) {
        const auto c = static_cast<unsigned char>(encoded[i]);
        if (c < 0x20 || c > 0x7E)
            return std::nullopt;
        if (c != '&') {
            out.append(QChar(c));
            previousWasEncoded = false;
            ++i;
            continue;
        }
        const qsizetype end = encoded.indexOf('-', i + 1);
        if (end < 0)
            return std::nullopt;
        if (end == i + 1) {
            out.append(QLatin1Char('&'));
            previousWasEncoded = false;
            i = end + 1;
            continue;
        }
        if (previousWasEncoded)
            return std::nullopt;
        if (!decodeSection(encoded.constData() + i + 1, end - i - 1, out))
            return std::nullopt;
        previousWasEncoded = true;
        i = end + 1;
    }
    return out;
}

QByteArray encodeMailboxUtf7(const QString &name)
{
    QByteArray out;
    QByteArray pending; // UTF-16BE bytes waiting to be base64-encoded
    auto flush = [&] {
        if (pending.isEmpty())
            return;
        QByteArray b64 = pending.toBase64(QByteArray::Base64Encoding | QByteArray::OmitTrailingEquals);
        b64.replace('/', ',');
        out.append('&').append(b64).append('-');
        pending.clear();
    };
    for (const QChar ch : name) {
        const char16_t u = ch.unicode();
        if (u >= 0x20 && u <= 0x7E) {
            flush();
            if (u == '&')
                out.append("&-");
            else
                out.append(char(u));
        } else {
            pending.append(char(u >> 8));
            pending.append(char(u & 0xFF));
        }
    }
    flush();
    return out;
}

} // namespace valv::imap
