// SPDX-License-Identifier: AGPL-3.0-or-later
#include "transcript.h"

#include "core/ratelimit.h"
#include "store/configstore.h"
#include "store/crypto.h"
#include "store/keyring.h"
#include "store/mailstorecache.h"

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>
#include <QThreadPool>

namespace valv::test {

namespace {

// Generous: argon2 and SQLite under AddressSanitizer on a shared machine, plus the
// IMAP session's deliberate one-second delay after a failed login.
constexpr int kWaitMs = 30000;

// Cheap argon2id for test users: verifyPassword reads the parameters from the hash.
const store::Argon2Params kTestHashParams{1, 1024, 1};

struct Step {
    enum class Kind { Client, ClientRaw, Server, Directive };
    Kind kind = Kind::Client;
    int line = 0;
    QByteArray text;     // client bytes, expected server line, or directive words
    QList<QByteArray> block; // "| " lines following a directive
};

bool parseFile(const QString &path, QList<Step> *steps, QString *error)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        *error = path + QStringLiteral(": cannot open: ") + f.errorString();
        return false;
    }
    const QList<QByteArray> lines = f.readAll().split('\n');
    for (int i = 0; i < lines.size(); ++i) {
        QByteArray l = lines[i];
        if (l.endsWith('\r'))
            l.chop(1);
        const int no = i + 1;
        auto rest = [&](int prefix) {
            QByteArray r = l.mid(prefix);
            if (r.startsWith(' '))
                r.remove(0, 1);
            return r;
        };
        if (l.trimmed().isEmpty() || l.startsWith('#'))
            continue;
        if (l.startsWith("C:"))
            steps->append({Step::Kind::Client, no, rest(2), {}});
        else if (l.startsWith("C~"))
            steps->append({Step::Kind::ClientRaw, no, rest(2), {}});
        else if (l.startsWith("S:"))
            steps->append({Step::Kind::Server, no, rest(2), {}});
        else if (l.startsWith('!'))
            steps->append({Step::Kind::Directive, no, l.mid(1).trimmed(), {}});
        else if (l.startsWith('|')) {
            if (steps->isEmpty() || steps->last().kind != Step::Kind::Directive) {
                *error = QStringLiteral("%1:%2: a | line must follow a directive").arg(path).arg(no);
                return false;
            }
            steps->last().block.append(rest(1));
        } else {
            *error = QStringLiteral("%1:%2: unknown line '%3'").arg(path).arg(no).arg(QString::fromUtf8(l));
            return false;
        }
    }
    return true;
}

QByteArray joinBlock(const QList<QByteArray> &block)
{
    QByteArray out;
    for (const QByteArray &l : block)
        out += l + "\r\n";
    return out;
}

class Replay {
public:
    Replay(QString path, bool bytewise, const SessionFactory &factory, ReplayExtension *extension)
        : m_path(std::move(path)), m_bytewise(bytewise), m_factory(factory), m_extension(extension)
    {
    }
    ~Replay()
    {
        // A failed replay may leave work in flight that reports back to the session.
        if (m_session)
            (void)waitFor([&] { return !m_session->hasAsyncWork(); });
        m_session.reset();
        m_sink.reset();
        // Pool work may go on after its answer (indexing after a delivery) and uses the
        // stores: let it finish before they go. Not waitForDone(): that also ends the
        // pool's threads, and their cached mailbox connections would then close while
        // the temporary dir is being removed.
        (void)waitFor([] { return QThreadPool::globalInstance()->activeThreadCount() == 0; });
        if (m_extension && m_extensionSetUp)
            m_extension->tearDown();
        // Delivery in this thread caches connections per thread: let go of ours.
        if (m_opener) {
            for (const store::User &u : m_users)
                m_opener->dropCached(u.id);
        }
    }

    bool run(QString *error)
    {
        QList<Step> steps;
        if (!parseFile(m_path, &steps, error))
            return false;
        if (!setUp())
            return report(error);
        for (const Step &s : steps) {
            m_line = s.line;
            if (!step(s))
                return report(error);
        }
        m_line = -1;
        if (!finishConnection())
            return report(error);
        return true;
    }

private:
    bool fail(const QString &why)
    {
        m_error = why;
        return false;
    }

