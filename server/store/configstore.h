// SPDX-License-Identifier: AGPL-3.0-or-later
// ConfigStore: config.db — domains, users, aliases, settings, audit log.
//
// Implementation notes
// - One connection guarded by a mutex: every call is a few indexed statements, so
//   serialising them costs less than a connection per thread. Argon2 runs outside it.
// - Addresses are stored with the domain lower-cased; lookups are case-insensitive.
// - Each user's mailbox key is random and stored wrapped (ChaCha20-Poly1305) under the
//   key ring's wrap key, with the user id as associated data.
#pragma once

#include "result.h"
#include "store/database.h"
#include "store/keyring.h"

#include <QDateTime>
#include <QList>
#include <QMutex>
#include <QString>

#include <memory>

namespace valv::store {

enum class ConfigError { Db = 1, NoSuchDomain, NoSuchUser, NoSuchAlias, Exists, Invalid, NotLocal, Crypto, Loop,
                         BadCredentials, Disabled };

struct User {
    QString id;          // stable, names the mailbox file mail/<id>.db
    QString address;
    QByteArray passwordHash;
    qint64 quotaBytes = 0; // 0 = unlimited
    bool disabled = false;
};

struct Alias {
    QString source;       // "sales@example.org" or "@example.org" (catch-all)
    QList<QString> targets; // local users or aliases, and/or addresses at other domains (forwarding)
};

// Where mail for one address goes: local mailboxes and addresses elsewhere to forward to.
struct Resolution {
    QList<User> users;
    QList<QString> forward;
    [[nodiscard]] bool isEmpty() const { return users.isEmpty() && forward.isEmpty(); }
};

// Forwarding targets one alias may name (Forward Email's model; bounds amplification).
inline constexpr int kMaxForwardTargets = 10;

// A domain's DKIM signing key as stored: the private half is unwrapped on read.
struct DkimKeyRecord {
    QString selector;        // "valv-rsa", "valv-ed25519"
    QString algorithm;       // "rsa" or "ed25519" (the k= tag)
    QByteArray privateKeyPem; // PKCS#8
    QString publicTxt;       // "v=DKIM1; k=...; p=..."
};

struct AuditEntry {
    QDateTime at;
    QString actor;
    QString action;
    QString detail;
};

class ConfigStore {
public:
    [[nodiscard]] static Result<std::unique_ptr<ConfigStore>> open(const QString &dataDir, const KeyRing &keys,
                                                                   bool create = false);
    // The schema steps, exposed so tests can build an older schema.
    [[nodiscard]] static QList<QByteArray> migrations();

    [[nodiscard]] Result<void> addDomain(const QString &name);
    [[nodiscard]] Result<QList<QString>> domains();
    [[nodiscard]] bool isLocalDomain(const QString &name);

    // Creates the user with a fresh wrapped mailbox key. Mailbox file creation is the
    // MailStore's job (first open).
    [[nodiscard]] Result<User> addUser(const QString &address, const QByteArray &passwordHash);
    [[nodiscard]] Result<User> user(const QString &address);
    // A login, for every protocol: argon2id, so it blocks; call it on the thread pool.
    // An unknown address costs one verification too, so the time an answer takes does not
    // tell unknown users from wrong passwords. BadCredentials (unknown user, wrong
    // password) or Disabled (right password, disabled account).
    [[nodiscard]] Result<User> authenticate(const QString &address, const QByteArray &password);
    [[nodiscard]] Result<User> userById(const QString &id);
    [[nodiscard]] Result<QList<User>> users();
    [[nodiscard]] Result<void> setPassword(const QString &address, const QByteArray &passwordHash);
    [[nodiscard]] Result<User> removeUser(const QString &address);
    // 0 = unlimited.
    [[nodiscard]] Result<void> setQuota(const QString &address, qint64 bytes);
    [[nodiscard]] Result<QByteArray> mailboxKey(const QString &userId);

    [[nodiscard]] Result<void> addAlias(const Alias &alias);
    [[nodiscard]] Result<QList<Alias>> aliases();
    [[nodiscard]] Result<void> removeAlias(const QString &source);

    // Resolves a recipient: exact user, then alias, then the base address of a
    // subaddress (RFC 5233 user+tag@: the tag stays in the message's envelope and
    // headers), then the domain's catch-all; aliases may name aliases (depth-limited) and
    // addresses elsewhere (forwarding). NotLocal / NoSuchUser / Loop otherwise.
    [[nodiscard]] Result<Resolution> resolve(const QString &address);
    // resolve() for callers that deliver only locally: the local users; NoSuchUser when
    // the address only forwards.
    [[nodiscard]] Result<QList<User>> resolveRecipient(const QString &address);

    [[nodiscard]] Result<void> addDkimKey(const QString &domain, const DkimKeyRecord &key);
    [[nodiscard]] Result<QList<DkimKeyRecord>> dkimKeys(const QString &domain);

    // RFC 6409 §6.1 sender check: may `user` send as `address`? Its own address, its
    // subaddresses (user+tag@) and aliases that deliver to it; not a domain's catch-all.
    [[nodiscard]] Result<bool> mayUseAddress(const User &user, const QString &address);

    // A random 32-byte secret kept under `key` in the settings, made on first use (SRS).
    [[nodiscard]] Result<QByteArray> secret(const QString &key);

    [[nodiscard]] Result<QString> setting(const QString &key);
    [[nodiscard]] Result<void> setSetting(const QString &key, const QString &value);

    void audit(const QString &actor, const QString &action, const QString &detail);
    [[nodiscard]] Result<QList<AuditEntry>> auditLog(int limit = 100);

    // "Local@Example.ORG" -> "Local@example.org"; empty on a malformed address.
    [[nodiscard]] static QString normaliseAddress(const QString &address);
    // "a@Example.ORG" -> "example.org" (the part after the last '@', lower-cased).
    [[nodiscard]] static QString domainOf(const QString &address);

private:
    ConfigStore() = default;
    Result<User> readUser(Statement &st);
    Result<Resolution> resolveLocked(const QString &address, int depth);
    bool isLocalLocked(const QString &domain);
    std::unique_ptr<Database> m_db;
    QByteArray m_wrapKey;
    QMutex m_mutex;
};

} // namespace valv::store
