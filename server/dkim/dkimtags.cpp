// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 6376 §3.2 tag lists, §3.5 DKIM-Signature fields, §3.6.1 key records; RFC 8463 §4.
#include "dkim/dkimtags.h"

#include <QHash>
#include <QUrl>

#include <limits>

namespace valv::dkim {

namespace {

constexpr qsizetype kMaxDomainLength = 253;
constexpr qsizetype kMaxLabelLength = 63;
constexpr qsizetype kMaxBodyLengthDigits = 76; // §3.5 l=
constexpr qsizetype kMaxTimeDigits = 12;       // §3.5 t=, x=
// A signature has 14 defined tags and a key record 7; a list of more is not worth reading.
constexpr qsizetype kMaxTags = 64;

Error tagError(TagError code, QString message)
{
    return makeError(static_cast<int>(code), std::move(message));
}

bool isWsp(char c) { return c == ' ' || c == '\t'; }
bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

// §3.2 VALCHAR (%x21-3A / %x3C-7E), and 8-bit bytes: RFC 8616 §4 lets i= carry UTF-8.
bool isValChar(char c)
{
    const auto u = static_cast<unsigned char>(c);
    return (u >= 0x21 && u <= 0x7e && c != ';') || u >= 0x80;
}

// Skips FWS (RFC 5322 §3.2.2, with LF accepted for CRLF) at `pos`. A line end must be
// followed by WSP; false when one is not.
bool skipFws(QByteArrayView s, qsizetype &pos)
{
    while (pos < s.size()) {
        if (isWsp(s[pos])) {
            ++pos;
            continue;
        }
        qsizetype after = -1;
        if (s[pos] == '\n')
            after = pos + 1;
        else if (s[pos] == '\r' && pos + 1 < s.size() && s[pos + 1] == '\n')
            after = pos + 2;
        if (after < 0)
            return true;
        if (after >= s.size() || !isWsp(s[after]))
            return false;
        pos = after;
    }
    return true;
}

struct Tag {
    QByteArrayView name;
    QByteArrayView value;  // without the FWS around it
    qsizetype rawBegin;    // just after '='
    qsizetype rawEnd;      // at the ';' ending the tag-spec, or the end of the list
};

Result<QList<Tag>> parseTags(QByteArrayView s)
{
    QList<Tag> tags;
    qsizetype pos = 0;
    for (;;) {
        if (!skipFws(s, pos))
            return tagError(TagError::Syntax, QStringLiteral("a line end inside a tag list is not folding"));
        if (pos == s.size()) {
            // Only after a ';' (the optional last one, §3.2); never an empty list.
            if (tags.isEmpty())
                return tagError(TagError::Syntax, QStringLiteral("empty tag list"));
            return tags;
        }
        const qsizetype nameBegin = pos;
        if (!isAlpha(s[pos]))
            return tagError(TagError::Syntax, QStringLiteral("a tag name must start with a letter"));
        while (pos < s.size() && (isAlpha(s[pos]) || isDigit(s[pos]) || s[pos] == '_'))
            ++pos;
        const QByteArrayView name = s.sliced(nameBegin, pos - nameBegin);
        if (!skipFws(s, pos) || pos == s.size() || s[pos] != '=')
            return tagError(TagError::Syntax, QStringLiteral("tag %1 has no '='").arg(QLatin1StringView(name)));
        ++pos;
        const qsizetype rawBegin = pos;
        if (!skipFws(s, pos))
            return tagError(TagError::Syntax, QStringLiteral("a line end inside a tag list is not folding"));
        const qsizetype valueBegin = pos;
        qsizetype valueEnd = pos;
        while (pos < s.size() && s[pos] != ';') {
            if (isValChar(s[pos])) {
                ++pos;
                valueEnd = pos;
                continue;
            }
            if (!skipFws(s, pos) || (pos < s.size() && s[pos] != ';' && !isValChar(s[pos])))
                return tagError(TagError::Syntax,
                                QStringLiteral("tag %1 has a byte not allowed in a value").arg(QLatin1StringView(name)));
        }
        if (tags.size() == kMaxTags)
            return tagError(TagError::Syntax, QStringLiteral("more than %1 tags").arg(kMaxTags));
        for (const Tag &t : tags) {
            if (t.name == name)
                return tagError(TagError::DuplicateTag,
                                QStringLiteral("tag %1 occurs twice").arg(QLatin1StringView(name)));
        }
        tags.append({name, s.sliced(valueBegin, valueEnd - valueBegin), rawBegin, pos});
        if (pos == s.size())
            return tags;
        ++pos; // ';'
    }
}

const Tag *findTag(const QList<Tag> &tags, QByteArrayView name)
{
    for (const Tag &t : tags) {
        if (t.name == name)
            return &t;
    }
    return nullptr;
}

QByteArray withoutWhitespace(QByteArrayView v)
{
    QByteArray out;
    out.reserve(v.size());
    for (const char c : v) {
        if (!isWsp(c) && c != '\r' && c != '\n')
            out += c;
    }
    return out;
}

// §3.5 base64string: the alphabet, whole quads, '=' padding only at the end.
std::optional<QByteArray> decodeBase64(const QByteArray &text)
{
    if (text.isEmpty() || text.size() % 4 != 0)
        return std::nullopt;
    qsizetype padding = 0;
    for (qsizetype i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '=') {
            ++padding;
            continue;
        }
        if (padding > 0 || !(isAlpha(c) || isDigit(c) || c == '+' || c == '/'))
            return std::nullopt;
    }
    if (padding > 2)
        return std::nullopt;
    auto decoded = QByteArray::fromBase64Encoding(text, QByteArray::AbortOnBase64DecodingErrors);
    if (!decoded)
        return std::nullopt;
    return *decoded;
}

// A colon-separated list (§3.5 h=, q=; §3.6.1 h=, s=, t=), each entry without its FWS.
QList<QByteArray> colonList(QByteArrayView v)
{
    QList<QByteArray> out;
    for (const QByteArray &part : v.toByteArray().split(':'))
        out.append(withoutWhitespace(part));
    return out;
}

std::optional<qint64> parseDigits(QByteArrayView v, qsizetype maxDigits)
{
    if (v.isEmpty() || v.size() > maxDigits)
        return std::nullopt;
    qint64 n = 0;
    for (const char c : v) {
        if (!isDigit(c))
            return std::nullopt;
        // Saturate: an l= past qint64 (up to 76 digits are valid) is longer than any body.
        n = n > (std::numeric_limits<qint64>::max() - 9) / 10 ? std::numeric_limits<qint64>::max()
                                                               : n * 10 + (c - '0');
    }
    return n;
}

// A d=/s=/i= domain; 8-bit (U-label) names are converted to A-labels (RFC 8616 §4).
std::optional<QByteArray> domainValue(QByteArrayView v)
{
    QByteArray name = v.toByteArray();
    bool ascii = true;
    for (const char c : name)
        ascii = ascii && static_cast<unsigned char>(c) < 0x80;
    if (!ascii) {
        const QString utf8 = QString::fromUtf8(name);
        if (utf8.toUtf8() != name)
            return std::nullopt; // not UTF-8
        name = QUrl::toAce(utf8);
    }
    if (!isDkimDomain(name))
        return std::nullopt;
    return name;
}

bool isAlgorithmSyntax(QByteArrayView a)
{
    // sig-a-tag-k "-" sig-a-tag-h, each ALPHA *(ALPHA / DIGIT).
    const qsizetype dash = a.indexOf('-');
    if (dash <= 0 || dash + 1 >= a.size())
        return false;
    auto word = [](QByteArrayView w) {
        if (w.isEmpty() || !isAlpha(w[0]))
            return false;
        for (const char c : w) {
            if (!isAlpha(c) && !isDigit(c))
                return false;
        }
        return true;
    };
    return word(a.first(dash)) && word(a.sliced(dash + 1));
}

bool isFieldName(QByteArrayView n)
{
    if (n.isEmpty())
        return false;
    for (const char c : n) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x21 || u > 0x7e || c == ':')
            return false;
    }
    return true;
}

