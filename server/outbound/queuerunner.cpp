// SPDX-License-Identifier: AGPL-3.0-or-later
#include "outbound/queuerunner.h"

#include "core/pool.h"
#include "outbound/dsn.h"
#include "outbound/submitter.h"
#include "store/crypto.h"

#include <QDateTime>
#include <QLoggingCategory>
#include <QPointer>

Q_LOGGING_CATEGORY(lcQueue, "valv.queue")

namespace valv::outbound {

namespace {
constexpr int kScanBatch = 200;
constexpr int kFailed = 0, kDelayed = 1, kRelayed = 2;

qint64 now() { return QDateTime::currentSecsSinceEpoch(); }

// RFC 3461 §4.1: no NOTIFY means the server's default, FAILURE and DELAY.
bool notifies(const QString &notify, const char *what)
{
    return notify.isEmpty() ? QByteArrayView(what) != "SUCCESS" : notify.split(u',').contains(QLatin1String(what));
}
} // namespace

// One connection's worth of work for one domain: route, policy, hosts in order, then
// the domain's waiting messages one after another.
class QueueRunner::Courier : public QObject {
public:
    Courier(QueueRunner *runner, QString domain) : QObject(runner), m_runner(runner), m_domain(std::move(domain)) {}

    void start()
    {
        m_runner->m_resolver->resolve(m_domain, [self = QPointer(this)](Route route) {
            if (self)
                self->routed(std::move(route));
        });
    }

private:
    struct Target {
        QString host;
        QHostAddress address;
    };

    void routed(Route route)
    {
        switch (route.kind) {
        case Route::Kind::NullMx:
            return failEverything(SmtpReply{556, QStringLiteral("5.1.10"), route.error}, true);
        case Route::Kind::NoSuchDomain:
            return failEverything(SmtpReply{550, QStringLiteral("5.1.2"), route.error}, true);
        case Route::Kind::Temporary:
            return failEverything(SmtpReply{0, QString(), route.error}, false);
        case Route::Kind::Hosts:
            break;
        }
        m_runner->m_mtaSts->policyFor(m_domain, [self = QPointer(this), hosts = route.hosts](std::optional<MtaStsPolicy> policy) {
            if (self)
                self->withPolicy(hosts, policy);
        });
    }

    void withPolicy(const QList<MxHost> &hosts, const std::optional<MtaStsPolicy> &policy)
    {
        const bool enforce = policy && policy->mode == MtaStsPolicy::Mode::Enforce;
        m_verify = enforce;
        for (const MxHost &h : hosts) {
            if (policy && policy->mode != MtaStsPolicy::Mode::None && !mxMatchesPolicy(h.name, policy->mx)) {
                qCInfo(lcQueue).noquote() << "MTA-STS:" << h.name << "is not in the policy of" << m_domain
                                          << (enforce ? "(skipped)" : "(testing: used anyway)");
                if (enforce)
                    continue;
            }
            for (const QHostAddress &a : h.addresses)
                m_targets.append(Target{h.name, a});
        }
        if (m_targets.isEmpty())
            return failEverything(SmtpReply{0, QString(),
                                            QStringLiteral("MTA-STS policy of %1 names none of its MX hosts").arg(m_domain)},
                                  false);
        next();
    }

    // Connects to the next target (after `m_targetIndex` failed or at the start).
    void next()
    {
        if (m_targetIndex >= m_targets.size())
            return failEverything(m_lastError.code == 0 && m_lastError.text.isEmpty()
                                      ? SmtpReply{0, QString(), QStringLiteral("no MX host of %1 answered").arg(m_domain)}
                                      : m_lastError,
                                  false);
        const Target &t = m_targets[m_targetIndex];
        SmtpClient::Options o{m_runner->m_settings.hostname, m_runner->m_settings.timeout, m_runner->m_settings.extraCas,
                              m_tryStartTls, m_runner->m_settings.bindAddress};
        dropClient();
        m_client = new SmtpClient(o, this);
        connect(m_client, &SmtpClient::ready, this, [this] { sendNext(); });
        connect(m_client, &SmtpClient::sent, this, [this](const TransactionResult &r) { sent(r); });
        connect(m_client, &SmtpClient::failed, this, [this](const SmtpReply &reply, bool tlsFailed) { clientFailed(reply, tlsFailed); });
        qCDebug(lcQueue).noquote() << "connecting to" << t.host << t.address.toString() << "for" << m_domain;
        m_client->open(t.address, m_runner->m_settings.remotePort, t.host, m_verify);
    }

