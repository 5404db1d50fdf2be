// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 5161 ENABLE, RFC 2971 ID, RFC 9208 QUOTA (GETQUOTA, GETQUOTAROOT, SETQUOTA),
// RFC 4978 COMPRESS.
#include "imap/imapsession.h"

#include "valv/version.h"

#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcImap)

namespace valv::imap {

void ImapSession::cmdEnable(const Command &cmd)
{
    // Only extensions whose behaviour changes after ENABLE and that this server has.
    static const QSet<QByteArray> supported = {"IMAP4REV2", "CONDSTORE", "QRESYNC", "UTF8=ACCEPT"};
    QList<QByteArray> enabled;
    for (const QByteArray &cap : cmd.capabilities) {
        if (supported.contains(cap) && !m_enabled.contains(cap)) {
            m_enabled.insert(cap);
            enabled << cap;
        }
    }
    if (m_enabled.contains("IMAP4REV2"))
        m_rev2 = true;
    // RFC 6855 §3 / RFC 9051 §5.1: mailbox names are UTF-8 from now on.
    if (m_enabled.contains("UTF8=ACCEPT") || m_rev2)
        m_receiver.setUtf8Names(true);
    if (m_enabled.contains("QRESYNC"))
        m_qresync = true; // RFC 7162 §3.2.3: QRESYNC implies CONDSTORE
    if (m_enabled.contains("CONDSTORE") || m_qresync)
        enableCondstore();
    untagged("ENABLED" + (enabled.isEmpty() ? QByteArray() : " " + enabled.join(' ')));
    ok(cmd.tag, "ENABLE completed");
}

void ImapSession::cmdId(const Command &cmd)
{
    QStringList client;
    for (const auto &[key, value] : cmd.idParams)
        client << QString::fromUtf8(key) + u'=' + QString::fromUtf8(value.value_or("NIL")).left(100);
    if (!client.isEmpty())
        qCInfo(lcImap).noquote() << log() << "client id:" << client.join(QStringLiteral(", "));
    untagged("ID (\"name\" \"Valv\" \"version\" \"" VALV_VERSION "\")");
    ok(cmd.tag, "ID completed");
}

void ImapSession::cmdQuota(const Command &cmd)
{
    if (cmd.name == CommandName::SetQuota)
        return no(cmd.tag, "[NOPERM] Quotas are set by the server's administrator");
    // One quota root, "", for the whole mailbox; none when the user is unlimited.
    const bool limited = m_user.quotaBytes > 0;
    auto quotaLine = [&]() -> std::optional<QByteArray> {
        auto used = m_mail->totalSize();
        if (!used)
            return std::nullopt;
        // RFC 9208 §5.1: STORAGE in units of 1024 octets.
        return "QUOTA \"\" (STORAGE " + QByteArray::number((*used + 1023) / 1024) + ' '
            + QByteArray::number(m_user.quotaBytes / 1024) + ")";
    };
    if (cmd.name == CommandName::GetQuotaRoot) {
        auto f = m_mail->folder(cmd.mailbox);
        if (!f)
            return no(cmd.tag, "[NONEXISTENT] No such mailbox");
        const QByteArray name = mailboxName(f->name);
        if (!limited) {
            untagged("QUOTAROOT " + name);
            return ok(cmd.tag, "GETQUOTAROOT completed");
        }
        const auto line = quotaLine();
        if (!line)
            return serverBug(cmd.tag, QStringLiteral("cannot compute mailbox size"));
        untagged("QUOTAROOT " + name + " \"\"");
        untagged(*line);
        return ok(cmd.tag, "GETQUOTAROOT completed");
    }
    if (!cmd.quotaRoot.isEmpty() || !limited)
        return no(cmd.tag, "[NONEXISTENT] No such quota root");
    const auto line = quotaLine();
    if (!line)
        return serverBug(cmd.tag, QStringLiteral("cannot compute mailbox size"));
    untagged(*line);
    ok(cmd.tag, "GETQUOTA completed");
}

void ImapSession::cmdCompress(const Command &cmd)
{
    if (cmd.compressMechanism != "DEFLATE")
        return bad(cmd.tag, "Only COMPRESS DEFLATE is offered");
    if (m_compressed)
        return no(cmd.tag, "[COMPRESSIONACTIVE] DEFLATE is already active");
    if (!sink()->canCompress())
        return no(cmd.tag, "[CANNOT] Compression is not available on this connection");
    if (m_receiver.buffered() > 0)
        return bad(cmd.tag, "Nothing may follow COMPRESS before its reply (RFC 4978 §3)");
    ok(cmd.tag, "DEFLATE active"); // the last uncompressed bytes
    m_compressed = sink()->startCompression();
}

} // namespace valv::imap
