// SPDX-License-Identifier: AGPL-3.0-or-later
#include "store/database.h"

#include <QFile>
#include <QLoggingCategory>

#include <sqlite3.h>

Q_LOGGING_CATEGORY(lcStore, "valv.store")

namespace valv::store {

namespace {
DbError kindOf(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return DbError::Busy;
    case SQLITE_CONSTRAINT: return DbError::Constraint;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return DbError::Corrupt;
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN: return DbError::Io;
    default: return DbError::Sql;
    }
}
} // namespace

Statement &Statement::bind(int index, const QVariant &value)
{
    if (value.isNull())
        return bindNull(index);
    switch (value.typeId()) {
    case QMetaType::QByteArray: return bind(index, value.toByteArray());
    case QMetaType::Int:
    case QMetaType::UInt:
    case QMetaType::LongLong:
    case QMetaType::ULongLong:
    case QMetaType::Bool: return bindInt(index, value.toLongLong());
    default: return bindText(index, value.toString());
    }
}

Statement &Statement::bind(int index, const QByteArray &blob)
{
    if (m_stmt)
        sqlite3_bind_blob64(m_stmt, index, blob.isNull() ? "" : blob.constData(), sqlite3_uint64(blob.size()),
                            SQLITE_TRANSIENT);
    return *this;
}

Statement &Statement::bindText(int index, const QString &text)
{
    if (m_stmt) {
        const QByteArray utf8 = text.toUtf8();
        sqlite3_bind_text64(m_stmt, index, utf8.constData(), sqlite3_uint64(utf8.size()), SQLITE_TRANSIENT,
                            SQLITE_UTF8);
    }
    return *this;
}

Statement &Statement::bindInt(int index, qint64 value)
{
    if (m_stmt)
        sqlite3_bind_int64(m_stmt, index, value);
    return *this;
}

Statement &Statement::bindNull(int index)
{
    if (m_stmt)
        sqlite3_bind_null(m_stmt, index);
    return *this;
}

bool Statement::next()
{
    if (!m_stmt) {
        m_rc = SQLITE_MISUSE;
        return false;
    }
    const int rc = sqlite3_step(m_stmt);
    if (rc == SQLITE_ROW)
        return true;
    m_rc = rc == SQLITE_DONE ? 0 : rc;
    return false;
}

qint64 Statement::integer(int column) const { return sqlite3_column_int64(m_stmt, column); }

QString Statement::text(int column) const
{
    const auto *p = reinterpret_cast<const char *>(sqlite3_column_text(m_stmt, column));
    return QString::fromUtf8(p, sqlite3_column_bytes(m_stmt, column));
}

QByteArray Statement::blob(int column) const
{
    const void *p = sqlite3_column_blob(m_stmt, column);
    const int n = sqlite3_column_bytes(m_stmt, column);
    return p ? QByteArray(static_cast<const char *>(p), n) : QByteArray("");
}

bool Statement::isNull(int column) const { return sqlite3_column_type(m_stmt, column) == SQLITE_NULL; }

Result<void> Statement::exec()
{
    while (next()) {
    }
    if (m_rc != 0)
        return error();
    return {};
}

Error Statement::error() const
{
    if (!m_stmt)
        return makeError(int(DbError::Sql), QStringLiteral("statement failed to prepare"));
    sqlite3 *db = sqlite3_db_handle(m_stmt);
    return makeError(int(kindOf(m_rc)), QString::fromUtf8(sqlite3_errmsg(db)));
}

Statement::Statement(Statement &&other) noexcept : m_stmt(std::exchange(other.m_stmt, nullptr)), m_rc(other.m_rc) {}

Statement &Statement::operator=(Statement &&other) noexcept
{
    if (this != &other) {
        if (m_stmt)
            sqlite3_reset(m_stmt);
        m_stmt = std::exchange(other.m_stmt, nullptr);
        m_rc = other.m_rc;
    }
    return *this;
}

Statement::~Statement()
{
    if (m_stmt)
        sqlite3_reset(m_stmt);
}

void Statement::reset()
{
    if (m_stmt) {
        sqlite3_reset(m_stmt);
        sqlite3_clear_bindings(m_stmt);
    }
    m_rc = 0;
}