    void clientFailed(const SmtpReply &reply, bool tlsFailed)
    {
        m_lastError = reply;
        if (m_current) {
            // Broken mid-transaction: this message waits for the next attempt.
            m_runner->recordAll(*m_current, reply, m_targets[m_targetIndex].host);
            m_current.reset();
        }
        if (tlsFailed && !m_verify && m_tryStartTls) {
            // RFC 7435 §4: a failed opportunistic handshake falls back to the clear.
            qCInfo(lcQueue).noquote() << "TLS with" << m_targets[m_targetIndex].host << "failed, retrying without:" << reply.text;
            m_tryStartTls = false;
            return next();
        }
        m_tryStartTls = true;
        ++m_targetIndex;
        next();
    }

    void sendNext()
    {
        m_current = m_runner->takeWork(m_domain);
        if (!m_current) {
            m_client->quit();
            return finish();
        }
        auto body = m_runner->m_queue->body(m_current->id);
        if (!body) {
            // Deleted meanwhile (valvctl queue delete): nothing to send.
            m_runner->release(*m_current);
            m_current.reset();
            return sendNext();
        }
        m_body = *body;
        QList<int> all;
        for (int i = 0; i < m_current->recipients.size(); ++i)
            all.append(i);
        m_client->send(*m_current, m_body, all);
    }

    void sent(const TransactionResult &r)
    {
        const QString host = m_targets[m_targetIndex].host;
        qCInfo(lcQueue).noquote() << "message" << m_current->id << "to" << host
                                  << (m_client->isEncrypted() ? (m_client->isVerified() ? "(TLS, verified)" : "(TLS)") : "(no TLS)")
                                  << r.recipients.first().toString();
        m_runner->record(*m_current, m_body, r.recipients, host, m_client->hasExtension(QStringLiteral("DSN")));
        m_current.reset();
        m_body.clear();
        sendNext();
    }

    // The whole domain fails: its waiting work gets `reply` too (permanent or not).
    void failEverything(const SmtpReply &reply, bool permanent)
    {
        qCInfo(lcQueue).noquote() << "delivery to" << m_domain << "failed:" << reply.toString();
        const QString host = m_targets.isEmpty() ? QString() : m_targets.value(std::min<qsizetype>(m_targetIndex, m_targets.size() - 1)).host;
        SmtpReply r = reply;
        if (permanent && r.code == 0)
            r.code = 550;
        while (auto work = m_runner->takeWork(m_domain))
            m_runner->recordAll(*work, r, host);
        finish();
    }

    void dropClient()
    {
        if (m_client) {
            m_client->disconnect(this);
            m_client->deleteLater();
            m_client = nullptr;
        }
    }

    void finish()
    {
        dropClient();
        const QString domain = m_domain;
        QueueRunner *runner = m_runner;
        runner->m_couriers.remove(this);
        deleteLater();
        runner->courierDone(domain);
    }

