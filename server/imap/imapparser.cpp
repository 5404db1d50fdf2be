// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 9051 §9 / RFC 3501 §9 `command`: tag, command name and dispatch to the
// per-command grammars in parser_*.cpp.
//
// Implementation notes:
// - parseCommand is a pure function of its input: no state, no allocation sized by
//   numbers found in the input, recursion bounded by maxNesting (capped at 256; SEARCH
//   NOT/OR chains at 4x that).
// - The tag is reported as soon as it is read, so a syntax error later in the command
//   can still be answered with a tagged BAD.
// - An unknown command name sets unknownCommand; every other failure is a syntax error
//   whose text names what was expected and where. A SEARCH/SORT/THREAD CHARSET other
//   than UTF-8/US-ASCII gives an error text starting "[BADCHARSET]".
#include "imap/parser_commands.h"

#include <algorithm>
#include <cstring>

namespace valv::imap {

using detail::Lexer;

namespace {

constexpr int kMaxNesting = 256;

enum class Args {
    None, Authenticate, Login, Enable, Select, Create, Mailbox, Rename, List, Lsub, Status,
    Append, Search, Fetch, Store, CopyMove, UidExpunge, Id, QuotaRoot, SetQuota, Sort,
    Thread, Compress, GetMetadata, SetMetadata,
};

struct CommandSpec {
    const char *name;
    CommandName command;
    Args args;
    bool uidForm; // allowed after "UID "
};

// clang-format off
constexpr CommandSpec kCommands[] = {
    {"CAPABILITY", CommandName::Capability, Args::None, false},
    {"NOOP", CommandName::Noop, Args::None, false},
    {"LOGOUT", CommandName::Logout, Args::None, false},
    {"STARTTLS", CommandName::StartTls, Args::None, false},
    {"AUTHENTICATE", CommandName::Authenticate, Args::Authenticate, false},
    {"LOGIN", CommandName::Login, Args::Login, false},
    {"ENABLE", CommandName::Enable, Args::Enable, false},
    {"SELECT", CommandName::Select, Args::Select, false},
    {"EXAMINE", CommandName::Examine, Args::Select, false},
    {"CREATE", CommandName::Create, Args::Create, false},
    {"DELETE", CommandName::Delete, Args::Mailbox, false},
    {"RENAME", CommandName::Rename, Args::Rename, false},
    {"SUBSCRIBE", CommandName::Subscribe, Args::Mailbox, false},
    {"UNSUBSCRIBE", CommandName::Unsubscribe, Args::Mailbox, false},
    {"LIST", CommandName::List, Args::List, false},
    {"LSUB", CommandName::Lsub, Args::Lsub, false},
    {"NAMESPACE", CommandName::Namespace, Args::None, false},
    {"STATUS", CommandName::Status, Args::Status, false},
    {"APPEND", CommandName::Append, Args::Append, false},
    {"IDLE", CommandName::Idle, Args::None, false},
    {"CHECK", CommandName::Check, Args::None, false},
    {"CLOSE", CommandName::Close, Args::None, false},
    {"UNSELECT", CommandName::Unselect, Args::None, false},
    {"EXPUNGE", CommandName::Expunge, Args::UidExpunge, true},
    {"SEARCH", CommandName::Search, Args::Search, true},
    {"FETCH", CommandName::Fetch, Args::Fetch, true},
    {"STORE", CommandName::Store, Args::Store, true},
    {"COPY", CommandName::Copy, Args::CopyMove, true},
    {"MOVE", CommandName::Move, Args::CopyMove, true},
    {"ID", CommandName::Id, Args::Id, false},
    {"GETQUOTA", CommandName::GetQuota, Args::QuotaRoot, false},
    {"GETQUOTAROOT", CommandName::GetQuotaRoot, Args::Mailbox, false},
    {"SETQUOTA", CommandName::SetQuota, Args::SetQuota, false},
    {"SORT", CommandName::Sort, Args::Sort, true},
    {"THREAD", CommandName::Thread, Args::Thread, true},
    {"COMPRESS", CommandName::Compress, Args::Compress, false},
    {"GETMETADATA", CommandName::GetMetadata, Args::GetMetadata, false},
    {"SETMETADATA", CommandName::SetMetadata, Args::SetMetadata, false},
};
// clang-format on

const CommandSpec *findCommand(const QByteArray &upperName)
{
    for (const auto &spec : kCommands) {
        if (upperName == spec.name)
            return &spec;
    }
    return nullptr;
}

bool isBase64(const QByteArray &s)
{
    if (s == "=")
        return true; // SASL-IR: empty initial response
    if (s.isEmpty() || s.size() % 4 != 0)
        return false;
    qsizetype pad = 0;
    for (qsizetype i = 0; i < s.size(); ++i) {
        const char c = s[i];
        const bool b64 = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
            || c == '+' || c == '/';
        if (c == '=') {
            ++pad;
        } else if (!b64 || pad > 0) {
            return false;
        }
    }
    return pad <= 2;
}

// RFC 9051 §6.2.2 AUTHENTICATE, RFC 4959 SASL-IR
bool parseAuthenticate(Lexer &lx, Command &cmd)
{
    if (!lx.sp("SASL mechanism"))
        return false;
    auto mech = lx.upperAtom("SASL mechanism");
    if (!mech)
        return false;
    cmd.saslMechanism = *mech;
    if (lx.eat(' ')) {
        auto ir = lx.atom("initial response");
        if (!ir)
            return false;
        if (!isBase64(*ir))
            return lx.fail(QStringLiteral("initial response is not base64"));
        cmd.saslInitialResponse = *ir;
    }
    return true;
}

// RFC 9051 §6.2.3 LOGIN
bool parseLogin(Lexer &lx, Command &cmd)
{
    if (!lx.sp("user name"))
        return false;
    auto user = lx.astring("user name");
    if (!user || !lx.sp("password"))
        return false;
    auto pass = lx.astring("password");
    if (!pass)
        return false;
    cmd.userName = *user;
    cmd.password = *pass;
    return true;
}

// RFC 5161 ENABLE
bool parseEnable(Lexer &lx, Command &cmd)
{
    if (!lx.sp("capability"))
        return false;
    do {
        auto cap = lx.upperAtom("capability");
        if (!cap)
            return false;
        cmd.capabilities.append(*cap);
    } while (lx.eat(' '));
    return true;
}

bool parseMailboxArg(Lexer &lx, Command &cmd)
{
    if (!lx.sp("mailbox name"))
        return false;
    auto mbox = lx.mailbox("mailbox name");
    if (!mbox)
        return false;
    cmd.mailbox = *mbox;
    return true;
}

// RFC 9051 §6.3.6 RENAME
bool parseRename(Lexer &lx, Command &cmd)
{
    if (!parseMailboxArg(lx, cmd) || !lx.sp("new mailbox name"))
        return false;
    auto to = lx.mailbox("new mailbox name");
    if (!to)
        return false;
    cmd.newMailbox = *to;
    return true;
}

// RFC 9051 §6.4.7 COPY, RFC 6851 MOVE
bool parseCopyMove(Lexer &lx, Command &cmd)
{
    if (!lx.sp("sequence set"))
        return false;
    auto set = lx.sequenceSet("sequence set");
    if (!set)
        return false;
    cmd.sequence = *set;
    return parseMailboxArg(lx, cmd);
}

// RFC 9051 §6.4.3 EXPUNGE / RFC 4315 UID EXPUNGE
bool parseExpunge(Lexer &lx, Command &cmd)
{
    if (!cmd.uid)
        return true;
    if (!lx.sp("UID set"))
        return false;
    auto set = lx.sequenceSet("UID set");
    if (!set)
        return false;
    cmd.sequence = *set;
    return true;
}

// RFC 9208 GETQUOTA
bool parseGetQuota(Lexer &lx, Command &cmd)
{
    if (!lx.sp("quota root"))
        return false;
    auto root = lx.astring("quota root");
    if (!root)
        return false;
    cmd.quotaRoot = *root;
    return true;
}

// RFC 4978 COMPRESS
bool parseCompress(Lexer &lx, Command &cmd)
{
    if (!lx.sp("compression mechanism"))
        return false;
    auto mech = lx.upperAtom("compression mechanism");
    if (!mech)
        return false;
    cmd.compressMechanism = *mech;
    return true;
}

bool parseArgs(Args args, Lexer &lx, Command &cmd)
{
    using namespace detail;
    switch (args) {
    case Args::None: return true;
    case Args::Authenticate: return parseAuthenticate(lx, cmd);
    case Args::Login: return parseLogin(lx, cmd);
    case Args::Enable: return parseEnable(lx, cmd);
    case Args::Select: return parseSelect(lx, cmd);
    case Args::Create: return parseCreate(lx, cmd);
    case Args::Mailbox: return parseMailboxArg(lx, cmd);
    case Args::Rename: return parseRename(lx, cmd);
    case Args::List: return parseList(lx, cmd);
    case Args::Lsub: return parseLsub(lx, cmd);
    case Args::Status: return parseStatus(lx, cmd);
    case Args::Append: return parseAppend(lx, cmd);
    case Args::Search: return parseSearch(lx, cmd);
    case Args::Fetch: return parseFetch(lx, cmd);
    case Args::Store: return parseStore(lx, cmd);
    case Args::CopyMove: return parseCopyMove(lx, cmd);
    case Args::UidExpunge: return parseExpunge(lx, cmd);
    case Args::Id: return parseId(lx, cmd);
    case Args::QuotaRoot: return parseGetQuota(lx, cmd);
    case Args::SetQuota: return parseSetQuota(lx, cmd);
    case Args::Sort: return parseSort(lx, cmd);
    case Args::Thread: return parseThread(lx, cmd);
    case Args::Compress: return parseCompress(lx, cmd);
    case Args::GetMetadata: return parseGetMetadata(lx, cmd);
    case Args::SetMetadata: return parseSetMetadata(lx, cmd);
    }
    return false;
}

} // namespace

ParseResult parseCommand(const ParseInput &input, int maxNesting)
{
    ParseResult result;
    // Capped so that even a generous configuration keeps recursion (SEARCH keys nest
    // up to 4x this) well inside a thread's stack.
    Lexer lx(input, std::clamp(maxNesting, 1, kMaxNesting));
    auto finish = [&]() -> ParseResult {
        result.ok = lx.ok();
        if (!result.ok)
            result.error = lx.error();
        return result;
    };
    if (!lx.ok())
        return finish();

    auto tag = lx.tag();
    if (!tag)
        return finish();
    result.tag = *tag;
    result.command.tag = *tag;
    if (!lx.sp("command name"))
        return finish();

    auto name = lx.upperAtom("command name");
    if (!name)
        return finish();
    bool uid = false;
    if (*name == "UID") {
        uid = true;
        if (!lx.sp("command name after UID"))
            return finish();
        name = lx.upperAtom("command name after UID");
        if (!name)
            return finish();
    }
    const CommandSpec *spec = findCommand(*name);
    if (!spec) {
        result.unknownCommand = true;
        lx.fail(QStringLiteral("unknown command %1").arg(QString::fromLatin1(uid ? "UID " + *name : *name)));
        return finish();
    }
    if (uid && !spec->uidForm) {
        lx.fail(QStringLiteral("%1 has no UID form").arg(QLatin1String(spec->name)));
        return finish();
    }
    result.command.name = spec->command;
    result.command.uid = uid;

    if (!parseArgs(spec->args, lx, result.command))
        return finish();
    if (!lx.atEnd()) {
        if (lx.ok()) {
            if (lx.peek() == ' ')
                lx.fail(QStringLiteral("unexpected arguments after %1 at offset %2").arg(QLatin1String(spec->name)).arg(lx.pos()));
            else
                lx.fail(QStringLiteral("unexpected character at offset %1").arg(lx.pos()));
        }
    }
    return finish();
}

} // namespace valv::imap
