// SPDX-License-Identifier: AGPL-3.0-or-later
// Replays C:/S: transcripts (tests/data/<proto>/*.txt) against a session with a fake
// sink and a temporary encrypted store. No sockets, no fixed ports.
//
// Transcript lines
//   C: text        client sends text + CRLF. Consecutive C: lines go out as ONE write
//                  (that is how pipelining is written); any other line flushes them.
//   C~ text        client sends text with no CRLF (joined to the same write)
//   S: text        the next server line must equal text; "{*}" matches any run of
//                  characters (ids, dates, sizes that vary). "S:" alone is an empty line.
//   # ...          comment; blank lines are ignored
//   | text         a message line for the directive above (joined with CRLF, CRLF-ended)
// Setup directives (before the first C:/S: line)
//   !user ADDRESS PASSWORD     add a local user (domain example.test exists); the
//                              password is the rest of the line (spaces allowed)
//   !domain NAME               add another local domain
//   !alias SOURCE TARGET...    add an alias ("@domain" for a catch-all)
//   !limit max-message-size N | max-recipients N | max-line-length N | max-folders N
//          | user-send-rate N | auth-failures-per-ip N | auth-block-seconds N
//                              (the per-IP failed-login counter of the fake peer
//                              address starts empty in every replay)
//   !no-tls                    the listener has no certificate (tlsAvailable = false)
//   !implicit-tls              the connection is already encrypted (port 465/993)
//   !plaintext-auth            allow_plaintext_auth = true
//   !no-bytewise               do not also replay this transcript one byte at a time
//   !known-bug TEXT            the server is known to fail this transcript (TEXT says
//                              how): the row is an expected failure until it is fixed,
//                              and an unexpected pass fails the run as a reminder
// Action directives
//   !deliver ADDRESS + | block    LocalDelivery into the user's INBOX, now
//   !inbox ADDRESS N [+ | block]  the INBOX holds N messages; the last one's raw bytes
//                                 end with the block
//   !inbox-exact ADDRESS N + | block  the same, but the block is the whole message,
//                                 "{*}" allowed (trace headers)
//   !tls                       the session asked for TLS: the handshake "completes"
//   !closed                    the session closed the connection (all output read)
//   !idle-timeout / !shutdown  call the session's idleTimeout() / shutdown()
//   !new-session               end this connection (as if the client left) and open
//                              another one to the same server
// A ReplayExtension (see below) may add directives of its own: tst_sessions adds the
// submission queue's (!queue, !queued, !dkim, ...).
// A replay fails on the first mismatch, on server output nobody expected, on a write
// after close() or between startTls() and the handshake, and on a close() the
// transcript did not announce with !closed.
#pragma once

#include "core/context.h"
#include "core/session.h"
#include "delivery/localdelivery.h"
#include "store/keyring.h"

#include <QByteArray>
#include <QList>
#include <QString>
#include <QStringList>

#include <functional>
#include <memory>
#include <optional>

namespace valv::test {

class FakeSink : public core::SessionSink {
public:
    void write(const QByteArray &bytes) override;
    void startTls() override;
    void close() override;
    [[nodiscard]] bool isEncrypted() const override { return m_encrypted; }
    [[nodiscard]] QString peerAddress() const override { return QStringLiteral("192.0.2.10"); }
    void setIdleTimeout(int seconds) override { m_idleTimeout = seconds; }

    // The test's side of the handshake: only valid after startTls() was requested.
    void completeTls();
    void setEncrypted(bool on) { m_encrypted = on; }

    QByteArray output;              // everything the session wrote, in order
    bool tlsRequested = false;
    bool closed = false;
    QStringList violations;         // sink contract breaches seen

private:
    bool m_encrypted = false;
    int m_idleTimeout = -1;
};

using SessionFactory = std::function<std::unique_ptr<core::Session>(
    core::SessionSink *sink, std::shared_ptr<const core::ServerContext> ctx,
    const delivery::LocalDelivery *delivery, bool tlsAvailable)>;

// What a replay built for one transcript: a temporary data dir and its stores.
struct ReplayEnv {
    QString dataDir;
    store::KeyRing keys;
    store::ConfigStore *config = nullptr;
    store::MailStoreOpener *opener = nullptr;
    const delivery::LocalDelivery *delivery = nullptr;
};

// Setup and directives a test brings beyond the shared ones (the submission queue).
// One instance per replay; it must outlive the replay.
class ReplayExtension {
public:
    virtual ~ReplayExtension() = default;
    // After the stores exist, before the first line. false = fail, *error says why.
    [[nodiscard]] virtual bool setUp(const ReplayEnv &env, QString *error) = 0;
    enum class Outcome { Unknown, Passed, Failed };
    // A directive the replay itself does not know: `words` split at spaces (the first is
    // the name, without '!'), `block` its | lines. `started`: the session exists and
    // the client's pending bytes were sent.
    [[nodiscard]] virtual Outcome directive(const QList<QByteArray> &words, const QList<QByteArray> &block,
                                            bool started, QString *error) = 0;
    // The session is gone and the thread pool idle; the stores still exist.
    virtual void tearDown() {}
};

// "{*}" in `expected` matches any run of bytes (newlines too); the rest literally.
[[nodiscard]] bool lineMatches(const QByteArray &expected, const QByteArray &actual);
// Bytes for error messages: CR, LF and non-ASCII escaped.
[[nodiscard]] QString printable(const QByteArray &bytes);

// Files under VALV_TEST_DATA/<proto>/, sorted.
[[nodiscard]] QStringList transcriptFiles(const QString &proto);
// The argument of a file-level directive such as !no-bytewise or !known-bug
// ("" when it has none); nullopt when the file does not use it.
[[nodiscard]] std::optional<QString> transcriptOption(const QString &path, const QByteArray &directive);

// Replays one transcript. On failure returns false and explains in *error
// ("file:line: ..."). `bytewise` feeds every client write one byte at a time.
[[nodiscard]] bool replayTranscript(const QString &path, bool bytewise, const SessionFactory &factory,
                                    QString *error, ReplayExtension *extension = nullptr);

} // namespace valv::test
