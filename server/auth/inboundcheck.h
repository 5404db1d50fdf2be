// SPDX-License-Identifier: AGPL-3.0-or-later
// The sender checks a message gets on arrival at the MX: SPF (RFC 7208) on the
// envelope, DKIM (RFC 6376) on the content, DMARC (RFC 7489) on the From: domain, and
// one Authentication-Results field (RFC 8601) with every verdict. Decides what happens
// to the message: deliver, deliver to Junk (DMARC quarantine), or reject (DMARC reject).
//
// Implementation notes
// - SPF and DMARC run on the caller's event loop (DNS through DnsResolver, no CPU to
//   speak of). DKIM verification hashes the whole body and checks signatures: its
//   next()/answer() steps run on the thread pool, its DNS questions back on the loop.
// - The verdict's header is to be prepended; fields already in the message that claim our
//   authserv-id are forged (RFC 8601 §5) and stripForgedResults() removes them.
// - Only a DMARC failure whose policy applies (pct sampling included) changes where mail
//   goes, and only when enforcement is on; SPF fail alone never rejects (RFC 7489 §10.1:
//   that would defeat DMARC's DKIM path, and forwarders would lose mail).
#pragma once

#include "auth/dmarc.h"
#include "auth/dnsresolver.h"
#include "auth/spf.h"
#include "dkim/dkimverify.h"

#include <QHostAddress>
#include <QObject>

#include <functional>

namespace valv::auth {

struct InboundInput {
    QHostAddress client;
    QString helo;
    QString mailFrom;       // "" = null reverse path
    QByteArray message;     // as received (no trace fields of ours yet)
    QString authservId;     // our host name
    bool enforceDmarc = true;
};

struct InboundVerdict {
    enum class Action { Deliver, Junk, Reject };
    Action action = Action::Deliver;
    QByteArray header;       // "Authentication-Results: ...\r\n"
    QString rejectText;      // for 550 5.7.1 when Reject
    SpfOutcome spf;
    QList<dkim::SignatureOutcome> dkim;
    DmarcOutcome dmarc;
    [[nodiscard]] QString summary() const; // "spf=pass dkim=pass dmarc=pass" for the log
};

// Runs the checks; `done` is called on `context`'s thread, which must stay alive until
// then (sessions: beginAsync()/endAsync()). `dns` must live on that thread.
void checkInbound(QObject *context, DnsResolver *dns, InboundInput input, std::function<void(InboundVerdict)> done);

// The message without Authentication-Results fields that name `authservId` (RFC 8601 §5).
[[nodiscard]] QByteArray stripForgedResults(const QByteArray &message, const QString &authservId);

// The Authentication-Results field for the outcomes (pure; used by checkInbound).
[[nodiscard]] QByteArray authenticationResults(const QString &authservId, const InboundInput &input,
                                               const InboundVerdict &verdict);

} // namespace valv::auth
