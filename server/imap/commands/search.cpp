// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 9051 §6.4.4 SEARCH and §6.4.9 UID SEARCH; RFC 4731 ESEARCH (SEARCH RETURN);
// RFC 5182 SEARCHRES (RETURN (SAVE), "$"); RFC 5256 SORT and THREAD; RFC 5267 ESORT
// (SORT RETURN); RFC 7162 §3.1.5 the (MODSEQ n) that follows a search using MODSEQ.
//
// Implementation notes
// - The search runs over the m_messages snapshot; message bytes are read from the store
//   only for messages whose metadata cannot decide (see imap/searchengine.h).
// - One query reads at most kMaxQueryBytes of stored mail for SEARCH and as much again
//   for SORT/THREAD headers; past that the command fails with NO [LIMIT] instead of
//   running unbounded.
// - A search that fails while RETURN (SAVE) was asked resets "$" to empty (RFC 5182 §2.1).
#include "imap/imapsession.h"

#include "core/pool.h"
#include "delivery/prepare.h"
#include "store/mailstorecache.h"
#include "imap/searchengine.h"
#include "imap/sortthread.h"
#include "mime/searchtext.h"

#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcImap)

namespace valv::imap {

namespace {

constexpr qint64 kMaxQueryBytes = qint64(512) * 1024 * 1024;
constexpr int kSearchCatchUp = 1000; // waiting messages a search indexes before it queries

// sequence-set in the given order: runs of consecutive ascending numbers become "a:b".
QByteArray sequenceSetOf(const QList<uint32_t> &numbers)
{
    QByteArray out;
    for (qsizetype i = 0; i < numbers.size();) {
        qsizetype j = i;
        while (j + 1 < numbers.size() && numbers[j + 1] == numbers[j] + 1)
            ++j;
        if (!out.isEmpty())
            out += ',';
        out += QByteArray::number(numbers[i]);
        if (j > i)
            out += ':' + QByteArray::number(numbers[j]);
        i = j + 1;
    }
    return out;
}

// RFC 4731 / RFC 5267 ESEARCH response. `ordered` is the result in the order ALL lists it
// (ascending for SEARCH, sort order for SORT); MIN/MAX are the first/last of `ordered`
// for SORT and the smallest/largest for SEARCH, which is the same thing there.
QByteArray esearchLine(const QByteArray &tag, bool uid, int ret, const QList<uint32_t> &ordered,
                       std::optional<uint64_t> modSeq)
{
    QByteArray line = "ESEARCH (TAG \"" + tag + "\")";
    if (uid)
        line += " UID";
    if (!ordered.isEmpty() && (ret & int(SearchReturn::Min)))
        line += " MIN " + QByteArray::number(ordered.first());
    if (!ordered.isEmpty() && (ret & int(SearchReturn::Max)))
        line += " MAX " + QByteArray::number(ordered.last());
    if (ret & int(SearchReturn::Count))
        line += " COUNT " + QByteArray::number(ordered.size());
    if (!ordered.isEmpty() && (ret & int(SearchReturn::All)))
        line += " ALL " + sequenceSetOf(ordered);
    if (modSeq && !ordered.isEmpty())
        line += " MODSEQ " + QByteArray::number(*modSeq);
    return line;
}

int returnOptions(const Command &cmd)
{
    // RFC 4731 §3.1: "RETURN ()" means RETURN (ALL).
    return cmd.searchReturn ? cmd.searchReturn : int(SearchReturn::All);
}

} // namespace

namespace {

enum class LoadStatus { Ok, Failed, TooMuch };

// SORT/THREAD inputs for the found messages, in mailbox order.
LoadStatus loadItems(store::MailStore &mail, qint64 folderId, const QList<store::MessageMeta> &messages,
                     const QList<int> &found, bool uid, bool headers, QList<SortItem> &items, QString *error)
{
    qint64 loaded = 0;
    items.reserve(found.size());
    for (int i : found) {
        const store::MessageMeta &m = messages[i];
        SortItem item;
        item.number = uid ? m.uid : uint32_t(i + 1);
        item.internalDate = m.internalDate;
        item.size = m.size;
        if (headers) {
            auto raw = mail.header(folderId, m.uid); // SORT and THREAD read header fields only
            if (!raw && raw.error().code == int(store::MailError::NoSuchMessage)) {
                items.append(std::move(item)); // expunged meanwhile: sorts with empty fields
                continue;
            }
            if (!raw) {
                *error = raw.error().message;
                return LoadStatus::Failed;
            }
            loaded += raw->size();
            if (loaded > kMaxQueryBytes)
                return LoadStatus::TooMuch;
            item.fields = mime::sortFields(*raw);
        }
        items.append(std::move(item));
    }
    return LoadStatus::Ok;
}

// What a search needs, copied off the session for the pool.
struct SearchWork {
    Command cmd;
    QList<store::MessageMeta> messages; // the session's snapshot (shared, not copied)
    QList<uint32_t> savedUids;
    qint64 folderId = 0;
    QString userId;
    const store::MailStoreOpener *opener = nullptr;
    bool loadItems = false;
    bool itemHeaders = false;
};

std::optional<store::TextField> indexedField(SearchKey::Kind kind)
{
    using K = SearchKey::Kind;
    switch (kind) {
    case K::Text: return store::TextField::Any;
    case K::Body: return store::TextField::Body;
    case K::From: return store::TextField::From;
    case K::To: return store::TextField::To;
    case K::Cc: return store::TextField::Cc;
    case K::Bcc: return store::TextField::Bcc;
    case K::Subject: return store::TextField::Subject;
    default: return std::nullopt;
    }
}

bool hasTextKey(const SearchKey &key)
{
    for (auto kind : {SearchKey::Kind::Text, SearchKey::Kind::Body, SearchKey::Kind::From, SearchKey::Kind::To,
                      SearchKey::Kind::Cc, SearchKey::Kind::Bcc, SearchKey::Kind::Subject}) {
        if (containsKey(key, kind))
            return true;
    }
    return false;
}

} // namespace

struct SearchDone {
    std::optional<Result<SearchOutcome>> outcome;
    LoadStatus items = LoadStatus::Ok;
    QList<SortItem> sortItems;
    QString itemsError;
};

namespace {

// On a pool thread, with that thread's own connection to the mailbox.
SearchDone runSearch(const SearchWork &w)
{
    SearchDone done;
    auto opened = w.opener->cached(w.userId);
    if (!opened) {
        done.outcome = Result<SearchOutcome>(makeError(int(SearchError::LoadFailed), opened.error().message));
        return done;
    }
    store::MailStore &mail = **opened;
    // Messages still waiting for the index (the last few arrivals; after an upgrade, all
    // older mail) are indexed first, up to a bound; past it the index catches up in the
    // background and this search reads the messages instead.
    bool indexUsable = false;
    if (hasTextKey(w.cmd.searchKey)) {
        auto left = mail.indexPending(delivery::searchDocument, kSearchCatchUp);
        if (!left)
            qCWarning(lcImap).noquote() << "search index:" << left.error().message;
        else if (*left > 0)
            delivery::indexInBackground(w.opener, w.userId);
        indexUsable = left && *left == 0;
    }

    const store::ReadSnapshot snapshot = mail.readSnapshot(); // one snapshot for every read below
    SearchInput in;
    in.messages = &w.messages;
    in.savedUids = w.savedUids;
    in.limits.maxLoadedBytes = kMaxQueryBytes;
    in.loadRaw = [&](int index, LoadPart part, QString *error) -> std::optional<QByteArray> {
        const uint32_t uid = w.messages[index].uid;
        auto r = part == LoadPart::Header ? mail.header(w.folderId, uid) : mail.raw(w.folderId, uid);
        // Expunged by another session since our snapshot: it matches no text (RFC 2180 §4.1).
        if (!r && r.error().code == int(store::MailError::NoSuchMessage))
            return QByteArray();
        if (!r) {
            *error = r.error().message;
            return std::nullopt;
        }
        return std::move(*r);
    };
    if (indexUsable) {
        in.textIndex = [&](const SearchKey &k) -> std::optional<QSet<uint32_t>> {
            const auto field = indexedField(k.kind);
            if (!field || !store::searchindex::indexable(k.string))
                return std::nullopt; // too short for trigrams: the evaluator reads the messages
            auto uids = mail.textSearch(w.folderId, *field, k.string);
            if (!uids) {
                qCWarning(lcImap).noquote() << "search index:" << uids.error().message;
                return std::nullopt; // answered by reading the messages instead
            }
            return QSet<uint32_t>(uids->begin(), uids->end());
        };
    }
    done.outcome = search(w.cmd.searchKey, in);
    if (*done.outcome && w.loadItems)
        done.items = loadItems(mail, w.folderId, w.messages, (*done.outcome)->indexes, w.cmd.uid, w.itemHeaders,
                               done.sortItems, &done.itemsError);
    return done;
}

} // namespace

void ImapSession::startSearch(const Command &cmd, bool loadItems, bool itemHeaders,
                              std::function<void(const SearchDone &)> finish)
{
    auto work = std::make_shared<SearchWork>(
        SearchWork{cmd, m_messages, m_savedUids, m_folder.id, m_user.id, m_ctx.mail, loadItems, itemHeaders});
    m_busy = true;
    beginAsync();
    core::runPooled([this, work, finish = std::move(finish)] {
        auto done = std::make_shared<SearchDone>(runSearch(*work));
        QMetaObject::invokeMethod(this, [this, done, finish] {
            m_busy = false;
            finish(*done);
            endAsync();
            process();
        }, Qt::QueuedConnection);
    });
}

std::optional<QList<int>> ImapSession::searchResult(const Command &cmd, const SearchDone &done, uint64_t *highestModSeq)
{
    const bool save = cmd.esearch && (cmd.searchReturn & int(SearchReturn::Save));
    const Result<SearchOutcome> &result = *done.outcome;
    if (!result) {
        if (save)
            m_savedUids.clear();
        switch (SearchError(result.error().code)) {
        case SearchError::Unsupported: bad(cmd.tag, result.error().message.toUtf8()); break;
        case SearchError::TooMuchData: no(cmd.tag, "[LIMIT] " + result.error().message.toUtf8() + "; narrow the search"); break;
        case SearchError::LoadFailed: serverBug(cmd.tag, result.error().message); break;
        }
        return std::nullopt;
    }
    if (highestModSeq)
        *highestModSeq = result->highestModSeq;
    return result->indexes;
}

void ImapSession::saveSearchResult(const QList<int> &indexes)
{
    QList<uint32_t> uids;
    uids.reserve(indexes.size());
    for (int i : indexes)
        uids.append(std::as_const(m_messages)[i].uid);
    std::sort(uids.begin(), uids.end());
    uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
    m_savedUids = uids;
}

void ImapSession::cmdSearch(const Command &cmdIn)
{
    // RFC 9051 §6.4.4: once IMAP4rev2 is enabled, every SEARCH answers with ESEARCH.
    Command rev2;
    if (m_rev2 && !cmdIn.esearch) {
        rev2 = cmdIn;
        rev2.esearch = true;
        rev2.searchReturn = 0; // RETURN () = ALL
    }
    const Command cmd = rev2.tag.isEmpty() ? cmdIn : rev2;
    startSearch(cmd, false, false, [this, cmd](const SearchDone &done) { finishSearch(cmd, done); });
}

void ImapSession::finishSearch(const Command &cmd, const SearchDone &done)
{
    uint64_t highest = 0;
    const auto found = searchResult(cmd, done, &highest);
    if (!found)
        return;
    const bool modseq = containsKey(cmd.searchKey, SearchKey::Kind::ModSeq);
    if (modseq)
        enableCondstore(); // RFC 7162 §3.1: a CONDSTORE-enabling command
    QList<uint32_t> numbers;
    numbers.reserve(found->size());
    for (int i : *found)
        numbers.append(cmd.uid ? std::as_const(m_messages)[i].uid : uint32_t(i + 1));

    if (!cmd.esearch) {
        QByteArray line = "SEARCH";
        for (uint32_t n : numbers)
            line += ' ' + QByteArray::number(n);
        if (modseq && !numbers.isEmpty())
            line += " (MODSEQ " + QByteArray::number(highest) + ')';
        untagged(line);
        return ok(cmd.tag, cmd.uid ? "UID SEARCH completed" : "SEARCH completed");
    }

    const int ret = returnOptions(cmd);
    if (ret & int(SearchReturn::Save)) {
        // RFC 5182 §2.1: with MIN and/or MAX but neither ALL nor COUNT, only those are kept.
        const int minMax = int(SearchReturn::Min) | int(SearchReturn::Max);
        const int allCount = int(SearchReturn::All) | int(SearchReturn::Count);
        QList<int> keep = *found;
        if ((ret & minMax) && !(ret & allCount) && !keep.isEmpty()) {
            keep.clear();
            if (ret & int(SearchReturn::Min))
                keep.append(found->first());
            if (ret & int(SearchReturn::Max))
                keep.append(found->last());
        }
        saveSearchResult(keep);
    }
    if (ret != int(SearchReturn::Save)) { // SAVE alone: no ESEARCH response (RFC 5182 §2.1)
        std::optional<uint64_t> ms;
        if (modseq) {
            // RFC 7162 §3.1.5: with only MIN/MAX, the highest modseq of those messages.
            uint64_t v = highest;
            if (!(ret & (int(SearchReturn::All) | int(SearchReturn::Count))) && !found->isEmpty()) {
                v = 0;
                if (ret & int(SearchReturn::Min))
                    v = std::max(v, std::as_const(m_messages)[found->first()].modSeq);
                if (ret & int(SearchReturn::Max))
                    v = std::max(v, std::as_const(m_messages)[found->last()].modSeq);
            }
            ms = v;
        }
        untagged(esearchLine(cmd.tag, cmd.uid, ret, numbers, ms));
    }
    ok(cmd.tag, cmd.uid ? "UID SEARCH completed" : "SEARCH completed");
}


void ImapSession::cmdSort(const Command &cmd)
{
    const auto criteria = sortCriteria(cmd.sortCriteria);
    if (!criteria)
        return bad(cmd.tag, "Invalid sort criteria");
    startSearch(cmd, true, needsHeaders(*criteria), [this, cmd, criteria](const SearchDone &done) {
        finishSort(cmd, *criteria, done);
    });
}

void ImapSession::finishSort(const Command &cmd, const QList<SortCriterion> &criteria, const SearchDone &done)
{
    uint64_t highest = 0;
    const auto found = searchResult(cmd, done, &highest);
    if (!found)
        return;
    const QList<SortItem> &items = done.sortItems;
    switch (done.items) {
    case LoadStatus::Ok: break;
    case LoadStatus::Failed:
        if (cmd.esearch && (cmd.searchReturn & int(SearchReturn::Save)))
            m_savedUids.clear();
        return serverBug(cmd.tag, done.itemsError);
    case LoadStatus::TooMuch:
        if (cmd.esearch && (cmd.searchReturn & int(SearchReturn::Save)))
            m_savedUids.clear();
        return no(cmd.tag, "[LIMIT] Sorting would read too much mail; narrow the search");
    }
    const QList<uint32_t> sorted = sortItems(items, criteria);
    const bool modseq = containsKey(cmd.searchKey, SearchKey::Kind::ModSeq);
    if (modseq)
        enableCondstore();
    if (!cmd.esearch) {
        QByteArray line = "SORT";
        for (uint32_t n : sorted)
            line += ' ' + QByteArray::number(n);
        if (modseq && !sorted.isEmpty())
            line += " (MODSEQ " + QByteArray::number(highest) + ')';
        untagged(line);
    } else {
        const int ret = returnOptions(cmd);
        if (ret & int(SearchReturn::Save))
            saveSearchResult(*found);
        if (ret != int(SearchReturn::Save))
            untagged(esearchLine(cmd.tag, cmd.uid, ret, sorted, modseq ? std::optional<uint64_t>(highest) : std::nullopt));
    }
    ok(cmd.tag, cmd.uid ? "UID SORT completed" : "SORT completed");
}

void ImapSession::cmdThread(const Command &cmd)
{
    const auto algorithm = threadAlgorithm(cmd.threadAlgorithm);
    if (!algorithm)
        return bad(cmd.tag, "Unknown threading algorithm (ORDEREDSUBJECT and REFERENCES are offered)");
    startSearch(cmd, true, true, [this, cmd, algorithm](const SearchDone &done) {
        if (!searchResult(cmd, done, nullptr))
            return;
        switch (done.items) {
        case LoadStatus::Ok: break;
        case LoadStatus::Failed: return serverBug(cmd.tag, done.itemsError);
        case LoadStatus::TooMuch: return no(cmd.tag, "[LIMIT] Threading would read too much mail; narrow the search");
        }
        finishThread(cmd, *algorithm, done.sortItems);
    });
}

void ImapSession::finishThread(const Command &cmd, ThreadAlgorithm algorithm, const QList<SortItem> &items)
{
    const QByteArray threads = threadItems(items, algorithm);
    untagged(threads.isEmpty() ? QByteArray("THREAD") : "THREAD " + threads);
    ok(cmd.tag, cmd.uid ? "UID THREAD completed" : "THREAD completed");
}

} // namespace valv::imap
