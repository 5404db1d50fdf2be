// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 9051 §6.3.9 LIST with RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS, RFC 6154
// SPECIAL-USE; §6.3.11 STATUS (+ RFC 8438 SIZE, RFC 7162 HIGHESTMODSEQ, RFC 7889
// APPENDLIMIT, RFC 8474 MAILBOXID); §6.3.2 SELECT / §6.3.3 EXAMINE with RFC 7162
// CONDSTORE/QRESYNC parameters; §6.3.4 CREATE with RFC 6154 USE.
//
// Implementation notes:
// - Option names are upper-cased; unknown LIST selection/return options are kept
//   (RFC 5258 option-extension), unknown STATUS items and SELECT/CREATE params are BAD.
// - RECURSIVEMATCH alone is BAD (RFC 5258 §3).
#include "imap/parser_commands.h"

namespace valv::imap::detail {

namespace {

bool parseOptionList(Lexer &lx, const char *what, QList<QByteArray> &out)
{
    if (!lx.expect('(', what) || !lx.enter())
        return false;
    if (!lx.eat(')')) {
        do {
            auto opt = lx.upperAtom(what);
            if (!opt)
                return false;
            out.append(*opt);
        } while (lx.eat(' '));
        if (!lx.expect(')', "')' closing option list"))
            return false;
    }
    lx.leave();
    return true;
}

// QRESYNC: known-uids and seq-match sets are UIDs/numbers: '*' and '$' are not allowed.
std::optional<SequenceSet> knownSet(Lexer &lx, const char *what)
{
    auto set = lx.sequenceSet(what, false);
    if (!set)
        return std::nullopt;
    for (const auto &r : set->ranges) {
        if (r.first == 0 || r.last == 0) {
            lx.fail(QStringLiteral("'*' not allowed in %1").arg(QLatin1String(what)));
            return std::nullopt;
        }
    }
    return set;
}

// "QRESYNC" SP "(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")"
bool parseQresync(Lexer &lx, Command &cmd)
{
    if (!lx.sp("QRESYNC parameters") || !lx.expect('(', "'(' opening QRESYNC parameters") || !lx.enter())
        return false;
    Command::Qresync q;
    auto validity = lx.nzNumber("UIDVALIDITY");
    if (!validity || !lx.sp("mod-sequence"))
        return false;
    q.uidValidity = *validity;
    auto modseq = lx.number64("mod-sequence");
    if (!modseq)
        return false;
    if (*modseq == 0)
        return lx.fail(QStringLiteral("QRESYNC mod-sequence must not be 0"));
    q.modSeq = *modseq;
    if (lx.eat(' ')) {
        if (lx.peek() != '(') {
            auto uids = knownSet(lx, "known UIDs");
            if (!uids)
                return false;
            q.knownUids = *uids;
            lx.eat(' ');
        }
        if (lx.eat('(')) {
            if (!lx.enter())
                return false;
            auto seqs = knownSet(lx, "known sequence set");
            if (!seqs || !lx.sp("known UID set"))
                return false;
            auto uids = knownSet(lx, "known UID set");
            if (!uids)
                return false;
            lx.leave();
            if (!lx.expect(')', "')' closing sequence match data"))
                return false;
            q.seqMatch = std::make_pair(*seqs, *uids);
        } else if (!q.knownUids || lx.peek() != ')') {
            return lx.expected("known UIDs or sequence match data");
        }
    }
    lx.leave();
    if (!lx.expect(')', "')' closing QRESYNC parameters"))
        return false;
    cmd.qresync = q;
    return true;
}

} // namespace

bool parseStatusAtts(Lexer &lx, QList<QByteArray> &out)
{
    static const char *const items[] = {"MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "DELETED",
                                        "SIZE", "RECENT", "HIGHESTMODSEQ", "APPENDLIMIT", "MAILBOXID"};
    if (!lx.expect('(', "'(' opening status items") || !lx.enter())
        return false;
    do {
        auto item = lx.upperAtom("status item");
        if (!item)
            return false;
        bool known = false;
        for (const char *i : items)
            known = known || *item == i;
        if (!known)
            return lx.fail(QStringLiteral("unknown status item %1").arg(QString::fromLatin1(*item)));
        out.append(*item);
    } while (lx.eat(' '));
    lx.leave();
    return lx.expect(')', "')' closing status items");
}

bool parseList(Lexer &lx, Command &cmd)
{
    if (!lx.sp("list arguments"))
        return false;
    if (lx.peek() == '(') {
        if (!parseOptionList(lx, "list selection option", cmd.listSelectOptions) || !lx.sp("reference"))
            return false;
        if (cmd.listSelectOptions.contains("RECURSIVEMATCH") && cmd.listSelectOptions.size() == 1)
            return lx.fail(QStringLiteral("RECURSIVEMATCH needs another selection option"));
    }
    auto ref = lx.mailbox("reference name");
    if (!ref || !lx.sp("mailbox pattern"))
        return false;
    cmd.reference = *ref;
    if (lx.eat('(')) {
        if (!lx.enter())
            return false;
        do {
            auto pat = lx.mailboxPattern("mailbox pattern");
            if (!pat)
                return false;
            cmd.patterns.append(*pat);
        } while (lx.eat(' '));
        lx.leave();
        if (!lx.expect(')', "')' closing pattern list"))
            return false;
    } else {
        auto pat = lx.mailboxPattern("mailbox pattern");
        if (!pat)
            return false;
        cmd.patterns.append(*pat);
    }
    if (!lx.eat(' '))
        return true;
    if (!lx.eatWord("RETURN"))
        return lx.expected("RETURN");
    if (!lx.sp("return options") || !lx.expect('(', "'(' opening return options") || !lx.enter())
        return false;
    if (!lx.eat(')')) {
        do {
            auto opt = lx.upperAtom("return option");
            if (!opt)
                return false;
            cmd.listReturnOptions.append(*opt);
            if (*opt == "STATUS") {
                if (!lx.sp("status items") || !parseStatusAtts(lx, cmd.statusItems))
                    return false;
            }
        } while (lx.eat(' '));
        if (!lx.expect(')', "')' closing return options"))
            return false;
    }
    lx.leave();
    return true;
}

bool parseLsub(Lexer &lx, Command &cmd)
{
    if (!lx.sp("reference name"))
        return false;
    auto ref = lx.mailbox("reference name");
    if (!ref || !lx.sp("mailbox pattern"))
        return false;
    cmd.reference = *ref;
    auto pat = lx.mailboxPattern("mailbox pattern");
    if (!pat)
        return false;
    cmd.patterns.append(*pat);
    return true;
}

bool parseStatus(Lexer &lx, Command &cmd)
{
    if (!lx.sp("mailbox name"))
        return false;
    auto mbox = lx.mailbox("mailbox name");
    if (!mbox || !lx.sp("status items"))
        return false;
    cmd.mailbox = *mbox;
    return parseStatusAtts(lx, cmd.statusItems);
}

bool parseSelect(Lexer &lx, Command &cmd)
{
    if (!lx.sp("mailbox name"))
        return false;
    auto mbox = lx.mailbox("mailbox name");
    if (!mbox)
        return false;
    cmd.mailbox = *mbox;
    if (!lx.eat(' '))
        return true;
    if (!lx.expect('(', "'(' opening select parameters") || !lx.enter())
        return false;
    do {
        auto param = lx.upperAtom("select parameter");
        if (!param)
            return false;
        if (*param == "CONDSTORE" && !cmd.condstore) {
            cmd.condstore = true;
        } else if (*param == "QRESYNC" && !cmd.qresync) {
            if (!parseQresync(lx, cmd))
                return false;
        } else {
            return lx.fail(QStringLiteral("unknown or repeated select parameter %1").arg(QString::fromLatin1(*param)));
        }
    } while (lx.eat(' '));
    lx.leave();
    return lx.expect(')', "')' closing select parameters");
}

bool parseCreate(Lexer &lx, Command &cmd)
{
    if (!lx.sp("mailbox name"))
        return false;
    auto mbox = lx.mailbox("mailbox name");
    if (!mbox)
        return false;
    cmd.mailbox = *mbox;
    if (!lx.eat(' '))
        return true;
    if (!lx.expect('(', "'(' opening create parameters") || !lx.enter())
        return false;
    bool sawUse = false;
    do {
        auto param = lx.upperAtom("create parameter");
        if (!param)
            return false;
        if (*param != "USE" || sawUse)
            return lx.fail(QStringLiteral("unknown or repeated create parameter %1").arg(QString::fromLatin1(*param)));
        sawUse = true;
        if (!lx.sp("special-use list") || !lx.expect('(', "'(' opening special-use list") || !lx.enter())
            return false;
        if (!lx.eat(')')) {
            do {
                if (lx.peek() != '\\')
                    return lx.expected("special-use attribute");
                auto attr = lx.flag("special-use attribute");
                if (!attr)
                    return false;
                cmd.createSpecialUse.append(*attr);
            } while (lx.eat(' '));
            if (!lx.expect(')', "')' closing special-use list"))
                return false;
        }
        lx.leave();
    } while (lx.eat(' '));
    lx.leave();
    return lx.expect(')', "')' closing create parameters");
}

} // namespace valv::imap::detail
