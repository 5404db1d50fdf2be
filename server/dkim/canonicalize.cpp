// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 6376 §3.4.1 - §3.4.4 simple and relaxed canonicalization.
#include "dkim/canonicalize.h"

namespace valv::dkim {

namespace {

bool isWsp(char c) { return c == ' ' || c == '\t'; }

// End of the line starting at `pos`: the index of its LF (or size), and the index where
// its content ends (a CR before the LF is part of the line end).
struct Line {
    qsizetype contentEnd;
    qsizetype next; // first byte of the next line
};

Line lineAt(QByteArrayView s, qsizetype pos)
{
    const qsizetype lf = s.indexOf('\n', pos);
    if (lf < 0)
        return {s.size(), s.size()};
    const qsizetype end = (lf > pos && s[lf - 1] == '\r') ? lf - 1 : lf;
    return {end, lf + 1};
}

QByteArrayView trimWsp(QByteArrayView v)
{
    qsizetype b = 0, e = v.size();
    while (b < e && isWsp(v[b]))
        ++b;
    while (e > b && isWsp(v[e - 1]))
        --e;
    return v.sliced(b, e - b);
}

} // namespace

bool splitMessage(QByteArrayView message, SplitMessage *out)
{
    out->fields.clear();
    out->body = {};
    qsizetype pos = 0;
    while (pos < message.size()) {
        const Line line = lineAt(message, pos);
        if (line.contentEnd == pos) { // the empty line ending the header
            out->body = message.sliced(line.next);
            return true;
        }
        if (isWsp(message[pos])) {
            if (out->fields.isEmpty())
                return false; // a continuation with nothing to continue
            HeaderField &f = out->fields.last();
            f.value = QByteArrayView(f.value.data(), message.data() + line.contentEnd);
        } else {
            qsizetype colon = pos;
            while (colon < line.contentEnd && message[colon] != ':') {
                const auto c = static_cast<unsigned char>(message[colon]);
                if (c < 0x21 || c > 0x7e) {
                    if (!isWsp(message[colon]))
                        return false;
                }
                ++colon;
            }
            if (colon == line.contentEnd)
                return false;
            const QByteArrayView name = trimWsp(message.sliced(pos, colon - pos));
            // WSP is allowed only between the name and the colon, not inside the name.
            if (name.isEmpty() || name.contains(' ') || name.contains('\t'))
                return false;
            out->fields.append({name, message.sliced(colon + 1, line.contentEnd - colon - 1)});
        }
        pos = line.next;
    }
    return true; // header only, no body
}

QByteArrayView rawField(const HeaderField &field)
{
    if (field.name.isEmpty())
        return field.value;
    return QByteArrayView(field.name.data(), field.value.data() + field.value.size());
}

QByteArray canonicalizeHeaderSimple(QByteArrayView field)
{
    QByteArray out;
    out.reserve(field.size() + 8);
    qsizetype pos = 0;
    while (pos < field.size()) {
        const Line line = lineAt(field, pos);
        out += field.sliced(pos, line.contentEnd - pos);
        if (line.next > line.contentEnd) // an LF (with or without its CR) ended the line
            out += "\r\n";
        pos = line.next;
    }
    return out;
}

QByteArray canonicalizeHeaderRelaxed(QByteArrayView name, QByteArrayView value)
{
    QByteArray out;
    out.reserve(name.size() + value.size() + 1);
    out += trimWsp(name).toByteArray().toLower();
    out += ':';
    // Unfold (drop the CR and LF of line ends) and reduce WSP runs; a folded line end is
    // followed by WSP, so the run it sits in becomes one SP. WSP before the first and
    // after the last other byte is dropped.
    bool started = false;
    bool pendingSpace = false;
    for (const char c : value) {
        if (c == '\r' || c == '\n')
            continue;
        if (isWsp(c)) {
            pendingSpace = started;
            continue;
        }
        if (pendingSpace)
            out += ' ';
        pendingSpace = false;
        started = true;
        out += c;
    }
    return out;
}

namespace {
// The body line by line (RFC 6376 §3.4.3/§3.4.4): `appendLine` writes one line's content
// (without its line end) to `out`; every line then ends in CRLF, and trailing empty lines
// are dropped.
template <typename AppendLine>
QByteArray canonicalLines(QByteArrayView body, AppendLine appendLine)
{
    QByteArray out;
    out.reserve(body.size() + 2);
    qsizetype keep = 0; // out's size up to the last non-empty line
    qsizetype pos = 0;
    while (pos < body.size()) {
        const Line line = lineAt(body, pos);
        const qsizetype lineStart = out.size();
        appendLine(out, body.sliced(pos, line.contentEnd - pos));
        const bool empty = out.size() == lineStart;
        out += "\r\n";
        if (!empty)
            keep = out.size();
        pos = line.next;
    }
    out.truncate(keep);
    return out;
}
} // namespace

QByteArray canonicalizeBodyRelaxed(QByteArrayView body)
{
    return canonicalLines(body, [](QByteArray &out, QByteArrayView line) {
        bool pendingSpace = false;
        for (const char c : line) {
            if (isWsp(c)) {
                pendingSpace = true;
                continue;
            }
            if (pendingSpace) // leading WSP too becomes one SP; trailing WSP is never written
                out += ' ';
            pendingSpace = false;
            out += c;
        }
        // A line of only WSP writes nothing: it is empty once its trailing WSP is removed.
    });
}

QByteArray canonicalizeBodySimple(QByteArrayView body)
{
    QByteArray out = canonicalLines(body, [](QByteArray &out, QByteArrayView line) { out += line; });
    if (out.isEmpty())
        out = "\r\n";
    return out;
}

} // namespace valv::dkim
