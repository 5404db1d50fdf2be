// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 5321 §4.1.2 Command Argument Syntax, §4.1.3 Address Literals,
// RFC 6531 §3.3 (UTF8-non-ascii in atext, qtextSMTP and sub-domain).
#include "smtp/parser_syntax.h"

#include <cstring>

namespace valv::smtp::syntax {

namespace {

bool isDigit(uchar c) { return c >= '0' && c <= '9'; }
bool isHex(uchar c)
{
    return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool isCont(uchar c) { return (c & 0xC0) == 0x80; }

bool equalsIgnoreCase(const char *a, qsizetype n, const char *lit)
{
    const auto len = qsizetype(std::strlen(lit));
    if (n < len)
        return false;
    for (qsizetype i = 0; i < len; ++i) {
        uchar x = uchar(a[i]);
        if (x >= 'A' && x <= 'Z')
            x = uchar(x + 32);
        if (x != uchar(lit[i]))
            return false;
    }
    return true;
}

// Snum = 1*3DIGIT ; representing a decimal integer value in the range 0 through 255
bool isIpv4(const char *s, qsizetype n)
{
    int parts = 0;
    qsizetype i = 0;
    while (true) {
        int value = 0;
        int digits = 0;
        while (i < n && isDigit(uchar(s[i])) && digits < 4) {
            value = value * 10 + (s[i] - '0');
            ++digits;
            ++i;
        }
        if (digits == 0 || digits > 3 || value > 255)
            return false;
        ++parts;
        if (parts == 4)
            return i == n;
        if (i >= n || s[i] != '.')
            return false;
        ++i;
    }
}

// IPv6-addr = IPv6-full / IPv6-comp / IPv6v4-full / IPv6v4-comp (§4.1.3). "::" may stand
// for one or more zero groups (RFC 4291 §2.2); §4.1.3 asks for two or more, which some
// clients do not honour, so the looser rule is used.
bool isIpv6(const char *s, qsizetype n)
{
    qsizetype gap = -1;
    for (qsizetype i = 0; i + 1 < n; ++i) {
        if (s[i] == ':' && s[i + 1] == ':') {
            if (gap >= 0)
                return false;
            gap = i;
            ++i;
        }
    }
    int groups = 0;
    auto side = [&](qsizetype from, qsizetype to, bool last) {
        if (from == to)
            return true;
        qsizetype i = from;
        while (true) {
            qsizetype end = i;
            while (end < to && s[end] != ':')
                ++end;
            if (end == i)
                return false;
            if (end == to && last && std::memchr(s + i, '.', size_t(end - i))) {
                if (!isIpv4(s + i, end - i))
                    return false;
                groups += 2;
                return true;
            }
            if (end - i > 4)
                return false;
            for (qsizetype k = i; k < end; ++k)
                if (!isHex(uchar(s[k])))
                    return false;
            ++groups;
            if (end == to)
                return true;
            i = end + 1;
            if (i == to)
                return false; // trailing single ':'
        }
    };
    if (gap < 0) {
        if (!side(0, n, true))
            return false;
        return groups == 8;
    }
    if (!side(0, gap, false) || !side(gap + 2, n, true))
        return false;
    return groups <= 7;
}

bool isLdhStr(const char *s, qsizetype n)
{
    if (n == 0 || !isAlnum(uchar(s[0])) || !isAlnum(uchar(s[n - 1])))
        return false;
    for (qsizetype i = 0; i < n; ++i)
        if (!isAlnum(uchar(s[i])) && s[i] != '-')
            return false;
    return true;
}

} // namespace

int utf8SequenceLength(const char *bytes, qsizetype size)
{
    if (size <= 0)
        return 0;
    const uchar b0 = uchar(bytes[0]);
    int len = 0;
    uchar lo = 0x80, hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        len = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        len = 3;
        if (b0 == 0xE0)
            lo = 0xA0;
        else if (b0 == 0xED)
            hi = 0x9F; // no UTF-16 surrogates
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        len = 4;
        if (b0 == 0xF0)
            lo = 0x90;
        else if (b0 == 0xF4)
            hi = 0x8F; // <= U+10FFFF
    } else {
        return 0;
    }
    if (size < len)
        return 0;
    const uchar b1 = uchar(bytes[1]);
    if (b1 < lo || b1 > hi)
        return 0;
    for (int i = 2; i < len; ++i)
        if (!isCont(uchar(bytes[i])))
            return 0;
    return len;
}

bool isValidUtf8(const char *bytes, qsizetype size)
{
    qsizetype i = 0;
    while (i < size) {
        if (uchar(bytes[i]) < 0x80) {
            ++i;
            continue;
        }
        const int len = utf8SequenceLength(bytes + i, size - i);
        if (len == 0)
            return false;
        i += len;
    }
    return true;
}

bool isAlnum(uchar c)
{
    return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool isAtext(uchar c)
{
    return isAlnum(c) || (c != 0 && std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr);
}

bool matchDomain(Cursor &c, DomainRules rules, QByteArray *out)
{
    // Collect the run of characters a domain may contain, then check label structure.
    qsizetype end = c.pos;
    bool ascii = true;
    while (end < c.size) {
        const uchar b = uchar(c.data[end]);
        if (b >= 0x80) {
            const int len = utf8SequenceLength(c.data + end, c.size - end);
            if (len == 0)
                return false;
            ascii = false;
            end += len;
        } else if (isAlnum(b) || b == '-' || b == '.' || b == '_') {
            ++end;
        } else {
            break;
        }
    }
    const char *s = c.data + c.pos;
    qsizetype n = end - c.pos;
    if (n == 0)
        return false;
    qsizetype checkLen = n;
    if (rules == DomainRules::Helo && n > 1 && s[n - 1] == '.')
        --checkLen; // "host.example." (root label)
    if (ascii && checkLen > 255)
        return false;
    qsizetype i = 0;
    while (i <= checkLen) {
        qsizetype j = i;
        while (j < checkLen && s[j] != '.')
            ++j;
        const qsizetype labelLen = j - i;
        if (labelLen == 0)
            return false;
        if (ascii && labelLen > 63)
            return false;
        for (qsizetype k = i; k < j; ++k) {
            if (s[k] == '_' && rules == DomainRules::Strict)
                return false;
        }
        if (rules == DomainRules::Strict && (s[i] == '-' || s[j - 1] == '-'))
            return false;
        i = j + 1;
    }
    if (out)
        *out = QByteArray(s, n);
    c.pos = end;
    return true;
}

bool matchAddressLiteral(Cursor &c, QByteArray *out)
{
    if (c.peek() != '[')
        return false;
    qsizetype end = c.pos + 1;
    // dcontent = %d33-90 / %d94-126 ; Printable US-ASCII excl. "[", "\", "]"
    while (end < c.size) {
        const uchar b = uchar(c.data[end]);
        if (b < 33 || b > 126 || b == '[' || b == '\\' || b == ']')
            break;
        ++end;
    }
    if (end >= c.size || c.data[end] != ']')
        return false;
    const char *s = c.data + c.pos + 1;
    const qsizetype n = end - c.pos - 1;
    bool ok = false;
    if (n > 0 && isDigit(uchar(s[0])) && isIpv4(s, n)) {
        ok = true;
    } else if (n > 5 && equalsIgnoreCase(s, n, "ipv6:")) {
        ok = isIpv6(s + 5, n - 5);
    } else {
        // General-address-literal = Standardized-tag ":" 1*dcontent
        const char *colon = static_cast<const char *>(std::memchr(s, ':', size_t(n)));
        if (colon) {
            const qsizetype tagLen = colon - s;
            ok = isLdhStr(s, tagLen) && tagLen + 1 < n
                && !(tagLen == 4 && equalsIgnoreCase(s, tagLen, "ipv6"));
        }
    }
    if (!ok)
        return false;
    if (out)
        *out = QByteArray(s, n);
    c.pos = end + 1;
    return true;
}

bool matchLocalPart(Cursor &c, QByteArray *out)
{
    QByteArray value;
    qsizetype i = c.pos;
    if (c.peek() == '"') {
        // Quoted-string = DQUOTE *QcontentSMTP DQUOTE
        ++i;
        while (true) {
            if (i >= c.size)
                return false;
            const uchar b = uchar(c.data[i]);
            if (b == '"') {
                ++i;
                break;
            }
            if (b == '\\') {
                // quoted-pairSMTP = %d92 %d32-126
                if (i + 1 >= c.size)
                    return false;
                const uchar e = uchar(c.data[i + 1]);
                if (e < 32 || e > 126)
                    return false;
                value.append(char(e));
                i += 2;
            } else if (b >= 0x80) {
                const int len = utf8SequenceLength(c.data + i, c.size - i);
                if (len == 0)
                    return false;
                value.append(c.data + i, len);
                i += len;
            } else if (b >= 32 && b <= 126) {
                value.append(char(b));
                ++i;
            } else {
                return false;
            }
        }
    } else {
        // Dot-string = Atom *("." Atom)
        bool needAtom = true;
        while (i < c.size) {
            const uchar b = uchar(c.data[i]);
            if (b == '.') {
                if (needAtom)
                    return false;
                needAtom = true;
                ++i;
            } else if (isAtext(b)) {
                needAtom = false;
                ++i;
            } else if (b >= 0x80) {
                const int len = utf8SequenceLength(c.data + i, c.size - i);
                if (len == 0)
                    return false;
                needAtom = false;
                i += len;
            } else {
                break;
            }
        }
        if (needAtom)
            return false;
        value = QByteArray(c.data + c.pos, i - c.pos);
    }
    if (out)
        *out = value;
    c.pos = i;
    return true;
}

bool matchMailbox(Cursor &c, Address *out)
{
    Cursor t = c;
    QByteArray local;
    if (!matchLocalPart(t, &local) || t.peek() != '@' || t.atEnd())
        return false;
    ++t.pos;
    QByteArray domain;
    bool literal = false;
    if (t.peek() == '[') {
        if (!matchAddressLiteral(t, &domain))
            return false;
        literal = true;
    } else if (!matchDomain(t, DomainRules::Strict, &domain)) {
        return false;
    }
    if (out) {
        out->localPart = QString::fromUtf8(local);
        out->domain = QString::fromUtf8(domain);
        out->domainIsLiteral = literal;
    }
    c.pos = t.pos;
    return true;
}

bool matchPath(Cursor &c, bool allowNull, bool allowPostmaster, Address *out, bool *postmaster)
{
    Cursor t = c;
    if (t.peek() != '<' || t.atEnd())
        return false;
    ++t.pos;
    if (allowNull && t.peek() == '>' && !t.atEnd()) {
        if (out)
            *out = Address{};
        c.pos = t.pos + 1;
        return true;
    }
    if (allowPostmaster && t.remaining() >= 11
        && equalsIgnoreCase(t.data + t.pos, t.remaining(), "postmaster>")) {
        if (out) {
            *out = Address{};
            out->localPart = QString::fromLatin1(t.data + t.pos, 10);
        }
        if (postmaster)
            *postmaster = true;
        c.pos = t.pos + 11;
        return true;
    }
    if (t.peek() == '@' && !t.atEnd()) {
        // A-d-l = At-domain *( "," At-domain ) ":" — obsolete source route, ignored.
        while (true) {
            if (t.peek() != '@' || t.atEnd())
                return false;
            ++t.pos;
            if (t.peek() == '[') {
                if (!matchAddressLiteral(t, nullptr))
                    return false;
            } else if (!matchDomain(t, DomainRules::Strict, nullptr)) {
                return false;
            }
            if (t.atEnd())
                return false;
            if (t.peek() == ',') {
                ++t.pos;
                continue;
            }
            if (t.peek() == ':') {
                ++t.pos;
                break;
            }
            return false;
        }
    }
    Address mailbox;
    if (!matchMailbox(t, &mailbox))
        return false;
    if (t.atEnd() || t.peek() != '>')
        return false;
    if (out)
        *out = mailbox;
    if (postmaster)
        *postmaster = false;
    c.pos = t.pos + 1;
    return true;
}

bool isDotString(const QByteArray &localPart)
{
    Cursor c{localPart.constData(), localPart.size(), 0};
    if (localPart.isEmpty() || localPart.startsWith('"'))
        return false;
    QByteArray ignored;
    return matchLocalPart(c, &ignored) && c.atEnd();
}

} // namespace valv::smtp::syntax
