// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 2045 §5.1 Content-Type, RFC 2183 Content-Disposition, RFC 2231 parameter
// continuations, RFC 3282 Content-Language, RFC 5322 §3.4 address lists.
#include "mime/headerparse.h"

#include <algorithm>

namespace valv::mime::detail {

namespace {

struct Cursor {
    const char *p;
    const char *e;
    bool atEnd() const { return p >= e; }
};

bool isLwsp(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Skips a comment starting at '('; returns its raw inner text.
QByteArray skipComment(Cursor &c)
{
    const char *start = ++c.p;
    int depth = 1;
    for (; c.p < c.e; ++c.p) {
        if (*c.p == '\\' && c.p + 1 < c.e) {
            ++c.p;
        } else if (*c.p == '(') {
            ++depth;
        } else if (*c.p == ')' && --depth == 0) {
            QByteArray inner(start, c.p - start);
            ++c.p;
            return inner;
        }
    }
    return QByteArray(start, c.e - start);
}

void skipCfws(Cursor &c)
{
    while (!c.atEnd()) {
        if (isLwsp(*c.p))
            ++c.p;
        else if (*c.p == '(')
            skipComment(c);
        else
            break;
    }
}

bool isMimeTokenChar(uchar c)
{
    if (c <= 0x20 || c == 0x7f)
        return false;
    return !strchr("()<>@,;:\\\"/[]?=", c);
}

QByteArray mimeToken(Cursor &c)
{
    const char *start = c.p;
    while (!c.atEnd() && isMimeTokenChar(uchar(*c.p)))
        ++c.p;
    return QByteArray(start, c.p - start);
}

// At '"': the unescaped content; the closing quote is optional at the end of input.
QByteArray quotedString(Cursor &c)
{
    QByteArray out("");
    ++c.p;
    while (!c.atEnd() && *c.p != '"') {
        if (*c.p == '\\' && c.p + 1 < c.e)
            ++c.p;
        out.append(*c.p);
        ++c.p;
    }
    if (!c.atEnd())
        ++c.p;
    return out;
}

struct Rfc2231Piece {
    QByteArray key;
    QByteArray value;
    unsigned index = 0;
    bool extended = false;
};

// Merges key*N[*] continuations the way Dovecot's rfc2231_parse does: plain params in
// order, then merged ones sorted by key; an incomplete sequence is left unmerged.
void mergeRfc2231(Params *out, const Params &all)
{
    std::vector<Rfc2231Piece> pieces;
    for (const auto &[key, value] : all) {
        const qsizetype star = key.indexOf('*');
        if (star <= 0) {
            out->append({key, value});
            continue;
        }
        Rfc2231Piece piece{key.left(star), value};
        qsizetype p = star + 1;
        if (p == key.size()) { // key*=charset'lang'value
            piece.extended = true;
            pieces.push_back(std::move(piece));
            continue;
        }
        bool digits = false;
        while (p < key.size() && key[p] >= '0' && key[p] <= '9') {
            if (piece.index < 100000)
                piece.index = piece.index * 10 + unsigned(key[p] - '0');
            ++p;
            digits = true;
        }
        if (p < key.size() && key[p] == '*') {
            piece.extended = true;
            ++p;
        }
        if (p != key.size() || !digits) {
            out->append({key, value});
            continue;
        }
        pieces.push_back(std::move(piece));
    }
    std::stable_sort(pieces.begin(), pieces.end(), [](const auto &a, const auto &b) {
        const int cmp = qstrcmp(a.key, b.key);
        return cmp != 0 ? cmp < 0 : a.index < b.index;
    });
    for (size_t i = 0, next = 0; i < pieces.size(); i = next) {
        bool complete = true;
        bool extended = false;
        unsigned expect = 0;
        for (next = i; next < pieces.size()
             && pieces[next].key.compare(pieces[i].key, Qt::CaseInsensitive) == 0;
             ++next) {
            complete = complete && pieces[next].index == expect++;
            extended = extended || pieces[next].extended;
        }
        if (!complete) {
            for (size_t j = i; j < next; ++j) {
                const auto &pc = pieces[j];
                out->append({pc.key + '*' + QByteArray::number(pc.index)
                                 + (pc.extended ? "*" : ""),
                             pc.value});
            }
            continue;
        }
        QByteArray value("");
        if (extended && !pieces[i].extended)
            value += "''";
        for (size_t j = i; j < next; ++j) {
            if (extended && !pieces[j].extended)
                value += QByteArray(pieces[j].value).replace("%", "%25");
            else
                value += pieces[j].value;
        }
        out->append({extended ? pieces[i].key + '*' : pieces[i].key, value});
    }
}

void parseParams(Cursor &c, Params *params)
{
    Params all;
    while (true) {
        skipCfws(c);
        if (c.atEnd())
            break;
        if (*c.p != ';') {
            ++c.p; // garbage: resynchronise on the next ';'
            continue;
        }
        ++c.p;
        skipCfws(c);
        const QByteArray key = mimeToken(c);
        if (key.isEmpty())
            continue;
        skipCfws(c);
        if (c.atEnd() || *c.p != '=')
            continue;
        ++c.p;
        skipCfws(c);
        QByteArray value("");
        if (!c.atEnd() && *c.p == '"') {
            value = quotedString(c);
        } else {
            // Lenient: unquoted values often carry '=' or '/' (boundary=----=_Part_1).
            const char *start = c.p;
            while (!c.atEnd() && *c.p != ';' && !isLwsp(*c.p) && *c.p != '(' && *c.p != '"')
                ++c.p;
            value = QByteArray(start, c.p - start);
        }
        all.append({key, value});
        if (all.size() >= 1000)
            break;
    }
    mergeRfc2231(params, all);
}

} // namespace

bool parseContentType(const QByteArray &value, QByteArray *type, QByteArray *subtype,
                      Params *params)
{
    Cursor c{value.constData(), value.constData() + value.size()};
    skipCfws(c);
    const QByteArray t = mimeToken(c);
    skipCfws(c);
    if (t.isEmpty() || c.atEnd() || *c.p != '/')
        return false;
    ++c.p;
    skipCfws(c);
    const QByteArray s = mimeToken(c);
    if (s.isEmpty())
        return false;
    *type = t;
    *subtype = s;
    params->clear();
    parseParams(c, params);
    return true;
}

QByteArray parseTokenWithParams(const QByteArray &value, Params *params)
{
    Cursor c{value.constData(), value.constData() + value.size()};
    skipCfws(c);
    const QByteArray token = mimeToken(c);
    if (token.isEmpty())
        return {};
    if (params) {
        params->clear();
        parseParams(c, params);
    }
    return token;
}

QList<QByteArray> parseLanguageList(const QByteArray &value)
{
    QList<QByteArray> out;
    Cursor c{value.constData(), value.constData() + value.size()};
    while (out.size() < 100) {
        skipCfws(c);
        const char *start = c.p;
        while (!c.atEnd() && (isalnum(uchar(*c.p)) || *c.p == '-'))
            ++c.p;
        if (c.p == start)
            break;
        out.append(QByteArray(start, c.p - start));
        skipCfws(c);
        if (c.atEnd() || *c.p != ',')
            break;
        ++c.p;
    }
    return out;
}

// ---- RFC 5322 address lists ----

namespace {

struct Token {
    enum class Type { Word, Quoted, Literal, Special, Comment };
    Type type;
    QByteArray text;
    bool isSpecial(char ch) const { return type == Type::Special && text.size() == 1 && text[0] == ch; }
    bool isWord() const { return type == Type::Word || type == Type::Quoted || type == Type::Literal; }
};

bool isWordChar(uchar c)
{
    if (c <= 0x20 || c == 0x7f)
        return false;
    return !strchr("()<>[]:;@\\,\"", c);
}

QList<Token> tokenize(const QByteArray &value)
{
    QList<Token> out;
    Cursor c{value.constData(), value.constData() + value.size()};
    while (!c.atEnd()) {
        const char ch = *c.p;
        if (isLwsp(ch) || uchar(ch) < 0x20 || ch == 0x7f) {
            ++c.p;
        } else if (ch == '(') {
            out.append({Token::Type::Comment, skipComment(c)});
        } else if (ch == '"') {
            out.append({Token::Type::Quoted, quotedString(c)});
        } else if (ch == '[') {
            const char *start = c.p;
            while (!c.atEnd() && *c.p != ']')
                ++c.p;
            if (!c.atEnd())
                ++c.p;
            out.append({Token::Type::Literal, QByteArray(start, c.p - start)});
        } else if (isWordChar(uchar(ch))) {
            const char *start = c.p;
            while (!c.atEnd() && isWordChar(uchar(*c.p)))
                ++c.p;
            out.append({Token::Type::Word, QByteArray(start, c.p - start)});
        } else {
            out.append({Token::Type::Special, QByteArray(1, ch)});
            ++c.p;
        }
    }
    return out;
}

class AddressParser {
public:
    explicit AddressParser(const QList<Token> &tokens) : m_t(tokens), m_n(tokens.size()) {}

