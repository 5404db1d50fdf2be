// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 7489 §6.3/§6.4 record, §6.6.3 policy discovery, §3.1 alignment, §6.6.4 pct.
#include "auth/dmarc.h"

#include "auth/orgdomain.h"

#include <QByteArrayView>

#include <algorithm>

namespace valv::auth {

namespace {

using Policy = DmarcRecord::Policy;

Error err(DmarcError code, const QString &text) { return makeError(int(code), text); }

bool isWsp(char c) { return c == ' ' || c == '\t'; }
bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

QByteArrayView trimWsp(QByteArrayView v)
{
    while (!v.isEmpty() && isWsp(v.front()))
        v = v.sliced(1);
    while (!v.isEmpty() && isWsp(v.back()))
        v = v.chopped(1);
    return v;
}

bool allDigits(QByteArrayView v) { return !v.isEmpty() && std::all_of(v.begin(), v.end(), isDigit); }

// tag-name = ALPHA *ALNUMPUNC (RFC 6376 §3.2, which §6.3 borrows)
bool isTagName(QByteArrayView v)
{
    if (v.isEmpty() || !isAlpha(v.front()))
        return false;
    return std::all_of(v.begin(), v.end(), [](char c) { return isAlpha(c) || isDigit(c) || c == '_'; });
}

std::optional<Policy> policyFrom(QByteArrayView v)
{
    const QByteArray lower = v.toByteArray().toLower();
    if (lower == "none")
        return Policy::None;
    if (lower == "quarantine")
        return Policy::Quarantine;
    if (lower == "reject")
        return Policy::Reject;
    return std::nullopt;
}

// dmarc-uri = URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ]. We check the scheme and that
// the rest is visible ASCII; the reporting code validates the addresses it uses.
bool isDmarcUri(QByteArrayView v)
{
    const qsizetype colon = v.indexOf(':');
    if (colon < 1 || colon + 1 >= v.size() || !isAlpha(v.front()))
        return false;
    for (qsizetype i = 1; i < colon; ++i) {
        const char c = v[i];
        if (!isAlpha(c) && !isDigit(c) && c != '+' && c != '-' && c != '.')
            return false;
    }
    return std::all_of(v.begin(), v.end(), [](char c) { return uchar(c) > 32 && uchar(c) < 127; });
}

QStringList uriList(QByteArrayView v)
{
    QStringList out;
    for (const QByteArray &part : v.toByteArray().split(',')) {
        const QByteArrayView uri = trimWsp(part);
        if (isDmarcUri(uri))
            out << QString::fromLatin1(uri);
    }
    return out;
}

// The v tag of a field: "v" *WSP "=" *WSP "DMARC1", blanks around it allowed.
bool isVersionField(QByteArrayView field)
{
    field = trimWsp(field);
    if (field.isEmpty() || (field.front() != 'v' && field.front() != 'V'))
        return false;
    field = trimWsp(field.sliced(1));
    if (field.isEmpty() || field.front() != '=')
        return false;
    return trimWsp(field.sliced(1)) == QByteArrayView("DMARC1");
}

// Colon-separated values, each one passing ok(); lower-cased, or nothing when any fails.
std::optional<QStringList> colonList(QByteArrayView v, bool (*ok)(QByteArrayView))
{
    QStringList out;
    for (const QByteArray &part : v.toByteArray().split(':')) {
        const QByteArrayView item = trimWsp(part);
        if (!ok(item))
            return std::nullopt;
        out << QString::fromLatin1(item).toLower();
    }
    return out;
}

bool isFoOption(QByteArrayView v)
{
    return v.size() == 1 && (v[0] == '0' || v[0] == '1' || v[0] == 'd' || v[0] == 's' || v[0] == 'D' || v[0] == 'S');
}

// RFC 5321 Keyword (Ldh-str).
bool isKeyword(QByteArrayView v)
{
    if (v.isEmpty() || v.back() == '-')
        return false;
    return (isAlpha(v.front()) || isDigit(v.front()))
        && std::all_of(v.begin(), v.end(), [](char c) { return isAlpha(c) || isDigit(c) || c == '-'; });
}

// LDH labels (and '_'), 1-63 octets each, 253 in all, after normalization.
bool isDomainName(const QString &d)
{
    if (d.isEmpty() || d.size() > 253)
        return false;
    qsizetype label = 0;
    for (QChar c : d) {
        const char16_t u = c.unicode();
        if (u == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if ((u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' || u == '_') {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return label > 0;
}

Policy lessStrict(Policy p)
{
    switch (p) {
    case Policy::Reject:
        return Policy::Quarantine;
    case Policy::Quarantine:
    case Policy::None:
        break;
    }
    return Policy::None;
}

} // namespace

bool isDmarcRecord(const QByteArray &txt)
{
    const qsizetype semi = txt.indexOf(';');
    return isVersionField(semi < 0 ? QByteArrayView(txt) : QByteArrayView(txt).first(semi));
}

// §6.4: dmarc-record = dmarc-version dmarc-sep [dmarc-request] [dmarc-sep ...]
Result<DmarcRecord> parseDmarcRecord(const QByteArray &txt)
{
    const QList<QByteArray> fields = txt.split(';');
    if (!isVersionField(fields.first()))
        return err(DmarcError::NotDmarcRecord, QStringLiteral("The record does not start with v=DMARC1"));

    DmarcRecord rec;
    std::optional<Policy> p, sp;
    bool pBad = false, spBad = false, sawP = false, sawSp = false;
    QList<QByteArray> seen;
    for (qsizetype i = 1; i < fields.size(); ++i) {
        const QByteArrayView field = trimWsp(fields[i]);
        const qsizetype eq = field.indexOf('=');
        if (eq < 0)
            continue;
        const QByteArray name = trimWsp(field.first(eq)).toByteArray().toLower();
        const QByteArrayView value = trimWsp(field.sliced(eq + 1));
        if (!isTagName(name))
            continue;
        if (name == "p" || name == "sp") {
            bool &saw = name == "p" ? sawP : sawSp;
            bool &bad = name == "p" ? pBad : spBad;
            std::optional<Policy> &slot = name == "p" ? p : sp;
            if (saw) {
                bad = true; // repeated: ambiguous
            } else {
                saw = true;
                slot = policyFrom(value);
                bad = !slot;
            }
            continue;
        }
        if (seen.contains(name))
            continue; // of the other tags, the first counts
        seen << name;
        if (name == "rua") {
            rec.rua = uriList(value);
        } else if (name == "ruf") {
            rec.ruf = uriList(value);
        } else if (name == "adkim" || name == "aspf") {
            bool &strict = name == "adkim" ? rec.strictDkim : rec.strictSpf;
            if (value.size() == 1 && (value[0] == 's' || value[0] == 'S'))
                strict = true;
        } else if (name == "pct") {
            if (allDigits(value) && value.size() <= 3 && value.toByteArray().toInt() <= 100)
                rec.pct = value.toByteArray().toInt();
        } else if (name == "ri") {
            bool ok = false;
            const qulonglong ri = value.toByteArray().toULongLong(&ok);
            if (allDigits(value) && value.size() <= 10 && ok && ri <= 0xffffffffULL)
                rec.ri = quint32(ri);
        } else if (name == "fo") {
            if (const auto fo = colonList(value, isFoOption))
                rec.fo = fo->join(u':');
        } else if (name == "rf") {
            if (const auto rf = colonList(value, isKeyword))
                rec.rf = *rf;
        }
    }

    if (!p || pBad || spBad) {
        // §6.6.3 step 6
        if (rec.rua.isEmpty()) {
            QString why = !sawP ? QStringLiteral("The record has no p tag")
                : pBad          ? QStringLiteral("The record's p tag is not none, quarantine or reject")
                                : QStringLiteral("The record's sp tag is not none, quarantine or reject");
            return err(DmarcError::InvalidPolicy, why);
        }
        rec.p = rec.sp = Policy::None;
        rec.spSet = false;
        rec.policyDefaulted = true;
        return rec;
    }
    rec.p = *p;
    rec.spSet = sp.has_value();
    rec.sp = sp.value_or(*p);
    return rec;
}

QString dmarcResultName(DmarcResult result)
{
    switch (result) {
    case DmarcResult::None:
        break;
    case DmarcResult::Pass:
        return QStringLiteral("pass");
    case DmarcResult::Fail:
        return QStringLiteral("fail");
    case DmarcResult::TempError:
        return QStringLiteral("temperror");
    case DmarcResult::PermError:
        return QStringLiteral("permerror");
    }
    return QStringLiteral("none");
}

QString dmarcPolicyName(DmarcRecord::Policy policy)
{
    switch (policy) {
    case Policy::None:
        break;
    case Policy::Quarantine:
        return QStringLiteral("quarantine");
    case Policy::Reject:
        return QStringLiteral("reject");
    }
    return QStringLiteral("none");
}

DmarcCheck::DmarcCheck(const QString &fromDomain, bool spfPass, const QString &spfDomain,
    const QStringList &passingDkimDomains, std::function<int()> random0to99)
    : m_spfDomain(normalizedDomain(spfDomain))
    , m_spfPass(spfPass)
    , m_random(std::move(random0to99))
{
    for (const QString &d : passingDkimDomains)
        m_dkimDomains << normalizedDomain(d);
    m_outcome.fromDomain = normalizedDomain(fromDomain);
    if (m_outcome.fromDomain.isEmpty()) {
        finishWith(DmarcResult::PermError, QStringLiteral("The message has no single RFC5322.From domain"));
        return;
    }
    if (!isDomainName(m_outcome.fromDomain)) {
        finishWith(DmarcResult::PermError, QStringLiteral("The RFC5322.From domain is not a domain name"));
        return;
    }
    m_orgDomain = organizationalDomain(m_outcome.fromDomain);
    m_stage = Stage::AskFrom;
}

std::optional<DnsQuestion> DmarcCheck::next() const
{
    switch (m_stage) {
    case Stage::AskFrom:
        return DnsQuestion{DnsQuestion::Type::TXT, QStringLiteral("_dmarc.") + m_outcome.fromDomain};
    case Stage::AskOrg:
        return DnsQuestion{DnsQuestion::Type::TXT, QStringLiteral("_dmarc.") + m_orgDomain};
    case Stage::Done:
        break;
    }
    return std::nullopt;
}

void DmarcCheck::answer(const DnsAnswer &answer)
{
    if (m_stage == Stage::Done)
        return;
    const QString domain = m_stage == Stage::AskFrom ? m_outcome.fromDomain : m_orgDomain;
    if (answer.status == DnsAnswer::Status::TempError) {
        m_outcome.policyDomain = domain;
        finishWith(DmarcResult::TempError, QStringLiteral("DNS lookup of _dmarc.%1 failed temporarily").arg(domain));
        return;
    }
    QList<QByteArray> records;
    if (answer.status == DnsAnswer::Status::Ok) {
        for (const QByteArray &txt : answer.txt) {
            if (isDmarcRecord(txt))
                records << txt;
        }
    }
    if (records.size() > 1) {
        m_outcome.policyDomain = domain;
        finishWith(DmarcResult::None, QStringLiteral("More than one DMARC record at _dmarc.%1").arg(domain));
        return;
    }
    if (records.size() == 1) {
        finish(records.first(), domain);
        return;
    }
    if (m_stage == Stage::AskFrom && m_orgDomain != m_outcome.fromDomain) {
        m_stage = Stage::AskOrg; // §6.6.3 step 3
        return;
    }
    finishWith(DmarcResult::None, QStringLiteral("No DMARC record for %1").arg(m_outcome.fromDomain));
}

void DmarcCheck::finish(const QByteArray &txt, const QString &domain)
{
    m_outcome.policyDomain = domain;
    auto rec = parseDmarcRecord(txt);
    if (!rec.ok()) {
        finishWith(DmarcResult::PermError,
            QStringLiteral("The DMARC record at _dmarc.%1 is invalid: %2").arg(domain, rec.error().message));
        return;
    }
    const QString &from = m_outcome.fromDomain;
    auto aligned = [&](const QString &d, bool strict) {
        if (d.isEmpty())
            return false;
        return strict ? d == from : organizationalDomain(d) == m_orgDomain;
    };
    m_outcome.spfAligned = m_spfPass && aligned(m_spfDomain, rec->strictSpf);
    m_outcome.dkimAligned = std::any_of(
        m_dkimDomains.begin(), m_dkimDomains.end(), [&](const QString &d) { return aligned(d, rec->strictDkim); });
    const bool fromSubdomainViaOrg = m_stage == Stage::AskOrg && domain != from;
    m_outcome.policy = fromSubdomainViaOrg ? rec->sp : rec->p;
    m_outcome.record = *rec;
    m_stage = Stage::Done;
    if (m_outcome.spfAligned || m_outcome.dkimAligned) {
        m_outcome.result = DmarcResult::Pass;
        return;
    }
    m_outcome.result = DmarcResult::Fail;
    if (m_outcome.policy == Policy::None)
        return;
    bool selected = true;
    if (rec->pct <= 0) {
        selected = false;
    } else if (rec->pct < 100) {
        const int r = m_random ? m_random() : 0;
        selected = ((r % 100) + 100) % 100 < rec->pct;
    }
    m_outcome.applied = selected;
    m_outcome.disposition = selected ? m_outcome.policy : lessStrict(m_outcome.policy);
}

void DmarcCheck::finishWith(DmarcResult result, const QString &problem)
{
    m_outcome.result = result;
    m_outcome.problem = problem;
    m_stage = Stage::Done;
}

} // namespace valv::auth
