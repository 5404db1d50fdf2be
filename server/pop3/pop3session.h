// SPDX-License-Identifier: AGPL-3.0-or-later
// POP3 session (RFC 1939, RFC 2449, RFC 2595, RFC 5034, RFC 6856): the state machine over
// Pop3Receiver and MailStore.
//
// Implementation notes
// - States: AUTHORIZATION -> TRANSACTION -> UPDATE (RFC 1939 §3). UPDATE is entered only
//   by QUIT in TRANSACTION: a dropped connection, an idle timeout or a shutdown leave
//   the maildrop exactly as it was (RFC 1939 §6).
// - Passwords (USER/PASS, AUTH) are accepted only under TLS, unless
//   allow_plaintext_auth says otherwise (loopback development only), as for IMAP.
//   Password checks run on the thread pool; while one runs, input stays buffered and
//   nothing else is answered, so replies keep command order (PIPELINING). What may wait
//   meanwhile is capped (2 x max_line_length + 512 octets): beyond it the session closes.
//   An idle timeout or a shutdown during a check is remembered and applied after it.
// - The pool only verifies the password. The mailbox connection is the one this user's
//   sessions on this worker thread share (MailStoreOpener::shared), opened on this
//   thread once [LOGIN-DELAY] and [IN-USE] have passed, and used on this thread only.
// - RFC 2595 §4: after STLS nothing the client said before counts (USER, UTF8).
// - AUTH exchanges end on any error (an over-long line included) with -ERR, back in
//   command mode.
// - The maildrop is the INBOX as it was at login: a snapshot of (UID, size, UIDL).
//   Message numbers never shift during the session. Sizes are the octets RETR sends
//   (RFC 1939 §5), which differ from the stored size for a message with bare LFs or
//   without a final CRLF. The store keeps that size with every message (crlfsize.h);
//   only messages stored before it did are read once to measure them, and the result
//   is kept per user in memory (WireSizeCache). Mail delivered later waits for the
//   next session; a message expunged meanwhile by IMAP answers -ERR to RETR/TOP and is
//   skipped at QUIT, which still commits the rest.
// - UIDL is the message's RFC 8474 EMAILID: the store keeps it for the life of the
//   message, through COPY and MOVE, so "leave mail on server" clients never fetch one
//   message twice. Two messages of one snapshot sharing an EMAILID (an IMAP COPY into
//   INBOX) get "<emailid>.<uid>" for all but the first, keeping UIDLs unique (§7).
// - QUIT commits every DELE in one store transaction: moved to Trash
//   (pop3_deleted_to_trash, default) or expunged. IMAP sessions on those folders hear
//   of it through the MailboxHub.
// - One POP3 session per user (MaildropLock); a second gets -ERR [IN-USE].
// - Errors: syntax and wrong state -ERR; [AUTH] for credentials (RFC 3206), [IN-USE],
//   [LOGIN-DELAY], [SYS/TEMP] for store failures (logged with the session id).
#pragma once

#include "core/context.h"
#include "core/session.h"
#include "pop3/maildroplock.h"
#include "pop3/pop3receiver.h"
#include "store/configstore.h"
#include "store/mailstore.h"

#include <memory>

namespace valv::pop3 {

class Pop3Session : public core::Session {
public:
    Pop3Session(core::SessionSink *sink, std::shared_ptr<const core::ServerContext> ctx, bool tlsAvailable);
    ~Pop3Session() override;

    void start() override;
    void ingest(const QByteArray &bytes) override;
    void tlsStarted() override;
    void idleTimeout() override;
    void shutdown() override;
    void refuse(const QString &reason) override;
    void outputDrained() override { process(); }

private:
    enum class State { Authorization, Transaction, Closed };
    enum class Sasl { None, PlainResponse, LoginUser, LoginPassword };

    struct Entry {
        uint32_t uid = 0;
        qint64 size = 0;
        QByteArray uidl;
        bool deleted = false;
    };

    void process();
    void dispatch(const Command &cmd);

    // Replies (one place maps outcomes to protocol text).
    void ok(const QByteArray &text);
    void err(const QByteArray &text);
    void syntaxError(const QByteArray &text); // err(), and too many of them close the session
    // "+OK first" and the stuffed data as two writes (no copy of a message into a reply).
    void multiline(const QByteArray &first, const QByteArray &stuffedBody);
    void sysTemp(const QString &detail);
    void closeWith(const QByteArray &errText);
    void traceCommand(const ReceiverEvent &ev) const;
    [[nodiscard]] QByteArray capabilities() const;
    [[nodiscard]] bool passwordsAllowed() const;

    // commands/auth.cpp: CAPA STLS USER PASS APOP AUTH UTF8
    void cmdCapa();
    void cmdStls();
    void cmdUser(const Command &cmd);
    void cmdPass(const Command &cmd);
    void cmdAuth(const Command &cmd);
    void saslLine(const QByteArray &line);
    void abortSasl(const QByteArray &text); // ends an AUTH exchange with -ERR text
    void checkPassword(const QString &user, const QByteArray &password);
    void loginFinished(const store::User &user, const QString &error);
    void checkFinished(); // the password check is over: go on with buffered input
    void authFailed(const QByteArray &text);
    [[nodiscard]] bool openMaildrop(QString *error);

    // commands/maildrop.cpp: STAT LIST UIDL RETR TOP DELE NOOP RSET
    void cmdStat();
    void cmdList(const Command &cmd);
    void cmdUidl(const Command &cmd);
    void cmdRetr(const Command &cmd);
    void cmdTop(const Command &cmd);
    void cmdDele(const Command &cmd);
    void cmdRset();
    // The live entry for a message number, or nullptr after answering -ERR.
    [[nodiscard]] Entry *entry(const std::optional<uint32_t> &msg);
    [[nodiscard]] QByteArray dropSummary() const; // "N messages (M octets)"

    // commands/update.cpp: QUIT
    void cmdQuit();
    // RFC 1939 §6: removes the DELEd messages. False (and *error) when the store failed.
    [[nodiscard]] bool commitDeletions(int *removed, QString *error);

    [[nodiscard]] QString log() const;

    std::shared_ptr<const core::ServerContext> m_ctxHolder;
    const core::ServerContext &m_ctx; // == *m_ctxHolder
    Pop3Receiver m_receiver;
    QString m_id;
    State m_state = State::Authorization;
    bool m_tlsAvailable = false;
    bool m_busy = false; // password check in flight
    bool m_shutdownPending = false;
    bool m_idlePending = false; // the idle timer fired during a password check
    bool m_utf8 = false; // RFC 6856 UTF8 issued
    int m_errors = 0;
    int m_authFailures = 0;
    QByteArray m_userName; // from USER, waiting for PASS
    Sasl m_sasl = Sasl::None;
    QByteArray m_saslUser; // AUTH LOGIN: the username step's answer

    store::User m_user;
    std::shared_ptr<store::MailStore> m_mail; // this thread's shared connection: never hand it to another thread
    MaildropLock::Guard m_lock;
    qint64 m_folderId = 0;
    QList<Entry> m_drop;
};

} // namespace valv::pop3
