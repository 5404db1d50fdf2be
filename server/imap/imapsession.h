// SPDX-License-Identifier: AGPL-3.0-or-later
// IMAP session (RFC 9051 / RFC 3501): the state machine over ImapReceiver and MailStore.
//
// Implementation notes
// - States: NotAuthenticated -> Authenticated -> Selected -> Logout (RFC 9051 §3).
// - Passwords are accepted only under TLS (LOGINDISABLED before), unless the
//   allow_plaintext_auth setting says otherwise (loopback development only).
// - Password checks run on the thread pool; while one runs, input stays buffered in the
//   receiver and no other command is answered, so responses keep command order.
// - The selected folder is a snapshot: `m_messages` maps sequence numbers (index+1) to
//   UIDs. It changes only where the RFC lets the server tell the client (NOOP/CHECK
//   here): new mail as EXISTS, flag changes as FETCH, removals as EXPUNGE.
// - The session's MailStore connection belongs to it alone; other sessions and
//   delivery use their own connections to the same file (SQLite WAL).
// - Commands the parser knows but this server does not carry out yet are answered
//   with NO [CANNOT], never with silence.
#pragma once

#include "core/context.h"
#include "core/session.h"
#include "imap/imapreceiver.h"
#include "imap/sortthread.h"
#include "store/configstore.h"
#include "store/mailstore.h"

#include <QSet>

#include <functional>
#include <memory>
#include <optional>

namespace valv::imap {

struct SearchDone; // commands/search.cpp

class ImapSession : public core::Session {
public:
    ImapSession(core::SessionSink *sink, std::shared_ptr<const core::ServerContext> ctx, bool tlsAvailable);
    ~ImapSession() override;

    void start() override;
    void ingest(const QByteArray &bytes) override;
    void tlsStarted() override;
    void idleTimeout() override;
    void shutdown() override;
    void outputDrained() override { process(); }
    void refuse(const QString &reason) override;

private:
    enum class State { NotAuthenticated, Authenticated, Selected, Logout };

    void process();
    void dispatch(const Command &cmd);

    // Response writing (one place maps outcomes to protocol replies).
    void untagged(const QByteArray &line);
    void ok(const QByteArray &tag, const QByteArray &text);
    void no(const QByteArray &tag, const QByteArray &text);
    void bad(const QByteArray &tag, const QByteArray &text);
    void serverBug(const QByteArray &tag, const QString &detail);
    void bye(const QByteArray &text);
    [[nodiscard]] QByteArray capabilities() const;

    // commands/auth.cpp
    void cmdCapability(const Command &cmd);
    void cmdStartTls(const Command &cmd);
    void cmdLogin(const Command &cmd);
    void cmdAuthenticate(const Command &cmd);
    void continueAuthenticate(const QByteArray &line);
    void checkPassword(const QByteArray &tag, const QString &user, const QByteArray &password);
    void loginFinished(const QByteArray &tag, const store::User &user, QString error);
    void cmdLogout(const Command &cmd);
    // commands/mailboxes.cpp: CREATE DELETE RENAME SUBSCRIBE UNSUBSCRIBE LIST LSUB NAMESPACE STATUS
    // [mailboxes-decl-begin]
    void cmdCreate(const Command &cmd);
    void cmdDelete(const Command &cmd);
    void cmdRename(const Command &cmd);
    void cmdSubscribe(const Command &cmd); // and UNSUBSCRIBE
    void cmdList(const Command &cmd);      // and LSUB
    void cmdNamespace(const Command &cmd);
    void cmdStatus(const Command &cmd);
    // A mailbox name as sent: modified UTF-7, or UTF-8 after ENABLE UTF8=ACCEPT.
    [[nodiscard]] QByteArray mailboxName(const QString &name) const;
    // "STATUS name (...)" for `items` (already checked); nullopt + *error on store failure.
    [[nodiscard]] std::optional<QByteArray> statusData(const store::Folder &f, const QList<QByteArray> &items,
                                                       QString *error);
    [[nodiscard]] bool createParents(const QByteArray &tag, const QString &name);
    void replyStoreError(const QByteArray &tag, const Error &error);
    // [mailboxes-decl-end]
    // commands/search.cpp: SEARCH SORT THREAD (+ imap/searchengine, imap/sortthread)
    // [search-decl-begin]
    void cmdSearch(const Command &cmd);
    void cmdSort(const Command &cmd);
    void cmdThread(const Command &cmd);
    // Runs cmd.searchKey over m_messages on the thread pool (and for SORT/THREAD reads the
    // found messages' sort fields there), then calls `finish` on this thread; the session
    // takes no other command meanwhile.
    void startSearch(const Command &cmd, bool loadItems, bool itemHeaders,
                     std::function<void(const SearchDone &)> finish);
    void finishSearch(const Command &cmd, const SearchDone &done);
    void finishSort(const Command &cmd, const QList<SortCriterion> &criteria, const SearchDone &done);
    void finishThread(const Command &cmd, ThreadAlgorithm algorithm, const QList<SortItem> &items);
    // The search's matches; on failure answers the command and returns nullopt.
    [[nodiscard]] std::optional<QList<int>> searchResult(const Command &cmd, const SearchDone &done,
                                                         uint64_t *highestModSeq);
    // RFC 5182: the result a SAVE keeps ("$"), from indexes into m_messages.
    void saveSearchResult(const QList<int> &indexes);
    // [search-decl-end]
    // commands/append.cpp
    void cmdAppend(const Command &cmd);
    // commands/copymove.cpp
    void cmdCopyMove(const Command &cmd);
    // commands/idle.cpp
    void cmdIdle(const Command &cmd);
    void idleDone(const Command &cmd);
    void mailboxChanged(const QString &folder);
    void mailboxRenamed(const QString &from, const QString &to);
    // commands/misc.cpp
    void cmdEnable(const Command &cmd);
    void cmdId(const Command &cmd);
    void cmdQuota(const Command &cmd);
    void cmdCompress(const Command &cmd);
    // commands/condstore.cpp (RFC 7162)
    void enableCondstore();
    void qresyncSelect(const Command::Qresync &params);
    void fetchVanished(const Command &cmd);
    // "FLAGS (...)", plus " MODSEQ (n)" once CONDSTORE is on.
    [[nodiscard]] QByteArray flagsItem(const store::MessageMeta &meta) const;
    // Reports UIDs gone from the snapshot: VANISHED under QRESYNC, else EXPUNGE per message.
    void reportExpunged(const QList<uint32_t> &uids);
    // commands/mailbox.cpp
    void cmdSelect(const Command &cmd);
    void cmdClose(const Command &cmd);
    void cmdExpunge(const Command &cmd);
    void cmdNoop(const Command &cmd);
    // commands/fetch.cpp
    void cmdFetch(const Command &cmd);
    [[nodiscard]] bool fetchOne(int index, const Command &cmd, QByteArray &out, QString &error);
    // commands/store.cpp
    void cmdStore(const Command &cmd);

