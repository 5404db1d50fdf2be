// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 9051 §7.5.2 ENVELOPE, BODY and BODYSTRUCTURE; §6.4.5 BODY[section]; RFC 3516 BINARY.
//
// Implementation notes
// - Output follows Dovecot's lib-imap (imap-bodystructure.c, imap-envelope.c), the server
//   most clients are tested against: type/subtype, parameter names and the transfer
//   encoding keep the case they were sent in; defaults are written "text" "plain"
//   ("charset" "us-ascii") and "7bit"; a text/* part without a charset parameter gets
//   ("charset" "us-ascii") appended; a multipart without parts gets one empty text/plain.
// - Sizes and line counts are of the stored bytes (what BODY[n] returns), so a client
//   that checks RFC822.SIZE / part sizes against the bytes it fetched always agrees.
// - Envelope strings are the raw unfolded header values (encoded words kept); decoded
//   values only go to the MessageIndex fields meant for SEARCH/SORT and the UI.
// - The structure scan lives in mimetree.cpp, header-value parsing in headerparse.cpp.
// glib's headers use `signals` as an identifier, which Qt defines as a macro: they go first.
#include <gmime/gmime.h>

#include "mime/messageindex.h"

#include "mime/headerparse.h"
#include "mime/mimetree.h"
#include "mime/gmimeutil.h"
#include "mime/transferdecode.h"

#include <mutex>

namespace valv::mime {

using namespace detail;

namespace {

QString fromGChar(char *s)
{
    if (!s)
        return {};
    QString out = QString::fromUtf8(s);
    g_free(s);
    return out;
}

// Dovecot's imap_append_nstring_nolf: NIL when absent, line breaks flattened.
QByteArray nstring(const QByteArray &value)
{
    if (value.isNull())
        return QByteArrayLiteral("NIL");
    QByteArray v = value;
    for (char &c : v) {
        if (c == '\r' || c == '\n' || c == '\0')
            c = ' ';
    }
    return imapString(v);
}

void writeAddresses(QByteArray &out, const QList<Address> &list)
{
    if (list.isEmpty()) {
        out += "NIL";
        return;
    }
    out += '(';
    for (const Address &a : list) {
        out += '(';
        out += nstring(a.name);
        out += ' ';
        out += nstring(a.adl);
        out += ' ';
        out += nstring(a.mailbox);
        out += ' ';
        out += nstring(a.host);
        out += ')';
    }
    out += ')';
}

QList<Address> addressesOf(const QByteArray &raw, const Header &h, const char *name)
{
    const QByteArray value = firstValue(raw, h, name);
    return value.isNull() ? QList<Address>() : parseAddressList(value);
}

QByteArray envelopeOf(const QByteArray &raw, const Header &h)
{
    QByteArray out("(");
    out += nstring(firstValue(raw, h, "Date"));
    out += ' ';
    out += nstring(firstValue(raw, h, "Subject"));
    const QList<Address> from = addressesOf(raw, h, "From");
    QList<Address> sender = addressesOf(raw, h, "Sender");
    QList<Address> replyTo = addressesOf(raw, h, "Reply-To");
    // RFC 9051 §7.5.2: absent or empty Sender / Reply-To take the From value.
    if (sender.isEmpty())
        sender = from;
    if (replyTo.isEmpty())
        replyTo = from;
    for (const QList<Address> &list : {from, sender, replyTo, addressesOf(raw, h, "To"),
                                       addressesOf(raw, h, "Cc"), addressesOf(raw, h, "Bcc")}) {
        out += ' ';
        writeAddresses(out, list);
    }
    out += ' ';
    out += nstring(firstValue(raw, h, "In-Reply-To"));
    out += ' ';
    out += nstring(firstValue(raw, h, "Message-ID"));
    out += ')';
    return out;
}

void writeParams(QByteArray &out, const Params &params, bool defaultCharset)
{
    if (params.isEmpty() && !defaultCharset) {
        out += "NIL";
        return;
    }
    out += '(';
    bool seenCharset = false;
    bool first = true;
    for (const auto &[name, value] : params) {
        if (!first)
            out += ' ';
        first = false;
        seenCharset = seenCharset || name.compare("charset", Qt::CaseInsensitive) == 0;
        out += imapString(name);
        out += ' ';
        out += imapString(value);
    }
    if (defaultCharset && !seenCharset) {
        if (!first)
            out += ' ';
        out += R"("charset" "us-ascii")";
    }
    out += ')';
}

// disposition, language, location: the extension data shared by all part kinds.
void writeCommonExtension(QByteArray &out, const ContentInfo &c)
{
    out += ' ';
    if (c.disposition.isNull()) {
        out += "NIL";
    } else {
        out += '(';
        out += imapString(c.disposition);
        out += ' ';
        writeParams(out, c.dispositionParams, false);
        out += ')';
    }
    out += ' ';
    if (c.language.isEmpty()) {
        out += "NIL";
    } else {
        out += '(';
        for (qsizetype i = 0; i < c.language.size(); ++i) {
            if (i > 0)
                out += ' ';
            out += imapString(c.language[i]);
        }
        out += ')';
    }
    out += ' ';
    out += nstring(c.location);
}

class StructureWriter {
public:
    StructureWriter(const QByteArray &raw, const Tree &tree, bool extended)
        : m_raw(raw), m_tree(tree), m_extended(extended)
    {
    }

