// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 7208: §4 check_host(), §5 mechanisms, §6 modifiers, §7 macros, §12 ABNF.
#include "auth/spf.h"

#include <QDateTime>
#include <QUrl>

#include <algorithm>

namespace valv::auth {

namespace {

constexpr int kMaxDnsTerms = 10;    // §4.6.4
constexpr int kMaxVoidLookups = 2;  // §4.6.4
constexpr int kMaxMxNames = 10;     // §4.6.4
constexpr int kMaxPtrNames = 10;    // §4.6.4
constexpr int kMaxNameLength = 253; // §7.3
constexpr int kMaxLabelLength = 63;
// A backstop far above what the limits allow (1 + 10 * 11 + 11 + 1 questions): should a
// bug ever let an evaluation run on, it ends here.
constexpr int kMaxQuestions = 400;

Error err(SpfError code, const QString &text) { return makeError(int(code), text); }

bool isAlpha(QChar c) { return (c >= u'a' && c <= u'z') || (c >= u'A' && c <= u'Z'); }
bool isDigit(QChar c) { return c >= u'0' && c <= u'9'; }
bool isAlnum(QChar c) { return isAlpha(c) || isDigit(c); }

bool allDigits(QStringView s) { return !s.isEmpty() && std::all_of(s.begin(), s.end(), isDigit); }

// ---------------------------------------------------------------------------------------
// §7.1 macro-string / explain-string

enum class MacroMode {
    DomainSpec,    // macro-string of a domain-spec: no SP, no c/r/t
    Explanation,   // explain-string: SP and every letter
    ModifierValue, // unknown-modifier value: never expanded, every letter
};

struct MacroToken {
    enum class Kind { Literal, Escape, Macro };
    Kind kind = Kind::Literal;
    QString text;            // Literal: the characters; Escape: what "%%", "%_" or "%-" stands for
    char16_t letter = 0;     // Macro: lower-case letter
    bool upper = false;      // Macro: URL-escape the expansion (§7.3)
    int keep = 0;            // Macro: right-hand parts to keep, 0 = all
    bool reverse = false;    // Macro: "r"
    QString delimiters;      // Macro: empty = "."
};

Result<QList<MacroToken>> tokenizeMacro(QStringView s, MacroMode mode)
{
    QList<MacroToken> tokens;
    auto literal = [&tokens](QChar c) {
        if (tokens.isEmpty() || tokens.last().kind != MacroToken::Kind::Literal)
            tokens.append(MacroToken{});
        tokens.last().text.append(c);
    };
    const qsizetype n = s.size();
    for (qsizetype i = 0; i < n;) {
        const QChar c = s[i];
        if (c != u'%') {
            const bool ok = (c.unicode() >= 0x21 && c.unicode() <= 0x7e)
                || (c == u' ' && mode == MacroMode::Explanation);
            if (!ok)
                return err(SpfError::BadMacro, QStringLiteral("Character U+%1 in a macro-string")
                                                    .arg(c.unicode(), 4, 16, QLatin1Char('0')));
            literal(c);
            ++i;
            continue;
        }
        if (i + 1 >= n)
            return err(SpfError::BadMacro, QStringLiteral("A '%' at the end of \"%1\"").arg(s));
        const QChar d = s[i + 1];
        if (d == u'%' || d == u'_' || d == u'-') {
            MacroToken t;
            t.kind = MacroToken::Kind::Escape;
            t.text = d == u'%' ? QStringLiteral("%") : d == u'_' ? QStringLiteral(" ") : QStringLiteral("%20");
            tokens.append(t);
            i += 2;
            continue;
        }
        if (d != u'{')
            return err(SpfError::BadMacro, QStringLiteral("'%' not followed by '{', '%', '_' or '-' in \"%1\"").arg(s));
        qsizetype j = i + 2;
        if (j >= n)
            return err(SpfError::BadMacro, QStringLiteral("Unterminated macro in \"%1\"").arg(s));
        MacroToken t;
        t.kind = MacroToken::Kind::Macro;
        t.upper = s[j].isUpper();
        t.letter = s[j].toLower().unicode();
        if (!QStringView(u"slodiphcrtv").contains(QChar(t.letter)) || !isAlpha(s[j]))
            return err(SpfError::BadMacro, QStringLiteral("Unknown macro letter '%1' in \"%2\"").arg(s[j]).arg(s));
        if (mode == MacroMode::DomainSpec && QStringView(u"crt").contains(QChar(t.letter)))
            return err(SpfError::BadMacro,
                       QStringLiteral("Macro letter '%1' is allowed in exp= text only").arg(s[j]));
        ++j;
        bool digits = false;
        while (j < n && isDigit(s[j])) {
            digits = true;
            t.keep = std::min(t.keep * 10 + (s[j].unicode() - u'0'), 100000);
            ++j;
        }
        if (digits && t.keep == 0)
            return err(SpfError::BadMacro, QStringLiteral("Macro transformer 0 in \"%1\"").arg(s));
        if (j < n && (s[j] == u'r' || s[j] == u'R')) {
            t.reverse = true;
            ++j;
        }
        while (j < n && QStringView(u".-+,/_=").contains(s[j]))
            t.delimiters.append(s[j++]);
        if (j >= n || s[j] != u'}')
            return err(SpfError::BadMacro, QStringLiteral("Malformed macro in \"%1\"").arg(s));
        tokens.append(t);
        i = j + 1;
    }
    return tokens;
}

bool usesValidatedName(const QString &s, MacroMode mode)
{
    const auto tokens = tokenizeMacro(s, mode);
    return tokens.ok() && std::any_of(tokens->begin(), tokens->end(), [](const MacroToken &t) {
        return t.kind == MacroToken::Kind::Macro && t.letter == u'p';
    });
}

QHostAddress unmapped(const QHostAddress &ip)
{
    if (ip.protocol() == QAbstractSocket::IPv6Protocol) {
        const Q_IPV6ADDR a = ip.toIPv6Address();
        bool mapped = a[10] == 0xff && a[11] == 0xff;
        for (int k = 0; k < 10 && mapped; ++k)
            mapped = a[k] == 0;
        if (mapped)
            return QHostAddress(quint32(a[12]) << 24 | quint32(a[13]) << 16 | quint32(a[14]) << 8 | quint32(a[15]));
        return QHostAddress(a); // without a scope id
    }
    return ip;
}

bool isV4(const QHostAddress &ip) { return ip.protocol() == QAbstractSocket::IPv4Protocol; }

// %{i}: dotted quad, or 32 nibbles joined by dots.
QString dottedIp(const QHostAddress &ip)
{
    if (isV4(ip))
        return ip.toString();
    const Q_IPV6ADDR a = ip.toIPv6Address();
    QString out;
    out.reserve(63);
    static const char hex[] = "0123456789ABCDEF";
    for (int k = 0; k < 16; ++k) {
        if (k)
            out.append(u'.');
        out.append(QLatin1Char(hex[a[k] >> 4])).append(u'.').append(QLatin1Char(hex[a[k] & 15]));
    }
    return out;
}

QString macroValue(char16_t letter, const SpfMacroContext &ctx)
{
    const QHostAddress ip = unmapped(ctx.ip);
    switch (letter) {
    case u's': return ctx.sender;
    case u'l': return ctx.localPart;
    case u'o': return ctx.senderDomain;
    case u'd': return ctx.domain;
    case u'i': return ip.isNull() ? QString() : dottedIp(ip);
    case u'p': return ctx.validatedName.isEmpty() ? QStringLiteral("unknown") : ctx.validatedName;
    case u'v': return isV4(ip) ? QStringLiteral("in-addr") : QStringLiteral("ip6");
    case u'h': return ctx.helo;
    case u'c': return ip.toString();
    case u'r': return ctx.receiver.isEmpty() ? QStringLiteral("unknown") : ctx.receiver;
    case u't': return QString::number(ctx.timestamp);
    }
    return {};
}

// §7.3: split on the delimiters, reverse, keep the right-hand parts, join with ".".
QString transform(const QString &value, const MacroToken &t)
{
    if (!t.keep && !t.reverse && t.delimiters.isEmpty())
        return value;
    const QString delimiters = t.delimiters.isEmpty() ? QStringLiteral(".") : t.delimiters;
    QStringList parts{QString()};
    for (QChar c : value) {
        if (delimiters.contains(c))
            parts.append(QString());
        else
            parts.last().append(c);
    }
    if (t.reverse)
        std::reverse(parts.begin(), parts.end());
    if (t.keep > 0 && t.keep < parts.size())
        parts = parts.mid(parts.size() - t.keep);
    return parts.join(u'.');
}

// ---------------------------------------------------------------------------------------
// §4.6 / §12 record grammar

// toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
bool isTopLabel(QStringView l)
{
    if (l.isEmpty() || !std::all_of(l.begin(), l.end(), [](QChar c) { return isAlnum(c) || c == u'-'; }))
        return false;
    if (l.contains(u'-'))
        return isAlnum(l.front()) && isAlnum(l.back());
    return std::any_of(l.begin(), l.end(), isAlpha);
}

// domain-spec = macro-string domain-end; domain-end = ( "." toplabel [ "." ] ) / macro-expand
Result<void> checkDomainSpec(const QString &spec, const QString &term)
{
    if (spec.isEmpty())
        return err(SpfError::BadDomainSpec, QStringLiteral("Empty domain-spec in \"%1\"").arg(term));
    const auto tokens = tokenizeMacro(spec, MacroMode::DomainSpec);
    if (!tokens)
        return tokens.error();
    if (tokens->last().kind != MacroToken::Kind::Literal)
        return {};
    QStringView end = tokens->last().text;
    if (end.endsWith(u'.'))
        end.chop(1);
    const qsizetype dot = end.lastIndexOf(u'.');
    if (dot < 0 || !isTopLabel(end.sliced(dot + 1)))
        return err(SpfError::BadDomainSpec,
                   QStringLiteral("\"%1\" does not end in a top-level label or a macro").arg(term));
    return {};
}

// ip4-cidr-length = "/" ( "0" / %x31-39 0*1DIGIT ), ip6 likewise with 0*2DIGIT; -1 if bad.
int cidrValue(QStringView digits, int max)
{
    if (!allDigits(digits) || digits.size() > 3 || (digits.size() > 1 && digits.front() == u'0'))
        return -1;
    const int v = digits.toInt();
    return v <= max ? v : -1;
}

// Takes a dual-cidr-length ( [ "/" ip4 ] [ "//" ip6 ] ) off the end of arg.
Result<QStringView> peelDualCidr(QStringView arg, SpfTerm &term)
{
    qsizetype slash = arg.lastIndexOf(u'/');
    if (slash > 0 && arg[slash - 1] == u'/' && allDigits(arg.sliced(slash + 1))) {
        term.cidr6 = cidrValue(arg.sliced(slash + 1), 128);
        if (term.cidr6 < 0)
            return err(SpfError::BadCidr, QStringLiteral("Bad IPv6 CIDR length in \"%1\"").arg(term.text));
        arg = arg.first(slash - 1);
        slash = arg.lastIndexOf(u'/');
    }
    if (slash >= 0 && allDigits(arg.sliced(slash + 1))) {
        term.cidr4 = cidrValue(arg.sliced(slash + 1), 32);
        if (term.cidr4 < 0)
            return err(SpfError::BadCidr, QStringLiteral("Bad IPv4 CIDR length in \"%1\"").arg(term.text));
        arg = arg.first(slash);
    }
    return arg;
}

// ip4-network = qnum "." qnum "." qnum "." qnum, no leading zeros.
bool parseIp4(QStringView s, QHostAddress *out)
{
    const QList<QStringView> parts = s.split(u'.');
    if (parts.size() != 4)
        return false;
    quint32 v = 0;
    for (QStringView p : parts) {
        const int q = cidrValue(p, 255);
        if (q < 0)
            return false;
        v = v << 8 | quint32(q);
    }
    *out = QHostAddress(v);
    return true;
}

bool parseIp6(QStringView s, QHostAddress *out)
{
    const bool charsOk = !s.isEmpty() && std::all_of(s.begin(), s.end(), [](QChar c) {
        return isDigit(c) || (c >= u'a' && c <= u'f') || (c >= u'A' && c <= u'F') || c == u':' || c == u'.';
    });
    if (!charsOk || !s.contains(u':'))
        return false;
    const QHostAddress a(s.toString());
    if (a.protocol() != QAbstractSocket::IPv6Protocol)
        return false;
    *out = a;
    return true;
}

// ip4 / ip6: ":" network [ "/" length ]
Result<void> parseIpMechanism(QStringView arg, SpfTerm &term)
{
    const bool v4 = term.kind == SpfTerm::Kind::Ip4;
    if (!arg.startsWith(u':'))
        return err(SpfError::BadMechanism, QStringLiteral("\"%1\" needs an address").arg(term.text));
    QStringView net = arg.sliced(1);
    const qsizetype slash = net.indexOf(u'/');
    if (slash >= 0) {
        const int v = cidrValue(net.sliced(slash + 1), v4 ? 32 : 128);
        if (v < 0)
            return err(SpfError::BadCidr, QStringLiteral("Bad CIDR length in \"%1\"").arg(term.text));
        (v4 ? term.cidr4 : term.cidr6) = v;
        net = net.first(slash);
    }
    if (!(v4 ? parseIp4(net, &term.network) : parseIp6(net, &term.network)))
        return err(SpfError::BadAddress, QStringLiteral("Bad address in \"%1\"").arg(term.text));
    return {};
}

bool isModifierName(QStringView n)
{
    return !n.isEmpty() && isAlpha(n.front()) && std::all_of(n.begin(), n.end(), [](QChar c) {
        return isAlnum(c) || c == u'-' || c == u'_' || c == u'.';
    });
}

Result<SpfTerm> parseTerm(const QString &text)
{
    SpfTerm term;
    term.text = text;
    using Kind = SpfTerm::Kind;

    // A modifier's name is followed by '=' before any ':' or '/'.
    const qsizetype sep = std::distance(text.begin(), std::find_if(text.begin(), text.end(), [](QChar c) {
        return c == u'=' || c == u':' || c == u'/';
    }));
    if (sep < text.size() && text[sep] == u'=') {
        const QString name = text.left(sep).toLower();
        if (!isModifierName(name))
            return err(SpfError::BadModifier, QStringLiteral("Bad modifier name in \"%1\"").arg(text));
        const QString value = text.mid(sep + 1);
        if (name == u"redirect" || name == u"exp") {
            term.kind = name == u"exp" ? Kind::Exp : Kind::Redirect;
            term.domainSpec = value;
            if (auto r = checkDomainSpec(value, text); !r)
                return r.error();
            return term;
        }
        term.kind = Kind::Unknown;
        term.name = name;
        term.value = value;
        if (auto r = tokenizeMacro(value, MacroMode::ModifierValue); !r)
            return r.error();
        return term;
    }

    QStringView rest = text;
    static const QString qualifiers = QStringLiteral("+-~?");
    if (!rest.isEmpty() && qualifiers.contains(rest.front())) {
        const QChar q = rest.front();
        term.qualifier = q == u'-' ? SpfResult::Fail
            : q == u'~'            ? SpfResult::SoftFail
            : q == u'?'            ? SpfResult::Neutral
                                   : SpfResult::Pass;
        rest = rest.sliced(1);
    }
    const qsizetype end = std::distance(rest.begin(), std::find_if(rest.begin(), rest.end(), [](QChar c) {
        return c == u':' || c == u'/';
    }));
    const QString name = rest.first(end).toString().toLower();
    const QStringView arg = rest.sliced(end);
    auto needsDomain = [&](Kind kind) -> Result<SpfTerm> {
        term.kind = kind;
        if (!arg.startsWith(u':'))
            return err(SpfError::BadMechanism, QStringLiteral("\"%1\" needs a domain").arg(text));
        term.domainSpec = arg.sliced(1).toString();
        if (auto r = checkDomainSpec(term.domainSpec, text); !r)
            return r.error();
        return term;
    };

    if (name == u"all") {
        if (!arg.isEmpty())
            return err(SpfError::BadMechanism, QStringLiteral("\"all\" takes no argument: \"%1\"").arg(text));
        term.kind = Kind::All;
        return term;
    }
    if (name == u"include")
        return needsDomain(Kind::Include);
    if (name == u"exists")
        return needsDomain(Kind::Exists);
    if (name == u"a" || name == u"mx") {
        term.kind = name == u"a" ? Kind::A : Kind::Mx;
        if (arg.isEmpty())
            return term;
        const bool hasDomain = arg.startsWith(u':');
        const auto left = peelDualCidr(hasDomain ? arg.sliced(1) : arg, term);
        if (!left)
            return left.error();
        if (!hasDomain) {
            if (!left->isEmpty())
                return err(SpfError::BadMechanism, QStringLiteral("Bad CIDR length in \"%1\"").arg(text));
            return term;
        }
        term.domainSpec = left->toString();
        if (auto r = checkDomainSpec(term.domainSpec, text); !r)
            return r.error();
        return term;
    }
    if (name == u"ptr") {
        if (arg.isEmpty()) {
            term.kind = Kind::Ptr;
            return term;
        }
        return needsDomain(Kind::Ptr);
    }
    if (name == u"ip4" || name == u"ip6") {
        term.kind = name == u"ip4" ? Kind::Ip4 : Kind::Ip6;
        if (auto r = parseIpMechanism(arg, term); !r)
            return r.error();
        return term;
    }
    return err(SpfError::UnknownMechanism, QStringLiteral("Unknown mechanism \"%1\"").arg(text));
}

// ---------------------------------------------------------------------------------------
// Names and addresses

bool wellFormedName(QStringView name)
{
    if (name.isEmpty() || name.size() > kMaxNameLength)
        return false;
    qsizetype label = 0;
    for (QChar c : name) {
        if (c.unicode() >= 0x80)
            return false;
        if (c == u'.') {
            if (label == 0)
                return false;
            label = 0;
        } else if (++label > kMaxLabelLength) {
            return false;
        }
    }
    return label > 0;
}

// §7.3 for expanded names: a trailing dot ignored, labels dropped on the left beyond 253
// octets. Nothing when the name cannot be asked for.
std::optional<QString> targetName(QString name)
{
    if (name.endsWith(u'.'))
        name.chop(1);
    while (name.size() > kMaxNameLength) {
        const qsizetype dot = name.indexOf(u'.');
        if (dot < 0)
            return std::nullopt;
        name = name.mid(dot + 1);
    }
    if (!wellFormedName(name))
        return std::nullopt;
    return name;
}

// §4.3: the initial <domain>.
std::optional<QString> checkedDomain(QString d)
{
    if (d.endsWith(u'.'))
        d.chop(1);
    if (d.isEmpty() || d.startsWith(u'['))
        return std::nullopt;
    if (std::any_of(d.begin(), d.end(), [](QChar c) { return c.unicode() >= 0x80; })) {
        const QByteArray ace = QUrl::toAce(d);
        if (ace.isEmpty())
            return std::nullopt;
        d = QString::fromLatin1(ace);
    }
    if (!wellFormedName(d) || !d.contains(u'.')
        || std::any_of(d.begin(), d.end(), [](QChar c) { return c.unicode() <= 0x20 || c.unicode() == 0x7f; }))
        return std::nullopt;
    return d;
}

bool inNetwork(const QHostAddress &ip, const QHostAddress &net, int bits)
{
    if (ip.protocol() != net.protocol())
        return false;
    if (isV4(ip)) {
        const quint32 mask = bits <= 0 ? 0 : ~quint32(0) << (32 - bits);
        return (ip.toIPv4Address() & mask) == (net.toIPv4Address() & mask);
    }
    const Q_IPV6ADDR a = ip.toIPv6Address();
    const Q_IPV6ADDR b = net.toIPv6Address();
    for (int k = 0; k < 16 && bits > 0; ++k, bits -= 8) {
        const quint8 mask = bits >= 8 ? 0xff : quint8(0xff << (8 - bits));
        if ((a[k] & mask) != (b[k] & mask))
            return false;
    }
    return true;
}

QString reverseName(const QHostAddress &ip)
{
    if (isV4(ip)) {
        const quint32 v = ip.toIPv4Address();
        return QStringLiteral("%1.%2.%3.%4.in-addr.arpa").arg(v & 255).arg(v >> 8 & 255).arg(v >> 16 & 255).arg(v >> 24);
    }
    const Q_IPV6ADDR a = ip.toIPv6Address();
    QString out;
    static const char hex[] = "0123456789abcdef";
    for (int k = 15; k >= 0; --k)
        out.append(QLatin1Char(hex[a[k] & 15])).append(u'.').append(QLatin1Char(hex[a[k] >> 4])).append(u'.');
    return out + QStringLiteral("ip6.arpa");
}

QString questionKey(DnsQuestion::Type type, const QString &name) { return QString::number(int(type)) + u':' + name.toLower(); }

bool isSameOrSubdomain(const QString &name, const QString &domain)
{
    return name.compare(domain, Qt::CaseInsensitive) == 0
        || (name.size() > domain.size() && name.endsWith(domain, Qt::CaseInsensitive)
            && name[name.size() - domain.size() - 1] == u'.');
}

QString stripDot(QString s)
{
    if (s.endsWith(u'.'))
        s.chop(1);
    return s;
}

} // namespace

const char *spfResultName(SpfResult result)
{
    switch (result) {
    case SpfResult::None: return "none";
    case SpfResult::Neutral: return "neutral";
    case SpfResult::Pass: return "pass";
    case SpfResult::Fail: return "fail";
    case SpfResult::SoftFail: return "softfail";
    case SpfResult::TempError: return "temperror";
    case SpfResult::PermError: return "permerror";
    }
    return "none";
}

bool isSpfRecord(const QByteArray &txt)
{
    return txt.size() >= 6 && qstrnicmp(txt.constData(), "v=spf1", 6) == 0 && (txt.size() == 6 || txt[6] == ' ');
}

Result<QList<SpfTerm>> parseSpfRecord(const QByteArray &record)
{
    if (!isSpfRecord(record))
        return err(SpfError::NotSpfRecord, QStringLiteral("The record does not start with v=spf1"));
    for (qsizetype i = 0; i < record.size(); ++i) {
        const uchar c = uchar(record[i]);
        if (c != ' ' && (c < 0x21 || c > 0x7e))
            return err(SpfError::BadCharacter, QStringLiteral("Byte 0x%1 at offset %2 of the record")
                                                   .arg(c, 2, 16, QLatin1Char('0')).arg(i));
    }
    QList<SpfTerm> terms;
    bool redirect = false;
    bool exp = false;
    for (const QByteArray &piece : record.mid(6).split(' ')) {
        if (piece.isEmpty())
            continue; // terms = *( 1*SP ( directive / modifier ) ), record = version terms *SP
        auto term = parseTerm(QString::fromLatin1(piece));
        if (!term)
            return term.error();
        bool &seen = term->kind == SpfTerm::Kind::Redirect ? redirect : exp;
        if (term->kind == SpfTerm::Kind::Redirect || term->kind == SpfTerm::Kind::Exp) {
            if (seen)
                return err(SpfError::DuplicateModifier, QStringLiteral("\"%1\" repeats a modifier").arg(term->text));
            seen = true;
        }
        terms.append(std::move(*term));
    }
    return terms;
}

Result<QString> expandSpfMacro(const QString &macroString, const SpfMacroContext &ctx, bool forExplanation)
{
    const auto tokens = tokenizeMacro(macroString, forExplanation ? MacroMode::Explanation : MacroMode::DomainSpec);
    if (!tokens)
        return tokens.error();
    QString out;
    for (const MacroToken &t : *tokens) {
        if (t.kind != MacroToken::Kind::Macro) {
            out += t.text;
            continue;
        }
        const QString value = transform(macroValue(t.letter, ctx), t);
        // §7.3: upper-case letters are URL-escaped; all but the unreserved characters.
        out += t.upper ? QString::fromLatin1(QUrl::toPercentEncoding(value)) : value;
    }
    return out;
}

// ---------------------------------------------------------------------------------------
// check_host()

namespace {

struct HostResult {
    SpfResult result = SpfResult::Neutral;
    QString mechanism;
    QString problem;
    QString expSpec;   // exp= of the record that gave the result
    QString expDomain; // that record's <domain>
};

HostResult error(SpfResult result, const QString &problem) { return HostResult{result, {}, problem, {}, {}}; }

// A mechanism's verdict.
struct Step {
    enum class Kind { NoMatch, Match, Abort };
    Kind kind = Kind::NoMatch;
    HostResult abort; // Abort: the result of the whole check (temperror / permerror)
};

Step noMatch() { return {}; }
Step match() { return {Step::Kind::Match, {}}; }
Step abortWith(HostResult r) { return {Step::Kind::Abort, std::move(r)}; }

// An expanded target name.
struct Target {
    bool pending = false;
    std::optional<Error> error;  // macro trouble: permerror
    std::optional<QString> name; // empty without error: malformed, not asked for
};

} // namespace

// One evaluation against the answers known so far. Every function returning an empty
// optional has set `need` to the question it could not answer.
struct SpfRun {
    SpfCheck &c;
    int dnsTerms = 0;
    int voids = 0;
    std::optional<DnsQuestion> need;

