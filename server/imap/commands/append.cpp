// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 9051 §6.3.12 APPEND, RFC 4315 APPENDUID, RFC 7889 APPENDLIMIT, RFC 9208 OVERQUOTA.
#include "imap/imapsession.h"

#include "core/pool.h"
#include "delivery/prepare.h"
#include "store/mailstorecache.h"

namespace valv::imap {

namespace {
const QList<QByteArray> kSystemFlags = {"\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"};
}

void ImapSession::cmdAppend(const Command &cmd)
{
    if (cmd.appendMessage.size() > m_ctx.limits.maxMessageSize)
        return no(cmd.tag, "[TOOBIG] Message exceeds APPENDLIMIT");
    if (cmd.appendMessage.isEmpty())
        return bad(cmd.tag, "Empty message");
    if (cmd.appendUtf8 && !m_enabled.contains("UTF8=ACCEPT"))
        return bad(cmd.tag, "APPEND ... UTF8 needs ENABLE UTF8=ACCEPT (RFC 6855 §4)");
    QList<QByteArray> flags;
    for (const QByteArray &f : cmd.appendFlags) {
        if (!f.startsWith('\\')) {
            flags << f;
            continue;
        }
        auto it = std::find_if(kSystemFlags.begin(), kSystemFlags.end(),
                               [&](const QByteArray &s) { return s.compare(f, Qt::CaseInsensitive) == 0; });
        if (it == kSystemFlags.end())
            return bad(cmd.tag, "Invalid flag " + f);
        flags << *it;
    }
    auto folder = m_mail->folder(cmd.mailbox, store::MailStore::Counts::No);
    if (!folder)
        return folder.error().code == int(store::MailError::NoSuchFolder)
            ? no(cmd.tag, "[TRYCREATE] No such mailbox")
            : serverBug(cmd.tag, folder.error().message);
    if (m_user.quotaBytes > 0) {
        auto used = m_mail->totalSize();
        if (!used)
            return serverBug(cmd.tag, used.error().message);
        if (*used + cmd.appendMessage.size() > m_user.quotaBytes)
            return no(cmd.tag, "[OVERQUOTA] The mailbox is full");
    }

    // Parsing a large message and the durable commit run on the pool, through the pool
    // thread's own connection (the session's is shared with other sessions on this
    // thread); the session answers nothing else meanwhile.
    m_busy = true;
    beginAsync();
    const store::MailStoreOpener *opener = m_ctx.mail;
    const QString userId = m_user.id;
    const QString name = folder->name;
    const QByteArray message = cmd.appendMessage;
    const QDateTime date = cmd.appendDate.value_or(QDateTime::currentDateTimeUtc());
    const QByteArray tag = cmd.tag;
    core::runPooled([this, opener, userId, name, message, date, flags, tag] {
        const store::NewMessage m = delivery::prepareMessage(message, flags, date);
        auto mail = opener->cached(userId);
        auto r = mail ? (*mail)->append(name, m) : Result<store::AppendResult>(mail.error());
        QMetaObject::invokeMethod(this, [this, r, name, tag] {
            m_busy = false;
            if (!r) {
                serverBug(tag, r.error().message);
            } else {
                announceChange(name);
                if (m_state == State::Selected && m_folder.name == name)
                    m_folderDirty = true; // EXISTS before the tagged OK
                ok(tag, "[APPENDUID " + QByteArray::number(r->uidValidity) + ' ' + QByteArray::number(r->uid)
                            + "] APPEND completed");
            }
            endAsync();
            process();
        }, Qt::QueuedConnection);
        // After the answer: the search index catches up in batches (delivery/prepare.h).
        (void)delivery::indexWaiting(opener, userId);
    });
}

} // namespace valv::imap
