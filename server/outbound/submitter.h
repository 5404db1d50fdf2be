// SPDX-License-Identifier: AGPL-3.0-or-later
// Hands an accepted message on: local recipients to their mailboxes, remote ones to the
// durable queue, DKIM-signed with the sending domain's keys. Used by submission and by
// the queue runner for the reports (DSNs) it sends.
//
// Implementation notes
// - submit() blocks (signing, fsync'd commits): call it on the thread pool;
//   submitAsync() does and calls back on the caller's thread.
// - Success means every local mailbox and the queue committed the message. If the queue
//   commit fails after local delivery succeeded, the client gets a 4xx, retries, and the
//   local recipients see the message twice: a 4xx must never lose mail.
// - The signing domain is the From: header's (DMARC aligns on it) when it is one of
//   ours, else the envelope sender's; mail from neither goes unsigned.
#pragma once

#include "delivery/localdelivery.h"
#include "auth/srs.h"
#include "outbound/signer.h"
#include "result.h"
#include "store/queuestore.h"

#include <QObject>

#include <functional>
#include <optional>

namespace valv::outbound {

struct Submission {
    QString sender;                          // envelope sender ("" = null path)
    std::optional<QString> localReturnPath;  // Return-Path of local copies when not `sender` (forwarding: the original sender)
    QString user;                            // the authenticated user ("" = the server itself)
    QByteArray message;                      // trace headers included
    QList<store::User> local;                // local mailboxes
    QList<store::QueueRecipient> remote;     // address, domain, notify, orcpt
    QString envid, ret;
    bool requireTls = false;
    bool smtpUtf8 = false;
    bool eightBit = false;
};

class Submitter {
public:
    Submitter(store::QueueStore *queue, const delivery::LocalDelivery *local, store::ConfigStore *config)
        : m_queue(queue), m_local(local), m_config(config), m_signer(config) {}

    // Called (on the submitting thread) with each entry as queued: the queue runner takes
    // it from there without scanning the store.
    void setQueued(std::function<void(const store::QueueEntry &)> queued) { m_queued = std::move(queued); }

    [[nodiscard]] Result<void> submit(const Submission &s);
    // Runs submit() on the thread pool; `done` runs on `context`'s thread.
    void submitAsync(QObject *context, Submission s, std::function<void(Result<void>)> done);

    // A report from this server (DSN) to `to` with the null reverse-path. A report to an
    // SRS address of ours (a forward that bounced) goes to the original sender.
    [[nodiscard]] Result<void> sendReport(const QString &to, const QByteArray &message);

    // The SRS settings (secret from config.db, made on first use).
    [[nodiscard]] Result<auth::SrsConfig> srsConfig() const;

    [[nodiscard]] store::QueueStore *queue() const { return m_queue; }

private:
    [[nodiscard]] QString signingDomain(const Submission &s) const;
    store::QueueStore *m_queue;
    const delivery::LocalDelivery *m_local;
    store::ConfigStore *m_config;
    DomainSigner m_signer;
    std::function<void(const store::QueueEntry &)> m_queued;
};

} // namespace valv::outbound
