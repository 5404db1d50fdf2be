// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 5256 §2.1 base subject, §2.2 sent date, §3 SORT, §2.2 + §4 THREAD
// (ORDEREDSUBJECT, REFERENCES); RFC 5957 DISPLAYFROM / DISPLAYTO.
#include "imap/sortthread.h"

#include <QHash>

#include <algorithm>
#include <numeric>
#include <vector>

namespace valv::imap {

namespace {

bool isWsp(QChar c) { return c == u' ' || c == u'\t'; }

// i;ascii-casemap: fold a-z only.
QString casemap(const QString &s)
{
    QString out = s;
    for (QChar &c : out) {
        if (c >= u'a' && c <= u'z')
            c = QChar(c.unicode() - 32);
    }
    return out;
}

bool startsWithCi(const QString &s, qsizetype pos, QLatin1String what)
{
    return QStringView(s).mid(pos).startsWith(what, Qt::CaseInsensitive);
}

// subj-blob = "[" *BLOBCHAR "]" *WSP; returns the end position or -1.
qsizetype blobEnd(const QString &s, qsizetype pos)
{
    if (pos >= s.size() || s[pos] != u'[')
        return -1;
    qsizetype p = pos + 1;
    while (p < s.size() && s[p] != u'[' && s[p] != u']')
        ++p;
    if (p >= s.size() || s[p] != u']')
        return -1;
    ++p;
    while (p < s.size() && isWsp(s[p]))
        ++p;
    return p;
}

// subj-leader = (*subj-blob subj-refwd) / WSP; returns the end position or -1.
qsizetype leaderEnd(const QString &s)
{
    if (!s.isEmpty() && isWsp(s[0]))
        return 1;
    qsizetype p = 0;
    for (qsizetype e; (e = blobEnd(s, p)) > 0;)
        p = e;
    // subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
    if (startsWithCi(s, p, QLatin1String("re")))
        p += 2;
    else if (startsWithCi(s, p, QLatin1String("fwd")))
        p += 3;
    else if (startsWithCi(s, p, QLatin1String("fw")))
        p += 2;
    else
        return -1;
    while (p < s.size() && isWsp(s[p]))
        ++p;
    if (const qsizetype e = blobEnd(s, p); e > 0)
        p = e;
    if (p < s.size() && s[p] == u':')
        return p + 1;
    return -1;
}

bool hasNonWsp(QStringView s)
{
    return std::any_of(s.begin(), s.end(), [](QChar c) { return !isWsp(c); });
}

// RFC 5256 §2.2 sent date.
QDateTime sentDate(const SortItem &item) { return item.fields.date ? *item.fields.date : item.internalDate; }

} // namespace

BaseSubject baseSubject(const QString &subject)
{
    BaseSubject out;
    // (1) tabs and line breaks to spaces, runs of spaces to one.
    QString s;
    s.reserve(subject.size());
    for (QChar c : subject) {
        if (c == u'\t' || c == u'\r' || c == u'\n')
            c = u' ';
        if (c == u' ' && s.endsWith(u' '))
            continue;
        s += c;
    }
    for (;;) {
        // (2) subj-trailer = "(fwd)" / WSP, repeatedly.
        for (;;) {
            if (s.endsWith(u' ')) {
                s.chop(1);
            } else if (s.endsWith(QLatin1String("(fwd)"), Qt::CaseInsensitive)) {
                s.chop(5);
                out.replyOrForward = true;
            } else {
                break;
            }
        }
        // (3)-(5) leaders and blobs, until neither matches.
        for (bool changed = true; changed;) {
            changed = false;
            for (qsizetype e; (e = leaderEnd(s)) > 0;) {
                if (!isWsp(s[0]))
                    out.replyOrForward = true;
                s.remove(0, e);
                changed = true;
            }
            if (const qsizetype e = blobEnd(s, 0); e > 0 && hasNonWsp(QStringView(s).mid(e))) {
                s.remove(0, e);
                changed = true;
            }
        }
        // (6) "[fwd:" ... "]": unwrap and start again at (2).
        if (s.startsWith(QLatin1String("[fwd:"), Qt::CaseInsensitive) && s.endsWith(u']')) {
            s = s.mid(5, s.size() - 6);
            out.replyOrForward = true;
            continue;
        }
        break;
    }
    out.text = s;
    return out;
}

std::optional<QList<SortCriterion>> sortCriteria(const QList<QByteArray> &words)
{
    static const std::pair<const char *, SortKey> kKeys[] = {
        {"ARRIVAL", SortKey::Arrival}, {"CC", SortKey::Cc}, {"DATE", SortKey::Date},
        {"FROM", SortKey::From}, {"SIZE", SortKey::Size}, {"SUBJECT", SortKey::Subject},
        {"TO", SortKey::To}, {"DISPLAYFROM", SortKey::DisplayFrom}, {"DISPLAYTO", SortKey::DisplayTo},
    };
    QList<SortCriterion> out;
    bool reverse = false;
    for (const QByteArray &w : words) {
        if (w.compare("REVERSE", Qt::CaseInsensitive) == 0) {
            if (reverse)
                return std::nullopt;
            reverse = true;
            continue;
        }
        const auto *it = std::find_if(std::begin(kKeys), std::end(kKeys),
                                      [&](const auto &k) { return w.compare(k.first, Qt::CaseInsensitive) == 0; });
        if (it == std::end(kKeys))
            return std::nullopt;
        out.append(SortCriterion{it->second, reverse});
        reverse = false;
    }
    if (reverse || out.isEmpty())
        return std::nullopt;
    return out;
}

bool needsHeaders(const QList<SortCriterion> &criteria)
{
    return std::any_of(criteria.begin(), criteria.end(),
                       [](const SortCriterion &c) { return c.key != SortKey::Arrival && c.key != SortKey::Size; });
}

QList<uint32_t> sortItems(const QList<SortItem> &items, const QList<SortCriterion> &criteria)
{
    const qsizetype n = items.size();
    // Precomputed string keys per criterion (casemapped once, not per comparison).
    std::vector<std::vector<QString>> strings(size_t(criteria.size()));
    for (qsizetype c = 0; c < criteria.size(); ++c) {
        auto &col = strings[size_t(c)];
        const SortKey key = criteria[c].key;
        if (key == SortKey::Arrival || key == SortKey::Date || key == SortKey::Size)
            continue;
        col.resize(size_t(n));
        for (qsizetype i = 0; i < n; ++i) {
            const mime::SortFields &f = items[i].fields;
            QString v;
            switch (key) {
            case SortKey::Cc: v = f.ccMailbox; break;
            case SortKey::From: v = f.fromMailbox; break;
            case SortKey::To: v = f.toMailbox; break;
            case SortKey::Subject: v = baseSubject(f.subject).text; break;
            case SortKey::DisplayFrom: v = f.fromDisplay; break;
            case SortKey::DisplayTo: v = f.toDisplay; break;
            default: break;
            }
            col[size_t(i)] = casemap(v);
        }
    }
    std::vector<qsizetype> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](qsizetype a, qsizetype b) {
        for (qsizetype c = 0; c < criteria.size(); ++c) {
            int cmp = 0;
            switch (criteria[c].key) {
            case SortKey::Arrival: {
                const QDateTime &x = items[a].internalDate, &y = items[b].internalDate;
                cmp = x < y ? -1 : (y < x ? 1 : 0);
                // INTERNALDATE has one-second resolution; within a second, mailbox (UID)
                // order is the order of arrival, so REVERSE ARRIVAL still lists newest first.
                if (cmp == 0)
                    cmp = a < b ? -1 : (a > b ? 1 : 0);
                break;
            }
            case SortKey::Date: {
                const QDateTime x = sentDate(items[a]), y = sentDate(items[b]);
                cmp = x < y ? -1 : (y < x ? 1 : 0);
                break;
            }
            case SortKey::Size:
                cmp = items[a].size < items[b].size ? -1 : (items[a].size > items[b].size ? 1 : 0);
                break;
            default:
                cmp = strings[size_t(c)][size_t(a)].compare(strings[size_t(c)][size_t(b)]);
                break;
            }
            if (cmp != 0)
                return criteria[c].reverse ? cmp > 0 : cmp < 0;
        }
        return false; // equal: stable_sort keeps mailbox order
    });
    QList<uint32_t> out;
    out.reserve(n);
    for (qsizetype i : order)
        out.append(items[i].number);
    return out;
}

