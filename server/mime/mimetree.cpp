// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 5322 §2.2 header fields, RFC 2046 §5.1.1 multipart bodies, RFC 9051 §6.4.5 part numbers.
#include "mime/mimetree.h"

#include "mime/headerparse.h"

namespace valv::mime::detail {

namespace {

bool isWsp(char c) { return c == ' ' || c == '\t'; }

qsizetype lineEnd(const QByteArray &raw, qsizetype pos, qsizetype end)
{
    const char *d = raw.constData();
    const void *nl = memchr(d + pos, '\n', size_t(end - pos));
    return nl ? static_cast<const char *>(nl) - d : end;
}

} // namespace

Header parseHeader(const QByteArray &raw, qsizetype begin, qsizetype end)
{
    Header h;
    h.start = begin;
    h.end = end;
    const char *d = raw.constData();
    qsizetype pos = begin;
    while (pos < end) {
        const qsizetype eol = lineEnd(raw, pos, end);
        const qsizetype next = eol < end ? eol + 1 : end;
        qsizetype contentEnd = eol;
        if (contentEnd > pos && d[contentEnd - 1] == '\r')
            --contentEnd;
        if (contentEnd == pos) {
            h.blankLine = pos;
            h.end = next;
            return h;
        }
        if (isWsp(d[pos]) && !h.fields.isEmpty()) {
            h.fields.last().end = next;
        } else {
            HeaderField f;
            f.start = pos;
            f.end = next;
            const void *colon = memchr(d + pos, ':', size_t(contentEnd - pos));
            f.colon = colon ? static_cast<const char *>(colon) - d : -1;
            h.fields.append(f);
        }
        pos = next;
    }
    return h;
}

QByteArray fieldName(const QByteArray &raw, const HeaderField &field)
{
    if (field.colon < 0)
        return {};
    qsizetype e = field.colon;
    while (e > field.start && isWsp(raw[e - 1]))
        --e;
    return raw.mid(field.start, e - field.start);
}

QByteArray fieldValue(const QByteArray &raw, const HeaderField &field)
{
    QByteArray out;
    if (field.colon < 0)
        return out;
    out.reserve(field.end - field.colon);
    const char *d = raw.constData();
    qsizetype p = field.colon + 1;
    while (p < field.end && isWsp(d[p]))
        ++p;
    for (; p < field.end; ++p) {
        const char c = d[p];
        if (c == '\n')
            continue;
        if (c == '\r' && (p + 1 >= field.end || d[p + 1] == '\n'))
            continue;
        out.append(c);
    }
    if (out.isNull())
        out = QByteArray("");
    return out;
}

QByteArray firstValue(const QByteArray &raw, const Header &header, const char *name)
{
    const qsizetype len = qsizetype(qstrlen(name));
    for (const HeaderField &f : header.fields) {
        if (f.colon < 0)
            continue;
        qsizetype e = f.colon;
        while (e > f.start && isWsp(raw[e - 1]))
            --e;
        if (e - f.start == len && qstrnicmp(raw.constData() + f.start, name, len) == 0)
            return fieldValue(raw, f);
    }
    return {};
}

namespace {

ContentInfo readContent(const QByteArray &raw, const Header &h)
{
    ContentInfo c;
    const QByteArray ct = firstValue(raw, h, "Content-Type");
    if (!ct.isNull()) {
        if (!parseContentType(ct, &c.type, &c.subtype, &c.params)) {
            c.type.clear();
            c.subtype.clear();
        }
    }
    const QByteArray cte = firstValue(raw, h, "Content-Transfer-Encoding");
    if (!cte.isNull())
        c.cte = parseTokenWithParams(cte, nullptr);
    c.id = firstValue(raw, h, "Content-ID");
    c.description = firstValue(raw, h, "Content-Description");
    c.md5 = firstValue(raw, h, "Content-MD5");
    c.location = firstValue(raw, h, "Content-Location");
    const QByteArray disp = firstValue(raw, h, "Content-Disposition");
    if (!disp.isNull())
        c.disposition = parseTokenWithParams(disp, &c.dispositionParams);
    const QByteArray lang = firstValue(raw, h, "Content-Language");
    if (!lang.isNull())
        c.language = parseLanguageList(lang);
    return c;
}

QByteArray paramValue(const Params &params, const char *name)
{
    for (const auto &p : params) {
        if (p.first.compare(name, Qt::CaseInsensitive) == 0)
            return p.second;
    }
    return {};
}

bool isMessageType(const ContentInfo &c)
{
    return c.type.compare("message", Qt::CaseInsensitive) == 0
        && (c.subtype.compare("rfc822", Qt::CaseInsensitive) == 0
            || c.subtype.compare("global", Qt::CaseInsensitive) == 0);
}

class TreeBuilder {
public:
    explicit TreeBuilder(const QByteArray &raw) : m_raw(raw) {}

