// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 8461 §3.1 TXT record, §3.2 policy, §4.1 MX matching.
#include "outbound/mtasts.h"

#include <QByteArrayView>

#include <algorithm>
#include <optional>

namespace valv::outbound {

namespace {

Error err(MtaStsError code, const QString &text) { return makeError(int(code), text); }

bool isWsp(char c) { return c == ' ' || c == '\t'; }

bool isAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

QByteArrayView trimWsp(QByteArrayView v)
{
    while (!v.isEmpty() && isWsp(v.front()))
        v = v.sliced(1);
    while (!v.isEmpty() && isWsp(v.back()))
        v = v.chopped(1);
    return v;
}

// RFC 5321 Domain as A-labels: dot-separated labels of letters, digits and '-' (and '_',
// which real MX names sometimes carry), no empty label, 253 octets at most.
bool isDomain(QByteArrayView d)
{
    if (d.isEmpty() || d.size() > 253)
        return false;
    qsizetype labelLen = 0;
    for (char c : d) {
        if (c == '.') {
            if (labelLen == 0)
                return false;
            labelLen = 0;
        } else if (isAlnum(c) || c == '-' || c == '_') {
            if (++labelLen > 63)
                return false;
        } else {
            return false;
        }
    }
    return labelLen > 0;
}

// A normalized mx pattern ("*.b.test" or "mx.b.test", lower-case, no trailing dot), or
// empty when the value is not one.
QString mxPattern(QByteArrayView value)
{
    QByteArray v = value.toByteArray().toLower();
    if (v.endsWith('.'))
        v.chop(1);
    const QByteArrayView domain = v.startsWith("*.") ? QByteArrayView(v).sliced(2) : QByteArrayView(v);
    if (!isDomain(domain))
        return {};
    return QString::fromLatin1(v);
}

QString normalizedHost(const QString &host)
{
    QString h = host.trimmed().toLower();
    if (h.endsWith(u'.'))
        h.chop(1);
    return h;
}

} // namespace

// §3.1: sts-text-record = sts-version 1*(sts-field-delim sts-field) [sts-field-delim]
Result<MtaStsRecord> parseMtaStsRecord(const QByteArray &txt)
{
    const QList<QByteArray> fields = txt.split(';');
    if (trimWsp(fields.first()) != QByteArrayView("v=STSv1") || fields.first().startsWith(' ')
        || fields.first().startsWith('\t'))
        return err(MtaStsError::NotStsRecord, QStringLiteral("The record does not start with v=STSv1"));
    std::optional<QByteArray> id;
    for (qsizetype i = 1; i < fields.size(); ++i) {
        const QByteArrayView f = trimWsp(fields[i]);
        if (!f.startsWith("id=") || id)
            continue; // extensions (and empty fields, and repeated ids) are ignored
        id = f.sliced(3).toByteArray();
    }
    if (!id)
        return err(MtaStsError::BadId, QStringLiteral("The record has no id"));
    if (id->isEmpty() || id->size() > 32 || !std::all_of(id->begin(), id->end(), isAlnum))
        return err(MtaStsError::BadId, QStringLiteral("The record's id is not 1-32 letters and digits"));
    return MtaStsRecord{QString::fromLatin1(*id)};
}

// §3.2: "key: value" lines, CRLF or LF terminated.
Result<MtaStsPolicy> parseMtaStsPolicy(const QByteArray &body)
{
    if (body.size() > kMaxPolicySize)
        return err(MtaStsError::TooLarge, QStringLiteral("The policy is larger than 64 KiB"));
    std::optional<QByteArray> version, mode, maxAge;
    QStringList mx;
    bool sawMx = false;
    for (const QByteArray &rawLine : body.split('\n')) {
        QByteArrayView line = rawLine;
        if (line.endsWith('\r'))
            line.chop(1);
        const qsizetype colon = line.indexOf(':');
        if (colon < 0)
            continue;
        const QByteArrayView key = line.first(colon);
        const QByteArrayView value = trimWsp(line.sliced(colon + 1));
        if (key == "mx") {
            sawMx = true;
            const QString p = mxPattern(value);
            if (!p.isEmpty() && !mx.contains(p))
                mx << p;
        } else if (key == "version") {
            if (!version)
                version = value.toByteArray();
        } else if (key == "mode") {
            if (!mode)
                mode = value.toByteArray();
        } else if (key == "max_age") {
            if (!maxAge)
                maxAge = value.toByteArray();
        }
    }
    if (!version || *version != "STSv1")
        return err(MtaStsError::MissingVersion, QStringLiteral("The policy has no \"version: STSv1\""));

    MtaStsPolicy policy;
    if (!mode)
        return err(MtaStsError::MissingMode, QStringLiteral("The policy has no mode"));
    if (*mode == "enforce")
        policy.mode = MtaStsPolicy::Mode::Enforce;
    else if (*mode == "testing")
        policy.mode = MtaStsPolicy::Mode::Testing;
    else if (*mode == "none")
        policy.mode = MtaStsPolicy::Mode::None;
    else
        return err(MtaStsError::BadMode, QStringLiteral("Unknown policy mode \"%1\"").arg(QString::fromLatin1(*mode)));

    if (!maxAge)
        return err(MtaStsError::MissingMaxAge, QStringLiteral("The policy has no max_age"));
    // sts-policy-max-age-value = 1*10(DIGIT)
    if (maxAge->isEmpty() || maxAge->size() > 10
        || !std::all_of(maxAge->begin(), maxAge->end(), [](char c) { return c >= '0' && c <= '9'; }))
        return err(MtaStsError::BadMaxAge, QStringLiteral("max_age is not a number of seconds"));
    policy.maxAgeSeconds = maxAge->toLongLong();
    if (policy.maxAgeSeconds > kMaxPolicyAge)
        return err(MtaStsError::BadMaxAge, QStringLiteral("max_age is over 31557600 seconds"));

    if (policy.mode != MtaStsPolicy::Mode::None && mx.isEmpty())
        return err(MtaStsError::MissingMx, sawMx ? QStringLiteral("The policy has no valid mx pattern")
                                                 : QStringLiteral("The policy has no mx"));
    policy.mx = mx;
    return policy;
}

bool mxMatchesPolicy(const QString &mxHost, const QStringList &patterns)
{
    const QString host = normalizedHost(mxHost);
    if (host.isEmpty())
        return false;
    for (const QString &raw : patterns) {
        const QString p = normalizedHost(raw);
        if (p.startsWith(QLatin1String("*."))) {
            const QStringView suffix = QStringView(p).sliced(1); // ".b.test"
            if (suffix.size() < 2 || host.size() <= suffix.size() || !host.endsWith(suffix))
                continue;
            const QStringView label = QStringView(host).first(host.size() - suffix.size());
            if (!label.contains(u'.') && label != u"*")
                return true;
        } else if (!p.isEmpty() && p == host) {
            return true;
        }
    }
    return false;
}

} // namespace valv::outbound
