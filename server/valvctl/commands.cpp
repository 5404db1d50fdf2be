// SPDX-License-Identifier: AGPL-3.0-or-later
#include "valvctl/commands.h"

#include "core/tls.h"
#include "outbound/signer.h"
#include "store/configstore.h"
#include "store/crypto.h"
#include "store/keyring.h"
#include "store/mailstorecache.h"
#include "store/queuestore.h"
#include "valv/version.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSslConfiguration>

#include <cstdio>
#include <unistd.h>

namespace valv::ctl {

namespace {
constexpr char kUsage[] =
    "Usage: valvctl [--datadir DIR] COMMAND ...\n"
    "The data dir defaults to $VALV_DATADIR, else /var/lib/valv.\n\n"
    "  init [--hostname H] [--demo-domain D] [--demo-user NAME] [--demo-password PW] [--no-demo]\n"
    "      create master key, config.db, self-signed TLS certificate, and a demo domain and user\n"
    "  domain add NAME | domain list\n"
    "      adding a domain generates its DKIM keys (Ed25519 and RSA-2048)\n"
    "  domain dkim NAME [--json]     the DNS TXT records that publish the domain's DKIM keys\n"
    "  user add ADDRESS [--password PW] | user list | user passwd ADDRESS [--password PW] | user del ADDRESS\n"
    "      a password is generated and printed when none is given\n"
    "  user quota ADDRESS BYTES      storage limit of the mailbox; 0 = unlimited (K, M, G suffixes allowed)\n"
    "  alias add SOURCE TARGET[,TARGET...] | alias list | alias del SOURCE\n"
    "      SOURCE \"@example.org\" is the domain's catch-all\n"
    "  queue list [--json]           messages waiting for delivery to other servers\n"
    "  queue show ID                 one message: envelope, recipients, header\n"
    "  queue retry ID|--all          try again at the next queue scan\n"
    "  queue delete ID               drop a message without a report to its sender\n"
    "  version\n";

void out(const QString &s) { fputs(qPrintable(s + u'\n'), stdout); }
int fail(const QString &s)
{
    fputs(qPrintable(QStringLiteral("valvctl: ") + s + u'\n'), stderr);
    return 1;
}

// Pulls "--name value" out of args; returns the value or a null QString.
QString takeOption(QStringList &args, const QString &name)
{
    const qsizetype i = args.indexOf(name);
    if (i < 0 || i + 1 >= args.size())
        return {};
    const QString v = args[i + 1];
    args.remove(i, 2);
    return v;
}

bool takeFlag(QStringList &args, const QString &name) { return args.removeAll(name) > 0; }

struct Stores {
    store::KeyRing keys;
    std::unique_ptr<store::ConfigStore> config;
};

Result<Stores> openStores(const QString &dataDir)
{
    auto keys = store::KeyRing::load(dataDir);
    if (!keys)
        return makeError(1, keys.error().message + QStringLiteral(" (is this a Valv data dir? run 'valvctl init')"));
    auto config = store::ConfigStore::open(dataDir, *keys);
    if (!config)
        return config.error();
    return Stores{*keys, std::move(*config)};
}

QByteArray passwordFrom(QStringList &args, bool *generated)
{
    QString pw = takeOption(args, QStringLiteral("--password"));
    *generated = pw.isNull();
    return pw.isNull() ? store::randomPassword(20) : pw.toUtf8();
}

QString actor()
{
    const char *user = getenv("USER");
    return QStringLiteral("valvctl:") + QString::fromLocal8Bit(user ? user : "unknown");
}

int cmdInit(const QString &dataDir, QStringList args)
{
    const QString hostname = takeOption(args, QStringLiteral("--hostname"));
    const QString demoDomain = takeOption(args, QStringLiteral("--demo-domain"));
    const QString demoUser = takeOption(args, QStringLiteral("--demo-user"));
    const QString demoPassword = takeOption(args, QStringLiteral("--demo-password"));
    const bool noDemo = takeFlag(args, QStringLiteral("--no-demo"));
    if (!args.isEmpty())
        return fail(QStringLiteral("init: unexpected argument %1").arg(args.first()));
    QDir dir(dataDir);
    if (QFile::exists(store::KeyRing::masterKeyPath(dataDir)) || dir.exists(QStringLiteral("config.db")))
        return fail(QStringLiteral("%1 is already initialised").arg(dataDir));
    if (!dir.mkpath(QStringLiteral(".")) || !dir.mkpath(QStringLiteral("mail")) || !dir.mkpath(QStringLiteral("tls")))
        return fail(QStringLiteral("cannot create %1").arg(dataDir));
    QFile::setPermissions(dataDir, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);

    auto keys = store::KeyRing::create(dataDir);
    if (!keys)
        return fail(keys.error().message);
    auto config = store::ConfigStore::open(dataDir, *keys, true);
    if (!config)
        return fail(config.error().message);

    const QString host = hostname.isEmpty() ? QStringLiteral("localhost") : hostname;
    QStringList names{host};
    if (!names.contains(QStringLiteral("localhost")))
        names << QStringLiteral("localhost");
    const QString certPath = dir.filePath(QStringLiteral("tls/cert.pem"));
    if (auto r = core::writeSelfSigned(certPath, dir.filePath(QStringLiteral("tls/key.pem")), names,
                                       {QStringLiteral("127.0.0.1"), QStringLiteral("::1")});
        !r)
        return fail(r.error().message);
    (*config)->audit(actor(), QStringLiteral("init"), dataDir);

    out(QStringLiteral("datadir: ") + QDir(dataDir).absolutePath());
    QFile certFile(certPath);
    if (certFile.open(QIODevice::ReadOnly)) {
        QSslConfiguration c;
        c.setLocalCertificate(QSslCertificate(certFile.readAll(), QSsl::Pem));
        out(QStringLiteral("tls-fingerprint: SHA256 ") + core::TlsContext::fingerprint(c));
    }
    if (noDemo)
        return 0;
    const QString domain = demoDomain.isEmpty() ? QStringLiteral("example.test") : demoDomain;
    const QString address = (demoUser.isEmpty() ? QStringLiteral("demo") : demoUser) + u'@' + domain;
    const QByteArray password = demoPassword.isEmpty() ? store::randomPassword(20) : demoPassword.toUtf8();
    if (auto r = (*config)->addDomain(domain); !r)
        return fail(r.error().message);
    if (auto k = outbound::DomainSigner::provision(**config, domain); !k)
        return fail(QStringLiteral("DKIM keys: ") + k.error().message);
    auto hash = store::hashPassword(password);
    if (!hash)
        return fail(hash.error().message);
    if (auto u = (*config)->addUser(address, *hash); !u)
        return fail(u.error().message);
    (*config)->audit(actor(), QStringLiteral("domain add"), domain);
    (*config)->audit(actor(), QStringLiteral("user add"), address);
    out(QStringLiteral("domain: ") + domain);
    out(QStringLiteral("user: ") + address);
    out(QStringLiteral("password: ") + QString::fromUtf8(password));
    return 0;
}

int cmdDomain(Stores &s, QStringList args)
{
    const QString verb = args.value(0);
    if (verb == QLatin1String("add") && args.size() == 2) {
        if (auto r = s.config->addDomain(args[1]); !r)
            return fail(r.error().message);
        s.config->audit(actor(), QStringLiteral("domain add"), args[1]);
        if (auto k = outbound::DomainSigner::provision(*s.config, args[1]); !k)
            return fail(QStringLiteral("DKIM keys: ") + k.error().message);
        out(QStringLiteral("domain added: ") + args[1].toLower());
        out(QStringLiteral("publish its DKIM keys: valvctl domain dkim ") + args[1].toLower());
        return 0;
    }
    if (verb == QLatin1String("dkim") && (args.size() == 2 || (args.size() == 3 && args[2] == QLatin1String("--json")))) {
        const QString domain = args[1].toLower();
        if (!s.config->isLocalDomain(domain))
            return fail(QStringLiteral("%1 is not a local domain").arg(domain));
        // Domains added before DKIM existed get their keys now.
        auto keys = outbound::DomainSigner::provision(*s.config, domain);
        if (!keys)
            return fail(keys.error().message);
        QJsonArray json;
        for (const store::DkimKeyRecord &k : *keys) {
            const QString name = k.selector + QStringLiteral("._domainkey.") + domain + u'.';
            if (args.size() == 3)
                json.append(QJsonObject{{"selector", k.selector}, {"name", name}, {"type", "TXT"}, {"value", k.publicTxt}});
            else
                out(QStringLiteral("%1 TXT \"%2\"").arg(name, k.publicTxt));
        }
        if (args.size() == 3)
            out(QString::fromUtf8(QJsonDocument(json).toJson(QJsonDocument::Compact)));
        return 0;
    }
    if (verb == QLatin1String("list") && args.size() == 1) {
        auto d = s.config->domains();
        if (!d)
            return fail(d.error().message);
        for (const QString &name : *d)
            out(name);
        return 0;
    }
    return fail(QStringLiteral("usage: domain add NAME | domain list | domain dkim NAME [--json]"));
}

int cmdUser(Stores &s, const QString &dataDir, QStringList args)
{
    const QString verb = args.value(0);
    bool generated = false;
    if (verb == QLatin1String("add") || verb == QLatin1String("passwd")) {
        const QByteArray password = passwordFrom(args, &generated);
        if (args.size() != 2)
            return fail(QStringLiteral("usage: user %1 ADDRESS [--password PW]").arg(verb));
        if (password.isEmpty())
            return fail(QStringLiteral("the password must not be empty"));
        auto hash = store::hashPassword(password);
        if (!hash)
            return fail(hash.error().message);
        if (verb == QLatin1String("add")) {
            auto u = s.config->addUser(args[1], *hash);
            if (!u)
                return fail(u.error().message);
            // Create the mailbox file now, with its default folders.
            store::MailStoreOpener opener(dataDir, s.config.get());
            if (auto m = opener.open(u->id); !m)
                return fail(m.error().message);
            s.config->audit(actor(), QStringLiteral("user add"), u->address);
            out(QStringLiteral("user: ") + u->address);
        } else {
            if (auto r = s.config->setPassword(args[1], *hash); !r)
                return fail(r.error().message);
            s.config->audit(actor(), QStringLiteral("user passwd"), args[1]);
            out(QStringLiteral("user: ") + store::ConfigStore::normaliseAddress(args[1]));
        }
        if (generated)
            out(QStringLiteral("password: ") + QString::fromUtf8(password));
        return 0;
    }
    if (verb == QLatin1String("quota") && args.size() == 3) {
        QString text = args[2].trimmed().toUpper();
        qint64 unit = 1;
        if (text.endsWith(u'K') || text.endsWith(u'M') || text.endsWith(u'G')) {
            unit = text.endsWith(u'K') ? 1024 : text.endsWith(u'M') ? 1024 * 1024 : 1024LL * 1024 * 1024;
            text.chop(1);
        }
        bool ok = false;
        const qint64 n = text.toLongLong(&ok);
        if (!ok || n < 0)
            return fail(QStringLiteral("quota must be a number of bytes, e.g. 500M, or 0 for unlimited"));
        if (auto r = s.config->setQuota(args[1], n * unit); !r)
            return fail(r.error().message);
        s.config->audit(actor(), QStringLiteral("user quota"), args[1] + u' ' + QString::number(n * unit));
        out(QStringLiteral("quota: ") + (n ? QString::number(n * unit) + QStringLiteral(" bytes") : QStringLiteral("unlimited")));
        return 0;
    }
    if (verb == QLatin1String("list") && args.size() == 1) {
        auto users = s.config->users();
        if (!users)
            return fail(users.error().message);
        for (const store::User &u : *users)
            out(u.address + (u.disabled ? QStringLiteral(" (disabled)") : QString()));
        return 0;
    }
    if (verb == QLatin1String("del") && args.size() == 2) {
        auto u = s.config->removeUser(args[1]);
        if (!u)
            return fail(u.error().message);
        store::MailStoreOpener opener(dataDir, s.config.get());
        const QString path = opener.pathFor(u->id);
        for (const QString &suffix : {QString(), QStringLiteral("-wal"), QStringLiteral("-shm")})
            QFile::remove(path + suffix);
        s.config->audit(actor(), QStringLiteral("user del"), u->address);
        out(QStringLiteral("user deleted: ") + u->address);
        return 0;
    }
    return fail(QStringLiteral("usage: user add|passwd ADDRESS [--password PW] | user list | user del ADDRESS | user quota ADDRESS BYTES"));
}

int cmdAlias(Stores &s, QStringList args)
{
    const QString verb = args.value(0);
    if (verb == QLatin1String("add") && args.size() == 3) {
        store::Alias a{args[1], args[2].split(u',', Qt::SkipEmptyParts)};
        if (auto r = s.config->addAlias(a); !r)
            return fail(r.error().message);
        s.config->audit(actor(), QStringLiteral("alias add"), args[1] + QStringLiteral(" -> ") + args[2]);
        out(QStringLiteral("alias added: ") + args[1]);
        return 0;
    }
    if (verb == QLatin1String("list") && args.size() == 1) {
        auto aliases = s.config->aliases();
        if (!aliases)
            return fail(aliases.error().message);
        for (const store::Alias &a : *aliases)
            out(a.source + QStringLiteral(" -> ") + a.targets.join(u','));
        return 0;
    }
    if (verb == QLatin1String("del") && args.size() == 2) {
        if (auto r = s.config->removeAlias(args[1]); !r)
            return fail(r.error().message);
        s.config->audit(actor(), QStringLiteral("alias del"), args[1]);
        out(QStringLiteral("alias deleted: ") + args[1]);
        return 0;
    }
    return fail(QStringLiteral("usage: alias add SOURCE TARGET[,TARGET...] | alias list | alias del SOURCE"));
}
const char *stateName(store::RecipientState s)
{
    switch (s) {
    case store::RecipientState::Pending: return "pending";
    case store::RecipientState::Delivered: return "delivered";
    case store::RecipientState::Failed: return "failed";
    }
    return "?";
}

QString isoTime(qint64 secs)
{
    return QDateTime::fromSecsSinceEpoch(secs, Qt::UTC).toString(Qt::ISODate);
}

QJsonObject entryJson(const store::QueueEntry &e)
{
    QJsonArray rcpts;
    for (const store::QueueRecipient &r : e.recipients)
        rcpts.append(QJsonObject{{"address", r.address}, {"state", stateName(r.state)}, {"attempts", r.attempts},
                                 {"next_attempt", isoTime(r.nextAttempt)}, {"last_error", r.lastError},
                                 {"remote_mta", r.remoteMta}});
    return QJsonObject{{"id", e.id}, {"sender", e.sender}, {"user", e.user}, {"created", isoTime(e.created)},
                       {"size", e.size}, {"recipients", rcpts}};
}

int cmdQueue(Stores &s, const QString &dataDir, QStringList args)
{
    auto queue = store::QueueStore::open(dataDir, s.keys);
    if (!queue)
        return fail(queue.error().message);
    const QString verb = args.value(0);
    bool idOk = false;
    const qint64 id = args.value(1).toLongLong(&idOk);
    if (verb == QLatin1String("list") && (args.size() == 1 || (args.size() == 2 && args[1] == QLatin1String("--json")))) {
        auto entries = (*queue)->list();
        if (!entries)
            return fail(entries.error().message);
        if (args.size() == 2) {
            QJsonArray json;
            for (const store::QueueEntry &e : *entries)
                json.append(entryJson(e));
            out(QString::fromUtf8(QJsonDocument(json).toJson(QJsonDocument::Compact)));
            return 0;
        }
        if (entries->isEmpty())
            out(QStringLiteral("the queue is empty"));
        for (const store::QueueEntry &e : *entries) {
            out(QStringLiteral("%1  %2  %3 bytes  from <%4>").arg(e.id).arg(isoTime(e.created)).arg(e.size).arg(e.sender));
            for (const store::QueueRecipient &r : e.recipients)
                out(QStringLiteral("    %1  %2  attempts %3  next %4  %5")
                        .arg(r.address, QString::fromLatin1(stateName(r.state))).arg(r.attempts)
                        .arg(isoTime(r.nextAttempt), r.lastError));
        }
        return 0;
    }
    if (verb == QLatin1String("show") && args.size() == 2 && idOk) {
        auto e = (*queue)->entry(id);
        if (!e)
            return fail(e.error().message);
        out(QString::fromUtf8(QJsonDocument(entryJson(*e)).toJson(QJsonDocument::Indented)).trimmed());
        if (auto body = (*queue)->body(id)) {
            const qsizetype end = body->indexOf("\r\n\r\n");
            out(QString::fromUtf8(end < 0 ? *body : body->left(end)));
        }
        return 0;
    }
    if (verb == QLatin1String("retry") && args.size() == 2 && (idOk || args[1] == QLatin1String("--all"))) {
        auto n = (*queue)->retryNow(idOk ? id : 0);
        if (!n)
            return fail(n.error().message);
        s.config->audit(actor(), QStringLiteral("queue retry"), args[1]);
        out(QStringLiteral("%1 recipient(s) due now; valvd tries them at its next queue scan").arg(*n));
        return 0;
    }
    if (verb == QLatin1String("delete") && args.size() == 2 && idOk) {
        if (auto r = (*queue)->remove(id); !r)
            return fail(r.error().message);
        s.config->audit(actor(), QStringLiteral("queue delete"), args[1]);
        out(QStringLiteral("deleted: %1").arg(id));
        return 0;
    }
    return fail(QStringLiteral("usage: queue list [--json] | queue show ID | queue retry ID|--all | queue delete ID"));
}
} // namespace

int run(const QStringList &argsIn)
{
    QStringList args = argsIn;
    QString dataDir = takeOption(args, QStringLiteral("--datadir"));
    if (dataDir.isNull())
        dataDir = qEnvironmentVariable("VALV_DATADIR", QStringLiteral("/var/lib/valv"));
    if (args.isEmpty() || args.first() == QLatin1String("--help") || args.first() == QLatin1String("help")) {
        fputs(kUsage, args.isEmpty() ? stderr : stdout);
        return args.isEmpty() ? 2 : 0;
    }
    const QString command = args.takeFirst();
    if (command == QLatin1String("version")) {
        out(QStringLiteral("valvctl ") + QStringLiteral(VALV_VERSION));
        return 0;
    }
    if (command == QLatin1String("init"))
        return cmdInit(dataDir, args);
    if (command != QLatin1String("domain") && command != QLatin1String("user") && command != QLatin1String("alias")
        && command != QLatin1String("queue")) {
        fputs(kUsage, stderr);
        return 2;
    }
    auto stores = openStores(dataDir);
    if (!stores)
        return fail(stores.error().message);
    if (command == QLatin1String("domain"))
        return cmdDomain(*stores, args);
    if (command == QLatin1String("user"))
        return cmdUser(*stores, dataDir, args);
    if (command == QLatin1String("queue"))
        return cmdQueue(*stores, dataDir, args);
    return cmdAlias(*stores, args);
}

} // namespace valv::ctl
