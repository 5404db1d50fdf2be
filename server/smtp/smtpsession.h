// SPDX-License-Identifier: AGPL-3.0-or-later
// SMTP session for the MX port (RFC 5321): mail for local domains only.
//
// Implementation notes
// - State: Connected -> (EHLO/HELO) Greeted -> (MAIL) InMail -> (RCPT+) -> (DATA) Data
//   -> Committing -> Greeted. STARTTLS resets to Connected (RFC 3207 §4.2).
// - Never an open relay: without authentication (not offered on this port) every
//   recipient must resolve to a local mailbox, else 550 5.7.1.
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

#include <QDateTime>

#include <memory>

namespace valv::smtp {

class SmtpSession : public core::Session {
public:
    SmtpSession(core::SessionSink *sink, std::shared_ptr<const core::ServerContext> ctx, const delivery::LocalDelivery *delivery,
                bool tlsAvailable);

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
    void resetTransaction();
    void reply(int code, const char *enhanced, const QString &text);
    void replyLines(int code, const QStringList &lines);
    void closeWith(int code, const char *enhanced, const QString &text);
    [[nodiscard]] QByteArray traceHeaders() const;
    [[nodiscard]] bool countError();

    std::shared_ptr<const core::ServerContext> m_ctxHolder;
    const core::ServerContext &m_ctx; // == *m_ctxHolder
    const delivery::LocalDelivery *m_delivery;
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
    int m_errors = 0;
    int m_transactions = 0;
};

} // namespace valv::smtp
