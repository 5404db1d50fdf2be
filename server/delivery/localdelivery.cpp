// SPDX-License-Identifier: AGPL-3.0-or-later
#include "delivery/localdelivery.h"

#include "core/pool.h"
#include "delivery/prepare.h"
#include "store/mailboxhub.h"

#include <QLoggingCategory>

Q_LOGGING_CATEGORY(lcDelivery, "valv.delivery")

namespace valv::delivery {

Result<void> LocalDelivery::deliver(const QByteArray &raw, const QList<store::User> &recipients,
                                    const QString &folder) const
{
    const store::NewMessage m = prepareMessage(raw, {}, QDateTime::currentDateTimeUtc());
    for (const store::User &u : recipients) {
        auto r = m_commits.append(u.id, folder, m);
        if (!r) {
            qCCritical(lcDelivery).noquote() << "cannot deliver to" << u.address << ":" << r.error().message;
            return makeError(int(DeliveryError::Store), r.error().message);
        }
        qCDebug(lcDelivery).noquote() << "delivered" << raw.size() << "bytes to" << u.address << "uid" << r->uid;
        store::MailboxHub::instance().notify(u.id, folder);
    }
    return {};
}

void LocalDelivery::deliverAsync(QObject *context, QByteArray raw, QList<store::User> recipients,
                                 std::function<void(Result<void>)> done, QString folder) const
{
    // The caller keeps `context` alive until `done` ran (Session::beginAsync).
    core::runPooled([this, context, raw = std::move(raw), recipients = std::move(recipients),
                                          done = std::move(done), folder = std::move(folder)] {
        Result<void> r = deliver(raw, recipients, folder);
        QMetaObject::invokeMethod(context, [done, r] { done(r); }, Qt::QueuedConnection);
        // After the answer: the search index catches up in batches (prepare.h).
        for (const store::User &u : recipients)
            (void)indexWaiting(m_opener, u.id);
    });
}

} // namespace valv::delivery
