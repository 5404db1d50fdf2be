// SPDX-License-Identifier: AGPL-3.0-or-later
// The one SQLCipher module. Every SQLite call in valvd goes through here: Qt's QSQLITE
// plugin must never load (libsqlite3 and libsqlcipher export the same symbols).
//
// Implementation notes
// - A Database is one connection, used by one thread at a time (the owner's).
// - Files are keyed with a raw 256-bit key (x'…'), so opening costs no PBKDF2.
// - WAL + synchronous=FULL: a commit that returned is on disk (the durability
//   promise behind SMTP 250 / IMAP APPEND OK).
// - Prepared statements are cached per SQL text for the connection's lifetime.
#pragma once

#include "result.h"

#include <QByteArray>
#include <QHash>
#include <QString>
#include <QVariant>

#include <memory>

struct sqlite3;
struct sqlite3_blob;
struct sqlite3_stmt;

namespace valv::store {

enum class DbError { Open = 1, WrongKey, Sql, Busy, Constraint, NotFound, Corrupt, Io, Exists, Invalid };

struct DbOptions {
    // config.db: small rows, random access. Mailbox files use MailStore::kPageSize.
    // A file must always be reopened with the page size it was created with.
    int cipherPageSize = 4096;
    int busyTimeoutMs = 10000;
    // Page cache per connection. Long-lived session connections use a small one: mail
    // is read once per FETCH, and a thousand idle sessions must not hold megabytes each.
    int cacheKiB = 2000;
    bool create = true;
};

// A handle on a cached prepared statement. When the handle goes, the statement is
// reset: a statement left mid-result would hold its read snapshot open, and this
// connection would never see what other connections commit.
class Statement {
public:
    Statement() = default;
    explicit Statement(sqlite3_stmt *stmt) : m_stmt(stmt) {}
    Statement(Statement &&other) noexcept;
    Statement &operator=(Statement &&other) noexcept;
    Statement(const Statement &) = delete;
    Statement &operator=(const Statement &) = delete;
    ~Statement();

    Statement &bind(int index, const QVariant &value); // 1-based
    Statement &bind(int index, const QByteArray &blob);
    Statement &bindText(int index, const QString &text);
    Statement &bindInt(int index, qint64 value);
    Statement &bindNull(int index);
    // Steps once. true = a row is available; false = done (check error()).
    [[nodiscard]] bool next();
    [[nodiscard]] qint64 integer(int column) const;
    [[nodiscard]] QString text(int column) const;
    [[nodiscard]] QByteArray blob(int column) const;
    [[nodiscard]] bool isNull(int column) const;
    // Run to completion (for statements without rows).
    [[nodiscard]] Result<void> exec();
    [[nodiscard]] bool failed() const { return m_rc != 0; }
    [[nodiscard]] Error error() const;
    void reset();

private:
    sqlite3_stmt *m_stmt = nullptr;
    int m_rc = 0; // last non-row, non-done sqlite result code
};

class Database {
public:
    ~Database();
    Database(const Database &) = delete;
    Database &operator=(const Database &) = delete;

    [[nodiscard]] static Result<std::unique_ptr<Database>> open(const QString &path, const QByteArray &rawKey,
                                                                const DbOptions &options = {});

    [[nodiscard]] Result<void> exec(const QByteArray &sql);
    // A cached statement, reset and unbound. The handle must not outlive the Database,
    // and one SQL text must not be in use by two handles at once.
    [[nodiscard]] Statement prepare(const QByteArray &sql);
    [[nodiscard]] qint64 lastInsertId() const;
    [[nodiscard]] int changes() const;
    [[nodiscard]] Error lastError(DbError kind = DbError::Sql) const;
    [[nodiscard]] QString path() const { return m_path; }
    // The first `length` bytes of one BLOB value (incremental blob I/O): only the pages
    // holding those bytes are read and decrypted, not the whole overflow chain. Inside a
    // ReadSnapshot the blob handle is kept and moved from row to row (sqlite3_blob_open
    // compiles a statement each time; sqlite3_blob_reopen does not).
    [[nodiscard]] Result<QByteArray> readBlobPrefix(const char *table, const char *column, qint64 rowid,
                                                    qint64 length);
    // Registers an FTS3/FTS4 tokenizer module (an sqlite3_tokenizer_module, see
    // store/searchindex.h) under `name` for this connection.
    [[nodiscard]] Result<void> registerTokenizer(const char *name, const void *module);

    // Schema migrations: `steps[i]` brings the schema from version i to i+1. Each step
    // runs in its own transaction with the version bump, so a failure leaves the last
    // good version. The version lives in PRAGMA user_version.
    [[nodiscard]] Result<int> migrate(const QList<QByteArray> &steps);
    [[nodiscard]] int schemaVersion();

private:
    friend class ReadSnapshot;
    Database() = default;
    void closeBlob();
    sqlite3 *m_db = nullptr;
    sqlite3_blob *m_blob = nullptr; // kept only inside a ReadSnapshot
    QByteArray m_blobTable, m_blobColumn;
    bool m_inSnapshot = false;
    QString m_path;
    QHash<QByteArray, sqlite3_stmt *> m_statements; // finalized in the destructor
};

// One read transaction (BEGIN … COMMIT) around several reads: one snapshot and one
// WAL read lock for all of them instead of one per statement. Only for code that does
// not write meanwhile (a Transaction inside it would fail to begin).
class ReadSnapshot {
public:
    // enabled = false: a no-op (for code that decides at run time).
    explicit ReadSnapshot(Database &db, bool enabled = true);
    ~ReadSnapshot();
    ReadSnapshot(const ReadSnapshot &) = delete;
    ReadSnapshot &operator=(const ReadSnapshot &) = delete;

private:
    Database &m_db;
    bool m_begun = false;
};

// BEGIN IMMEDIATE … COMMIT, rolled back unless commit() succeeded.
class Transaction {
public:
    explicit Transaction(Database &db);
    ~Transaction();
    [[nodiscard]] bool begun() const { return m_begun; }
    [[nodiscard]] Result<void> commit();

private:
    Database &m_db;
    bool m_begun = false;
    bool m_done = false;
};

} // namespace valv::store
