// SPDX-License-Identifier: AGPL-3.0-or-later
// libFuzzer target for the SMTP client's reply parser (what another server sends us).
// Oracles besides "no crash, no sanitizer report": every reply has a code in 200..599
// and at most kMaxReplyLines lines; the events do not depend on how the bytes were
// split (fed whole and fed in two pieces at a position taken from the input).
#include "outbound/smtpreply.h"

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

QList<QString> run(const QByteArray &a, const QByteArray &b)
{
    ReplyParser p;
    QList<QString> out;
    for (const QByteArray &piece : {a, b}) {
        p.feed(piece);
        for (int guard = 0; guard < 100000; ++guard) {
            const ReplyParser::Event e = p.next();
            if (e.type == ReplyParser::Event::Type::NeedMore)
                break;
            if (e.type == ReplyParser::Event::Type::Malformed) {
                out.append(QStringLiteral("malformed"));
                return out;
            }
            check(e.reply.code >= 200 && e.reply.code <= 599);
            check(!e.lines.isEmpty() && e.lines.size() <= kMaxReplyLines);
            out.append(e.reply.toString() + u'|' + e.lines.join(u'\n'));
        }
    }
    return out;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArray input(reinterpret_cast<const char *>(data), qsizetype(size));
    const qsizetype cut = size ? qsizetype(data[0]) % (input.size() + 1) : 0;
    check(run(input, {}) == run(input.left(cut), input.mid(cut)));
    return 0;
}
