// SPDX-License-Identifier: AGPL-3.0-or-later
// The forwarding half of SmtpSession on the MX port: aliases that send mail on to
// addresses elsewhere, with the envelope sender rewritten by SRS so the forward passes
// SPF for our domain, and bounces to SRS addresses sent back to the original sender.
//
// Implementation notes
// - A forwarded message goes through the Submitter like submitted mail: local copies
//   (with the original Return-Path) and the queue commit both happen before the 250.
// - Loops: a message with more than kMaxHops Received fields is refused (RFC 5321
//   §6.3), which also stops two forwarding aliases pointing at each other across
//   servers.
#include "smtp/smtpsession.h"

#include "auth/srs.h"
#include "mime/headerfields.h"
#include "outbound/submitter.h"

#include <QDateTime>
#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcSmtp)

namespace valv::smtp {

namespace {
constexpr int kMaxHops = 30; // Postfix hopcount_limit is 50, Exim 100, RFC 5321 suggests >= 100 is surely a loop

} // namespace

Result<store::Resolution> SmtpSession::resolveForMx(const QString &address)
{
    // A bounce (or reply) to an SRS address we made: back to the original sender.
    if (m_submitter && auth::isSrsAddress(address)
        && m_ctx.config->isLocalDomain(store::ConfigStore::domainOf(address))) {
        auto cfg = m_submitter->srsConfig();
        if (!cfg)
            return cfg.error();
        auto original = auth::srsReverse(address, *cfg, QDateTime::currentSecsSinceEpoch());
        if (!original)
            return makeError(int(store::ConfigError::NoSuchUser),
                             QStringLiteral("invalid or expired SRS address: %1").arg(original.error().message));
        return store::Resolution{{}, {*original}};
    }
    return m_ctx.config->resolve(address);
}

bool SmtpSession::tooManyHops(const QByteArray &content) const
{
    return mime::headerValues(content, "Received").size() + 1 > kMaxHops; // +1: ours
}

void SmtpSession::forwardMessage(const QByteArray &content)
{
    auto cfg = m_submitter->srsConfig();
    if (!cfg) {
        qCWarning(lcSmtp).noquote() << QStringLiteral("[%1]").arg(m_id) << "SRS secret:" << cfg.error().message;
        reply(451, "4.3.0", QStringLiteral("Temporary server error, try again later"));
        resetTransaction();
        m_state = State::Greeted;
        return;
    }
    m_state = State::Committing;
    m_bdatActive = false;
    beginAsync();
    outbound::Submission s;
    // RFC 5321 §3.9.2 / SRS: the forward's envelope sender is ours, so it passes SPF
    // and bounces come back here; the null sender stays null (a bounce is not re-bounced).
    s.sender = auth::srsForward(m_from, m_forwardDomain, *cfg, QDateTime::currentSecsSinceEpoch());
    s.localReturnPath = m_from;
    s.message = traceHeaders() + content; // Received only (see traceHeaders)
    s.local = m_recipients;
    for (const QString &f : std::as_const(m_forward)) {
        store::QueueRecipient r;
        r.address = f;
        r.domain = store::ConfigStore::domainOf(f);
        s.remote.append(r);
    }
    s.smtpUtf8 = m_utf8;
    qCInfo(lcSmtp).noquote() << QStringLiteral("[%1]").arg(m_id) << "message from <" + m_from + ">" << content.size()
                             << "bytes for" << m_rcptAddresses.join(u',') << "forwarded to" << m_forward.join(u',')
                             << "as <" + s.sender + ">";
    m_submitter->submitAsync(this, std::move(s), [this](Result<void> r) {
        if (!r)
            qCWarning(lcSmtp).noquote() << QStringLiteral("[%1]").arg(m_id) << "forwarding failed:" << r.error().message;
        commitDone(r);
        endAsync();
    });
}

} // namespace valv::smtp
