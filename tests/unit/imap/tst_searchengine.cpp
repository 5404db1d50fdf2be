// SPDX-License-Identifier: AGPL-3.0-or-later
// imap::search: every RFC 9051 §6.4.4 search key, RFC 5032 WITHIN, RFC 7162 MODSEQ and
// RFC 5182 "$" over a four-message folder; which messages get loaded; limits and
// malformed trees. Keys are parsed by ImapReceiver, as a client would send them.
#include "imap/imapreceiver.h"
#include "imap/searchengine.h"

#include <QTest>

using namespace valv;
using namespace valv::imap;

namespace {

QByteArray crlf(QByteArray s) { return s.replace("\n", "\r\n"); }

QDateTime utc(int y, int m, int d, int h = 12) { return QDateTime(QDate(y, m, d), QTime(h, 0), Qt::UTC); }

struct Folder {
    QList<store::MessageMeta> metas;
    QList<QByteArray> raws;
    QList<int> loads;      // indexes whose header the loader was asked for (every read starts there)
    QList<int> wholeLoads; // indexes read whole (a BODY/TEXT key still open after the header)
};

Folder folder()
{
    Folder f;
    auto add = [&](uint32_t uid, QList<QByteArray> flags, QDateTime internal, uint64_t modseq, QByteArray raw) {
        store::MessageMeta m;
        m.uid = uid;
        m.flags = flags;
        m.internalDate = internal;
        m.modSeq = modseq;
        m.emailId = "M" + QString::number(uid);
        raw = crlf(raw);
        m.size = raw.size();
        f.metas.append(m);
        f.raws.append(raw);
    };
    add(2, {"\\Seen", "\\Answered"}, utc(1994, 2, 7, 10), 10,
        "From: Bob <bob@example.org>\nTo: Alice <alice@example.test>\nSubject: Hello\n"
        "Date: Mon, 7 Feb 1994 21:52:25 -0800\nMessage-ID: <hello-1@example.org>\n\nHi Alice.\nHow are you?\n");
    add(5, {"\\Flagged", "$Work"}, utc(1994, 2, 8), 20,
        "From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.org>\nCc: carol@example.org\nBcc: dave@example.org\n"
        "Subject: =?UTF-8?Q?Caf=C3=A9_menu?=\nDate: Tue, 8 Feb 1994 10:00:00 +0000\nX-Priority: 1\n"
        "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n"
        "caf=E9 au lait, "
        + QByteArray(1500, 'x') + "\n");
    add(9, {"\\Deleted", "\\Draft"}, utc(1994, 2, 9), 30,
        "To: alice@example.test\nSubject: Re: Hello\nContent-Type: multipart/mixed; boundary=b\n\n"
        "--b\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
        + QByteArray("Grüße aus Köln").toBase64() + "\n--b\nContent-Type: application/octet-stream\n"
        "Content-Transfer-Encoding: base64\n\n" + QByteArray("secretword").toBase64() + "\n--b--\n");
    add(10, {"\\Recent", "\\Seen"}, utc(2000, 1, 1), 50,
        "From: carol@example.org\nSubject: Agenda\nDate: Sat, 1 Jan 2000 00:00:00 +0000\n"
        "Content-Type: text/html\n\n<p>Meeting at noon</p>\n" + QByteArray(3000, ' ') + "\n");
    return f;
}

SearchKey parseKeys(const QByteArray &keys)
{
    ImapReceiver r;
    r.feed("a SEARCH " + keys + "\r\n");
    const ReceiverEvent ev = r.next();
    if (ev.type != ReceiverEvent::Type::Command)
        qFatal("cannot parse %s: %s", keys.constData(), qPrintable(ev.text));
    return ev.command.searchKey;
}

SearchInput inputFor(Folder &f)
{
    SearchInput in;
    in.messages = &f.metas;
    in.now = utc(2000, 1, 2, 0);
    in.loadRaw = [&f](int i, LoadPart part, QString *) -> std::optional<QByteArray> {
        const QByteArray &raw = f.raws[i];
        if (part == LoadPart::Whole) {
            f.wholeLoads.append(i);
            return raw;
        }
        f.loads.append(i);
        const qsizetype blank = raw.indexOf("\r\n\r\n");
        return blank < 0 ? raw : raw.left(blank + 4); // what MailStore::header gives
    };
    return in;
}

QString seqs(const QList<int> &indexes)
{
    QStringList out;
    for (int i : indexes)
        out << QString::number(i + 1);
    return out.join(u' ');
}

} // namespace

