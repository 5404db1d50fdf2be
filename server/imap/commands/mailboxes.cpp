// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 9051 §6.3.4 CREATE (+ RFC 6154 §3 CREATE-SPECIAL-USE), §6.3.5 DELETE, §6.3.6 RENAME,
// §6.3.7 SUBSCRIBE, §6.3.8 UNSUBSCRIBE, §6.3.9 LIST (+ RFC 5258 LIST-EXTENDED, RFC 5819
// LIST-STATUS, RFC 6154 SPECIAL-USE) and RFC 3501 §6.3.9 LSUB, §6.3.10 NAMESPACE
// (RFC 2342), §6.3.11 STATUS (+ RFC 8438 STATUS=SIZE, RFC 7162 HIGHESTMODSEQ,
// RFC 7889 APPENDLIMIT).
//
// Implementation notes
// - One personal namespace, "", delimiter '/'. Names are canonical: INBOX (any case) and
//   the "INBOX/" prefix are spelled upper-case; no leading, trailing or doubled '/'; no
//   list wildcards ('*', '%') inside a name.
// - The store has no \Noselect folders. DELETE of a folder with children deletes it and
//   keeps the children (RFC 9051 §6.3.5, second example); the name then exists only as a
//   level of hierarchy, which LIST shows for a trailing '%' as \Noselect (RFC 9051
//   §6.3.9), or as \NonExistent with CHILDINFO under RECURSIVEMATCH (RFC 5258 §3.5).
// - CREATE and RENAME create missing parents first; they are not undone when the
//   final step fails (each is a folder the client could have created itself).
// - The selected folder cannot be deleted (NO [INUSE]); renaming it keeps it selected.
// - A special use may be held by several folders (the defaults already hold all five);
//   only real folders' uses are accepted (\All, \Flagged, \Important are virtual).
// - Names go out as modified UTF-7 quoted strings, or as UTF-8 quoted strings after
//   ENABLE UTF8=ACCEPT (RFC 6855 §3).
#include "imap/imapsession.h"

#include "store/mailboxhub.h"

#include <QHash>
#include <QSet>

#include <algorithm>

