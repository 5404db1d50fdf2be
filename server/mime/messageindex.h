// SPDX-License-Identifier: AGPL-3.0-or-later
// Message indexing for IMAP: ENVELOPE and BODYSTRUCTURE computed once at delivery,
// and byte-exact section extraction at FETCH time. Pure: bytes in, structures out.
// Uses GMime 3 for header decoding (RFC 2047/2231) and address parsing.
#pragma once

#include <QByteArray>
#include <QDateTime>
#include <QList>
#include <QString>

#include <optional>

namespace valv::mime {

struct MessageIndex {
    QByteArray envelope;       // RFC 9051 §7.5.2 ENVELOPE, serialized, e.g. ("date" "subject" ((...)) ...)
    QByteArray bodyStructure;  // extensible BODYSTRUCTURE, serialized
    QByteArray body;           // non-extensible BODY form, serialized
    qsizetype headerLength = 0; // bytes of the top-level header, through its blank line
    // Decoded values for SEARCH/SORT (later issues) and for the UI.
    QString subject;
    QString from;              // first From address "local@domain"
    QString fromName;          // its display name, RFC 2047-decoded (empty if none)
    QList<QString> to;         // addresses, "local@domain"
    QList<QString> cc;
    QString messageId;         // without angle brackets
    std::optional<QDateTime> date; // the Date: header, when parseable
};

// Never fails: a malformed message still gets a best-effort index (RFC 9051 says a
// server must not refuse to deliver structure for broken MIME; treat as text/plain).
[[nodiscard]] MessageIndex indexMessage(const QByteArray &raw);

// What follows the part number in a section spec (RFC 9051 §6.4.5).
enum class SectionText { None, Header, HeaderFields, HeaderFieldsNot, Text, Mime };

// BODY[part.text]: returns the exact bytes of the section as stored (no decoding),
// or nullopt when the part does not exist. `part` empty = the whole message.
// HEADER.FIELDS keeps the matching header lines (case-insensitive names, folded lines
// whole, in message order) followed by the blank line, per RFC 9051.
[[nodiscard]] std::optional<QByteArray> extractSection(const QByteArray &raw,
                                                       const QList<uint32_t> &part,
                                                       SectionText text = SectionText::None,
                                                       const QList<QByteArray> &fields = {});

// BINARY[part] (RFC 3516): the part's content with its Content-Transfer-Encoding removed.
// nullopt when the part does not exist; `unknownEncoding` set when the CTE cannot be
// decoded (the IMAP layer answers NO [UNKNOWN-CTE]).
[[nodiscard]] std::optional<QByteArray> extractBinary(const QByteArray &raw,
                                                      const QList<uint32_t> &part,
                                                      bool *unknownEncoding = nullptr);

// Quote a string for IMAP output: NIL for null, "quoted" when safe, {n}\r\n literal otherwise.
[[nodiscard]] QByteArray imapString(const QByteArray &value, bool nilIfNull = true);

} // namespace valv::mime
