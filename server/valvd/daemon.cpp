// SPDX-License-Identifier: AGPL-3.0-or-later
#include "valvd/daemon.h"

#include "core/config.h"
#include "core/context.h"
#include "core/logging.h"
#include "core/server.h"
#include "core/tls.h"
#include "delivery/localdelivery.h"
#include "imap/imapsession.h"
#include "outbound/queuerunner.h"
#include "outbound/submitter.h"
#include "pop3/pop3session.h"
#include "smtp/smtpsession.h"
#include "store/configstore.h"
#include "store/keyring.h"
#include "store/mailstorecache.h"
#include "store/queuestore.h"
#include "valv/version.h"

#include <QCoreApplication>
#include <QDir>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLoggingCategory>
#include <QMutex>
#include <QProcessEnvironment>
#include <QSaveFile>
#include <QSocketNotifier>
#include <QThread>
#include <QThreadPool>

#include <csignal>
#include <cstdio>
#include <sys/socket.h>
#include <unistd.h>

Q_LOGGING_CATEGORY(lcMain, "valv.main")

namespace valv {

namespace {
int g_signalFds[2] = {-1, -1};

void onSignal(int sig)
{
    const char c = char(sig);
    [[maybe_unused]] const auto n = ::write(g_signalFds[0], &c, 1);
}

void installSignals()
{
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, g_signalFds) != 0)
        qFatal("socketpair failed");
    struct sigaction sa {};
    sa.sa_handler = onSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGHUP, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
}

QHash<QString, QString> environment()
{
    QHash<QString, QString> env;
    const QProcessEnvironment pe = QProcessEnvironment::systemEnvironment();
    for (const QString &k : pe.keys())
        env.insert(k, pe.value(k));
    return env;
}

std::shared_ptr<const core::ServerContext> makeContext(const core::Config &c, store::ConfigStore *config,
                                                       store::MailStoreOpener *mail)
{
    auto ctx = std::make_shared<core::ServerContext>();
    ctx->hostname = c.value(QStringLiteral("hostname"));
    ctx->limits.maxLineLength = int(c.integer(QStringLiteral("max_line_length")));
    ctx->limits.maxMessageSize = c.integer(QStringLiteral("max_message_size"));
    ctx->limits.maxRecipients = int(c.integer(QStringLiteral("max_recipients")));
    ctx->limits.maxFolders = int(c.integer(QStringLiteral("max_folders")));
    ctx->limits.mailboxCacheKiB = int(c.integer(QStringLiteral("mailbox_cache_kib")));
    ctx->limits.idleTimeout = int(c.integer(QStringLiteral("idle_timeout")));
    ctx->limits.smtpIdleTimeout = int(c.integer(QStringLiteral("smtp_idle_timeout")));
    ctx->limits.pop3DeletedToTrash = c.flag(QStringLiteral("pop3_deleted_to_trash"));
    ctx->limits.pop3LoginDelay = int(c.integer(QStringLiteral("pop3_login_delay")));
    ctx->limits.userSendRate = int(c.integer(QStringLiteral("user_send_rate")));
    ctx->limits.authFailuresPerIp = int(c.integer(QStringLiteral("auth_failures_per_ip")));
    ctx->limits.authBlockSeconds = int(c.integer(QStringLiteral("auth_block_seconds")));
    if (const QString ns = c.value(QStringLiteral("dns_resolver")); !ns.isEmpty())
        ctx->nameserver = QHostAddress(ns);
    ctx->senderChecks = c.flag(QStringLiteral("sender_checks"));
    ctx->enforceDmarc = c.flag(QStringLiteral("dmarc_enforce"));
    ctx->allowPlaintextAuth = c.flag(QStringLiteral("allow_plaintext_auth"));
    ctx->protocolTrace = c.flag(QStringLiteral("protocol_trace"));
    ctx->config = config;
    ctx->mail = mail;
    return ctx;
}