std::optional<Canonicalization> canonicalizationNamed(QByteArrayView v)
{
    if (v == "simple")
        return Canonicalization::Simple;
    if (v == "relaxed")
        return Canonicalization::Relaxed;
    return std::nullopt;
}

QString latin1(QByteArrayView v) { return QString::fromLatin1(v.first(std::min<qsizetype>(v.size(), 64))); }

} // namespace

bool isDkimDomain(QByteArrayView s, bool allowUnderscore)
{
    if (s.isEmpty() || s.size() > kMaxDomainLength)
        return false;
    qsizetype labelStart = 0;
    for (qsizetype i = 0; i <= s.size(); ++i) {
        if (i == s.size() || s[i] == '.') {
            const qsizetype len = i - labelStart;
            if (len == 0 || len > kMaxLabelLength || s[labelStart] == '-' || s[i - 1] == '-')
                return false;
            labelStart = i + 1;
        } else if (!isAlpha(s[i]) && !isDigit(s[i]) && s[i] != '-' && !(allowUnderscore && s[i] == '_')) {
            return false;
        }
    }
    return true;
}

Result<QList<std::pair<QByteArray, QByteArray>>> parseTagList(QByteArrayView value)
{
    const auto tags = parseTags(value);
    if (!tags)
        return tags.error();
    QList<std::pair<QByteArray, QByteArray>> out;
    out.reserve(tags->size());
    for (const Tag &t : *tags)
        out.append({t.name.toByteArray(), t.value.toByteArray()});
    return out;
}

