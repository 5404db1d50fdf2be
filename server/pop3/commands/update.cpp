// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 1939 §6 QUIT and the UPDATE state: the DELEd messages leave the INBOX in one
// store transaction (moved to Trash, or expunged when pop3_deleted_to_trash is off or
// the \Trash folder is INBOX itself). It runs on the session's thread, on its connection.
#include "pop3/pop3session.h"

#include "store/mailboxhub.h"

#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcPop3)

namespace valv::pop3 {

namespace {
// The user's trash: the folder with the \Trash attribute (RFC 6154), wherever the user
// renamed it; "Trash", created with that attribute, when there is none.
Result<store::Folder> trashFolder(store::MailStore &mail)
{
    auto folders = mail.folders();
    if (!folders)
        return folders.error();
    for (const store::Folder &f : *folders) {
        if (f.specialUse == QLatin1String("\\Trash"))
            return f;
    }
    for (const store::Folder &f : *folders) {
        if (f.name == QLatin1String("Trash"))
            return f;
    }
    auto created = mail.createFolder(QStringLiteral("Trash"), QStringLiteral("\\Trash"));
    if (!created && created.error().code == int(store::MailError::Exists))
        return mail.folder(QStringLiteral("Trash"), store::MailStore::Counts::No);
    return created;
}
} // namespace

void Pop3Session::cmdQuit()
{
    if (m_state != State::Transaction) {
        // RFC 1939 §4: QUIT in AUTHORIZATION ends the session without UPDATE.
        ok("Valv POP3 server signing off");
        m_state = State::Closed;
        sink()->close();
        return;
    }
    int removed = 0;
    QString error;
    if (!commitDeletions(&removed, &error)) {
        // RFC 1939 §6: "-ERR some deleted messages not removed". Nothing was: one transaction.
        qCWarning(lcPop3).noquote() << log() << "UPDATE failed:" << error;
        closeWith("[SYS/TEMP] Some deleted messages not removed; the event was logged as session " + m_id.toUtf8());
        return;
    }
    qCInfo(lcPop3).noquote() << log() << "logout" << m_user.address << "removed" << removed;
    qint64 left = 0;
    for (const Entry &e : m_drop)
        left += e.deleted ? 0 : 1;
    ok("Valv POP3 server signing off (" + QByteArray::number(left) + " messages left)");
    m_state = State::Closed;
    m_lock.release();
    m_mail.reset();
    sink()->close();
}

bool Pop3Session::commitDeletions(int *removed, QString *error)
{
    QList<uint32_t> uids;
    for (const Entry &e : m_drop) {
        if (e.deleted)
            uids.append(e.uid);
    }
    *removed = 0;
    if (uids.isEmpty())
        return true;
    if (m_ctx.limits.pop3DeletedToTrash) {
        auto trash = trashFolder(*m_mail);
        if (!trash) {
            *error = QStringLiteral("Trash: ") + trash.error().message;
            return false;
        }
        // RFC 6154 lets a user put \Trash on any folder, INBOX included; moving messages
        // into the folder they are in would keep them, so they are expunged instead.
        if (trash->id != m_folderId) {
            // Messages IMAP expunged meanwhile are skipped by the move.
            auto moved = m_mail->copyMessages(m_folderId, uids, trash->name, true);
            if (!moved) {
                *error = QStringLiteral("move to %1: %2").arg(trash->name, moved.error().message);
                return false;
            }
            *removed = int(moved->uids.size());
            if (*removed > 0) {
                store::MailboxHub::instance().notify(m_user.id, QStringLiteral("INBOX"));
                store::MailboxHub::instance().notify(m_user.id, trash->name);
            }
            return true;
        }
    }
    auto gone = m_mail->expungeUids(m_folderId, uids);
    if (!gone) {
        *error = QStringLiteral("expunge: ") + gone.error().message;
        return false;
    }
    *removed = int(gone->size());
    if (*removed > 0)
        store::MailboxHub::instance().notify(m_user.id, QStringLiteral("INBOX"));
    return true;
}

} // namespace valv::pop3