Result<outbound::RunnerSettings> queueSettings(const core::Config &c)
{
    outbound::RunnerSettings s;
    s.hostname = c.value(QStringLiteral("hostname"));
    s.remotePort = quint16(c.integer(QStringLiteral("remote_smtp_port")));
    s.lifetime = c.integer(QStringLiteral("queue_lifetime"));
    s.retryMin = c.integer(QStringLiteral("queue_retry_min"));
    s.retryMax = c.integer(QStringLiteral("queue_retry_max"));
    s.delayNotice = c.integer(QStringLiteral("queue_delay_notice"));
    s.scanInterval = int(c.integer(QStringLiteral("queue_scan_interval")));
    s.concurrency = int(c.integer(QStringLiteral("remote_concurrency")));
    s.ratePerMinute = int(c.integer(QStringLiteral("remote_rate")));
    s.timeout = int(c.integer(QStringLiteral("remote_timeout")));
    // Mail leaves from the address valvd listens on when that is one address (its SPF
    // record names it), else from whatever the system picks.
    if (const QHostAddress listen(c.value(QStringLiteral("listen_address")));
        listen != QHostAddress::AnyIPv4 && listen != QHostAddress::AnyIPv6 && listen != QHostAddress::Any)
        s.bindAddress = listen;
    if (const QString ns = c.value(QStringLiteral("dns_resolver")); !ns.isEmpty())
        s.nameserver = QHostAddress(ns);
    if (const QString ca = c.value(QStringLiteral("remote_tls_ca_file")); !ca.isEmpty()) {
        s.extraCas = QSslCertificate::fromPath(ca, QSsl::Pem);
        if (s.extraCas.isEmpty())
            return makeError(1, QStringLiteral("remote_tls_ca_file %1 holds no PEM certificate").arg(ca));
    }
    return s;
}

core::ServerLimits serverLimits(const core::Config &c)
{
    return {int(c.integer(QStringLiteral("max_connections"))), int(c.integer(QStringLiteral("max_connections_per_ip"))),
            int(c.integer(QStringLiteral("shutdown_grace")))};
}

QString tlsPath(const core::Config &c, const QString &key, const QString &file)
{
    const QString v = c.value(key);
    return v.isEmpty() ? QDir(c.value(QStringLiteral("datadir"))).filePath(QStringLiteral("tls/") + file) : v;
}

// The context new connections get; replaced on SIGHUP, existing sessions keep theirs.
class ContextHolder {
public:
    void set(std::shared_ptr<const core::ServerContext> c)
    {
        QMutexLocker lock(&m_mutex);
        m_ctx = std::move(c);
    }
    std::shared_ptr<const core::ServerContext> get()
    {
        QMutexLocker lock(&m_mutex);
        return m_ctx;
    }

private:
    QMutex m_mutex;
    std::shared_ptr<const core::ServerContext> m_ctx;
};
} // namespace