    DnsQuestion::Type addressType() const { return isV4(c.m_ip) ? DnsQuestion::Type::A : DnsQuestion::Type::AAAA; }

    const DnsAnswer *lookup(DnsQuestion::Type type, const QString &name)
    {
        const auto it = c.m_answers.constFind(questionKey(type, name));
        if (it != c.m_answers.constEnd())
            return &*it;
        need = DnsQuestion{type, name};
        return nullptr;
    }

    SpfMacroContext context(const QString &domain) const
    {
        return SpfMacroContext{c.m_sender, c.m_localPart, c.m_senderDomain, domain, c.m_ip,
                               QStringLiteral("unknown"), c.m_helo, c.m_receiver, c.m_timestamp};
    }

    bool isVoid(const DnsAnswer &a, DnsQuestion::Type type) const
    {
        if (a.status == DnsAnswer::Status::NxDomain)
            return true;
        return type == DnsQuestion::Type::MX ? a.names.isEmpty() : a.addresses.isEmpty();
    }

    // §5.5: the first 10 names the reverse zone gives, nothing on errors.
    std::optional<QStringList> ptrNames()
    {
        const DnsAnswer *a = lookup(DnsQuestion::Type::PTR, reverseName(c.m_ip));
        if (!a)
            return std::nullopt;
        QStringList names;
        if (a->status == DnsAnswer::Status::Ok) {
            for (const QString &n : a->names.first(std::min<qsizetype>(a->names.size(), kMaxPtrNames)))
                names << stripDot(n);
        }
        return names;
    }

