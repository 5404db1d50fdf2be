// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 9051 §6.3.12 APPEND (+ RFC 3516 literal8, RFC 6855 UTF8 (literal8)), RFC 2971 ID,
// RFC 5464 GETMETADATA/SETMETADATA, RFC 9208 SETQUOTA.
//
// Implementation notes:
// - APPEND takes exactly one message (MULTIAPPEND and CATENATE are not offered).
// - ID enforces RFC 2971's limits: at most 30 pairs, field names up to 30 octets,
//   values up to 1024 octets.
#include "imap/parser_commands.h"

namespace valv::imap::detail {

bool parseAppend(Lexer &lx, Command &cmd)
{
    if (!lx.sp("mailbox name"))
        return false;
    auto mbox = lx.mailbox("mailbox name");
    if (!mbox || !lx.sp("message"))
        return false;
    cmd.mailbox = *mbox;
    if (lx.peek() == '(') {
        auto flags = lx.flagList("flag list");
        if (!flags || !lx.sp("message"))
            return false;
        cmd.appendFlags = *flags;
    }
    if (lx.peek() == '"') {
        auto dt = lx.dateTime("date-time");
        if (!dt || !lx.sp("message"))
            return false;
        cmd.appendDate = *dt;
    }
    if (lx.eatWord("UTF8")) {
        // RFC 6855 §4: "UTF8" SP "(" literal8 ")"; a plain literal is tolerated too.
        if (!lx.sp("UTF8 message") || !lx.expect('(', "'(' opening UTF8 message"))
            return false;
        auto msg = lx.literal("message literal", true);
        if (!msg || !lx.expect(')', "')' closing UTF8 message"))
            return false;
        cmd.appendMessage = *msg;
        cmd.appendUtf8 = true;
    } else {
        bool lit8 = false;
        auto msg = lx.literal("message literal", true, &lit8);
        if (!msg)
            return false;
        cmd.appendMessage = *msg;
        cmd.appendBinary = lit8;
    }
    if (lx.peek() == ' ')
        return lx.fail(QStringLiteral("only one message per APPEND is supported"));
    return true;
}

bool parseId(Lexer &lx, Command &cmd)
{
    if (!lx.sp("ID parameters"))
        return false;
    if (lx.eatWord("NIL"))
        return true;
    if (!lx.expect('(', "'(' or NIL for ID parameters") || !lx.enter())
        return false;
    if (!lx.eat(')')) {
        do {
            if (cmd.idParams.size() >= 30)
                return lx.fail(QStringLiteral("more than 30 ID parameters"));
            auto key = lx.string("ID field name");
            if (!key || !lx.sp("ID value"))
                return false;
            if (key->size() > 30)
                return lx.fail(QStringLiteral("ID field name longer than 30 octets"));
            auto value = lx.nstring("ID value");
            if (!value)
                return false;
            if (*value && (*value)->size() > 1024)
                return lx.fail(QStringLiteral("ID value longer than 1024 octets"));
            cmd.idParams.append({*key, *value});
        } while (lx.eat(' '));
        if (!lx.expect(')', "')' closing ID parameters"))
            return false;
    }
    lx.leave();
    return true;
}

// "GETMETADATA" [SP getmetadata-options] SP mailbox SP getmetadata-entries
bool parseGetMetadata(Lexer &lx, Command &cmd)
{
    if (!lx.sp("mailbox name"))
        return false;
    if (lx.eat('(')) {
        if (!lx.enter())
            return false;
        do {
            auto opt = lx.upperAtom("GETMETADATA option");
            if (!opt || !lx.sp("option value"))
                return false;
            if (*opt == "MAXSIZE") {
                auto n = lx.number("MAXSIZE");
                if (!n)
                    return false;
                cmd.metadataMaxSize = *n;
            } else if (*opt == "DEPTH") {
                auto d = lx.upperAtom("DEPTH");
                if (!d)
                    return false;
                if (*d != "0" && *d != "1" && *d != "INFINITY")
                    return lx.fail(QStringLiteral("DEPTH must be 0, 1 or infinity"));
                cmd.metadataDepth = *d;
            } else {
                return lx.fail(QStringLiteral("unknown GETMETADATA option %1").arg(QString::fromLatin1(*opt)));
            }
        } while (lx.eat(' '));
        lx.leave();
        if (!lx.expect(')', "')' closing GETMETADATA options") || !lx.sp("mailbox name"))
            return false;
    }
    auto mbox = lx.mailbox("mailbox name");
    if (!mbox || !lx.sp("metadata entries"))
        return false;
    cmd.mailbox = *mbox;
    const bool list = lx.eat('(');
    if (list && !lx.enter())
        return false;
    do {
        auto entry = lx.astring("metadata entry");
        if (!entry)
            return false;
        cmd.metadataEntries.append(*entry);
    } while (list && lx.eat(' '));
    if (list) {
        lx.leave();
        return lx.expect(')', "')' closing metadata entries");
    }
    return true;
}

// "SETMETADATA" SP mailbox SP "(" entry-value *(SP entry-value) ")"
bool parseSetMetadata(Lexer &lx, Command &cmd)
{
    if (!lx.sp("mailbox name"))
        return false;
    auto mbox = lx.mailbox("mailbox name");
    if (!mbox || !lx.sp("metadata values") || !lx.expect('(', "'(' opening metadata values") || !lx.enter())
        return false;
    cmd.mailbox = *mbox;
    do {
        auto entry = lx.astring("metadata entry");
        if (!entry || !lx.sp("metadata value"))
            return false;
        std::optional<QByteArray> value;
        if (lx.peek() == '~') {
            auto v = lx.literal("metadata value", true);
            if (!v)
                return false;
            value = *v;
        } else {
            auto v = lx.nstring("metadata value");
            if (!v)
                return false;
            value = *v;
        }
        cmd.metadataValues.append({*entry, value});
    } while (lx.eat(' '));
    lx.leave();
    return lx.expect(')', "')' closing metadata values");
}

// "SETQUOTA" SP quota-root SP "(" [setquota-resource *(SP setquota-resource)] ")"
bool parseSetQuota(Lexer &lx, Command &cmd)
{
    if (!lx.sp("quota root"))
        return false;
    auto root = lx.astring("quota root");
    if (!root || !lx.sp("quota limits") || !lx.expect('(', "'(' opening quota limits") || !lx.enter())
        return false;
    cmd.quotaRoot = *root;
    if (!lx.eat(')')) {
        do {
            auto name = lx.upperAtom("quota resource name");
            if (!name || !lx.sp("quota limit"))
                return false;
            auto limit = lx.number64("quota limit");
            if (!limit)
                return false;
            cmd.quotaLimits.append({*name, *limit});
        } while (lx.eat(' '));
        if (!lx.expect(')', "')' closing quota limits"))
            return false;
    }
    lx.leave();
    return true;
}

} // namespace valv::imap::detail