class TestSearchEngine : public QObject {
    Q_OBJECT

private slots:
    void keys_data()
    {
        QTest::addColumn<QByteArray>("keys");
        QTest::addColumn<QString>("expected"); // sequence numbers
        QTest::addColumn<int>("loads");        // messages read; -1 = do not check
        const struct {
            const char *keys, *expected;
            int loads;
        } rows[] = {
            {"ALL", "1 2 3 4", 0},
            {"ANSWERED", "1", 0}, {"UNANSWERED", "2 3 4", 0},
            {"DELETED", "3", 0}, {"UNDELETED", "1 2 4", 0},
            {"DRAFT", "3", 0}, {"UNDRAFT", "1 2 4", 0},
            {"FLAGGED", "2", 0}, {"UNFLAGGED", "1 3 4", 0},
            {"SEEN", "1 4", 0}, {"UNSEEN", "2 3", 0},
            {"KEYWORD $work", "2", 0}, {"UNKEYWORD $Work", "1 3 4", 0},
            {"RECENT", "4", 0}, {"NEW", "", 0}, {"OLD", "1 2 3", 0},
            {"LARGER 1000", "2 4", 0}, {"SMALLER 300", "1", 0},
            // INTERNALDATE days (UTC), RFC 9051 §6.4.4 BEFORE / ON / SINCE.
            {"BEFORE 8-Feb-1994", "1", 0}, {"ON 8-Feb-1994", "2", 0}, {"SINCE 8-Feb-1994", "2 3 4", 0},
            {"ON 1-Jan-2000", "4", 0},
            // Date: header days as written; message 3 has none and falls back to INTERNALDATE.
            {"SENTBEFORE 8-Feb-1994", "1", 4}, {"SENTON 7-Feb-1994", "1", 4},
            {"SENTON 8-Feb-1994", "2", 4}, {"SENTSINCE 9-Feb-1994", "3 4", 4},
            // Strings: case-insensitive substrings of decoded values.
            {"FROM bob", "1", 4}, {"FROM \"andré\"", "2", 4}, {"FROM ANDRE@EXAMPLE", "2", 4},
            {"TO alice", "1 3", 4}, {"CC carol", "2", 4}, {"BCC dave", "2", 4},
            {"SUBJECT hello", "1 3", 4}, {"SUBJECT \"CAFÉ\"", "2", 4}, {"SUBJECT \"café menu\"", "2", 4},
            {"HEADER X-Priority 1", "2", 4}, {"HEADER x-priority \"\"", "2", 4},
            {"HEADER Message-ID hello-1", "1", 4}, {"FROM \"\"", "1 2 4", 4},
            {"BODY lait", "2", 4}, {"BODY \"CAFÉ AU\"", "2", 4}, {"BODY \"köln\"", "3", 4},
            {"BODY secretword", "", 4}, {"BODY meeting", "4", 4}, {"BODY \"\"", "1 2 3 4", 0},
            {"BODY Subject", "", 4},
            {"TEXT hello", "1 3", 4}, {"TEXT \"how are\"", "1", 4}, {"TEXT agenda", "4", 4},
            // Combinations.
            {"NOT SEEN", "2 3", 0}, {"NOT NOT SEEN", "1 4", 0}, {"OR SEEN FLAGGED", "1 2 4", 0},
            {"(SEEN ANSWERED)", "1", 0}, {"SEEN ALL", "1 4", 0}, {"OR (SEEN SUBJECT agenda) DELETED", "3 4", 2},
            {"FLAGGED BODY lait", "2", 1}, {"OR SEEN BODY lait", "1 2 4", 2}, {"NOT BODY lait", "1 3 4", 4},
            {"UNSEEN NOT FROM andre", "3", 2},
            // Sequence sets and UIDs; '*' is the largest in use, ranges go either way.
            {"1:2", "1 2", 0}, {"2:*", "2 3 4", 0}, {"*", "4", 0}, {"3:1", "1 2 3", 0}, {"2,4", "2 4", 0},
            {"7:9", "", 0}, {"UID 5:9", "2 3", 0}, {"UID *", "4", 0}, {"UID 11:*", "4", 0},
            {"UID 1,10", "4", 0}, {"UID 3:4", "", 0}, {"OR 1 UID 10", "1 4", 0},
            // RFC 7162 §3.1.5 MODSEQ (entry names accepted, compared against the message modseq).
            {"MODSEQ 30", "3 4", 0}, {"MODSEQ \"/flags/\\\\draft\" all 30", "3 4", 0}, {"MODSEQ 51", "", 0},
            // RFC 5032 WITHIN, now = 2000-01-02 00:00 UTC.
            {"YOUNGER 172800", "4", 0}, {"OLDER 172800", "1 2 3", 0}, {"YOUNGER 1", "", 0},
        };
        for (const auto &r : rows)
            QTest::newRow(r.keys) << QByteArray(r.keys) << QString::fromUtf8(r.expected) << r.loads;
    }

