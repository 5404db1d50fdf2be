// SPDX-License-Identifier: AGPL-3.0-or-later
#include "auth/inboundcheck.h"

#include "auth/authresults.h"
#include "core/pool.h"
#include "mime/headerfields.h"

#include <QDateTime>
#include <QRandomGenerator>

#include <memory>

namespace valv::auth {

namespace {
struct Run {
    QObject *context;
    DnsResolver *dns;
    InboundInput input;
    std::function<void(InboundVerdict)> done;
    InboundVerdict verdict;
    std::shared_ptr<dkim::DkimVerifier> dkim;
};

void post(const std::shared_ptr<Run> &run, std::function<void()> f)
{
    QMetaObject::invokeMethod(run->context, std::move(f), Qt::QueuedConnection);
}

void finish(const std::shared_ptr<Run> &run)
{
    InboundVerdict &v = run->verdict;
    if (v.dmarc.result == DmarcResult::Fail && v.dmarc.applied && run->input.enforceDmarc) {
        if (v.dmarc.disposition == DmarcRecord::Policy::Reject) {
            v.action = InboundVerdict::Action::Reject;
            v.rejectText = QStringLiteral("DMARC policy of %1 rejects this message: it is not authenticated "
                                          "(neither SPF nor DKIM aligned with the From: domain)")
                               .arg(v.dmarc.policyDomain);
        } else if (v.dmarc.disposition == DmarcRecord::Policy::Quarantine) {
            v.action = InboundVerdict::Action::Junk;
        }
    }
    v.header = authenticationResults(run->input.authservId, run->input, v);
    run->done(v);
}

void runDmarc(const std::shared_ptr<Run> &run)
{
    const QList<QString> from = mime::headerAddresses(run->input.message, "From");
    // RFC 7489 §6.6.1: exactly one author domain, else no DMARC evaluation.
    QString fromDomain;
    if (from.size() == 1)
        fromDomain = from.first().mid(from.first().lastIndexOf(u'@') + 1).toLower();
    QStringList dkimPass;
    for (const dkim::SignatureOutcome &o : std::as_const(run->verdict.dkim)) {
        if (o.result == dkim::VerifyResult::Pass)
            dkimPass.append(o.domain);
    }
    auto check = std::make_shared<DmarcCheck>(fromDomain, run->verdict.spf.result == SpfResult::Pass,
                                              run->verdict.spf.domain, dkimPass,
                                              [] { return int(QRandomGenerator::global()->bounded(100)); });
    runCheck(run->dns, check, [run, check] {
        run->verdict.dmarc = check->outcome();
        finish(run);
    });
}

// DKIM: the verifier's steps on the pool, its questions answered on the loop.
void dkimStep(const std::shared_ptr<Run> &run)
{
    core::runPooled([run] {
        const std::optional<DnsQuestion> q = run->dkim->next();
        post(run, [run, q] {
            if (!q) {
                run->verdict.dkim = run->dkim->outcomes();
                run->dkim.reset();
                return runDmarc(run);
            }
            run->dns->ask(*q, [run](DnsAnswer a) {
                core::runPooled([run, a] {
                    run->dkim->answer(a);
                    post(run, [run] { dkimStep(run); });
                });
            });
        });
    });
}
} // namespace

QString InboundVerdict::summary() const
{
    QStringList parts{QStringLiteral("spf=") + QString::fromLatin1(spfResultName(spf.result))};
    if (dkim.isEmpty())
        parts << QStringLiteral("dkim=none");
    for (const dkim::SignatureOutcome &o : dkim)
        parts << QStringLiteral("dkim=%1(%2)").arg(QString::fromLatin1(dkim::verifyResultName(o.result)), o.domain);
    parts << QStringLiteral("dmarc=") + dmarcResultName(dmarc.result);
    return parts.join(u' ');
}

void checkInbound(QObject *context, DnsResolver *dns, InboundInput input, std::function<void(InboundVerdict)> done)
{
    auto run = std::make_shared<Run>(Run{context, dns, std::move(input), std::move(done), {}, {}});
    auto spf = std::make_shared<SpfCheck>(run->input.client, run->input.mailFrom, run->input.helo, run->input.authservId);
    auto outcome = std::make_shared<SpfOutcome>();
    // SpfCheck::next() yields the outcome as its last step: catch it while driving.
    struct Adapter {
        std::shared_ptr<SpfCheck> spf;
        std::shared_ptr<SpfOutcome> outcome;
        std::optional<DnsQuestion> next()
        {
            auto step = spf->next();
            if (auto *o = std::get_if<SpfOutcome>(&step)) {
                *outcome = *o;
                return std::nullopt;
            }
            return std::get<DnsQuestion>(step);
        }
        void answer(const DnsAnswer &a) { spf->answer(a); }
    };
    auto adapter = std::make_shared<Adapter>(Adapter{spf, outcome});
    runCheck(dns, adapter, [run, outcome] {
        run->verdict.spf = *outcome;
        run->dkim = std::make_shared<dkim::DkimVerifier>(run->input.message, QDateTime::currentSecsSinceEpoch());
        dkimStep(run);
    });
}

QByteArray authenticationResults(const QString &authservId, const InboundInput &input, const InboundVerdict &v)
{
    QList<AuthResultEntry> entries;
    {
        AuthResultEntry e;
        e.method = QStringLiteral("spf");
        e.result = QString::fromLatin1(spfResultName(v.spf.result));
        if (!v.spf.problem.isEmpty())
            e.comment = v.spf.problem;
        else if (!v.spf.mechanism.isEmpty())
            e.comment = QStringLiteral("%1 matched %2").arg(input.client.toString(), v.spf.mechanism);
        if (input.mailFrom.isEmpty())
            e.properties.append({QStringLiteral("smtp"), QStringLiteral("helo"), input.helo});
        else
            e.properties.append({QStringLiteral("smtp"), QStringLiteral("mailfrom"), input.mailFrom});
        entries.append(e);
    }
    if (v.dkim.isEmpty()) {
        AuthResultEntry e;
        e.method = QStringLiteral("dkim");
        e.result = QStringLiteral("none");
        entries.append(e);
    }
    for (const dkim::SignatureOutcome &o : v.dkim) {
        AuthResultEntry e;
        e.method = QStringLiteral("dkim");
        e.result = QString::fromLatin1(dkim::verifyResultName(o.result));
        e.comment = o.problem;
        if (!o.domain.isEmpty())
            e.properties.append({QStringLiteral("header"), QStringLiteral("d"), o.domain});
        if (!o.selector.isEmpty())
            e.properties.append({QStringLiteral("header"), QStringLiteral("s"), o.selector});
        if (!o.algorithm.isEmpty())
            e.properties.append({QStringLiteral("header"), QStringLiteral("a"), o.algorithm});
        if (!o.bTag.isEmpty())
            e.properties.append({QStringLiteral("header"), QStringLiteral("b"), QString::fromLatin1(o.bTag)});
        entries.append(e);
    }
    {
        AuthResultEntry e;
        e.method = QStringLiteral("dmarc");
        e.result = dmarcResultName(v.dmarc.result);
        if (v.dmarc.result == DmarcResult::Fail || v.dmarc.result == DmarcResult::Pass)
            e.comment = QStringLiteral("p=%1 dis=%2").arg(dmarcPolicyName(v.dmarc.policy), dmarcPolicyName(v.dmarc.disposition));
        else if (!v.dmarc.problem.isEmpty())
            e.comment = v.dmarc.problem;
        if (!v.dmarc.fromDomain.isEmpty())
            e.properties.append({QStringLiteral("header"), QStringLiteral("from"), v.dmarc.fromDomain});
        entries.append(e);
    }
    return buildAuthenticationResults(authservId, entries);
}

QByteArray stripForgedResults(const QByteArray &message, const QString &authservId)
{
    const qsizetype headerEnd = mime::headerSectionLength(message);
    QByteArray out;
    out.reserve(message.size());
    qsizetype pos = 0;
    while (pos < headerEnd) {
        // One field: its first line and its continuation lines.
        qsizetype end = pos;
        do {
            const qsizetype nl = message.indexOf('\n', end);
            end = nl < 0 || nl >= headerEnd ? headerEnd : nl + 1;
        } while (end < headerEnd && (message[end] == ' ' || message[end] == '\t'));
        const QByteArray field = message.mid(pos, end - pos);
        bool forged = false;
        const qsizetype colon = field.indexOf(':');
        if (colon > 0 && field.left(colon).trimmed().compare("Authentication-Results", Qt::CaseInsensitive) == 0) {
            auto id = parseAuthservId(QByteArrayView(field).sliced(colon + 1));
            forged = id && id->compare(authservId, Qt::CaseInsensitive) == 0;
        }
        if (!forged)
            out += field;
        pos = end;
    }
    out += QByteArrayView(message).sliced(headerEnd);
    return out;
}

} // namespace valv::auth
