// SPDX-License-Identifier: AGPL-3.0-or-later
// libFuzzer target for the Sender Rewriting Scheme (auth/srs). The input, as UTF-8, is
// reversed as a bounce address and forwarded as an envelope sender. Oracles besides
// "no crash, no sanitizer report":
// - reverse fails with one of the four SrsError codes and a text, and isSrsAddress agrees
//   with it about NotSrs; a reversed SRS0 address has an '@';
// - forward either returns the sender unchanged or an SRS0/SRS1 address at our domain;
//   it must rewrite every sender that looks like an address (non-empty local part without
//   '@', a domain free of '=', '@', '<', '>', blanks and controls, not our domain);
// - whatever forward rewrote reverses, at once and 21 days later, to the sender (SRS0
//   wrapping), to "SRS0" + the sender's local part after its tag @ its domain (an SRS0
//   sender wrapped in SRS1), or to the first hop's SRS0 address (an SRS1 sender re-hashed);
//   a day after the age limit an SRS0 address is Expired.
#include "auth/srs.h"

#include <QString>

#include <cstdint>
#include <cstdlib>

using namespace valv::auth;

namespace {

void check(bool ok)
{
    if (!ok)
        std::abort();
}

const QString kOur = QStringLiteral("fwd.test");
constexpr qint64 kDay = 86400;

bool looksLikeDomain(QStringView d)
{
    if (d.isEmpty())
        return false;
    for (QChar c : d)
        if (c == u'=' || c == u'@' || c == u'<' || c == u'>' || c.unicode() <= 0x20 || c.unicode() == 0x7f)
            return false;
    return true;
}

bool hasTag(QStringView local, char16_t digit)
{
    return local.size() >= 5 && local.first(3).compare(u"SRS", Qt::CaseInsensitive) == 0 && local[3] == digit
        && (local[4] == u'=' || local[4] == u'+' || local[4] == u'-');
}

void checkReverse(const QString &address, const SrsConfig &cfg, qint64 now)
{
    const auto r = srsReverse(address, cfg, now);
    if (r.ok()) {
        check(isSrsAddress(address));
        check(r->contains(u'@'));
        return;
    }
    const int code = r.error().code;
    check(code >= int(SrsError::NotSrs) && code <= int(SrsError::Malformed));
    check(!r.error().message.isEmpty());
    check(isSrsAddress(address) == (code != int(SrsError::NotSrs)));
}

void checkRoundTrip(const QString &sender, const SrsConfig &cfg, qint64 now)
{
    const QString fwd = srsForward(sender, kOur, cfg, now);
    const qsizetype at = sender.lastIndexOf(u'@');
    const QStringView local = at < 0 ? QStringView() : QStringView(sender).first(at);
    const QStringView domain = at < 0 ? QStringView() : QStringView(sender).sliced(at + 1);
    const bool local_ = domain.compare(kOur, Qt::CaseInsensitive) == 0 || domain.compare(u"fwd.test.", Qt::CaseInsensitive) == 0;
    const bool rewritable = at > 0 && !local.contains(u'@') && looksLikeDomain(domain) && !local_;
    if (fwd == sender) {
        check(!rewritable);
        return;
    }
    check(at > 0 && looksLikeDomain(domain) && !local_);
    check(fwd.endsWith(u"@fwd.test"));
    check(isSrsAddress(fwd));
    check(fwd.startsWith(u"SRS0=") || fwd.startsWith(u"SRS1="));

    QString expected = sender;
    if (hasTag(local, u'0')) {
        check(fwd.startsWith(u"SRS1="));
        expected = QStringLiteral("SRS0") + local.sliced(4).toString() + u'@' + domain.toString();
    } else if (fwd.startsWith(u"SRS1=")) {
        // An SRS1 sender: hash '=' hop '=' rest after the tag; we keep hop and rest.
        check(hasTag(local, u'1'));
        const QStringView body = local.sliced(5);
        const qsizetype e1 = body.indexOf(u'=');
        const qsizetype e2 = body.indexOf(u'=', e1 + 1);
        check(e1 >= 0 && e2 > e1);
        expected = QStringLiteral("SRS0") + body.sliced(e2 + 1).toString() + u'@' + body.sliced(e1 + 1, e2 - e1 - 1).toString();
    }
    for (qint64 later : {qint64(0), 21 * kDay}) {
        const auto r = srsReverse(fwd, cfg, now + later);
        check(r.ok() && *r == expected);
    }
    if (fwd.startsWith(u"SRS0=")) {
        const auto r = srsReverse(fwd, cfg, now + 22 * kDay);
        check(!r.ok() && r.error().code == int(SrsError::Expired));
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    const QString input = QString::fromUtf8(reinterpret_cast<const char *>(data), qsizetype(size));
    SrsConfig cfg;
    cfg.secret = "a fuzzing secret of some length";
    cfg.oldSecrets = {"an older fuzzing secret, rotated"};
    cfg.hashLength = 4 + int(size % 5);
    // A day that moves with the input, so slots near the 1024-day wrap get their turn.
    const qint64 now = 1700000000 + qint64(size % 1024) * kDay;
    checkReverse(input, cfg, now);
    checkRoundTrip(input, cfg, now);
    return 0;
}
