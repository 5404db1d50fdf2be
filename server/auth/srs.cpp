// SPDX-License-Identifier: AGPL-3.0-or-later
// Sender Rewriting Scheme, SRS0/SRS1 as libsrs2 lays them out; HMAC-SHA256 hashes.
#include "auth/srs.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <optional>

namespace valv::auth {

namespace {

constexpr qint64 kSecondsPerDay = 86400;
constexpr int kTimeSlots = 1024; // two base32 characters
constexpr int kMinHashLength = 4;
constexpr int kMaxHashLength = 43; // base64 of 32 bytes, unpadded
constexpr char kBase32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

Error err(SrsError code, const QString &text) { return makeError(int(code), text); }

bool isSeparator(QChar c) { return c == u'=' || c == u'+' || c == u'-'; }

// "SRS0" or "SRS1" (any case) and a separator: returns 0 or 1, or nothing.
std::optional<int> srsTag(QStringView local)
{
    if (local.size() < 5 || !local.startsWith(u"SRS", Qt::CaseInsensitive) || !isSeparator(local[4]))
        return std::nullopt;
    if (local[3] == u'0')
        return 0;
    if (local[3] == u'1')
        return 1;
    return std::nullopt;
}

// A domain we can carry in an SRS field and read back: '=' separates the fields, '@' the
// address; the rest rules out what cannot be a domain in an envelope at all.
bool isCarriableDomain(QStringView d)
{
    if (d.isEmpty())
        return false;
    return std::none_of(d.begin(), d.end(), [](QChar c) {
        return c == u'=' || c == u'@' || c == u'<' || c == u'>' || c.unicode() <= 0x20 || c.unicode() == 0x7f;
    });
}

QString concat(std::initializer_list<QStringView> parts)
{
    QString s;
    for (QStringView p : parts)
        s += p;
    return s;
}

QStringView withoutTrailingDot(QStringView d) { return d.endsWith(u'.') ? d.chopped(1) : d; }

int clampedHashLength(const SrsConfig &cfg) { return std::clamp(cfg.hashLength, kMinHashLength, kMaxHashLength); }

bool usableSecret(const QByteArray &secret) { return secret.size() >= kSrsMinSecretLength; }

// base64(HMAC-SHA256(secret, lower(f1 + f2 + f3))), unpadded, all 43 characters.
QByteArray fullHash(const QByteArray &secret, std::initializer_list<QStringView> fields)
{
    QByteArray data;
    for (QStringView f : fields)
        data += f.toUtf8();
    data = data.toLower(); // ASCII only in Qt 6
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdLen = 0;
    if (!HMAC(EVP_sha256(), secret.constData(), int(secret.size()), reinterpret_cast<const unsigned char *>(data.constData()),
              size_t(data.size()), md, &mdLen))
        return {};
    return QByteArray(reinterpret_cast<const char *>(md), int(mdLen)).toBase64(QByteArray::OmitTrailingEquals);
}

QString hashFor(const SrsConfig &cfg, std::initializer_list<QStringView> fields)
{
    return QString::fromLatin1(fullHash(cfg.secret, fields).left(clampedHashLength(cfg)));
}

// The presented hash matches one of our secrets, case ignored.
Result<void> checkHash(QStringView presented, const SrsConfig &cfg, std::initializer_list<QStringView> fields)
{
    const int len = clampedHashLength(cfg);
    if (presented.size() < len)
        return err(SrsError::BadHash, QStringLiteral("The SRS hash is too short"));
    if (presented.size() > kMaxHashLength)
        return err(SrsError::BadHash, QStringLiteral("The SRS hash is too long"));
    QByteArrayList secrets{cfg.secret};
    secrets += cfg.oldSecrets;
    for (const QByteArray &secret : std::as_const(secrets)) {
        if (!usableSecret(secret))
            continue;
        const QByteArray h = fullHash(secret, fields);
        if (h.size() >= presented.size()
            && QString::compare(presented, QLatin1StringView(h.left(presented.size())), Qt::CaseInsensitive) == 0)
            return {};
    }
    return err(SrsError::BadHash, QStringLiteral("The SRS hash does not match"));
}

int today(qint64 nowSeconds)
{
    // Floor division, so a (nonsensical) negative time still gives a slot in 0..1023.
    qint64 day = nowSeconds / kSecondsPerDay;
    if (nowSeconds % kSecondsPerDay < 0)
        --day;
    return int(((day % kTimeSlots) + kTimeSlots) % kTimeSlots);
}

QString encodeTimestamp(int slot)
{
    const char chars[2] = {kBase32[(slot >> 5) & 31], kBase32[slot & 31]};
    return QString::fromLatin1(chars, 2);
}

int base32Value(QChar c)
{
    const char16_t u = c.toUpper().unicode();
    if (u >= u'A' && u <= u'Z')
        return u - u'A';
    if (u >= u'2' && u <= u'7')
        return 26 + (u - u'2');
    return -1;
}

std::optional<int> decodeTimestamp(QStringView ts)
{
    if (ts.size() != 2)
        return std::nullopt;
    const int hi = base32Value(ts[0]);
    const int lo = base32Value(ts[1]);
    if (hi < 0 || lo < 0)
        return std::nullopt;
    return (hi << 5) | lo;
}

struct Split {
    QStringView local;
    QStringView domain;
};

std::optional<Split> splitAddress(QStringView address)
{
    const qsizetype at = address.lastIndexOf(u'@');
    if (at < 0)
        return std::nullopt;
    return Split{address.first(at), address.sliced(at + 1)};
}

struct Srs1Parts {
    QStringView hash;
    QStringView hop;
    QStringView rest; // the first hop's SRS0 local part after "SRS0": starts with a separator
};

// The SRS1 local part after its tag and separator: hash '=' hop '=' rest.
std::optional<Srs1Parts> parseSrs1(QStringView body)
{
    const qsizetype e1 = body.indexOf(u'=');
    if (e1 < 0)
        return std::nullopt;
    const qsizetype e2 = body.indexOf(u'=', e1 + 1);
    if (e2 < 0)
        return std::nullopt;
    Srs1Parts p{body.first(e1), body.sliced(e1 + 1, e2 - e1 - 1), body.sliced(e2 + 1)};
    if (p.hash.isEmpty() || p.hop.isEmpty() || p.rest.isEmpty())
        return std::nullopt;
    return p;
}

} // namespace

bool isSrsAddress(const QString &address)
{
    const auto split = splitAddress(address);
    return split && srsTag(split->local).has_value();
}

QString srsForward(const QString &sender, const QString &ourDomain, const SrsConfig &cfg, qint64 nowSeconds)
{
    if (sender.isEmpty() || sender == u"<>" || !usableSecret(cfg.secret) || !isCarriableDomain(ourDomain))
        return sender;
    const auto split = splitAddress(sender);
    if (!split || split->local.isEmpty() || !isCarriableDomain(split->domain))
        return sender;
    if (withoutTrailingDot(split->domain).compare(withoutTrailingDot(ourDomain), Qt::CaseInsensitive) == 0)
        return sender;

    const QStringView local = split->local;
    const std::optional<int> tag = srsTag(local);
    if (tag == 0) {
        // Rewritten by the first hop already: wrap it, keeping its SRS0 part as is (the
        // first hop checks that part's hash and age when the bounce comes back to it).
        const QStringView hop = split->domain;
        const QStringView rest = local.sliced(4);
        return concat({u"SRS1=", hashFor(cfg, {hop, rest}), u"=", hop, u"=", rest, u"@", ourDomain});
    }
    if (tag == 1) {
        if (const auto p = parseSrs1(local.sliced(5)); p && isCarriableDomain(p->hop))
            return concat({u"SRS1=", hashFor(cfg, {p->hop, p->rest}), u"=", p->hop, u"=", p->rest, u"@", ourDomain});
    }
    const QString ts = encodeTimestamp(today(nowSeconds));
    const QStringView domain = split->domain;
    return concat({u"SRS0=", hashFor(cfg, {ts, domain, local}), u"=", ts, u"=", domain, u"=", local, u"@", ourDomain});
}

Result<QString> srsReverse(const QString &address, const SrsConfig &cfg, qint64 nowSeconds)
{
    const auto split = splitAddress(address);
    const std::optional<int> tag = split ? srsTag(split->local) : std::nullopt;
    if (!tag)
        return err(SrsError::NotSrs, QStringLiteral("Not an SRS address"));
    const QStringView body = split->local.sliced(5);

    if (*tag == 1) {
        const auto p = parseSrs1(body);
        if (!p)
            return err(SrsError::Malformed, QStringLiteral("The SRS1 address lacks a hash, a hop or the original part"));
        if (auto r = checkHash(p->hash, cfg, {p->hop, p->rest}); !r)
            return r.error();
        return concat({u"SRS0", p->rest, u"@", p->hop});
    }

    // SRS0: hash '=' timestamp '=' domain '=' local; the local part may hold '=' itself.
    const qsizetype e1 = body.indexOf(u'=');
    const qsizetype e2 = e1 < 0 ? -1 : body.indexOf(u'=', e1 + 1);
    const qsizetype e3 = e2 < 0 ? -1 : body.indexOf(u'=', e2 + 1);
    if (e3 < 0)
        return err(SrsError::Malformed, QStringLiteral("The SRS0 address lacks a field"));
    const QStringView hash = body.first(e1);
    const QStringView ts = body.sliced(e1 + 1, e2 - e1 - 1);
    const QStringView domain = body.sliced(e2 + 1, e3 - e2 - 1);
    const QStringView local = body.sliced(e3 + 1);
    if (hash.isEmpty() || domain.isEmpty() || local.isEmpty())
        return err(SrsError::Malformed, QStringLiteral("The SRS0 address has an empty field"));
    const std::optional<int> then = decodeTimestamp(ts);
    if (!then)
        return err(SrsError::Malformed, QStringLiteral("The SRS0 timestamp is not two base32 characters"));
    if (auto r = checkHash(hash, cfg, {ts, domain, local}); !r)
        return r.error();
    const int age = (today(nowSeconds) - *then + kTimeSlots) % kTimeSlots;
    if (age > std::clamp(cfg.maxAgeDays, 0, kTimeSlots - 1))
        return err(SrsError::Expired, QStringLiteral("The SRS0 address is %1 days old").arg(age));
    return concat({local, u"@", domain});
}

} // namespace valv::auth
