// SPDX-License-Identifier: AGPL-3.0-or-later
#include "store/crypto.h"
#include "store/database.h"
#include "store/mailstore.h"

#include <QDir>
#include <QDirIterator>
#include <QTemporaryDir>
#include <QTest>

using namespace valv::store;

class TestMailStore : public QObject {
    Q_OBJECT
private slots:
    void init();
    void defaultFolders();
    void appendAndRead();
    void flagsAndModseq();
    void expunge();
    void folderManagement();
    void copyAndMove();
    void condstore();
    void wrongKey();
    void encryptedOnDisk();
    void migratesOlderSchema();
    void newerSchemaRefused();
    void headerOnly();
    void textSearch_data();
    void textSearch();
    void textIndexFollowsMessages();
    void textIndexCatchesUp();
    void queriesUseTheirIndexes();

private:
    QString path() const { return QDir(m_dir->path()).filePath("mbox.db"); }
    bool appendIndexed(const QString &subject, const QString &body, const QStringList &to = {});
    std::unique_ptr<QTemporaryDir> m_dir;
    QByteArray m_key = QByteArray(32, 'm');
    std::unique_ptr<MailStore> m_store;
};

static NewMessage message(const QByteArray &body, QList<QByteArray> flags = {})
{
    NewMessage m;
    m.raw = "Subject: test\r\n\r\n" + body;
    m.flags = flags;
    m.internalDate = QDateTime(QDate(2026, 1, 2), QTime(3, 4, 5), Qt::UTC);
    m.envelope = "(NIL \"test\" NIL NIL NIL NIL NIL NIL NIL NIL)";
    m.bodyStructure = "(\"text\" \"plain\" NIL NIL NIL \"7bit\" 4 1 NIL NIL NIL NIL)";
    m.body = "(\"text\" \"plain\" NIL NIL NIL \"7bit\" 4 1)";
    return m;
}

void TestMailStore::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    auto s = MailStore::open(path(), m_key);
    QVERIFY2(s.ok(), s.ok() ? "" : qPrintable(s.error().message));
    m_store = std::move(*s);
}

void TestMailStore::defaultFolders()
{
    auto folders = m_store->folders();
    QVERIFY(folders.ok());
    QStringList names;
    for (const Folder &f : *folders) {
        names << f.name;
        QVERIFY(f.uidValidity > 0);
        QCOMPARE(f.uidNext, 1u);
        QVERIFY(f.subscribed);
    }
    QCOMPARE(names, (QStringList{"INBOX", "Archive", "Drafts", "Junk", "Sent", "Trash"}));
    QCOMPARE(m_store->folder("Sent")->specialUse, QString("\\Sent"));
    QCOMPARE(m_store->folder("Junk")->specialUse, QString("\\Junk"));
    QVERIFY(m_store->folder("INBOX")->specialUse.isEmpty());
    QCOMPARE(m_store->folder("Nope").error().code, int(MailError::NoSuchFolder));
}

void TestMailStore::appendAndRead()
{
    auto a = m_store->append("INBOX", message("one\r\n"));
    auto b = m_store->append("INBOX", message("two\r\n", {"\\Seen"}));
    QVERIFY(a.ok() && b.ok());
    QCOMPARE(a->uid, 1u);
    QCOMPARE(b->uid, 2u);
    QCOMPARE(a->uidValidity, m_store->folder("INBOX")->uidValidity);
    QCOMPARE(m_store->append("Nope", message("x")).error().code, int(MailError::NoSuchFolder));

    const Folder inbox = *m_store->folder("INBOX");
    QCOMPARE(inbox.uidNext, 3u);
    QCOMPARE(inbox.messages, 2u);
    QCOMPARE(inbox.unseen, 1u);
    auto list = m_store->messages(inbox.id);
    QCOMPARE(list->size(), 2);
    QCOMPARE(list->at(1).flags, QList<QByteArray>{"\\Seen"});
    QCOMPARE(list->at(0).size, qint64(message("one\r\n").raw.size()));
    QCOMPARE(list->at(0).internalDate, QDateTime(QDate(2026, 1, 2), QTime(3, 4, 5), Qt::UTC));
    QCOMPARE(*m_store->raw(inbox.id, 2), message("two\r\n").raw);
    QCOMPARE(m_store->structure(inbox.id, 1)->envelope, message("").envelope);
    QCOMPARE(m_store->raw(inbox.id, 9).error().code, int(MailError::NoSuchMessage));

    // Survives reopening (committed, not just cached).
    m_store.reset();
    auto again = MailStore::open(path(), m_key);
    QCOMPARE(*(*again)->raw(inbox.id, 1), message("one\r\n").raw);
}

