// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 9051 §6.3.9 LIST (and RFC 3501 §6.3.9 LSUB), §6.3.11 STATUS.
#include "imap/imapsession.h"

#include "mime/messageindex.h"

#include <QRegularExpression>

namespace valv::imap {

namespace {
constexpr char kDelimiter = '/';

QByteArray quoteMailbox(const QString &name)
{
    return mime::imapString(encodeMailboxUtf7(name), false);
}

// RFC 9051 §6.3.9: '*' matches anything, '%' anything but the hierarchy delimiter.
QRegularExpression patternToRegex(const QString &pattern)
{
    QString re = QStringLiteral("^");
    for (QChar c : pattern) {
        if (c == u'*')
            re += QStringLiteral(".*");
        else if (c == u'%')
            re += QStringLiteral("[^/]*");
        else
            re += QRegularExpression::escape(QString(c));
    }
    re += u'$';
    return QRegularExpression(re);
}

bool matches(const QRegularExpression &re, const QString &name)
{
    // INBOX is case-insensitive (RFC 9051 §5.1).
    if (name == QLatin1String("INBOX")) {
        return re.match(name).hasMatch() || re.match(QStringLiteral("inbox")).hasMatch()
            || re.match(QStringLiteral("Inbox")).hasMatch();
    }
    return re.match(name).hasMatch();
}

QByteArray flagList(const QList<QByteArray> &flags) { return "(" + flags.join(' ') + ")"; }
} // namespace

void ImapSession::cmdList(const Command &cmd)
{
    const bool lsub = cmd.name == CommandName::Lsub;
    if (!cmd.listSelectOptions.isEmpty() || !cmd.listReturnOptions.isEmpty() || !cmd.statusItems.isEmpty())
        return bad(cmd.tag, "LIST-EXTENDED options are not offered by this server");
    if (cmd.patterns.size() == 1 && cmd.patterns.first().isEmpty()) {
        // RFC 9051 §6.3.9: the hierarchy delimiter and root name.
        untagged(QByteArray(lsub ? "LSUB" : "LIST") + " (\\Noselect) \"/\" \"\"");
        return ok(cmd.tag, lsub ? "LSUB completed" : "LIST completed");
    }
    auto folders = m_mail->folders();
    if (!folders)
        return serverBug(cmd.tag, folders.error().message);
    for (const QString &pattern : cmd.patterns) {
        const QRegularExpression re = patternToRegex(cmd.reference + pattern);
        for (const store::Folder &f : *folders) {
            if (lsub && !f.subscribed)
                continue;
            if (!matches(re, f.name))
                continue;
            const bool children = std::any_of(folders->begin(), folders->end(), [&](const store::Folder &o) {
                return o.name.startsWith(f.name + QLatin1Char(kDelimiter));
            });
            QList<QByteArray> attrs{children ? "\\HasChildren" : "\\HasNoChildren"};
            if (!f.specialUse.isEmpty())
                attrs.append(f.specialUse.toUtf8());
            untagged(QByteArray(lsub ? "LSUB " : "LIST ") + flagList(attrs) + " \"/\" " + quoteMailbox(f.name));
        }
    }
    ok(cmd.tag, lsub ? "LSUB completed" : "LIST completed");
}

void ImapSession::cmdStatus(const Command &cmd)
{
    auto f = m_mail->folder(cmd.mailbox);
    if (!f)
        return f.error().code == int(store::MailError::NoSuchFolder) ? no(cmd.tag, "[NONEXISTENT] No such mailbox")
                                                                      : serverBug(cmd.tag, f.error().message);
    QList<QByteArray> items;
    for (const QByteArray &item : cmd.statusItems) {
        if (item == "MESSAGES")
            items << "MESSAGES " + QByteArray::number(f->messages);
        else if (item == "RECENT")
            items << "RECENT 0";
        else if (item == "UIDNEXT")
            items << "UIDNEXT " + QByteArray::number(f->uidNext);
        else if (item == "UIDVALIDITY")
            items << "UIDVALIDITY " + QByteArray::number(f->uidValidity);
        else if (item == "UNSEEN")
            items << "UNSEEN " + QByteArray::number(f->unseen);
        else
            return bad(cmd.tag, "Unsupported STATUS item " + item);
    }
    untagged("STATUS " + quoteMailbox(f->name) + " (" + items.join(' ') + ")");
    ok(cmd.tag, "STATUS completed");
}

} // namespace valv::imap
