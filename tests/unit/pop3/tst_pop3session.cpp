// SPDX-License-Identifier: AGPL-3.0-or-later
// Pop3Session (RFC 1939, RFC 2449, RFC 2595, RFC 5034, RFC 6856).
// - transcripts(): every tests/data/pop3/*.txt replayed through the shared transcript
//   machinery (fed as written and one byte at a time); tests/data/pop3/expunge/*.txt run
//   with pop3_deleted_to_trash off.
// - The rest drives sessions against a real temporary encrypted store where a transcript
//   cannot look: what UPDATE did to INBOX and Trash, the per-user lock with two sessions
//   at once, IMAP-style changes made through another store connection mid-session, the
//   MailboxHub notifications IMAP sessions rely on, UIDL stability, a failed UPDATE,
//   input floods and the idle timer during a password check, LIST sizes against what
//   RETR sends, and the protocol trace's redaction.
#include "pop3/maildroplock.h"
#include "pop3/pop3session.h"
#include "store/configstore.h"
#include "store/crypto.h"
#include "store/keyring.h"
#include "store/mailboxhub.h"
#include "store/mailstorecache.h"
#include "transcript.h"

#include <QDeadlineTimer>
#include <QLoggingCategory>
#include <QTemporaryDir>
#include <QTest>
#include <QThreadPool>

using namespace valv;

namespace {

constexpr int kWaitMs = 30000;

// A server with one user and a real store, and POP3 clients on fake sinks.
class Fixture {
public:
    explicit Fixture(bool deletedToTrash = true)
    {
        const auto keys = store::KeyRing::fromMasterKey(QByteArray(32, '\7'));
        config = std::move(*store::ConfigStore::open(dir.path(), keys, true));
        QVERIFY_RESULT(config->addDomain(QStringLiteral("example.test")));
        auto hash = store::hashPassword("secret", store::Argon2Params{1, 1024, 1});
        alice = *config->addUser(QStringLiteral("alice@example.test"), *hash);
        bob = *config->addUser(QStringLiteral("bob@example.test"), *hash);
        opener = std::make_unique<store::MailStoreOpener>(dir.path(), config.get());
        delivery = std::make_unique<delivery::LocalDelivery>(opener.get());
        auto c = std::make_shared<core::ServerContext>();
        c->hostname = QStringLiteral("mx.example.test");
        c->config = config.get();
        c->mail = opener.get();
        c->limits.pop3DeletedToTrash = deletedToTrash;
        ctx = c;
    }
    ~Fixture()
    {
        QThreadPool::globalInstance()->waitForDone();
        opener->dropCached(alice.id);
        opener->dropCached(bob.id);
    }
    static void QVERIFY_RESULT(const Result<void> &r) { QVERIFY2(r.ok(), r.ok() ? "" : qPrintable(r.error().message)); }

    static QByteArray message(int i)
    {
        return "From: sender@example.org\r\nTo: alice@example.test\r\nSubject: message " + QByteArray::number(i)
            + "\r\nMessage-ID: <m" + QByteArray::number(i) + "@example.org>\r\n\r\nBody " + QByteArray::number(i) + "\r\n";
    }
    void deliver(const store::User &u, int count)
    {
        for (int i = 1; i <= count; ++i)
            QVERIFY(delivery->deliver(message(i), {u}).ok());
    }
    // A message stored as given (as IMAP APPEND would store it), bypassing delivery.
    void append(const store::User &u, const QByteArray &raw, const QString &folder = QStringLiteral("INBOX"))
    {
        auto mail = opener->open(u.id);
        store::NewMessage m;
        m.raw = raw;
        m.internalDate = QDateTime::currentDateTimeUtc();
        QVERIFY((*mail)->append(folder, m).ok());
    }
    // Subjects in a folder, in UID order (a separate connection, as IMAP would use).
    QStringList subjects(const store::User &u, const QString &folder)
    {
        auto mail = opener->open(u.id);
        auto f = (*mail)->folder(folder);
        if (!f)
            return {QStringLiteral("<no folder>")};
        QStringList out;
        const auto metas = (*mail)->messages(f->id);
        for (const store::MessageMeta &m : *metas) {
            const QByteArray raw = *(*mail)->raw(f->id, m.uid);
            const qsizetype s = raw.indexOf("Subject: ");
            out << QString::fromLatin1(raw.mid(s + 9, raw.indexOf('\r', s) - s - 9));
        }
        return out;
    }

