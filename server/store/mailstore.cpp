// SPDX-License-Identifier: AGPL-3.0-or-later
#include "store/mailstore.h"

#include "store/searchindex.h"

#include <QHash>

#include "store/crypto.h"

#include <algorithm>

namespace valv::store {

namespace {
Error dbError(const Error &e) { return makeError(int(MailError::Db), e.message); }

// RFC 8474 §4: 1-255 of [A-Za-z0-9_-]; 96 random bits make reuse practically impossible.
QString newObjectId(char prefix)
{
    return QLatin1Char(prefix) + QString::fromLatin1(randomBytes(12).toHex());
}

uint32_t newUidValidity()
{
    // Seconds since the epoch, as most servers do; unique per folder name recreation
    // in practice, and never zero.
    return std::max<uint32_t>(1, uint32_t(QDateTime::currentSecsSinceEpoch()));
}
} // namespace

QList<QByteArray> MailStore::migrations()
{
    return {
        // 1: the base schema.
        "CREATE TABLE folders(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, uidvalidity INTEGER NOT NULL,"
        " uidnext INTEGER NOT NULL DEFAULT 1, highestmodseq INTEGER NOT NULL DEFAULT 1, special_use TEXT,"
        " created INTEGER NOT NULL);"
        "CREATE TABLE blobs(id INTEGER PRIMARY KEY, data BLOB NOT NULL);"
        "CREATE TABLE messages(id INTEGER PRIMARY KEY,"
        " folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE, uid INTEGER NOT NULL,"
        " modseq INTEGER NOT NULL, internaldate INTEGER NOT NULL, size INTEGER NOT NULL,"
        " flags TEXT NOT NULL DEFAULT '', blob_id INTEGER NOT NULL REFERENCES blobs(id),"
        " envelope BLOB NOT NULL, bodystructure BLOB NOT NULL, body BLOB NOT NULL, UNIQUE(folder_id, uid));",
        // 2: subscriptions (LSUB / LIST (SUBSCRIBED)), CONDSTORE lookups by modseq, and
        // finding the last reference to a blob on expunge.
        "ALTER TABLE folders ADD COLUMN subscribed INTEGER NOT NULL DEFAULT 1;"
        "CREATE INDEX messages_modseq ON messages(folder_id, modseq);"
        "CREATE INDEX messages_blob ON messages(blob_id);",
        // 3: QRESYNC (RFC 7162 §3.2.5): which UIDs went away at which modseq.
        "CREATE TABLE expunged(folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,"
        " uid INTEGER NOT NULL, modseq INTEGER NOT NULL, PRIMARY KEY(folder_id, uid)) WITHOUT ROWID;"
        "CREATE INDEX expunged_modseq ON expunged(folder_id, modseq);",
        // 4: OBJECTID (RFC 8474): ids that are never reused. Copies share an EMAILID.
        "ALTER TABLE folders ADD COLUMN mailbox_id TEXT;"
        "UPDATE folders SET mailbox_id = 'F' || lower(hex(randomblob(12)));"
        "ALTER TABLE messages ADD COLUMN email_id TEXT;"
        "UPDATE messages SET email_id = 'M' || lower(hex(randomblob(12)));",
        // 5: header-only reads (FETCH BODY[HEADER.FIELDS], header SEARCH keys, SORT)
        // and the trigram full-text index (store/searchindex.h). Messages stored before
        // have no header_len (read whole) and wait in textindex_pending until the first
        // search indexes them.
        "ALTER TABLE messages ADD COLUMN header_len INTEGER;"
        "CREATE VIRTUAL TABLE textindex USING fts4(headers, hfrom, hto, hcc, hbcc, subject, body,"
        " tokenize=valvtrigram);"
        "INSERT INTO textindex(textindex) VALUES('automerge=8');"
        "CREATE TABLE textindex_pending(blob_id INTEGER PRIMARY KEY);"
        "INSERT INTO textindex_pending SELECT id FROM blobs;",
        // 6: EXPUNGE finds the \Deleted messages without reading every row of the folder
        // (the expression must stay the one expungeDeleted() queries with).
        "CREATE INDEX messages_deleted ON messages(folder_id, uid)"
        " WHERE (' ' || flags || ' ') LIKE '% \\Deleted %';",
        // 7: messages are indexed after their append, in batches; a random token per
        // pending row tells the indexer that the blob it decoded is still the one
        // waiting (a deleted blob's rowid can be reused).
        "ALTER TABLE textindex_pending ADD COLUMN token INTEGER NOT NULL DEFAULT 0;",
        // 8: the index as FTS3, not FTS4. FTS4 "defers" a phrase's common tokens and
        // checks them by re-tokenizing each candidate's stored text, and with trigrams
        // most tokens are common: a search cost twice as much CPU (measured with
        // tests/bench/imap_load.py --mix search=1). FTS3 reads the doclists instead.
        // Everything is indexed again, in the background and by the next search.
        "DROP TABLE textindex;"
        "CREATE VIRTUAL TABLE textindex USING fts3(headers, hfrom, hto, hcc, hbcc, subject, body,"
        " tokenize=valvtrigram);"
        "DELETE FROM textindex_pending;"
        "INSERT INTO textindex_pending(blob_id, token) SELECT id, random() FROM blobs;",
        // 9: the message's size with CRLF line ends (crlfsize.h), for POP3 sizes; NULL for
        // messages stored before (POP3 reads those once).
        "ALTER TABLE messages ADD COLUMN crlf_size INTEGER;",
        // 10: header fields in an index of their own. FTS3 keeps one doclist per term over
        // all of a table's columns, so a FROM or SUBJECT search read the bodies' postings
        // too. Everything is indexed again.
        "DROP TABLE textindex;"
        "CREATE VIRTUAL TABLE textindex USING fts3(body, tokenize=valvtrigram);"
        "CREATE VIRTUAL TABLE headerindex USING fts3(headers, hfrom, hto, hcc, hbcc, subject, tokenize=valvtrigram);"
        "DELETE FROM textindex_pending;"
        "INSERT INTO textindex_pending(blob_id, token) SELECT id, random() FROM blobs;",
    };
}

QList<std::pair<QString, QString>> MailStore::defaultFolders()
{
    return {{QStringLiteral("INBOX"), QString()},           {QStringLiteral("Sent"), QStringLiteral("\\Sent")},
            {QStringLiteral("Drafts"), QStringLiteral("\\Drafts")}, {QStringLiteral("Trash"), QStringLiteral("\\Trash")},
            {QStringLiteral("Junk"), QStringLiteral("\\Junk")},     {QStringLiteral("Archive"), QStringLiteral("\\Archive")}};
}

Result<std::unique_ptr<MailStore>> MailStore::open(const QString &path, const QByteArray &key, bool create,
                                                   DbOptions opts)
{
    opts.create = create;
    auto db = Database::open(path, key, opts);
    if (!db)
        return db.error();
    if (auto r = (*db)->registerTokenizer(searchindex::kTokenizerName, searchindex::tokenizerModule()); !r)
        return r.error();
    const int before = (*db)->schemaVersion();
    if (auto m = (*db)->migrate(migrations()); !m)
        return m.error();
    std::unique_ptr<MailStore> s(new MailStore);
    s->m_db = std::move(*db);
    if (before == 0) {
        Transaction tx(*s->m_db);
        for (const auto &[name, use] : defaultFolders()) {
            Statement st = s->m_db->prepare(
                "INSERT OR IGNORE INTO folders(name, uidvalidity, special_use, created, mailbox_id) VALUES(?, ?, ?, ?, ?)");
            st.bindText(1, name).bindInt(2, newUidValidity());
            if (use.isEmpty())
                st.bindNull(3);
            else
                st.bindText(3, use);
            st.bindInt(4, QDateTime::currentSecsSinceEpoch()).bindText(5, newObjectId('F'));
            if (auto r = st.exec(); !r)
                return dbError(r.error());
        }
        if (auto r = tx.commit(); !r)
            return dbError(r.error());
    }
    return s;
}

QList<QByteArray> MailStore::parseFlags(const QString &stored)
{
    QList<QByteArray> out;
    for (const QString &f : stored.split(u' ', Qt::SkipEmptyParts))
        out.append(f.toUtf8());
    return out;
}

QList<QByteArray> MailStore::internedFlags(const QString &stored)
{
    // A folder has few distinct flag sets; its messages share them (QList is implicitly
    // shared) instead of each holding its own list and strings: snapshots of large
    // folders, which every selected session keeps, cost ~100 bytes less per message.
    thread_local QHash<QString, QList<QByteArray>> interned;
    if (auto it = interned.constFind(stored); it != interned.constEnd())
        return *it;
    if (interned.size() >= 4096)
        interned.clear(); // keywords gone wild: start over rather than grow
    return *interned.insert(stored, parseFlags(stored));
}

QString MailStore::formatFlags(QList<QByteArray> flags)
{
    // Case-insensitive de-duplication (RFC 9051 §2.3.2: flags are case-insensitive).
    QList<QByteArray> unique;
    for (const QByteArray &f : flags) {
        if (std::none_of(unique.begin(), unique.end(), [&](const QByteArray &u) { return u.compare(f, Qt::CaseInsensitive) == 0; }))
            unique.append(f);
    }
    return QString::fromUtf8(unique.join(' '));
}

namespace {
constexpr char kFolderColumns[] =
    "SELECT f.id, f.name, f.uidvalidity, f.uidnext, f.highestmodseq, f.special_use, f.subscribed, f.mailbox_id";
constexpr char kFolderCounts[] =
    ", (SELECT count(*) FROM messages m WHERE m.folder_id = f.id),"
    " (SELECT count(*) FROM messages m WHERE m.folder_id = f.id AND (' ' || m.flags || ' ') NOT LIKE '% \\Seen %')";
} // namespace

Result<QList<Folder>> MailStore::folders()
{
    Statement st = m_db->prepare(QByteArray(kFolderColumns) + kFolderCounts
                                 + " FROM folders f ORDER BY f.name = 'INBOX' DESC, f.name");
    return readFolders(st, true);
}

Result<QList<Folder>> MailStore::readFolders(Statement &st, bool withCounts)
{
    QList<Folder> out;
    while (st.next()) {
        Folder f;
        f.id = st.integer(0);
        f.name = st.text(1);
        f.uidValidity = uint32_t(st.integer(2));
        f.uidNext = uint32_t(st.integer(3));
        f.highestModSeq = uint64_t(st.integer(4));
        f.specialUse = st.isNull(5) ? QString() : st.text(5);
        f.subscribed = st.integer(6) != 0;
        f.mailboxId = st.text(7);
        if (withCounts) {
            f.messages = uint32_t(st.integer(8));
            f.unseen = uint32_t(st.integer(9));
        }
        out.append(f);
    }
    if (st.failed())
        return dbError(st.error());
    return out;
}

Result<Folder> MailStore::folder(const QString &name, Counts counts)
{
    const bool withCounts = counts == Counts::Yes;
    Statement st = m_db->prepare(QByteArray(kFolderColumns) + (withCounts ? kFolderCounts : "")
                                 + " FROM folders f WHERE f.name = ?");
    st.bindText(1, name);
    auto found = readFolders(st, withCounts);
    if (!found)
        return found.error();
    if (found->isEmpty())
        return makeError(int(MailError::NoSuchFolder), QStringLiteral("no folder named %1").arg(name));
    return found->first();
}

Result<Folder> MailStore::appendTarget(const QString &name)
{
    Statement f = m_db->prepare("SELECT id, uidvalidity, uidnext, highestmodseq FROM folders WHERE name = ?");
    f.bindText(1, name);
    if (!f.next())
        return f.failed() ? dbError(f.error())
                          : makeError(int(MailError::NoSuchFolder), QStringLiteral("no folder named %1").arg(name));
    Folder out;
    out.id = f.integer(0);
    out.name = name;
    out.uidValidity = uint32_t(f.integer(1));
    out.uidNext = uint32_t(f.integer(2));
    out.highestModSeq = uint64_t(f.integer(3));
    return out;
}

Result<AppendResult> MailStore::append(const QString &folderName, const NewMessage &m)
{
    auto r = appendMany(folderName, {&m});
    if (!r)
        return r.error();
    return r->first();
}

Result<QList<AppendResult>> MailStore::appendMany(const QString &folderName, const QList<const NewMessage *> &batch)
{
    Transaction tx(*m_db);
    if (!tx.begun())
        return dbError(m_db->lastError());
    const auto target = appendTarget(folderName);
    if (!target)
        return target.error();
    const qint64 folderId = target->id;
    const uint32_t uidValidity = target->uidValidity;
    auto uid = target->uidNext;
    const qint64 modseq = qint64(target->highestModSeq) + 1;

    QList<AppendResult> results;
    for (const NewMessage *m : batch) {
        Statement b = m_db->prepare("INSERT INTO blobs(data) VALUES(?)");
        b.bind(1, m->raw);
        if (auto r = b.exec(); !r)
            return dbError(r.error());
        const qint64 blobId = m_db->lastInsertId();
        // Indexed for search later, in a batch (indexPending; delivery/prepare.h).
        Statement pending = m_db->prepare("INSERT OR REPLACE INTO textindex_pending(blob_id, token) VALUES(?, random())");
        pending.bindInt(1, blobId);
        if (auto r = pending.exec(); !r)
            return dbError(r.error());

        Statement ins = m_db->prepare(
            "INSERT INTO messages(folder_id, uid, modseq, internaldate, size, flags, blob_id, envelope, bodystructure,"
            " body, email_id, header_len, crlf_size) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        const QDateTime date = m->internalDate.isValid() ? m->internalDate : QDateTime::currentDateTimeUtc();
        ins.bindInt(1, folderId).bindInt(2, uid).bindInt(3, modseq).bindInt(4, date.toSecsSinceEpoch());
        ins.bindInt(5, m->raw.size()).bindText(6, formatFlags(m->flags)).bindInt(7, blobId);
        ins.bind(8, m->envelope).bind(9, m->bodyStructure).bind(10, m->body).bindText(11, newObjectId('M'));
        if (m->headerLength >= 0 && m->headerLength <= m->raw.size())
            ins.bindInt(12, m->headerLength);
        else
            ins.bindNull(12);
        if (m->crlfSize >= 0)
            ins.bindInt(13, m->crlfSize);
        else
            ins.bindNull(13);
        if (auto r = ins.exec(); !r)
            return dbError(r.error());
        results.append(AppendResult{uidValidity, uid++});
    }

    Statement up = m_db->prepare("UPDATE folders SET uidnext = ?, highestmodseq = ? WHERE id = ?");
    up.bindInt(1, uid).bindInt(2, modseq).bindInt(3, folderId);
    if (auto r = up.exec(); !r)
        return dbError(r.error());
    if (auto r = tx.commit(); !r)
        return dbError(r.error());
    return results;
}

Result<QList<MessageMeta>> MailStore::messages(qint64 folderId)
{
    Statement st = m_db->prepare(
        "SELECT uid, modseq, size, internaldate, flags, email_id, crlf_size FROM messages WHERE folder_id = ? ORDER BY uid");
    st.bindInt(1, folderId);
    return readMetas(st);
}

Result<MailStore::Changes> MailStore::changesSince(qint64 folderId, uint64_t modseq)
{
    const ReadSnapshot snapshot(*m_db);
    Statement f = m_db->prepare("SELECT highestmodseq FROM folders WHERE id = ?");
    f.bindInt(1, folderId);
    if (!f.next())
        return f.failed() ? dbError(f.error()) : makeError(int(MailError::NoSuchFolder), QStringLiteral("no such folder"));
    Changes out;
    out.highestModSeq = uint64_t(f.integer(0));
    f.reset();
    if (out.highestModSeq <= modseq)
        return out;
    Statement st = m_db->prepare("SELECT uid, modseq, size, internaldate, flags, email_id, crlf_size FROM messages"
                                 " WHERE folder_id = ? AND modseq > ? ORDER BY uid");
    st.bindInt(1, folderId).bindInt(2, qint64(modseq));
    auto changed = readMetas(st);
    if (!changed)
        return changed.error();
    out.changed = std::move(*changed);
    return out;
}

Result<QList<MessageMeta>> MailStore::readMetas(Statement &st)
{
    QList<MessageMeta> out;
    while (st.next()) {
        MessageMeta m;
        m.uid = uint32_t(st.integer(0));
        m.modSeq = uint64_t(st.integer(1));
        m.size = st.integer(2);
        m.internalDate = QDateTime::fromSecsSinceEpoch(st.integer(3), Qt::UTC);
        m.flags = internedFlags(st.text(4));
        m.emailId = st.text(5);
        m.crlfSize = st.isNull(6) ? -1 : st.integer(6);
        out.append(m);
    }
    if (st.failed())
        return dbError(st.error());
    return out;
}

Result<QByteArray> MailStore::raw(qint64 folderId, uint32_t uid)
{
    Statement st = m_db->prepare(
        "SELECT b.data FROM messages m JOIN blobs b ON b.id = m.blob_id WHERE m.folder_id = ? AND m.uid = ?");
    st.bindInt(1, folderId).bindInt(2, uid);
    if (!st.next())
        return st.failed() ? dbError(st.error()) : makeError(int(MailError::NoSuchMessage), QStringLiteral("no such message"));
    QByteArray data = st.blob(0);
    st.reset();
    return data;
}

Result<QByteArray> MailStore::header(qint64 folderId, uint32_t uid)
{
    Statement st = m_db->prepare("SELECT blob_id, header_len FROM messages WHERE folder_id = ? AND uid = ?");
    st.bindInt(1, folderId).bindInt(2, uid);
    if (!st.next())
        return st.failed() ? dbError(st.error()) : makeError(int(MailError::NoSuchMessage), QStringLiteral("no such message"));
    const qint64 blobId = st.integer(0);
    const bool known = !st.isNull(1);
    const qint64 length = st.integer(1);
    st.reset();
    if (!known)
        return raw(folderId, uid); // stored before header lengths were kept: the whole message
    auto bytes = m_db->readBlobPrefix("blobs", "data", blobId, length);
    if (!bytes)
        return dbError(bytes.error());
    return bytes;
}

Result<void> MailStore::indexDocument(qint64 blobId, const SearchDocument &doc)
{
    using searchindex::fold;
    using searchindex::FoldFor;
    Statement headers = m_db->prepare(
        "INSERT INTO headerindex(docid, headers, hfrom, hto, hcc, hbcc, subject) VALUES(?, ?, ?, ?, ?, ?, ?)");
    headers.bindInt(1, blobId);
    int column = 2;
    for (const QString *text : {&doc.headers, &doc.from, &doc.to, &doc.cc, &doc.bcc, &doc.subject})
        headers.bindText(column++, fold(*text, FoldFor::Document));
    if (auto r = headers.exec(); !r)
        return dbError(r.error());
    Statement body = m_db->prepare("INSERT INTO textindex(docid, body) VALUES(?, ?)");
    body.bindInt(1, blobId).bindText(2, fold(doc.body, FoldFor::Document));
    if (auto r = body.exec(); !r)
        return dbError(r.error());
    return {};
}

Result<int> MailStore::indexPending(const DocumentMaker &make, int maxMessages)
{
    Statement count = m_db->prepare("SELECT count(*) FROM textindex_pending");
    if (!count.next())
        return dbError(count.error());
    const int pending = int(count.integer(0));
    count.reset();
    if (pending == 0 || maxMessages <= 0)
        return pending;

    // Messages are read and decoded before the write transaction, so the write lock is
    // held only for the index inserts; whatever changed meanwhile is checked inside it.
    struct Pending {
        qint64 blobId, token;
        SearchDocument doc;
    };
    QList<Pending> docs;
    {
        Statement sel = m_db->prepare("SELECT p.blob_id, p.token, b.data FROM textindex_pending p"
                                      " JOIN blobs b ON b.id = p.blob_id LIMIT ?");
        sel.bindInt(1, maxMessages);
        while (sel.next())
            docs.append({sel.integer(0), sel.integer(1), make(sel.blob(2))});
        if (sel.failed())
            return dbError(sel.error());
    }
    Transaction tx(*m_db);
    if (!tx.begun())
        return dbError(m_db->lastError());
    int indexed = 0;
    for (const Pending &p : docs) {
        Statement del = m_db->prepare("DELETE FROM textindex_pending WHERE blob_id = ? AND token = ?");
        del.bindInt(1, p.blobId).bindInt(2, p.token);
        if (auto r = del.exec(); !r)
            return dbError(r.error());
        if (m_db->changes() == 0)
            continue; // indexed by another connection, or expunged (maybe replaced), meanwhile
        if (auto r = indexDocument(p.blobId, p.doc); !r)
            return r.error();
        ++indexed;
    }
    // A pending id whose blob is gone (should not happen) must not stay pending forever.
    if (docs.size() < maxMessages) {
        if (auto r = m_db->exec("DELETE FROM textindex_pending WHERE blob_id NOT IN (SELECT id FROM blobs);"); !r)
            return dbError(r.error());
    }
    if (auto r = tx.commit(); !r)
        return dbError(r.error());
    if (docs.size() < maxMessages)
        return 0;
    return std::max(0, pending - indexed);
}

Result<QList<uint32_t>> MailStore::textSearch(qint64 folderId, TextField field, const QString &needle)
{
    if (!searchindex::indexable(needle))
        return makeError(int(MailError::Invalid), QStringLiteral("search text shorter than three characters"));
    // The index's matches drive the query (CROSS JOIN keeps them the outer loop): each
    // MATCH runs once and only matching messages are looked up, through messages_blob.
    // Filtering the folder's messages by "blob_id IN (...)" instead read every row of
    // the folder (~75 ms on 50,000 messages even for a needle found nowhere).
    QByteArray matches;
    switch (field) {
    case TextField::Any:
        matches = "SELECT docid FROM headerindex WHERE headerindex MATCH ?1"
                  " UNION SELECT docid FROM textindex WHERE body MATCH ?1";
        break;
    case TextField::Body: matches = "SELECT docid FROM textindex WHERE body MATCH ?1"; break;
    case TextField::From: matches = "SELECT docid FROM headerindex WHERE hfrom MATCH ?1"; break;
    case TextField::To: matches = "SELECT docid FROM headerindex WHERE hto MATCH ?1"; break;
    case TextField::Cc: matches = "SELECT docid FROM headerindex WHERE hcc MATCH ?1"; break;
    case TextField::Bcc: matches = "SELECT docid FROM headerindex WHERE hbcc MATCH ?1"; break;
    case TextField::Subject: matches = "SELECT docid FROM headerindex WHERE subject MATCH ?1"; break;
    }
    Statement st = m_db->prepare("SELECT m.uid FROM (" + matches + ") AS t CROSS JOIN messages m ON m.blob_id = t.docid"
                                 " WHERE m.folder_id = ?2 ORDER BY m.uid");
    st.bindText(1, searchindex::phrase(needle)).bindInt(2, folderId);
    QList<uint32_t> uids;
    while (st.next())
        uids.append(uint32_t(st.integer(0)));
    if (st.failed())
        return dbError(st.error());
    return uids;
}

Result<MailStore::Structure> MailStore::structure(qint64 folderId, uint32_t uid)
{
    Statement st = m_db->prepare(
        "SELECT envelope, bodystructure, body FROM messages WHERE folder_id = ? AND uid = ?");
    st.bindInt(1, folderId).bindInt(2, uid);
    if (!st.next())
        return st.failed() ? dbError(st.error()) : makeError(int(MailError::NoSuchMessage), QStringLiteral("no such message"));
    Structure s{st.blob(0), st.blob(1), st.blob(2)};
    st.reset();
    return s;
}

Result<uint64_t> MailStore::setFlags(qint64 folderId, uint32_t uid, const QList<QByteArray> &flags,
                                     std::optional<uint64_t> unchangedSince)
{
    Transaction tx(*m_db);
    if (!tx.begun())
        return dbError(m_db->lastError());
    if (unchangedSince) {
        // RFC 7162 §3.1.3: the check and the change are one atomic step.
        Statement cur = m_db->prepare("SELECT modseq FROM messages WHERE folder_id = ? AND uid = ?");
        cur.bindInt(1, folderId).bindInt(2, uid);
        if (!cur.next())
            return makeError(int(MailError::NoSuchMessage), QStringLiteral("no such message"));
        if (uint64_t(cur.integer(0)) > *unchangedSince)
            return makeError(int(MailError::Modified), QStringLiteral("modified since %1").arg(*unchangedSince));
    }
    const auto modseq = bumpModSeq(folderId);
    if (!modseq)
        return modseq.error();
    Statement st = m_db->prepare("UPDATE messages SET flags = ?, modseq = ? WHERE folder_id = ? AND uid = ?");
    st.bindText(1, formatFlags(flags)).bindInt(2, qint64(*modseq)).bindInt(3, folderId).bindInt(4, uid);
    if (auto r = st.exec(); !r)
        return dbError(r.error());
    if (m_db->changes() == 0)
        return makeError(int(MailError::NoSuchMessage), QStringLiteral("no such message"));
    if (auto r = tx.commit(); !r)
        return dbError(r.error());
    return *modseq;
}

Result<uint64_t> MailStore::bumpModSeq(qint64 folderId)
{
    Statement up = m_db->prepare("UPDATE folders SET highestmodseq = highestmodseq + 1 WHERE id = ?");
    up.bindInt(1, folderId);
    if (auto r = up.exec(); !r)
        return dbError(r.error());
    if (m_db->changes() == 0)
        return makeError(int(MailError::NoSuchFolder), QStringLiteral("no such folder"));
    Statement get = m_db->prepare("SELECT highestmodseq FROM folders WHERE id = ?");
    get.bindInt(1, folderId);
    if (!get.next())
        return dbError(get.error());
    return uint64_t(get.integer(0));
}

Result<void> MailStore::recordExpunge(qint64 folderId, uint32_t uid, uint64_t modseq)
{
    Statement st = m_db->prepare("INSERT OR REPLACE INTO expunged(folder_id, uid, modseq) VALUES(?, ?, ?)");
    st.bindInt(1, folderId).bindInt(2, uid).bindInt(3, qint64(modseq));
    if (auto r = st.exec(); !r)
        return dbError(r.error());
    return {};
}

Result<QList<uint32_t>> MailStore::expungedSince(qint64 folderId, uint64_t modseq)
{
    Statement st = m_db->prepare("SELECT uid FROM expunged WHERE folder_id = ? AND modseq > ? ORDER BY uid");
    st.bindInt(1, folderId).bindInt(2, qint64(modseq));
    QList<uint32_t> out;
    while (st.next())
        out.append(uint32_t(st.integer(0)));
    if (st.failed())
        return dbError(st.error());
    return out;
}

Result<void> MailStore::dropBlobsIfUnused(const QList<qint64> &blobIds)
{
    // A blob may be shared by copies in other folders; it goes with its last message.
    for (qint64 blobId : blobIds) {
        Statement blob = m_db->prepare(
            "DELETE FROM blobs WHERE id = ? AND NOT EXISTS (SELECT 1 FROM messages WHERE blob_id = ?)");
        blob.bindInt(1, blobId).bindInt(2, blobId);
        if (auto r = blob.exec(); !r)
            return dbError(r.error());
        if (m_db->changes() == 0)
            continue;
        for (const char *sql : {"DELETE FROM textindex WHERE docid = ?", "DELETE FROM headerindex WHERE docid = ?",
                                "DELETE FROM textindex_pending WHERE blob_id = ?"}) {
            Statement st = m_db->prepare(sql);
            st.bindInt(1, blobId);
            if (auto r = st.exec(); !r)
                return dbError(r.error());
        }
    }
    return {};
}

Result<QList<uint32_t>> MailStore::expungeDeleted(qint64 folderId, const std::optional<QList<uint32_t>> &onlyUids)
{
    Transaction tx(*m_db);
    if (!tx.begun())
        return dbError(m_db->lastError());
    Statement sel = m_db->prepare("SELECT uid, blob_id FROM messages WHERE folder_id = ?"
                                  " AND (' ' || flags || ' ') LIKE '% \\Deleted %' ORDER BY uid");
    sel.bindInt(1, folderId);
    QList<uint32_t> uids;
    QList<qint64> blobIds;
    while (sel.next()) {
        const auto uid = uint32_t(sel.integer(0));
        if (onlyUids && !std::binary_search(onlyUids->begin(), onlyUids->end(), uid))
            continue;
        uids.append(uid);
        blobIds.append(sel.integer(1));
    }
    if (sel.failed())
        return dbError(sel.error());
    sel.reset();
    if (uids.isEmpty())
        return uids;
    const auto modseq = bumpModSeq(folderId);
    if (!modseq)
        return modseq.error();
    for (uint32_t uid : uids) {
        Statement del = m_db->prepare("DELETE FROM messages WHERE folder_id = ? AND uid = ?");
        del.bindInt(1, folderId).bindInt(2, uid);
        if (auto r = del.exec(); !r)
            return dbError(r.error());
        if (auto r = recordExpunge(folderId, uid, *modseq); !r)
            return r.error();
    }
    if (auto r = dropBlobsIfUnused(blobIds); !r)
        return r.error();
    if (auto r = tx.commit(); !r)
        return dbError(r.error());
    return uids;
}

Result<Folder> MailStore::createFolder(const QString &name, const QString &specialUse)
{
    if (name.isEmpty() || name.startsWith(u'/') || name.endsWith(u'/') || name.contains(QLatin1String("//")))
        return makeError(int(MailError::Invalid), QStringLiteral("invalid folder name"));
    Statement st = m_db->prepare(
        "INSERT INTO folders(name, uidvalidity, special_use, created, mailbox_id) VALUES(?, ?, ?, ?, ?)");
    st.bindText(1, name).bindInt(2, newUidValidity());
    if (specialUse.isEmpty())
        st.bindNull(3);
    else
        st.bindText(3, specialUse);
    st.bindInt(4, QDateTime::currentSecsSinceEpoch()).bindText(5, newObjectId('F'));
    if (auto r = st.exec(); !r)
        return r.error().code == int(DbError::Constraint)
            ? makeError(int(MailError::Exists), QStringLiteral("folder %1 already exists").arg(name))
            : dbError(r.error());
    return folder(name);
}

Result<void> MailStore::deleteFolder(const QString &name)
{
    auto f = folder(name);
    if (!f)
        return f.error();
    Transaction tx(*m_db);
    if (!tx.begun())
        return dbError(m_db->lastError());
    QList<qint64> blobIds;
    Statement sel = m_db->prepare("SELECT blob_id FROM messages WHERE folder_id = ?");
    sel.bindInt(1, f->id);
    while (sel.next())
        blobIds.append(sel.integer(0));
    sel.reset();
    Statement msgs = m_db->prepare("DELETE FROM messages WHERE folder_id = ?");
    msgs.bindInt(1, f->id);
    if (auto r = msgs.exec(); !r)
        return dbError(r.error());
    if (auto r = dropBlobsIfUnused(blobIds); !r)
        return r.error();
    Statement del = m_db->prepare("DELETE FROM folders WHERE id = ?");
    del.bindInt(1, f->id);
    if (auto r = del.exec(); !r)
        return dbError(r.error());
    return tx.commit().ok() ? Result<void>() : Result<void>(dbError(m_db->lastError()));
}

Result<void> MailStore::renameFolder(const QString &from, const QString &to)
{
    auto src = folder(from);
    if (!src)
        return src.error();
    if (to.isEmpty() || to.startsWith(u'/') || to.endsWith(u'/') || to.contains(QLatin1String("//")))
        return makeError(int(MailError::Invalid), QStringLiteral("invalid folder name"));
    if (folder(to))
        return makeError(int(MailError::Exists), QStringLiteral("folder %1 already exists").arg(to));
    Transaction tx(*m_db);
    if (!tx.begun())
        return dbError(m_db->lastError());
    if (from == QLatin1String("INBOX")) {
        // RFC 9051 §6.3.6: INBOX's messages move to the new folder; INBOX stays, empty.
        Statement ins = m_db->prepare("INSERT INTO folders(name, uidvalidity, uidnext, highestmodseq, created, mailbox_id)"
                                      " VALUES(?, ?, ?, ?, ?, ?)");
        ins.bindText(1, to).bindInt(2, newUidValidity()).bindInt(3, src->uidNext).bindInt(4, src->highestModSeq);
        ins.bindInt(5, QDateTime::currentSecsSinceEpoch()).bindText(6, newObjectId('F'));
        if (auto r = ins.exec(); !r)
            return dbError(r.error());
        const qint64 newId = m_db->lastInsertId();
        const auto modseq = bumpModSeq(src->id);
        if (!modseq)
            return modseq.error();
        Statement gone = m_db->prepare("INSERT OR REPLACE INTO expunged(folder_id, uid, modseq)"
                                       " SELECT folder_id, uid, ? FROM messages WHERE folder_id = ?");
        gone.bindInt(1, qint64(*modseq)).bindInt(2, src->id);
        if (auto r = gone.exec(); !r)
            return dbError(r.error());
        Statement mv = m_db->prepare("UPDATE messages SET folder_id = ? WHERE folder_id = ?");
        mv.bindInt(1, newId).bindInt(2, src->id);
        if (auto r = mv.exec(); !r)
            return dbError(r.error());
    } else {
        // Children are "<from>/…"; compared exactly (LIKE would fold ASCII case).
        Statement ren = m_db->prepare("UPDATE folders SET name = ? || substr(name, ?)"
                                      " WHERE name = ? OR substr(name, 1, ?) = ?");
        const int len = int(from.toUcs4().size()); // SQLite counts characters, not UTF-16 units
        ren.bindText(1, to).bindInt(2, len + 1).bindText(3, from).bindInt(4, len + 1).bindText(5, from + u'/');
        if (auto r = ren.exec(); !r)
            return r.error().code == int(DbError::Constraint)
                ? makeError(int(MailError::Exists), QStringLiteral("a folder below %1 already exists").arg(to))
                : dbError(r.error());
    }
    return tx.commit().ok() ? Result<void>() : Result<void>(dbError(m_db->lastError()));
}

Result<void> MailStore::setSubscribed(const QString &name, bool subscribed)
{
    Statement st = m_db->prepare("UPDATE folders SET subscribed = ? WHERE name = ?");
    st.bindInt(1, subscribed ? 1 : 0).bindText(2, name);
    if (auto r = st.exec(); !r)
        return dbError(r.error());
    if (m_db->changes() == 0)
        return makeError(int(MailError::NoSuchFolder), QStringLiteral("no folder named %1").arg(name));
    return {};
}

Result<qint64> MailStore::folderSize(qint64 folderId)
{
    Statement st = m_db->prepare("SELECT coalesce(sum(size), 0) FROM messages WHERE folder_id = ?");
    st.bindInt(1, folderId);
    if (!st.next())
        return dbError(st.error());
    return st.integer(0);
}

Result<qint64> MailStore::totalSize()
{
    Statement st = m_db->prepare("SELECT coalesce(sum(size), 0) FROM messages");
    if (!st.next())
        return dbError(st.error());
    return st.integer(0);
}

Result<MailStore::CopyResult> MailStore::copyMessages(qint64 fromFolderId, const QList<uint32_t> &uids,
                                                      const QString &toFolder, bool move)
{
    Transaction tx(*m_db);
    if (!tx.begun())
        return dbError(m_db->lastError());
    const auto target = appendTarget(toFolder);
    if (!target)
        return target.error();
    const qint64 toId = target->id;
    CopyResult result{target->uidValidity, {}};
    uint32_t next = target->uidNext;
    const qint64 modseq = qint64(target->highestModSeq) + 1;
    if (toId == fromFolderId && move)
        return makeError(int(MailError::Invalid), QStringLiteral("cannot move messages into their own folder"));
    std::optional<uint64_t> sourceModSeq;
    if (move) {
        auto bumped = bumpModSeq(fromFolderId);
        if (!bumped)
            return bumped.error();
        sourceModSeq = *bumped;
    }
    for (uint32_t uid : uids) {
        Statement cp = m_db->prepare(
            "INSERT INTO messages(folder_id, uid, modseq, internaldate, size, flags, blob_id, envelope, bodystructure, body,"
            " email_id, header_len, crlf_size) SELECT ?, ?, ?, internaldate, size, flags, blob_id, envelope,"
            " bodystructure, body, email_id, header_len, crlf_size"
            " FROM messages WHERE folder_id = ? AND uid = ?");
        cp.bindInt(1, toId).bindInt(2, next).bindInt(3, modseq).bindInt(4, fromFolderId).bindInt(5, uid);
        if (auto r = cp.exec(); !r)
            return dbError(r.error());
        if (m_db->changes() == 0)
            continue; // expunged meanwhile: nothing to copy
        result.uids.append({uid, next++});
        if (move) {
            Statement del = m_db->prepare("DELETE FROM messages WHERE folder_id = ? AND uid = ?");
            del.bindInt(1, fromFolderId).bindInt(2, uid);
            if (auto r = del.exec(); !r)
                return dbError(r.error());
            if (auto r = recordExpunge(fromFolderId, uid, *sourceModSeq); !r)
                return r.error();
        }
    }
    Statement up = m_db->prepare("UPDATE folders SET uidnext = ?, highestmodseq = ? WHERE id = ?");
    up.bindInt(1, next).bindInt(2, modseq).bindInt(3, toId);
    if (auto r = up.exec(); !r)
        return dbError(r.error());
    if (auto r = tx.commit(); !r)
        return dbError(r.error());
    return result;
}

} // namespace valv::store

namespace valv::store {

Result<QList<uint32_t>> MailStore::expungeUids(qint64 folderId, QList<uint32_t> uids)
{
    std::sort(uids.begin(), uids.end());
    uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
    Transaction tx(*m_db);
    if (!tx.begun())
        return dbError(m_db->lastError());
    QList<uint32_t> removed;
    QList<qint64> blobIds;
    std::optional<uint64_t> modseq;
    for (uint32_t uid : uids) {
        Statement sel = m_db->prepare("SELECT blob_id FROM messages WHERE folder_id = ? AND uid = ?");
        sel.bindInt(1, folderId).bindInt(2, uid);
        if (!sel.next()) {
            if (sel.failed())
                return dbError(sel.error());
            continue; // expunged meanwhile by another session
        }
        blobIds.append(sel.integer(0));
        sel.reset();
        if (!modseq) {
            const auto bumped = bumpModSeq(folderId);
            if (!bumped)
                return bumped.error();
            modseq = *bumped;
        }
        Statement del = m_db->prepare("DELETE FROM messages WHERE folder_id = ? AND uid = ?");
        del.bindInt(1, folderId).bindInt(2, uid);
        if (auto r = del.exec(); !r)
            return dbError(r.error());
        if (auto r = recordExpunge(folderId, uid, *modseq); !r)
            return r.error();
        removed.append(uid);
    }
    if (removed.isEmpty())
        return removed;
    if (auto r = dropBlobsIfUnused(blobIds); !r)
        return r.error();
    if (auto r = tx.commit(); !r)
        return dbError(r.error());
    return removed;
}

} // namespace valv::store
