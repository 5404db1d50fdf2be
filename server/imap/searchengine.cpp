// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 9051 §6.4.4 SEARCH keys, RFC 5032 WITHIN, RFC 7162 §3.1.5 MODSEQ, RFC 5182 "$".
#include "imap/searchengine.h"

#include "imap/uidset.h"

#include "mime/searchtext.h"

#include <QHash>

#include <algorithm>
#include <vector>

namespace valv::imap {

namespace {

using K = SearchKey::Kind;

enum class Tri { No, Yes, Unknown };

Tri tri(bool b) { return b ? Tri::Yes : Tri::No; }

// How much of the message is at hand.
enum class Stage { Meta, Headers, Body };

struct Loaded {
    mime::SearchText text;
    std::optional<QDateTime> sent;
};

bool hasFlag(const QList<QByteArray> &flags, QByteArrayView flag)
{
    return std::any_of(flags.begin(), flags.end(),
                       [&](const QByteArray &f) { return QByteArrayView(f).compare(flag, Qt::CaseInsensitive) == 0; });
}

bool contains(const QString &hay, const QString &needle) { return hay.contains(needle, Qt::CaseInsensitive); }

class Evaluator {
public:
    Evaluator(const SearchInput &in) : m_in(in), m_msgs(*in.messages)
    {
        m_now = in.now.isValid() ? in.now : QDateTime::currentDateTimeUtc();
    }

    // Fails only for keys this server does not offer or trees deeper than kMaxSearchDepth.
    bool check(const SearchKey &root, QString *why)
    {
        std::vector<std::pair<const SearchKey *, int>> stack{{&root, 0}};
        while (!stack.empty()) {
            auto [k, depth] = stack.back();
            stack.pop_back();
            if (depth > kMaxSearchDepth) {
                *why = QStringLiteral("search keys nested too deeply");
                return false;
            }
            switch (k->kind) {
            case K::SaveDateSupported:
            case K::SaveDateBefore:
            case K::SaveDateOn:
            case K::SaveDateSince:
                *why = QStringLiteral("search key not offered by this server");
                return false;
            case K::Not:
            case K::Or:
                if (k->children.size() != (k->kind == K::Not ? 1 : 2)) {
                    *why = QStringLiteral("malformed search key");
                    return false;
                }
                break;
            case K::SequenceSet:
            case K::Uid:
                m_sets.insert(k, setMembers(*k));
                break;
            default:
                break;
            }
            for (const SearchKey &c : k->children)
                stack.emplace_back(&c, depth + 1);
        }
        return true;
    }

