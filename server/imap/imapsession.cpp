// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 9051 §3 (states), §7 (responses): the session core and dispatch.
#include "imap/imapsession.h"

#include "imap/uidset.h"
#include "store/mailboxhub.h"

#include <QLoggingCategory>

Q_LOGGING_CATEGORY(lcImap, "valv.imap")

namespace valv::imap {

namespace {
constexpr int kMaxBadCommands = 30; // then BYE: a client that only errs is stuck or hostile
}

ImapSession::ImapSession(core::SessionSink *sink, std::shared_ptr<const core::ServerContext> ctx, bool tlsAvailable)
    : core::Session(sink), m_ctxHolder(std::move(ctx)), m_ctx(*m_ctxHolder),
      m_receiver(ReceiverLimits{m_ctx.limits.maxLineLength, m_ctx.limits.maxMessageSize,
                                m_ctx.limits.maxMessageSize + m_ctx.limits.maxLineLength, 64}),
      m_id(core::nextSessionId()), m_tlsAvailable(tlsAvailable)
{
}

ImapSession::~ImapSession() { store::MailboxHub::instance().unsubscribe(this); }

QString ImapSession::log() const { return QStringLiteral("[%1]").arg(m_id); }

void ImapSession::start()
{
    qCInfo(lcImap).noquote() << log() << "connect from" << sink()->peerAddress() << (sink()->isEncrypted() ? "(TLS)" : "");
    sink()->setIdleTimeout(m_ctx.limits.idleTimeout);
    untagged("OK [CAPABILITY " + capabilities() + "] " + m_ctx.hostname.toUtf8() + " Valv ready");
}

void ImapSession::refuse(const QString &reason)
{
    bye(reason.toUtf8());
}

void ImapSession::idleTimeout()
{
    if (m_busy)
        return;
    bye("Autologout; idle for too long");
}

void ImapSession::shutdown()
{
    if (m_busy) {
        m_shutdownPending = true;
        return;
    }
    bye("Server shutting down");
}

QByteArray ImapSession::capabilities() const
{
    QByteArray caps = "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE UNSELECT UIDPLUS MOVE CONDSTORE QRESYNC QUOTA QUOTA=RES-STORAGE"
                      " NAMESPACE CHILDREN LIST-EXTENDED LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE STATUS=SIZE"
                      " ESEARCH SEARCHRES SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES WITHIN OBJECTID UTF8=ACCEPT"
                      " APPENDLIMIT=" + QByteArray::number(m_ctx.limits.maxMessageSize) + " BINARY";
    const bool tls = sink()->isEncrypted();
    if (!tls && m_tlsAvailable)
        caps += " STARTTLS";
    if (sink()->canCompress() && !m_compressed)
        caps += " COMPRESS=DEFLATE";
    if (tls || m_ctx.allowPlaintextAuth)
        caps += " AUTH=PLAIN";
    else
        caps += " LOGINDISABLED";
    return caps;
}

void ImapSession::untagged(const QByteArray &line)
{
    if (m_ctx.protocolTrace)
        qCDebug(lcImap).noquote() << log() << "S: *" << line.left(300);
    sink()->write("* " + line + "\r\n");
}

void ImapSession::ok(const QByteArray &tag, const QByteArray &text)
{
    // Changes by other sessions and deliveries are reported before the tagged reply.
    if (m_folderDirty && m_state == State::Selected) {
        m_folderDirty = false;
        syncSelected(expungeAllowedNow());
    }
    sink()->write(tag + " OK " + text + "\r\n");
}

bool ImapSession::expungeAllowedNow() const
{
    const bool restricted = m_current == CommandName::Fetch || m_current == CommandName::Store
        || m_current == CommandName::Search;
    return !restricted || m_currentUid;
}

void ImapSession::announceChange(const QString &folder)
{
    store::MailboxHub::instance().notify(m_user.id, folder, this);
}

QByteArray ImapSession::compressSet(const QList<uint32_t> &sorted)
{
    QByteArray out;
    for (qsizetype i = 0; i < sorted.size();) {
        qsizetype j = i;
        while (j + 1 < sorted.size() && sorted[j + 1] == sorted[j] + 1)
            ++j;
        if (!out.isEmpty())
            out += ',';
        out += QByteArray::number(sorted[i]);
        if (j > i)
            out += ':' + QByteArray::number(sorted[j]);
        i = j + 1;
    }
    return out;
}
void ImapSession::no(const QByteArray &tag, const QByteArray &text) { sink()->write(tag + " NO " + text + "\r\n"); }

void ImapSession::bad(const QByteArray &tag, const QByteArray &text)
{
    sink()->write((tag.isEmpty() ? QByteArray("*") : tag) + " BAD " + text + "\r\n");
    if (++m_badCount >= kMaxBadCommands)
        bye("Too many invalid commands");
}

void ImapSession::serverBug(const QByteArray &tag, const QString &detail)
{
    qCWarning(lcImap).noquote() << log() << "server error:" << detail;
    no(tag, "[SERVERBUG] Internal error; the event was logged as session " + m_id.toUtf8());
}

void ImapSession::bye(const QByteArray &text)
{
    if (m_state == State::Logout)
        return;
    untagged("BYE " + text);
    m_state = State::Logout;
    sink()->close();
}

void ImapSession::ingest(const QByteArray &bytes)
{
    if (m_state == State::Logout)
        return;
    m_receiver.feed(bytes);
    process();
}

void ImapSession::tlsStarted()
{
    qCDebug(lcImap).noquote() << log() << "TLS established";
    process();
}

void ImapSession::process()
{
    bool more = true;
    while (more && !m_busy && m_state != State::Logout) {
        if (sink()->outputBacklogged())
            return; // the client is not reading: outputDrained() resumes
        ReceiverEvent ev = m_receiver.next();
        switch (ev.type) {
        case ReceiverEvent::Type::NeedMore:
            more = false;
            break;
        case ReceiverEvent::Type::Continuation:
            sink()->write("+ Ready for literal data\r\n");
            break;
        case ReceiverEvent::Type::TooBigLiteral:
            no(ev.tag.isEmpty() ? QByteArray("*") : ev.tag,
               ev.text.startsWith(u'[') ? ev.text.toUtf8() : "[TOOBIG] " + ev.text.toUtf8());
            break;
        case ReceiverEvent::Type::Error:
            if (ev.fatal) {
                bye(ev.text.toUtf8());
                return;
            }
            if (ev.text.startsWith(QLatin1String("[BADCHARSET]")))
                no(ev.tag, "[BADCHARSET (UTF-8 US-ASCII)] " + ev.text.mid(12).trimmed().toUtf8());
            else if (ev.unknownCommand)
                bad(ev.tag, "Unknown command");
            else
                bad(ev.tag, ev.text.toUtf8());
            break;
        case ReceiverEvent::Type::Command:
            if (!m_pendingAuthTag.isEmpty() && ev.command.name == CommandName::Authenticate) {
                continueAuthenticate(*ev.command.saslInitialResponse);
                break;
            }
            if (m_ctx.protocolTrace) {
                const bool secret = ev.command.name == CommandName::Login;
                qCDebug(lcImap).noquote() << log() << "C:" << ev.command.tag << int(ev.command.name)
                                          << (secret ? "(credentials redacted)" : "");
            }
            dispatch(ev.command);
            break;
        }
    }
    if (!m_busy && m_shutdownPending)
        bye("Server shutting down");
}

void ImapSession::dispatch(const Command &cmd)
{
    using N = CommandName;
    m_current = cmd.name;
    m_currentUid = cmd.uid;
    const bool authed = m_state == State::Authenticated || m_state == State::Selected;
    switch (cmd.name) {
    case N::Capability: return cmdCapability(cmd);
    case N::Noop:
    case N::Check: return cmdNoop(cmd);
    case N::Logout: return cmdLogout(cmd);
    case N::StartTls: return cmdStartTls(cmd);
    case N::Id: return cmdId(cmd);
    case N::Compress: return cmdCompress(cmd);
    case N::Done: return idleDone(cmd);
    case N::Login: return cmdLogin(cmd);
    case N::Authenticate: return cmdAuthenticate(cmd);
    default: break;
    }
    if (!authed)
        return bad(cmd.tag, "Log in first");
    switch (cmd.name) {
    // [mailboxes-dispatch-begin]
    case N::Create: return cmdCreate(cmd);
    case N::Delete: return cmdDelete(cmd);
    case N::Rename: return cmdRename(cmd);
    case N::Subscribe:
    case N::Unsubscribe: return cmdSubscribe(cmd);
    case N::List:
    case N::Lsub: return cmdList(cmd);
    case N::Namespace: return cmdNamespace(cmd);
    case N::Status: return cmdStatus(cmd);
    // [mailboxes-dispatch-end]
    case N::Select:
    case N::Examine: return cmdSelect(cmd);
    case N::Append: return cmdAppend(cmd);
    case N::Idle: return cmdIdle(cmd);
    case N::Enable: return cmdEnable(cmd);
    case N::GetQuota:
    case N::GetQuotaRoot:
    case N::SetQuota: return cmdQuota(cmd);
    default: break;
    }
    const bool selectedOnly = cmd.name == N::Fetch || cmd.name == N::Store || cmd.name == N::Close
        || cmd.name == N::Unselect || cmd.name == N::Expunge || cmd.name == N::Search || cmd.name == N::Copy
        || cmd.name == N::Move || cmd.name == N::Sort || cmd.name == N::Thread;
    if (selectedOnly && m_state != State::Selected)
        return bad(cmd.tag, "No mailbox selected");
    switch (cmd.name) {
    // [search-dispatch-begin]
    case N::Search: return cmdSearch(cmd);
    case N::Sort: return cmdSort(cmd);
    case N::Thread: return cmdThread(cmd);
    // [search-dispatch-end]
    case N::Fetch: return cmdFetch(cmd);
    case N::Store: return cmdStore(cmd);
    case N::Copy:
    case N::Move: return cmdCopyMove(cmd);
    case N::Close:
    case N::Unselect: return cmdClose(cmd);
    case N::Expunge: return cmdExpunge(cmd);
    default:
        return no(cmd.tag, "[CANNOT] This command is not available on this server yet");
    }
}

std::optional<QList<int>> ImapSession::resolve(const SequenceSet &set, bool uid) const
{
    QList<int> out;
    if (set.saved) {
        // RFC 5182: "$" is the last SEARCH ... SAVE result, as UIDs; gone ones drop out.
        for (uint32_t uid : m_savedUids) {
            const QList<store::MessageMeta> &view = m_messages; // reads must not detach a shared view
            auto it = std::lower_bound(view.begin(), view.end(), uid,
                                       [](const store::MessageMeta &m, uint32_t v) { return m.uid < v; });
            if (it != view.end() && it->uid == uid)
                out.append(int(it - view.begin()));
        }
        return out;
    }
    const int n = int(m_messages.size());
    if (!uid) {
        for (const SeqRange &r : set.ranges) {
            if (n == 0)
                return std::nullopt;
            uint32_t a = r.first == 0 ? uint32_t(n) : r.first;
            uint32_t b = r.last == 0 ? uint32_t(n) : r.last;
            if (a > b)
                std::swap(a, b);
            if (b > uint32_t(n))
                return std::nullopt;
            for (uint32_t i = a; i <= b; ++i)
                out.append(int(i) - 1);
        }
    } else {
        forEachUidInSet(m_messages, set.ranges, [&](int i) { out.append(i); });
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

} // namespace valv::imap