    QueueRunner *m_runner;
    QString m_domain;
    QList<Target> m_targets;
    qsizetype m_targetIndex = 0;
    bool m_verify = false;
    bool m_tryStartTls = true;
    SmtpReply m_lastError;
    SmtpClient *m_client = nullptr;
    std::optional<store::QueueEntry> m_current;
    QByteArray m_body;
};

QueueRunner::QueueRunner(RunnerSettings settings, Submitter *submitter, QObject *parent)
    : QObject(parent), m_settings(std::move(settings)), m_submitter(submitter), m_queue(submitter->queue()),
      m_dns(new auth::DnsResolver(m_settings.nameserver, this)), m_resolver(new MxResolver(m_dns)),
      m_mtaSts(new MtaStsCache(m_resolver, m_settings.extraCas, m_settings.timeout, this)), m_scanTimer(new QTimer(this))
{
    qRegisterMetaType<SmtpReply>();
    qRegisterMetaType<TransactionResult>();
    connect(m_scanTimer, &QTimer::timeout, this, &QueueRunner::scan);
}

QueueRunner::~QueueRunner()
{
    delete m_resolver;
}

void QueueRunner::wake()
{
    QMetaObject::invokeMethod(this, [this] {
        if (m_stopped || m_scanQueued)
            return;
        m_scanQueued = true;
        QTimer::singleShot(0, this, [this] {
            m_scanQueued = false;
            scan();
        });
    }, Qt::QueuedConnection);
}

void QueueRunner::accept(const store::QueueEntry &entry)
{
    QMetaObject::invokeMethod(this, [this, entry] {
        if (m_stopped)
            return;
        QStringList touched;
        if (take(entry, &touched)) {
            for (const QString &d : touched)
                pump(d);
        }
    }, Qt::QueuedConnection);
}

bool QueueRunner::take(const store::QueueEntry &e, QStringList *touched)
{
    if (m_busy.contains(e.id))
        return false;
    QHash<QString, store::QueueEntry> parts;
    for (const store::QueueRecipient &r : e.recipients) {
        auto it = parts.find(r.domain);
        if (it == parts.end()) {
            store::QueueEntry part = e;
            part.recipients.clear();
            it = parts.insert(r.domain, part);
        }
        it->recipients.append(r);
    }
    for (auto it = parts.cbegin(); it != parts.cend(); ++it) {
        m_domains[it.key()].waiting.append(it.value());
        ++m_busy[e.id];
        if (!touched->contains(it.key()))
            touched->append(it.key());
    }
    return true;
}

void QueueRunner::start()
{
    // A crash between recording the last outcome of a message and removing it leaves a
    // message with nothing pending: it would never be due again.
    if (auto n = m_queue->purgeFinished(); !n)
        qCWarning(lcQueue).noquote() << "queue purge failed:" << n.error().message;
    else if (*n > 0)
        qCInfo(lcQueue) << "removed" << *n << "finished message(s) left by an interrupted run";
    m_scanTimer->start(m_settings.scanInterval * 1000);
    scan();
}

void QueueRunner::stop()
{
    m_stopped = true;
    m_scanTimer->stop();
    // Couriers go with their connections; their messages stay pending on disk.
    qDeleteAll(std::exchange(m_couriers, {}));
    m_mtaSts->abortFetches();
    m_domains.clear();
    m_busy.clear();
    // This thread's OpenSSL state (error queue, DRBG): freed here, as worker threads do.
    core::releaseThreadCryptoState();
}

void QueueRunner::scan()
{
    if (m_stopped)
        return;
    auto due = m_queue->due(now(), m_busy.keys(), kScanBatch);
    if (!due) {
        qCWarning(lcQueue).noquote() << "queue scan failed:" << due.error().message;
        return;
    }
    QStringList touched;
    for (const store::QueueEntry &e : *due)
        (void)take(e, &touched);
    for (const QString &d : touched)
        pump(d);
    // A full batch: more may be due right away.
    if (due->size() == kScanBatch)
        wake();
}

bool QueueRunner::rateAllows(DomainState &d)
{
    if (m_settings.ratePerMinute <= 0)
        return true;
    const qint64 t = now();
    while (!d.sendTimes.isEmpty() && d.sendTimes.first() <= t - 60)
        d.sendTimes.removeFirst();
    return d.sendTimes.size() < m_settings.ratePerMinute;
}

void QueueRunner::pump(const QString &domain)
{
    auto it = m_domains.find(domain);
    if (it == m_domains.end())
        return;
    while (it->active < m_settings.concurrency && it->waiting.size() > it->active && rateAllows(*it)) {
        ++it->active;
        auto *c = new Courier(this, domain);
        m_couriers.insert(c);
        c->start();
    }
    if (it->active == 0 && it->waiting.isEmpty())
        m_domains.erase(it);
    else if (it->active == 0 && !rateAllows(*it))
        QTimer::singleShot(std::max<qint64>(1, it->sendTimes.first() + 61 - now()) * 1000, this, [this, domain] { pump(domain); });
}

std::optional<store::QueueEntry> QueueRunner::takeWork(const QString &domain)
{
    auto it = m_domains.find(domain);
    if (it == m_domains.end() || it->waiting.isEmpty() || m_stopped || !rateAllows(*it))
        return std::nullopt;
    if (m_settings.ratePerMinute > 0)
        it->sendTimes.append(now());
    return it->waiting.takeFirst();
}

void QueueRunner::courierDone(const QString &domain)
{
    auto it = m_domains.find(domain);
    if (it == m_domains.end())
        return;
    --it->active;
    pump(domain);
}

void QueueRunner::release(const store::QueueEntry &entry, bool purged)
{
    auto it = m_busy.find(entry.id);
    if (it != m_busy.end() && --*it <= 0) {
        m_busy.erase(it);
        if (purged)
            return;
        if (auto r = m_queue->purgeIfFinished(entry.id); !r)
            qCWarning(lcQueue).noquote() << "queue purge failed:" << r.error().message;
    }
}

qint64 QueueRunner::backoff(int attempts) const
{
    qint64 wait = m_settings.retryMin;
    for (int i = 0; i < attempts && wait < m_settings.retryMax; ++i)
        wait *= 2;
    return std::min(wait, m_settings.retryMax);
}

void QueueRunner::recordAll(const store::QueueEntry &entry, const SmtpReply &reply, const QString &remoteMta)
{
    QList<SmtpReply> replies(entry.recipients.size(), reply);
    record(entry, QByteArray(), replies, remoteMta, false);
}

void QueueRunner::record(const store::QueueEntry &entry, const QByteArray &bodyIn, const QList<SmtpReply> &replies,
                         const QString &remoteMta, bool remoteHasDsn)
{
    const qint64 t = now();
    QByteArray body = bodyIn;
    auto loadBody = [&] {
        if (body.isEmpty()) {
            if (auto b = m_queue->body(entry.id))
                body = *b;
        }
        return body;
    };
    QList<qint64> delivered;
    QList<store::QueueRecipient> failed, relayed;
    QList<SmtpReply> failedReplies, relayedReplies;
    QHash<qint64, QList<qint64>> deferred; // next attempt -> ids
    QList<store::QueueRecipient> delayed;
    QList<SmtpReply> delayedReplies;
    QString lastError;
    for (qsizetype i = 0; i < entry.recipients.size(); ++i) {
        store::QueueRecipient r = entry.recipients[i];
        if (!remoteMta.isEmpty())
            r.remoteMta = remoteMta;
        const SmtpReply reply = replies.value(i);
        if (reply.positive()) {
            delivered.append(r.id);
            if (notifies(r.notify, "SUCCESS") && !remoteHasDsn) {
                relayed.append(r);
                relayedReplies.append(reply);
            }
        } else if (reply.permanent() || t >= entry.created + m_settings.lifetime) {
            SmtpReply why = reply;
            if (!reply.permanent()) {
                why.text = QStringLiteral("gave up after %1 hours: %2").arg(m_settings.lifetime / 3600.0, 0, 'f', 1).arg(reply.toString());
                why.code = 0;
                why.enhanced = QStringLiteral("4.4.7"); // RFC 3463: delivery time expired
            }
            failed.append(r);
            failedReplies.append(why);
        } else {
            deferred[t + backoff(r.attempts)].append(r.id);
            lastError = reply.toString();
            if (m_settings.delayNotice > 0 && !r.delayNotified && t - entry.created >= m_settings.delayNotice
                && notifies(r.notify, "DELAY")) {
                delayed.append(r);
                delayedReplies.append(reply);
            }
        }
    }
    // The common case, everything delivered in the message's last part: one transaction
    // records it and removes the message.
    const bool allDelivered = delivered.size() == entry.recipients.size();
    const bool lastPart = m_busy.value(entry.id) <= 1;
    bool purged = false;
    if (!delivered.isEmpty()) {
        const qint64 purge = allDelivered && lastPart ? entry.id : 0;
        if (auto x = m_queue->setDelivered(delivered, remoteMta, replies.value(0).toString(), purge); !x)
            qCWarning(lcQueue).noquote() << "queue update failed:" << x.error().message;
        else
            purged = purge != 0;
    }
    if (!relayed.isEmpty())
        sendReport(entry, loadBody(), relayed, relayedReplies, kRelayed);
    if (!failed.isEmpty()) {
        sendReport(entry, loadBody(), failed, failedReplies, kFailed);
        QList<qint64> ids;
        for (const store::QueueRecipient &r : failed)
            ids.append(r.id);
        if (auto x = m_queue->setFailed(ids, remoteMta, failedReplies.first().toString()); !x)
            qCWarning(lcQueue).noquote() << "queue update failed:" << x.error().message;
    }
    for (auto it = deferred.cbegin(); it != deferred.cend(); ++it) {
        if (auto x = m_queue->setDeferred(it.value(), remoteMta, lastError, it.key()); !x)
            qCWarning(lcQueue).noquote() << "queue update failed:" << x.error().message;
    }
    if (!delayed.isEmpty()) {
        sendReport(entry, loadBody(), delayed, delayedReplies, kDelayed);
        QList<qint64> ids;
        for (const store::QueueRecipient &r : delayed)
            ids.append(r.id);
        if (auto x = m_queue->setDelayNotified(ids); !x)
            qCWarning(lcQueue).noquote() << "queue update failed:" << x.error().message;
    }
    release(entry, purged);
}

void QueueRunner::sendReport(const store::QueueEntry &entry, const QByteArray &body, const QList<store::QueueRecipient> &rcpts,
                             const QList<SmtpReply> &replies, int action)
{
    if (entry.sender.isEmpty())
        return; // RFC 3461 §6.2 / RFC 5321 §6.1: never a report about a report
    DsnInput in;
    in.reportingMta = m_settings.hostname;
    in.sender = entry.sender;
    in.envelopeId = entry.envid;
    in.arrivalDate = QDateTime::fromSecsSinceEpoch(entry.created, Qt::UTC);
    in.original = body;
    in.headersOnly = entry.ret == QLatin1String("HDRS");
    in.now = QDateTime::currentDateTimeUtc();
    in.messageId = '<' + store::randomBytes(16).toHex() + '@' + m_settings.hostname.toUtf8() + '>';
    in.boundary = "valv-report-" + store::randomBytes(12).toHex();
    const QDateTime last = QDateTime::currentDateTimeUtc();
    for (qsizetype i = 0; i < rcpts.size(); ++i) {
        const store::QueueRecipient &r = rcpts[i];
        const SmtpReply &reply = replies[i];
        if (action == kFailed && !notifies(r.notify, "FAILURE"))
            continue;
        DsnRecipient d;
        d.finalRecipient = r.address;
        d.originalRecipient = r.orcpt;
        d.action = action == kFailed ? DsnRecipient::Action::Failed
                 : action == kDelayed ? DsnRecipient::Action::Delayed : DsnRecipient::Action::Relayed;
        d.status = reply.enhanced.isEmpty() ? QString() : reply.enhanced;
        if (d.status.isEmpty() && reply.code >= 200)
            d.status = QStringLiteral("%1.0.0").arg(reply.code / 100);
        d.remoteMta = r.remoteMta.isEmpty() ? QString() : r.remoteMta;
        // Diagnostic-Code quotes a remote server; our own findings (DNS, connections,
        // expiry) are told in words.
        if (reply.code > 0 && !d.remoteMta.isEmpty())
            d.diagnostic = reply.toString();
        else
            d.problem = reply.text;
        d.lastAttempt = last;
        if (action == kDelayed)
            d.willRetryUntil = QDateTime::fromSecsSinceEpoch(entry.created + m_settings.lifetime, Qt::UTC);
        in.recipients.append(d);
    }
    if (in.recipients.isEmpty())
        return;
    const QByteArray report = buildDsn(in);
    if (auto r = m_submitter->sendReport(entry.sender, report); !r)
        qCWarning(lcQueue).noquote() << "could not send a delivery report to" << entry.sender << ":" << r.error().message;
    else
        qCInfo(lcQueue).noquote() << "delivery report (" << (action == kFailed ? "failed" : action == kDelayed ? "delayed" : "relayed")
                                  << ") for message" << entry.id << "sent to" << entry.sender;
}

} // namespace valv::outbound