    Tri eval(const SearchKey &k, int i, Stage stage, const Loaded *l)
    {
        const store::MessageMeta &m = m_msgs[i];
        switch (k.kind) {
        case K::All: return Tri::Yes;
        case K::Answered: return tri(hasFlag(m.flags, "\\Answered"));
        case K::Deleted: return tri(hasFlag(m.flags, "\\Deleted"));
        case K::Draft: return tri(hasFlag(m.flags, "\\Draft"));
        case K::Flagged: return tri(hasFlag(m.flags, "\\Flagged"));
        case K::Seen: return tri(hasFlag(m.flags, "\\Seen"));
        case K::Recent: return tri(hasFlag(m.flags, "\\Recent"));
        case K::New: return tri(hasFlag(m.flags, "\\Recent") && !hasFlag(m.flags, "\\Seen"));
        case K::Old: return tri(!hasFlag(m.flags, "\\Recent"));
        case K::Unanswered: return tri(!hasFlag(m.flags, "\\Answered"));
        case K::Undeleted: return tri(!hasFlag(m.flags, "\\Deleted"));
        case K::Undraft: return tri(!hasFlag(m.flags, "\\Draft"));
        case K::Unflagged: return tri(!hasFlag(m.flags, "\\Flagged"));
        case K::Unseen: return tri(!hasFlag(m.flags, "\\Seen"));
        case K::Keyword: return tri(hasFlag(m.flags, k.field));
        case K::Unkeyword: return tri(!hasFlag(m.flags, k.field));
        case K::Larger: return tri(m.size >= 0 && uint64_t(m.size) > k.number);
        case K::Smaller: return tri(m.size >= 0 && uint64_t(m.size) < k.number);
        case K::Before: return tri(internalDay(m) < k.date);
        case K::On: return tri(internalDay(m) == k.date);
        case K::Since: return tri(internalDay(m) >= k.date);
        case K::Younger: return tri(ageSeconds(m) < qint64(std::min<uint64_t>(k.number, INT64_MAX)));
        case K::Older: return tri(ageSeconds(m) >= qint64(std::min<uint64_t>(k.number, INT64_MAX)));
        case K::ModSeq: return tri(m.modSeq >= k.number);
        case K::SequenceSet:
        case K::Uid: {
            const auto it = m_sets.constFind(&k);
            return tri(it != m_sets.constEnd() && it->at(size_t(i)));
        }
        case K::SentBefore:
        case K::SentOn:
        case K::SentSince: {
            if (stage == Stage::Meta)
                return Tri::Unknown;
            const QDate d = l->sent ? l->sent->date() : internalDay(m);
            if (k.kind == K::SentBefore)
                return tri(d < k.date);
            return tri(k.kind == K::SentOn ? d == k.date : d >= k.date);
        }
        case K::From:
        case K::To:
        case K::Cc:
        case K::Bcc:
        case K::Subject: {
            if (const auto decided = fromIndex(k, m.uid))
                return *decided;
            const char *name = k.kind == K::From ? "From"
                : k.kind == K::To                ? "To"
                : k.kind == K::Cc                ? "Cc"
                : k.kind == K::Bcc               ? "Bcc"
                                                 : "Subject";
            return headerMatch(name, k.string, stage, l);
        }
        case K::Header: return headerMatch(k.field, k.string, stage, l);
        case K::Body:
        case K::Text: {
            if (k.string.isEmpty())
                return Tri::Yes;
            if (const auto decided = fromIndex(k, m.uid))
                return *decided;
            if (k.kind == K::Text && stage != Stage::Meta) {
                for (const mime::SearchHeader &h : l->text.headers) {
                    if (contains(h.value, k.string) || contains(QString::fromLatin1(h.name), k.string))
                        return Tri::Yes;
                }
            }
            if (stage != Stage::Body)
                return Tri::Unknown;
            return tri(contains(l->text.body, k.string));
        }
        case K::Not: {
            const Tri t = eval(k.children[0], i, stage, l);
            return t == Tri::Unknown ? t : tri(t == Tri::No);
        }
        case K::Or: {
            const Tri a = eval(k.children[0], i, stage, l);
            if (a == Tri::Yes)
                return a;
            const Tri b = eval(k.children[1], i, stage, l);
            if (b == Tri::Yes)
                return b;
            return a == Tri::No && b == Tri::No ? Tri::No : Tri::Unknown;
        }
        case K::And: {
            Tri out = Tri::Yes;
            for (const SearchKey &c : k.children) {
                const Tri t = eval(c, i, stage, l);
                if (t == Tri::No)
                    return t;
                if (t == Tri::Unknown)
                    out = t;
            }
            return out;
        }
        case K::EmailId: // RFC 8474 §6
            return m_msgs[i].emailId == k.string ? Tri::Yes : Tri::No;
        case K::ThreadId: // no message has a THREADID here (FETCH answers NIL)
            return Tri::No;
        case K::SaveDateSupported:
        case K::SaveDateBefore:
        case K::SaveDateOn:
        case K::SaveDateSince:
            return Tri::No; // refused by check(); never reached
        }
        return Tri::No;
    }

private:
    static QDate internalDay(const store::MessageMeta &m) { return m.internalDate.toUTC().date(); }

    qint64 ageSeconds(const store::MessageMeta &m) const { return m.internalDate.secsTo(m_now); }

    static Tri headerMatch(QByteArrayView name, const QString &needle, Stage stage, const Loaded *l)
    {
        if (stage == Stage::Meta)
            return Tri::Unknown;
        for (const mime::SearchHeader &h : l->text.headers) {
            if (QByteArrayView(h.name).compare(name, Qt::CaseInsensitive) == 0 && contains(h.value, needle))
                return Tri::Yes;
        }
        return Tri::No;
    }

    // The key decided by the full-text index, when it can tell (asked once per key).
    std::optional<Tri> fromIndex(const SearchKey &k, uint32_t uid)
    {
        if (!m_in.textIndex)
            return std::nullopt;
        auto it = m_indexed.find(&k);
        if (it == m_indexed.end())
            it = m_indexed.insert(&k, m_in.textIndex(k));
        if (!it->has_value())
            return std::nullopt;
        return tri((*it)->contains(uid));
    }

