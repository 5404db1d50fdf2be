// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 9051 §9 / RFC 3501 §9 terminals: atoms, strings, literals (RFC 7888 LITERAL+,
// RFC 3516 literal8), numbers, sequence sets (RFC 5182 "$"), dates, mailbox names.
#include "imap/parser_lexer.h"

#include <QStringDecoder>

#include <cstring>
#include <limits>

namespace valv::imap::detail {

namespace {

constexpr uint64_t kMax63 = uint64_t(std::numeric_limits<int64_t>::max());

bool isDigit(int c) { return c >= '0' && c <= '9'; }
char upper(char c) { return (c >= 'a' && c <= 'z') ? char(c - 'a' + 'A') : c; }

// Canonical spelling of system flags, so sessions can compare bytes.
QByteArray canonicalFlag(const QByteArray &f)
{
    static const char *const system[] = {"\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "\\Recent"};
    for (const char *s : system) {
        if (f.compare(s, Qt::CaseInsensitive) == 0)
            return QByteArray(s);
    }
    return f;
}

} // namespace

bool isAtomChar(int c)
{
    if (c <= 0x20 || c >= 0x7F)
        return false;
    return std::strchr("(){%*\"\\]", c) == nullptr;
}

bool isAstringChar(int c) { return isAtomChar(c) || c == ']'; }
bool isTagChar(int c) { return isAstringChar(c) && c != '+'; }

Lexer::Lexer(const ParseInput &input, int maxNesting)
    : m_bytes(input.bytes), m_literals(input.literals), m_maxNesting(maxNesting), m_utf8Names(input.utf8Names)
{
    // The literal map must describe ordered, non-overlapping regions inside `bytes`.
    qsizetype end = 0;
    for (const auto &[offset, length] : m_literals) {
        if (offset < end || length < 0 || offset > m_bytes.size() || length > m_bytes.size() - offset) {
            fail(QStringLiteral("invalid literal map"));
            return;
        }
        end = offset + length;
    }
}

bool Lexer::fail(const QString &message)
{
    if (m_error.isEmpty())
        m_error = message;
    return false;
}

bool Lexer::expected(const char *what)
{
    if (peek() < 0 && m_pos >= m_bytes.size())
        return fail(QStringLiteral("expected %1 at end of command").arg(QLatin1String(what)));
    return fail(QStringLiteral("expected %1 at offset %2").arg(QLatin1String(what)).arg(m_pos));
}

qsizetype Lexer::limit() const
{
    if (m_literalIndex < m_literals.size())
        return m_literals[m_literalIndex].first;
    return m_bytes.size();
}

int Lexer::peek(qsizetype ahead) const
{
    if (!ok())
        return -1;
    const qsizetype p = m_pos + ahead;
    if (p >= limit())
        return -1;
    return static_cast<unsigned char>(m_bytes[p]);
}

bool Lexer::eat(char c)
{
    if (peek() != static_cast<unsigned char>(c))
        return false;
    ++m_pos;
    return true;
}

bool Lexer::expect(char c, const char *what)
{
    return eat(c) || expected(what);
}

bool Lexer::sp(const char *what)
{
    if (eat(' '))
        return true;
    if (ok() && m_pos >= m_bytes.size())
        return fail(QStringLiteral("expected SP before %1 at end of command").arg(QLatin1String(what)));
    return fail(QStringLiteral("expected SP before %1 at offset %2").arg(QLatin1String(what)).arg(m_pos));
}

bool Lexer::atEnd() const
{
    return ok() && m_pos >= m_bytes.size() && m_literalIndex >= m_literals.size();
}

bool Lexer::peekWord(const char *word, qsizetype ahead) const
{
    const auto n = qsizetype(std::strlen(word));
    for (qsizetype i = 0; i < n; ++i) {
        const int c = peek(ahead + i);
        if (c < 0 || upper(char(c)) != word[i])
            return false;
    }
    const int next = peek(ahead + n);
    return !(isAtomChar(next) || next == ']');
}

bool Lexer::eatWord(const char *word)
{
    if (!peekWord(word))
        return false;
    m_pos += qsizetype(std::strlen(word));
    return true;
}

bool Lexer::enter()
{
    if (++m_depth > m_maxNesting)
        return fail(QStringLiteral("parentheses nested too deeply (limit %1)").arg(m_maxNesting));
    return true;
}

void Lexer::leave() { --m_depth; }

std::optional<QByteArray> Lexer::tag()
{
    const qsizetype start = m_pos;
    while (isTagChar(peek()))
        ++m_pos;
    if (m_pos == start) {
        expected("tag");
        return std::nullopt;
    }
    return m_bytes.mid(start, m_pos - start);
}

std::optional<QByteArray> Lexer::atom(const char *what)
{
    const qsizetype start = m_pos;
    while (isAtomChar(peek()))
        ++m_pos;
    if (m_pos == start) {
        expected(what);
        return std::nullopt;
    }
    return m_bytes.mid(start, m_pos - start);
}

std::optional<QByteArray> Lexer::upperAtom(const char *what)
{
    auto a = atom(what);
    if (a)
        *a = a->toUpper();
    return a;
}

std::optional<QByteArray> Lexer::keyword(const char *what)
{
    const qsizetype start = m_pos;
    for (;;) {
        const int c = peek();
        if (!(isDigit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '.' || c == '-'))
            break;
        ++m_pos;
    }
    if (m_pos == start) {
        expected(what);
        return std::nullopt;
    }
    return m_bytes.mid(start, m_pos - start).toUpper();
}

std::optional<QByteArray> Lexer::quoted(const char *what)
{
    if (!eat('"')) {
        expected(what);
        return std::nullopt;
    }
    QByteArray out;
    for (;;) {
        const int c = peek();
        if (c < 0) {
            fail(QStringLiteral("unterminated quoted string (%1)").arg(QLatin1String(what)));
            return std::nullopt;
        }
        if (c == '"') {
            ++m_pos;
            return out;
        }
        if (c == '\\') {
            const int e = peek(1);
            if (e != '"' && e != '\\') {
                fail(QStringLiteral("invalid escape in quoted string at offset %1").arg(m_pos));
                return std::nullopt;
            }
            out.append(char(e));
            m_pos += 2;
            continue;
        }
        if (c == 0 || c == '\r' || c == '\n') {
            fail(QStringLiteral("invalid character in quoted string at offset %1").arg(m_pos));
            return std::nullopt;
        }
        out.append(char(c));
        ++m_pos;
    }
}

std::optional<QByteArray> Lexer::literal(const char *what, bool allowLiteral8, bool *wasLiteral8)
{
    bool lit8 = false;
    if (peek() == '~' && peek(1) == '{') {
        if (!allowLiteral8) {
            fail(QStringLiteral("literal8 not allowed for %1").arg(QLatin1String(what)));
            return std::nullopt;
        }
        lit8 = true;
        ++m_pos;
    }
    if (!eat('{')) {
        expected(what);
        return std::nullopt;
    }
    uint64_t n = 0;
    int digits = 0;
    while (isDigit(peek())) {
        if (++digits > 19) {
            fail(QStringLiteral("literal length too large"));
            return std::nullopt;
        }
        n = n * 10 + uint64_t(peek() - '0');
        ++m_pos;
    }
    if (digits == 0) {
        expected("literal length");
        return std::nullopt;
    }
    eat('+'); // LITERAL+ / LITERAL-: the receiver already handled the framing
    if (!expect('}', "'}' closing literal length"))
        return std::nullopt;
    if (m_literalIndex >= m_literals.size() || m_literals[m_literalIndex].first != m_pos
        || uint64_t(m_literals[m_literalIndex].second) != n) {
        fail(QStringLiteral("literal data missing for %1").arg(QLatin1String(what)));
        return std::nullopt;
    }
    QByteArray data = m_bytes.mid(m_pos, qsizetype(n));
    m_pos += qsizetype(n);
    ++m_literalIndex;
    if (!lit8 && data.contains('\0')) {
        fail(QStringLiteral("NUL in literal (use literal8)"));
        return std::nullopt;
    }
    if (wasLiteral8)
        *wasLiteral8 = lit8;
    return data;
}

std::optional<QByteArray> Lexer::string(const char *what)
{
    if (peek() == '"')
        return quoted(what);
    if (peek() == '{')
        return literal(what, false);
    expected(what);
    return std::nullopt;
}

std::optional<QByteArray> Lexer::astring(const char *what)
{
    const int c = peek();
    if (c == '"' || c == '{')
        return string(what);
    const qsizetype start = m_pos;
    for (int ch = peek(); isAstringChar(ch) || ch >= 0x80; ch = peek())
        ++m_pos; // 8-bit bytes tolerated (UTF-8 from clients that do not quote it)
    if (m_pos == start) {
        expected(what);
        return std::nullopt;
    }
    return m_bytes.mid(start, m_pos - start);
}

std::optional<std::optional<QByteArray>> Lexer::nstring(const char *what)
{
    if (eatWord("NIL"))
        return std::optional<QByteArray>();
    auto s = string(what);
    if (!s)
        return std::nullopt;
    return std::optional<QByteArray>(std::move(*s));
}

std::optional<QByteArray> Lexer::listMailbox(const char *what)
{
    const int c = peek();
    if (c == '"' || c == '{')
        return string(what);
    const qsizetype start = m_pos;
    for (int ch = peek(); isAstringChar(ch) || ch == '%' || ch == '*' || ch >= 0x80; ch = peek())
        ++m_pos;
    if (m_pos == start) {
        expected(what);
        return std::nullopt;
    }
    return m_bytes.mid(start, m_pos - start);
}

std::optional<uint64_t> Lexer::number64(const char *what)
{
    if (!isDigit(peek())) {
        expected(what);
        return std::nullopt;
    }
    uint64_t n = 0;
    while (isDigit(peek())) {
        const auto d = uint64_t(peek() - '0');
        if (n > (kMax63 - d) / 10) {
            fail(QStringLiteral("number too large for %1").arg(QLatin1String(what)));
            return std::nullopt;
        }
        n = n * 10 + d;
        ++m_pos;
    }
    return n;
}

std::optional<uint32_t> Lexer::number(const char *what)
{
    const auto n = number64(what);
    if (!n)
        return std::nullopt;
    if (*n > std::numeric_limits<uint32_t>::max()) {
        fail(QStringLiteral("number too large for %1").arg(QLatin1String(what)));
        return std::nullopt;
    }
    return uint32_t(*n);
}

std::optional<uint32_t> Lexer::nzNumber(const char *what)
{
    const auto n = number(what);
    if (n && *n == 0) {
        fail(QStringLiteral("%1 must not be 0").arg(QLatin1String(what)));
        return std::nullopt;
    }
    return n;
}

std::optional<uint32_t> Lexer::seqNumber(const char *what)
{
    if (eat('*'))
        return 0u;
    if (!isDigit(peek())) {
        expected(what);
        return std::nullopt;
    }
    const auto n = number(what);
    if (n && *n == 0) {
        fail(QStringLiteral("0 is not a valid sequence number in %1").arg(QLatin1String(what)));
        return std::nullopt;
    }
    return n;
}

std::optional<SequenceSet> Lexer::sequenceSet(const char *what, bool allowSaved)
{
    SequenceSet set;
    if (peek() == '$') {
        if (!allowSaved) {
            fail(QStringLiteral("\"$\" not allowed in %1").arg(QLatin1String(what)));
            return std::nullopt;
        }
        ++m_pos;
        set.saved = true;
        return set;
    }
    do {
        const auto a = seqNumber(what);
        if (!a)
            return std::nullopt;
        SeqRange r{*a, *a};
        if (eat(':')) {
            const auto b = seqNumber(what);
            if (!b)
                return std::nullopt;
            r.last = *b;
            // Normalised: first <= last, and '*' (0) always in `last`.
            if (r.first == 0 || (r.last != 0 && r.first > r.last))
                std::swap(r.first, r.last);
        }
        set.ranges.append(r);
    } while (eat(','));
    return set;
}

std::optional<QDate> Lexer::date(const char *what)
{
    const bool q = eat('"');
    int day = 0;
    int dayDigits = 0;
    while (isDigit(peek()) && dayDigits < 2) {
        day = day * 10 + (peek() - '0');
        ++m_pos;
        ++dayDigits;
    }
    static const char *const months[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                         "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
    int month = 0;
    if (dayDigits > 0 && eat('-')) {
        for (int m = 0; m < 12 && month == 0; ++m) {
            bool match = true;
            for (int k = 0; k < 3; ++k)
                match = match && peek(k) >= 0 && upper(char(peek(k))) == months[m][k];
            if (match)
                month = m + 1;
        }
        if (month)
            m_pos += 3;
    }
    int year = 0;
    int yearDigits = 0;
    if (month && eat('-')) {
        while (isDigit(peek()) && yearDigits < 4) {
            year = year * 10 + (peek() - '0');
            ++m_pos;
            ++yearDigits;
        }
    }
    if (yearDigits != 4 || isDigit(peek()) || (q && !eat('"'))) {
        expected(what);
        return std::nullopt;
    }
    const QDate d(year, month, day);
    if (!d.isValid()) {
        fail(QStringLiteral("invalid date for %1").arg(QLatin1String(what)));
        return std::nullopt;
    }
    return d;
}

std::optional<QDateTime> Lexer::dateTime(const char *what)
{
    const qsizetype start = m_pos;
    auto bad = [&]() -> std::optional<QDateTime> {
        m_pos = start;
        expected(what);
        return std::nullopt;
    };
    auto digits = [&](int n, int &out) {
        out = 0;
        for (int i = 0; i < n; ++i) {
            if (!isDigit(peek()))
                return false;
            out = out * 10 + (peek() - '0');
            ++m_pos;
        }
        return true;
    };
    if (!eat('"'))
        return bad();
    eat(' '); // date-day-fixed = (SP DIGIT) / 2DIGIT
    // Reuse the date grammar for "dd-Mon-yyyy" (it also accepts a single digit day).
    if (!isDigit(peek()))
        return bad();
    auto d = date(what);
    if (!d)
        return std::nullopt;
    int hh = 0, mm = 0, ss = 0, zh = 0, zm = 0;
    if (!eat(' ') || !digits(2, hh) || !eat(':') || !digits(2, mm) || !eat(':') || !digits(2, ss) || !eat(' '))
        return bad();
    const int sign = peek();
    if (sign != '+' && sign != '-')
        return bad();
    ++m_pos;
    if (!digits(2, zh) || !digits(2, zm) || !eat('"'))
        return bad();
    const QTime t(hh, mm, ss);
    if (!t.isValid() || zm > 59 || zh > 14) {
        fail(QStringLiteral("invalid time for %1").arg(QLatin1String(what)));
        return std::nullopt;
    }
    const int offset = (sign == '-' ? -1 : 1) * (zh * 3600 + zm * 60);
    QDateTime dt(*d, t, Qt::OffsetFromUTC, offset);
    if (!dt.isValid()) {
        fail(QStringLiteral("invalid date-time for %1").arg(QLatin1String(what)));
        return std::nullopt;
    }
    return dt;
}

std::optional<QString> Lexer::decodeName(const QByteArray &raw, const char *what, bool isPattern)
{
    if (raw.compare("INBOX", Qt::CaseInsensitive) == 0)
        return QStringLiteral("INBOX");
    bool ascii = true;
    for (const char c : raw)
        ascii = ascii && static_cast<unsigned char>(c) < 0x80;
    QString name;
    if (ascii && raw.contains('&') && !m_utf8Names) {
        // Modified UTF-7 (RFC 3501 §5.1.3). Names with 8-bit bytes are UTF-8 instead.
        auto decoded = decodeMailboxUtf7(raw);
        if (!decoded) {
            fail(QStringLiteral("invalid modified UTF-7 in %1").arg(QLatin1String(what)));
            return std::nullopt;
        }
        name = std::move(*decoded);
    } else {
        QStringDecoder utf8(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless);
        name = utf8.decode(raw);
        if (utf8.hasError()) {
            fail(QStringLiteral("invalid UTF-8 in %1").arg(QLatin1String(what)));
            return std::nullopt;
        }
    }
    for (const QChar ch : std::as_const(name)) {
        if (ch.unicode() < 0x20 || ch.unicode() == 0x7F) {
            fail(QStringLiteral("control character in %1").arg(QLatin1String(what)));
            return std::nullopt;
        }
    }
    Q_UNUSED(isPattern);
    return name;
}

std::optional<QString> Lexer::mailbox(const char *what)
{
    const auto raw = astring(what);
    if (!raw)
        return std::nullopt;
    return decodeName(*raw, what, false);
}

std::optional<QString> Lexer::mailboxPattern(const char *what)
{
    const auto raw = listMailbox(what);
    if (!raw)
        return std::nullopt;
    return decodeName(*raw, what, true);
}

std::optional<QByteArray> Lexer::flag(const char *what)
{
    const qsizetype start = m_pos;
    eat('\\');
    while (isAtomChar(peek()))
        ++m_pos;
    const qsizetype len = m_pos - start;
    if (len == 0 || (len == 1 && m_bytes[start] == '\\')) {
        m_pos = start;
        expected(what);
        return std::nullopt;
    }
    return canonicalFlag(m_bytes.mid(start, len));
}

std::optional<QList<QByteArray>> Lexer::flagList(const char *what)
{
    if (!eat('(')) {
        expected(what);
        return std::nullopt;
    }
    QList<QByteArray> flags;
    if (eat(')'))
        return flags;
    do {
        auto f = flag("flag");
        if (!f)
            return std::nullopt;
        flags.append(*f);
    } while (eat(' '));
    if (!expect(')', "')' closing flag list"))
        return std::nullopt;
    return flags;
}

} // namespace valv::imap::detail