    QTemporaryDir dir;
    std::unique_ptr<store::ConfigStore> config;
    std::unique_ptr<store::MailStoreOpener> opener;
    std::unique_ptr<delivery::LocalDelivery> delivery;
    store::User alice, bob;
    std::shared_ptr<const core::ServerContext> ctx;
};

class Client {
public:
    explicit Client(const Fixture &f)
    {
        sink.setEncrypted(true);
        session = std::make_unique<pop3::Pop3Session>(&sink, f.ctx, true);
        session->start();
        greeting = reply();
    }
    // Sends a command line and returns the reply: its first line, or with `multi` the
    // whole multi-line response (first line, CRLF, data up to and excluding ".\r\n").
    QByteArray send(const QByteArray &line, bool multi = false)
    {
        session->ingest(line + "\r\n");
        return reply(multi);
    }
    QByteArray reply(bool multi = false)
    {
        QDeadlineTimer deadline(kWaitMs);
        while (!deadline.hasExpired()) {
            const qsizetype eol = sink.output.indexOf("\r\n", cursor);
            if (eol >= 0) {
                const bool isMulti = multi && sink.output.mid(cursor, 3) == "+OK";
                if (!isMulti) {
                    const QByteArray out = sink.output.mid(cursor, eol - cursor);
                    cursor = eol + 2;
                    return out;
                }
                const qsizetype end = sink.output.indexOf("\r\n.\r\n", eol - 2);
                if (end >= 0) {
                    const QByteArray out = sink.output.mid(cursor, end + 2 - cursor);
                    cursor = end + 5;
                    return out;
                }
            }
            QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
            QTest::qSleep(1);
        }
        return "<timeout>";
    }
    bool login(const QByteArray &user = "alice@example.test")
    {
        if (!send("USER " + user).startsWith("+OK"))
            return false;
        lastLogin = send("PASS secret");
        return lastLogin.startsWith("+OK");
    }
    // Waits until the password check (and its failure delay) is over.
    void settle()
    {
        QDeadlineTimer deadline(kWaitMs);
        while (session->hasAsyncWork() && !deadline.hasExpired())
            QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
    }
    // The connection drops: the session goes away without QUIT.
    void drop()
    {
        QDeadlineTimer deadline(kWaitMs);
        while (session->hasAsyncWork() && !deadline.hasExpired())
            QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
        session.reset();
    }

    test::FakeSink sink;
    std::unique_ptr<pop3::Pop3Session> session;
    qsizetype cursor = 0;
    QByteArray greeting, lastLogin;
};

// Records MailboxHub notifications, as an IMAP session with the folder open would.
class HubListener : public QObject {
public:
    explicit HubListener(const QString &userId)
    {
        store::MailboxHub::instance().subscribe(userId, this, [this](const QString &f) { folders << f; });
    }
    ~HubListener() override { store::MailboxHub::instance().unsubscribe(this); }
    QStringList folders;
};

} // namespace