namespace valv::imap {

namespace {
constexpr QChar kDelimiter = u'/';

// RFC 9051 §5.1: INBOX is case-insensitive, also as the first level of a hierarchy.
QString canonicalName(QString name)
{
    if (name.size() >= 5 && QStringView(name).left(5).compare(QLatin1String("INBOX"), Qt::CaseInsensitive) == 0
        && (name.size() == 5 || name.at(5) == kDelimiter))
        name.replace(0, 5, QStringLiteral("INBOX"));
    return name;
}

QString stripTrailingDelimiters(QString name)
{
    while (name.endsWith(kDelimiter))
        name.chop(1);
    return name;
}

bool validName(const QString &name)
{
    return !name.isEmpty() && !name.startsWith(kDelimiter) && !name.endsWith(kDelimiter)
        && !name.contains(QStringLiteral("//")) && !name.contains(u'*') && !name.contains(u'%');
}

// "a/b/c" -> {"a", "a/b"}
QStringList ancestorsOf(const QString &name)
{
    QStringList out;
    for (qsizetype i = name.indexOf(kDelimiter); i > 0; i = name.indexOf(kDelimiter, i + 1))
        out.append(name.left(i));
    return out;
}

bool isInside(const QString &name, const QString &parent)
{
    return name.size() > parent.size() + 1 && name.startsWith(parent) && name.at(parent.size()) == kDelimiter;
}

// RFC 9051 §6.3.9: '*' matches anything, '%' anything but the delimiter. The INBOX part
// of a name compares case-insensitively. Dynamic programming: O(pattern x name).
bool matchPattern(QStringView pattern, QStringView name)
{
    const qsizetype n = name.size();
    const qsizetype ci = (name.startsWith(QLatin1String("INBOX")) && (n == 5 || name.at(5) == kDelimiter)) ? 5 : 0;
    QList<bool> cur(n + 1, false), next(n + 1, false);
    cur[0] = true;
    for (const QChar c : pattern) {
        if (c == u'*' || c == u'%') {
            bool any = false;
            for (qsizetype j = 0; j <= n; ++j) {
                if (c == u'%' && j > 0 && name.at(j - 1) == kDelimiter)
                    any = false; // '%' cannot run across a delimiter
                any = any || cur[j];
                next[j] = any;
            }
        } else {
            next[0] = false;
            for (qsizetype j = 1; j <= n; ++j) {
                const QChar x = name.at(j - 1);
                const bool eq = j - 1 < ci ? x.toCaseFolded() == c.toCaseFolded() : x == c;
                next[j] = cur[j - 1] && eq;
            }
        }
        std::swap(cur, next);
    }
    return cur[n];
}

QByteArray quoted(const QByteArray &bytes)
{
    QByteArray out = "\"";
    for (const char c : bytes) {
        if (c == '"' || c == '\\')
            out += '\\';
        out += c;
    }
    return out + '"';
}

// RFC 6154 §2 uses of real folders. \All, \Flagged (and RFC 8457 \Important) name
// virtual mailboxes this store cannot keep.
QString specialUseFor(const QByteArray &use)
{
    static const char *const real[] = {"\\Archive", "\\Drafts", "\\Junk", "\\Sent", "\\Trash"};
    for (const char *r : real) {
        if (use.compare(r, Qt::CaseInsensitive) == 0)
            return QString::fromLatin1(r);
    }
    return {};
}

// Every STATUS item the parser accepts is offered (MAILBOXID: RFC 8474, random ids).
bool statusItemsOffered(const QList<QByteArray> &, QByteArray *) { return true; }

struct ListOptions {
    bool selSubscribed = false, selSpecialUse = false, recursive = false;
    bool retSubscribed = false, retStatus = false;
};
} // namespace

QByteArray ImapSession::mailboxName(const QString &name) const
{
    if (m_enabled.contains("UTF8=ACCEPT") || m_rev2)
        return quoted(name.toUtf8());
    return quoted(encodeMailboxUtf7(name));
}

void ImapSession::replyStoreError(const QByteArray &tag, const Error &error)
{
    switch (store::MailError(error.code)) {
    case store::MailError::NoSuchFolder: return no(tag, "[NONEXISTENT] No such mailbox");
    case store::MailError::Exists: return no(tag, "[ALREADYEXISTS] Mailbox already exists");
    case store::MailError::Invalid: return no(tag, "[CANNOT] Invalid mailbox name");
    default: return serverBug(tag, error.message);
    }
}

// Creates every missing parent of `name`; false after replying with the failure.
bool ImapSession::createParents(const QByteArray &tag, const QString &name)
{
    for (const QString &parent : ancestorsOf(name)) {
        auto made = m_mail->createFolder(parent);
        if (!made && made.error().code != int(store::MailError::Exists)) {
            replyStoreError(tag, made.error());
            return false;
        }
    }
    return true;
}

void ImapSession::cmdCreate(const Command &cmd)
{
    // RFC 9051 §6.3.4: a trailing delimiter only says the client means to add children.
    const QString name = canonicalName(stripTrailingDelimiters(cmd.mailbox));
    if (name == QLatin1String("INBOX"))
        return no(cmd.tag, "[ALREADYEXISTS] INBOX always exists");
    if (!validName(name))
        return no(cmd.tag, "[CANNOT] Invalid mailbox name");
    QString use;
    if (cmd.createSpecialUse.size() > 1)
        return no(cmd.tag, "[USE] A mailbox can have one special use here");
    if (!cmd.createSpecialUse.isEmpty()) {
        use = specialUseFor(cmd.createSpecialUse.first());
        if (use.isEmpty())
            return no(cmd.tag, "[USE] Special use " + cmd.createSpecialUse.first() + " is not supported");
    }
    auto existing = m_mail->folder(name);
    if (existing)
        return no(cmd.tag, "[ALREADYEXISTS] Mailbox already exists");
    if (existing.error().code != int(store::MailError::NoSuchFolder))
        return serverBug(cmd.tag, existing.error().message);
    // The folder count is limited (max_folders): counted with the parents to be made.
    auto all = m_mail->folders();
    if (!all)
        return serverBug(cmd.tag, all.error().message);
    qsizetype adding = 1;
    for (qsizetype at = name.indexOf(u'/'); at > 0; at = name.indexOf(u'/', at + 1)) {
        const QString parent = name.left(at);
        if (std::none_of(all->begin(), all->end(), [&](const store::Folder &f) { return f.name == parent; }))
            ++adding;
    }
    if (all->size() + adding > m_ctx.limits.maxFolders)
        return no(cmd.tag, "[LIMIT] Too many mailboxes (at most " + QByteArray::number(m_ctx.limits.maxFolders) + ")");
    if (!createParents(cmd.tag, name))
        return;
    auto made = m_mail->createFolder(name, use);
    if (!made)
        return replyStoreError(cmd.tag, made.error());
    ok(cmd.tag, "[MAILBOXID (" + made->mailboxId.toLatin1() + ")] CREATE completed"); // RFC 8474 §4.1
}

void ImapSession::cmdDelete(const Command &cmd)
{
    const QString name = canonicalName(cmd.mailbox);
    if (name == QLatin1String("INBOX"))
        return no(cmd.tag, "[CANNOT] INBOX cannot be deleted");
    if (m_state == State::Selected && m_folder.name == name)
        return no(cmd.tag, "[INUSE] Mailbox is selected; CLOSE or UNSELECT it first");
    // Children stay (RFC 9051 §6.3.5): the store removes this folder and its messages only.
    auto gone = m_mail->deleteFolder(name);
    if (!gone)
        return replyStoreError(cmd.tag, gone.error());
    announceChange(name); // sessions that have it selected see its messages go
    ok(cmd.tag, "DELETE completed");
}

void ImapSession::cmdRename(const Command &cmd)
{
    const QString from = canonicalName(cmd.mailbox);
    const QString to = canonicalName(stripTrailingDelimiters(cmd.newMailbox));
    if (to == QLatin1String("INBOX"))
        return no(cmd.tag, "[ALREADYEXISTS] INBOX always exists");
    if (!validName(to))
        return no(cmd.tag, "[CANNOT] Invalid mailbox name");
    auto src = m_mail->folder(from);
    if (!src)
        return replyStoreError(cmd.tag, src.error());
    if (from == to)
        return no(cmd.tag, "[ALREADYEXISTS] Mailbox already exists");
    if (isInside(to, from))
        return no(cmd.tag, "[CANNOT] A mailbox cannot be moved inside itself");
    auto target = m_mail->folder(to);
    if (target)
        return no(cmd.tag, "[ALREADYEXISTS] Mailbox already exists");
    if (target.error().code != int(store::MailError::NoSuchFolder))
        return serverBug(cmd.tag, target.error().message);
    if (!createParents(cmd.tag, to))
        return;
    auto renamed = m_mail->renameFolder(from, to);
    if (!renamed)
        return replyStoreError(cmd.tag, renamed.error());
    if (from == QLatin1String("INBOX")) {
        // RFC 9051 §6.3.6: INBOX's messages moved out; INBOX stays, empty.
        announceChange(from);
        if (m_state == State::Selected && m_folder.name == from)
            m_folderDirty = true; // the EXPUNGEs come before the tagged OK
    } else {
        if (m_state == State::Selected && (m_folder.name == from || isInside(m_folder.name, from)))
            m_folder.name = to + m_folder.name.mid(from.size()); // same folder, new name
        store::MailboxHub::instance().notifyRenamed(m_user.id, from, to, this);
    }
    ok(cmd.tag, "RENAME completed");
}

void ImapSession::cmdSubscribe(const Command &cmd)
{
    const bool on = cmd.name == CommandName::Subscribe;
    // A subscription needs an existing folder: the store keeps subscriptions on folders,
    // so there are no subscribed-but-missing names (RFC 9051 §6.3.7 allows refusing).
    auto done = m_mail->setSubscribed(canonicalName(cmd.mailbox), on);
    if (!done)
        return replyStoreError(cmd.tag, done.error());
    ok(cmd.tag, on ? "SUBSCRIBE completed" : "UNSUBSCRIBE completed");
}

void ImapSession::cmdNamespace(const Command &cmd)
{
    // RFC 2342 §5: personal namespaces, other users', shared.
    untagged("NAMESPACE ((\"\" \"/\")) NIL NIL");
    ok(cmd.tag, "NAMESPACE completed");
}

std::optional<QByteArray> ImapSession::statusData(const store::Folder &f, const QList<QByteArray> &items,
                                                  QString *error)
{
    QList<QByteArray> out;
    std::optional<uint32_t> deleted;
    for (const QByteArray &item : items) {
        if (item == "MESSAGES") {
            out << "MESSAGES " + QByteArray::number(f.messages);
        } else if (item == "RECENT") {
            out << "RECENT 0"; // IMAP4rev1 clients ask; this server never sets \Recent
        } else if (item == "UIDNEXT") {
            out << "UIDNEXT " + QByteArray::number(f.uidNext);
        } else if (item == "UIDVALIDITY") {
            out << "UIDVALIDITY " + QByteArray::number(f.uidValidity);
        } else if (item == "UNSEEN") {
            out << "UNSEEN " + QByteArray::number(f.unseen);
        } else if (item == "HIGHESTMODSEQ") {
            out << "HIGHESTMODSEQ " + QByteArray::number(f.highestModSeq);
        } else if (item == "MAILBOXID") {
            out << "MAILBOXID (" + f.mailboxId.toLatin1() + ")";
        } else if (item == "APPENDLIMIT") {
            out << "APPENDLIMIT " + QByteArray::number(m_ctx.limits.maxMessageSize);
        } else if (item == "SIZE") {
            auto size = m_mail->folderSize(f.id);
            if (!size) {
                *error = size.error().message;
                return std::nullopt;
            }
            out << "SIZE " + QByteArray::number(*size);
        } else if (item == "DELETED") {
            if (!deleted) {
                auto msgs = m_mail->messages(f.id);
                if (!msgs) {
                    *error = msgs.error().message;
                    return std::nullopt;
                }
                deleted = uint32_t(std::count_if(msgs->begin(), msgs->end(), [](const store::MessageMeta &m) {
                    return std::any_of(m.flags.begin(), m.flags.end(), [](const QByteArray &x) {
                        return x.compare("\\Deleted", Qt::CaseInsensitive) == 0;
                    });
                }));
            }
            out << "DELETED " + QByteArray::number(*deleted);
        }
    }
    return "STATUS " + mailboxName(f.name) + " (" + out.join(' ') + ")";
}

void ImapSession::cmdStatus(const Command &cmd)
{
    QByteArray unsupported;
    if (!statusItemsOffered(cmd.statusItems, &unsupported))
        return bad(cmd.tag, "Unsupported STATUS item " + unsupported);
    // RFC 9051 §6.3.11 discourages STATUS on the selected mailbox but allows it.
    auto f = m_mail->folder(canonicalName(cmd.mailbox));
    if (!f)
        return replyStoreError(cmd.tag, f.error());
    QString error;
    const auto line = statusData(*f, cmd.statusItems, &error);
    if (!line)
        return serverBug(cmd.tag, error);
    untagged(*line);
    ok(cmd.tag, "STATUS completed");
}

void ImapSession::cmdList(const Command &cmd)
{
    const bool lsub = cmd.name == CommandName::Lsub;
    const QByteArray verb = lsub ? "LSUB" : "LIST";
    ListOptions o;
    for (const QByteArray &opt : cmd.listSelectOptions) {
        if (opt == "SUBSCRIBED")
            o.selSubscribed = true;
        else if (opt == "SPECIAL-USE")
            o.selSpecialUse = true;
        else if (opt == "RECURSIVEMATCH")
            o.recursive = true;
        else if (opt != "REMOTE") // one server: there are no remote mailboxes
            return bad(cmd.tag, "Unknown LIST selection option " + opt);
    }
    // RFC 5258 §3.1: RECURSIVEMATCH needs an option that selects (REMOTE does not).
    if (o.recursive && !o.selSubscribed && !o.selSpecialUse)
        return bad(cmd.tag, "RECURSIVEMATCH needs SUBSCRIBED or SPECIAL-USE");
    for (const QByteArray &opt : cmd.listReturnOptions) {
        if (opt == "SUBSCRIBED")
            o.retSubscribed = true;
        else if (opt == "STATUS")
            o.retStatus = true;
        else if (opt != "CHILDREN" && opt != "SPECIAL-USE") // both kinds of attributes are always sent
            return bad(cmd.tag, "Unknown LIST return option " + opt);
    }
    QByteArray unsupported;
    if (o.retStatus && !statusItemsOffered(cmd.statusItems, &unsupported))
        return bad(cmd.tag, "Unsupported STATUS item " + unsupported);
    const bool selecting = o.selSubscribed || o.selSpecialUse;
    const bool showSubscribed = o.retSubscribed || o.selSubscribed; // RFC 5258 §3.1

    // RFC 9051 §6.3.9: an empty pattern asks for the delimiter and the root name.
    QStringList patterns;
    bool rootAsked = false;
    for (const QString &p : cmd.patterns) {
        if (p.isEmpty())
            rootAsked = true;
        else // a pattern starting with the delimiter is absolute (the reference is ignored)
            patterns.append(p.startsWith(kDelimiter) ? p : cmd.reference + p);
    }
    if (rootAsked)
        untagged(verb + " (\\Noselect) \"/\" \"\"");
    if (patterns.isEmpty())
        return ok(cmd.tag, verb + " completed");

    auto folders = m_mail->folders();
    if (!folders)
        return serverBug(cmd.tag, folders.error().message);
    QHash<QString, const store::Folder *> byName;
    QSet<QString> levels; // names that exist only as a level of hierarchy
    for (const store::Folder &f : *folders)
        byName.insert(f.name, &f);
    for (const store::Folder &f : *folders) {
        for (const QString &a : ancestorsOf(f.name)) {
            if (!byName.contains(a))
                levels.insert(a);
        }
    }
    QStringList names = byName.keys() + QStringList(levels.begin(), levels.end());
    std::sort(names.begin(), names.end(), [](const QString &a, const QString &b) {
        const bool ia = a == QLatin1String("INBOX"), ib = b == QLatin1String("INBOX");
        return ia != ib ? ia : a < b;
    });

    auto meetsCriteria = [&](const store::Folder *f) {
        if (!f)
            return false;
        if (lsub || o.selSubscribed)
            return f->subscribed && (!o.selSpecialUse || !f->specialUse.isEmpty());
        return !o.selSpecialUse || !f->specialUse.isEmpty();
    };
    auto descendants = [&](const QString &name) {
        QList<const store::Folder *> out;
        for (const store::Folder &f : *folders) {
            if (isInside(f.name, name))
                out.append(&f);
        }
        return out;
    };

    for (const QString &name : std::as_const(names)) {
        const store::Folder *f = byName.value(name);
        QStringList matched;
        for (const QString &p : std::as_const(patterns)) {
            if (matchPattern(p, name))
                matched.append(p);
        }
        if (matched.isEmpty())
            continue;
        const bool percentLast = std::any_of(matched.begin(), matched.end(),
                                             [](const QString &p) { return p.endsWith(u'%'); });
        const QList<const store::Folder *> below = descendants(name);
        QByteArray childInfo;
        if (o.recursive) {
            // RFC 5258 §3.5: a descendant that meets the criteria but not the pattern.
            const bool hidden = std::any_of(below.begin(), below.end(), [&](const store::Folder *d) {
                return meetsCriteria(d) && std::none_of(matched.begin(), matched.end(), [&](const QString &p) {
                    return matchPattern(p, d->name);
                });
            });
            if (hidden) {
                QList<QByteArray> why;
                if (o.selSubscribed)
                    why << "\"SUBSCRIBED\"";
                if (o.selSpecialUse)
                    why << "\"SPECIAL-USE\"";
                childInfo = " (\"CHILDINFO\" (" + why.join(' ') + "))";
            }
        }

        QList<QByteArray> attrs;
        bool selectable = true;
        if (meetsCriteria(f) || (!childInfo.isEmpty() && f)) {
            // listed normally (or, RECURSIVEMATCH, as the parent of what was selected)
        } else if (!childInfo.isEmpty()) {
            attrs << "\\NonExistent"; // RFC 5258: implies \Noselect
            selectable = false;
        } else if (!selecting && percentLast
                   && (lsub ? std::any_of(below.begin(), below.end(), meetsCriteria) : !below.isEmpty())) {
            // RFC 9051 §6.3.9 / RFC 3501 §6.3.9 LSUB: a level of hierarchy that is not
            // itself a (subscribed) mailbox, returned for a trailing '%'.
            attrs << "\\Noselect";
            selectable = false;
        } else {
            continue;
        }
        if (!lsub) {
            attrs << (below.isEmpty() ? "\\HasNoChildren" : "\\HasChildren");
            if (f && showSubscribed && f->subscribed)
                attrs << "\\Subscribed";
            if (f && !f->specialUse.isEmpty()) // RFC 6154 §2: sent with or without RETURN (SPECIAL-USE)
                attrs << f->specialUse.toUtf8();
        }
        untagged(verb + " (" + attrs.join(' ') + ") \"/\" " + mailboxName(name) + childInfo);
        if (o.retStatus && selectable && f) {
            // RFC 5819 §2: STATUS follows the mailbox's LIST response.
            QString error;
            const auto line = statusData(*f, cmd.statusItems, &error);
            if (!line)
                return serverBug(cmd.tag, error);
            untagged(*line);
        }
    }
    ok(cmd.tag, verb + " completed");
}

} // namespace valv::imap