void TestMailStore::flagsAndModseq()
{
    QVERIFY(m_store->append("INBOX", message("one")).ok());
    const Folder before = *m_store->folder("INBOX");
    auto modseq = m_store->setFlags(before.id, 1, {"\\Flagged", "$Label1", "\\flagged"});
    QVERIFY(modseq.ok());
    QVERIFY(*modseq > before.highestModSeq - 1);
    const Folder after = *m_store->folder("INBOX");
    QCOMPARE(after.highestModSeq, *modseq);
    auto list = m_store->messages(before.id);
    QCOMPARE(list->first().flags, (QList<QByteArray>{"\\Flagged", "$Label1"})); // case-insensitive de-dup
    QCOMPARE(list->first().modSeq, *modseq);
    QCOMPARE(m_store->setFlags(before.id, 42, {}).error().code, int(MailError::NoSuchMessage));
}

void TestMailStore::expunge()
{
    for (int i = 0; i < 4; ++i)
        QVERIFY(m_store->append("INBOX", message(QByteArray::number(i))).ok());
    const qint64 inbox = m_store->folder("INBOX")->id;
    QVERIFY(m_store->setFlags(inbox, 2, {"\\Deleted"}).ok());
    QVERIFY(m_store->setFlags(inbox, 4, {"\\Seen", "\\Deleted"}).ok());
    auto gone = m_store->expungeDeleted(inbox);
    QVERIFY2(gone.ok(), gone.ok() ? "" : qPrintable(gone.error().message));
    QCOMPARE(*gone, (QList<uint32_t>{2, 4}));
    auto left = m_store->messages(inbox);
    QCOMPARE(left->size(), 2);
    QCOMPARE(left->at(0).uid, 1u);
    QCOMPARE(left->at(1).uid, 3u);
    QCOMPARE(m_store->expungeDeleted(inbox)->size(), 0);
    // UIDs are never reused after an expunge.
    QCOMPARE(m_store->append("INBOX", message("new"))->uid, 5u);
}

void TestMailStore::folderManagement()
{
    QVERIFY(m_store->createFolder("Work").ok());
    QVERIFY(m_store->createFolder("Work/Projects", "\\Flagged").ok());
    QCOMPARE(m_store->createFolder("Work").error().code, int(MailError::Exists));
    QCOMPARE(m_store->createFolder("bad//name").error().code, int(MailError::Invalid));
    QVERIFY(m_store->append("Work/Projects", message("p")).ok());
    const QString workId = m_store->folder("Work")->mailboxId;
    QVERIFY(workId.startsWith(u'F') && workId != m_store->folder("Work/Projects")->mailboxId);
    // Renaming moves the children along and keeps their messages and MAILBOXIDs.
    QVERIFY(m_store->renameFolder("Work", "Job").ok());
    QCOMPARE(m_store->folder("Job")->mailboxId, workId);
    QCOMPARE(m_store->folder("Work").error().code, int(MailError::NoSuchFolder));
    QCOMPARE(m_store->folder("Job/Projects")->messages, 1u);
    QCOMPARE(m_store->folder("Job/Projects")->specialUse, QString("\\Flagged"));
    QVERIFY(m_store->createFolder("Jobs").ok()); // a sibling with a common prefix is not a child
    QVERIFY(m_store->renameFolder("Job", "Old").ok());
    QVERIFY(m_store->folder("Jobs").ok());
    QCOMPARE(m_store->renameFolder("Old", "Jobs").error().code, int(MailError::Exists));
    // INBOX rename: messages move, INBOX stays and is empty.
    QVERIFY(m_store->append("INBOX", message("a")).ok());
    const Folder inboxBefore = *m_store->folder("INBOX");
    QVERIFY(m_store->renameFolder("INBOX", "Saved").ok());
    QCOMPARE(m_store->folder("Saved")->messages, 1u);
    QCOMPARE(m_store->folder("INBOX")->messages, 0u);
    QCOMPARE(*m_store->expungedSince(inboxBefore.id, inboxBefore.highestModSeq), QList<uint32_t>{1});
    QCOMPARE(m_store->append("INBOX", message("b"))->uid, 2u); // INBOX's UIDs go on
    // Subscriptions and deletion.
    QVERIFY(m_store->setSubscribed("Jobs", false).ok());
    QVERIFY(!m_store->folder("Jobs")->subscribed);
    QCOMPARE(m_store->setSubscribed("Nope", true).error().code, int(MailError::NoSuchFolder));
    QVERIFY(m_store->deleteFolder("Old/Projects").ok());
    QCOMPARE(m_store->folder("Old/Projects").error().code, int(MailError::NoSuchFolder));
    QVERIFY(m_store->folder("Old").ok()); // the parent stays
}