// RFC 6376 §3.5 and the §6.1.1 checks that need neither clock nor key.
Result<SignatureFields> parseSignature(QByteArrayView headerValue)
{
    const auto parsed = parseTags(headerValue);
    if (!parsed)
        return parsed.error();
    const QList<Tag> &tags = *parsed;

    if (const Tag *v = findTag(tags, "v"); v && v->value != "1")
        return tagError(TagError::UnsupportedVersion,
                        QStringLiteral("incompatible version v=%1").arg(latin1(v->value)));
    for (const char *required : {"v", "a", "b", "bh", "d", "h", "s"}) {
        if (!findTag(tags, required))
            return tagError(TagError::MissingTag,
                            QStringLiteral("signature missing required tag %1=").arg(QLatin1StringView(required)));
    }

    SignatureFields f;
    const Tag *a = findTag(tags, "a");
    if (!isAlgorithmSyntax(a->value))
        return tagError(TagError::InvalidValue, QStringLiteral("a= is not an algorithm name"));
    f.algorithmName = a->value.toByteArray();
    if (a->value == "rsa-sha256")
        f.algorithm = SigningAlgorithm::RsaSha256;
    else if (a->value == "ed25519-sha256")
        f.algorithm = SigningAlgorithm::Ed25519Sha256;
    else if (a->value == "rsa-sha1")
        f.algorithm = SigningAlgorithm::RsaSha1;

    const Tag *b = findTag(tags, "b");
    f.signatureBase64 = withoutWhitespace(b->value);
    const auto signature = decodeBase64(f.signatureBase64);
    if (!signature)
        return tagError(TagError::InvalidValue, QStringLiteral("b= is not base64"));
    f.signature = *signature;
    f.signatureValueBegin = b->rawBegin;
    f.signatureValueEnd = b->rawEnd;

    const auto bodyHash = decodeBase64(withoutWhitespace(findTag(tags, "bh")->value));
    if (!bodyHash)
        return tagError(TagError::InvalidValue, QStringLiteral("bh= is not base64"));
    f.bodyHash = *bodyHash;

    if (const Tag *c = findTag(tags, "c")) {
        const qsizetype slash = c->value.indexOf('/');
        const auto header = canonicalizationNamed(slash < 0 ? c->value : c->value.first(slash));
        const auto body = slash < 0 ? std::optional(Canonicalization::Simple)
                                    : canonicalizationNamed(c->value.sliced(slash + 1));
        if (!header || !body)
            return tagError(TagError::UnsupportedCanonicalization,
                            QStringLiteral("unknown canonicalization c=%1").arg(latin1(c->value)));
        f.headerCanon = *header;
        f.bodyCanon = *body;
    }

    const auto domain = domainValue(findTag(tags, "d")->value);
    if (!domain)
        return tagError(TagError::InvalidValue, QStringLiteral("d= is not a domain name"));
    f.domain = *domain;
    const auto selector = domainValue(findTag(tags, "s")->value);
    if (!selector)
        return tagError(TagError::InvalidValue, QStringLiteral("s= is not a selector"));
    f.selector = *selector;

    for (const QByteArray &name : colonList(findTag(tags, "h")->value)) {
        if (!isFieldName(name))
            return tagError(TagError::InvalidValue, QStringLiteral("h= holds an empty or invalid field name"));
        f.signedHeaders.append(name.toLower());
    }
    if (!f.signedHeaders.contains("from"))
        return tagError(TagError::FromNotSigned, QStringLiteral("From field not signed"));

    if (const Tag *i = findTag(tags, "i")) {
        const qsizetype at = i->value.lastIndexOf('@');
        if (at < 0)
            return tagError(TagError::InvalidValue, QStringLiteral("i= has no '@'"));
        const auto idDomain = domainValue(i->value.sliced(at + 1));
        if (!idDomain)
            return tagError(TagError::InvalidValue, QStringLiteral("the domain of i= is not a domain name"));
        f.identity = i->value.toByteArray();
        f.identityDomain = idDomain->toLower();
    } else {
        f.identity = '@' + f.domain;
        f.identityDomain = f.domain.toLower();
    }
    const QByteArray d = f.domain.toLower();
    if (f.identityDomain != d && !f.identityDomain.endsWith('.' + d))
        return tagError(TagError::IdentityMismatch, QStringLiteral("i= is not within d= (domain mismatch)"));

    if (const Tag *l = findTag(tags, "l")) {
        f.bodyLength = parseDigits(l->value, kMaxBodyLengthDigits);
        if (!f.bodyLength)
            return tagError(TagError::InvalidValue, QStringLiteral("l= is not a decimal number"));
    }
    if (const Tag *q = findTag(tags, "q")) {
        bool dnsTxt = false;
        for (const QByteArray &method : colonList(q->value))
            dnsTxt = dnsTxt || method.compare("dns/txt", Qt::CaseInsensitive) == 0;
        if (!dnsTxt)
            return tagError(TagError::UnsupportedQueryMethod,
                            QStringLiteral("q= does not offer dns/txt"));
    }
    if (const Tag *t = findTag(tags, "t")) {
        f.timestamp = parseDigits(t->value, kMaxTimeDigits);
        if (!f.timestamp)
            return tagError(TagError::InvalidValue, QStringLiteral("t= is not a timestamp"));
    }
    if (const Tag *x = findTag(tags, "x")) {
        f.expiration = parseDigits(x->value, kMaxTimeDigits);
        if (!f.expiration)
            return tagError(TagError::InvalidValue, QStringLiteral("x= is not a timestamp"));
        if (f.timestamp && *f.expiration <= *f.timestamp)
            return tagError(TagError::ExpiryBeforeTimestamp, QStringLiteral("x= is not after t="));
    }
    return f;
}

