// SPDX-License-Identifier: AGPL-3.0-or-later
// Private to valv_smtp_parser: the RFC 5321 §4.1.2/§4.1.3 productions (with the RFC 6531
// UTF-8 extensions) as small cursor-based matchers shared by the command parser.
#pragma once

#include "smtp/smtpreceiver.h"

#include <QByteArray>

#include <optional>

namespace valv::smtp::syntax {

// A read position in one command line. Matchers advance `pos` only on success.
struct Cursor {
    const char *data = nullptr;
    qsizetype size = 0;
    qsizetype pos = 0;

    bool atEnd() const { return pos >= size; }
    uchar peek(qsizetype ahead = 0) const
    {
        return pos + ahead < size ? uchar(data[pos + ahead]) : uchar(0);
    }
    qsizetype remaining() const { return size - pos; }
};

// True when `bytes` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
[[nodiscard]] bool isValidUtf8(const char *bytes, qsizetype size);
// The length of the well-formed UTF-8 sequence starting at a non-ASCII byte, or 0.
[[nodiscard]] int utf8SequenceLength(const char *bytes, qsizetype size);

[[nodiscard]] bool isAtext(uchar c); // RFC 5322 atext, ASCII part
[[nodiscard]] bool isAlnum(uchar c);

enum class DomainRules {
    Strict,  // RFC 5321 Domain (sub-domain = Let-dig [Ldh-str]) plus U-labels
    Helo,    // also '_' and a trailing root dot: what real HELO/EHLO names look like
};

// Domain: matches the longest run of domain characters and validates it.
[[nodiscard]] bool matchDomain(Cursor &c, DomainRules rules, QByteArray *out);
// address-literal "[...]" (§4.1.3). `out` gets the content without brackets.
[[nodiscard]] bool matchAddressLiteral(Cursor &c, QByteArray *out);
// Local-part = Dot-string / Quoted-string. `out` gets the unquoted, unescaped value.
[[nodiscard]] bool matchLocalPart(Cursor &c, QByteArray *out);
// Mailbox = Local-part "@" ( Domain / address-literal )
[[nodiscard]] bool matchMailbox(Cursor &c, Address *out);
// Path = "<" [ A-d-l ":" ] Mailbox ">"; source routes are matched and dropped
// (RFC 5321 §4.1.1.3, Appendix C: servers SHOULD accept and ignore them).
// With allowNull, "<>" gives a null Address. With allowPostmaster, "<Postmaster>"
// (case-insensitive, no domain) sets *postmaster.
[[nodiscard]] bool matchPath(Cursor &c, bool allowNull, bool allowPostmaster, Address *out,
                             bool *postmaster);

// True when the local part can be written as a Dot-string (no quoting needed).
[[nodiscard]] bool isDotString(const QByteArray &localPart);

} // namespace valv::smtp::syntax
