// SPDX-License-Identifier: AGPL-3.0-or-later
// Token layer of the IMAP command parser: RFC 9051 §9 / RFC 3501 §9 terminals.
// Private to valv_imap_parser.
//
// Implementation notes:
// - The lexer never reads past the start of the next unconsumed literal: `peek()` sees
//   the end of input there, and only `literal()` can step over literal data, and only
//   when the announced length matches the receiver's literal map exactly.
// - The first error wins; every token function returns nullopt/false after an error.
// - Nesting depth is counted by enter()/leave() and bounded by maxNesting.
#pragma once

#include "imap/imapreceiver.h"

#include <QDate>
#include <QDateTime>

#include <optional>

namespace valv::imap::detail {

bool isAtomChar(int c);
bool isAstringChar(int c);
bool isTagChar(int c);

class Lexer {
public:
    Lexer(const ParseInput &input, int maxNesting);

    [[nodiscard]] bool ok() const { return m_error.isEmpty(); }
    [[nodiscard]] const QString &error() const { return m_error; }
    // Records the first error (later ones are dropped); always returns false.
    bool fail(const QString &message);
    // "expected <what> at offset N"
    bool expected(const char *what);
    [[nodiscard]] qsizetype pos() const { return m_pos; }
    [[nodiscard]] int maxNesting() const { return m_maxNesting; }

    // Characters. peek() returns -1 at the end of the text or at unconsumed literal data.
    [[nodiscard]] int peek(qsizetype ahead = 0) const;
    bool eat(char c);
    bool expect(char c, const char *what);
    bool sp(const char *what); // a single SP before <what>
    [[nodiscard]] bool atEnd() const;
    // Case-insensitive keyword at the cursor, followed by something that cannot continue an atom.
    [[nodiscard]] bool peekWord(const char *word, qsizetype ahead = 0) const;
    bool eatWord(const char *word);

    bool enter(); // after '(' : depth check
    void leave();

    // Tokens.
    std::optional<QByteArray> tag();
    std::optional<QByteArray> atom(const char *what);           // 1*ATOM-CHAR, as given
    std::optional<QByteArray> upperAtom(const char *what);      // 1*ATOM-CHAR, upper-cased
    std::optional<QByteArray> keyword(const char *what);        // 1*(ALPHA/DIGIT/"."/"-"), upper-cased
    std::optional<QByteArray> astring(const char *what);        // atom (8-bit tolerated) / string
    std::optional<QByteArray> string(const char *what);         // quoted / literal
    std::optional<QByteArray> quoted(const char *what);
    std::optional<QByteArray> literal(const char *what, bool allowLiteral8, bool *wasLiteral8 = nullptr);
    std::optional<std::optional<QByteArray>> nstring(const char *what);
    std::optional<QByteArray> listMailbox(const char *what);    // 1*list-char / string
    std::optional<uint32_t> number(const char *what);
    std::optional<uint32_t> nzNumber(const char *what);
    std::optional<uint64_t> number64(const char *what);         // 63-bit
    std::optional<SequenceSet> sequenceSet(const char *what, bool allowSaved = true);
    std::optional<QDate> date(const char *what);                 // date-text or "date-text"
    std::optional<QDateTime> dateTime(const char *what);         // "dd-Mon-yyyy hh:mm:ss +zzzz"
    std::optional<QString> mailbox(const char *what);            // decoded, INBOX normalised
    std::optional<QString> mailboxPattern(const char *what);     // list-mailbox, decoded
    std::optional<QByteArray> flag(const char *what);            // system flags canonicalised
    std::optional<QList<QByteArray>> flagList(const char *what); // "(" [flag *(SP flag)] ")"

private:
    [[nodiscard]] qsizetype limit() const;
    std::optional<uint32_t> seqNumber(const char *what);
    std::optional<QString> decodeName(const QByteArray &raw, const char *what, bool isPattern);

    const QByteArray &m_bytes;
    const QList<std::pair<qsizetype, qsizetype>> &m_literals;
    qsizetype m_pos = 0;
    qsizetype m_literalIndex = 0;
    int m_depth = 0;
    int m_maxNesting = 64;
    bool m_utf8Names = false;
    QString m_error;
};

} // namespace valv::imap::detail