    // Tells the user's other sessions that `folder` changed (after our own writes).
    void announceChange(const QString &folder);
    // Untagged updates may include EXPUNGE except during FETCH, STORE and SEARCH
    // (RFC 9051 §7.5.1), unless they are UID commands.
    [[nodiscard]] bool expungeAllowedNow() const;
    // "1:3,7" for ascending numbers.
    [[nodiscard]] static QByteArray compressSet(const QList<uint32_t> &sorted);

    // Sequence set -> indexes into m_messages (sorted, unique). nullopt = invalid set.
    [[nodiscard]] std::optional<QList<int>> resolve(const SequenceSet &set, bool uid) const;
    // Reports changes made by others to the selected folder (NOOP/CHECK).
    void syncSelected(bool allowExpunge);
    [[nodiscard]] QString log() const;

    std::shared_ptr<const core::ServerContext> m_ctxHolder;
    const core::ServerContext &m_ctx; // == *m_ctxHolder
    ImapReceiver m_receiver;
    QString m_id;
    State m_state = State::NotAuthenticated;
    bool m_tlsAvailable = false;
    bool m_busy = false;          // async step in flight: do not process further input
    bool m_shutdownPending = false;
    int m_badCount = 0;
    int m_authFailures = 0;
    QByteArray m_pendingAuthTag;  // AUTHENTICATE waiting for its continuation line

    store::User m_user;
    // Shared with this user's other sessions on this thread (MailStoreOpener::shared):
    // never hand it to another thread.
    std::shared_ptr<store::MailStore> m_mail;
    store::Folder m_folder;
    bool m_readOnly = false;
    QList<store::MessageMeta> m_messages;
    // syncSelected's watermarks: changes (flags, arrivals) and expunges up to these modseqs
    // are in m_messages. Expunges have their own: they wait while a command forbids them.
    uint64_t m_syncedModSeq = 0;
    uint64_t m_expungesSyncedModSeq = 0;
    QList<uint32_t> m_savedUids;      // RFC 5182 SEARCHRES "$", ascending UIDs
    QByteArray m_idleTag;             // IDLE in progress
    bool m_folderDirty = false;       // another session or delivery changed the selected folder
    QSet<QByteArray> m_enabled;       // ENABLEd extensions (RFC 5161), upper-case
    CommandName m_current = CommandName::Noop; // the command being answered
    bool m_currentUid = false;
    bool m_changedBySelf = false;     // this command changed flags others should hear of
    bool m_condstore = false;         // RFC 7162 CONDSTORE active in this session
    bool m_qresync = false;           // RFC 7162 QRESYNC enabled
    bool m_compressed = false;        // RFC 4978 DEFLATE active
    bool m_rev2 = false;              // ENABLE IMAP4rev2 (RFC 9051 §6.3.1)
};

} // namespace valv::imap
