// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 8601 §2.2 Authentication-Results header field: builder and parser.
#include "auth/authresults.h"

#include <optional>

namespace valv::auth {

namespace {

constexpr int kMaxCommentDepth = 64;
constexpr qsizetype kMaxLine = 998; // RFC 5322 §2.1.1

bool isWsp(char c) { return c == ' ' || c == '\t'; }
bool isAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool is8bit(char c) { return uchar(c) >= 0x80; }
bool isCtl(char c) { return uchar(c) < 0x20 || uchar(c) == 0x7f; }

// RFC 2045 token: US-ASCII, no SPACE, no CTLs, no tspecials.
bool isTokenChar(char c)
{
    if (uchar(c) <= 0x20 || uchar(c) >= 0x7f)
        return false;
    static constexpr QByteArrayView tspecials("()<>@,;:\\\"/[]?=");
    return !tspecials.contains(c);
}

// Keyword (RFC 5321 Ldh-str, with '_' tolerated): starts with a letter or digit.
bool isKeywordChar(char c) { return isAlnum(c) || c == '-' || c == '_'; }

bool isKeyword(const QString &s)
{
    if (s.isEmpty() || s.front().unicode() >= 0x80 || !isAlnum(char(s.front().unicode())))
        return false;
    for (QChar c : s) {
        if (c.unicode() >= 0x80 || !isKeywordChar(char(c.unicode())))
            return false;
    }
    return true;
}

bool isToken(QByteArrayView v)
{
    if (v.isEmpty())
        return false;
    for (char c : v) {
        if (!isTokenChar(c))
            return false;
    }
    return true;
}

bool isDomainChar(char c) { return isAlnum(c) || c == '-' || c == '.' || c == '_'; }

// pvalue's "[ [ local-part ] "@" ] domain-name" as this parser reads it unquoted: a
// token local-part (possibly empty), one '@', then LDH labels.
bool isAddrForm(QByteArrayView v)
{
    const qsizetype at = v.indexOf('@');
    if (at < 0 || v.lastIndexOf('@') != at)
        return false;
    const QByteArrayView local = v.first(at);
    const QByteArrayView domain = v.sliced(at + 1);
    if (!local.isEmpty() && !isToken(local))
        return false;
    if (domain.isEmpty())
        return false;
    for (char c : domain) {
        if (!isDomainChar(c))
            return false;
    }
    return true;
}

// Text safe to put in a header: no CR, LF or other control character (tabs stay).
QByteArray clean(const QString &s)
{
    QByteArray out = s.toUtf8();
    out.removeIf([](char c) { return isCtl(c) && c != '\t'; });
    return out;
}

QByteArray quoted(const QByteArray &v)
{
    QByteArray out;
    out.reserve(v.size() + 2);
    out += '"';
    for (char c : v) {
        if (c == '"' || c == '\\')
            out += '\\';
        out += c;
    }
    out += '"';
    return out;
}

QByteArray valueText(const QString &s)
{
    const QByteArray v = clean(s);
    return isToken(v) ? v : quoted(v);
}

QByteArray pvalueText(const QString &s)
{
    const QByteArray v = clean(s);
    return isToken(v) || isAddrForm(v) ? v : quoted(v);
}

QByteArray commentText(const QString &s)
{
    QByteArray out = "(";
    for (char c : clean(s)) {
        if (c == '(' || c == ')' || c == '\\')
            out += '\\';
        out += c;
    }
    out += ')';
    return out;
}

// Folds a line longer than kMaxLine by putting CRLF before a blank (unfolding restores
// it exactly). A blank is taken only with visible text on both sides of it.
QByteArray fold(const QByteArray &line)
{
    QByteArray out;
    QByteArrayView rest = line;
    while (rest.size() > kMaxLine) {
        qsizetype cut = -1;
        for (qsizetype i = 1; i < rest.size(); ++i) {
            if (isWsp(rest[i]) && !isWsp(rest[i - 1]) && i + 1 < rest.size() && !isWsp(rest[i + 1])) {
                if (i <= kMaxLine || cut < 0)
                    cut = i;
                if (i > kMaxLine)
                    break;
            }
        }
        if (cut < 0)
            break; // one long word: nothing to fold at
        out += rest.first(cut);
        out += "\r\n";
        rest = rest.sliced(cut);
    }
    out += rest;
    return out;
}

QByteArray entryText(const AuthResultEntry &e)
{
    QByteArray out = e.method.toLatin1();
    if (e.methodVersion > 0)
        out += '/' + QByteArray::number(e.methodVersion);
    out += '=' + e.result.toLatin1();
    if (!e.comment.isEmpty())
        out += ' ' + commentText(e.comment);
    if (!e.reason.isEmpty())
        out += " reason=" + valueText(e.reason);
    for (const AuthResultProperty &p : e.properties) {
        if (!isKeyword(p.ptype) || !isKeyword(p.property))
            continue;
        out += ' ' + p.ptype.toLatin1() + '.' + p.property.toLatin1() + '=' + pvalueText(p.value);
    }
    return out;
}

// Unfolds (CRLF or LF before a blank), drops the final line end and the field name.
// Any other CR or LF is an error.
std::optional<QByteArray> unfold(QByteArrayView in)
{
    QByteArray out;
    out.reserve(in.size());
    for (qsizetype i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (c == '\r' || c == '\n') {
            qsizetype j = i;
            if (c == '\r') {
                if (j + 1 >= in.size() || in[j + 1] != '\n')
                    return std::nullopt;
                ++j;
            }
            if (j + 1 == in.size()) {
                i = j; // the field's own line end
                continue;
            }
            if (!isWsp(in[j + 1]))
                return std::nullopt;
            i = j;
            continue;
        }
        out += c;
    }
    static constexpr QByteArrayView name("authentication-results");
    if (out.size() > name.size() && out.first(name.size()).toLower() == name) {
        qsizetype i = name.size();
        while (i < out.size() && isWsp(out[i]))
            ++i;
        if (i < out.size() && out[i] == ':')
            out.remove(0, i + 1);
    }
    return out;
}

class Parser {
public:
    explicit Parser(QByteArrayView s)
        : m_s(s)
    {
    }

