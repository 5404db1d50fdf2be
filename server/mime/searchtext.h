// SPDX-License-Identifier: AGPL-3.0-or-later
// Decoded message text for IMAP SEARCH (RFC 9051 §6.4.4) and the header values that
// SORT and THREAD (RFC 5256) order by. Pure: bytes in, text out.
//
// Implementation notes
// - Header values are unfolded, RFC 2047-decoded (GMime) and whitespace-simplified (runs
//   of spaces/tabs become one space); raw 8-bit values are taken
//   as UTF-8 when valid, else converted by GMime's fallback charsets.
// - Body text is every text/* leaf (and a part with no Content-Type, which RFC 2045
//   makes text/plain) with its Content-Transfer-Encoding removed and its charset
//   converted (QStringDecoder, ICU-backed in Debian's Qt). An unknown charset is read as
//   Latin-1, so every byte still reaches the search as some character. The header of an
//   attached message/rfc822 counts as body text of the outer message. Non-text parts
//   are skipped. HTML is searched as written (tags included).
// - Body text stops at `maxBodyChars` (SearchText::truncated says so): one huge message
//   cannot make a query unbounded.
#pragma once

#include <QByteArray>
#include <QDateTime>
#include <QList>
#include <QString>

#include <optional>

namespace valv::mime {

inline constexpr qsizetype kSearchTextMaxChars = 4 * 1024 * 1024;

struct SearchHeader {
    QByteArray name; // as written
    QString value;   // unfolded, decoded
};

struct SearchText {
    QList<SearchHeader> headers; // the message's own header fields, in order
    QString body;
    bool truncated = false;

    // Decoded values of every field called `name` (case-insensitive), in order.
    [[nodiscard]] QList<QString> values(QByteArrayView name) const;
};

enum class SearchParts { Headers, HeadersAndBody };

[[nodiscard]] SearchText searchText(const QByteArray &raw, SearchParts parts = SearchParts::HeadersAndBody,
                                    qsizetype maxBodyChars = kSearchTextMaxChars);

// The Date: header (RFC 5322 §3.3), when parseable; keeps the written UTC offset.
[[nodiscard]] std::optional<QDateTime> sentDate(const QByteArray &raw);

// What RFC 5256 SORT / THREAD and RFC 5957 DISPLAYFROM/DISPLAYTO compare.
struct SortFields {
    std::optional<QDateTime> date; // Date:, when parseable
    QString subject;               // decoded and unfolded; base subject is computed by the caller
    QString fromMailbox;           // addr-mailbox of the first From address (RFC 5256 §3)
    QString toMailbox;
    QString ccMailbox;
    QString fromDisplay;           // RFC 5957: display name, else addr-spec
    QString toDisplay;
    QByteArray messageId;          // first valid msg-id in Message-ID, without <>; empty if none
    QList<QByteArray> references;  // References' msg-ids, else In-Reply-To's first (RFC 5256 §2.2 step 1)
};

inline constexpr int kMaxReferences = 1000; // ids kept from one References field (the last ones)

[[nodiscard]] SortFields sortFields(const QByteArray &raw);

// All "<id>" msg-ids in a field value, without the angle brackets, in order.
[[nodiscard]] QList<QByteArray> messageIds(const QByteArray &value);

} // namespace valv::mime