    void keys()
    {
        QFETCH(QByteArray, keys);
        QFETCH(QString, expected);
        QFETCH(int, loads);
        Folder f = folder();
        auto r = search(parseKeys(keys), inputFor(f));
        QVERIFY2(r.ok(), qPrintable(r.ok() ? QString() : r.error().message));
        QCOMPARE(seqs(r->indexes), expected);
        if (loads >= 0)
            QCOMPARE(int(f.loads.size()), loads);
        QCOMPARE(r->loadedMessages, int(f.loads.size()));
    }

    void highestModSeq()
    {
        Folder f = folder();
        auto r = search(parseKeys("MODSEQ 15 UNDELETED"), inputFor(f));
        QVERIFY(r.ok());
        QCOMPARE(seqs(r->indexes), QStringLiteral("2 4"));
        QCOMPARE(r->highestModSeq, uint64_t(50));
        QVERIFY(containsKey(parseKeys("OR SEEN (NOT MODSEQ 4)"), SearchKey::Kind::ModSeq));
        QVERIFY(!containsKey(parseKeys("SEEN"), SearchKey::Kind::ModSeq));
    }

    // RFC 5182 §2: "$" is the saved result, both as a sequence set and as a UID set;
    // UIDs no longer in the folder are ignored.
    void savedResult_data()
    {
        QTest::addColumn<QByteArray>("keys");
        QTest::addColumn<QString>("expected");
        QTest::newRow("$") << QByteArray("$") << QStringLiteral("2 4");
        QTest::newRow("UID $") << QByteArray("UID $") << QStringLiteral("2 4");
        QTest::newRow("NOT $") << QByteArray("NOT $") << QStringLiteral("1 3");
        QTest::newRow("OR $ 1") << QByteArray("OR $ 1") << QStringLiteral("1 2 4");
    }

    void savedResult()
    {
        QFETCH(QByteArray, keys);
        QFETCH(QString, expected);
        Folder f = folder();
        SearchInput in = inputFor(f);
        in.savedUids = {5, 10, 99};
        auto r = search(parseKeys(keys), in);
        QVERIFY(r.ok());
        QCOMPARE(seqs(r->indexes), expected);
    }

    void emptySavedAndEmptyFolder()
    {
        Folder f = folder();
        auto r = search(parseKeys("$"), inputFor(f));
        QVERIFY(r.ok());
        QVERIFY(r->indexes.isEmpty());
        Folder empty;
        for (const char *k : {"*", "UID *", "1:*", "BODY x", "ALL"}) {
            auto e = search(parseKeys(k), inputFor(empty));
            QVERIFY(e.ok());
            QVERIFY(e->indexes.isEmpty());
        }
    }

    // The full-text index hook: its answer decides the key exactly, nothing is read;
    // where it cannot tell, messages are read (header first, whole only if needed).
    void textIndex()
    {
        Folder f = folder();
        SearchInput in = inputFor(f);
        int calls = 0;
        in.textIndex = [&calls](const SearchKey &k) -> std::optional<QSet<uint32_t>> {
            ++calls;
            if (k.kind == SearchKey::Kind::Body || k.kind == SearchKey::Kind::Subject)
                return QSet<uint32_t>{5, 10};
            return std::nullopt; // TEXT: cannot tell
        };
        auto r = search(parseKeys("BODY lait"), in);
        QVERIFY(r.ok());
        QCOMPARE(seqs(r->indexes), QStringLiteral("2 4"));
        QVERIFY(f.loads.isEmpty());
        QCOMPARE(calls, 1); // once per key, not per message
        auto s = search(parseKeys("OR SUBJECT x SEEN"), in);
        QVERIFY(s.ok());
        QVERIFY(f.loads.isEmpty());
        auto t = search(parseKeys("TEXT hello"), in);
        QVERIFY(t.ok());
        QCOMPARE(seqs(t->indexes), QStringLiteral("1 3"));
        QCOMPARE(f.loads.size(), 4);
        // Messages whose header already matched are not read whole.
        QVERIFY(f.wholeLoads.size() < 4);
    }