    // Recursion depth is bounded by kMaxDepth (mimetree.h).
    void write(QByteArray &out, int index) const
    {
        const Part &p = m_tree.parts[size_t(index)];
        if (p.kind == Part::Kind::Multipart)
            writeMultipart(out, p);
        else
            writeSingle(out, p);
    }

private:
    void writeMultipart(QByteArray &out, const Part &p) const
    {
        if (p.children.isEmpty()) {
            out += m_extended ? R"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL))"
                              : R"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0))";
        }
        for (const int child : p.children) {
            out += '(';
            write(out, child);
            out += ')';
        }
        out += ' ';
        out += imapString(p.content.subtype);
        if (!m_extended)
            return;
        out += ' ';
        writeParams(out, p.content.params, false);
        writeCommonExtension(out, p.content);
    }

    void writeSingle(QByteArray &out, const Part &p) const
    {
        const ContentInfo &c = p.content;
        const bool message = p.kind == Part::Kind::Message;
        bool text = false;
        if (message && c.subtype.compare("rfc822", Qt::CaseInsensitive) == 0) {
            out += R"("message" "rfc822")";
        } else if (c.type.isEmpty()) {
            text = true;
            out += R"("text" "plain")";
        } else {
            text = c.type.compare("text", Qt::CaseInsensitive) == 0;
            out += imapString(c.type);
            out += ' ';
            out += imapString(c.subtype);
        }
        out += ' ';
        writeParams(out, c.params, text);
        out += ' ';
        out += nstring(c.id);
        out += ' ';
        out += nstring(c.description);
        out += ' ';
        out += c.cte.isNull() ? QByteArrayLiteral("\"7bit\"") : imapString(c.cte);
        out += ' ';
        out += QByteArray::number(p.bodyEnd - p.bodyStart);
        const qsizetype lines = QByteArrayView(m_raw).sliced(p.bodyStart, p.bodyEnd - p.bodyStart).count('\n');
        if (text) {
            out += ' ';
            out += QByteArray::number(lines);
        } else if (message) {
            const Part &inner = m_tree.parts[size_t(p.children.value(0))];
            out += ' ';
            out += envelopeOf(m_raw, inner.header);
            out += " (";
            write(out, p.children.value(0));
            out += ") ";
            out += QByteArray::number(lines);
        }
        if (!m_extended)
            return;
        out += ' ';
        out += nstring(c.md5);
        writeCommonExtension(out, c);
    }