void TestMailStore::copyAndMove()
{
    for (int i = 0; i < 3; ++i)
        QVERIFY(m_store->append("INBOX", message(QByteArray::number(i))).ok());
    const Folder inbox = *m_store->folder("INBOX");
    auto copied = m_store->copyMessages(inbox.id, {1, 3, 99}, "Archive", false);
    QVERIFY(copied.ok());
    QCOMPARE(copied->uidValidity, m_store->folder("Archive")->uidValidity);
    QCOMPARE(copied->uids, (QList<std::pair<uint32_t, uint32_t>>{{1, 1}, {3, 2}})); // 99 does not exist
    QCOMPARE(m_store->folder("INBOX")->messages, 3u);
    QCOMPARE(*m_store->raw(m_store->folder("Archive")->id, 2), message("2").raw);
    // RFC 8474: a copy keeps the EMAILID; different messages have different ones.
    const auto src = *m_store->messages(inbox.id);
    const auto dst = *m_store->messages(m_store->folder("Archive")->id);
    QCOMPARE(dst.at(1).emailId, src.at(2).emailId);
    QVERIFY(src.at(0).emailId != src.at(1).emailId);
    QVERIFY(src.at(0).emailId.startsWith(u'M') && src.at(0).emailId.size() == 25);
    auto moved = m_store->copyMessages(inbox.id, {2}, "Trash", true);
    QCOMPARE(moved->uids, (QList<std::pair<uint32_t, uint32_t>>{{2, 1}}));
    QCOMPARE(m_store->folder("INBOX")->messages, 2u);
    QCOMPARE(*m_store->expungedSince(inbox.id, inbox.highestModSeq), QList<uint32_t>{2});
    // Shared bytes survive the original's expunge.
    QVERIFY(m_store->setFlags(inbox.id, 1, {"\\Deleted"}).ok());
    QCOMPARE(*m_store->expungeDeleted(inbox.id), QList<uint32_t>{1});
    QCOMPARE(*m_store->raw(m_store->folder("Archive")->id, 1), message("0").raw);
    QCOMPARE(m_store->copyMessages(inbox.id, {3}, "INBOX", true).error().code, int(MailError::Invalid));
    QCOMPARE(m_store->copyMessages(inbox.id, {3}, "Nope", false).error().code, int(MailError::NoSuchFolder));
    QVERIFY(*m_store->totalSize() > 0);
}

void TestMailStore::condstore()
{
    QVERIFY(m_store->append("INBOX", message("x")).ok());
    QVERIFY(m_store->append("INBOX", message("y")).ok());
    const Folder inbox = *m_store->folder("INBOX");
    const uint64_t before = inbox.highestModSeq;
    auto m1 = m_store->setFlags(inbox.id, 1, {"\\Seen"}, before);
    QVERIFY(m1.ok());
    QCOMPARE(*m1, before + 1);
    // Message 1 changed after `before`: a conditional store against `before` fails.
    auto again = m_store->setFlags(inbox.id, 1, {"\\Flagged"}, before);
    QCOMPARE(again.error().code, int(MailError::Modified));
    QCOMPARE(m_store->messages(inbox.id)->first().flags, QList<QByteArray>{"\\Seen"});
    QVERIFY(m_store->setFlags(inbox.id, 2, {"\\Deleted"}).ok());
    const uint64_t beforeExpunge = m_store->folder("INBOX")->highestModSeq;
    QVERIFY(m_store->expungeDeleted(inbox.id).ok());
    QVERIFY(m_store->folder("INBOX")->highestModSeq > beforeExpunge);
    QCOMPARE(*m_store->expungedSince(inbox.id, beforeExpunge), QList<uint32_t>{2});
    QCOMPARE(m_store->expungedSince(inbox.id, m_store->folder("INBOX")->highestModSeq)->size(), 0);
}

