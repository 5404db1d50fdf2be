// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 9051 §6.4.4 (decoded text for SEARCH), RFC 2047 (encoded words), RFC 2045 §6
// (transfer encodings), RFC 5256 §2.2 / §3 (SORT and THREAD header values).
// glib's headers use `signals` as an identifier, which Qt defines as a macro: they go first.
#include <gmime/gmime.h>

#include "mime/searchtext.h"

#include "mime/headerparse.h"
#include "mime/mimetree.h"
#include "mime/gmimeutil.h"
#include "mime/transferdecode.h"

#include <QStringDecoder>

#include <algorithm>
#include <mutex>

namespace valv::mime {

using namespace detail;

namespace {

bool isValidUtf8(const QByteArray &b)
{
    QStringDecoder d(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless);
    (void)d.decode(b);
    return !d.hasError();
}

bool isAscii(const QByteArray &b)
{
    return std::all_of(b.begin(), b.end(), [](char c) { return uchar(c) < 0x80; });
}

// An unfolded header value with its RFC 2047 encoded words decoded.
QString decodeHeaderText(const QByteArray &value)
{
    if (value.isEmpty())
        return QString();
    const bool ascii = isAscii(value);
    if (ascii && !value.contains("=?"))
        return QString::fromLatin1(value);
    if (!ascii && isValidUtf8(value) && !value.contains("=?"))
        return QString::fromUtf8(value); // RFC 6532 UTF-8 header
    ensureGMime();
    QByteArray nul = value;
    nul.replace('\0', ' ');
    char *s = g_mime_utils_header_decode_text(nullptr, nul.constData());
    if (!s)
        return QString::fromLatin1(value);
    QString out = QString::fromUtf8(s);
    g_free(s);
    return out;
}

QString decodeCharset(QByteArrayView bytes, const QByteArray &charset)
{
    if (!charset.isEmpty()) {
        QStringDecoder d(charset.constData());
        if (d.isValid())
            return d.decode(bytes);
    }
    if (charset.isEmpty() && isValidUtf8(bytes.toByteArray()))
        return QString::fromUtf8(bytes); // no charset: us-ascii per RFC 2045, but UTF-8 is common
    return QString::fromLatin1(bytes);
}

QByteArray paramOf(const Params &params, const char *name)
{
    for (const auto &p : params) {
        if (p.first.compare(name, Qt::CaseInsensitive) == 0)
            return p.second.trimmed();
    }
    return {};
}

void appendHeaderText(const QByteArray &raw, const Header &h, QString &out)
{
    for (const HeaderField &f : h.fields) {
        if (f.colon < 0)
            continue;
        out += QString::fromLatin1(fieldName(raw, f));
        out += QLatin1String(": ");
        out += decodeHeaderText(fieldValue(raw, f));
        out += u'\n';
    }
}

const Address *firstAddress(const QList<Address> &list)
{
    for (const Address &a : list) {
        if (!a.isGroupMarker())
            return &a;
    }
    return nullptr;
}

QString displayOf(const Address *a)
{
    if (!a)
        return {};
    if (!a->name.isEmpty())
        return decodeHeaderText(a->name);
    const QByteArray spec = a->host.isEmpty() || a->host == "MISSING_DOMAIN" ? a->mailbox : a->mailbox + '@' + a->host;
    return QString::fromUtf8(spec);
}

} // namespace

QList<QString> SearchText::values(QByteArrayView name) const
{
    QList<QString> out;
    for (const SearchHeader &h : headers) {
        if (QByteArrayView(h.name).compare(name, Qt::CaseInsensitive) == 0)
            out.append(h.value);
    }
    return out;
}

SearchText searchText(const QByteArray &raw, SearchParts parts, qsizetype maxBodyChars)
{
    SearchText out;
    const Header top = parseHeader(raw, 0, raw.size());
    for (const HeaderField &f : top.fields) {
        if (f.colon < 0)
            continue;
        // Folding whitespace is not content: "a\r\n  b" matches "a b".
        out.headers.append(SearchHeader{fieldName(raw, f), decodeHeaderText(fieldValue(raw, f)).simplified()});
    }
    if (parts == SearchParts::Headers)
        return out;

    const Tree tree = parseTree(raw);
    for (size_t i = 0; i < tree.parts.size(); ++i) {
        if (out.body.size() >= maxBodyChars) {
            out.truncated = true;
            break;
        }
        const Part &p = tree.parts[i];
        if (p.messageRoot && i != 0)
            appendHeaderText(raw, p.header, out.body);
        if (p.kind != Part::Kind::Leaf)
            continue;
        const bool text = p.content.type.isEmpty() || p.content.type.compare("text", Qt::CaseInsensitive) == 0;
        if (!text)
            continue;
        const QByteArrayView content(raw.constData() + p.bodyStart, p.bodyEnd - p.bodyStart);
        const auto decoded = decodeTransfer(p.content.cte, content);
        out.body += decodeCharset(decoded ? QByteArrayView(*decoded) : content, paramOf(p.content.params, "charset"));
        out.body += u'\n';
    }
    if (out.body.size() > maxBodyChars) {
        out.body.truncate(maxBodyChars);
        out.truncated = true;
    }
    return out;
}

std::optional<QDateTime> sentDate(const QByteArray &raw)
{
    const Header h = parseHeader(raw, 0, raw.size());
    return parseDate(firstValue(raw, h, "Date"));
}

QList<QByteArray> messageIds(const QByteArray &value)
{
    QList<QByteArray> out;
    qsizetype pos = 0;
    while (pos < value.size()) {
        const qsizetype open = value.indexOf('<', pos);
        if (open < 0)
            break;
        const qsizetype close = value.indexOf('>', open + 1);
        if (close < 0)
            break;
        QByteArray id = value.mid(open + 1, close - open - 1);
        id.replace(' ', QByteArray()).replace('\t', QByteArray()); // folding inside an id
        // A nested '<' means the first one was stray: restart from the inner one.
        const qsizetype inner = id.lastIndexOf('<');
        if (inner >= 0)
            id = id.mid(inner + 1);
        if (!id.isEmpty() && id.contains('@'))
            out.append(id);
        pos = close + 1;
    }
    return out;
}

SortFields sortFields(const QByteArray &raw)
{
    SortFields out;
    const Header h = parseHeader(raw, 0, raw.size());
    out.date = parseDate(firstValue(raw, h, "Date"));
    out.subject = decodeHeaderText(firstValue(raw, h, "Subject"));
    const QList<Address> from = parseAddressList(firstValue(raw, h, "From"));
    const QList<Address> to = parseAddressList(firstValue(raw, h, "To"));
    const QList<Address> cc = parseAddressList(firstValue(raw, h, "Cc"));
    if (const Address *a = firstAddress(from))
        out.fromMailbox = QString::fromUtf8(a->mailbox);
    if (const Address *a = firstAddress(to))
        out.toMailbox = QString::fromUtf8(a->mailbox);
    if (const Address *a = firstAddress(cc))
        out.ccMailbox = QString::fromUtf8(a->mailbox);
    out.fromDisplay = displayOf(firstAddress(from));
    out.toDisplay = displayOf(firstAddress(to));
    const QList<QByteArray> ids = messageIds(firstValue(raw, h, "Message-ID"));
    if (!ids.isEmpty())
        out.messageId = ids.first();
    out.references = messageIds(firstValue(raw, h, "References"));
    if (out.references.isEmpty()) {
        const QList<QByteArray> reply = messageIds(firstValue(raw, h, "In-Reply-To"));
        if (!reply.isEmpty())
            out.references.append(reply.first());
    }
    if (out.references.size() > kMaxReferences)
        out.references = out.references.mid(out.references.size() - kMaxReferences);
    return out;
}

} // namespace valv::mime
