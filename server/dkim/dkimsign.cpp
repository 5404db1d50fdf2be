// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 6376 §5 signer actions; RFC 8463 §3 Ed25519-SHA256.
#include "dkim/dkimsign.h"

#include "dkim/dkimtags.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <QHash>

namespace valv::dkim {

namespace {

Error signError(SignError code, QString message)
{
    return makeError(static_cast<int>(code), std::move(message));
}

QByteArray sha256(QByteArrayView data)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(data.data(), static_cast<size_t>(data.size()), md, &len, EVP_sha256(),
                   nullptr)
        != 1)
        return {};
    return QByteArray(reinterpret_cast<const char *>(md), static_cast<qsizetype>(len));
}

// Builds a header field line by line, folding before a token that would pass kFoldWidth.
class Folder {
public:
    explicit Folder(QByteArrayView start) : m_out(start.toByteArray()) {}

    // `space`: the token is separated from the previous one by SP when on the same line.
    void add(QByteArrayView token, bool space)
    {
        const qsizetype need = (space ? 1 : 0) + token.size();
        if (lineLength() + need > kFoldWidth && lineLength() > 1)
            fold();
        else if (space)
            m_out += ' ';
        m_out += token;
    }

    // Base64 that may be broken anywhere (RFC 6376 §3.5: FWS is allowed inside b=).
    void addBreakable(QByteArrayView text)
    {
        qsizetype i = 0;
        while (i < text.size()) {
            const qsizetype room = kFoldWidth - lineLength();
            if (room < 8) {
                fold();
                continue;
            }
            const qsizetype take = std::min(room, text.size() - i);
            m_out += text.sliced(i, take);
            i += take;
        }
    }

    const QByteArray &text() const { return m_out; }

private:
    qsizetype lineLength() const { return m_out.size() - m_lineStart; }
    void fold()
    {
        m_out += "\r\n";
        m_lineStart = m_out.size();
        m_out += ' ';
    }

    QByteArray m_out;
    qsizetype m_lineStart = 0;
};

} // namespace

QByteArray bodyHashRelaxed(QByteArrayView body)
{
    return sha256(canonicalizeBodyRelaxed(body)).toBase64();
}

QList<QByteArray> signedHeaderNames(const QList<HeaderField> &fields)
{
    auto count = [&fields](QByteArrayView name) {
        qsizetype n = 0;
        for (const HeaderField &f : fields)
            n += f.name.compare(name, Qt::CaseInsensitive) == 0 ? 1 : 0;
        return n;
    };
    QList<QByteArray> names;
    for (const char *wanted : kSignedHeaders) {
        const QByteArray lower = QByteArray(wanted).toLower();
        qsizetype n = count(lower);
        if (lower == "from")
            ++n; // oversigned: see the header's notes
        for (qsizetype i = 0; i < n; ++i)
            names.append(lower);
    }
    QList<QByteArray> lists; // distinct List-* names in message order
    for (const HeaderField &f : fields) {
        const QByteArray lower = f.name.toByteArray().toLower();
        if (lower.startsWith("list-") && !lists.contains(lower))
            lists.append(lower);
    }
    for (const QByteArray &name : lists) {
        const qsizetype n = count(name);
        for (qsizetype i = 0; i < n; ++i)
            names.append(name);
    }
    return names;
}

QByteArray signedData(const QList<HeaderField> &fields, const QList<QByteArray> &names,
                      QByteArrayView signatureHeader)
{
    // Field indices per lowercased name, top to bottom; instances are taken from the back.
    QHash<QByteArray, QList<qsizetype>> byName;
    for (qsizetype i = 0; i < fields.size(); ++i)
        byName[fields[i].name.toByteArray().toLower()].append(i);

    QByteArray data;
    for (const QByteArray &name : names) {
        auto it = byName.find(name.toLower());
        if (it == byName.end() || it->isEmpty())
            continue;
        const HeaderField &f = fields[it->takeLast()];
        data += canonicalizeHeaderRelaxed(f.name, f.value);
        data += "\r\n";
    }
    const qsizetype colon = signatureHeader.indexOf(':');
    if (colon >= 0)
        data += canonicalizeHeaderRelaxed(signatureHeader.first(colon),
                                          signatureHeader.sliced(colon + 1));
    return data;
}