    bool report(QString *error)
    {
        QString where = QFileInfo(m_path).fileName();
        if (m_line > 0)
            where += QStringLiteral(":%1").arg(m_line);
        else if (m_line < 0)
            where += QStringLiteral(" (end)");
        QString text = where + (m_bytewise ? QStringLiteral(" [byte by byte]: ") : QStringLiteral(": ")) + m_error;
        if (m_sink) {
            const QByteArray seen = m_sink->output.left(m_cursor);
            const QByteArray unread = m_sink->output.mid(m_cursor);
            text += QStringLiteral("\n  server output read so far (last 600 bytes): ") + printable(seen.right(600));
            text += QStringLiteral("\n  server output not yet read: ") + printable(unread.left(600));
        }
        *error = text;
        return false;
    }

    bool setUp()
    {
        if (!m_dir.isValid())
            return fail(QStringLiteral("cannot create a temporary directory"));
        m_keys = store::KeyRing::fromMasterKey(QByteArray::fromHex(
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"));
        auto config = store::ConfigStore::open(m_dir.path(), m_keys, true);
        if (!config)
            return fail(QStringLiteral("ConfigStore::open: ") + config.error().message);
        m_config = std::move(*config);
        if (auto r = m_config->addDomain(QStringLiteral("example.test")); !r)
            return fail(QStringLiteral("addDomain: ") + r.error().message);
        m_opener = std::make_unique<store::MailStoreOpener>(m_dir.path(), m_config.get());
        m_delivery = std::make_unique<delivery::LocalDelivery>(m_opener.get());
        m_ctx.hostname = QStringLiteral("mx.example.test");
        m_ctx.config = m_config.get();
        m_ctx.mail = m_opener.get();
        // Transcripts pin the SMTP dialogue; the sender checks need DNS and have their own
        // unit and integration tests.
        m_ctx.senderChecks = false;
        // The failed-login counter is process-wide and keyed by the client address, which
        // is the same in every replay: each transcript starts with a clean slate.
        core::authFailures().clear(FakeSink().peerAddress());
        if (m_extension) {
            const ReplayEnv env{m_dir.path(), m_keys, m_config.get(), m_opener.get(), m_delivery.get()};
            QString why;
            if (!m_extension->setUp(env, &why))
                return fail(QStringLiteral("extension setUp: ") + why);
            m_extensionSetUp = true;
        }
        return true;
    }

    bool started() const { return m_session != nullptr; }

    bool ensureStarted()
    {
        if (m_session)
            return true;
        if (!m_ctxShared)
            m_ctxShared = std::make_shared<const core::ServerContext>(m_ctx);
        m_sink = std::make_unique<FakeSink>();
        m_sink->setEncrypted(m_implicitTls);
        m_cursor = 0;
        m_expectClosed = false;
        m_session = m_factory(m_sink.get(), m_ctxShared, m_delivery.get(), m_tlsAvailable);
        m_session->start();
        return true;
    }

    void flush()
    {
        if (m_pending.isEmpty())
            return;
        const QByteArray bytes = std::exchange(m_pending, QByteArray());
        if (m_bytewise) {
            for (char c : bytes)
                m_session->ingest(QByteArray(1, c));
        } else {
            m_session->ingest(bytes);
        }
    }

    // Waits (spinning the event loop, so async replies can arrive) until `ready` holds.
    bool waitFor(const std::function<bool()> &ready)
    {
        QDeadlineTimer deadline(kWaitMs);
        while (!ready()) {
            if (deadline.hasExpired())
                return false;
            QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
            QTest::qSleep(1);
        }
        return true;
    }

    // Sessions speak only when fed or when async work they started reports back (that
    // includes timers such as the delay after a failed login). With none in flight and
    // every posted event handled, nothing more will come: no need to wait it out.
    bool quiet()
    {
        if (m_session->hasAsyncWork())
            return false;
        QCoreApplication::processEvents();
        return !m_session->hasAsyncWork();
    }

    bool readLine(QByteArray *line)
    {
        qsizetype end = -1;
        const bool got = waitFor([&] {
            end = m_sink->output.indexOf("\r\n", m_cursor);
            return end >= 0 || m_sink->closed || quiet();
        });
        end = m_sink->output.indexOf("\r\n", m_cursor); // quiet() may have let more arrive
        if (!got || end < 0)
            return false;
        *line = m_sink->output.mid(m_cursor, end - m_cursor);
        m_cursor = end + 2;
        return true;
    }

    bool checkSink()
    {
        if (!m_sink->violations.isEmpty())
            return fail(QStringLiteral("sink contract broken: ") + m_sink->violations.join(QStringLiteral("; ")));
        return true;
    }

    bool setting(const QList<QByteArray> &w)
    {
        if (started())
            return fail(QStringLiteral("setup directive after the session started"));
        const QByteArray &d = w[0];
        if (d == "limit" && w.size() == 3) {
            bool ok = false;
            const qint64 n = w[2].toLongLong(&ok);
            if (!ok)
                return fail(QStringLiteral("bad number"));
            if (w[1] == "max-message-size")
                m_ctx.limits.maxMessageSize = n;
            else if (w[1] == "max-recipients")
                m_ctx.limits.maxRecipients = int(n);
            else if (w[1] == "max-line-length")
                m_ctx.limits.maxLineLength = int(n);
            else if (w[1] == "max-folders")
                m_ctx.limits.maxFolders = int(n);
            else if (w[1] == "user-send-rate")
                m_ctx.limits.userSendRate = int(n);
            else if (w[1] == "auth-failures-per-ip")
                m_ctx.limits.authFailuresPerIp = int(n);
            else if (w[1] == "auth-block-seconds")
                m_ctx.limits.authBlockSeconds = int(n);
            else
                return fail(QStringLiteral("unknown limit"));
        } else if (d == "no-tls") {
            m_tlsAvailable = false;
        } else if (d == "implicit-tls") {
            m_implicitTls = true;
        } else if (d == "plaintext-auth") {
            m_ctx.allowPlaintextAuth = true;
        } else if (d == "no-bytewise" || d == "known-bug") {
            // read by transcriptOption()
        } else {
            return fail(QStringLiteral("bad directive"));
        }
        return true;
    }

    Result<store::User> user(const QByteArray &address)
    {
        return m_config->user(QString::fromUtf8(address));
    }

    bool step(const Step &s)
    {
        switch (s.kind) {
        case Step::Kind::Client:
            ensureStarted();
            m_pending += s.text + "\r\n";
            return true;
        case Step::Kind::ClientRaw:
            ensureStarted();
            m_pending += s.text;
            return true;
        case Step::Kind::Server: {
            ensureStarted();
            flush();
            QByteArray actual;
            if (!readLine(&actual)) {
                if (!checkSink())
                    return false;
                if (m_sink->closed)
                    return fail(QStringLiteral("expected \"%1\", but the session closed the connection")
                                    .arg(printable(s.text)));
                if (m_sink->output.indexOf("\r\n", m_cursor) < 0 && !m_session->hasAsyncWork())
                    return fail(QStringLiteral("expected \"%1\", but the session has nothing more to say"
                                               " (no async work in flight)")
                                    .arg(printable(s.text)));
                return fail(QStringLiteral("expected \"%1\", but no complete line came within %2 s")
                                .arg(printable(s.text))
                                .arg(kWaitMs / 1000));
            }
            if (!lineMatches(s.text, actual))
                return fail(QStringLiteral("expected \"%1\"\n  actual   \"%2\"").arg(printable(s.text), printable(actual)));
            return checkSink();
        }
        case Step::Kind::Directive:
            break;
        }

        const QList<QByteArray> w = s.text.split(' ');
        const QByteArray &d = w[0];
        if (d == "user" && w.size() >= 3) {
            // The password is the rest of the line (it may hold spaces).
            const QByteArray password = s.text.mid(w[0].size() + w[1].size() + 2);
            auto hash = store::hashPassword(password, kTestHashParams);
            if (!hash)
                return fail(QStringLiteral("hashPassword: ") + hash.error().message);
            auto u = m_config->addUser(QString::fromUtf8(w[1]), *hash);
            if (!u)
                return fail(QStringLiteral("addUser: ") + u.error().message);
            m_users.append(*u);
            return true;
        }
        if (d == "alias" && w.size() >= 3) {
            store::Alias alias{QString::fromUtf8(w[1]), {}};
            for (qsizetype i = 2; i < w.size(); ++i)
                alias.targets.append(QString::fromUtf8(w[i]));
            if (auto r = m_config->addAlias(alias); !r)
                return fail(QStringLiteral("addAlias: ") + r.error().message);
            return true;
        }
        if (d == "domain" && w.size() == 2) {
            if (auto r = m_config->addDomain(QString::fromUtf8(w[1])); !r)
                return fail(QStringLiteral("addDomain: ") + r.error().message);
            return true;
        }
        if (d == "limit" || d == "no-tls" || d == "implicit-tls" || d == "plaintext-auth" || d == "no-bytewise"
            || d == "known-bug")
            return setting(w);
        if (d == "deliver" && w.size() == 2) {
            if (started())
                flush();
            auto u = user(w[1]);
            if (!u)
                return fail(QStringLiteral("no user ") + QString::fromUtf8(w[1]));
            auto r = m_delivery->deliver(joinBlock(s.block), {*u});
            if (!r)
                return fail(QStringLiteral("deliver: ") + r.error().message);
            return true;
        }
        if ((d == "inbox" || d == "inbox-exact") && w.size() == 3) {
            if (started())
                flush();
            auto u = user(w[1]);
            if (!u)
                return fail(QStringLiteral("no user ") + QString::fromUtf8(w[1]));
            auto mail = m_opener->open(u->id);
            if (!mail)
                return fail(QStringLiteral("open mailbox: ") + mail.error().message);
            auto inbox = (*mail)->folder(QStringLiteral("INBOX"));
            if (!inbox)
                return fail(QStringLiteral("INBOX: ") + inbox.error().message);
            auto msgs = (*mail)->messages(inbox->id);
            if (!msgs)
                return fail(QStringLiteral("messages: ") + msgs.error().message);
            if (msgs->size() != w[2].toInt())
                return fail(QStringLiteral("INBOX of %1 holds %2 messages, expected %3")
                                .arg(QString::fromUtf8(w[1]))
                                .arg(msgs->size())
                                .arg(QString::fromUtf8(w[2])));
            if (!s.block.isEmpty()) {
                if (msgs->isEmpty())
                    return fail(QStringLiteral("no message to compare"));
                auto raw = (*mail)->raw(inbox->id, msgs->last().uid);
                if (!raw)
                    return fail(QStringLiteral("raw: ") + raw.error().message);
                const QByteArray tail = joinBlock(s.block);
                if (d == "inbox-exact") {
                    if (!lineMatches(tail, *raw))
                        return fail(QStringLiteral("stored message differs\n  stored:   %1\n  expected: %2")
                                        .arg(printable(*raw), printable(tail)));
                } else if (!raw->endsWith(tail))
                    return fail(QStringLiteral("stored message does not end with the expected bytes\n  stored:   %1\n  expected: ...%2")
                                    .arg(printable(*raw), printable(tail)));
            }
            return true;
        }
        if (d == "tls") {
            ensureStarted();
            flush();
            if (!waitFor([&] { return m_sink->tlsRequested || m_sink->closed || quiet(); }) || !m_sink->tlsRequested)
                return fail(QStringLiteral("the session did not ask for TLS"));
            m_sink->completeTls();
            m_session->tlsStarted();
            return checkSink();
        }
        if (d == "closed") {
            ensureStarted();
            flush();
            m_expectClosed = true;
            if (!waitFor([&] { return m_sink->closed || quiet(); }) || !m_sink->closed)
                return fail(QStringLiteral("the session did not close the connection"));
            if (m_cursor < m_sink->output.size())
                return fail(QStringLiteral("closed with unread output"));
            return checkSink();
        }
        if (d == "idle-timeout") {
            ensureStarted();
            flush();
            m_session->idleTimeout();
            return checkSink();
        }
        if (d == "shutdown") {
            ensureStarted();
            flush();
            m_session->shutdown();
            return checkSink();
        }
        if (d == "new-session") {
            if (!finishConnection())
                return false;
            m_session.reset();
            m_sink.reset();
            ensureStarted();
            return true;
        }
        if (m_extension) {
            if (started())
                flush();
            QString why;
            switch (m_extension->directive(w, s.block, started(), &why)) {
            case ReplayExtension::Outcome::Passed:
                return !started() || checkSink();
            case ReplayExtension::Outcome::Failed:
                return fail(why);
            case ReplayExtension::Outcome::Unknown:
                break;
            }
        }
        return fail(QStringLiteral("unknown directive '%1'").arg(QString::fromUtf8(s.text)));
    }

    // The client is done: everything the session says by now must have been expected.
    bool finishConnection()
    {
        if (!m_session)
            return true;
        flush();
        if (!waitFor([&] { return !m_session->hasAsyncWork(); }))
            return fail(QStringLiteral("async work still running"));
        QCoreApplication::processEvents();
        if (m_cursor < m_sink->output.size())
            return fail(QStringLiteral("unexpected server output"));
        if (m_sink->tlsRequested)
            return fail(QStringLiteral("the session asked for TLS and the transcript ignored it"));
        if (m_sink->closed && !m_expectClosed)
            return fail(QStringLiteral("the session closed the connection but the transcript has no !closed"));
        return checkSink();
    }

    QString m_path;
    bool m_bytewise;
    const SessionFactory &m_factory;
    ReplayExtension *m_extension = nullptr;
    bool m_extensionSetUp = false;
    int m_line = 0;
    QString m_error;

    QTemporaryDir m_dir;
    store::KeyRing m_keys = store::KeyRing::fromMasterKey(QByteArray(32, '\0'));
    std::unique_ptr<store::ConfigStore> m_config;
    std::unique_ptr<store::MailStoreOpener> m_opener;
    std::unique_ptr<delivery::LocalDelivery> m_delivery;
    QList<store::User> m_users;
    core::ServerContext m_ctx;
    std::shared_ptr<const core::ServerContext> m_ctxShared;
    bool m_tlsAvailable = true;
    bool m_implicitTls = false;

    // Declared after the stores: destroyed first.
    std::unique_ptr<FakeSink> m_sink;
    std::unique_ptr<core::Session> m_session;
    QByteArray m_pending;
    qsizetype m_cursor = 0;
    bool m_expectClosed = false;
};

} // namespace

QString printable(const QByteArray &bytes)
{
    QString out;
    for (char ch : bytes) {
        const uchar b = uchar(ch);
        if (b == '\r')
            out += QLatin1String("\\r");
        else if (b == '\n')
            out += QLatin1String("\\n");
        else if (b < 32 || b >= 127)
            out += QStringLiteral("\\x%1").arg(b, 2, 16, QLatin1Char('0'));
        else
            out += QLatin1Char(char(b));
    }
    return out;
}

bool lineMatches(const QByteArray &expected, const QByteArray &actual)
{
    if (!expected.contains("{*}"))
        return expected == actual;
    QString re = QStringLiteral("\\A");
    qsizetype pos = 0;
    while (true) {
        const qsizetype star = expected.indexOf("{*}", pos);
        const QByteArray literal = expected.mid(pos, star < 0 ? -1 : star - pos);
        re += QRegularExpression::escape(QString::fromUtf8(literal));
        if (star < 0)
            break;
        re += QStringLiteral(".*");
        pos = star + 3;
    }
    re += QStringLiteral("\\z");
    return QRegularExpression(re, QRegularExpression::DotMatchesEverythingOption)
        .match(QString::fromUtf8(actual))
        .hasMatch();
}

void FakeSink::write(const QByteArray &bytes)
{
    if (closed)
        violations << QStringLiteral("write after close(): ") + printable(bytes.left(200));
    if (tlsRequested)
        violations << QStringLiteral("write between startTls() and the handshake: ") + printable(bytes.left(200));
    output += bytes;
}

void FakeSink::startTls()
{
    if (m_encrypted || tlsRequested)
        violations << QStringLiteral("startTls() on a connection that is already encrypted or negotiating");
    if (closed)
        violations << QStringLiteral("startTls() after close()");
    tlsRequested = true;
}

void FakeSink::close()
{
    if (closed)
        violations << QStringLiteral("close() twice");
    closed = true;
}

void FakeSink::completeTls()
{
    tlsRequested = false;
    m_encrypted = true;
}

QStringList transcriptFiles(const QString &proto)
{
    QDir dir(QStringLiteral(VALV_TEST_DATA "/") + proto);
    QStringList out;
    for (const QString &name : dir.entryList({QStringLiteral("*.txt")}, QDir::Files, QDir::Name))
        out << dir.filePath(name);
    return out;
}

std::optional<QString> transcriptOption(const QString &path, const QByteArray &directive)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return std::nullopt;
    for (const QByteArray &l : f.readAll().split('\n')) {
        const QByteArray t = l.trimmed();
        if (t == '!' + directive || t.startsWith('!' + directive + ' '))
            return QString::fromUtf8(t.mid(directive.size() + 1).trimmed());
    }
    return std::nullopt;
}

bool replayTranscript(const QString &path, bool bytewise, const SessionFactory &factory, QString *error,
                      ReplayExtension *extension)
{
    Replay r(path, bytewise, factory, extension);
    return r.run(error);
}

} // namespace valv::test
