// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 9051 §6.3.2 SELECT, §6.3.3 EXAMINE, §6.4.1 CLOSE, RFC 3691 UNSELECT, §6.4.3 EXPUNGE, §6.1.2 NOOP.
#include "imap/imapsession.h"

#include <QSet>

namespace valv::imap {

namespace {
// Views of a folder shared by this worker thread's sessions that see it in the same
// state (same UIDVALIDITY and HIGHESTMODSEQ, every change reported): QList is implicitly
// shared, so a thousand idle sessions on one INBOX hold one copy of its message list,
// and a session that changes its view (a STORE, a FETCH setting \Seen) detaches its own.
thread_local QHash<QString, QList<store::MessageMeta>> t_views;

QString viewKey(const QString &userId, const store::Folder &f, uint64_t modseq)
{
    return userId + u'/' + QString::number(f.id) + u'/' + QString::number(f.uidValidity) + u'/'
        + QString::number(modseq);
}

void shareView(const QString &key, const QList<store::MessageMeta> &view)
{
    // Views no session holds any more go (the table's copy is then the only one).
    t_views.removeIf([](const auto &it) { return it.value().isEmpty() || it.value().isDetached(); });
    if (!view.isEmpty())
        t_views.insert(key, view);
}
} // namespace

void ImapSession::cmdSelect(const Command &cmd)
{
    const bool examine = cmd.name == CommandName::Examine;
    if (cmd.qresync && !m_qresync)
        return bad(cmd.tag, "ENABLE QRESYNC first (RFC 7162 §3.2.5)");
    // RFC 7162 §3.2.11: with QRESYNC, leaving a selected mailbox is announced.
    if (m_qresync && m_state == State::Selected)
        untagged("OK [CLOSED] Previous mailbox closed");
    // RFC 9051 §6.3.2: a failed SELECT leaves no mailbox selected.
    m_state = State::Authenticated;
    m_messages.clear();
    const store::ReadSnapshot snapshot = m_mail->readSnapshot(); // counters and messages agree
    auto f = m_mail->folder(cmd.mailbox, store::MailStore::Counts::No);
    if (!f)
        return f.error().code == int(store::MailError::NoSuchFolder) ? no(cmd.tag, "[NONEXISTENT] No such mailbox")
                                                                      : serverBug(cmd.tag, f.error().message);
    // Another session here may hold this folder in this very state: share its view.
    const QString key = viewKey(m_user.id, *f, f->highestModSeq);
    if (auto it = t_views.constFind(key); it != t_views.constEnd()) {
        m_messages = *it;
    } else {
        auto msgs = m_mail->messages(f->id);
        if (!msgs)
            return serverBug(cmd.tag, msgs.error().message);
        m_messages = *msgs;
        shareView(key, m_messages);
    }
    m_folder = *f;
    m_syncedModSeq = m_expungesSyncedModSeq = f->highestModSeq;
    m_readOnly = examine;
    m_folderDirty = false;
    m_state = State::Selected;

    untagged("FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)");
    untagged(QByteArray::number(m_messages.size()) + " EXISTS");
    // RFC 9051 Appendix E: IMAP4rev2 drops \Recent and the UNSEEN response code.
    if (!m_rev2)
        untagged("0 RECENT");
    for (qsizetype i = 0; i < m_messages.size() && !m_rev2; ++i) {
        const auto &fl = std::as_const(m_messages)[i].flags;
        if (std::none_of(fl.begin(), fl.end(), [](const QByteArray &x) { return x.compare("\\Seen", Qt::CaseInsensitive) == 0; })) {
            untagged("OK [UNSEEN " + QByteArray::number(i + 1) + "] First unseen message");
            break;
        }
    }
    untagged("OK [UIDVALIDITY " + QByteArray::number(m_folder.uidValidity) + "] UIDs valid");
    untagged("OK [UIDNEXT " + QByteArray::number(m_folder.uidNext) + "] Predicted next UID");
    untagged(examine ? QByteArray("OK [PERMANENTFLAGS ()] Read-only mailbox")
                     : QByteArray("OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted"));
    untagged("OK [MAILBOXID (" + m_folder.mailboxId.toLatin1() + ")] Ok"); // RFC 8474 §4.2
    if (cmd.condstore || cmd.qresync)
        m_condstore = true;
    if (m_condstore)
        untagged("OK [HIGHESTMODSEQ " + QByteArray::number(m_folder.highestModSeq) + "] Highest");
    if (cmd.qresync)
        qresyncSelect(*cmd.qresync);
    ok(cmd.tag, examine ? "[READ-ONLY] EXAMINE completed" : "[READ-WRITE] SELECT completed");
}

void ImapSession::cmdClose(const Command &cmd)
{
    // CLOSE expunges silently when read-write (RFC 9051 §6.4.1); UNSELECT never does.
    if (cmd.name == CommandName::Close && !m_readOnly) {
        auto gone = m_mail->expungeDeleted(m_folder.id);
        if (!gone)
            return serverBug(cmd.tag, gone.error().message);
        if (!gone->isEmpty())
            announceChange(m_folder.name);
    }
    m_state = State::Authenticated;
    m_messages.clear();
    m_folderDirty = false;
    ok(cmd.tag, cmd.name == CommandName::Close ? "CLOSE completed" : "UNSELECT completed");
}

void ImapSession::cmdExpunge(const Command &cmd)
{
    if (m_readOnly)
        return no(cmd.tag, "[READ-ONLY] Mailbox is read-only");
    std::optional<QList<uint32_t>> only;
    if (cmd.uid) { // RFC 4315 §2.1 UID EXPUNGE: only the given UIDs
        const auto indexes = resolve(cmd.sequence, true);
        if (!indexes)
            return bad(cmd.tag, "Invalid UID set");
        only.emplace();
        for (int i : *indexes)
            only->append(std::as_const(m_messages)[i].uid);
    }
    auto gone = m_mail->expungeDeleted(m_folder.id, only);
    if (!gone)
        return serverBug(cmd.tag, gone.error().message);
    if (!gone->isEmpty())
        announceChange(m_folder.name);
    syncSelected(true);
    ok(cmd.tag, "EXPUNGE completed");
}

void ImapSession::cmdNoop(const Command &cmd)
{
    if (m_state == State::Selected)
        syncSelected(true);
    ok(cmd.tag, cmd.name == CommandName::Check ? "CHECK completed" : "NOOP completed");
}

void ImapSession::syncSelected(bool allowExpunge)
{
    // Incremental: only what changed since the last sync (modseq order), not the folder.
    const store::ReadSnapshot snapshot = m_mail->readSnapshot();
    auto changes = m_mail->changesSince(m_folder.id, m_syncedModSeq);
    if (!changes)
        return;
    if (allowExpunge && changes->highestModSeq > m_expungesSyncedModSeq) {
        auto expunged = m_mail->expungedSince(m_folder.id, m_expungesSyncedModSeq);
        if (!expunged)
            return;
        QSet<uint32_t> known;
        for (const store::MessageMeta &m : std::as_const(m_messages))
            known.insert(m.uid);
        QList<uint32_t> gone;
        for (uint32_t uid : std::as_const(*expunged)) {
            if (known.contains(uid))
                gone << uid; // (UIDs that came and went since our view are not news)
        }
        reportExpunged(gone);
        m_expungesSyncedModSeq = changes->highestModSeq;
    }
    m_syncedModSeq = changes->highestModSeq;
    const QList<store::MessageMeta> &fresh = changes->changed;
    const QList<store::MessageMeta> &view = m_messages; // reads must not detach a shared view
    // Flag changes of messages we know; then new arrivals.
    qsizetype j = 0;
    for (qsizetype i = 0; i < view.size(); ++i) {
        while (j < fresh.size() && fresh[j].uid < view[i].uid)
            ++j;
        if (j < fresh.size() && fresh[j].uid == view[i].uid && fresh[j].modSeq != view[i].modSeq) {
            m_messages[i] = fresh[j];
            untagged(QByteArray::number(i + 1) + " FETCH (UID " + QByteArray::number(fresh[j].uid) + ' '
                     + flagsItem(fresh[j]) + ")");
        }
    }
    const uint32_t last = view.isEmpty() ? 0 : view.last().uid;
    const qsizetype before = m_messages.size();
    for (const store::MessageMeta &m : fresh) {
        if (m.uid > last)
            m_messages.append(m);
    }
    if (m_messages.size() != before)
        untagged(QByteArray::number(m_messages.size()) + " EXISTS");
    // Everything up to the folder's modseq is reported: the view is the folder's state
    // there, the same as any other session's that got that far.
    if (m_expungesSyncedModSeq == m_syncedModSeq) {
        const QString key = viewKey(m_user.id, m_folder, m_syncedModSeq);
        if (auto it = t_views.constFind(key); it != t_views.constEnd())
            m_messages = *it;
        else
            shareView(key, m_messages);
    }
}

} // namespace valv::imap
