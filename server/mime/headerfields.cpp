// SPDX-License-Identifier: AGPL-3.0-or-later
#include "mime/headerfields.h"

#include "mime/headerparse.h"
#include "mime/mimetree.h"

namespace valv::mime {

QList<QByteArray> headerValues(const QByteArray &message, const char *name)
{
    const detail::Header header = detail::parseHeader(message, 0, message.size());
    QList<QByteArray> out;
    for (const detail::HeaderField &f : header.fields) {
        if (f.colon >= 0 && detail::fieldName(message, f).compare(name, Qt::CaseInsensitive) == 0)
            out.append(detail::fieldValue(message, f));
    }
    return out;
}

QList<QString> headerAddresses(const QByteArray &message, const char *name)
{
    QList<QString> out;
    for (const QByteArray &value : headerValues(message, name)) {
        for (const detail::Address &a : detail::parseAddressList(value)) {
            if (a.isGroupMarker() || a.mailbox.isEmpty() || a.host.isEmpty())
                continue;
            out.append(QString::fromUtf8(a.mailbox) + u'@' + QString::fromUtf8(a.host));
        }
    }
    return out;
}

qsizetype headerSectionLength(const QByteArray &message)
{
    return detail::parseHeader(message, 0, message.size()).end;
}

} // namespace valv::mime
