// SPDX-License-Identifier: AGPL-3.0-or-later
#include "store/configstore.h"

#include "store/crypto.h"

#include <QDir>
#include <QMutexLocker>

namespace valv::store {

namespace {
constexpr int kMaxAliasDepth = 8;

Error dbError(const Error &e) { return makeError(int(ConfigError::Db), e.message); }
qint64 now() { return QDateTime::currentSecsSinceEpoch(); }
} // namespace

QList<QByteArray> ConfigStore::migrations()
{
    return {
        // 1: the base schema.
        "CREATE TABLE domains(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE,"
        " created INTEGER NOT NULL);"
        "CREATE TABLE users(id TEXT PRIMARY KEY, address TEXT NOT NULL UNIQUE COLLATE NOCASE,"
        " domain_id INTEGER NOT NULL REFERENCES domains(id), password_hash TEXT NOT NULL,"
        " mailbox_key BLOB NOT NULL, quota_bytes INTEGER NOT NULL DEFAULT 0,"
        " disabled INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);"
        "CREATE TABLE aliases(id INTEGER PRIMARY KEY, source TEXT NOT NULL UNIQUE COLLATE NOCASE,"
        " domain_id INTEGER NOT NULL REFERENCES domains(id), targets TEXT NOT NULL, created INTEGER NOT NULL);"
        "CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);",
        // 2: every change of state is audited (who, what, when).
        "CREATE TABLE audit_log(id INTEGER PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL,"
        " action TEXT NOT NULL, detail TEXT NOT NULL);",
        // 3: DKIM signing keys, several per domain (one per algorithm; rotation adds more).
        // The PKCS#8 PEM is wrapped under the key ring's wrap key, bound to domain and selector.
        "CREATE TABLE dkim_keys(id INTEGER PRIMARY KEY, domain_id INTEGER NOT NULL REFERENCES domains(id)"
        " ON DELETE CASCADE, selector TEXT NOT NULL, algorithm TEXT NOT NULL, private_key BLOB NOT NULL,"
        " public_txt TEXT NOT NULL, created INTEGER NOT NULL, UNIQUE(domain_id, selector));",
    };
}

Result<std::unique_ptr<ConfigStore>> ConfigStore::open(const QString &dataDir, const KeyRing &keys, bool create)
{
    DbOptions opts;
    opts.create = create;
    auto db = Database::open(QDir(dataDir).filePath(QStringLiteral("config.db")), keys.configDbKey(), opts);
    if (!db)
        return db.error();
    if (auto m = (*db)->migrate(migrations()); !m)
        return m.error();
    std::unique_ptr<ConfigStore> s(new ConfigStore);
    s->m_db = std::move(*db);
    s->m_wrapKey = keys.mailboxWrapKey();
    return s;
}

QString ConfigStore::domainOf(const QString &address)
{
    return address.mid(address.lastIndexOf(u'@') + 1).toLower();
}

QString ConfigStore::normaliseAddress(const QString &address)
{
    const QString a = address.trimmed();
    const qsizetype at = a.lastIndexOf(u'@');
    if (at < 0 || at == a.size() - 1)
        return {};
    if (a.contains(u' ') || a.contains(u'\n') || a.contains(u'\r'))
        return {};
    return a.left(at) + u'@' + a.mid(at + 1).toLower();
}

Result<void> ConfigStore::addDomain(const QString &name)
{
    const QString d = name.trimmed().toLower();
    if (d.isEmpty() || d.contains(u'@') || d.contains(u' ') || !d.contains(u'.'))
        return makeError(int(ConfigError::Invalid), QStringLiteral("'%1' is not a domain name").arg(name));
    QMutexLocker lock(&m_mutex);
    Statement st = m_db->prepare("INSERT INTO domains(name, created) VALUES(?, ?)");
    st.bindText(1, d).bindInt(2, now());
    if (auto r = st.exec(); !r)
        return r.error().code == int(DbError::Constraint)
            ? makeError(int(ConfigError::Exists), QStringLiteral("domain %1 already exists").arg(d))
            : dbError(r.error());
    return {};
}

Result<QList<QString>> ConfigStore::domains()
{
    QMutexLocker lock(&m_mutex);
    Statement st = m_db->prepare("SELECT name FROM domains ORDER BY name");
    QList<QString> out;
    while (st.next())
        out.append(st.text(0));
    if (st.failed())
        return dbError(st.error());
    return out;
}

bool ConfigStore::isLocalDomain(const QString &name)
{
    QMutexLocker lock(&m_mutex);
    return isLocalLocked(name.toLower());
}

Result<User> ConfigStore::addUser(const QString &address, const QByteArray &passwordHash)
{
    const QString a = normaliseAddress(address);
    if (a.isEmpty() || a.startsWith(u'@'))
        return makeError(int(ConfigError::Invalid), QStringLiteral("'%1' is not an address").arg(address));
    QMutexLocker lock(&m_mutex);
    Statement dom = m_db->prepare("SELECT id FROM domains WHERE name = ?");
    dom.bindText(1, domainOf(a));
    if (!dom.next())
        return makeError(int(ConfigError::NoSuchDomain),
                         QStringLiteral("domain %1 is not a local domain; add it first").arg(domainOf(a)));
    const qint64 domainId = dom.integer(0);
    Statement alias = m_db->prepare("SELECT targets FROM aliases WHERE source = ?");
    alias.bindText(1, a);
    if (alias.next()) {
        // The automatic postmaster alias (below) gives way to a real postmaster mailbox.
        if (!a.startsWith(QLatin1String("postmaster@"), Qt::CaseInsensitive))
            return makeError(int(ConfigError::Exists), QStringLiteral("%1 is already an alias").arg(a));
        alias.reset();
        Statement drop = m_db->prepare("DELETE FROM aliases WHERE source = ?");
        drop.bindText(1, a);
        if (auto r = drop.exec(); !r)
            return dbError(r.error());
    }

    User u;
    u.id = QString::fromLatin1(randomBytes(12).toHex());
    u.address = a;
    u.passwordHash = passwordHash;
    auto wrapped = wrapKey(m_wrapKey, randomBytes(kKeySize), u.id.toUtf8());
    if (!wrapped)
        return makeError(int(ConfigError::Crypto), wrapped.error().message);
    Statement st = m_db->prepare("INSERT INTO users(id, address, domain_id, password_hash, mailbox_key, created)"
                                  " VALUES(?, ?, ?, ?, ?, ?)");
    st.bindText(1, u.id).bindText(2, a).bindInt(3, domainId).bindText(4, QString::fromLatin1(passwordHash));
    st.bind(5, *wrapped).bindInt(6, now());
    if (auto r = st.exec(); !r)
        return r.error().code == int(DbError::Constraint)
            ? makeError(int(ConfigError::Exists), QStringLiteral("user %1 already exists").arg(a))
            : dbError(r.error());
    // RFC 5321 §4.5.1: every domain must accept mail for postmaster. Until the owner
    // says otherwise, the domain's first mailbox receives it.
    const QString postmaster = QStringLiteral("postmaster@") + domainOf(a);
    Statement pm = m_db->prepare("SELECT 1 FROM users WHERE address = ? UNION ALL SELECT 1 FROM aliases WHERE source = ?");
    pm.bindText(1, postmaster).bindText(2, postmaster);
    if (!pm.next() && a.compare(postmaster, Qt::CaseInsensitive) != 0) {
        Statement add = m_db->prepare("INSERT INTO aliases(source, domain_id, targets, created) VALUES(?, ?, ?, ?)");
        add.bindText(1, postmaster).bindInt(2, domainId).bindText(3, a).bindInt(4, now());
        if (auto r = add.exec(); !r)
            return dbError(r.error());
    }
    return u;
}

Result<User> ConfigStore::readUser(Statement &st)
{
    if (!st.next())
        return st.failed() ? dbError(st.error()) : makeError(int(ConfigError::NoSuchUser), QStringLiteral("no such user"));
    User u;
    u.id = st.text(0);
    u.address = st.text(1);
    u.passwordHash = st.text(2).toLatin1();
    u.quotaBytes = st.integer(3);
    u.disabled = st.integer(4) != 0;
    return u;
}

#define VALV_USER_COLUMNS "id, address, password_hash, quota_bytes, disabled"

Result<User> ConfigStore::user(const QString &address)
{
    QMutexLocker lock(&m_mutex);
    Statement st = m_db->prepare("SELECT " VALV_USER_COLUMNS " FROM users WHERE address = ?");
    st.bindText(1, normaliseAddress(address));
    return readUser(st);
}

Result<User> ConfigStore::authenticate(const QString &address, const QByteArray &password)
{
    auto found = user(address);
    static const QByteArray dummy = *hashPassword("valv-timing-equaliser");
    const bool good = found ? verifyPassword(found->passwordHash, password)
                            : (void(verifyPassword(dummy, password)), false);
    if (!good)
        return makeError(int(ConfigError::BadCredentials), QStringLiteral("bad credentials"));
    if (found->disabled)
        return makeError(int(ConfigError::Disabled), QStringLiteral("disabled"));
    return found;
}

Result<User> ConfigStore::userById(const QString &id)
{
    QMutexLocker lock(&m_mutex);
    Statement st = m_db->prepare("SELECT " VALV_USER_COLUMNS " FROM users WHERE id = ?");
    st.bindText(1, id);
    return readUser(st);
}

Result<QList<User>> ConfigStore::users()
{
    QMutexLocker lock(&m_mutex);
    Statement st = m_db->prepare("SELECT " VALV_USER_COLUMNS " FROM users ORDER BY address");
    QList<User> out;
    for (;;) {
        auto u = readUser(st);
        if (!u)
            return u.error().code == int(ConfigError::NoSuchUser) ? Result<QList<User>>(out) : u.error();
        out.append(*u);
    }
}

Result<void> ConfigStore::setPassword(const QString &address, const QByteArray &passwordHash)
{
    QMutexLocker lock(&m_mutex);
    Statement st = m_db->prepare("UPDATE users SET password_hash = ? WHERE address = ?");
    st.bindText(1, QString::fromLatin1(passwordHash)).bindText(2, normaliseAddress(address));
    if (auto r = st.exec(); !r)
        return dbError(r.error());
    if (m_db->changes() == 0)
        return makeError(int(ConfigError::NoSuchUser), QStringLiteral("no such user: %1").arg(address));
    return {};
}

Result<void> ConfigStore::setQuota(const QString &address, qint64 bytes)
{
    if (bytes < 0)
        return makeError(int(ConfigError::Invalid), QStringLiteral("a quota cannot be negative"));
    QMutexLocker lock(&m_mutex);
    Statement st = m_db->prepare("UPDATE users SET quota_bytes = ? WHERE address = ?");
    st.bindInt(1, bytes).bindText(2, normaliseAddress(address));
    if (auto r = st.exec(); !r)
        return dbError(r.error());
    if (m_db->changes() == 0)
        return makeError(int(ConfigError::NoSuchUser), QStringLiteral("no such user: %1").arg(address));
    return {};
}

Result<User> ConfigStore::removeUser(const QString &address)
{
    auto u = user(address);
    if (!u)
        return u.error();
    QMutexLocker lock(&m_mutex);
    Statement st = m_db->prepare("DELETE FROM users WHERE id = ?");
    st.bindText(1, u->id);
    if (auto r = st.exec(); !r)
        return dbError(r.error());
    return u;
}

Result<QByteArray> ConfigStore::mailboxKey(const QString &userId)
{
    QMutexLocker lock(&m_mutex);
    Statement st = m_db->prepare("SELECT mailbox_key FROM users WHERE id = ?");
    st.bindText(1, userId);
    if (!st.next())
        return makeError(int(ConfigError::NoSuchUser), QStringLiteral("no such user id"));
    auto key = unwrapKey(m_wrapKey, st.blob(0), userId.toUtf8());
    if (!key)
        return makeError(int(ConfigError::Crypto), key.error().message);
    return *key;
}

Result<void> ConfigStore::addAlias(const Alias &alias)
{
    const bool catchAll = alias.source.startsWith(u'@');
    const QString source = catchAll ? alias.source.toLower() : normaliseAddress(alias.source);
    if (source.isEmpty() || alias.targets.isEmpty())
        return makeError(int(ConfigError::Invalid), QStringLiteral("an alias needs a source address and targets"));
    QList<QString> targets;
    for (const QString &t : alias.targets) {
        const QString n = normaliseAddress(t);
        if (n.isEmpty() || n.startsWith(u'@'))
            return makeError(int(ConfigError::Invalid), QStringLiteral("'%1' is not an address").arg(t));
        targets.append(n);
    }
    QMutexLocker lock(&m_mutex);
    Statement dom = m_db->prepare("SELECT id FROM domains WHERE name = ?");
    dom.bindText(1, domainOf(source));
    if (!dom.next())
        return makeError(int(ConfigError::NoSuchDomain),
                         QStringLiteral("domain %1 is not a local domain").arg(domainOf(source)));
    const qint64 domainId = dom.integer(0);
    int external = 0;
    for (const QString &t : targets) {
        Statement local = m_db->prepare("SELECT 1 FROM domains WHERE name = ?");
        local.bindText(1, domainOf(t));
        if (!local.next())
            ++external;
    }
    if (external > kMaxForwardTargets)
        return makeError(int(ConfigError::Invalid),
                         QStringLiteral("an alias may forward to at most %1 addresses elsewhere").arg(kMaxForwardTargets));
    Statement user = m_db->prepare("SELECT 1 FROM users WHERE address = ?");
    user.bindText(1, source);
    if (user.next())
        return makeError(int(ConfigError::Exists), QStringLiteral("%1 is already a user").arg(source));
    Statement st = m_db->prepare("INSERT INTO aliases(source, domain_id, targets, created) VALUES(?, ?, ?, ?)");
    st.bindText(1, source).bindInt(2, domainId).bindText(3, targets.join(u',')).bindInt(4, now());
    if (auto r = st.exec(); !r)
        return r.error().code == int(DbError::Constraint)
            ? makeError(int(ConfigError::Exists), QStringLiteral("alias %1 already exists").arg(source))
            : dbError(r.error());
    return {};
}

Result<QList<Alias>> ConfigStore::aliases()
{
    QMutexLocker lock(&m_mutex);
    Statement st = m_db->prepare("SELECT source, targets FROM aliases ORDER BY source");
    QList<Alias> out;
    while (st.next())
        out.append(Alias{st.text(0), st.text(1).split(u',', Qt::SkipEmptyParts)});
    if (st.failed())
        return dbError(st.error());
    return out;
}

Result<void> ConfigStore::removeAlias(const QString &source)
{
    QMutexLocker lock(&m_mutex);
    Statement st = m_db->prepare("DELETE FROM aliases WHERE source = ?");
    st.bindText(1, source.startsWith(u'@') ? source.toLower() : normaliseAddress(source));
    if (auto r = st.exec(); !r)
        return dbError(r.error());
    if (m_db->changes() == 0)
        return makeError(int(ConfigError::NoSuchAlias), QStringLiteral("no such alias: %1").arg(source));
    return {};
}

Result<Resolution> ConfigStore::resolve(const QString &address)
{
    const QString a = normaliseAddress(address);
    if (a.isEmpty() || a.startsWith(u'@'))
        return makeError(int(ConfigError::Invalid), QStringLiteral("malformed address"));
    QMutexLocker lock(&m_mutex);
    if (!isLocalLocked(domainOf(a)))
        return makeError(int(ConfigError::NotLocal), QStringLiteral("%1 is not a local domain").arg(domainOf(a)));
    return resolveLocked(a, 0);
}

Result<QList<User>> ConfigStore::resolveRecipient(const QString &address)
{
    auto r = resolve(address);
    if (!r)
        return r.error();
    if (r->users.isEmpty())
        return makeError(int(ConfigError::NoSuchUser), QStringLiteral("%1 only forwards elsewhere").arg(address));
    return r->users;
}

Result<Resolution> ConfigStore::resolveLocked(const QString &a, int depth)
{
    if (depth > kMaxAliasDepth)
        return makeError(int(ConfigError::Loop), QStringLiteral("alias nesting too deep (loop?)"));
    if (!isLocalLocked(domainOf(a)))
        return Resolution{{}, {a}}; // an address elsewhere: forward to it
    {
        Statement st = m_db->prepare("SELECT " VALV_USER_COLUMNS " FROM users WHERE address = ?");
        st.bindText(1, a);
        if (auto u = readUser(st))
            return u->disabled ? Result<Resolution>(makeError(int(ConfigError::NoSuchUser), QStringLiteral("mailbox disabled")))
                               : Result<Resolution>(Resolution{{*u}, {}});
    }
    QString targets;
    {
        Statement st = m_db->prepare("SELECT targets FROM aliases WHERE source = ?");
        st.bindText(1, a);
        if (st.next())
            targets = st.text(0);
    }
    if (targets.isEmpty() && depth == 0) {
        // RFC 5233 subaddress: user+tag@ goes where user@ goes.
        const qsizetype plus = a.indexOf(u'+');
        const qsizetype at = a.lastIndexOf(u'@');
        if (plus > 0 && plus < at) {
            auto base = resolveLocked(a.left(plus) + a.mid(at), 1);
            if (base || base.error().code == int(ConfigError::Loop))
                return base;
        }
        // A catch-all applies to the original address only.
        Statement st = m_db->prepare("SELECT targets FROM aliases WHERE source = ?");
        st.bindText(1, u'@' + domainOf(a));
        if (st.next())
            targets = st.text(0);
    }
    if (targets.isEmpty())
        return makeError(int(ConfigError::NoSuchUser), QStringLiteral("no mailbox here by that name"));
    Resolution out;
    for (const QString &t : targets.split(u',', Qt::SkipEmptyParts)) {
        auto r = resolveLocked(t, depth + 1);
        if (!r) {
            if (r.error().code == int(ConfigError::Loop))
                return r.error();
            continue; // a stale target does not make the whole alias fail
        }
        for (const User &u : std::as_const(r->users)) {
            if (std::none_of(out.users.begin(), out.users.end(), [&](const User &x) { return x.id == u.id; }))
                out.users.append(u);
        }
        for (const QString &f : std::as_const(r->forward)) {
            if (!out.forward.contains(f, Qt::CaseInsensitive))
                out.forward.append(f);
        }
    }
    if (out.isEmpty())
        return makeError(int(ConfigError::NoSuchUser), QStringLiteral("alias has no deliverable target"));
    return out;
}

bool ConfigStore::isLocalLocked(const QString &domain)
{
    Statement st = m_db->prepare("SELECT 1 FROM domains WHERE name = ?");
    st.bindText(1, domain);
    return st.next();
}

namespace {
QByteArray dkimKeyContext(const QString &domain, const QString &selector)
{
    return "dkim:" + domain.toUtf8() + ':' + selector.toUtf8();
}
} // namespace

Result<void> ConfigStore::addDkimKey(const QString &domain, const DkimKeyRecord &key)
{
    const QString d = domain.trimmed().toLower();
    auto wrapped = wrapKey(m_wrapKey, key.privateKeyPem, dkimKeyContext(d, key.selector));
    if (!wrapped)
        return makeError(int(ConfigError::Crypto), wrapped.error().message);
    QMutexLocker lock(&m_mutex);
    Statement dom = m_db->prepare("SELECT id FROM domains WHERE name = ?");
    dom.bindText(1, d);
    if (!dom.next())
        return makeError(int(ConfigError::NoSuchDomain), QStringLiteral("domain %1 is not a local domain").arg(d));
    Statement st = m_db->prepare("INSERT INTO dkim_keys(domain_id, selector, algorithm, private_key, public_txt, created)"
                                  " VALUES(?, ?, ?, ?, ?, ?)");
    st.bindInt(1, dom.integer(0)).bindText(2, key.selector).bindText(3, key.algorithm);
    st.bind(4, *wrapped).bindText(5, key.publicTxt).bindInt(6, now());
    if (auto r = st.exec(); !r)
        return r.error().code == int(DbError::Constraint)
            ? makeError(int(ConfigError::Exists), QStringLiteral("selector %1 exists for %2").arg(key.selector, d))
            : dbError(r.error());
    return {};
}

Result<QList<DkimKeyRecord>> ConfigStore::dkimKeys(const QString &domain)
{
    const QString d = domain.trimmed().toLower();
    QMutexLocker lock(&m_mutex);
    Statement st = m_db->prepare("SELECT k.selector, k.algorithm, k.private_key, k.public_txt FROM dkim_keys k"
                                  " JOIN domains d ON d.id = k.domain_id WHERE d.name = ? ORDER BY k.id");
    st.bindText(1, d);
    QList<DkimKeyRecord> out;
    while (st.next()) {
        DkimKeyRecord k{st.text(0), st.text(1), {}, st.text(3)};
        auto pem = unwrapKey(m_wrapKey, st.blob(2), dkimKeyContext(d, k.selector));
        if (!pem)
            return makeError(int(ConfigError::Crypto), QStringLiteral("DKIM key %1 of %2: %3").arg(k.selector, d, pem.error().message));
        k.privateKeyPem = *pem;
        out.append(k);
    }
    if (st.failed())
        return dbError(st.error());
    return out;
}

Result<bool> ConfigStore::mayUseAddress(const User &user, const QString &address)
{
    QString a = normaliseAddress(address);
    if (a.isEmpty() || a.startsWith(u'@')) // "@domain" is a catch-all's source, not an address
        return false;
    if (a.compare(user.address, Qt::CaseInsensitive) == 0)
        return true;
    // Subaddresses (RFC 5233: user+tag@) belong to the user.
    const qsizetype plus = a.indexOf(u'+');
    const qsizetype at = a.lastIndexOf(u'@');
    if (plus > 0 && plus < at) {
        a = a.left(plus) + a.mid(at);
        if (a.compare(user.address, Qt::CaseInsensitive) == 0)
            return true;
    }
    QMutexLocker lock(&m_mutex);
    Statement st = m_db->prepare("SELECT 1 FROM aliases WHERE source = ?");
    st.bindText(1, a);
    if (!st.next())
        return st.failed() ? Result<bool>(dbError(st.error())) : Result<bool>(false);
    // An alias (not a catch-all) whose expansion delivers to this user.
    auto where = resolveLocked(a, 0);
    if (!where)
        return false;
    return std::any_of(where->users.begin(), where->users.end(), [&](const User &u) { return u.id == user.id; });
}

Result<QByteArray> ConfigStore::secret(const QString &key)
{
    QMutexLocker lock(&m_mutex);
    Statement get = m_db->prepare("SELECT value FROM settings WHERE key = ?");
    get.bindText(1, key);
    if (get.next())
        return QByteArray::fromHex(get.text(0).toLatin1());
    get.reset();
    const QByteArray made = randomBytes(32);
    // INSERT OR IGNORE, then read back: two processes making one at once agree on one.
    Statement put = m_db->prepare("INSERT OR IGNORE INTO settings(key, value) VALUES(?, ?)");
    put.bindText(1, key).bindText(2, QString::fromLatin1(made.toHex()));
    if (auto r = put.exec(); !r)
        return dbError(r.error());
    put.reset();
    get.bindText(1, key);
    if (!get.next())
        return dbError(get.error());
    return QByteArray::fromHex(get.text(0).toLatin1());
}

Result<QString> ConfigStore::setting(const QString &key)
{
    QMutexLocker lock(&m_mutex);
    Statement st = m_db->prepare("SELECT value FROM settings WHERE key = ?");
    st.bindText(1, key);
    if (!st.next())
        return makeError(int(ConfigError::Invalid), QStringLiteral("no setting %1").arg(key));
    return st.text(0);
}

Result<void> ConfigStore::setSetting(const QString &key, const QString &value)
{
    QMutexLocker lock(&m_mutex);
    // SQLCipher 3.4 is SQLite 3.15: no UPSERT; REPLACE is equivalent for a key-value row.
    Statement st = m_db->prepare("INSERT OR REPLACE INTO settings(key, value) VALUES(?, ?)");
    st.bindText(1, key).bindText(2, value);
    if (auto r = st.exec(); !r)
        return dbError(r.error());
    return {};
}

void ConfigStore::audit(const QString &actor, const QString &action, const QString &detail)
{
    QMutexLocker lock(&m_mutex);
    Statement st = m_db->prepare("INSERT INTO audit_log(at, actor, action, detail) VALUES(?, ?, ?, ?)");
    st.bindInt(1, now()).bindText(2, actor).bindText(3, action).bindText(4, detail);
    (void)st.exec();
}

Result<QList<AuditEntry>> ConfigStore::auditLog(int limit)
{
    QMutexLocker lock(&m_mutex);
    Statement st = m_db->prepare("SELECT at, actor, action, detail FROM audit_log ORDER BY id DESC LIMIT ?");
    st.bindInt(1, limit);
    QList<AuditEntry> out;
    while (st.next())
        out.append(AuditEntry{QDateTime::fromSecsSinceEpoch(st.integer(0)), st.text(1), st.text(2), st.text(3)});
    if (st.failed())
        return dbError(st.error());
    return out;
}

} // namespace valv::store
