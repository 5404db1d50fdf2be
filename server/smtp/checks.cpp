// SPDX-License-Identifier: AGPL-3.0-or-later
// The MX's sender checks (auth/inboundcheck.h) between the end of DATA and delivery:
// the Authentication-Results field is added (forged ones with our name removed), DMARC
// reject is answered 550 5.7.1, DMARC quarantine goes to Junk and is not forwarded.
#include "smtp/smtpsession.h"

#include "auth/inboundcheck.h"

#include <QLoggingCategory>

#include <memory>

Q_DECLARE_LOGGING_CATEGORY(lcSmtp)

namespace valv::smtp {

namespace {
// One resolver per worker thread (QObject: it lives on the thread that asks).
auth::DnsResolver *threadResolver(const QHostAddress &nameserver)
{
    thread_local std::unique_ptr<auth::DnsResolver> resolver;
    thread_local QHostAddress current;
    if (!resolver || current != nameserver) {
        resolver = std::make_unique<auth::DnsResolver>(nameserver);
        current = nameserver;
    }
    return resolver.get();
}
} // namespace

void SmtpSession::checkSender(const QByteArray &content)
{
    m_state = State::Committing;
    m_bdatActive = false;
    beginAsync();
    auth::InboundInput in;
    in.client = QHostAddress(sink()->peerAddress());
    in.helo = m_helo;
    in.mailFrom = m_from;
    in.message = content;
    in.authservId = m_ctx.hostname;
    in.enforceDmarc = m_ctx.enforceDmarc;
    auth::checkInbound(this, threadResolver(m_ctx.nameserver), std::move(in), [this, content](auth::InboundVerdict v) {
        endAsync();
        qCInfo(lcSmtp).noquote() << QStringLiteral("[%1]").arg(m_id) << "sender checks:" << v.summary();
        const bool junk = v.action == auth::InboundVerdict::Action::Junk;
        if (v.action == auth::InboundVerdict::Action::Reject || (junk && !m_forward.isEmpty())) {
            const QString text = junk ? QStringLiteral("Not forwarded: the DMARC policy of %1 quarantines this message")
                                            .arg(v.dmarc.policyDomain)
                                      : v.rejectText;
            m_state = State::Greeted;
            reply(550, "5.7.1", text);
            resetTransaction();
            if (m_shutdownPending)
                return closeWith(421, "4.3.2", m_ctx.hostname + QStringLiteral(" shutting down, try again later"));
            return process();
        }
        m_state = State::Data; // deliverChecked() takes it from here
        deliverChecked(v.header + auth::stripForgedResults(content, m_ctx.hostname),
                       junk ? QStringLiteral("Junk") : QStringLiteral("INBOX"));
    });
}

} // namespace valv::smtp