void TestMailStore::wrongKey()
{
    m_store.reset();
    auto s = MailStore::open(path(), QByteArray(32, 'w'));
    QVERIFY(!s.ok());
    QCOMPARE(s.error().code, int(DbError::WrongKey));
    QVERIFY(MailStore::open(path(), m_key).ok());
    QVERIFY(!MailStore::open(path(), QByteArray(16, 'm')).ok());
}

void TestMailStore::encryptedOnDisk()
{
    const QByteArray marker = "UNIQUE-MARKER-7f3a9c";
    QVERIFY(m_store->append("INBOX", message(marker + "\r\n")).ok());
    // Check the files while the connection is open (WAL holds fresh pages) and after.
    for (int round = 0; round < 2; ++round) {
        QDirIterator it(m_dir->path(), QDir::Files);
        int files = 0;
        while (it.hasNext()) {
            QFile f(it.next());
            QVERIFY(f.open(QIODevice::ReadOnly));
            const QByteArray bytes = f.readAll();
            QVERIFY2(!bytes.contains(marker), qPrintable(f.fileName()));
            QVERIFY2(!bytes.contains("SQLite format 3"), qPrintable(f.fileName()));
            ++files;
        }
        QVERIFY(files >= 1);
        m_store.reset();
    }
}

void TestMailStore::migratesOlderSchema()
{
    QTemporaryDir dir;
    const QString p = QDir(dir.path()).filePath("old.db");
    {
        auto db = Database::open(p, m_key, MailStore::defaultOptions());
        QCOMPARE(*(*db)->migrate(MailStore::migrations().mid(0, 1)), 1);
        QVERIFY((*db)->exec("INSERT INTO folders(name, uidvalidity, created) VALUES('INBOX', 7, 1);"
                            "INSERT INTO blobs(id, data) VALUES(1, x'6869');"
                            "INSERT INTO messages(folder_id, uid, modseq, internaldate, size, flags, blob_id, envelope,"
                            " bodystructure, body) VALUES(1, 1, 2, 3, 2, '\\Seen', 1, '', '', '');")
                    .ok());
    }
    auto s = MailStore::open(p, m_key);
    QVERIFY2(s.ok(), s.ok() ? "" : qPrintable(s.error().message));
    const Folder inbox = *(*s)->folder("INBOX");
    QCOMPARE(inbox.uidValidity, 7u);
    QVERIFY(inbox.subscribed); // the column migration 2 added, with its default
    QCOMPARE(*(*s)->raw(inbox.id, 1), QByteArray("hi"));
    QCOMPARE((*s)->messages(inbox.id)->first().flags, QList<QByteArray>{"\\Seen"});
    // Migration 5: no header length (header() reads the whole message), and the message
    // waits to be indexed for search.
    QCOMPARE(*(*s)->header(inbox.id, 1), QByteArray("hi"));
    int made = 0;
    auto left = (*s)->indexPending([&made](const QByteArray &raw) {
        ++made;
        SearchDocument d;
        d.body = QString::fromLatin1(raw) + QStringLiteral(" there");
        return d;
    }, 10);
    QCOMPARE(*left, 0);
    QCOMPARE(made, 1);
    QCOMPARE(*(*s)->textSearch(inbox.id, TextField::Body, QStringLiteral("HI THE")), QList<uint32_t>{1});
}

void TestMailStore::newerSchemaRefused()
{
    m_store.reset();
    {
        auto db = Database::open(path(), m_key, MailStore::defaultOptions());
        QVERIFY((*db)->exec("PRAGMA user_version = 99;").ok());
    }
    auto s = MailStore::open(path(), m_key);
    QVERIFY(!s.ok());
    QVERIFY(s.error().message.contains("newer"));
}

