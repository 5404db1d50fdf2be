// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 2177 / RFC 9051 §6.3.13 IDLE: changes to the selected mailbox are pushed as they
// happen (MailboxHub), not only at the next command.
#include "imap/imapsession.h"

namespace valv::imap {

void ImapSession::cmdIdle(const Command &cmd)
{
    m_idleTag = cmd.tag;
    m_receiver.setIdleMode(true);
    sink()->write("+ idling\r\n");
    if (m_folderDirty && m_state == State::Selected) {
        m_folderDirty = false;
        syncSelected(true);
    }
}

void ImapSession::idleDone(const Command &cmd)
{
    if (m_idleTag.isEmpty())
        return bad(cmd.tag.isEmpty() ? QByteArray("*") : cmd.tag, "DONE without IDLE");
    m_receiver.setIdleMode(false);
    const QByteArray tag = std::exchange(m_idleTag, QByteArray());
    ok(tag, "IDLE terminated");
}

void ImapSession::mailboxChanged(const QString &folder)
{
    if (m_state != State::Selected || folder != m_folder.name)
        return;
    if (!m_idleTag.isEmpty() && !m_busy) {
        syncSelected(true); // RFC 2177: EXISTS/EXPUNGE/FETCH may be sent while idling
        return;
    }
    m_folderDirty = true;
}

void ImapSession::mailboxRenamed(const QString &from, const QString &to)
{
    // Another session renamed the selected folder or one above it: same folder (same id,
    // UIDVALIDITY and messages), new name; changes to it are announced under that name.
    if (m_state == State::Selected && (m_folder.name == from || m_folder.name.startsWith(from + u'/')))
        m_folder.name = to + m_folder.name.mid(from.size());
}

} // namespace valv::imap