    // §5.5: a name is validated when one of its addresses is the client's; DNS errors skip it.
    std::optional<bool> validated(const QString &ptrName)
    {
        const auto name = targetName(ptrName);
        if (!name)
            return false;
        const DnsAnswer *a = lookup(addressType(), *name);
        if (!a)
            return std::nullopt;
        return a->status == DnsAnswer::Status::Ok
            && std::any_of(a->addresses.begin(), a->addresses.end(), [this](const QHostAddress &x) {
                   return unmapped(x) == c.m_ip;
               });
    }

    // §7.3 %{p}: the <domain> itself, else a subdomain of it, else any validated name.
    std::optional<QString> validatedName(const QString &domain)
    {
        const auto names = ptrNames();
        if (!names)
            return std::nullopt;
        auto rank = [&](const QString &n) {
            return n.compare(domain, Qt::CaseInsensitive) == 0 ? 0 : isSameOrSubdomain(n, domain) ? 1 : 2;
        };
        QStringList ordered = *names;
        std::stable_sort(ordered.begin(), ordered.end(),
                         [&](const QString &x, const QString &y) { return rank(x) < rank(y); });
        for (const QString &n : ordered) {
            const auto v = validated(n);
            if (!v)
                return std::nullopt;
            if (*v)
                return n;
        }
        return QStringLiteral("unknown");
    }

