// SPDX-License-Identifier: AGPL-3.0-or-later
// MailStore: one user's mailbox file (mail/<user-id>.db): folders and messages.
//
// Implementation notes
// - One MailStore is one connection, used by one thread. Sessions keep theirs for the
//   session's life; delivery uses a per-thread cache (MailStoreCache).
// - UIDs are strictly ascending per folder and never reused within a UIDVALIDITY.
// - Every change bumps the folder's HIGHESTMODSEQ and stamps the message with it.
// - A message's raw bytes live in `blobs`, apart from the row that IMAP lists scan, so
//   listing a folder never reads bodies.
// - append() returns only after its transaction committed (WAL, synchronous=FULL).
#pragma once

#include "result.h"
#include "store/database.h"
#include "store/searchindex.h"

#include <QDateTime>
#include <QList>
#include <QString>

#include <functional>
#include <memory>
#include <optional>

namespace valv::store {

enum class MailError { Db = 1, NoSuchFolder, NoSuchMessage, Exists, Invalid, Modified };

struct Folder {
    qint64 id = 0;
    QString name;
    uint32_t uidValidity = 0;
    uint32_t uidNext = 1;
    uint64_t highestModSeq = 1;
    QString specialUse;   // "\\Sent", … or empty
    bool subscribed = true;
    QString mailboxId;    // RFC 8474 MAILBOXID: stays across RENAME, never reused
    uint32_t messages = 0;
    uint32_t unseen = 0;
};

struct NewMessage {
    QByteArray raw;
    QList<QByteArray> flags;
    QDateTime internalDate;
    QByteArray envelope;      // serialized IMAP ENVELOPE (cached at delivery)
    QByteArray bodyStructure; // serialized extensible BODYSTRUCTURE
    QByteArray body;          // serialized non-extensible BODY
    qint64 headerLength = -1; // bytes of the header section incl. its blank line; -1 = unknown
    qint64 crlfSize = -1;     // size with CRLF line ends (crlfsize.h); -1 = unknown
};

struct MessageMeta {
    uint32_t uid = 0;
    uint64_t modSeq = 0;
    qint64 size = 0;
    QDateTime internalDate;
    QList<QByteArray> flags;
    QString emailId;      // RFC 8474 EMAILID: copies and moves keep it
    qint64 crlfSize = -1; // size with CRLF line ends (POP3); -1: stored before it was kept
};

struct AppendResult {
    uint32_t uidValidity = 0;
    uint32_t uid = 0;
};

class MailStore {
public:
    // Chosen by measurement (README "Storage"): SQLCipher keeps about a hundred pages'
    // worth of buffers per open connection whatever cache_size says, so an idle IMAP
    // session costs ~0.8 MB with 4 KiB pages, ~2 MB with 16 KiB and ~6.7 MB with 64 KiB
    // (tests/bench/idle_memory_probe.py), while full-message reads are only ~2x faster at
    // 64 KiB (tests/bench/store_pagesize.cpp). Idle phones holding IDLE connections
    // decide it: 4 KiB.
    static constexpr int kPageSize = 4096;
    [[nodiscard]] static DbOptions defaultOptions()
    {
        DbOptions o;
        o.cipherPageSize = kPageSize;
        return o;
    }

    // `options` exists for the page-size benchmark; production files all use the default
    // (a file must be reopened with the page size it was created with).
    [[nodiscard]] static Result<std::unique_ptr<MailStore>> open(const QString &path, const QByteArray &key,
                                                                 bool create = true,
                                                                 DbOptions options = defaultOptions());
    [[nodiscard]] static QList<QByteArray> migrations();
    // The folders every new mailbox gets, with their RFC 6154 attributes.
    [[nodiscard]] static QList<std::pair<QString, QString>> defaultFolders();

    // Several reads in one snapshot and one read lock (Database's ReadSnapshot); hold it
    // only across reads, never around a write.
    [[nodiscard]] ReadSnapshot readSnapshot(bool enabled = true) { return ReadSnapshot(*m_db, enabled); }

    [[nodiscard]] Result<QList<Folder>> folders();
    // Counts::No leaves Folder::messages/unseen at 0 and does not scan the messages
    // (for callers that need the id and counters only: SELECT, APPEND, COPY).
    enum class Counts { Yes, No };
    [[nodiscard]] Result<Folder> folder(const QString &name, Counts counts = Counts::Yes);

    // Folder management. Names are full paths with '/' as the hierarchy delimiter.
    // createFolder: Exists when taken. deleteFolder removes the folder and its
    // messages (not its children). renameFolder renames the folder and every child
    // ("a" -> "b" also turns "a/x" into "b/x"); renaming INBOX moves its messages
    // into a new folder and leaves INBOX empty (RFC 9051 §6.3.6).
    [[nodiscard]] Result<Folder> createFolder(const QString &name, const QString &specialUse = {});
    [[nodiscard]] Result<void> deleteFolder(const QString &name);
    [[nodiscard]] Result<void> renameFolder(const QString &from, const QString &to);
    [[nodiscard]] Result<void> setSubscribed(const QString &name, bool subscribed);
    // Sum of message sizes: one folder (STATUS=SIZE) or the whole mailbox (QUOTA).
    [[nodiscard]] Result<qint64> folderSize(qint64 folderId);
    [[nodiscard]] Result<qint64> totalSize();

