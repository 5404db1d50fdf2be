// SPDX-License-Identifier: AGPL-3.0-or-later
// The SEARCH evaluator (RFC 9051 §6.4.4, RFC 5032 WITHIN, RFC 7162 §3.1.5 MODSEQ,
// RFC 5182 "$"): a key tree and a folder snapshot in, matching indexes out. No store,
// no session: message bytes come through a callback.
//
// Implementation notes
// - Three-valued evaluation, cheapest first: every message is first judged on its
//   metadata alone (flags, size, dates, UIDs, sets); a key that needs the message reads
//   as "unknown" there, and AND/OR/NOT settle whatever they can without it. Only a
//   message still unknown is loaded, then judged on its header fields (FROM, SUBJECT,
//   HEADER, SENT*...), and only one still unknown after that has its body decoded
//   (BODY, TEXT).
// - TextIndex is the hook for a full-text index: given a BODY, TEXT, FROM, TO, CC, BCC
//   or SUBJECT key it may return exactly the UIDs that match; the key is then decided
//   from that set without loading anything. When it cannot tell (no index, a needle too
//   short for it) the message is read as without a hook.
// - Messages are read in two steps: the header section first (RawLoader with
//   Part::Header), the whole message only when a BODY or TEXT key is still open.
// - Strings match as case-insensitive substrings of the decoded text (searchtext.h).
//   An empty string matches every message that has the field (HEADER/FROM/...) and
//   every message for BODY/TEXT.
// - BEFORE/ON/SINCE compare the INTERNALDATE's day in UTC (as FETCH INTERNALDATE shows
//   it); SENT* compare the Date: header's day as written (its own offset), falling back
//   to INTERNALDATE when there is no parseable Date: (as RFC 5256 §2.2 does for SORT).
// - WITHIN: YOUNGER n matches internal dates later than now-n, OLDER n the rest.
// - MODSEQ compares MessageMeta::modSeq; per-flag entry names are accepted and ignored
//   (RFC 7162 §3.1.5 lets a server that keeps no per-flag modseq do so).
// - "$" (in a sequence set or UID set) is the saved result, whatever the key type.
// - Work is bounded: the bytes loaded per query are capped (SearchLimits), decoded body
//   text per message is capped (mime::kSearchTextMaxChars), and key trees deeper than
//   kMaxSearchDepth are refused rather than recursed into.
#pragma once

#include "imap/imapcommand.h"
#include "result.h"
#include "store/mailstore.h"

#include <QDateTime>
#include <QList>
#include <QSet>

#include <functional>
#include <optional>

namespace valv::imap {

inline constexpr int kMaxSearchDepth = 1000;

struct SearchLimits {
    qint64 maxLoadedBytes = qint64(512) * 1024 * 1024; // raw message bytes read per query
    qsizetype maxBodyChars = 4 * 1024 * 1024;          // decoded body text per message
};

// The raw bytes of messages[index] (Header: at least its header section, through the
// blank line); nullopt on a store error, described in *error.
enum class LoadPart { Header, Whole };
using RawLoader = std::function<std::optional<QByteArray>(int index, LoadPart part, QString *error)>;
// For a text key: exactly the UIDs that match it, or nullopt ("cannot tell").
using TextIndex = std::function<std::optional<QSet<uint32_t>>(const SearchKey &key)>;

struct SearchInput {
    const QList<store::MessageMeta> *messages = nullptr; // the folder snapshot, by sequence
    QList<uint32_t> savedUids;                           // "$", ascending
    RawLoader loadRaw;
    TextIndex textIndex;                                 // optional
    QDateTime now;                                       // for WITHIN; invalid = current time
    SearchLimits limits;
};

enum class SearchError {
    Unsupported = 1, // a key this server does not offer (EMAILID, SAVEDATE...) or a tree too deep
    LoadFailed,      // the loader failed
    TooMuchData,     // SearchLimits::maxLoadedBytes would be exceeded
};

struct SearchOutcome {
    QList<int> indexes;          // ascending
    uint64_t highestModSeq = 0;  // of the matches (RFC 7162 §3.1.5 response)
    int loadedMessages = 0;
    qint64 loadedBytes = 0;
};

[[nodiscard]] Result<SearchOutcome> search(const SearchKey &key, const SearchInput &input);

// True when the tree contains a key of this kind (e.g. MODSEQ, for the response form).
[[nodiscard]] bool containsKey(const SearchKey &key, SearchKey::Kind kind);

} // namespace valv::imap