    Target expand(const QString &spec, const QString &domain)
    {
        SpfMacroContext ctx = context(domain);
        if (usesValidatedName(spec, MacroMode::DomainSpec)) {
            const auto p = validatedName(domain);
            if (!p)
                return Target{true, {}, {}};
            ctx.validatedName = *p;
        }
        const auto expanded = expandSpfMacro(spec, ctx, false);
        if (!expanded)
            return Target{false, expanded.error(), {}};
        return Target{false, {}, targetName(*expanded)};
    }

    std::optional<Step> countTerm()
    {
        if (++dnsTerms > kMaxDnsTerms)
            return abortWith(error(SpfResult::PermError, QStringLiteral("More than %1 DNS-querying terms").arg(kMaxDnsTerms)));
        return std::nullopt;
    }

    std::optional<Step> countVoid()
    {
        if (++voids > kMaxVoidLookups)
            return abortWith(error(SpfResult::PermError, QStringLiteral("More than %1 void lookups").arg(kMaxVoidLookups)));
        return std::nullopt;
    }

    static HostResult dnsError(DnsQuestion::Type type, const QString &name)
    {
        static const char *const names[] = {"A", "AAAA", "MX", "TXT", "PTR"};
        return error(SpfResult::TempError, QStringLiteral("DNS error looking up %1 %2").arg(QLatin1String(names[int(type)]), name));
    }

