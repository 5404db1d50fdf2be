// SPDX-License-Identifier: AGPL-3.0-or-later
// The size of a message once every line ends in CRLF: one more octet for each bare LF,
// and CRLF after a last line that has no LF (a CR it ends with is part of that CRLF).
// What POP3 RETR sends before byte-stuffing (RFC 1939 §5 sizes); kept with each
// message at delivery so a POP3 login need not read the mailbox to list it.
#pragma once

#include <QByteArrayView>

#include <cstring>

namespace valv {

[[nodiscard]] inline qint64 crlfSize(QByteArrayView raw)
{
    const char *p = raw.data();
    const qsizetype n = raw.size();
    qint64 size = n;
    qsizetype i = 0;
    while (i < n) {
        const char *nl = static_cast<const char *>(std::memchr(p + i, '\n', size_t(n - i)));
        if (!nl) {
            size += p[n - 1] == '\r' ? 1 : 2;
            break;
        }
        if (nl == p + i || nl[-1] != '\r')
            ++size; // bare LF: sent as CRLF
        i = nl - p + 1;
    }
    return size;
}

} // namespace valv