Database::~Database()
{
    closeBlob();
    for (sqlite3_stmt *st : std::as_const(m_statements))
        sqlite3_finalize(st); // every statement goes before the connection closes
    m_statements.clear();
    if (m_db)
        sqlite3_close_v2(m_db);
}

Result<std::unique_ptr<Database>> Database::open(const QString &path, const QByteArray &rawKey,
                                                 const DbOptions &options)
{
    if (rawKey.size() != 32)
        return makeError(int(DbError::Invalid), QStringLiteral("database key must be 32 bytes"));
    const bool existed = QFile::exists(path);
    if (!existed && !options.create)
        return makeError(int(DbError::NotFound), QStringLiteral("%1 does not exist").arg(path));

    std::unique_ptr<Database> db(new Database);
    db->m_path = path;
    const int flags = SQLITE_OPEN_READWRITE | (options.create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(QFile::encodeName(path).constData(), &db->m_db, flags, nullptr);
    if (rc != SQLITE_OK)
        return makeError(int(DbError::Open), QStringLiteral("cannot open %1: %2")
                                                 .arg(path, QString::fromUtf8(sqlite3_errstr(rc))));
    sqlite3_extended_result_codes(db->m_db, 1);
    sqlite3_busy_timeout(db->m_db, options.busyTimeoutMs);

    // Raw key: SQLCipher uses the bytes directly and skips PBKDF2.
    const QByteArray keyPragma = "PRAGMA key = \"x'" + rawKey.toHex() + "'\";";
    if (auto r = db->exec(keyPragma); !r)
        return r.error();
    if (auto r = db->exec("PRAGMA cipher_page_size = " + QByteArray::number(options.cipherPageSize) + ";"); !r)
        return r.error();
    // The first read proves the key: a wrong key reads as "file is not a database".
    rc = sqlite3_exec(db->m_db, "SELECT count(*) FROM sqlite_master;", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK)
        return makeError(int(DbError::WrongKey),
                         QStringLiteral("cannot read %1: wrong key or not a Valv database").arg(path));
    if (auto r = db->exec("PRAGMA cache_size = -" + QByteArray::number(options.cacheKiB) + ";"); !r)
        return r.error();
    for (const char *pragma : {"PRAGMA journal_mode = WAL;", "PRAGMA synchronous = FULL;",
                               "PRAGMA foreign_keys = ON;", "PRAGMA secure_delete = ON;"}) {
        if (auto r = db->exec(pragma); !r)
            return r.error();
    }
    return db;
}

Result<void> Database::exec(const QByteArray &sql)
{
    char *err = nullptr;
    const int rc = sqlite3_exec(m_db, sql.constData(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        Error e = makeError(int(kindOf(rc)), QString::fromUtf8(err ? err : sqlite3_errstr(rc)));
        sqlite3_free(err);
        return e;
    }
    return {};
}

Statement Database::prepare(const QByteArray &sql)
{
    if (sqlite3_stmt *cached = m_statements.value(sql)) {
        sqlite3_reset(cached);
        sqlite3_clear_bindings(cached);
        return Statement(cached);
    }
    sqlite3_stmt *raw = nullptr;
    const int rc = sqlite3_prepare_v2(m_db, sql.constData(), int(sql.size()), &raw, nullptr);
    if (rc != SQLITE_OK) {
        qCWarning(lcStore) << "prepare failed:" << sqlite3_errmsg(m_db) << sql;
        sqlite3_finalize(raw);
        return Statement(); // next() fails, error() says why
    }
    m_statements.insert(sql, raw);
    return Statement(raw);
}

Result<QByteArray> Database::readBlobPrefix(const char *table, const char *column, qint64 rowid, qint64 length)
{
    int rc = SQLITE_OK;
    if (m_blob && m_blobTable == table && m_blobColumn == column) {
        rc = sqlite3_blob_reopen(m_blob, rowid);
    } else {
        closeBlob();
        rc = sqlite3_blob_open(m_db, "main", table, column, rowid, 0, &m_blob);
        m_blobTable = table;
        m_blobColumn = column;
    }
    if (rc != SQLITE_OK) {
        Error e = makeError(int(kindOf(rc)), QString::fromUtf8(sqlite3_errmsg(m_db)));
        closeBlob();
        return e;
    }
    const int n = int(std::clamp<qint64>(length, 0, sqlite3_blob_bytes(m_blob)));
    QByteArray out(n, Qt::Uninitialized);
    rc = n > 0 ? sqlite3_blob_read(m_blob, out.data(), n, 0) : SQLITE_OK;
    // Outside a snapshot an open handle would hold a read transaction open.
    if (rc != SQLITE_OK || !m_inSnapshot)
        closeBlob();
    if (rc != SQLITE_OK)
        return makeError(int(kindOf(rc)), QString::fromUtf8(sqlite3_errstr(rc)));
    return out;
}

void Database::closeBlob()
{
    if (m_blob)
        sqlite3_blob_close(m_blob);
    m_blob = nullptr;
}

Result<void> Database::registerTokenizer(const char *name, const void *module)
{
    // SQLite >= 3.12 refuses fts3_tokenizer(name, pointer) unless the connection allows it.
    if (const int rc = sqlite3_db_config(m_db, SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER, 1, nullptr); rc != SQLITE_OK)
        return makeError(int(kindOf(rc)), QString::fromUtf8(sqlite3_errstr(rc)));
    sqlite3_stmt *st = nullptr;
    int rc = sqlite3_prepare_v2(m_db, "SELECT fts3_tokenizer(?, ?)", -1, &st, nullptr);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, &module, int(sizeof(module)), SQLITE_STATIC);
        rc = sqlite3_step(st);
        rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    Result<void> out;
    if (rc != SQLITE_OK)
        out = makeError(int(kindOf(rc)), QString::fromUtf8(sqlite3_errmsg(m_db)));
    sqlite3_finalize(st);
    return out;
}

qint64 Database::lastInsertId() const { return sqlite3_last_insert_rowid(m_db); }
int Database::changes() const { return sqlite3_changes(m_db); }

Error Database::lastError(DbError kind) const
{
    return makeError(int(kind), QString::fromUtf8(sqlite3_errmsg(m_db)));
}

int Database::schemaVersion()
{
    Statement st = prepare("PRAGMA user_version;");
    return st.next() ? int(st.integer(0)) : -1;
}

Result<int> Database::migrate(const QList<QByteArray> &steps)
{
    int version = schemaVersion();
    if (version < 0)
        return lastError();
    if (version > steps.size())
        return makeError(int(DbError::Invalid),
                         QStringLiteral("%1 has schema version %2, newer than this build knows (%3)")
                             .arg(m_path).arg(version).arg(steps.size()));
    for (; version < steps.size(); ++version) {
        Transaction tx(*this);
        if (!tx.begun())
            return lastError();
        if (auto r = exec(steps[version]); !r)
            return makeError(r.error().code, QStringLiteral("migration %1 failed: %2").arg(version + 1).arg(r.error().message));
        if (auto r = exec("PRAGMA user_version = " + QByteArray::number(version + 1) + ";"); !r)
            return r.error();
        if (auto r = tx.commit(); !r)
            return r.error();
        qCInfo(lcStore) << "migrated" << m_path << "to schema version" << version + 1;
    }
    return version;
}

ReadSnapshot::ReadSnapshot(Database &db, bool enabled) : m_db(db)
{
    if (!enabled || m_db.m_inSnapshot)
        return; // nested: the outer one holds the snapshot
    m_begun = bool(m_db.exec("BEGIN;"));
    m_db.m_inSnapshot = m_begun;
}

ReadSnapshot::~ReadSnapshot()
{
    if (!m_begun)
        return;
    m_db.closeBlob();
    m_db.m_inSnapshot = false;
    if (!m_db.exec("COMMIT;"))
        (void)m_db.exec("ROLLBACK;");
}

Transaction::Transaction(Database &db) : m_db(db) { m_begun = bool(m_db.exec("BEGIN IMMEDIATE;")); }

Transaction::~Transaction()
{
    if (m_begun && !m_done)
        (void)m_db.exec("ROLLBACK;");
}

Result<void> Transaction::commit()
{
    if (!m_begun)
        return makeError(int(DbError::Sql), QStringLiteral("transaction was not begun"));
    m_done = true;
    auto r = m_db.exec("COMMIT;");
    if (!r)
        (void)m_db.exec("ROLLBACK;");
    return r;
}

} // namespace valv::store
