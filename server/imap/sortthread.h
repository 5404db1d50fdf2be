// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 5256 SORT and THREAD (ORDEREDSUBJECT, REFERENCES), RFC 5957 DISPLAYFROM/DISPLAYTO.
// Pure: message summaries in, order or thread tree out.
//
// Implementation notes
// - Items come in mailbox order; that order is the final tie-break everywhere (RFC
//   5256 §3: equal messages sort by sequence number) and the order THREAD=REFERENCES
//   processes messages in (§2.2 step 1).
// - Sent date (§2.2): the Date: header, else INTERNALDATE.
// - Strings compare with i;ascii-casemap (ASCII letters folded, then code point order).
// - Nothing recurses over the thread tree: a reply chain 100,000 deep is just a long
//   loop. Loop checks walk parent links, so a pathological chain costs O(depth) per link.
#pragma once

#include "mime/searchtext.h"

#include <QByteArray>
#include <QDateTime>
#include <QList>
#include <QString>

#include <optional>

namespace valv::imap {

// RFC 5256 §2.1 base subject. `replyOrForward` is set when extraction removed a
// "Re:"/"Fwd:" leader, a "(fwd)" trailer or a "[fwd: ...]" wrapper.
struct BaseSubject {
    QString text;
    bool replyOrForward = false;
};
[[nodiscard]] BaseSubject baseSubject(const QString &subject);

struct SortItem {
    uint32_t number = 0;          // what the response shows: sequence number or UID
    QDateTime internalDate;
    qint64 size = 0;
    mime::SortFields fields;      // from the message header; may stay empty for ARRIVAL/SIZE
};

enum class SortKey { Arrival, Cc, Date, From, Size, Subject, To, DisplayFrom, DisplayTo };
struct SortCriterion {
    SortKey key = SortKey::Arrival;
    bool reverse = false;
};

// From the parser's upper-cased words ("REVERSE", "DATE", ...); nullopt when malformed.
[[nodiscard]] std::optional<QList<SortCriterion>> sortCriteria(const QList<QByteArray> &words);
// Whether any criterion needs the message header (all but ARRIVAL and SIZE).
[[nodiscard]] bool needsHeaders(const QList<SortCriterion> &criteria);

// Item numbers in sorted order.
[[nodiscard]] QList<uint32_t> sortItems(const QList<SortItem> &items, const QList<SortCriterion> &criteria);

enum class ThreadAlgorithm { OrderedSubject, References };
[[nodiscard]] std::optional<ThreadAlgorithm> threadAlgorithm(const QByteArray &name);

// The THREAD response's thread list (RFC 5256 §4), e.g. "(2)(3 6 (4 23)(44 7 96))".
[[nodiscard]] QByteArray threadItems(const QList<SortItem> &items, ThreadAlgorithm algorithm);

} // namespace valv::imap
