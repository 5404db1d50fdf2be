// SPDX-License-Identifier: AGPL-3.0-or-later
// Local delivery: index a message once, then commit it to each recipient's INBOX.
//
// Implementation notes
// - deliver() blocks (MIME parsing, one fsync'd commit per mailbox): call it on the
//   thread pool, never on a worker's event loop. deliverAsync() does that and calls
//   back on the caller's thread.
// - Success means every recipient's commit is on disk. On failure some recipients may
//   already hold the message; the sender retries after our 4xx and those recipients
//   see it twice — the SMTP rule that a 4xx never loses mail outranks a duplicate.
#pragma once

#include "delivery/groupcommit.h"
#include "result.h"
#include "store/configstore.h"
#include "store/mailstorecache.h"

#include <QDateTime>
#include <QObject>

#include <functional>

namespace valv::delivery {

enum class DeliveryError { Store = 1 };

class LocalDelivery {
public:
    explicit LocalDelivery(const store::MailStoreOpener *opener) : m_opener(opener), m_commits(opener) {}

    [[nodiscard]] Result<void> deliver(const QByteArray &raw, const QList<store::User> &recipients,
                                       const QString &folder = QStringLiteral("INBOX")) const;
    // Runs deliver() on the global thread pool; `done` runs on `context`'s thread.
    // `context` must outlive the call (sessions: beginAsync()/endAsync()).
    void deliverAsync(QObject *context, QByteArray raw, QList<store::User> recipients,
                      std::function<void(Result<void>)> done, QString folder = QStringLiteral("INBOX")) const;

    [[nodiscard]] const store::MailStoreOpener *opener() const { return m_opener; }

private:
    const store::MailStoreOpener *m_opener;
    mutable GroupCommit m_commits;
};

} // namespace valv::delivery