    QList<Address> run()
    {
        while (m_i < m_n && m_out.size() < kMaxAddresses) {
            if (special(m_i, ',') || special(m_i, ';') || special(m_i, '>')) {
                ++m_i;
                continue;
            }
            qsizetype j = m_i;
            while (j < m_n && !special(j, '<') && !special(j, ',') && !special(j, ';')
                   && !special(j, ':'))
                ++j;
            if (j < m_n && special(j, ':')) {
                group(j);
            } else {
                mailbox(false);
            }
        }
        return m_out;
    }

private:
    bool special(qsizetype k, char ch) const { return k < m_n && m_t[k].isSpecial(ch); }

    void group(qsizetype colon)
    {
        QByteArray name = phrase(m_i, colon);
        if (name.isNull())
            name = QByteArray("");
        m_out.append({QByteArray(), QByteArray(), name, QByteArray()});
        m_i = colon + 1;
        while (m_i < m_n && m_out.size() < kMaxAddresses) {
            if (special(m_i, ';')) {
                ++m_i;
                break;
            }
            if (special(m_i, ',') || special(m_i, ':') || special(m_i, '>')) {
                ++m_i;
                continue;
            }
            mailbox(true);
        }
        m_out.append(Address{});
    }

    void mailbox(bool inGroup)
    {
        const qsizetype start = m_i;
        qsizetype j = m_i;
        while (j < m_n && !special(j, '<') && !special(j, ',') && !special(j, ';')
               && !(inGroup && special(j, ':')))
            ++j;
        Address a;
        if (j < m_n && special(j, '<')) {
            a.name = phrase(start, j);
            qsizetype k = j + 1;
            if (special(k, '@')) {
                qsizetype r = k;
                while (r < m_n && !special(r, ':') && !special(r, '>'))
                    ++r;
                if (special(r, ':')) {
                    a.adl = concat(k, r);
                    k = r + 1;
                }
            }
            qsizetype m = k;
            while (m < m_n && !special(m, '>') && !special(m, ',') && !special(m, ';'))
                ++m;
            addrSpec(k, m, &a);
            m_i = m;
            while (m_i < m_n && !special(m_i, ',') && !special(m_i, ';'))
                ++m_i;
        } else {
            bool any = false;
            for (qsizetype k = start; k < j; ++k) {
                // user@host (Real Name): a comment after the address names it.
                if (m_t[k].type != Token::Type::Comment)
                    any = true;
                else if (any)
                    a.name = m_t[k].text;
            }
            m_i = j;
            if (!any) {
                if (m_i == start)
                    ++m_i; // a stray ':' outside a group; keep moving
                return;
            }
            addrSpec(start, j, &a);
        }
        m_out.append(a);
    }