    bool addressMatches(const DnsAnswer &a, const SpfTerm &t) const
    {
        const int bits = isV4(c.m_ip) ? t.cidr4 : t.cidr6;
        return std::any_of(a.addresses.begin(), a.addresses.end(),
                           [&](const QHostAddress &x) { return inNetwork(c.m_ip, x, bits); });
    }

    std::optional<Step> mechanism(const SpfTerm &t, const QString &domain, int depth)
    {
        using Kind = SpfTerm::Kind;
        switch (t.kind) {
        case Kind::All: return match();
        case Kind::Ip4:
        case Kind::Ip6: return inNetwork(c.m_ip, t.network, isV4(c.m_ip) ? t.cidr4 : t.cidr6) ? match() : noMatch();
        default: break;
        }
        if (auto over = countTerm())
            return over;
        const Target target = expand(t.domainSpec.isEmpty() ? domain : t.domainSpec, domain);
        if (target.pending)
            return std::nullopt;
        if (target.error)
            return abortWith(error(SpfResult::PermError, target.error->message));

        if (t.kind == Kind::Include) { // §5.2
            if (!target.name)
                return abortWith(error(SpfResult::PermError, QStringLiteral("\"%1\" names no valid domain").arg(t.text)));
            const auto sub = checkHost(*target.name, depth + 1);
            if (!sub)
                return std::nullopt;
            switch (sub->result) {
            case SpfResult::Pass: return match();
            case SpfResult::Fail:
            case SpfResult::SoftFail:
            case SpfResult::Neutral: return noMatch();
            case SpfResult::None:
                return abortWith(error(SpfResult::PermError, QStringLiteral("%1 has no SPF record").arg(*target.name)));
            case SpfResult::TempError:
            case SpfResult::PermError: return abortWith(error(sub->result, sub->problem));
            }
        }
        if (!target.name)
            return noMatch(); // a name that cannot exist, as if it did not (§4.3, §5)

        if (t.kind == Kind::Ptr) { // §5.5
            const auto names = ptrNames();
            if (!names)
                return std::nullopt;
            for (const QString &n : *names) {
                if (!isSameOrSubdomain(n, *target.name))
                    continue;
                const auto v = validated(n);
                if (!v)
                    return std::nullopt;
                if (*v)
                    return match();
            }
            return noMatch();
        }

        const DnsQuestion::Type type = t.kind == Kind::Exists ? DnsQuestion::Type::A
            : t.kind == Kind::Mx                               ? DnsQuestion::Type::MX
                                                               : addressType();
        const DnsAnswer *a = lookup(type, *target.name);
        if (!a)
            return std::nullopt;
        if (a->status == DnsAnswer::Status::TempError)
            return abortWith(dnsError(type, *target.name));
        if (isVoid(*a, type)) {
            if (auto over = countVoid())
                return over;
            return noMatch();
        }
        if (t.kind == Kind::Exists) // §5.7
            return match();
        if (t.kind == Kind::A) // §5.3
            return addressMatches(*a, t) ? match() : noMatch();

        // §5.4
        if (a->names.size() > kMaxMxNames)
            return abortWith(error(SpfResult::PermError, QStringLiteral("%1 has more than %2 MX records").arg(*target.name).arg(kMaxMxNames)));
        for (const QString &mx : a->names) {
            const auto host = targetName(mx);
            if (!host)
                continue; // null MX (RFC 7505) or garbage
            const DnsAnswer *h = lookup(addressType(), *host);
            if (!h)
                return std::nullopt;
            if (h->status == DnsAnswer::Status::TempError)
                return abortWith(dnsError(addressType(), *host));
            if (addressMatches(*h, t))
                return match();
        }
        return noMatch();
    }

