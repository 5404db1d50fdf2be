// SPDX-License-Identifier: AGPL-3.0-or-later
// libFuzzer target for the outbound pure parsers: the MTA-STS TXT record and policy
// (RFC 8461), xtext (RFC 3461) and the DSN builder fed hostile originals and replies.
// Oracles besides "no crash, no sanitizer report":
// - a parsed record's id is 1-32 alphanumerics; a parsed policy has max_age in
//   0..31557600, lower-case mx patterns, at least one unless mode is none, and each
//   plain (non-wildcard) pattern matches itself as an MX host;
// - xtextDecode(xtextEncode(x)) == x, and the encoding is printable ASCII without '=';
// - a DSN built around the input has CRLF line ends only, no line over 998 octets, and
//   exactly three parts between its boundaries.
#include "outbound/dsn.h"
#include "outbound/mtasts.h"

#include <QByteArray>

#include <cstdint>
#include <cstdlib>

using namespace valv::outbound;

namespace {

void check(bool ok)
{
    if (!ok)
        std::abort();
}

void checkRecord(const QByteArray &input)
{
    const auto r = parseMtaStsRecord(input);
    if (!r.ok())
        return;
    check(!r->id.isEmpty() && r->id.size() <= 32);
    for (QChar c : r->id)
        check(c.isDigit() || (c.unicode() < 0x80 && c.isLetter()));
}

void checkPolicy(const QByteArray &input)
{
    const auto p = parseMtaStsPolicy(input);
    if (!p.ok()) {
        check(!p.error().message.isEmpty());
        return;
    }
    check(p->maxAgeSeconds >= 0 && p->maxAgeSeconds <= kMaxPolicyAge);
    check(p->mode == MtaStsPolicy::Mode::None || !p->mx.isEmpty());
    for (const QString &mx : p->mx) {
        check(mx == mx.toLower() && !mx.isEmpty() && !mx.endsWith(u'.'));
        if (!mx.startsWith(u'*'))
            check(mxMatchesPolicy(mx, p->mx));
        else
            check(!mxMatchesPolicy(mx.mid(2), {mx})); // never the bare parent
    }
}

void checkXtext(const QByteArray &input)
{
    const QByteArray enc = xtextEncode(input);
    for (char c : enc)
        check(uchar(c) >= 33 && uchar(c) <= 126 && c != '=');
    check(xtextDecode(enc) == input);
    (void)xtextDecode(input);
}

void checkDsn(const QByteArray &input, bool headersOnly)
{
    DsnInput in;
    in.reportingMta = QStringLiteral("mail.a.test");
    in.sender = QString::fromUtf8(input.left(64));
    in.envelopeId = QString::fromLatin1(xtextDecode(input.left(100)));
    in.now = QDateTime::fromSecsSinceEpoch(1700000000, Qt::UTC);
    in.arrivalDate = in.now;
    in.messageId = "<x@mail.a.test>";
    in.boundary = input.left(20); // hostile boundaries are sanitized or replaced
    in.original = input;
    in.headersOnly = headersOnly;
    in.maxReturnedSize = 4096;
    DsnRecipient r;
    r.finalRecipient = QString::fromUtf8(input.left(40));
    r.originalRecipient = QString::fromUtf8(input.mid(5, 60));
    r.action = DsnRecipient::Action(input.isEmpty() ? 0 : uchar(input[0]) % 5);
    r.status = QString::fromLatin1(input.left(7));
    r.remoteMta = QString::fromUtf8(input.mid(3, 50));
    r.diagnostic = QString::fromUtf8(input);
    r.willRetryUntil = in.now;
    in.recipients = {r, r};

    const QByteArray msg = buildDsn(in);
    qsizetype lineStart = 0;
    for (qsizetype i = 0; i < msg.size(); ++i) {
        if (msg[i] == '\r') {
            check(i + 1 < msg.size() && msg[i + 1] == '\n');
        } else if (msg[i] == '\n') {
            check(i > 0 && msg[i - 1] == '\r');
            check(i - 1 - lineStart <= 998);
            lineStart = i + 1;
        }
    }
    check(msg.endsWith("\r\n"));
    const qsizetype b = msg.indexOf("boundary=\"");
    check(b > 0);
    const QByteArray boundary = msg.mid(b + 10, msg.indexOf('"', b + 10) - b - 10);
    check(!boundary.isEmpty() && boundary.size() <= 70);
    check(msg.count("\r\n--" + boundary + "\r\n") == 3);
    check(msg.count("\r\n--" + boundary + "--\r\n") == 1);
    check(msg.endsWith("\r\n--" + boundary + "--\r\n"));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 80 * 1024)
        return 0;
    const QByteArray input(reinterpret_cast<const char *>(data), qsizetype(size));
    checkRecord(input);
    checkPolicy(input);
    checkXtext(input);
    checkDsn(input, size % 2);
    return 0;
}
