// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 1939 §3 (commands, multi-line responses), §5-§7 (command arguments), RFC 2449 §5
// (CAPA), RFC 5034 §4 (AUTH), RFC 2595 §4 (STLS), RFC 6856 §2 (UTF8).
#include "pop3/pop3receiver.h"

#include "crlfsize.h"

#include <cstring>

namespace valv::pop3 {

namespace {

struct Keyword {
    const char *text;
    CommandName name;
};
constexpr Keyword kKeywords[] = {
    {"USER", CommandName::User}, {"PASS", CommandName::Pass}, {"APOP", CommandName::Apop},
    {"AUTH", CommandName::Auth}, {"STLS", CommandName::Stls}, {"CAPA", CommandName::Capa},
    {"UTF8", CommandName::Utf8}, {"STAT", CommandName::Stat}, {"LIST", CommandName::List},
    {"RETR", CommandName::Retr}, {"DELE", CommandName::Dele}, {"NOOP", CommandName::Noop},
    {"RSET", CommandName::Rset}, {"TOP", CommandName::Top},   {"UIDL", CommandName::Uidl},
    {"QUIT", CommandName::Quit},
};

ParseResult failure(const QString &why, bool unknown = false)
{
    ParseResult r;
    r.error = why;
    r.unknownCommand = unknown;
    return r;
}

// RFC 1939 §3: numbers are decimal; a message-number is 1-based. Leading zeros are
// harmless; anything that is not all digits, or does not fit 32 bits, is a syntax error.
std::optional<uint32_t> number(const QByteArray &s)
{
    if (s.isEmpty() || s.size() > 10)
        return std::nullopt;
    uint64_t n = 0;
    for (char c : s) {
        if (c < '0' || c > '9')
            return std::nullopt;
        n = n * 10 + uint64_t(c - '0');
    }
    if (n > 0xffffffffu)
        return std::nullopt;
    return uint32_t(n);
}

bool printableText(const QByteArray &s)
{
    for (char c : s) {
        const auto b = uchar(c);
        if (b < 0x20 || b == 0x7f)
            return false; // controls (NUL, CR, TAB ...) never belong in a command line
    }
    return true;
}

} // namespace

ParseResult parseCommandLine(const QByteArray &line)
{
    if (!printableText(line))
        return failure(QStringLiteral("Control characters are not allowed in commands"));
    const qsizetype sp = line.indexOf(' ');
    const QByteArray keyword = (sp < 0 ? line : line.left(sp)).toUpper();
    const QByteArray rest = sp < 0 ? QByteArray() : line.mid(sp + 1);
    if (keyword.isEmpty())
        return failure(QStringLiteral("Empty command"), true);
    const Keyword *kw = nullptr;
    for (const Keyword &k : kKeywords) {
        if (keyword == k.text)
            kw = &k;
    }
    if (!kw)
        return failure(QStringLiteral("Unknown command"), true);

    ParseResult r;
    r.command.name = kw->name;
    if (kw->name == CommandName::Pass) {
        // RFC 1939 §7: "a POP3 server may treat spaces in the argument as part of the password".
        if (rest.isEmpty())
            return failure(QStringLiteral("PASS needs a password"));
        r.command.argument = rest;
        r.ok = true;
        return r;
    }
    QList<QByteArray> args;
    for (const QByteArray &a : rest.split(' ')) {
        if (!a.isEmpty())
            args.append(a);
    }
    auto argCount = [&](qsizetype min, qsizetype max) { return args.size() >= min && args.size() <= max; };
    switch (kw->name) {
    case CommandName::User:
        if (!argCount(1, 1))
            return failure(QStringLiteral("USER needs exactly one name"));
        r.command.argument = args[0];
        break;
    case CommandName::Apop:
        if (!argCount(2, 2))
            return failure(QStringLiteral("APOP needs a name and a digest"));
        r.command.argument = args[0];
        break;
    case CommandName::Auth:
        if (!argCount(0, 2))
            return failure(QStringLiteral("AUTH takes a mechanism and an optional initial response"));
        if (!args.isEmpty())
            r.command.mechanism = args[0].toUpper();
        if (args.size() == 2)
            r.command.initialResponse = args[1];
        break;
    case CommandName::List:
    case CommandName::Uidl:
        if (!argCount(0, 1))
            return failure(QStringLiteral("Too many arguments"));
        if (!args.isEmpty()) {
            r.command.msg = number(args[0]);
            if (!r.command.msg)
                return failure(QStringLiteral("Invalid message number"));
        }
        break;
    case CommandName::Retr:
    case CommandName::Dele:
        if (!argCount(1, 1))
            return failure(QStringLiteral("A message number is required"));
        r.command.msg = number(args[0]);
        if (!r.command.msg)
            return failure(QStringLiteral("Invalid message number"));
        break;
    case CommandName::Top: {
        if (!argCount(2, 2))
            return failure(QStringLiteral("TOP needs a message number and a line count"));
        r.command.msg = number(args[0]);
        const auto n = number(args[1]);
        if (!r.command.msg || !n)
            return failure(QStringLiteral("Invalid message number or line count"));
        r.command.lines = *n;
        break;
    }
    default: // STLS CAPA UTF8 STAT NOOP RSET QUIT
        if (!args.isEmpty())
            return failure(QStringLiteral("%1 takes no arguments").arg(QString::fromLatin1(kw->text)));
        break;
    }
    r.ok = true;
    return r;
}

void Pop3Receiver::feed(const QByteArray &bytes)
{
    if (m_pos > 0 && m_pos == m_buffer.size()) {
        m_buffer.clear();
        m_pos = 0;
    }
    m_buffer.append(bytes);
}

ReceiverEvent Pop3Receiver::next()
{
    ReceiverEvent ev;
    while (true) {
        const qsizetype lf = m_buffer.indexOf('\n', m_pos);
        if (m_skipping) {
            if (lf < 0) {
                m_buffer.clear();
                m_pos = 0;
                return ev; // NeedMore
            }
            m_pos = lf + 1;
            m_skipping = false;
            continue;
        }
        if (lf < 0) {
            // + 1: the line's CR may have come without its LF yet.
            if (m_buffer.size() - m_pos > m_maxLine + 1) {
                m_buffer.clear();
                m_pos = 0;
                m_skipping = true;
                ev.type = ReceiverEvent::Type::LineTooLong;
                ev.text = QStringLiteral("Line too long");
                return ev;
            }
            // Keep the buffer from growing by what was already consumed.
            if (m_pos > 0) {
                m_buffer.remove(0, m_pos);
                m_pos = 0;
            }
            return ev; // NeedMore
        }
        QByteArray line = m_buffer.mid(m_pos, lf - m_pos);
        m_pos = lf + 1;
        if (line.endsWith('\r'))
            line.chop(1);
        if (line.size() > m_maxLine) {
            ev.type = ReceiverEvent::Type::LineTooLong;
            ev.text = QStringLiteral("Line too long");
            return ev;
        }
        if (m_sasl) {
            ev.type = ReceiverEvent::Type::SaslLine;
            ev.line = line;
            return ev;
        }
        ParseResult r = parseCommandLine(line);
        if (!r.ok) {
            ev.type = ReceiverEvent::Type::SyntaxError;
            ev.text = r.error;
            ev.unknownCommand = r.unknownCommand;
            return ev;
        }
        ev.type = ReceiverEvent::Type::Command;
        ev.command = std::move(r.command);
        ev.line = std::move(line);
        return ev;
    }
}

namespace {
// True when stuffMessage(raw) would only append ".\r\n": every line ends with CRLF and
// none starts with ".".
bool sendableAsIs(const QByteArray &raw)
{
    const char *p = raw.constData();
    const qsizetype n = raw.size();
    if (n == 0)
        return true;
    if (p[0] == '.' || p[n - 1] != '\n')
        return false;
    for (const char *nl = static_cast<const char *>(memchr(p, '\n', size_t(n))); nl;
         nl = static_cast<const char *>(memchr(nl + 1, '\n', size_t(p + n - nl - 1)))) {
        if (nl == p || nl[-1] != '\r')
            return false;
        if (nl + 1 < p + n && nl[1] == '.')
            return false;
    }
    return true;
}
} // namespace

QByteArray stuffMessage(QByteArray raw, qint64 maxBodyLines)
{
    if (maxBodyLines < 0 && sendableAsIs(raw)) {
        raw.append(".\r\n", 3);
        return raw;
    }
    QByteArray out;
    out.reserve(raw.size() + raw.size() / 64 + 8);
    const char *p = raw.constData();
    const qsizetype n = raw.size();
    bool inBody = false;
    qint64 bodyLines = 0;
    qsizetype i = 0;
    while (i < n) {
        if (inBody && maxBodyLines >= 0 && bodyLines >= maxBodyLines)
            break;
        const char *nl = static_cast<const char *>(memchr(p + i, '\n', size_t(n - i)));
        const qsizetype end = nl ? nl - p : n; // index of LF, or n
        qsizetype contentEnd = end;
        if (contentEnd > i && p[contentEnd - 1] == '\r')
            --contentEnd;
        if (p[i] == '.')
            out.append('.');
        out.append(p + i, contentEnd - i);
        out.append("\r\n", 2);
        if (inBody)
            ++bodyLines;
        else if (contentEnd == i)
            inBody = true; // the empty line that ends the header
        i = end + 1;
    }
    // RFC 1939 §7: TOP sends "the headers, the blank line separating the headers from
    // the body, and then the number of lines" - the blank line even when the message
    // has no body.
    if (maxBodyLines >= 0 && !inBody)
        out.append("\r\n", 2);
    out.append(".\r\n", 3);
    return out;
}

qint64 wireSize(const QByteArray &raw) { return crlfSize(raw); }

} // namespace valv::pop3
