// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 7489 §3.2 Organizational Domain via libpsl (psl_builtin, psl_registrable_domain).
#include "auth/orgdomain.h"

#include <QUrl>

#include <libpsl.h>

namespace valv::auth {

QString normalizedDomain(const QString &domain)
{
    QString d = domain.trimmed();
    if (d.endsWith(u'.'))
        d.chop(1);
    bool ascii = true;
    for (QChar c : d) {
        if (c.unicode() >= 0x80) {
            ascii = false;
            break;
        }
    }
    if (!ascii) {
        const QByteArray ace = QUrl::toAce(d);
        if (!ace.isEmpty())
            d = QString::fromLatin1(ace);
    }
    return d.toLower();
}

QString organizationalDomain(const QString &domain)
{
    const QString d = normalizedDomain(domain);
    if (d.isEmpty())
        return d;
    const psl_ctx_t *psl = psl_builtin();
    if (!psl)
        return d;
    const QByteArray utf8 = d.toUtf8();
    if (utf8.contains('\0'))
        return d;
    // psl_registrable_domain returns a pointer into its argument, or null for a public
    // suffix (or a name it cannot place).
    const char *registrable = psl_registrable_domain(psl, utf8.constData());
    if (!registrable)
        return d;
    return QString::fromUtf8(registrable);
}

} // namespace valv::auth