    // Which messages a sequence set / UID set names (RFC 9051 §9 seq-number: '*' is the
    // largest number in use; a range's ends may come in either order).
    std::vector<bool> setMembers(const SearchKey &k) const
    {
        const qsizetype n = m_msgs.size();
        std::vector<bool> in(size_t(n), false);
        if (k.set.saved) {
            for (qsizetype i = 0; i < n; ++i)
                in[size_t(i)] = std::binary_search(m_in.savedUids.begin(), m_in.savedUids.end(), m_msgs[i].uid);
            return in;
        }
        if (n == 0)
            return in;
        if (k.kind == K::SequenceSet) {
            for (const SeqRange &r : k.set.ranges) {
                uint32_t a = r.first == 0 ? uint32_t(n) : r.first;
                uint32_t b = r.last == 0 ? uint32_t(n) : r.last;
                if (a > b)
                    std::swap(a, b);
                for (uint64_t s = std::max<uint32_t>(a, 1); s <= std::min<uint64_t>(b, uint64_t(n)); ++s)
                    in[size_t(s - 1)] = true;
            }
            return in;
        }
        forEachUidInSet(m_msgs, k.set.ranges, [&](int i) { in[size_t(i)] = true; });
        return in;
    }

    const SearchInput &m_in;
    const QList<store::MessageMeta> &m_msgs;
    QDateTime m_now;
    QHash<const SearchKey *, std::vector<bool>> m_sets;
    QHash<const SearchKey *, std::optional<QSet<uint32_t>>> m_indexed;
};

bool containsKind(const SearchKey &root, K kind)
{
    std::vector<const SearchKey *> stack{&root};
    while (!stack.empty()) {
        const SearchKey *k = stack.back();
        stack.pop_back();
        if (k->kind == kind)
            return true;
        for (const SearchKey &c : k->children)
            stack.push_back(&c);
    }
    return false;
}

} // namespace

bool containsKey(const SearchKey &key, SearchKey::Kind kind) { return containsKind(key, kind); }

Result<SearchOutcome> search(const SearchKey &key, const SearchInput &input)
{
    static const QList<store::MessageMeta> kNone;
    SearchInput in = input;
    if (!in.messages)
        in.messages = &kNone;
    Evaluator ev(in);
    QString why;
    if (!ev.check(key, &why))
        return makeError(int(SearchError::Unsupported), why);

    SearchOutcome out;
    const QList<store::MessageMeta> &msgs = *in.messages;
    for (int i = 0; i < int(msgs.size()); ++i) {
        Tri t = ev.eval(key, i, Stage::Meta, nullptr);
        if (t == Tri::Unknown) {
            QString error;
            auto load = [&](LoadPart part) -> Result<QByteArray> {
                std::optional<QByteArray> raw = in.loadRaw ? in.loadRaw(i, part, &error) : std::nullopt;
                if (!raw)
                    return makeError(int(SearchError::LoadFailed),
                                     error.isEmpty() ? QStringLiteral("message %1 could not be read").arg(msgs[i].uid)
                                                     : error);
                out.loadedBytes += raw->size();
                if (out.loadedBytes > in.limits.maxLoadedBytes)
                    return makeError(int(SearchError::TooMuchData),
                                     QStringLiteral("the search would read more than %1 MiB of mail")
                                         .arg(in.limits.maxLoadedBytes / (1024 * 1024)));
                return std::move(*raw);
            };
            ++out.loadedMessages;
            auto header = load(LoadPart::Header);
            if (!header)
                return header.error();
            Loaded l;
            l.text = mime::searchText(*header, mime::SearchParts::Headers);
            l.sent = mime::sentDate(*header);
            t = ev.eval(key, i, Stage::Headers, &l);
            if (t == Tri::Unknown) {
                auto raw = load(LoadPart::Whole);
                if (!raw)
                    return raw.error();
                l.text = mime::searchText(*raw, mime::SearchParts::HeadersAndBody, in.limits.maxBodyChars);
                t = ev.eval(key, i, Stage::Body, &l);
            }
        }
        if (t == Tri::Yes) {
            out.indexes.append(i);
            out.highestModSeq = std::max(out.highestModSeq, msgs[i].modSeq);
        }
    }
    return out;
}

} // namespace valv::imap