    // Adds the part whose header starts at `begin` and whose content ends at `end`.
    int add(qsizetype begin, qsizetype end, int depth, bool messageRoot, bool inDigest)
    {
        const int index = int(m_tree.parts.size());
        m_tree.parts.emplace_back();
        Part part;
        part.messageRoot = messageRoot;
        part.header = parseHeader(m_raw, begin, end);
        part.bodyStart = part.header.end;
        part.bodyEnd = end;
        part.content = readContent(m_raw, part.header);
        if (part.content.type.isEmpty() && inDigest) {
            part.content.type = "message";
            part.content.subtype = "rfc822";
        }
        const bool tooDeep = depth >= kMaxDepth || int(m_tree.parts.size()) >= kMaxParts;
        const bool multipart = part.content.type.compare("multipart", Qt::CaseInsensitive) == 0;
        const QByteArray boundary = multipart ? paramValue(part.content.params, "boundary")
                                              : QByteArray();
        if ((multipart && !boundary.isEmpty()) || isMessageType(part.content)) {
            if (tooDeep) {
                // Opaque from here: a leaf that no client will try to descend into.
                part.content.type = "application";
                part.content.subtype = "octet-stream";
                part.content.params.clear();
            } else {
                part.kind = multipart ? Part::Kind::Multipart : Part::Kind::Message;
            }
        }
        if (part.kind == Part::Kind::Message) {
            part.children.append(add(part.bodyStart, part.bodyEnd, depth + 1, true, false));
        } else if (part.kind == Part::Kind::Multipart) {
            const bool digest = part.content.subtype.compare("digest", Qt::CaseInsensitive) == 0;
            splitMultipart(part, boundary, depth, digest);
        }
        m_tree.parts[size_t(index)] = std::move(part);
        return index;
    }

    Tree take() { return std::move(m_tree); }

private:
    // Matches "--boundary" at `pos` followed by optional LWSP to the end of line; `close`
    // when followed by "--" (anything after a close delimiter is tolerated).
    bool isDelimiter(qsizetype pos, qsizetype eol, const QByteArray &boundary, bool *close) const
    {
        const char *d = m_raw.constData();
        const qsizetype need = 2 + boundary.size();
        if (eol - pos < need || d[pos] != '-' || d[pos + 1] != '-'
            || memcmp(d + pos + 2, boundary.constData(), size_t(boundary.size())) != 0)
            return false;
        qsizetype p = pos + need;
        if (eol - p >= 2 && d[p] == '-' && d[p + 1] == '-') {
            *close = true;
            return true;
        }
        for (; p < eol; ++p) {
            if (!isWsp(d[p]) && d[p] != '\r')
                return false;
        }
        *close = false;
        return true;
    }

    void splitMultipart(Part &part, const QByteArray &boundary, int depth, bool digest)
    {
        const char *d = m_raw.constData();
        const qsizetype end = part.bodyEnd;
        qsizetype pos = part.bodyStart;
        qsizetype partStart = -1; // content start of the part being collected
        while (pos < end) {
            const qsizetype eol = lineEnd(m_raw, pos, end);
            const qsizetype next = eol < end ? eol + 1 : end;
            bool close = false;
            if (isDelimiter(pos, eol, boundary, &close)) {
                if (partStart >= 0) {
                    // The line break before a delimiter belongs to the delimiter.
                    qsizetype contentEnd = pos;
                    if (contentEnd > partStart && d[contentEnd - 1] == '\n')
                        --contentEnd;
                    if (contentEnd > partStart && d[contentEnd - 1] == '\r')
                        --contentEnd;
                    if (!addChild(part, partStart, contentEnd, depth, digest))
                        return;
                }
                if (close)
                    return;
                partStart = next;
            }
            pos = next;
        }
        if (partStart >= 0)
            addChild(part, partStart, end, depth, digest);
    }

    bool addChild(Part &part, qsizetype begin, qsizetype end, int depth, bool digest)
    {
        if (int(m_tree.parts.size()) >= kMaxParts)
            return false;
        part.children.append(add(begin, end, depth + 1, false, digest));
        return true;
    }

    const QByteArray &m_raw;
    Tree m_tree;
};

} // namespace

Tree parseTree(const QByteArray &raw)
{
    TreeBuilder builder(raw);
    builder.add(0, raw.size(), 0, true, false);
    return builder.take();
}

int resolvePart(const Tree &tree, const QList<uint32_t> &path)
{
    if (path.isEmpty() || tree.parts.empty())
        return -1;
    int cur = 0;
    // While `inMessage`, `cur` is a message whose parts the next number selects: its
    // children if multipart, else the message itself as part 1.
    bool inMessage = true;
    for (const uint32_t n : path) {
        const Part *p = &tree.parts[size_t(cur)];
        if (!inMessage) {
            if (p->kind == Part::Kind::Message) {
                cur = p->children.value(0, -1);
                if (cur < 0)
                    return -1;
                p = &tree.parts[size_t(cur)];
            } else if (p->kind != Part::Kind::Multipart) {
                return -1;
            }
        }
        if (p->kind == Part::Kind::Multipart) {
            if (n == 0 || n > uint32_t(p->children.size()))
                return -1;
            cur = p->children[qsizetype(n - 1)];
        } else if (n != 1) {
            return -1;
        }
        inMessage = false;
    }
    return cur;
}

} // namespace valv::mime::detail
