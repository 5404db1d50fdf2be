// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 9051 §6.4.6 STORE and §6.4.9 UID STORE.
#include "imap/imapsession.h"

namespace valv::imap {

namespace {
const QList<QByteArray> kSystemFlags = {"\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"};

// System flags are case-insensitive: store them in their canonical spelling.
std::optional<QByteArray> canonicalFlag(const QByteArray &flag)
{
    if (!flag.startsWith('\\'))
        return flag;
    for (const QByteArray &s : kSystemFlags) {
        if (s.compare(flag, Qt::CaseInsensitive) == 0)
            return s;
    }
    return std::nullopt;
}

bool sameFlag(const QByteArray &a, const QByteArray &b) { return a.compare(b, Qt::CaseInsensitive) == 0; }
} // namespace

void ImapSession::cmdStore(const Command &cmd)
{
    if (cmd.store.unchangedSince)
        enableCondstore();
    if (m_readOnly)
        return no(cmd.tag, "[READ-ONLY] Mailbox is read-only");
    QList<QByteArray> wanted;
    for (const QByteArray &f : cmd.store.flags) {
        const auto c = canonicalFlag(f);
        if (!c)
            return bad(cmd.tag, "Invalid flag " + f + " (\\Recent cannot be stored)");
        wanted << *c;
    }
    const auto indexes = resolve(cmd.sequence, cmd.uid);
    if (!indexes)
        return bad(cmd.tag, "Invalid message sequence set");
    QList<uint32_t> modified; // RFC 7162 §3.1.3: failed UNCHANGEDSINCE conditions
    bool expungedMeanwhile = false;
    for (int i : *indexes) {
        store::MessageMeta &meta = m_messages[i];
        QList<QByteArray> flags;
        switch (cmd.store.mode) {
        case StoreArgs::Mode::Replace: flags = wanted; break;
        case StoreArgs::Mode::Add:
            flags = meta.flags;
            for (const QByteArray &f : wanted) {
                if (std::none_of(flags.begin(), flags.end(), [&](const QByteArray &x) { return sameFlag(x, f); }))
                    flags << f;
            }
            break;
        case StoreArgs::Mode::Remove:
            for (const QByteArray &f : meta.flags) {
                if (std::none_of(wanted.begin(), wanted.end(), [&](const QByteArray &x) { return sameFlag(x, f); }))
                    flags << f;
            }
            break;
        }
        const bool conditional = cmd.store.unchangedSince.has_value();
        if (flags != meta.flags || conditional) {
            auto modseq = m_mail->setFlags(m_folder.id, meta.uid, flags, cmd.store.unchangedSince);
            if (!modseq && modseq.error().code == int(store::MailError::Modified)) {
                modified << (cmd.uid ? meta.uid : uint32_t(i + 1));
                continue;
            }
            if (!modseq && modseq.error().code == int(store::MailError::NoSuchMessage)) {
                expungedMeanwhile = true; // another session expunged it since our snapshot
                continue;
            }
            if (!modseq)
                return serverBug(cmd.tag, modseq.error().message);
            meta.flags = flags;
            meta.modSeq = *modseq;
        }
        // §3.1.3: with CONDSTORE, .SILENT still reports MODSEQ of changed messages.
        if (!cmd.store.silent || m_condstore) {
            QByteArray line = QByteArray::number(i + 1) + " FETCH (";
            if (cmd.uid)
                line += "UID " + QByteArray::number(meta.uid) + " ";
            untagged(line + (cmd.store.silent ? "MODSEQ (" + QByteArray::number(meta.modSeq) + ")" : flagsItem(meta)) + ")");
        }
    }
    if (expungedMeanwhile) {
        announceChange(m_folder.name);
        m_folderDirty = true;
        return no(cmd.tag, "[EXPUNGEISSUED] Some of the messages were expunged meanwhile");
    }
    if (!modified.isEmpty()) {
        announceChange(m_folder.name);
        std::sort(modified.begin(), modified.end());
        return ok(cmd.tag, "[MODIFIED " + compressSet(modified) + "] Conditional STORE failed");
    }
    announceChange(m_folder.name);
    ok(cmd.tag, cmd.uid ? "UID STORE completed" : "STORE completed");
}

} // namespace valv::imap
