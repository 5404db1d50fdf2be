// SPDX-License-Identifier: AGPL-3.0-or-later
// The full-text index behind IMAP SEARCH TEXT/BODY/FROM/TO/CC/BCC/SUBJECT: two FTS3 tables
// in each mailbox file (header fields; body text) whose tokens are character trigrams.
//
// Implementation notes
// - IMAP SEARCH matches case-insensitive *substrings* (RFC 9051 §6.4.4), which word
//   tokens cannot answer ("voice" must find "invoice"). Every run of three characters of
//   the case-folded text is a token, at its character position; a needle of three or
//   more characters is an FTS phrase of its own trigrams at consecutive positions, and
//   the phrase matches exactly where the needle is a substring. No message is decoded
//   at query time, and the answer is exact (no second pass over the candidates).
// - Folding is QString::toCaseFolded(), the same per-character folding QString uses for
//   Qt::CaseInsensitive, so the index agrees with the evaluator's substring test.
// - Values of one column (several To: fields, every header of a message) are joined with
//   U+FFFE, which no folded needle contains, so a match never spans two values (a real
//   U+FFFE in a message acts as one more separator). The
//   FTS query syntax gives '"' and '*' a meaning inside a phrase; both are mapped to
//   noncharacters (U+FFFF, U+FFFC) in text and needle alike, and those code points, if
//   a message really contains them, read as U+FFFD.
// - Needles shorter than three characters have no trigram: the caller searches those
//   the slow way (see imap/searchengine.h).
// - SQLCipher 3.4 has FTS3/FTS4 but no FTS5 and no built-in trigram tokenizer: the tokenizer
//   is registered on every mailbox connection (sqlite3_tokenizer_module, SQLite's
//   fts3_tokenizer.h interface, which libsqlcipher-dev does not ship).
#pragma once

#include <QString>

namespace valv::store {

// What one message contributes to the index, before folding (the store folds).
struct SearchDocument {
    QString headers; // every header field: name U+FFFE value U+FFFE ...
    QString from, to, cc, bcc, subject; // that field's values, joined with U+FFFE
    QString body;    // decoded text of the text parts
};

inline constexpr QChar kSearchValueSeparator = QChar(0xFFFE);

enum class TextField { Any, Body, From, To, Cc, Bcc, Subject };

namespace searchindex {

inline constexpr const char *kTokenizerName = "valvtrigram";

// The sqlite3_tokenizer_module, for Database::registerTokenizer.
[[nodiscard]] const void *tokenizerModule();
// Case-folded, with the FTS query characters mapped away (see above). A document keeps
// its U+FFFE value separators; in a needle U+FFFE reads as U+FFFD.
enum class FoldFor { Document, Needle };
[[nodiscard]] QString fold(const QString &text, FoldFor what);
// Whether `needle` (not yet folded) can be answered from the index.
[[nodiscard]] bool indexable(const QString &needle);
// The MATCH argument for a needle: one quoted phrase.
[[nodiscard]] QString phrase(const QString &needle);

} // namespace searchindex
} // namespace valv::store