std::optional<ThreadAlgorithm> threadAlgorithm(const QByteArray &name)
{
    if (name.compare("ORDEREDSUBJECT", Qt::CaseInsensitive) == 0)
        return ThreadAlgorithm::OrderedSubject;
    if (name.compare("REFERENCES", Qt::CaseInsensitive) == 0)
        return ThreadAlgorithm::References;
    return std::nullopt;
}

// ---- THREAD (RFC 5256 §2.2, §4) -------------------------------------------------------

namespace {

struct Node {
    int item = -1;      // index into items; -1 = dummy
    int parent = -1;
    QList<int> children;
};

class Threader {
public:
    explicit Threader(const QList<SortItem> &items) : m_items(items)
    {
        m_subjects.reserve(items.size());
        for (const SortItem &it : items)
            m_subjects.append(baseSubject(it.fields.subject));
    }

    QByteArray orderedSubject()
    {
        const qsizetype n = m_items.size();
        std::vector<int> order(static_cast<size_t>(n));
        std::iota(order.begin(), order.end(), 0);
        std::vector<QString> keys(static_cast<size_t>(n));
        for (qsizetype i = 0; i < n; ++i)
            keys[size_t(i)] = casemap(m_subjects[i].text);
        std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
            const int c = keys[size_t(a)].compare(keys[size_t(b)]);
            if (c != 0)
                return c < 0;
            return dateLess(a, b);
        });
        QList<int> roots;
        for (size_t i = 0; i < order.size(); ++i) {
            const int node = newNode(order[i]);
            if (i > 0 && keys[size_t(order[i])] == keys[size_t(order[i - 1])])
                adopt(roots.last(), node);
            else
                roots.append(node);
        }
        sortSiblings(roots); // threads by the sent date of their first message
        return serialize(roots);
    }

    QByteArray references()
    {
        linkByReferences();                              // step 1
        QList<int> roots;                                // step 2
        for (int i = 0; i < int(m_nodes.size()); ++i) {
            if (m_nodes[size_t(i)].parent < 0)
                roots.append(i);
        }
        roots = pruneDummies(roots);                     // step 3
        sortSiblings(roots);                             // step 4
        roots = mergeBySubject(roots);                   // step 5
        sortAll(roots);                                  // step 6
        return serialize(roots);
    }

