// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 9051 §6.4.4 SEARCH (search-key), RFC 4731 ESEARCH / RFC 5182 SEARCHRES (RETURN),
// RFC 7162 §3.1.5 MODSEQ, RFC 5032 WITHIN, RFC 8474 EMAILID/THREADID, RFC 8514
// SAVEDATE, RFC 5256 SORT and THREAD, RFC 5267 ESORT (SORT RETURN).
//
// Implementation notes:
// - Recursion (parentheses, NOT, OR) is bounded: parentheses by maxNesting, and the
//   total key depth by 4 * maxNesting, so "NOT NOT NOT ..." cannot exhaust the stack.
// - String arguments must be valid UTF-8 (US-ASCII is a subset); any other CHARSET is
//   refused with an error text starting "[BADCHARSET]".
// - MODSEQ with an entry name keeps the entry name in `field` and the entry type
//   ("priv"/"shared"/"all", lower-cased) in `string`.
#include "imap/parser_commands.h"

#include <QStringDecoder>

namespace valv::imap::detail {

namespace {

using K = SearchKey::Kind;

enum class Arg { None, AString, Date, Number, Keyword, Header, Set, Not, Or, ModSeq, Seconds, ObjectId };

struct KeySpec {
    const char *name;
    K kind;
    Arg arg;
};

// clang-format off
constexpr KeySpec kKeys[] = {
    {"ALL", K::All, Arg::None}, {"ANSWERED", K::Answered, Arg::None},
    {"BCC", K::Bcc, Arg::AString}, {"BEFORE", K::Before, Arg::Date},
    {"BODY", K::Body, Arg::AString}, {"CC", K::Cc, Arg::AString},
    {"DELETED", K::Deleted, Arg::None}, {"DRAFT", K::Draft, Arg::None},
    {"FLAGGED", K::Flagged, Arg::None}, {"FROM", K::From, Arg::AString},
    {"HEADER", K::Header, Arg::Header}, {"KEYWORD", K::Keyword, Arg::Keyword},
    {"LARGER", K::Larger, Arg::Number}, {"NEW", K::New, Arg::None},
    {"NOT", K::Not, Arg::Not}, {"OLD", K::Old, Arg::None},
    {"ON", K::On, Arg::Date}, {"OR", K::Or, Arg::Or},
    {"RECENT", K::Recent, Arg::None}, {"SEEN", K::Seen, Arg::None},
    {"SENTBEFORE", K::SentBefore, Arg::Date}, {"SENTON", K::SentOn, Arg::Date},
    {"SENTSINCE", K::SentSince, Arg::Date}, {"SINCE", K::Since, Arg::Date},
    {"SMALLER", K::Smaller, Arg::Number}, {"SUBJECT", K::Subject, Arg::AString},
    {"TEXT", K::Text, Arg::AString}, {"TO", K::To, Arg::AString},
    {"UID", K::Uid, Arg::Set}, {"UNANSWERED", K::Unanswered, Arg::None},
    {"UNDELETED", K::Undeleted, Arg::None}, {"UNDRAFT", K::Undraft, Arg::None},
    {"UNFLAGGED", K::Unflagged, Arg::None}, {"UNKEYWORD", K::Unkeyword, Arg::Keyword},
    {"UNSEEN", K::Unseen, Arg::None}, {"MODSEQ", K::ModSeq, Arg::ModSeq},
    {"YOUNGER", K::Younger, Arg::Seconds}, {"OLDER", K::Older, Arg::Seconds},
    {"EMAILID", K::EmailId, Arg::ObjectId}, {"THREADID", K::ThreadId, Arg::ObjectId},
    {"SAVEDATESUPPORTED", K::SaveDateSupported, Arg::None},
    {"SAVEDBEFORE", K::SaveDateBefore, Arg::Date}, {"SAVEDON", K::SaveDateOn, Arg::Date},
    {"SAVEDSINCE", K::SaveDateSince, Arg::Date},
};
// clang-format on

bool isDigit(int c) { return c >= '0' && c <= '9'; }

bool searchString(Lexer &lx, const char *what, QString &out)
{
    auto raw = lx.astring(what);
    if (!raw)
        return false;
    QStringDecoder utf8(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless);
    out = utf8.decode(*raw);
    if (utf8.hasError())
        return lx.fail(QStringLiteral("invalid UTF-8 in %1").arg(QLatin1String(what)));
    return true;
}

// objectid = 1*255(ALPHA / DIGIT / "_" / "-")  (RFC 8474)
bool objectId(Lexer &lx, QString &out)
{
    auto raw = lx.astring("object id");
    if (!raw)
        return false;
    if (raw->isEmpty() || raw->size() > 255)
        return lx.fail(QStringLiteral("invalid object id length"));
    for (const char c : *raw) {
        const bool okChar = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || isDigit(c) || c == '_' || c == '-';
        if (!okChar)
            return lx.fail(QStringLiteral("invalid character in object id"));
    }
    out = QString::fromLatin1(*raw);
    return true;
}

bool parseKey(Lexer &lx, SearchKey &key, int depth);

bool parseModSeq(Lexer &lx, SearchKey &key)
{
    // "MODSEQ" [SP entry-name SP entry-type-req] SP mod-sequence-valzer
    if (!lx.sp("mod-sequence"))
        return false;
    if (lx.peek() == '"') {
        auto entry = lx.quoted("MODSEQ entry name");
        if (!entry || !lx.sp("entry type"))
            return false;
        if (!entry->startsWith("/flags/"))
            return lx.fail(QStringLiteral("MODSEQ entry name must start with /flags/"));
        auto type = lx.atom("entry type");
        if (!type)
            return false;
        const QByteArray t = type->toLower();
        if (t != "priv" && t != "shared" && t != "all")
            return lx.fail(QStringLiteral("MODSEQ entry type must be priv, shared or all"));
        key.field = *entry;
        key.string = QString::fromLatin1(t);
        if (!lx.sp("mod-sequence"))
            return false;
    }
    auto n = lx.number64("mod-sequence");
    if (!n)
        return false;
    key.number = *n;
    return true;
}

bool parseArg(Lexer &lx, const KeySpec &spec, SearchKey &key, int depth)
{
    if (spec.arg == Arg::None)
        return true;
    if (spec.arg == Arg::ModSeq)
        return parseModSeq(lx, key);
    if (!lx.sp(spec.name))
        return false;
    switch (spec.arg) {
    case Arg::None:
    case Arg::ModSeq:
        return true;
    case Arg::AString:
        return searchString(lx, "search string", key.string);
    case Arg::Date: {
        auto d = lx.date("date");
        if (!d)
            return false;
        key.date = *d;
        return true;
    }
    case Arg::Number:
    case Arg::Seconds: {
        auto n = lx.number64(spec.arg == Arg::Number ? "size" : "interval");
        if (!n)
            return false;
        if (spec.arg == Arg::Seconds && *n == 0)
            return lx.fail(QStringLiteral("interval must not be 0"));
        key.number = *n;
        return true;
    }
    case Arg::Keyword: {
        auto kw = lx.atom("keyword");
        if (!kw)
            return false;
        key.field = *kw;
        return true;
    }
    case Arg::Header: {
        auto name = lx.astring("header field name");
        if (!name || !lx.sp("header value"))
            return false;
        key.field = *name;
        return searchString(lx, "header value", key.string);
    }
    case Arg::Set: {
        auto set = lx.sequenceSet("UID set");
        if (!set)
            return false;
        key.set = *set;
        return true;
    }
    case Arg::Not: {
        key.children.resize(1);
        return parseKey(lx, key.children[0], depth + 1);
    }
    case Arg::Or: {
        key.children.resize(2);
        return parseKey(lx, key.children[0], depth + 1) && lx.sp("second OR key")
            && parseKey(lx, key.children[1], depth + 1);
    }
    case Arg::ObjectId:
        return objectId(lx, key.string);
    }
    return false;
}

bool parseKey(Lexer &lx, SearchKey &key, int depth)
{
    if (depth > 4 * lx.maxNesting())
        return lx.fail(QStringLiteral("search keys nested too deeply"));
    const int c = lx.peek();
    if (c == '(') {
        lx.eat('(');
        if (!lx.enter())
            return false;
        key.kind = K::And;
        do {
            key.children.append(SearchKey{});
            if (!parseKey(lx, key.children.last(), depth + 1))
                return false;
        } while (lx.eat(' '));
        lx.leave();
        return lx.expect(')', "')' closing search key list");
    }
    if (isDigit(c) || c == '*' || c == '$') {
        auto set = lx.sequenceSet("sequence set");
        if (!set)
            return false;
        key.kind = K::SequenceSet;
        key.set = *set;
        return true;
    }
    auto word = lx.upperAtom("search key");
    if (!word)
        return false;
    for (const auto &spec : kKeys) {
        if (*word == spec.name) {
            key.kind = spec.kind;
            return parseArg(lx, spec, key, depth);
        }
    }
    return lx.fail(QStringLiteral("unknown search key %1").arg(QString::fromLatin1(*word)));
}

bool parseCharset(Lexer &lx, Command &cmd)
{
    auto cs = lx.astring("charset");
    if (!cs)
        return false;
    cmd.charset = cs->toUpper();
    if (cmd.charset != "UTF-8" && cmd.charset != "US-ASCII")
        return lx.fail(QStringLiteral("[BADCHARSET] charset %1 is not supported")
                           .arg(QString::fromLatin1(cmd.charset.left(64))));
    return true;
}

// search-return-opts = SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"
bool parseReturnOpts(Lexer &lx, Command &cmd)
{
    if (!lx.sp("return options") || !lx.expect('(', "'(' opening return options") || !lx.enter())
        return false;
    cmd.esearch = true;
    if (lx.eat(')')) {
        lx.leave();
        return true;
    }
    static const std::pair<const char *, SearchReturn> opts[] = {
        {"MIN", SearchReturn::Min}, {"MAX", SearchReturn::Max}, {"ALL", SearchReturn::All},
        {"COUNT", SearchReturn::Count}, {"SAVE", SearchReturn::Save},
    };
    do {
        auto word = lx.upperAtom("return option");
        if (!word)
            return false;
        bool found = false;
        for (const auto &[name, bit] : opts) {
            if (*word == name) {
                cmd.searchReturn |= int(bit);
                found = true;
            }
        }
        if (!found)
            return lx.fail(QStringLiteral("unknown return option %1").arg(QString::fromLatin1(*word)));
    } while (lx.eat(' '));
    lx.leave();
    return lx.expect(')', "')' closing return options");
}

// 1*(SP search-key), collected under a top-level And.
bool parseKeys(Lexer &lx, Command &cmd)
{
    cmd.searchKey = SearchKey{};
    cmd.searchKey.kind = K::And;
    if (!lx.sp("search key"))
        return false;
    do {
        cmd.searchKey.children.append(SearchKey{});
        if (!parseKey(lx, cmd.searchKey.children.last(), 1))
            return false;
    } while (lx.eat(' '));
    return true;
}

} // namespace

bool parseSearch(Lexer &lx, Command &cmd)
{
    if (lx.peek() == ' ' && lx.peekWord("RETURN", 1)) {
        lx.eat(' ');
        lx.eatWord("RETURN");
        if (!parseReturnOpts(lx, cmd))
            return false;
    }
    if (lx.peek() == ' ' && lx.peekWord("CHARSET", 1)) {
        lx.eat(' ');
        lx.eatWord("CHARSET");
        if (!lx.sp("charset") || !parseCharset(lx, cmd))
            return false;
    }
    return parseKeys(lx, cmd);
}

bool parseSort(Lexer &lx, Command &cmd)
{
    if (lx.peek() == ' ' && lx.peekWord("RETURN", 1)) {
        lx.eat(' ');
        lx.eatWord("RETURN");
        if (!parseReturnOpts(lx, cmd))
            return false;
    }
    // sort-criteria = "(" sort-criterion *(SP sort-criterion) ")"
    if (!lx.sp("sort criteria") || !lx.expect('(', "'(' opening sort criteria") || !lx.enter())
        return false;
    static const char *const keys[] = {"ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT",
                                       "TO", "DISPLAYFROM", "DISPLAYTO"};
    do {
        auto word = lx.upperAtom("sort key");
        if (!word)
            return false;
        if (*word == "REVERSE") {
            cmd.sortCriteria.append(*word);
            if (!lx.sp("sort key"))
                return false;
            word = lx.upperAtom("sort key");
            if (!word)
                return false;
        }
        bool known = false;
        for (const char *k : keys)
            known = known || *word == k;
        if (!known)
            return lx.fail(QStringLiteral("unknown sort key %1").arg(QString::fromLatin1(*word)));
        cmd.sortCriteria.append(*word);
    } while (lx.eat(' '));
    lx.leave();
    if (!lx.expect(')', "')' closing sort criteria") || !lx.sp("charset"))
        return false;
    return parseCharset(lx, cmd) && parseKeys(lx, cmd);
}

bool parseThread(Lexer &lx, Command &cmd)
{
    if (!lx.sp("thread algorithm"))
        return false;
    auto alg = lx.upperAtom("thread algorithm");
    if (!alg || !lx.sp("charset"))
        return false;
    cmd.threadAlgorithm = *alg;
    return parseCharset(lx, cmd) && parseKeys(lx, cmd);
}

} // namespace valv::imap::detail
