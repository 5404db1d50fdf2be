// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 5321 §4.1.1 command syntax, §4.1.2 argument syntax; ESMTP parameters per §4.1.2
// (esmtp-param), RFC 1870 SIZE, RFC 6531 (UTF-8 in esmtp-value), RFC 3030 BDAT,
// RFC 4954 §4 AUTH.
//
// Implementation notes
// - One line in (CRLF already removed), one ParseResult out; no state.
// - The verb decides the error class: an unrecognised verb is unknownCommand (500 5.5.1),
//   a recognised verb with bad arguments is not (501).
// - Leniencies, all of which major MTAs also allow: trailing spaces, several spaces
//   between ESMTP parameters, a space after "FROM:"/"TO:", '_' and a trailing dot in the
//   HELO/EHLO name, an address literal in HELO.
// - Control characters (C0, DEL) and malformed UTF-8 are rejected anywhere in the line.
#include "smtp/parser_syntax.h"
#include "smtp/smtpreceiver.h"

#include <cstring>

namespace valv::smtp {

namespace {

using syntax::Cursor;
using Verb = Command::Verb;

struct VerbName {
    const char *name;
    Verb verb;
};

constexpr VerbName kVerbs[] = {
    {"HELO", Verb::Helo}, {"EHLO", Verb::Ehlo},         {"MAIL", Verb::Mail},
    {"RCPT", Verb::Rcpt}, {"DATA", Verb::Data},         {"BDAT", Verb::Bdat},
    {"RSET", Verb::Rset}, {"NOOP", Verb::Noop},         {"QUIT", Verb::Quit},
    {"VRFY", Verb::Vrfy}, {"EXPN", Verb::Expn},         {"HELP", Verb::Help},
    {"STARTTLS", Verb::StartTls}, {"AUTH", Verb::Auth},
};

bool sameIgnoreCase(const char *a, qsizetype n, const char *upper)
{
    if (qsizetype(std::strlen(upper)) != n)
        return false;
    for (qsizetype i = 0; i < n; ++i) {
        char x = a[i];
        if (x >= 'a' && x <= 'z')
            x = char(x - 32);
        if (x != upper[i])
            return false;
    }
    return true;
}

ParseResult fail(const char *why)
{
    ParseResult r;
    r.error = QString::fromLatin1(why);
    return r;
}

bool parseDecimal(const QByteArray &digits, quint64 *out)
{
    if (digits.isEmpty() || digits.size() > 20)
        return false;
    quint64 v = 0;
    for (char ch : digits) {
        if (ch < '0' || ch > '9')
            return false;
        const quint64 d = quint64(ch - '0');
        if (v > (~quint64(0) - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (out)
        *out = v;
    return true;
}

// Mail-parameters = esmtp-param *(SP esmtp-param)
// esmtp-param = esmtp-keyword ["=" esmtp-value]
// esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
// esmtp-value = 1*(%d33-60 / %d62-126) ; RFC 6531: =/ UTF8-non-ascii
bool parseParams(Cursor &c, Command *cmd, QString *error)
{
    if (c.atEnd())
        return true;
    if (c.peek() != ' ') {
        *error = QStringLiteral("Expected a space before ESMTP parameters");
        return false;
    }
    while (!c.atEnd()) {
        while (!c.atEnd() && c.peek() == ' ')
            ++c.pos;
        if (c.atEnd())
            break;
        const qsizetype start = c.pos;
        if (!syntax::isAlnum(c.peek())) {
            *error = QStringLiteral("Bad ESMTP parameter keyword");
            return false;
        }
        while (!c.atEnd() && (syntax::isAlnum(c.peek()) || c.peek() == '-'))
            ++c.pos;
        QByteArray key = QByteArray(c.data + start, c.pos - start).toUpper();
        QByteArray value;
        if (!c.atEnd() && c.peek() == '=') {
            ++c.pos;
            const qsizetype vstart = c.pos;
            while (!c.atEnd() && c.peek() != ' ') {
                const uchar b = c.peek();
                if (b == '=' || b < 33 || b == 127) {
                    *error = QStringLiteral("Bad ESMTP parameter value");
                    return false;
                }
                ++c.pos; // bytes >= 0x80: the whole line was checked as UTF-8 already
            }
            value = QByteArray(c.data + vstart, c.pos - vstart);
            if (value.isEmpty()) {
                *error = QStringLiteral("Empty ESMTP parameter value");
                return false;
            }
        } else if (!c.atEnd() && c.peek() != ' ') {
            *error = QStringLiteral("Bad ESMTP parameter keyword");
            return false;
        }
        // RFC 1870: size-value = 1*20DIGIT
        if (key == "SIZE" && !parseDecimal(value, nullptr)) {
            *error = QStringLiteral("SIZE needs a decimal value");
            return false;
        }
        cmd->params.append({key, value});
    }
    return true;
}

// Common part of MAIL FROM: / RCPT TO:
ParseResult parsePathCommand(Cursor c, Command cmd, const char *prefix, bool isMail)
{
    const char *usage = isMail ? "Syntax: MAIL FROM:<address> [parameters]"
                               : "Syntax: RCPT TO:<address> [parameters]";
    const qsizetype plen = qsizetype(std::strlen(prefix));
    if (c.remaining() < plen || !sameIgnoreCase(c.data + c.pos, plen, prefix))
        return fail(usage);
    c.pos += plen;
    while (!c.atEnd() && c.peek() == ' ')
        ++c.pos; // "MAIL FROM: <a@b>" is common and harmless
    if (!syntax::matchPath(c, isMail, !isMail, &cmd.path, &cmd.postmaster))
        return fail(isMail ? "Bad sender address syntax" : "Bad recipient address syntax");
    ParseResult r;
    if (!parseParams(c, &cmd, &r.error))
        return r;
    r.ok = true;
    r.command = std::move(cmd);
    return r;
}

ParseResult ok(Command cmd)
{
    ParseResult r;
    r.ok = true;
    r.command = std::move(cmd);
    return r;
}

bool isBase64OrEquals(const QByteArray &s)
{
    if (s == "=")
        return true; // RFC 4954 §4: "=" is an empty initial response
    if (s.isEmpty())
        return false;
    for (char ch : s) {
        const uchar b = uchar(ch);
        if (!syntax::isAlnum(b) && b != '+' && b != '/' && b != '=')
            return false;
    }
    return true;
}

} // namespace

ParseResult parseCommandLine(const QByteArray &line)
{
    qsizetype n = line.size();
    while (n > 0 && line.at(n - 1) == ' ')
        --n;
    const char *s = line.constData();
    qsizetype verbLen = 0;
    while (verbLen < n && s[verbLen] != ' ')
        ++verbLen;

    const VerbName *found = nullptr;
    for (const auto &v : kVerbs) {
        if (sameIgnoreCase(s, verbLen, v.name)) {
            found = &v;
            break;
        }
    }
    if (!found) {
        ParseResult r;
        r.unknownCommand = true;
        r.error = n == 0 ? QStringLiteral("Empty command") : QStringLiteral("Unknown command");
        return r;
    }
    for (qsizetype i = 0; i < n; ++i) {
        const uchar b = uchar(s[i]);
        if (b < 32 || b == 127)
            return fail("Control character in command");
    }
    if (!syntax::isValidUtf8(s, n))
        return fail("Malformed UTF-8 in command");

    Command cmd;
    cmd.verb = found->verb;
    // `arg` is everything after the single space that follows the verb.
    const bool hasArg = verbLen < n;
    const qsizetype argStart = hasArg ? verbLen + 1 : n;
    const QByteArray arg(s + argStart, n - argStart);
    Cursor c{s, n, argStart};

    switch (cmd.verb) {
    case Verb::Helo:
    case Verb::Ehlo: {
        // RFC 5321 §4.1.1.1: ehlo = "EHLO" SP ( Domain / address-literal )
        const char *usage = cmd.verb == Verb::Helo ? "Syntax: HELO hostname"
                                                   : "Syntax: EHLO hostname";
        if (arg.isEmpty())
            return fail(usage);
        const bool matched = c.peek() == '['
            ? syntax::matchAddressLiteral(c, nullptr)
            : syntax::matchDomain(c, syntax::DomainRules::Helo, nullptr);
        if (!matched || !c.atEnd())
            return fail(usage);
        cmd.domain = QString::fromUtf8(arg);
        return ok(std::move(cmd));
    }
    case Verb::Mail:
        // §4.1.1.2: mail = "MAIL FROM:" Reverse-path [SP Mail-parameters]
        return parsePathCommand(c, std::move(cmd), "FROM:", true);
    case Verb::Rcpt:
        // §4.1.1.3: rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" /
        //                               Forward-path ) [SP Rcpt-parameters]
        return parsePathCommand(c, std::move(cmd), "TO:", false);
    case Verb::Data:
    case Verb::Rset:
    case Verb::Quit:
    case Verb::StartTls:
        if (hasArg)
            return fail("This command takes no argument");
        return ok(std::move(cmd));
    case Verb::Noop:
    case Verb::Help:
        // §4.1.1.8 / §4.1.1.9: [ SP String ]
        cmd.argument = arg;
        return ok(std::move(cmd));
    case Verb::Vrfy:
    case Verb::Expn:
        // §4.1.1.6 / §4.1.1.7: SP String
        if (arg.isEmpty())
            return fail(cmd.verb == Verb::Vrfy ? "Syntax: VRFY address" : "Syntax: EXPN list");
        cmd.argument = arg;
        return ok(std::move(cmd));
    case Verb::Auth: {
        // RFC 4954 §4: "AUTH" SP sasl-mech [SP initial-response]
        // sasl-mech = 1*20 mech-char ; mech-char = UPPER-ALPHA / DIGIT / HYPHEN / UNDERSCORE
        const qsizetype sp = arg.indexOf(' ');
        const QByteArray mech = sp < 0 ? arg : arg.left(sp);
        if (mech.isEmpty() || mech.size() > 20)
            return fail("Syntax: AUTH mechanism [initial-response]");
        for (char ch : mech) {
            if (!syntax::isAlnum(uchar(ch)) && ch != '-' && ch != '_')
                return fail("Syntax: AUTH mechanism [initial-response]");
        }
        if (sp >= 0 && !isBase64OrEquals(arg.mid(sp + 1)))
            return fail("Malformed AUTH initial response");
        cmd.argument = arg;
        return ok(std::move(cmd));
    }
    case Verb::Bdat: {
        // RFC 3030 §2: bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ] CR LF
        const qsizetype sp = arg.indexOf(' ');
        const QByteArray size = sp < 0 ? arg : arg.left(sp);
        if (!parseDecimal(size, &cmd.bdatSize))
            return fail("Syntax: BDAT size [LAST]");
        if (sp >= 0) {
            const QByteArray marker = arg.mid(sp + 1);
            if (!sameIgnoreCase(marker.constData(), marker.size(), "LAST"))
                return fail("Syntax: BDAT size [LAST]");
            cmd.bdatLast = true;
        }
        return ok(std::move(cmd));
    }
    }
    return fail("Unknown command");
}

std::optional<Address> parseAddress(const QByteArray &text)
{
    Cursor c{text.constData(), text.size(), 0};
    Address a;
    if (!syntax::matchMailbox(c, &a) || !c.atEnd())
        return std::nullopt;
    return a;
}

} // namespace valv::smtp
