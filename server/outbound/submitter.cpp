// SPDX-License-Identifier: AGPL-3.0-or-later
#include "outbound/submitter.h"

#include "core/pool.h"
#include "delivery/prepare.h"
#include "mime/headerfields.h"

#include <QDateTime>

namespace valv::outbound {

namespace {
using store::ConfigStore;
} // namespace

QString Submitter::signingDomain(const Submission &s) const
{
    const QList<QString> from = mime::headerAddresses(s.message, "From");
    if (from.size() == 1 && m_config->isLocalDomain(ConfigStore::domainOf(from.first())))
        return ConfigStore::domainOf(from.first());
    if (!s.sender.isEmpty() && m_config->isLocalDomain(ConfigStore::domainOf(s.sender)))
        return ConfigStore::domainOf(s.sender);
    return {};
}

Result<void> Submitter::submit(const Submission &s)
{
    if (!s.local.isEmpty()) {
        // RFC 5321 §4.4: the final delivery records the envelope sender.
        const QByteArray returnPath = "Return-Path: <" + s.localReturnPath.value_or(s.sender).toUtf8() + ">\r\n";
        if (auto r = m_local->deliver(returnPath + s.message, s.local); !r)
            return r;
    }
    if (s.remote.isEmpty())
        return {};
    QByteArray body = s.message;
    const qint64 now = QDateTime::currentSecsSinceEpoch();
    if (const QString domain = signingDomain(s); !domain.isEmpty()) {
        auto signature = m_signer.sign(s.message, domain, now);
        if (!signature)
            return signature.error();
        body.prepend(*signature);
    }
    store::QueueEntry e;
    e.sender = s.sender;
    e.user = s.user;
    e.envid = s.envid;
    e.ret = s.ret;
    e.requireTls = s.requireTls;
    e.smtpUtf8 = s.smtpUtf8;
    e.eightBit = s.eightBit;
    e.created = now;
    e.recipients = s.remote;
    store::QueueEntry stored;
    auto id = m_queue->enqueue(e, body, &stored);
    if (!id)
        return id.error();
    if (m_queued)
        m_queued(stored);
    return {};
}

void Submitter::submitAsync(QObject *context, Submission s, std::function<void(Result<void>)> done)
{
    // The caller keeps `context` alive until `done` ran (Session::beginAsync).
    core::runPooled([this, context, s = std::move(s), done = std::move(done)] {
        Result<void> r = submit(s);
        QMetaObject::invokeMethod(context, [done, r] { done(r); }, Qt::QueuedConnection);
        // After the answer: the search index catches up in batches (prepare.h).
        for (const store::User &u : s.local)
            (void)delivery::indexWaiting(m_local->opener(), u.id);
    });
}

Result<auth::SrsConfig> Submitter::srsConfig() const
{
    auto secret = m_config->secret(QStringLiteral("srs_secret"));
    if (!secret)
        return secret.error();
    auth::SrsConfig c;
    c.secret = *secret;
    return c;
}

Result<void> Submitter::sendReport(const QString &toIn, const QByteArray &message)
{
    QString to = toIn;
    if (auth::isSrsAddress(to) && m_config->isLocalDomain(ConfigStore::domainOf(to))) {
        auto cfg = srsConfig();
        if (!cfg)
            return cfg.error();
        auto original = auth::srsReverse(to, *cfg, QDateTime::currentSecsSinceEpoch());
        if (!original)
            return makeError(original.error().code, QStringLiteral("SRS address %1: %2").arg(to, original.error().message));
        to = *original;
    }
    Submission s;
    s.message = message;
    auto local = m_config->resolveRecipient(to);
    if (local) {
        s.local = *local;
    } else if (local.error().code == int(store::ConfigError::NotLocal)) {
        store::QueueRecipient r;
        r.address = to;
        r.domain = ConfigStore::domainOf(to);
        r.notify = QStringLiteral("NEVER"); // RFC 3461 §6.2: no report about a report
        s.remote.append(r);
    } else {
        return local.error();
    }
    return submit(s);
}

} // namespace valv::outbound
