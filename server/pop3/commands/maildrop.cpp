// SPDX-License-Identifier: AGPL-3.0-or-later
// TRANSACTION state: RFC 1939 §5 STAT, LIST, RETR, DELE, NOOP (in the core), RSET;
// §7 TOP and UIDL.
#include "pop3/pop3session.h"

namespace valv::pop3 {

QByteArray Pop3Session::dropSummary() const
{
    qint64 count = 0, octets = 0;
    for (const Entry &e : m_drop) {
        if (!e.deleted) {
            ++count;
            octets += e.size;
        }
    }
    return QByteArray::number(count) + " messages (" + QByteArray::number(octets) + " octets)";
}

Pop3Session::Entry *Pop3Session::entry(const std::optional<uint32_t> &msg)
{
    if (!msg || *msg == 0 || *msg > uint32_t(m_drop.size())) {
        err("No such message");
        return nullptr;
    }
    Entry &e = m_drop[qsizetype(*msg) - 1];
    if (e.deleted) {
        err("Message " + QByteArray::number(*msg) + " is already deleted");
        return nullptr;
    }
    return &e;
}

void Pop3Session::cmdStat()
{
    // RFC 1939 §5: "+OK nn mm", deleted messages not counted.
    qint64 count = 0, octets = 0;
    for (const Entry &e : m_drop) {
        if (!e.deleted) {
            ++count;
            octets += e.size;
        }
    }
    ok(QByteArray::number(count) + ' ' + QByteArray::number(octets));
}

void Pop3Session::cmdList(const Command &cmd)
{
    if (cmd.msg) {
        if (const Entry *e = entry(cmd.msg))
            ok(QByteArray::number(*cmd.msg) + ' ' + QByteArray::number(e->size));
        return;
    }
    QByteArray body;
    body.reserve(m_drop.size() * 16);
    for (qsizetype i = 0; i < m_drop.size(); ++i) {
        if (!m_drop[i].deleted)
            body += QByteArray::number(i + 1) + ' ' + QByteArray::number(m_drop[i].size) + "\r\n";
    }
    body += ".\r\n";
    multiline(dropSummary(), body);
}

void Pop3Session::cmdUidl(const Command &cmd)
{
    if (cmd.msg) {
        if (const Entry *e = entry(cmd.msg))
            ok(QByteArray::number(*cmd.msg) + ' ' + e->uidl);
        return;
    }
    QByteArray body;
    body.reserve(m_drop.size() * 40);
    for (qsizetype i = 0; i < m_drop.size(); ++i) {
        if (!m_drop[i].deleted)
            body += QByteArray::number(i + 1) + ' ' + m_drop[i].uidl + "\r\n";
    }
    body += ".\r\n";
    multiline("Unique-ID listing follows", body);
}

void Pop3Session::cmdRetr(const Command &cmd)
{
    const Entry *e = entry(cmd.msg);
    if (!e)
        return;
    auto raw = m_mail->raw(m_folderId, e->uid);
    if (!raw) {
        if (raw.error().code == int(store::MailError::NoSuchMessage))
            return err("Message " + QByteArray::number(*cmd.msg) + " was removed by another client");
        return sysTemp(QStringLiteral("RETR: ") + raw.error().message);
    }
    // Moved: a message that needs no stuffing goes out as the very buffer read.
    multiline(QByteArray::number(e->size) + " octets", stuffMessage(std::move(*raw)));
}

void Pop3Session::cmdTop(const Command &cmd)
{
    const Entry *e = entry(cmd.msg);
    if (!e)
        return;
    // TOP n 0 (how clients fetch headers) reads the header section only.
    auto raw = cmd.lines == 0 ? m_mail->header(m_folderId, e->uid) : m_mail->raw(m_folderId, e->uid);
    if (!raw) {
        if (raw.error().code == int(store::MailError::NoSuchMessage))
            return err("Message " + QByteArray::number(*cmd.msg) + " was removed by another client");
        return sysTemp(QStringLiteral("TOP: ") + raw.error().message);
    }
    multiline("Top of message follows", stuffMessage(std::move(*raw), qint64(cmd.lines)));
}

void Pop3Session::cmdDele(const Command &cmd)
{
    // RFC 1939 §5: marked only; removed in the UPDATE state (QUIT).
    Entry *e = entry(cmd.msg);
    if (!e)
        return;
    e->deleted = true;
    ok("Message " + QByteArray::number(*cmd.msg) + " deleted");
}

void Pop3Session::cmdRset()
{
    for (Entry &e : m_drop)
        e.deleted = false;
    ok("Maildrop has " + dropSummary());
}

} // namespace valv::pop3