private:
    int newNode(int item)
    {
        m_nodes.push_back(Node{item, -1, {}});
        return int(m_nodes.size()) - 1;
    }

    void adopt(int parent, int child)
    {
        m_nodes[size_t(child)].parent = parent;
        m_nodes[size_t(parent)].children.append(child);
    }

    void unlink(int child)
    {
        Node &c = m_nodes[size_t(child)];
        if (c.parent < 0)
            return;
        m_nodes[size_t(c.parent)].children.removeOne(child);
        c.parent = -1;
    }

    // Linking `child` under `parent` would make a loop when child is parent or one of its ancestors.
    bool wouldLoop(int parent, int child) const
    {
        for (int p = parent; p >= 0; p = m_nodes[size_t(p)].parent) {
            if (p == child)
                return true;
        }
        return false;
    }

    int nodeFor(const QByteArray &id)
    {
        auto it = m_byId.constFind(id);
        if (it != m_byId.constEnd())
            return *it;
        const int node = newNode(-1);
        m_byId.insert(id, node);
        return node;
    }

    void linkByReferences()
    {
        for (int i = 0; i < int(m_items.size()); ++i) {
            const mime::SortFields &f = m_items[i].fields;
            // A missing or duplicate Message-ID gets a unique one: the node is simply unnamed.
            int self = -1;
            if (!f.messageId.isEmpty()) {
                const int existing = m_byId.value(f.messageId, -1);
                if (existing < 0) {
                    self = newNode(i);
                    m_byId.insert(f.messageId, self);
                } else if (m_nodes[size_t(existing)].item < 0) {
                    self = existing;
                    m_nodes[size_t(self)].item = i;
                }
            }
            if (self < 0)
                self = newNode(i);
            // 1A: chain the references, keeping links that already exist.
            int prev = -1;
            for (const QByteArray &ref : f.references) {
                const int node = nodeFor(ref);
                if (prev >= 0 && node != prev && m_nodes[size_t(node)].parent < 0 && !wouldLoop(prev, node))
                    adopt(prev, node);
                prev = node;
            }
            // 1B: the last reference is the parent, replacing any earlier guess.
            unlink(self);
            if (prev >= 0 && prev != self && !wouldLoop(prev, self))
                adopt(prev, self);
        }
    }

    // Post-order without recursion: children come before their parent.
    std::vector<int> postOrder(const QList<int> &roots) const
    {
        std::vector<int> post;
        std::vector<std::pair<int, bool>> stack;
        for (int r : roots)
            stack.emplace_back(r, false);
        while (!stack.empty()) {
            auto [n, expanded] = stack.back();
            stack.pop_back();
            if (expanded) {
                post.push_back(n);
                continue;
            }
            stack.emplace_back(n, true);
            for (int c : m_nodes[size_t(n)].children)
                stack.emplace_back(c, false);
        }
        return post;
    }

    // Step 3: dummies without children go; dummies with children give them to their
    // parent, except at the top where a dummy stays when it has more than one child.
    QList<int> pruneDummies(const QList<int> &roots)
    {
        const std::vector<int> post = postOrder(roots);
        for (int n : post) {
            QList<int> kept;
            for (int c : m_nodes[size_t(n)].children) {
                const Node &cn = m_nodes[size_t(c)];
                if (cn.item >= 0) {
                    kept.append(c);
                    continue;
                }
                for (int g : cn.children) {
                    m_nodes[size_t(g)].parent = n;
                    kept.append(g);
                }
            }
            m_nodes[size_t(n)].children = kept;
        }
        QList<int> out;
        for (int r : roots) {
            Node &rn = m_nodes[size_t(r)];
            if (rn.item >= 0 || rn.children.size() > 1) {
                out.append(r);
            } else if (rn.children.size() == 1) {
                const int child = rn.children.first();
                m_nodes[size_t(child)].parent = -1;
                out.append(child);
            }
        }
        return out;
    }

    const BaseSubject *threadSubject(int node) const
    {
        const Node &n = m_nodes[size_t(node)];
        const int item = n.item >= 0 ? n.item : (n.children.isEmpty() ? -1 : m_nodes[size_t(n.children.first())].item);
        return item >= 0 ? &m_subjects[item] : nullptr;
    }

    bool isDummy(int node) const { return m_nodes[size_t(node)].item < 0; }
    bool isReply(int node) const { return !isDummy(node) && m_subjects[m_nodes[size_t(node)].item].replyOrForward; }

    // Step 5: threads whose subjects match are gathered.
    QList<int> mergeBySubject(QList<int> roots)
    {
        QHash<QString, int> table;
        for (int r : roots) {
            const BaseSubject *s = threadSubject(r);
            if (!s || s->text.isEmpty())
                continue;
            const QString key = casemap(s->text);
            auto it = table.find(key);
            if (it == table.end())
                table.insert(key, r);
            else if (!isDummy(*it) && (isDummy(r) || (isReply(*it) && !isReply(r))))
                *it = r;
        }
        QList<int> out; // order does not matter: step 6 sorts the threads again
        for (int r : roots) {
            if (m_nodes[size_t(r)].parent >= 0)
                continue; // already wrapped in a dummy as the table message
            const BaseSubject *s = threadSubject(r);
            if (!s || s->text.isEmpty()) {
                out.append(r);
                continue;
            }
            auto it = table.find(casemap(s->text));
            const int t = *it;
            if (t == r) {
                out.append(r);
                continue;
            }
            if (isDummy(t) && isDummy(r)) {
                for (int c : m_nodes[size_t(r)].children)
                    adopt(t, c);
                m_nodes[size_t(r)].children.clear();
            } else if (isDummy(t) || (isReply(r) && !isReply(t))) {
                adopt(t, r);
            } else {
                const int dummy = newNode(-1);
                const qsizetype pos = out.indexOf(t);
                if (pos >= 0)
                    out[pos] = dummy;
                else
                    out.append(dummy);
                adopt(dummy, t);
                adopt(dummy, r);
                *it = dummy;
            }
        }
        return out;
    }

    bool dateLess(int a, int b) const
    {
        const QDateTime x = sentDate(m_items[a]), y = sentDate(m_items[b]);
        if (x != y)
            return x < y;
        return a < b;
    }

    // The item a node sorts by: itself, or a dummy's first child.
    int sortItemOf(int node) const
    {
        while (node >= 0 && m_nodes[size_t(node)].item < 0)
            node = m_nodes[size_t(node)].children.isEmpty() ? -1 : m_nodes[size_t(node)].children.first();
        return node >= 0 ? m_nodes[size_t(node)].item : -1;
    }

    void sortSiblings(QList<int> &list)
    {
        // A dummy sorts by its first child, once its children are in order.
        for (int n : list) {
            if (isDummy(n))
                sortSiblingsOnly(m_nodes[size_t(n)].children);
        }
        sortSiblingsOnly(list);
    }

    void sortSiblingsOnly(QList<int> &list)
    {
        std::stable_sort(list.begin(), list.end(), [&](int a, int b) {
            const int x = sortItemOf(a), y = sortItemOf(b);
            if (x < 0 || y < 0)
                return x >= 0 && y < 0;
            return dateLess(x, y);
        });
    }

    // Step 6: every set of siblings, deepest first.
    void sortAll(QList<int> &roots)
    {
        const std::vector<int> post = postOrder(roots);
        for (int n : post)
            sortSiblingsOnly(m_nodes[size_t(n)].children);
        sortSiblingsOnly(roots);
    }

    // RFC 5256 §4: "(" thread ")" per top-level thread; a message with one child is
    // followed by it, with several by "(" child ")" each; a dummy shows only its children.
    QByteArray serialize(const QList<int> &roots) const
    {
        QByteArray out;
        struct Step {
            int node;        // -1: write `text` only
            const char *text;
        };
        std::vector<Step> stack;
        for (qsizetype i = roots.size() - 1; i >= 0; --i) {
            stack.push_back({-1, ")"});
            stack.push_back({roots[i], nullptr});
            stack.push_back({-1, "("});
        }
        while (!stack.empty()) {
            const Step s = stack.back();
            stack.pop_back();
            if (s.node < 0) {
                out += s.text;
                continue;
            }
            const Node &n = m_nodes[size_t(s.node)];
            if (n.item >= 0)
                out += QByteArray::number(m_items[n.item].number);
            if (n.children.isEmpty())
                continue;
            if (n.item >= 0)
                out += ' ';
            if (n.children.size() == 1 && n.item >= 0) {
                stack.push_back({n.children.first(), nullptr});
                continue;
            }
            for (qsizetype i = n.children.size() - 1; i >= 0; --i) {
                stack.push_back({-1, ")"});
                stack.push_back({n.children[i], nullptr});
                stack.push_back({-1, "("});
            }
        }
        return out;
    }

    const QList<SortItem> &m_items;
    QList<BaseSubject> m_subjects;
    std::vector<Node> m_nodes;
    QHash<QByteArray, int> m_byId;
};

} // namespace

QByteArray threadItems(const QList<SortItem> &items, ThreadAlgorithm algorithm)
{
    Threader t(items);
    return algorithm == ThreadAlgorithm::OrderedSubject ? t.orderedSubject() : t.references();
}

} // namespace valv::imap