void TestMailStore::headerOnly()
{
    NewMessage m = message("the body\r\n");
    m.headerLength = 17; // "Subject: test\r\n\r\n"
    const auto inbox = *m_store->folder("INBOX");
    QVERIFY(m_store->append("INBOX", m).ok());
    QVERIFY(m_store->append("INBOX", message("no length known\r\n")).ok());
    QCOMPARE(*m_store->header(inbox.id, 1), QByteArray("Subject: test\r\n\r\n"));
    QCOMPARE(*m_store->header(inbox.id, 2), QByteArray("Subject: test\r\n\r\nno length known\r\n"));
    // A copy keeps it.
    auto copy = m_store->copyMessages(inbox.id, {1}, "Archive", false);
    QVERIFY(copy.ok());
    QCOMPARE(*m_store->header(m_store->folder("Archive")->id, copy->uids.first().second),
             QByteArray("Subject: test\r\n\r\n"));
    QCOMPARE(m_store->header(inbox.id, 99).error().code, int(MailError::NoSuchMessage));

    // The CRLF size travels the same way (POP3 sizes); unknown stays unknown.
    NewMessage lf = message("bare\nlines\n");
    lf.crlfSize = 37;
    QVERIFY(m_store->append("INBOX", lf).ok());
    auto metas = *m_store->messages(inbox.id);
    QCOMPARE(metas.size(), 3);
    QCOMPARE(metas[0].crlfSize, -1);
    QCOMPARE(metas[2].crlfSize, 37);
    auto moved = m_store->copyMessages(inbox.id, {3}, "Archive", true);
    QVERIFY(moved.ok());
    const auto archived = *m_store->messages(m_store->folder("Archive")->id);
    QCOMPARE(archived.last().crlfSize, 37);
}

// Appends to INBOX and indexes the message at once with this document.
bool TestMailStore::appendIndexed(const QString &subject, const QString &body, const QStringList &to)
{
    if (!m_store->append("INBOX", message(body.toUtf8())).ok())
        return false;
    SearchDocument d;
    const QChar sep = kSearchValueSeparator;
    d.subject = subject + sep;
    for (const QString &t : to)
        d.to += t + sep;
    d.headers = QStringLiteral("Subject") + sep + subject + sep;
    for (const QString &t : to)
        d.headers += QStringLiteral("To") + sep + t + sep;
    d.body = body;
    auto left = m_store->indexPending([&d](const QByteArray &) { return d; }, 10);
    return left.ok() && *left == 0;
}

void TestMailStore::textSearch_data()
{
    QTest::addColumn<int>("field");
    QTest::addColumn<QString>("needle");
    QTest::addColumn<QList<uint32_t>>("uids");
    using L = QList<uint32_t>;
    const int any = int(TextField::Any), body = int(TextField::Body), subject = int(TextField::Subject),
              to = int(TextField::To);
    QTest::newRow("substring inside a word") << body << "voice" << L{1};
    QTest::newRow("case-insensitive") << body << "INVOICE" << L{1};
    QTest::newRow("across words, exact spacing") << body << "invoice for" << L{1};
    QTest::newRow("not a phrase of the words elsewhere") << body << "for invoice" << L{};
    QTest::newRow("non-ascii, folded") << body << QString::fromUtf8("GRÜSSE AUS KÖLN") << L{};
    QTest::newRow("non-ascii") << body << QString::fromUtf8("GRÜßE aus KÖLN") << L{2};
    QTest::newRow("quote and star are plain characters") << body << "say \"hi*\"" << L{3};
    QTest::newRow("star does not act as a prefix") << body << "say \"hi" << L{3};
    QTest::newRow("star inside") << body << "hi*\"" << L{3};
    QTest::newRow("star needle elsewhere") << body << "hix" << L{};
    QTest::newRow("field: subject only") << subject << "agenda" << L{2};
    QTest::newRow("field: body is not subject") << body << "agenda" << L{};
    QTest::newRow("any field") << any << "agenda" << L{2};
    QTest::newRow("header names count for TEXT") << any << "subject" << L{1, 2, 3};
    QTest::newRow("one value") << to << "alice@example" << L{1};
    QTest::newRow("no match across two values") << to << "org bob" << L{};
    QTest::newRow("second value") << to << "bob@example.org" << L{1};
    QTest::newRow("whole text") << body << "Please pay this invoice for March." << L{1};
    QTest::newRow("longer than the text") << body << "Please pay this invoice for March. Now" << L{};
}

void TestMailStore::textSearch()
{
    QFETCH(int, field);
    QFETCH(QString, needle);
    QFETCH(QList<uint32_t>, uids);
    QVERIFY(appendIndexed("Invoice", "Please pay this invoice for March.",
                                             {"alice@example.org", "bob@example.org"}));
    QVERIFY(appendIndexed("Agenda", QString::fromUtf8("Grüße aus Köln")));
    QVERIFY(appendIndexed("Quotes", "they say \"hi*\" often"));
    const auto inbox = *m_store->folder("INBOX");
    auto r = m_store->textSearch(inbox.id, TextField(field), needle);
    QVERIFY2(r.ok(), r.ok() ? "" : qPrintable(r.error().message));
    QCOMPARE(*r, uids);
}