// RFC 6376 §3.6.1, RFC 8463 §4.
Result<KeyRecord> parseKeyRecord(QByteArrayView txt)
{
    const auto parsed = parseTags(txt);
    if (!parsed)
        return parsed.error();
    const QList<Tag> &tags = *parsed;

    if (const Tag *v = findTag(tags, "v")) {
        if (v != &tags.first())
            return tagError(TagError::Syntax, QStringLiteral("v= is not the first tag of the key record"));
        if (v->value != "DKIM1")
            return tagError(TagError::UnsupportedVersion,
                            QStringLiteral("key record version v=%1").arg(latin1(v->value)));
    }
    KeyRecord k;
    const Tag *p = findTag(tags, "p");
    if (!p)
        return tagError(TagError::MissingTag, QStringLiteral("key record without p="));
    const QByteArray pText = withoutWhitespace(p->value);
    if (!pText.isEmpty()) {
        const auto key = decodeBase64(pText);
        if (!key)
            return tagError(TagError::InvalidValue, QStringLiteral("p= is not base64"));
        k.publicKey = *key;
    }
    if (const Tag *kt = findTag(tags, "k")) {
        k.keyType = kt->value.toByteArray();
        if (k.keyType.isEmpty())
            return tagError(TagError::InvalidValue, QStringLiteral("k= is empty"));
    }
    if (const Tag *h = findTag(tags, "h"))
        k.hashAlgorithms = colonList(h->value);
    if (const Tag *s = findTag(tags, "s"))
        k.serviceTypes = colonList(s->value);
    if (const Tag *t = findTag(tags, "t"))
        k.flags = colonList(t->value);
    return k;
}

} // namespace valv::dkim
