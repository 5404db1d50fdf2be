// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 7162 CONDSTORE and QRESYNC: modification sequences in SELECT, FETCH and STORE
// responses, SELECT (QRESYNC ...) resynchronisation, FETCH (VANISHED), and VANISHED
// in place of EXPUNGE once QRESYNC is enabled.
#include "imap/imapsession.h"

namespace valv::imap {

void ImapSession::enableCondstore()
{
    if (m_condstore)
        return;
    m_condstore = true;
    // §3.1: a CONDSTORE-enabling command with a mailbox selected reports HIGHESTMODSEQ.
    if (m_state == State::Selected) {
        if (auto f = m_mail->folder(m_folder.name, store::MailStore::Counts::No))
            untagged("OK [HIGHESTMODSEQ " + QByteArray::number(f->highestModSeq) + "] Highest");
    }
}

QByteArray ImapSession::flagsItem(const store::MessageMeta &meta) const
{
    QByteArray out = "FLAGS (" + meta.flags.join(' ') + ")";
    if (m_condstore)
        out += " MODSEQ (" + QByteArray::number(meta.modSeq) + ")";
    return out;
}

void ImapSession::reportExpunged(const QList<uint32_t> &uids)
{
    if (uids.isEmpty())
        return;
    QList<uint32_t> sorted = uids;
    std::sort(sorted.begin(), sorted.end());
    if (m_qresync) {
        // §3.2.10: VANISHED replaces EXPUNGE once QRESYNC is enabled.
        untagged("VANISHED " + compressSet(sorted));
        m_messages.erase(std::remove_if(m_messages.begin(), m_messages.end(),
                                        [&](const store::MessageMeta &m) {
                                            return std::binary_search(sorted.begin(), sorted.end(), m.uid);
                                        }),
                         m_messages.end());
        return;
    }
    // Highest sequence number first, so each number is right when the client reads it.
    for (qsizetype i = m_messages.size() - 1; i >= 0; --i) {
        if (std::binary_search(sorted.begin(), sorted.end(), std::as_const(m_messages)[i].uid)) {
            untagged(QByteArray::number(i + 1) + " EXPUNGE");
            m_messages.removeAt(i);
        }
    }
}

void ImapSession::qresyncSelect(const Command::Qresync &q)
{
    // §3.2.5: only when the client's UIDVALIDITY is current; else a plain SELECT.
    if (q.uidValidity != m_folder.uidValidity)
        return;
    auto gone = m_mail->expungedSince(m_folder.id, q.modSeq);
    if (gone) {
        QList<uint32_t> vanished;
        for (uint32_t uid : *gone) {
            if (q.knownUids) {
                bool known = false;
                for (const SeqRange &r : q.knownUids->ranges) {
                    const uint32_t hi = r.last == 0 ? UINT32_MAX : r.last;
                    if (uid >= r.first && uid <= hi)
                        known = true;
                }
                if (!known)
                    continue;
            }
            vanished << uid;
        }
        if (!vanished.isEmpty())
            untagged("VANISHED (EARLIER) " + compressSet(vanished));
    }
    for (qsizetype i = 0; i < m_messages.size(); ++i) {
        if (std::as_const(m_messages)[i].modSeq > q.modSeq)
            untagged(QByteArray::number(i + 1) + " FETCH (UID " + QByteArray::number(std::as_const(m_messages)[i].uid) + ' '
                     + flagsItem(std::as_const(m_messages)[i]) + ")");
    }
}

void ImapSession::fetchVanished(const Command &cmd)
{
    // §3.2.6: UID FETCH ... (CHANGEDSINCE m VANISHED): UIDs in the set expunged since m.
    auto gone = m_mail->expungedSince(m_folder.id, *cmd.changedSince);
    if (!gone)
        return;
    QList<uint32_t> vanished;
    for (uint32_t uid : *gone) {
        for (const SeqRange &r : cmd.sequence.ranges) {
            const uint32_t hi = r.last == 0 ? UINT32_MAX : r.last;
            if (uid >= r.first && uid <= hi) {
                vanished << uid;
                break;
            }
        }
    }
    if (!vanished.isEmpty())
        untagged("VANISHED (EARLIER) " + compressSet(vanished));
}

} // namespace valv::imap
