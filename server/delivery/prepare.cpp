// SPDX-License-Identifier: AGPL-3.0-or-later
#include "delivery/prepare.h"

#include "mime/messageindex.h"
#include "mime/searchtext.h"

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
    m.search = searchDocument(raw);
    return m;
}

} // namespace valv::delivery