    [[nodiscard]] bool failed() const { return m_failed; }
    [[nodiscard]] Error error() const { return makeError(int(AuthResultsError::Syntax), m_error); }
    [[nodiscard]] bool atEnd() const { return m_pos >= m_s.size(); }
    [[nodiscard]] char peek() const { return atEnd() ? '\0' : m_s[m_pos]; }

    void fail(const char *what)
    {
        if (m_failed)
            return;
        m_failed = true;
        m_error = QStringLiteral("Authentication-Results: %1 at offset %2").arg(QLatin1String(what)).arg(m_pos);
    }

    bool consume(char c)
    {
        if (peek() != c || atEnd())
            return false;
        ++m_pos;
        return true;
    }

    bool expect(char c, const char *what)
    {
        if (!consume(c))
            fail(what);
        return !m_failed;
    }

    // CFWS: blanks and comments. The text of the first comment goes to *firstComment.
    bool skipCfws(QString *firstComment = nullptr)
    {
        bool taken = false;
        while (!atEnd() && !m_failed) {
            if (isWsp(peek())) {
                ++m_pos;
            } else if (peek() == '(') {
                QByteArray text;
                if (!comment(text))
                    return false;
                if (firstComment && !taken) {
                    *firstComment = QString::fromUtf8(text);
                    taken = true;
                }
            } else {
                break;
            }
        }
        return !m_failed;
    }

    // One comment, from '(' to its matching ')'. Nested comments keep their parentheses
    // in the text; quoted-pairs lose their backslash.
    bool comment(QByteArray &text)
    {
        int depth = 0;
        while (!atEnd()) {
            const char c = m_s[m_pos++];
            if (c == '(') {
                if (++depth > kMaxCommentDepth) {
                    fail("comments nested too deep");
                    return false;
                }
                if (depth > 1)
                    text += c;
            } else if (c == ')') {
                if (--depth == 0)
                    return true;
                text += c;
            } else if (c == '\\') {
                if (atEnd() || (isCtl(peek()) && peek() != '\t'))
                    break;
                text += m_s[m_pos++];
            } else if (isCtl(c) && c != '\t') {
                fail("control character in a comment");
                return false;
            } else {
                text += c;
            }
        }
        fail("unterminated comment");
        return false;
    }