class TestPop3Session : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QLoggingCategory::setFilterRules(QStringLiteral("valv.*.info=false\nvalv.*.debug=false"));
        QVERIFY2(!test::transcriptFiles(QStringLiteral("pop3")).isEmpty(), "no transcripts in tests/data/pop3");
        QVERIFY2(!test::transcriptFiles(QStringLiteral("pop3/expunge")).isEmpty(), "no transcripts in tests/data/pop3/expunge");
    }

    void cleanupTestCase() { QThreadPool::globalInstance()->waitForDone(); }

    void transcripts_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<bool>("bytewise");
        QTest::addColumn<bool>("toTrash");
        for (const QString &dir : {QStringLiteral("pop3"), QStringLiteral("pop3/expunge")}) {
            for (const QString &f : test::transcriptFiles(dir)) {
                const QByteArray name = (dir + u'/' + QFileInfo(f).completeBaseName()).toUtf8();
                const bool toTrash = dir == QLatin1String("pop3");
                QTest::newRow(name.constData()) << f << false << toTrash;
                if (!test::transcriptOption(f, "no-bytewise"))
                    QTest::newRow((name + " (byte by byte)").constData()) << f << true << toTrash;
            }
        }
    }

    void transcripts()
    {
        QFETCH(QString, file);
        QFETCH(bool, bytewise);
        QFETCH(bool, toTrash);
        QString error;
        const bool ok = test::replayTranscript(
            file, bytewise,
            [toTrash](core::SessionSink *sink, std::shared_ptr<const core::ServerContext> ctx,
                      const delivery::LocalDelivery *, bool tlsAvailable) -> std::unique_ptr<core::Session> {
                auto c = std::make_shared<core::ServerContext>(*ctx);
                c->limits.pop3DeletedToTrash = toTrash;
                return std::make_unique<pop3::Pop3Session>(sink, c, tlsAvailable);
            },
            &error);
        QVERIFY2(ok, qPrintable(error));
    }

    // RFC 1939 §6: QUIT moves the DELEd messages to Trash (the default), in one step,
    // and tells the IMAP sessions of the user about both folders.
    void quitMovesToTrash()
    {
        Fixture f(true);
        f.deliver(f.alice, 3);
        HubListener imap(f.alice.id);
        Client c(f);
        QVERIFY(c.login());
        QCOMPARE(c.send("DELE 1"), QByteArray("+OK Message 1 deleted"));
        QCOMPARE(c.send("DELE 3"), QByteArray("+OK Message 3 deleted"));
        QCOMPARE(f.subjects(f.alice, QStringLiteral("INBOX")).size(), 3); // nothing happens before QUIT
        QCOMPARE(c.send("QUIT"), QByteArray("+OK Valv POP3 server signing off (1 messages left)"));
        QVERIFY(c.sink.closed);
        QCOMPARE(f.subjects(f.alice, QStringLiteral("INBOX")), QStringList{"message 2"});
        QCOMPARE(f.subjects(f.alice, QStringLiteral("Trash")), (QStringList{"message 1", "message 3"}));
        QTRY_VERIFY(imap.folders.contains(QStringLiteral("INBOX")));
        QTRY_VERIFY(imap.folders.contains(QStringLiteral("Trash")));
    }

    // pop3_deleted_to_trash = false: really expunged; Trash stays empty.
    void quitExpunges()
    {
        Fixture f(false);
        f.deliver(f.alice, 3);
        HubListener imap(f.alice.id);
        Client c(f);
        QVERIFY(c.login());
        QVERIFY(c.send("DELE 2").startsWith("+OK"));
        QVERIFY(c.send("QUIT").startsWith("+OK"));
        QCOMPARE(f.subjects(f.alice, QStringLiteral("INBOX")), (QStringList{"message 1", "message 3"}));
        QCOMPARE(f.subjects(f.alice, QStringLiteral("Trash")), QStringList());
        QTRY_VERIFY(imap.folders.contains(QStringLiteral("INBOX")));
    }

    // The user renamed Trash, or deleted it: the \Trash folder is found, or made again.
    void trashFolderFound()
    {
        Fixture f(true);
        f.deliver(f.alice, 2);
        {
            auto mail = f.opener->open(f.alice.id);
            QVERIFY((*mail)->renameFolder(QStringLiteral("Trash"), QStringLiteral("Bin")).ok());
        }
        Client c(f);
        QVERIFY(c.login());
        QVERIFY(c.send("DELE 1").startsWith("+OK"));
        QVERIFY(c.send("QUIT").startsWith("+OK"));
        QCOMPARE(f.subjects(f.alice, QStringLiteral("Bin")), QStringList{"message 1"});
        {
            auto mail = f.opener->open(f.alice.id);
            QVERIFY((*mail)->deleteFolder(QStringLiteral("Bin")).ok());
        }
        Client d(f);
        QVERIFY(d.login());
        QVERIFY(d.send("DELE 1").startsWith("+OK"));
        QVERIFY(d.send("QUIT").startsWith("+OK"));
        QCOMPARE(f.subjects(f.alice, QStringLiteral("Trash")), QStringList{"message 2"});
        QCOMPARE(f.subjects(f.alice, QStringLiteral("INBOX")), QStringList());
    }

    // RFC 1939 §6: a session that ends without QUIT deletes nothing.
    void droppedConnectionDeletesNothing()
    {
        Fixture f;
        f.deliver(f.alice, 2);
        Client c(f);
        QVERIFY(c.login());
        QVERIFY(c.send("DELE 1").startsWith("+OK"));
        QVERIFY(c.send("DELE 2").startsWith("+OK"));
        c.drop();
        QCOMPARE(f.subjects(f.alice, QStringLiteral("INBOX")).size(), 2);
        QCOMPARE(f.subjects(f.alice, QStringLiteral("Trash")).size(), 0);
        // ... and the lock went with it.
        QVERIFY(!pop3::MaildropLock::instance().isLocked(f.alice.id));
    }

    // RFC 2449 §8.1.1 [IN-USE]: one POP3 session per user; other users are not affected,
    // and the lock is free again after QUIT.
    void inUse()
    {
        Fixture f;
        f.deliver(f.alice, 1);
        Client first(f);
        QVERIFY(first.login());
        Client second(f);
        QVERIFY(second.send("USER alice@example.test").startsWith("+OK"));
        QCOMPARE(second.send("PASS secret"), QByteArray("-ERR [IN-USE] Another POP3 session is using this mailbox"));
        QCOMPARE(second.send("STAT"), QByteArray("-ERR Log in first")); // still in AUTHORIZATION, usable
        Client bob(f);
        QVERIFY(bob.login("bob@example.test"));
        QCOMPARE(bob.send("STAT"), QByteArray("+OK 0 0"));
        QVERIFY(first.send("QUIT").startsWith("+OK"));
        QVERIFY(second.login());
        QCOMPARE(second.send("STAT").left(6), QByteArray("+OK 1 "));
    }

    // The maildrop is a snapshot; IMAP changes meanwhile are met gracefully: a message
    // expunged elsewhere answers -ERR to RETR, and QUIT still commits the rest.
    void concurrentImapChanges()
    {
        Fixture f;
        f.deliver(f.alice, 4);
        Client c(f);
        QVERIFY(c.login());
        QCOMPARE(c.send("STAT").left(6), QByteArray("+OK 4 "));
        {
            // Another client (IMAP) moves message 2 to Archive and expunges message 3.
            auto mail = f.opener->open(f.alice.id);
            auto inbox = (*mail)->folder(QStringLiteral("INBOX"));
            QVERIFY((*mail)->copyMessages(inbox->id, {2}, QStringLiteral("Archive"), true).ok());
            QCOMPARE((*mail)->expungeUids(inbox->id, {3})->size(), 1);
            f.deliver(f.alice, 1); // new mail waits for the next session
        }
        QCOMPARE(c.send("STAT").left(6), QByteArray("+OK 4 "));
        QCOMPARE(c.send("RETR 2"), QByteArray("-ERR Message 2 was removed by another client"));
        QCOMPARE(c.send("TOP 3 0"), QByteArray("-ERR Message 3 was removed by another client"));
        QVERIFY(c.send("RETR 1", true).startsWith("+OK"));
        QVERIFY(c.send("DELE 1").startsWith("+OK"));
        QVERIFY(c.send("DELE 2").startsWith("+OK"));
        QVERIFY(c.send("DELE 4").startsWith("+OK"));
        QCOMPARE(c.send("QUIT"), QByteArray("+OK Valv POP3 server signing off (1 messages left)"));
        QCOMPARE(f.subjects(f.alice, QStringLiteral("INBOX")), QStringList{"message 1"}); // the new delivery
        QCOMPARE(f.subjects(f.alice, QStringLiteral("Trash")), (QStringList{"message 1", "message 4"}));
        QCOMPARE(f.subjects(f.alice, QStringLiteral("Archive")), QStringList{"message 2"});
    }

    // UIDL (RFC 1939 §7) is the EMAILID: the same across sessions, and the same when the
    // message comes back to INBOX from Trash; unique within one maildrop even when IMAP
    // COPY put two copies of one message into INBOX.
    void uidlStable()
    {
        Fixture f;
        f.deliver(f.alice, 3);
        Client a(f);
        QVERIFY(a.login());
        const QByteArray first = a.send("UIDL", true);
        const QByteArray one = a.send("UIDL 1");
        QVERIFY(one.startsWith("+OK 1 M"));
        QVERIFY(a.send("DELE 1").startsWith("+OK"));
        QVERIFY(a.send("QUIT").startsWith("+OK"));
        {
            auto mail = f.opener->open(f.alice.id);
            auto trash = (*mail)->folder(QStringLiteral("Trash"));
            auto moved = (*mail)->messages(trash->id);
            QCOMPARE(moved->size(), 1);
            QVERIFY((*mail)->copyMessages(trash->id, {moved->first().uid}, QStringLiteral("INBOX"), true).ok());
            auto inbox = (*mail)->folder(QStringLiteral("INBOX"));
            QVERIFY((*mail)->copyMessages(inbox->id, {2}, QStringLiteral("INBOX"), false).ok());
        }
        Client b(f);
        QVERIFY(b.login());
        const QList<QByteArray> before = first.split('\n');
        const QByteArray second = b.send("UIDL", true);
        const QList<QByteArray> after = second.split('\n');
        // Now INBOX holds messages 2, 3, 1 (back from Trash), 2 (a copy).
        QCOMPARE(after.size(), 6);
        auto id = [](const QByteArray &line) { return line.trimmed().split(' ').value(1); };
        QCOMPARE(id(after[1]), id(before[2]));
        QCOMPARE(id(after[2]), id(before[3]));
        QCOMPARE(id(after[3]), id(before[1])); // back from Trash: the same UIDL
        QCOMPARE(id(after[4]), id(before[2]) + ".5"); // the copy: unique within the maildrop
        QVERIFY(b.send("QUIT").startsWith("+OK"));
    }

    // A client that keeps sending while its password is checked is cut off once more
    // than 2 x max_line_length (+ a little) waits; nothing it sent is answered.
    void floodWhileLoginChecked_data()
    {
        QTest::addColumn<bool>("oneWrite");
        QTest::newRow("PASS and the flood in one write") << true;
        QTest::newRow("the flood in small writes") << false;
    }
    void floodWhileLoginChecked()
    {
        QFETCH(bool, oneWrite);
        Fixture f;
        Client c(f);
        QVERIFY(c.send("USER alice@example.test").startsWith("+OK"));
        const QByteArray flood(3 * f.ctx->limits.maxLineLength, 'x');
        if (oneWrite) {
            c.session->ingest("PASS secret\r\n" + flood);
        } else {
            c.session->ingest("PASS secret\r\n");
            QVERIFY(c.session->hasAsyncWork());
            for (qsizetype i = 0; i < flood.size() && !c.sink.closed; i += 100)
                c.session->ingest(flood.mid(i, 100) + "\r\n");
        }
        QCOMPARE(c.reply(), QByteArray("-ERR Too much input while a login is being checked"));
        QVERIFY(c.sink.closed);
        c.settle(); // the check comes back to a closed session: no answer, no lock
        QCOMPARE(c.sink.output.mid(c.cursor), QByteArray());
        QVERIFY(c.sink.violations.isEmpty());
        QVERIFY(!pop3::MaildropLock::instance().isLocked(f.alice.id));
    }

    // Pipelining a few commands behind PASS stays well within the limit.
    void pipelineBehindPass()
    {
        Fixture f;
        f.deliver(f.alice, 2);
        Client c(f);
        c.session->ingest("USER alice@example.test\r\nPASS secret\r\nSTAT\r\nLIST\r\nUIDL\r\nNOOP\r\n");
        QVERIFY(c.reply().startsWith("+OK Send"));
        QVERIFY(c.reply().startsWith("+OK Logged in"));
        QVERIFY(c.reply().startsWith("+OK 2 "));
        QVERIFY(c.reply(true).startsWith("+OK 2 messages"));
        QVERIFY(c.reply(true).startsWith("+OK Unique-ID"));
        QCOMPARE(c.reply(), QByteArray("+OK"));
        QVERIFY(!c.sink.closed);
    }

    // The idle timer fires once; firing during a password check it is applied after it
    // (good password or bad), and the maildrop lock goes with the session.
    void idleTimeoutDuringCheck_data()
    {
        QTest::addColumn<QByteArray>("password");
        QTest::addColumn<QByteArray>("answer");
        QTest::newRow("good password") << QByteArray("secret") << QByteArray("+OK Logged in; 0 messages (0 octets)");
        QTest::newRow("wrong password") << QByteArray("wrong") << QByteArray("-ERR [AUTH] Invalid user name or password");
    }
    void idleTimeoutDuringCheck()
    {
        QFETCH(QByteArray, password);
        QFETCH(QByteArray, answer);
        Fixture f;
        Client c(f);
        QVERIFY(c.send("USER alice@example.test").startsWith("+OK"));
        c.session->ingest("PASS " + password + "\r\n");
        QVERIFY(c.session->hasAsyncWork());
        c.session->idleTimeout();
        QCOMPARE(c.reply(), answer);
        QCOMPARE(c.reply(), QByteArray("-ERR Autologout; idle for too long"));
        QVERIFY(c.sink.closed);
        QVERIFY(!pop3::MaildropLock::instance().isLocked(f.alice.id));
    }

    // RFC 1939 §3: an idle timeout or a shutdown ends the session without UPDATE and
    // frees the maildrop: the next session logs in.
    void lockFreedWhenSessionEnds_data()
    {
        QTest::addColumn<bool>("idle");
        QTest::newRow("idle timeout") << true;
        QTest::newRow("shutdown") << false;
    }
    void lockFreedWhenSessionEnds()
    {
        QFETCH(bool, idle);
        Fixture f;
        f.deliver(f.alice, 1);
        Client a(f);
        QVERIFY(a.login());
        QVERIFY(a.send("DELE 1").startsWith("+OK"));
        if (idle)
            a.session->idleTimeout();
        else
            a.session->shutdown();
        QVERIFY(a.reply().startsWith("-ERR "));
        QVERIFY(a.sink.closed);
        Client b(f); // a's session object still exists, as it would until its connection is gone
        QVERIFY(b.login());
        QCOMPARE(b.send("STAT").left(6), QByteArray("+OK 1 "));
        QVERIFY(b.send("QUIT").startsWith("+OK"));
    }

    // [IN-USE] through AUTH PLAIN and AUTH LOGIN as through USER/PASS.
    void inUseThroughAuth()
    {
        Fixture f;
        Client first(f);
        QVERIFY(first.send("AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ=").startsWith("+OK Logged in"));
        Client second(f);
        QCOMPARE(second.send("AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ="),
                 QByteArray("-ERR [IN-USE] Another POP3 session is using this mailbox"));
        QCOMPARE(second.send("AUTH LOGIN YWxpY2VAZXhhbXBsZS50ZXN0"), QByteArray("+ UGFzc3dvcmQ6"));
        QCOMPARE(second.send("c2VjcmV0"), QByteArray("-ERR [IN-USE] Another POP3 session is using this mailbox"));
        QVERIFY(first.send("QUIT").startsWith("+OK"));
        QVERIFY(second.send("AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ=").startsWith("+OK Logged in"));
    }

    // RFC 1939 §6: when the store fails at QUIT, nothing is removed, the client hears
    // "-ERR some deleted messages not removed", and the maildrop is free again. The
    // failure: a read snapshot held on the connection the session shares (this thread's),
    // inside which the UPDATE transaction cannot begin.
    void failedUpdate()
    {
        Fixture f;
        f.deliver(f.alice, 2);
        Client c(f);
        QVERIFY(c.login());
        QVERIFY(c.send("DELE 1").startsWith("+OK"));
        {
            auto shared = f.opener->shared(f.alice.id, f.ctx->limits.mailboxCacheKiB);
            QVERIFY(shared.ok());
            const store::ReadSnapshot snapshot = (*shared)->readSnapshot();
            QVERIFY(!(*shared)->folders()->isEmpty()); // the snapshot begins with a read
            QVERIFY(c.send("QUIT").startsWith("-ERR [SYS/TEMP] Some deleted messages not removed"));
        }
        QVERIFY(c.sink.closed);
        QCOMPARE(f.subjects(f.alice, QStringLiteral("INBOX")), (QStringList{"message 1", "message 2"}));
        QCOMPARE(f.subjects(f.alice, QStringLiteral("Trash")), QStringList());
        QVERIFY(!pop3::MaildropLock::instance().isLocked(f.alice.id));
        Client d(f);
        QVERIFY(d.login());
        QCOMPARE(d.send("STAT").left(6), QByteArray("+OK 2 "));
    }

    // RFC 6154 allows \Trash on INBOX itself: QUIT cannot move messages into the folder
    // they are in, so it expunges them.
    void trashIsInbox()
    {
        Fixture f;
        {
            auto mail = f.opener->open(f.alice.id);
            QVERIFY((*mail)->deleteFolder(QStringLiteral("Trash")).ok());
            QVERIFY((*mail)->deleteFolder(QStringLiteral("INBOX")).ok());
            QVERIFY((*mail)->createFolder(QStringLiteral("INBOX"), QStringLiteral("\\Trash")).ok());
        }
        f.deliver(f.alice, 3);
        Client c(f);
        QVERIFY(c.login());
        QVERIFY(c.send("DELE 2").startsWith("+OK"));
        QCOMPARE(c.send("QUIT"), QByteArray("+OK Valv POP3 server signing off (2 messages left)"));
        QCOMPARE(f.subjects(f.alice, QStringLiteral("INBOX")), (QStringList{"message 1", "message 3"}));
        QCOMPARE(f.subjects(f.alice, QStringLiteral("Trash")), QStringList{"<no folder>"});
    }

    // RFC 1939 §5: LIST and STAT sizes are the octets RETR sends (without byte-stuffing
    // and the final ".CRLF"), for messages stored with bare LFs or no final line end
    // (as an IMAP APPEND may store them) as for CRLF ones; the next login (sizes from
    // the cache) agrees. TOP sends the blank line after a header that has none.
    void sizesMatchRetr()
    {
        Fixture f;
        f.append(f.alice, "From: a@example.org\nSubject: lf\n\nline 1\n.dot\nlast line without LF");
        f.append(f.alice, "From: a@example.org\r\nSubject: crlf\r\n\r\nbody\r\n");
        f.append(f.alice, "From: a@example.org\r\nSubject: no body");
        for (int round = 0; round < 2; ++round) {
            Client c(f);
            QVERIFY(c.login());
            qint64 total = 0;
            for (int i = 1; i <= 3; ++i) {
                const QByteArray list = c.send("LIST " + QByteArray::number(i));
                const qint64 size = list.split(' ').value(2).toLongLong();
                QByteArray data = c.send("RETR " + QByteArray::number(i), true);
                data = data.mid(data.indexOf("\r\n") + 2); // after the +OK line, up to ".CRLF"
                qint64 stuffed = 0;
                for (const QByteArray &line : data.split('\n'))
                    stuffed += line.startsWith("..") ? 1 : 0;
                QCOMPARE(qint64(data.size()) - stuffed, size);
                total += size;
            }
            QCOMPARE(c.send("STAT"), "+OK 3 " + QByteArray::number(total));
            QCOMPARE(c.send("TOP 3 0", true),
                     QByteArray("+OK Top of message follows\r\nFrom: a@example.org\r\nSubject: no body\r\n\r\n"));
            QCOMPARE(c.send("TOP 1 0", true),
                     QByteArray("+OK Top of message follows\r\nFrom: a@example.org\r\nSubject: lf\r\n\r\n"));
            QCOMPARE(c.send("TOP 1 2", true),
                     QByteArray("+OK Top of message follows\r\nFrom: a@example.org\r\nSubject: lf\r\n\r\nline 1\r\n..dot\r\n"));
            QVERIFY(c.send("QUIT").startsWith("+OK"));
        }
    }

    // protocol_trace logs the command lines as received, with passwords and SASL data
    // redacted.
    void protocolTrace()
    {
        Fixture f;
        auto ctx = std::make_shared<core::ServerContext>(*f.ctx);
        ctx->protocolTrace = true;
        f.ctx = ctx;
        static QStringList lines;
        lines.clear();
        QLoggingCategory::setFilterRules(QStringLiteral("valv.*.info=false\nvalv.*.debug=false\nvalv.pop3.debug=true"));
        const QtMessageHandler previous = qInstallMessageHandler([](QtMsgType, const QMessageLogContext &, const QString &m) {
            lines << m;
        });
        {
            Client c(f);
            QVERIFY(c.send("USER alice@example.test").startsWith("+OK"));
            QVERIFY(c.send("PASS secret").startsWith("+OK"));
            QVERIFY(c.send("LIST 1").startsWith("-ERR"));
            QVERIFY(c.send("QUIT").startsWith("+OK"));
            Client d(f);
            QVERIFY(d.send("AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ=").startsWith("+OK"));
            QVERIFY(d.send("QUIT").startsWith("+OK"));
            Client e(f);
            QVERIFY(e.send("AUTH LOGIN").startsWith("+ "));
            QVERIFY(e.send("YWxpY2VAZXhhbXBsZS50ZXN0").startsWith("+ "));
            QVERIFY(e.send("c2VjcmV0").startsWith("+OK"));
        }
        qInstallMessageHandler(previous);
        QLoggingCategory::setFilterRules(QStringLiteral("valv.*.info=false\nvalv.*.debug=false"));
        const QString all = lines.join(u'\n');
        QVERIFY2(all.contains(QLatin1String("C: USER alice@example.test")), qPrintable(all));
        QVERIFY2(all.contains(QLatin1String("C: PASS (password redacted)")), qPrintable(all));
        QVERIFY2(all.contains(QLatin1String("C: LIST 1")), qPrintable(all));
        QVERIFY2(all.contains(QLatin1String("C: AUTH PLAIN (initial response redacted)")), qPrintable(all));
        QVERIFY2(all.contains(QLatin1String("C: AUTH LOGIN")), qPrintable(all));
        QVERIFY2(all.contains(QLatin1String("C: (authentication data redacted)")), qPrintable(all));
        QVERIFY2(!all.contains(QLatin1String("secret")) && !all.contains(QLatin1String("c2VjcmV0"))
                     && !all.contains(QLatin1String("AGFsaWNl")),
                 qPrintable(all));
    }

    void loginDelay()
    {
        Fixture f;
        auto c = std::make_shared<core::ServerContext>(*f.ctx);
        c->limits.pop3LoginDelay = 3600;
        f.ctx = c;
        Client a(f);
        QVERIFY(a.send("CAPA", true).contains("\r\nLOGIN-DELAY 3600\r\n"));
        QVERIFY(a.login());
        QVERIFY(a.send("QUIT").startsWith("+OK"));
        Client b(f);
        QVERIFY(b.send("USER alice@example.test").startsWith("+OK"));
        QVERIFY(b.send("PASS secret").startsWith("-ERR [LOGIN-DELAY] Wait "));
        Client bob(f);
        QVERIFY(bob.login("bob@example.test"));
    }
};

QTEST_GUILESS_MAIN(TestPop3Session)
#include "tst_pop3session.moc"