    // Words joined by single spaces, comments dropped; null when there are none.
    QByteArray phrase(qsizetype from, qsizetype to) const
    {
        QByteArray out;
        for (qsizetype k = from; k < to; ++k) {
            if (m_t[k].type == Token::Type::Comment)
                continue;
            if (!out.isEmpty())
                out += ' ';
            out += m_t[k].text;
        }
        return out.isEmpty() ? QByteArray() : out;
    }

    QByteArray concat(qsizetype from, qsizetype to) const
    {
        QByteArray out("");
        for (qsizetype k = from; k < to; ++k) {
            if (m_t[k].type != Token::Type::Comment)
                out += m_t[k].text;
        }
        return out;
    }

    void addrSpec(qsizetype from, qsizetype to, Address *a) const
    {
        qsizetype at = -1;
        for (qsizetype k = from; k < to; ++k) {
            if (special(k, '@'))
                at = k;
        }
        a->mailbox = concat(from, at < 0 ? to : at);
        a->host = at < 0 ? QByteArray() : concat(at + 1, to);
        if (a->mailbox.isEmpty())
            a->mailbox = "MISSING_MAILBOX";
        if (a->host.isEmpty())
            a->host = "MISSING_DOMAIN";
    }

    const QList<Token> &m_t;
    const qsizetype m_n;
    qsizetype m_i = 0;
    QList<Address> m_out;
};

} // namespace

QList<Address> parseAddressList(const QByteArray &value)
{
    const QList<Token> tokens = tokenize(value);
    return AddressParser(tokens).run();
}

} // namespace valv::mime::detail