    // RFC 5322 quoted-string, the quotes and quoted-pair backslashes removed.
    std::optional<QByteArray> quotedString()
    {
        if (!consume('"')) {
            fail("expected '\"'");
            return std::nullopt;
        }
        QByteArray out;
        while (!atEnd()) {
            const char c = m_s[m_pos++];
            if (c == '"')
                return out;
            if (c == '\\') {
                if (atEnd() || (isCtl(peek()) && peek() != '\t'))
                    break;
                out += m_s[m_pos++];
            } else if (isCtl(c) && c != '\t') {
                fail("control character in a quoted-string");
                return std::nullopt;
            } else {
                out += c;
            }
        }
        fail("unterminated quoted-string");
        return std::nullopt;
    }

    // Keyword, lower-cased; empty (and failed) when there is none.
    QString keyword(const char *what)
    {
        const qsizetype start = m_pos;
        if (!atEnd() && isAlnum(peek())) {
            while (!atEnd() && isKeywordChar(peek()))
                ++m_pos;
        }
        if (m_pos == start) {
            fail(what);
            return {};
        }
        return QString::fromLatin1(m_s.sliced(start, m_pos - start)).toLower();
    }

    std::optional<int> number(const char *what)
    {
        const qsizetype start = m_pos;
        while (!atEnd() && isDigit(peek()))
            ++m_pos;
        const qsizetype n = m_pos - start;
        if (n == 0 || n > 9) {
            fail(what);
            return std::nullopt;
        }
        return m_s.sliced(start, n).toByteArray().toInt();
    }

    // RFC 2045 value = token / quoted-string
    std::optional<QString> value(const char *what)
    {
        if (peek() == '"') {
            const auto q = quotedString();
            if (!q)
                return std::nullopt;
            return QString::fromUtf8(*q);
        }
        const qsizetype start = m_pos;
        while (!atEnd() && isTokenChar(peek()))
            ++m_pos;
        if (m_pos == start) {
            fail(what);
            return std::nullopt;
        }
        return QString::fromLatin1(m_s.sliced(start, m_pos - start));
    }

    // pvalue = [CFWS] ( value / [ [ local-part ] "@" ] domain-name ) [CFWS]
    std::optional<QString> pvalue()
    {
        if (!skipCfws())
            return std::nullopt;
        QByteArray v;
        if (peek() == '"') {
            const auto q = quotedString();
            if (!q)
                return std::nullopt;
            v = *q;
            if (consume('@')) {
                const qsizetype start = m_pos;
                while (!atEnd() && (isDomainChar(peek()) || is8bit(peek())))
                    ++m_pos;
                if (m_pos == start) {
                    fail("expected a domain after '@'");
                    return std::nullopt;
                }
                v += '@' + m_s.sliced(start, m_pos - start).toByteArray();
            }
        } else {
            const qsizetype start = m_pos;
            while (!atEnd() && (isTokenChar(peek()) || peek() == '@' || peek() == '/' || is8bit(peek())))
                ++m_pos;
            v = m_s.sliced(start, m_pos - start).toByteArray();
            if (v.isEmpty()) {
                fail("expected a property value");
                return std::nullopt;
            }
            const qsizetype at = v.indexOf('@');
            if (at >= 0) {
                const QByteArrayView domain = QByteArrayView(v).sliced(at + 1);
                if (domain.isEmpty() || domain.contains('@') || domain.contains('/')) {
                    fail("malformed local-part@domain");
                    return std::nullopt;
                }
            }
        }
        if (!skipCfws())
            return std::nullopt;
        return QString::fromUtf8(v);
    }

