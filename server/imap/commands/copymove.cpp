// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 9051 §6.4.7 COPY, RFC 6851 MOVE, RFC 4315 COPYUID, and their UID forms.
#include "imap/imapsession.h"

namespace valv::imap {

void ImapSession::cmdCopyMove(const Command &cmd)
{
    const bool move = cmd.name == CommandName::Move;
    if (move && m_readOnly)
        return no(cmd.tag, "[READ-ONLY] Mailbox is read-only");
    const auto indexes = resolve(cmd.sequence, cmd.uid);
    if (!indexes)
        return bad(cmd.tag, "Invalid message sequence set");
    auto target = m_mail->folder(cmd.mailbox, store::MailStore::Counts::No);
    if (!target)
        return target.error().code == int(store::MailError::NoSuchFolder)
            ? no(cmd.tag, "[TRYCREATE] No such mailbox")
            : serverBug(cmd.tag, target.error().message);
    if (move && target->id == m_folder.id)
        return no(cmd.tag, "[CANNOT] Messages are already in this mailbox");
    if (indexes->isEmpty())
        return ok(cmd.tag, move ? "MOVE completed, nothing to move" : "COPY completed, nothing to copy");
    if (m_user.quotaBytes > 0 && !move) {
        qint64 adding = 0;
        for (int i : *indexes)
            adding += std::as_const(m_messages)[i].size;
        auto used = m_mail->totalSize();
        if (used && *used + adding > m_user.quotaBytes)
            return no(cmd.tag, "[OVERQUOTA] The mailbox is full");
    }
    QList<uint32_t> uids;
    for (int i : *indexes)
        uids << std::as_const(m_messages)[i].uid;
    auto r = m_mail->copyMessages(m_folder.id, uids, target->name, move);
    if (!r)
        return serverBug(cmd.tag, r.error().message);
    QList<uint32_t> from, to;
    for (const auto &[a, b] : r->uids) {
        from << a;
        to << b;
    }
    const QByteArray copyUid = r->uids.isEmpty() ? QByteArray()
        : "[COPYUID " + QByteArray::number(r->uidValidity) + ' ' + compressSet(from) + ' ' + compressSet(to) + "] ";
    announceChange(target->name);
    if (!move)
        return ok(cmd.tag, copyUid + (cmd.uid ? "UID COPY completed" : "COPY completed"));

    // RFC 6851 §4.3: COPYUID goes in an untagged OK, then the EXPUNGEs, then the tagged OK.
    if (!copyUid.isEmpty())
        untagged("OK " + copyUid + "Moved");
    reportExpunged(from);
    announceChange(m_folder.name);
    ok(cmd.tag, cmd.uid ? "UID MOVE completed" : "MOVE completed");
}

} // namespace valv::imap
