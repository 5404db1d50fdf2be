// SPDX-License-Identifier: AGPL-3.0-or-later
#include "delivery/prepare.h"

#include "core/pool.h"
#include "crlfsize.h"
#include "mime/messageindex.h"
#include "mime/searchtext.h"

#include <QLoggingCategory>
#include <QMutex>
#include <QSet>

Q_LOGGING_CATEGORY(lcIndex, "valv.index")

namespace valv::delivery {

store::SearchDocument searchDocument(const QByteArray &raw)
{
    // The same decoded text the SEARCH evaluator reads (mime/searchtext.h), so that the
    // index and a search without it agree.
    const mime::SearchText text = mime::searchText(raw);
    const QChar sep = store::kSearchValueSeparator;
    store::SearchDocument doc;
    for (const mime::SearchHeader &h : text.headers) {
        doc.headers += QString::fromLatin1(h.name) + sep + h.value + sep;
        const auto add = [&](QByteArrayView name, QString &column) {
            if (QByteArrayView(h.name).compare(name, Qt::CaseInsensitive) == 0)
                column += h.value + sep;
        };
        add("From", doc.from);
        add("To", doc.to);
        add("Cc", doc.cc);
        add("Bcc", doc.bcc);
        add("Subject", doc.subject);
    }
    doc.body = text.body;
    return doc;
}

store::NewMessage prepareMessage(const QByteArray &raw, const QList<QByteArray> &flags, const QDateTime &internalDate)
{
    const mime::MessageIndex index = mime::indexMessage(raw);
    store::NewMessage m;
    m.raw = raw;
    m.flags = flags;
    m.internalDate = internalDate;
    m.envelope = index.envelope;
    m.bodyStructure = index.bodyStructure;
    m.body = index.body;
    m.headerLength = index.headerLength;
    m.crlfSize = crlfSize(raw);
    return m; // no SearchDocument: indexed in a batch later (indexWaiting)
}

bool indexWaiting(const store::MailStoreOpener *opener, const QString &userId, bool force)
{
    auto mail = opener->cached(userId);
    if (!mail) {
        qCWarning(lcIndex).noquote() << "search index: cannot open mailbox:" << mail.error().message;
        return false;
    }
    auto waiting = (*mail)->indexPending(searchDocument, 0);
    if (!waiting) {
        qCWarning(lcIndex).noquote() << "search index:" << waiting.error().message;
        return false;
    }
    if (*waiting == 0 || (!force && *waiting < kIndexBatchAt))
        return true;
    while (*waiting > 0) {
        waiting = (*mail)->indexPending(searchDocument, kIndexBatchSize);
        if (!waiting) {
            qCWarning(lcIndex).noquote() << "search index:" << waiting.error().message;
            return false;
        }
    }
    return true;
}

void indexInBackground(const store::MailStoreOpener *opener, const QString &userId)
{
    static QMutex mutex;
    static QSet<QString> running;
    {
        QMutexLocker lock(&mutex);
        if (running.contains(userId))
            return;
        running.insert(userId);
    }
    core::runPooled([opener, userId] {
        (void)indexWaiting(opener, userId, true);
        QMutexLocker lock(&mutex);
        running.remove(userId);
    });
}

} // namespace valv::delivery