    // §4.5: exactly one record starting with "v=spf1", and it must parse.
    static SpfCheck::Record selectRecord(const DnsAnswer &a, const QString &domain)
    {
        SpfCheck::Record r;
        QList<QByteArray> records;
        std::copy_if(a.txt.begin(), a.txt.end(), std::back_inserter(records), isSpfRecord);
        if (records.isEmpty()) {
            r.unusable = SpfResult::None;
            return r;
        }
        if (records.size() > 1) {
            r.unusable = SpfResult::PermError;
            r.problem = QStringLiteral("%1 has more than one SPF record").arg(domain);
            return r;
        }
        auto terms = parseSpfRecord(records.first());
        if (!terms) {
            r.unusable = SpfResult::PermError;
            r.problem = QStringLiteral("%1: %2").arg(domain, terms.error().message);
            return r;
        }
        r.terms = std::move(*terms);
        return r;
    }

    // §4.4 - §4.7 for one domain.
    std::optional<HostResult> checkHost(const QString &domain, int depth)
    {
        if (depth > 2 * kMaxDnsTerms) // unreachable: each level counts as a DNS term
            return error(SpfResult::PermError, QStringLiteral("Too deep"));
        const DnsAnswer *a = lookup(DnsQuestion::Type::TXT, domain);
        if (!a)
            return std::nullopt;
        if (a->status == DnsAnswer::Status::TempError)
            return dnsError(DnsQuestion::Type::TXT, domain);
        if (a->status == DnsAnswer::Status::NxDomain)
            return error(SpfResult::None, {});
        const QString key = questionKey(DnsQuestion::Type::TXT, domain);
        auto record = c.m_records.constFind(key);
        if (record == c.m_records.constEnd())
            record = c.m_records.insert(key, selectRecord(*a, domain));
        if (record->unusable != SpfResult::Neutral)
            return error(record->unusable, record->problem);
        const QList<SpfTerm> terms = record->terms; // a copy: includes below insert into m_records

        QString redirect, exp;
        for (const SpfTerm &t : terms) {
            if (t.kind == SpfTerm::Kind::Redirect)
                redirect = t.domainSpec;
            else if (t.kind == SpfTerm::Kind::Exp)
                exp = t.domainSpec;
        }
        for (const SpfTerm &t : terms) {
            if (!t.isMechanism())
                continue;
            const auto step = mechanism(t, domain, depth);
            if (!step)
                return std::nullopt;
            if (step->kind == Step::Kind::Abort)
                return step->abort;
            if (step->kind == Step::Kind::Match)
                return HostResult{t.qualifier, t.text, {}, exp, domain};
        }
        if (redirect.isEmpty())
            return HostResult{SpfResult::Neutral, {}, {}, exp, domain}; // §4.7

        // §6.1: as if the target's record were this one, exp= included.
        if (auto over = countTerm())
            return over->abort;
        const Target target = expand(redirect, domain);
        if (target.pending)
            return std::nullopt;
        if (target.error)
            return error(SpfResult::PermError, target.error->message);
        if (!target.name)
            return error(SpfResult::PermError, QStringLiteral("redirect=%1 names no valid domain").arg(redirect));
        auto sub = checkHost(*target.name, depth + 1);
        if (sub && sub->result == SpfResult::None)
            return error(SpfResult::PermError, QStringLiteral("%1 (redirect) has no SPF record").arg(*target.name));
        return sub;
    }