    // Header keys read the header section only.
    void headerOnly()
    {
        Folder f = folder();
        auto r = search(parseKeys("HEADER Message-ID x"), inputFor(f));
        QVERIFY(r.ok());
        QCOMPARE(f.loads.size(), f.metas.size());
        QVERIFY(f.wholeLoads.isEmpty());
    }

    void loadFailure()
    {
        Folder f = folder();
        SearchInput in = inputFor(f);
        in.loadRaw = [](int, LoadPart, QString *error) -> std::optional<QByteArray> {
            *error = QStringLiteral("disk on fire");
            return std::nullopt;
        };
        auto r = search(parseKeys("SUBJECT x"), in);
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, int(SearchError::LoadFailed));
        QCOMPARE(r.error().message, QStringLiteral("disk on fire"));
        QVERIFY(search(parseKeys("SEEN"), in).ok()); // metadata keys never load
    }

    void byteLimit()
    {
        Folder f = folder();
        SearchInput in = inputFor(f);
        in.limits.maxLoadedBytes = 2000;
        auto r = search(parseKeys("BODY zzz"), in);
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, int(SearchError::TooMuchData));
        QVERIFY(search(parseKeys("SMALLER 300 BODY zzz"), in).ok()); // only message 1 read
    }

    void unsupportedKeys_data()
    {
        QTest::addColumn<QByteArray>("keys");
        QTest::newRow("SAVEDATESUPPORTED") << QByteArray("NOT SAVEDATESUPPORTED");
        QTest::newRow("SAVEDBEFORE") << QByteArray("SAVEDBEFORE 1-Jan-2000");
    }

    void unsupportedKeys()
    {
        QFETCH(QByteArray, keys);
        Folder f = folder();
        auto r = search(parseKeys(keys), inputFor(f));
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, int(SearchError::Unsupported));
    }

    // RFC 8474 §6: EMAILID matches the message's id; no message has a THREADID here.
    void objectIds()
    {
        Folder f = folder();
        auto r = search(parseKeys("EMAILID M5"), inputFor(f));
        QVERIFY(r.ok());
        QCOMPARE(seqs(r->indexes), QStringLiteral("2"));
        QCOMPARE(seqs(search(parseKeys("EMAILID M123"), inputFor(f))->indexes), QString());
        QCOMPARE(seqs(search(parseKeys("OR SEEN THREADID T1"), inputFor(f))->indexes), QStringLiteral("1 4")); // SEEN alone
        QVERIFY(f.loads.isEmpty()); // ids come from the metadata, no message is read
    }

    // Trees the parser would never produce must still not crash.
    void malformedTrees()
    {
        Folder f = folder();
        SearchKey deep;
        deep.kind = SearchKey::Kind::Seen;
        for (int i = 0; i < kMaxSearchDepth + 10; ++i) {
            SearchKey n;
            n.kind = SearchKey::Kind::Not;
            n.children.append(std::move(deep));
            deep = std::move(n);
        }
        auto r = search(deep, inputFor(f));
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, int(SearchError::Unsupported));

        SearchKey badNot;
        badNot.kind = SearchKey::Kind::Not;
        QVERIFY(!search(badNot, inputFor(f)).ok());
        SearchKey badOr;
        badOr.kind = SearchKey::Kind::Or;
        badOr.children.resize(1);
        QVERIFY(!search(badOr, inputFor(f)).ok());
        SearchKey emptyAnd;
        emptyAnd.kind = SearchKey::Kind::And;
        auto all = search(emptyAnd, inputFor(f));
        QVERIFY(all.ok());
        QCOMPARE(all->indexes.size(), 4);
        SearchInput noMessages;
        QVERIFY(search(emptyAnd, noMessages).ok());
    }
};

QTEST_GUILESS_MAIN(TestSearchEngine)
#include "tst_searchengine.moc"
