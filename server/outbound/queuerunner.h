// SPDX-License-Identifier: AGPL-3.0-or-later
// QueueRunner: delivers the outbound queue to other servers, on its own thread.
//
// Implementation notes
// - Scans the queue every queue_scan_interval seconds and when woken (a submission was
//   queued); due recipients are grouped per destination domain, each domain gets at most
//   remote_concurrency couriers (connections) and, when set, remote_rate messages a minute.
// - A courier resolves the domain's route (MX, null MX, implicit MX), its MTA-STS policy,
//   connects to the hosts in order and delivers the domain's waiting messages one after
//   another over one connection, then QUITs.
// - Outcomes per recipient: 2xx delivered; 5xx failed with a DSN to the sender now;
//   4xx or no answer retried after queue_retry_min doubling up to queue_retry_max, a
//   "delayed" DSN once after queue_delay_notice, a failure DSN when queue_lifetime is over.
//   A DSN is committed before the recipient is marked failed, so a crash between the two
//   sends it twice, never not at all. No DSN for the null sender (RFC 3461 §6.2) or when
//   NOTIFY excludes it.
// - MTA-STS enforce: only MX hosts the policy names, with verified TLS; failing that the
//   delivery is deferred (§5.1), never sent in the clear. Testing mode only logs.
// - Nothing is marked "in flight" on disk (see QueueStore); in memory, a message with work
//   waiting or under way is skipped by scans.
#pragma once

#include "outbound/mtastscache.h"
#include "outbound/mxresolver.h"
#include "outbound/smtpclient.h"
#include "store/queuestore.h"

#include <QHash>
#include <QSet>
#include <QHostAddress>
#include <QObject>
#include <QSslCertificate>
#include <QTimer>

namespace valv::outbound {

class Submitter;

struct RunnerSettings {
    QString hostname;
    quint16 remotePort = 25;
    qint64 lifetime = 432000;
    qint64 retryMin = 300;
    qint64 retryMax = 3600;
    qint64 delayNotice = 14400;
    int scanInterval = 5;
    int concurrency = 4;
    int ratePerMinute = 0;
    int timeout = 300;
    QHostAddress nameserver;
    QList<QSslCertificate> extraCas;
    QHostAddress bindAddress; // source address of outgoing connections (null: the system's choice)
};

class QueueRunner : public QObject {
    Q_OBJECT
public:
    QueueRunner(RunnerSettings settings, Submitter *submitter, QObject *parent = nullptr);
    ~QueueRunner() override;

    // Thread-safe: scan soon.
    void wake();
    // Thread-safe: a message just queued, to deliver now (no store scan needed).
    void accept(const store::QueueEntry &entry);
    // On the runner's thread (invoke queued): start scanning / abort every connection.
    void start();
    void stop();

private:
    class Courier;
    struct DomainState {
        QList<store::QueueEntry> waiting; // each with only this domain's recipients
        int active = 0;
        QList<qint64> sendTimes;          // for remote_rate
    };
    void scan();
    // Splits a due entry per destination domain into the domains' waiting lists; false if
    // the message is already in hand.
    bool take(const store::QueueEntry &entry, QStringList *touched);
    void pump(const QString &domain);
    [[nodiscard]] std::optional<store::QueueEntry> takeWork(const QString &domain);
    [[nodiscard]] bool rateAllows(DomainState &d);
    void courierDone(const QString &domain);
    // Records what happened to the recipients of `entry` (replies in the same order).
    void record(const store::QueueEntry &entry, const QByteArray &body, const QList<SmtpReply> &replies,
                const QString &remoteMta, bool remoteHasDsn);
    // Every recipient of `entry` got `reply` (route or connection failure).
    void recordAll(const store::QueueEntry &entry, const SmtpReply &reply, const QString &remoteMta);
    // The runner is done with one part of `entry`; after the last, the message row goes
    // unless `purged` says that happened already.
    void release(const store::QueueEntry &entry, bool purged = false);
    void sendReport(const store::QueueEntry &entry, const QByteArray &body, const QList<store::QueueRecipient> &rcpts,
                    const QList<SmtpReply> &replies, int action);
    [[nodiscard]] qint64 backoff(int attempts) const;

    RunnerSettings m_settings;
    Submitter *m_submitter;
    store::QueueStore *m_queue;
    // Children (heap, parent this): moveToThread() takes them along to the runner's thread.
    auth::DnsResolver *m_dns;
    MxResolver *m_resolver;
    MtaStsCache *m_mtaSts;
    QTimer *m_scanTimer;
    QHash<QString, DomainState> m_domains;
    QHash<qint64, int> m_busy; // message id -> parts waiting or under way
    QSet<Courier *> m_couriers; // alive (each also a child of this)
    bool m_stopped = false;
    bool m_scanQueued = false;
};

} // namespace valv::outbound
