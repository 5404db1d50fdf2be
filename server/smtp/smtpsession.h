// SPDX-License-Identifier: AGPL-3.0-or-later
// SMTP session for the MX port (RFC 5321: mail for local domains only) and for the
// submission ports (RFC 6409: authenticated users sending anywhere).
//
// Implementation notes
// - State: Connected -> (EHLO/HELO) Greeted -> (MAIL) InMail -> (RCPT+) -> (DATA) Data
//   -> Committing -> Greeted. STARTTLS resets to Connected (RFC 3207 §4.2).
// - Never an open relay: on the MX port (no AUTH there) every recipient must resolve to
//   a local mailbox, else 550 5.7.1. On submission MAIL needs AUTH first (530), AUTH
//   needs TLS (538) unless allow_plaintext_auth, and the user may send only as its own
//   addresses and aliases, in MAIL FROM and in From: (550 5.7.1).
// - Submission (smtp/submission.cpp) adds Message-ID and Date when missing, takes
//   RFC 3461 DSN and RFC 8689 REQUIRETLS parameters, and hands the message to the
//   Submitter: local recipients are delivered, remote ones queued, then 250.
// - Failed logins: 535 after a delay, the connection closed after three, and a client
//   address with auth_failures_per_ip failures (any protocol) refused with 454 for a while.
// - 250 to the end of DATA / BDAT LAST is sent only after every recipient's mailbox
//   committed the message (LocalDelivery). While that runs, input stays buffered in
//   the receiver (pipelining keeps its order) and nothing else is answered.
// - Errors map in one place (reply()): syntax 500/501 5.5.x, user 5xx/4xx, server 451 4.3.0.
#pragma once

#include "core/context.h"
#include "core/session.h"
#include "delivery/localdelivery.h"
#include "smtp/smtpreceiver.h"
#include "store/configstore.h"
#include "store/queuestore.h"

#include <QDateTime>

#include <memory>
#include <optional>

namespace valv::outbound {
class Submitter;
}

namespace valv::smtp {

class SmtpSession : public core::Session {
public:
    // MX: `submitter` may be null. Submission: it must be set.
    enum class Mode { Mx, Submission };
    SmtpSession(core::SessionSink *sink, std::shared_ptr<const core::ServerContext> ctx, const delivery::LocalDelivery *delivery,
                bool tlsAvailable, Mode mode = Mode::Mx, outbound::Submitter *submitter = nullptr);

    void start() override;
    void ingest(const QByteArray &bytes) override;
    void tlsStarted() override;
    void idleTimeout() override;
    void shutdown() override;
    void outputDrained() override { process(); }
    void refuse(const QString &reason) override;

private:
    enum class State { Connected, Greeted, InMail, Data, Committing, Closed };

    void process();
    void handle(const Command &cmd);
    void onEhlo(const Command &cmd);
    void onMail(const Command &cmd);
    void onRcpt(const Command &cmd);
    void onData();
    void onBdat(const Command &cmd);
    void onStartTls();
    void onMessage(const QByteArray &content);
    void commitDone(const Result<void> &result);
    // Submission (submission.cpp).
    void onAuth(const Command &cmd);
    void authLine(const QByteArray &line);
    void checkPassword(const QString &user, const QByteArray &password);
    void loginFinished(const store::User &user, const QString &error);
    void authFailed(int code, const char *enhanced, const QString &text);
    [[nodiscard]] bool submissionMailParams(const Command &cmd);
    [[nodiscard]] bool submissionRcpt(const Command &cmd, const QString &address);
    void submitMessage(const QByteArray &content);
    // MX forwarding (forwarding.cpp): aliases to addresses elsewhere, SRS, bounces to SRS.
    [[nodiscard]] Result<store::Resolution> resolveForMx(const QString &address);
    [[nodiscard]] bool tooManyHops(const QByteArray &content) const;
    void forwardMessage(const QByteArray &content);
    // MX sender checks (checks.cpp): SPF, DKIM, DMARC, then deliverChecked().
    void checkSender(const QByteArray &content);
    void deliverChecked(const QByteArray &content, const QString &folder);
    [[nodiscard]] bool isSubmission() const { return m_mode == Mode::Submission; }
    void resetTransaction();
    void reply(int code, const char *enhanced, const QString &text);
    void replyLines(int code, const QStringList &lines);
    void closeWith(int code, const char *enhanced, const QString &text);
    [[nodiscard]] QByteArray traceHeaders() const;
    [[nodiscard]] bool countError();

    std::shared_ptr<const core::ServerContext> m_ctxHolder;
    const core::ServerContext &m_ctx; // == *m_ctxHolder
    const delivery::LocalDelivery *m_delivery;
    Mode m_mode = Mode::Mx;
    outbound::Submitter *m_submitter = nullptr;
    SmtpReceiver m_receiver;
    QString m_id;
    State m_state = State::Connected;
    bool m_tlsAvailable = false;
    bool m_esmtp = false;
    bool m_bdatActive = false;   // inside a BDAT sequence
    bool m_bdatRejected = false; // a BDAT sequence that will be refused at LAST
    bool m_shutdownPending = false;
    QString m_helo;
    QString m_from;              // reverse-path, "" for the null path
    QList<QString> m_rcptAddresses;
    QList<store::User> m_recipients;
    bool m_utf8 = false;
    // Submission: the logged-in user, the SASL exchange, and the transaction's extras.
    enum class Sasl { None, PlainResponse, LoginUser, LoginPassword };
    Sasl m_sasl = Sasl::None;
    QByteArray m_saslUser;
    bool m_authBusy = false;
    std::optional<store::User> m_user;
    int m_authFailures = 0;
    QList<store::QueueRecipient> m_remote;
    QList<QString> m_forward;    // MX: addresses elsewhere that local aliases forward to
    QString m_forwardDomain;     // the alias domain the SRS address is made at
    QString m_envid, m_ret;
    bool m_requireTls = false;
    bool m_eightBit = false;
    int m_errors = 0;
    int m_transactions = 0;
};

} // namespace valv::smtp