    const QByteArray &m_raw;
    const Tree &m_tree;
    const bool m_extended;
};

QByteArray structureOf(const QByteArray &raw, const Tree &tree, bool extended)
{
    QByteArray out("(");
    StructureWriter(raw, tree, extended).write(out, 0);
    out += ')';
    return out;
}

QString addrSpec(const Address &a)
{
    const QByteArray spec = a.host == "MISSING_DOMAIN" ? a.mailbox : a.mailbox + '@' + a.host;
    return QString::fromUtf8(spec);
}

QList<QString> addrSpecs(const QList<Address> &list)
{
    QList<QString> out;
    for (const Address &a : list) {
        if (!a.isGroupMarker())
            out.append(addrSpec(a));
    }
    return out;
}

QByteArray bytes(const QByteArray &raw, qsizetype from, qsizetype to)
{
    return raw.mid(from, to - from);
}

// RFC 9051 §6.4.5 HEADER.FIELDS [.NOT]: the chosen fields whole, in message order,
// then the header's blank line.
QByteArray filterHeader(const QByteArray &raw, const Header &h, const QList<QByteArray> &names,
                        bool exclude)
{
    QByteArray out;
    for (const HeaderField &f : h.fields) {
        const QByteArray name = fieldName(raw, f);
        bool match = false;
        for (const QByteArray &want : names) {
            if (!name.isEmpty() && name.compare(want, Qt::CaseInsensitive) == 0) {
                match = true;
                break;
            }
        }
        if (match == exclude)
            continue;
        out += bytes(raw, f.start, f.end);
        if (!out.endsWith('\n'))
            out += "\r\n";
    }
    out += h.blankLine >= 0 ? bytes(raw, h.blankLine, h.end) : QByteArrayLiteral("\r\n");
    return out;
}

QByteArray messageSection(const QByteArray &raw, const Part &m, SectionText text,
                          const QList<QByteArray> &fields)
{
    switch (text) {
    case SectionText::Header:
        return bytes(raw, m.header.start, m.header.end);
    case SectionText::Text:
        return bytes(raw, m.bodyStart, m.bodyEnd);
    case SectionText::HeaderFields:
        return filterHeader(raw, m.header, fields, false);
    case SectionText::HeaderFieldsNot:
        return filterHeader(raw, m.header, fields, true);
    case SectionText::None:
        return bytes(raw, m.header.start, m.bodyEnd);
    case SectionText::Mime:
        break;
    }
    return QByteArray("");
}

} // namespace

QByteArray imapString(const QByteArray &value, bool nilIfNull)
{
    if (value.isNull() && nilIfNull)
        return QByteArrayLiteral("NIL");
    bool literal = false;
    for (const char c : value) {
        const uchar u = uchar(c);
        if (u == 0 || u == '\r' || u == '\n' || u >= 0x80) {
            literal = true;
            break;
        }
    }
    if (literal)
        return '{' + QByteArray::number(value.size()) + "}\r\n" + value;
    QByteArray out;
    out.reserve(value.size() + 2);
    out += '"';
    for (const char c : value) {
        if (c == '"' || c == '\\')
            out += '\\';
        out += c;
    }
    out += '"';
    return out;
}

MessageIndex indexMessage(const QByteArray &raw)
{
    ensureGMime();
    const Tree tree = parseTree(raw);
    const Header &h = tree.parts.front().header;

    MessageIndex index;
    index.envelope = envelopeOf(raw, h);
    index.bodyStructure = structureOf(raw, tree, true);
    index.body = structureOf(raw, tree, false);
    index.headerLength = h.end;

    const QByteArray subject = firstValue(raw, h, "Subject");
    if (!subject.isNull())
        index.subject = fromGChar(g_mime_utils_header_decode_text(nullptr, subject.constData()));
    const QList<Address> from = addressesOf(raw, h, "From");
    for (const Address &a : from) {
        if (a.isGroupMarker())
            continue;
        index.from = addrSpec(a);
        if (!a.name.isNull())
            index.fromName = fromGChar(g_mime_utils_header_decode_text(nullptr, a.name.constData()));
        break;
    }
    index.to = addrSpecs(addressesOf(raw, h, "To"));
    index.cc = addrSpecs(addressesOf(raw, h, "Cc"));
    const QByteArray messageId = firstValue(raw, h, "Message-ID");
    if (!messageId.isNull()) {
        const qsizetype open = messageId.indexOf('<');
        const qsizetype close = open >= 0 ? messageId.indexOf('>', open) : -1;
        index.messageId = QString::fromUtf8(close > open ? messageId.mid(open + 1, close - open - 1)
                                                         : messageId.trimmed());
    }
    index.date = parseDate(firstValue(raw, h, "Date"));
    return index;
}

std::optional<QByteArray> extractSection(const QByteArray &raw, const QList<uint32_t> &part,
                                         SectionText text, const QList<QByteArray> &fields)
{
    const Tree tree = parseTree(raw);
    if (part.isEmpty()) {
        if (text == SectionText::Mime)
            return std::nullopt;
        if (text == SectionText::None)
            return raw;
        return messageSection(raw, tree.parts.front(), text, fields);
    }
    const int index = resolvePart(tree, part);
    if (index < 0)
        return std::nullopt;
    const Part &p = tree.parts[size_t(index)];
    switch (text) {
    case SectionText::None:
        return bytes(raw, p.bodyStart, p.bodyEnd);
    case SectionText::Mime:
        return bytes(raw, p.header.start, p.header.end);
    default:
        break;
    }
    // HEADER / TEXT after a part number only make sense for message/rfc822 (or global).
    if (p.kind != Part::Kind::Message || p.children.isEmpty())
        return QByteArray("");
    return messageSection(raw, tree.parts[size_t(p.children.front())], text, fields);
}

std::optional<QByteArray> extractBinary(const QByteArray &raw, const QList<uint32_t> &part,
                                        bool *unknownEncoding)
{
    if (unknownEncoding)
        *unknownEncoding = false;
    if (part.isEmpty())
        return raw;
    const Tree tree = parseTree(raw);
    const int index = resolvePart(tree, part);
    if (index < 0)
        return std::nullopt;
    const Part &p = tree.parts[size_t(index)];
    std::optional<QByteArray> decoded = decodeTransfer(
        p.content.cte, QByteArrayView(raw).sliced(p.bodyStart, p.bodyEnd - p.bodyStart));
    if (!decoded && unknownEncoding)
        *unknownEncoding = true;
    return decoded;
}

} // namespace valv::mime