    // §6.2: problems of any kind mean no explanation.
    std::optional<QString> explanation(const QString &spec, const QString &domain)
    {
        const Target target = expand(spec, domain);
        if (target.pending)
            return std::nullopt;
        if (!target.name)
            return QString();
        const DnsAnswer *a = lookup(DnsQuestion::Type::TXT, *target.name);
        if (!a)
            return std::nullopt;
        if (a->status != DnsAnswer::Status::Ok || a->txt.size() != 1)
            return QString();
        const QByteArray &text = a->txt.first();
        if (std::any_of(text.begin(), text.end(), [](char ch) { return uchar(ch) < 0x20 || uchar(ch) > 0x7e; }))
            return QString();
        const QString string = QString::fromLatin1(text);
        SpfMacroContext ctx = context(domain);
        if (usesValidatedName(string, MacroMode::Explanation)) {
            const auto p = validatedName(domain);
            if (!p)
                return std::nullopt;
            ctx.validatedName = *p;
        }
        const auto expanded = expandSpfMacro(string, ctx, true);
        return expanded ? *expanded : QString();
    }

    std::optional<SpfOutcome> run()
    {
        SpfOutcome outcome;
        outcome.domain = c.m_domain;
        if (c.m_malformed)
            return outcome;
        if (c.m_answers.size() > kMaxQuestions) {
            outcome.result = SpfResult::PermError;
            outcome.problem = QStringLiteral("Too many DNS lookups");
            return outcome;
        }
        const auto r = checkHost(c.m_domain, 0);
        if (!r)
            return std::nullopt;
        outcome.result = r->result;
        outcome.mechanism = r->mechanism;
        outcome.problem = r->problem;
        if (r->result == SpfResult::Fail && !r->expSpec.isEmpty()) {
            const auto text = explanation(r->expSpec, r->expDomain);
            if (!text)
                return std::nullopt;
            outcome.explanation = *text;
        }
        return outcome;
    }
};

SpfCheck::SpfCheck(const QHostAddress &ip, const QString &mailFrom, const QString &helo, const QString &receiver)
{
    if (mailFrom.isEmpty()) // §2.4: a null reverse-path is checked as postmaster@HELO
        init(ip, helo, QStringLiteral("postmaster@") + helo, helo, receiver);
    else
        init(ip, mailFrom.mid(mailFrom.lastIndexOf(u'@') + 1), mailFrom, helo, receiver);
}

SpfCheck SpfCheck::checkHost(const QHostAddress &ip, const QString &domain, const QString &sender,
                             const QString &helo, const QString &receiver)
{
    SpfCheck check;
    check.init(ip, domain, sender, helo, receiver);
    return check;
}

void SpfCheck::init(const QHostAddress &ip, const QString &domain, const QString &sender, const QString &helo,
                    const QString &receiver)
{
    m_ip = unmapped(ip);
    m_helo = helo;
    m_receiver = receiver;
    m_timestamp = QDateTime::currentSecsSinceEpoch();
    const qsizetype at = sender.lastIndexOf(u'@');
    m_localPart = at > 0 ? sender.left(at) : QStringLiteral("postmaster"); // §4.3
    m_senderDomain = stripDot(at >= 0 ? sender.mid(at + 1) : sender);
    m_sender = m_localPart + u'@' + m_senderDomain;
    const auto checked = checkedDomain(domain);
    m_malformed = !checked || (ip.protocol() != QAbstractSocket::IPv4Protocol && ip.protocol() != QAbstractSocket::IPv6Protocol);
    m_domain = checked ? *checked : stripDot(domain);
}

std::variant<DnsQuestion, SpfOutcome> SpfCheck::next()
{
    if (m_outcome)
        return *m_outcome;
    SpfRun run{*this, 0, 0, std::nullopt};
    if (auto outcome = run.run()) {
        m_pending.reset();
        m_outcome = std::move(*outcome);
        return *m_outcome;
    }
    m_pending = run.need;
    return *run.need;
}

void SpfCheck::answer(const DnsAnswer &answer)
{
    if (!m_pending)
        return;
    m_answers.insert(questionKey(m_pending->type, m_pending->name), answer);
    m_pending.reset();
}

} // namespace valv::auth