int runDaemon(QCoreApplication &app)
{
    QStringList args = app.arguments();
    args.removeFirst();
    auto loaded = core::Config::load(args, environment());
    if (!loaded) {
        fprintf(stderr, "valvd: %s\n", qPrintable(loaded.error().message));
        return 2;
    }
    core::Config config = *loaded;
    if (config.helpRequested()) {
        fputs(qPrintable(core::Config::helpText()), stdout);
        return 0;
    }
    if (config.sampleRequested()) {
        fputs(qPrintable(core::Config::sampleFile()), stdout);
        return 0;
    }
    if (config.versionRequested()) {
        printf("valvd %s\n", VALV_VERSION);
        return 0;
    }
    core::installLogHandler(config.value(QStringLiteral("log_level")));
    installSignals();

    const QString dataDir = config.value(QStringLiteral("datadir"));
    auto keys = store::KeyRing::load(dataDir);
    if (!keys) {
        qCCritical(lcMain).noquote() << keys.error().message << "- run 'valvctl --datadir" << dataDir << "init' first";
        return 1;
    }
    auto configStore = store::ConfigStore::open(dataDir, *keys);
    if (!configStore) {
        qCCritical(lcMain).noquote() << "cannot open config.db:" << configStore.error().message;
        return 1;
    }
    auto tls = core::TlsContext::load(tlsPath(config, QStringLiteral("tls_cert"), QStringLiteral("cert.pem")),
                                      tlsPath(config, QStringLiteral("tls_key"), QStringLiteral("key.pem")));
    if (!tls) {
        qCCritical(lcMain).noquote() << tls.error().message;
        return 1;
    }
    core::TlsContext tlsContext;
    tlsContext.set(*tls);
    qCInfo(lcMain).noquote() << "TLS certificate SHA-256" << core::TlsContext::fingerprint(*tls);

    // The pool runs deliveries (mostly waiting on fsync, and commits to different
    // mailbox files proceed in parallel) and password checks: more threads than cores.
    QThreadPool::globalInstance()->setMaxThreadCount(std::max(8, 4 * QThread::idealThreadCount()));

    store::MailStoreOpener opener(dataDir, configStore->get());
    delivery::LocalDelivery delivery(&opener);
    auto queue = store::QueueStore::open(dataDir, *keys);
    if (!queue) {
        qCCritical(lcMain).noquote() << "cannot open the queue:" << queue.error().message;
        return 1;
    }
    outbound::Submitter submitter(queue->get(), &delivery, configStore->get());
    // Domains from before DKIM signing existed get their keys now; until the owner
    // publishes them, receivers treat the signatures like none (RFC 6376 §6.1.2).
    if (auto domains = (*configStore)->domains()) {
        for (const QString &d : *domains) {
            auto had = (*configStore)->dkimKeys(d);
            if (!had || !had->isEmpty())
                continue;
            if (auto made = outbound::DomainSigner::provision(**configStore, d); made)
                qCInfo(lcMain).noquote() << "generated DKIM keys for" << d << "- publish them: valvctl domain dkim" << d;
            else
                qCWarning(lcMain).noquote() << "DKIM keys for" << d << "could not be generated:" << made.error().message;
        }
    }
    auto runnerSettings = queueSettings(config);
    if (!runnerSettings) {
        qCCritical(lcMain).noquote() << runnerSettings.error().message;
        return 1;
    }
    // The queue runner has a thread of its own: DNS, remote connections and its store
    // commits never wait behind client sessions, nor they behind it.
    QThread queueThread;
    queueThread.setObjectName(QStringLiteral("queue"));
    auto *runner = new outbound::QueueRunner(*runnerSettings, &submitter);
    runner->moveToThread(&queueThread);
    QObject::connect(&queueThread, &QThread::finished, runner, &QObject::deleteLater);
    submitter.setQueued([runner](const store::QueueEntry &e) { runner->accept(e); });
    queueThread.start();
    QMetaObject::invokeMethod(runner, [runner] { runner->start(); }, Qt::QueuedConnection);
    ContextHolder contexts;
    contexts.set(makeContext(config, configStore->get(), &opener));

    int workers = int(config.integer(QStringLiteral("workers")));
    if (workers <= 0)
        workers = std::max(1, QThread::idealThreadCount());
    core::Server server(&tlsContext, workers, serverLimits(config));
    const QHostAddress address(config.value(QStringLiteral("listen_address")));

    auto smtpFactory = [&contexts, &delivery, &submitter](core::SessionSink *sink) -> std::unique_ptr<core::Session> {
        // The MX hands forwarded mail (aliases to addresses elsewhere) to the submitter.
        return std::make_unique<smtp::SmtpSession>(sink, contexts.get(), &delivery, true, smtp::SmtpSession::Mode::Mx,
                                                   &submitter);
    };
    auto submissionFactory = [&contexts, &delivery, &submitter](core::SessionSink *sink) -> std::unique_ptr<core::Session> {
        return std::make_unique<smtp::SmtpSession>(sink, contexts.get(), &delivery, true, smtp::SmtpSession::Mode::Submission,
                                                   &submitter);
    };
    auto imapFactory = [&contexts](core::SessionSink *sink) -> std::unique_ptr<core::Session> {
        return std::make_unique<imap::ImapSession>(sink, contexts.get(), true);
    };
    auto pop3Factory = [&contexts](core::SessionSink *sink) -> std::unique_ptr<core::Session> {
        return std::make_unique<pop3::Pop3Session>(sink, contexts.get(), true);
    };
    const struct {
        const char *name;
        const char *key;
        bool implicitTls;
        core::Connection::SessionFactory factory;
    } listeners[] = {
        {"smtp", "smtp_port", false, smtpFactory},
        {"submission", "submission_port", false, submissionFactory},
        {"submissions", "submissions_port", true, submissionFactory},
        {"imap", "imap_port", false, imapFactory},
        {"imaps", "imaps_port", true, imapFactory},
        {"pop3", "pop3_port", false, pop3Factory},
        {"pop3s", "pop3s_port", true, pop3Factory},
    };
    QJsonObject ready;
    for (const auto &l : listeners) {
        auto port = server.listen(QString::fromLatin1(l.name), address, quint16(config.integer(QString::fromLatin1(l.key))),
                                  l.implicitTls, l.factory);
        if (!port) {
            qCCritical(lcMain).noquote() << port.error().message;
            return 1;
        }
        ready.insert(QString::fromLatin1(l.name), int(*port));
    }
    ready.insert(QStringLiteral("pid"), int(QCoreApplication::applicationPid()));
    if (const QString readyFile = config.value(QStringLiteral("ready_file")); !readyFile.isEmpty()) {
        QSaveFile f(readyFile);
        if (!f.open(QIODevice::WriteOnly) || f.write(QJsonDocument(ready).toJson(QJsonDocument::Compact)) < 0 || !f.commit()) {
            qCCritical(lcMain).noquote() << "cannot write ready file" << readyFile;
            return 1;
        }
    }
    qCInfo(lcMain).noquote() << "valvd" << VALV_VERSION << "ready:" << QJsonDocument(ready).toJson(QJsonDocument::Compact);

    QSocketNotifier notifier(g_signalFds[1], QSocketNotifier::Read);
    QObject::connect(&notifier, &QSocketNotifier::activated, &app, [&] {
        char sig = 0;
        if (::read(g_signalFds[1], &sig, 1) != 1)
            return;
        if (sig == SIGHUP) {
            auto fresh = config.reloaded();
            if (!fresh) {
                qCWarning(lcMain).noquote() << "reload failed, keeping the running configuration:" << fresh.error().message;
                return;
            }
            for (const auto &l : listeners) {
                if (fresh->value(QString::fromLatin1(l.key)) != config.value(QString::fromLatin1(l.key)))
                    qCWarning(lcMain) << "port changes need a restart:" << l.key;
            }
            auto newTls = core::TlsContext::load(tlsPath(*fresh, QStringLiteral("tls_cert"), QStringLiteral("cert.pem")),
                                                 tlsPath(*fresh, QStringLiteral("tls_key"), QStringLiteral("key.pem")));
            if (!newTls) {
                qCWarning(lcMain).noquote() << "TLS reload failed, keeping the running certificate:" << newTls.error().message;
            } else {
                tlsContext.set(*newTls);
                qCInfo(lcMain).noquote() << "TLS certificate reloaded, SHA-256" << core::TlsContext::fingerprint(*newTls);
            }
            config = *fresh;
            core::setLogLevel(config.value(QStringLiteral("log_level")));
            contexts.set(makeContext(config, configStore->get(), &opener));
            server.setLimits(serverLimits(config));
            qCInfo(lcMain) << "configuration reloaded";
            return;
        }
        qCInfo(lcMain) << "signal" << int(sig) << "received: draining connections";
        server.drain();
    });
    QObject::connect(&server, &core::Server::drained, &app, &QCoreApplication::quit, Qt::QueuedConnection);

    const int rc = app.exec();
    // Deliveries in flight finish (and answer) before the stores close.
    QThreadPool::globalInstance()->waitForDone();
    // Remote deliveries under way are dropped: their recipients stay pending on disk.
    QMetaObject::invokeMethod(runner, [runner] { runner->stop(); }, Qt::BlockingQueuedConnection);
    submitter.setQueued({});
    queueThread.quit();
    queueThread.wait();
    qCInfo(lcMain) << "stopped";
    return rc;
}

} // namespace valv
