// SPDX-License-Identifier: AGPL-3.0-or-later
// Private to valv_mime: the byte-offset tree of a message (RFC 5322 header/body split,
// RFC 2045 Content-* fields, RFC 2046 §5.1.1 multipart boundaries).
//
// Implementation notes
// - We scan boundaries ourselves instead of asking GMime for stream offsets: FETCH
//   BODY[...] must return the stored bytes exactly, and the offsets GMime reports are
//   for its re-serialised form once headers are modified or line endings differ. Our
//   scan works on the raw bytes, accepts CRLF and bare LF, preambles, epilogues and
//   missing close delimiters, and never copies the message.
// - Offsets are byte positions into the raw message; a Part never owns bytes.
// - Recursion is bounded by kMaxDepth and the part count by kMaxParts: deeper or further
//   content is kept as an opaque application/octet-stream leaf.
// - Every Content-* value is taken from the first occurrence of its field (as Dovecot).
#pragma once

#include <QByteArray>
#include <QList>
#include <QPair>

#include <vector>

namespace valv::mime::detail {

inline constexpr int kMaxDepth = 100;
inline constexpr int kMaxParts = 10000;

using Params = QList<QPair<QByteArray, QByteArray>>;

// One header field: [start, end) covers its first line through its last continuation
// line, line endings included. `colon` is -1 when the line has no ':'.
struct HeaderField {
    qsizetype start = 0;
    qsizetype end = 0;
    qsizetype colon = -1;
};

struct Header {
    qsizetype start = 0;
    qsizetype end = 0;        // just after the blank line, or the end of the range
    qsizetype blankLine = -1; // start of the blank line ending the header, -1 if none
    QList<HeaderField> fields;
};

// Header parsing over [begin, end) of raw.
[[nodiscard]] Header parseHeader(const QByteArray &raw, qsizetype begin, qsizetype end);
// The field's name, trailing whitespace before the colon removed.
[[nodiscard]] QByteArray fieldName(const QByteArray &raw, const HeaderField &field);
// The field's value unfolded (line breaks removed, leading whitespace removed).
[[nodiscard]] QByteArray fieldValue(const QByteArray &raw, const HeaderField &field);
// The unfolded value of the first field called `name` (case-insensitive), null if absent.
[[nodiscard]] QByteArray firstValue(const QByteArray &raw, const Header &header,
                                    const char *name);

struct ContentInfo {
    QByteArray type;    // as written; empty when Content-Type is absent or invalid
    QByteArray subtype;
    Params params;
    QByteArray id, description, cte, md5, location; // null when absent
    QByteArray disposition;                           // null when absent
    Params dispositionParams;
    QList<QByteArray> language;
};

struct Part {
    enum class Kind { Leaf, Multipart, Message };
    Kind kind = Kind::Leaf;
    bool messageRoot = false; // the header is an RFC 5322 message header
    Header header;
    qsizetype bodyStart = 0;
    qsizetype bodyEnd = 0;
    ContentInfo content;
    QList<int> children; // indices into Tree::parts; one encapsulated root for Message
};

struct Tree {
    std::vector<Part> parts; // parts[0] is the message itself
};

[[nodiscard]] Tree parseTree(const QByteArray &raw);

// RFC 9051 §6.4.5 part numbering: the part a numeric path names, or -1.
[[nodiscard]] int resolvePart(const Tree &tree, const QList<uint32_t> &path);

} // namespace valv::mime::detail