    // COPY / MOVE (RFC 9051 §6.4.7, RFC 6851): the copies share the stored bytes.
    // Returns the destination's UIDVALIDITY and, in source order, (source UID, new UID).
    struct CopyResult {
        uint32_t uidValidity = 0;
        QList<std::pair<uint32_t, uint32_t>> uids;
    };
    [[nodiscard]] Result<CopyResult> copyMessages(qint64 fromFolderId, const QList<uint32_t> &uids,
                                                  const QString &toFolder, bool move);

    [[nodiscard]] Result<AppendResult> append(const QString &folderName, const NewMessage &message);
    // Several messages in one transaction and one fsync (group commit); all or none.
    [[nodiscard]] Result<QList<AppendResult>> appendMany(const QString &folderName,
                                                         const QList<const NewMessage *> &batch);
    // Metadata of every message in the folder, in UID order.
    [[nodiscard]] Result<QList<MessageMeta>> messages(qint64 folderId);
    // What changed since `modseq` (flags, new messages; expunges are expungedSince's):
    // the messages whose modseq is higher, in UID order, and the folder's HIGHESTMODSEQ
    // read in the same snapshot. Lets a session keep its view current without rereading
    // the whole folder after every change another session makes.
    struct Changes {
        uint64_t highestModSeq = 0;
        QList<MessageMeta> changed;
    };
    [[nodiscard]] Result<Changes> changesSince(qint64 folderId, uint64_t modseq);
    [[nodiscard]] Result<QByteArray> raw(qint64 folderId, uint32_t uid);
    // The header section only (through its blank line), without reading the body's
    // pages; the whole message for messages stored before header lengths were kept.
    [[nodiscard]] Result<QByteArray> header(qint64 folderId, uint32_t uid);

    // Full-text search (store/searchindex.h). textSearch: the UIDs in the folder whose
    // field contains `needle` case-insensitively, ascending; exact, but only for needles
    // of three or more characters (searchindex::indexable), Invalid otherwise.
    // Every appended message waits to be indexed (in batches, off the append's path);
    // indexPending indexes up to maxMessages of them and returns how many still wait;
    // textSearch answers for indexed messages only, so search after it returns 0.
    using DocumentMaker = std::function<SearchDocument(const QByteArray &raw)>;
    [[nodiscard]] Result<int> indexPending(const DocumentMaker &make, int maxMessages);
    [[nodiscard]] Result<QList<uint32_t>> textSearch(qint64 folderId, TextField field, const QString &needle);
    struct Structure {
        QByteArray envelope, bodyStructure, body;
    };
    [[nodiscard]] Result<Structure> structure(qint64 folderId, uint32_t uid);
    // Replaces the flag set; returns the new modseq. With `unchangedSince` (RFC 7162
    // UNCHANGEDSINCE), fails with Modified when the message's modseq is higher.
    [[nodiscard]] Result<uint64_t> setFlags(qint64 folderId, uint32_t uid, const QList<QByteArray> &flags,
                                            std::optional<uint64_t> unchangedSince = std::nullopt);
    // UIDs expunged (or moved away) after `modseq`, ascending (RFC 7162 VANISHED).
    [[nodiscard]] Result<QList<uint32_t>> expungedSince(qint64 folderId, uint64_t modseq);

    // Removes every message flagged \Deleted (only those among `onlyUids` when given,
    // for UID EXPUNGE); returns their UIDs (ascending).
    [[nodiscard]] Result<QList<uint32_t>> expungeDeleted(qint64 folderId,
                                                         const std::optional<QList<uint32_t>> &onlyUids = std::nullopt);

    [[nodiscard]] static QList<QByteArray> parseFlags(const QString &stored);
    // parseFlags, shared with every other message (of this thread) with the same flags.
    [[nodiscard]] static QList<QByteArray> internedFlags(const QString &stored);
    [[nodiscard]] static QString formatFlags(QList<QByteArray> flags);

    // Removes exactly these UIDs from the folder, whatever their flags, in one
    // transaction (POP3 UPDATE state, RFC 1939 §6); UIDs already gone are skipped.
    // Returns the UIDs removed, ascending.
    [[nodiscard]] Result<QList<uint32_t>> expungeUids(qint64 folderId, QList<uint32_t> uids);

private:
    MailStore() = default;
    [[nodiscard]] Result<void> dropBlobsIfUnused(const QList<qint64> &blobIds);
    // Inside a transaction: the counters of the folder messages are about to go into.
    [[nodiscard]] Result<Folder> appendTarget(const QString &name);
    [[nodiscard]] Result<QList<MessageMeta>> readMetas(Statement &st);
    [[nodiscard]] Result<QList<Folder>> readFolders(Statement &st, bool withCounts);
    [[nodiscard]] Result<void> indexDocument(qint64 blobId, const SearchDocument &doc);
    // Inside a transaction: the folder's next modseq.
    [[nodiscard]] Result<uint64_t> bumpModSeq(qint64 folderId);
    [[nodiscard]] Result<void> recordExpunge(qint64 folderId, uint32_t uid, uint64_t modseq);
    std::unique_ptr<Database> m_db;
};

} // namespace valv::store