    // resinfo after its ';': methodspec [CFWS reasonspec] [CFWS 1*propspec]
    std::optional<AuthResultEntry> resinfo(QString method)
    {
        AuthResultEntry e;
        e.method = std::move(method);
        if (consume('/')) {
            if (!skipCfws())
                return std::nullopt;
            const auto v = number("expected a method version");
            if (!v || !skipCfws())
                return std::nullopt;
            e.methodVersion = *v;
        }
        if (!expect('=', "expected '=' after the method") || !skipCfws())
            return std::nullopt;
        e.result = keyword("expected a result");
        if (m_failed || !skipCfws(&e.comment))
            return std::nullopt;
        bool sawReason = false;
        while (!atEnd() && peek() != ';') {
            const qsizetype before = m_pos;
            QString name = keyword("expected a reason or a property");
            if (m_failed || !skipCfws())
                return std::nullopt;
            if (name == u"reason" && peek() == '=' && !sawReason && e.properties.isEmpty()) {
                ++m_pos;
                if (!skipCfws())
                    return std::nullopt;
                const auto r = value("expected a reason");
                if (!r || !skipCfws())
                    return std::nullopt;
                e.reason = *r;
                sawReason = true;
                continue;
            }
            AuthResultProperty p;
            p.ptype = std::move(name);
            if (!expect('.', "expected '.' in a property") || !skipCfws())
                return std::nullopt;
            p.property = keyword("expected a property name");
            if (m_failed || !skipCfws() || !expect('=', "expected '=' after a property name"))
                return std::nullopt;
            const auto v = pvalue();
            if (!v)
                return std::nullopt;
            p.value = *v;
            e.properties << p;
            if (m_pos == before) {
                fail("no progress");
                return std::nullopt;
            }
        }
        return e;
    }

    std::optional<AuthenticationResults> parse()
    {
        AuthenticationResults ar;
        if (!skipCfws())
            return std::nullopt;
        const auto id = value("expected an authserv-id");
        if (!id || !skipCfws())
            return std::nullopt;
        ar.authservId = *id;
        if (isDigit(peek())) {
            const auto v = number("expected a version");
            if (!v || !skipCfws())
                return std::nullopt;
            ar.version = *v;
        }
        bool none = false;
        while (true) {
            if (!skipCfws())
                return std::nullopt;
            if (atEnd())
                break;
            if (none) {
                fail("text after \"none\"");
                return std::nullopt;
            }
            if (!expect(';', "expected ';'") || !skipCfws())
                return std::nullopt;
            if (atEnd() && !ar.entries.isEmpty())
                break; // a ';' after the last result
            QString method = keyword("expected a method or \"none\"");
            if (m_failed || !skipCfws())
                return std::nullopt;
            if (method == u"none" && ar.entries.isEmpty() && peek() != '=' && peek() != '/') {
                none = true;
                continue;
            }
            auto e = resinfo(std::move(method));
            if (!e)
                return std::nullopt;
            ar.entries << *e;
        }
        if (!none && ar.entries.isEmpty()) {
            fail("no results and no \"none\"");
            return std::nullopt;
        }
        return ar;
    }

private:
    QByteArrayView m_s;
    qsizetype m_pos = 0;
    bool m_failed = false;
    QString m_error;
};

Result<QByteArray> prepare(QByteArrayView value)
{
    if (value.size() > kMaxAuthResultsSize)
        return makeError(int(AuthResultsError::TooLarge), QStringLiteral("Authentication-Results: over 64 KiB"));
    const auto unfolded = unfold(value);
    if (!unfolded)
        return makeError(
            int(AuthResultsError::Syntax), QStringLiteral("Authentication-Results: a line break that is not folding"));
    return *unfolded;
}

} // namespace

QByteArray buildAuthenticationResults(const QString &authservId, const QList<AuthResultEntry> &entries)
{
    QList<QByteArray> lines;
    QByteArray first = "Authentication-Results: " + valueText(authservId) + ';';
    QList<const AuthResultEntry *> usable;
    for (const AuthResultEntry &e : entries) {
        if (isKeyword(e.method) && isKeyword(e.result))
            usable << &e;
    }
    if (usable.isEmpty()) {
        lines << first + " none";
    } else {
        lines << first;
        for (qsizetype i = 0; i < usable.size(); ++i)
            lines << '\t' + entryText(*usable[i]) + (i + 1 < usable.size() ? ";" : "");
    }
    QByteArray out;
    for (const QByteArray &line : lines)
        out += fold(line) + "\r\n";
    return out;
}

Result<AuthenticationResults> parseAuthenticationResults(QByteArrayView value)
{
    const auto text = prepare(value);
    if (!text.ok())
        return text.error();
    Parser p(*text);
    auto ar = p.parse();
    if (!ar)
        return p.error();
    return *ar;
}

Result<QString> parseAuthservId(QByteArrayView value)
{
    const auto text = prepare(value);
    if (!text.ok())
        return text.error();
    Parser p(*text);
    if (!p.skipCfws())
        return p.error();
    auto id = p.value("expected an authserv-id");
    if (!id)
        return p.error();
    return *id;
}

} // namespace valv::auth
