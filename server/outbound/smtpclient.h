// SPDX-License-Identifier: AGPL-3.0-or-later
// SmtpClient: one connection to another server's MX (RFC 5321 client side), used by
// the queue runner. Connect, EHLO, STARTTLS when offered (RFC 3207), EHLO again, then
// any number of transactions on the same connection, then QUIT.
//
// Implementation notes
// - Asynchronous over QSslSocket on the runner's thread: nothing blocks; every wait has
//   a timer (remote_timeout), and a silent server becomes a transient failure.
// - TLS is opportunistic (RFC 7435: encrypt when offered, accept any certificate) unless
//   `verifyTls` is set (MTA-STS enforce, REQUIRETLS): then the certificate must chain to
//   a trusted CA and name the MX host, or the connection fails.
// - The remote's replies are kept verbatim (code, enhanced code, text) so a bounce can
//   quote them (RFC 3464 Diagnostic-Code).
// - DSN parameters (RFC 3461) go along only if the server offers DSN; a message that
//   needs SMTPUTF8 to a server without it fails permanently (RFC 6531 §3.2, 5.6.7); a
//   message larger than the server's SIZE fails permanently (RFC 1870, 5.3.4).
// - Body transfer: DATA with dot-stuffing; line ends are sent as stored (CRLF).
#pragma once

#include "outbound/smtpreply.h"
#include "store/queuestore.h"

#include <QHostAddress>
#include <QObject>
#include <QSslConfiguration>
#include <QStringList>
#include <QTimer>

class QSslSocket;

namespace valv::outbound {

struct TransactionResult {
    QList<SmtpReply> recipients; // one per recipient sent, in order
};

class SmtpClient : public QObject {
    Q_OBJECT
public:
    struct Options {
        QString heloName;
        int timeoutSeconds = 300;
        QList<QSslCertificate> extraCas; // trusted in addition to the system's when verifying
        bool tryStartTls = true;
        QHostAddress bindAddress; // null: the system chooses
    };
    explicit SmtpClient(Options options, QObject *parent = nullptr);
    ~SmtpClient() override;

    // Connects and greets; emits ready() or failed().
    void open(const QHostAddress &address, quint16 port, const QString &mxHost, bool verifyTls);
    // One transaction for `recipients` (indexes into entry.recipients); emits sent() or
    // failed() (the connection broke: every recipient is still undelivered).
    void send(const store::QueueEntry &entry, const QByteArray &body, const QList<int> &recipients);
    // QUIT and close; emits nothing.
    void quit();

    [[nodiscard]] bool isEncrypted() const { return m_tls; }
    [[nodiscard]] bool isVerified() const { return m_verified; }
    [[nodiscard]] QString mxHost() const { return m_mxHost; }
    [[nodiscard]] bool hasExtension(const QString &name) const { return m_extensions.contains(name.toUpper()); }

signals:
    void ready();
    void sent(const valv::outbound::TransactionResult &result);
    // The connection is unusable. `reply` is the server's, or code 0 with what happened;
    // `tlsFailed` when the TLS handshake failed (a caller may retry without STARTTLS).
    void failed(const valv::outbound::SmtpReply &reply, bool tlsFailed);

private:
    enum class Step { Idle, Connecting, Greeting, Ehlo, Helo, StartTls, Handshake, Ready, Mail, Rcpt, Data, Body, Rset, Quit, Dead };
    void onReadable();
    void onReply(const SmtpReply &reply, const QStringList &lines);
    void command(const QByteArray &line, Step next);
    void fail(const SmtpReply &reply, bool tlsFailed = false);
    void finishTransaction();
    void arm();
    [[nodiscard]] QByteArray mailCommand() const;
    [[nodiscard]] QByteArray rcptCommand(const store::QueueRecipient &r) const;

    Options m_options;
    QSslSocket *m_socket = nullptr;
    QTimer m_timer;
    Step m_step = Step::Idle;
    QString m_mxHost;
    bool m_verifyTls = false;
    bool m_tls = false;
    bool m_verified = false;
    QStringList m_extensions; // upper-case keywords with arguments: "SIZE 1000", "8BITMIME"
    ReplyParser m_replies;
    // The transaction in progress.
    store::QueueEntry m_entry;
    QByteArray m_body;
    QList<int> m_rcpts;
    int m_rcptIndex = 0;
    TransactionResult m_result;
    int m_accepted = 0;
};

} // namespace valv::outbound

Q_DECLARE_METATYPE(valv::outbound::SmtpReply)
Q_DECLARE_METATYPE(valv::outbound::TransactionResult)
