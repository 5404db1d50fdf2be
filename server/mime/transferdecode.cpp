// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 2045 §6.7 quoted-printable, §6.8 base64; RFC 3516 BINARY needs them undone.
#include "mime/transferdecode.h"

namespace valv::mime::detail {

namespace {

int hexValue(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

QByteArray decodeQuotedPrintable(QByteArrayView in)
{
    QByteArray out;
    out.reserve(in.size());
    const char *d = in.data();
    const qsizetype n = in.size();
    qsizetype lineStart = 0;
    while (lineStart < n) {
        qsizetype eol = lineStart;
        while (eol < n && d[eol] != '\n')
            ++eol;
        // Transport may add trailing whitespace; RFC 2045 §6.7 rule 3 says drop it.
        qsizetype end = eol;
        if (end > lineStart && d[end - 1] == '\r')
            --end;
        const qsizetype breakStart = end;
        while (end > lineStart && (d[end - 1] == ' ' || d[end - 1] == '\t'))
            --end;
        bool soft = false;
        for (qsizetype p = lineStart; p < end; ++p) {
            if (d[p] != '=') {
                out.append(d[p]);
                continue;
            }
            if (p + 1 == end) {
                soft = true;
                break;
            }
            const int hi = p + 2 < end ? hexValue(d[p + 1]) : -1;
            const int lo = p + 2 < end ? hexValue(d[p + 2]) : -1;
            if (hi >= 0 && lo >= 0) {
                out.append(char(hi * 16 + lo));
                p += 2;
            } else {
                out.append('=');
            }
        }
        if (eol < n && !soft)
            out.append(d + breakStart, eol + 1 - breakStart);
        lineStart = eol + 1;
    }
    return out;
}

} // namespace

std::optional<QByteArray> decodeTransfer(const QByteArray &encoding, QByteArrayView content)
{
    const QByteArray e = encoding.trimmed().toLower();
    if (e.isEmpty() || e == "7bit" || e == "8bit" || e == "binary")
        return content.toByteArray();
    if (e == "base64")
        return QByteArray::fromBase64(content.toByteArray());
    if (e == "quoted-printable")
        return decodeQuotedPrintable(content);
    return std::nullopt;
}

} // namespace valv::mime::detail