void TestMailStore::textIndexFollowsMessages()
{
    const auto inbox = *m_store->folder("INBOX");
    QVERIFY(appendIndexed("one", "alpha bravo"));
    QVERIFY(appendIndexed("two", "charlie delta"));
    QCOMPARE(m_store->textSearch(inbox.id, TextField::Body, "al").error().code, int(MailError::Invalid));

    // Copies are found in their folder; the original in its own.
    auto copy = m_store->copyMessages(inbox.id, {1}, "Archive", false);
    QVERIFY(copy.ok());
    const auto archive = *m_store->folder("Archive");
    QCOMPARE(*m_store->textSearch(archive.id, TextField::Body, "bravo"), QList<uint32_t>{copy->uids.first().second});
    QCOMPARE(*m_store->textSearch(inbox.id, TextField::Body, "bravo"), QList<uint32_t>{1});

    // Expunging the original keeps the copy searchable; deleting the folder too drops it.
    QVERIFY(m_store->setFlags(inbox.id, 1, {"\\Deleted"}).ok());
    QVERIFY(m_store->expungeDeleted(inbox.id).ok());
    QCOMPARE(*m_store->textSearch(inbox.id, TextField::Body, "bravo"), QList<uint32_t>{});
    QCOMPARE(m_store->textSearch(archive.id, TextField::Body, "bravo")->size(), 1);
    QVERIFY(m_store->deleteFolder("Archive").ok());
    auto db = Database::open(path(), m_key, MailStore::defaultOptions());
    QVERIFY((*db)->registerTokenizer(searchindex::kTokenizerName, searchindex::tokenizerModule()).ok());
    Statement st = (*db)->prepare("SELECT count(*) FROM textindex");
    QVERIFY(st.next());
    QCOMPARE(st.integer(0), 1); // only "two" is left in the index
}

void TestMailStore::textIndexCatchesUp()
{
    const auto inbox = *m_store->folder("INBOX");
    QVERIFY(m_store->append("INBOX", message("kept for later")).ok()); // no SearchDocument
    QVERIFY(m_store->append("INBOX", message("later still")).ok());
    QCOMPARE(*m_store->textSearch(inbox.id, TextField::Body, "later"), QList<uint32_t>{});
    auto maker = [](const QByteArray &raw) {
        SearchDocument d;
        d.body = QString::fromLatin1(raw.mid(raw.indexOf("\r\n\r\n") + 4));
        return d;
    };
    QCOMPARE(*m_store->indexPending(maker, 1), 1);
    QCOMPARE(*m_store->indexPending(maker, 10), 0);
    QCOMPARE(*m_store->indexPending(maker, 10), 0);
    QCOMPARE(*m_store->textSearch(inbox.id, TextField::Body, "later"), (QList<uint32_t>{1, 2}));
}

// The plans that keep EXPUNGE, text search and incremental sync from reading every row.
void TestMailStore::queriesUseTheirIndexes()
{
    m_store.reset();
    auto db = Database::open(path(), m_key, MailStore::defaultOptions());
    QVERIFY((*db)->registerTokenizer(searchindex::kTokenizerName, searchindex::tokenizerModule()).ok());
    auto plan = [&](const QByteArray &sql) {
        Statement st = (*db)->prepare("EXPLAIN QUERY PLAN " + sql);
        QString out;
        while (st.next())
            out += st.text(3) + u'\n';
        return out;
    };
    QVERIFY2(plan("SELECT uid, blob_id FROM messages WHERE folder_id = 1"
                  " AND (' ' || flags || ' ') LIKE '% \\Deleted %' ORDER BY uid")
                 .contains("messages_deleted"),
             "EXPUNGE scans the folder");
    QVERIFY(plan("SELECT uid FROM messages WHERE folder_id = 1 AND modseq > 5 ORDER BY uid").contains("messages_modseq"));
    // Text search: the index's matches first, then each message through messages_blob.
    const QString text = plan("SELECT m.uid FROM (SELECT docid FROM headerindex WHERE headerindex MATCH 'x'"
                              " UNION SELECT docid FROM textindex WHERE body MATCH 'x') AS t"
                              " CROSS JOIN messages m ON m.blob_id = t.docid WHERE m.folder_id = 1 ORDER BY m.uid");
    QVERIFY2(text.contains("VIRTUAL TABLE") && text.contains("messages_blob"), qPrintable(text));
}

QTEST_GUILESS_MAIN(TestMailStore)
#include "tst_mailstore.moc"