Result<QByteArray> signData(const DkimKey &key, QByteArrayView data)
{
    if (key.isNull())
        return signError(SignError::NullKey, QStringLiteral("no signing key"));
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                 EVP_MD_CTX_free);
    QByteArray input;
    const EVP_MD *md = nullptr;
    if (key.type() == KeyType::Ed25519) {
        input = sha256(data); // RFC 8463 §3: Ed25519 signs the SHA-256 hash
        data = input;
    } else {
        md = EVP_sha256();
    }
    size_t len = 0;
    const auto *in = reinterpret_cast<const unsigned char *>(data.data());
    const auto inLen = static_cast<size_t>(data.size());
    if (!ctx || data.data() == nullptr
        || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key.pkey()) != 1
        || EVP_DigestSign(ctx.get(), nullptr, &len, in, inLen) != 1) {
        ERR_clear_error();
        return signError(SignError::CryptoFailure, QStringLiteral("signing failed"));
    }
    QByteArray sig(static_cast<qsizetype>(len), Qt::Uninitialized);
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char *>(sig.data()), &len, in,
                       inLen)
        != 1) {
        ERR_clear_error();
        return signError(SignError::CryptoFailure, QStringLiteral("signing failed"));
    }
    sig.truncate(static_cast<qsizetype>(len));
    return sig;
}

Result<QByteArray> sign(QByteArrayView message, QByteArrayView domain, QByteArrayView selector,
                        const DkimKey &key, qint64 timestamp)
{
    if (!isDkimDomain(domain, false))
        return signError(SignError::InvalidDomain,
                         QStringLiteral("d= must be a domain name in A-labels"));
    if (!isDkimDomain(selector, false))
        return signError(SignError::InvalidSelector,
                         QStringLiteral("s= must be dot-separated letters, digits and hyphens"));
    if (timestamp < 0)
        return signError(SignError::InvalidTimestamp, QStringLiteral("t= must not be negative"));
    if (key.isNull())
        return signError(SignError::NullKey, QStringLiteral("no signing key"));

    SplitMessage split;
    if (!splitMessage(message, &split))
        return signError(SignError::MalformedHeader,
                         QStringLiteral("the message header has a line that is not a field"));
    const QList<QByteArray> names = signedHeaderNames(split.fields);
    if (names.count("from") < 2) // one "from" is the oversigning entry alone
        return signError(SignError::NoFrom, QStringLiteral("the message has no From field"));

    Folder f("DKIM-Signature:");
    f.add("v=1;", true);
    f.add(key.type() == KeyType::Rsa ? "a=rsa-sha256;" : "a=ed25519-sha256;", true);
    f.add("c=relaxed/relaxed;", true);
    f.add("d=" + domain.toByteArray() + ';', true);
    f.add("s=" + selector.toByteArray() + ';', true);
    f.add("t=" + QByteArray::number(timestamp) + ';', true);
    for (qsizetype i = 0; i < names.size(); ++i) {
        const QByteArray token =
            (i == 0 ? "h=" : "") + names[i] + (i + 1 < names.size() ? ":" : ";");
        f.add(token, i == 0);
    }
    f.add("bh=" + bodyHashRelaxed(split.body) + ';', true);
    f.add("b=", true);

    const Result<QByteArray> sig = signData(key, signedData(split.fields, names, f.text()));
    if (!sig)
        return sig.error();
    f.addBreakable(sig->toBase64());
    return f.text() + "\r\n";
}

} // namespace valv::dkim
