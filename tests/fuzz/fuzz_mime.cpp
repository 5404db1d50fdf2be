// SPDX-License-Identifier: AGPL-3.0-or-later
// libFuzzer target for server/mime: indexMessage, extractSection, extractBinary.
// Oracles besides "no crash, no sanitizer report":
// - ENVELOPE, BODY and BODYSTRUCTURE are balanced parenthesised lists once quoted
//   strings and literals are skipped, and literals announce their exact length;
// - every section other than HEADER.FIELDS[.NOT] is a substring of the input (sections
//   are stored bytes, never re-encoded);
// - BINARY of a 7bit part equals BODY of that part.
#include "mime/messageindex.h"

#include <QByteArray>
#include <QList>

#include <cstdint>
#include <cstdlib>

using namespace valv::mime;

namespace {

void check(bool ok)
{
    if (!ok)
        std::abort();
}

void checkBalanced(const QByteArray &s)
{
    qsizetype depth = 0;
    for (qsizetype i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '"') {
            for (++i; i < s.size() && s[i] != '"'; ++i) {
                check(s[i] != '\r' && s[i] != '\n' && uchar(s[i]) < 0x80);
                if (s[i] == '\\')
                    ++i;
            }
            check(i < s.size());
        } else if (c == '{') {
            const qsizetype close = s.indexOf('}', i);
            check(close > i);
            bool ok = false;
            const qsizetype len = s.mid(i + 1, close - i - 1).toLongLong(&ok);
            check(ok && len >= 0 && s.mid(close + 1, 2) == "\r\n");
            const qsizetype after = close + 3 + len;
            check(after <= s.size());
            i = after - 1;
        } else if (c == '(') {
            ++depth;
        } else if (c == ')') {
            check(--depth >= 0);
        }
    }
    check(depth == 0);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArray raw(reinterpret_cast<const char *>(data), qsizetype(size));

    const MessageIndex index = indexMessage(raw);
    checkBalanced(index.envelope);
    checkBalanced(index.bodyStructure);
    checkBalanced(index.body);

    static const QList<QList<uint32_t>> paths = {
        {}, {1}, {2}, {1, 1}, {1, 2}, {2, 1}, {2, 2}, {3, 1}, {1, 1, 1}, {2, 1, 2}, {4, 2, 1, 1},
    };
    static const SectionText texts[] = {SectionText::None, SectionText::Header,
                                        SectionText::Text, SectionText::Mime,
                                        SectionText::HeaderFields, SectionText::HeaderFieldsNot};
    const QList<QByteArray> fields = {"Subject", "from", "content-type"};
    for (const QList<uint32_t> &path : paths) {
        for (const SectionText text : texts) {
            const std::optional<QByteArray> s = extractSection(raw, path, text, fields);
            if (s && text != SectionText::HeaderFields && text != SectionText::HeaderFieldsNot)
                check(s->isEmpty() || raw.contains(*s));
        }
        bool unknown = false;
        const std::optional<QByteArray> b = extractBinary(raw, path, &unknown);
        check(!(b && unknown));
    }
    const QByteArray plain = "Content-Transfer-Encoding: 7bit\r\n\r\n" + raw;
    check(extractBinary(plain, {1}) == extractSection(plain, {1}));
    return 0;
}
