// SPDX-License-Identifier: AGPL-3.0-or-later
// libFuzzer target for auth/spf (RFC 7208): the record parser, macro expansion, and a
// whole SpfCheck in a world where every name's one TXT record is the input.
// Oracles besides "no crash, no sanitizer report":
// - parsed terms are sound: CIDR lengths within 0..32 / 0..128, include/exists/redirect/exp
//   carry a domain-spec, ip4/ip6 an address of their family, and at most one redirect and
//   one exp; the input behind "v=spf1 " parses the same whether or not it is split in two;
// - what expands as a domain-spec expands the same as explanation text;
// - SpfCheck ends within 200 questions whatever the answers (the lookup limits allow
//   about 130), never asks for a name with an empty label, a label over 63 octets or over
//   253 octets, keeps its explanation for Fail and gives a problem with each error.
#include "auth/spf.h"

#include <QByteArray>

#include <cstdint>
#include <cstdlib>

using namespace valv::auth;

namespace {

void check(bool ok)
{
    if (!ok)
        std::abort();
}

void checkTerms(const QList<SpfTerm> &terms)
{
    int redirects = 0;
    int exps = 0;
    for (const SpfTerm &t : terms) {
        check(!t.text.isEmpty());
        check(t.cidr4 >= 0 && t.cidr4 <= 32 && t.cidr6 >= 0 && t.cidr6 <= 128);
        switch (t.kind) {
        case SpfTerm::Kind::Include:
        case SpfTerm::Kind::Exists: check(!t.domainSpec.isEmpty()); break;
        case SpfTerm::Kind::Redirect: ++redirects; check(!t.domainSpec.isEmpty()); break;
        case SpfTerm::Kind::Exp: ++exps; check(!t.domainSpec.isEmpty()); break;
        case SpfTerm::Kind::Ip4: check(t.network.protocol() == QAbstractSocket::IPv4Protocol); break;
        case SpfTerm::Kind::Ip6: check(t.network.protocol() == QAbstractSocket::IPv6Protocol); break;
        case SpfTerm::Kind::Unknown: check(!t.name.isEmpty() && t.name == t.name.toLower()); break;
        default: break;
        }
    }
    check(redirects <= 1 && exps <= 1);
}

void checkParser(const QByteArray &input)
{
    const auto r = parseSpfRecord(input);
    if (r.ok())
        checkTerms(*r);
    else
        check(!r.error().message.isEmpty());

    // The same terms behind a version, whole and with a space at the middle (terms are
    // separated by one or more spaces, so a space added between two is harmless).
    const auto whole = parseSpfRecord("v=spf1 " + input);
    if (whole.ok())
        checkTerms(*whole);
    const qsizetype sp = input.indexOf(' ', input.size() / 2);
    if (sp >= 0) {
        const auto split = parseSpfRecord("v=spf1 " + input.left(sp) + "  " + input.mid(sp));
        check(split.ok() == whole.ok());
        if (split.ok())
            check(split->size() == whole->size());
    }
}

void checkMacro(const QByteArray &input)
{
    SpfMacroContext ctx;
    ctx.sender = QStringLiteral("strong-bad@email.example.com");
    ctx.localPart = QStringLiteral("strong-bad");
    ctx.senderDomain = QStringLiteral("email.example.com");
    ctx.domain = QString::fromLatin1(input.left(40));
    ctx.ip = QHostAddress(input.size() % 2 ? QStringLiteral("2001:db8::cb01") : QStringLiteral("192.0.2.3"));
    ctx.helo = QString::fromUtf8(input.right(30));
    ctx.timestamp = 1700000000;
    const QString s = QString::fromLatin1(input);
    const auto domain = expandSpfMacro(s, ctx, false);
    const auto text = expandSpfMacro(s, ctx, true);
    if (domain.ok()) {
        check(text.ok() && *text == *domain);
    } else {
        check(!domain.error().message.isEmpty());
    }
}

bool askable(const QString &name)
{
    if (name.isEmpty() || name.size() > 253)
        return false;
    for (const QString &label : name.split(u'.'))
        if (label.isEmpty() || label.size() > 63)
            return false;
    return true;
}

// Every name's TXT record is the input; names for MX and PTR come from the input's words,
// addresses are the client's or another, and some names fail or do not exist, depending
// on a hash of the name and the input's first byte.
DnsAnswer answerFor(const DnsQuestion &q, const QByteArray &input, const QHostAddress &client)
{
    DnsAnswer a;
    const size_t h = qHash(q.name.toLower(), size_t(input.isEmpty() ? 0 : uchar(input[0])));
    switch (h % 8) {
    case 0: a.status = DnsAnswer::Status::NxDomain; return a;
    case 1: if (q.type != DnsQuestion::Type::TXT) a.status = DnsAnswer::Status::TempError; return a;
    case 2: return a; // no records
    default: break;
    }
    switch (q.type) {
    case DnsQuestion::Type::TXT:
        a.txt << input;
        if (h % 16 == 3)
            a.txt << input; // two records
        break;
    case DnsQuestion::Type::A:
    case DnsQuestion::Type::AAAA:
        a.addresses << (h % 3 ? client : QHostAddress(QStringLiteral("198.51.100.1")));
        break;
    case DnsQuestion::Type::MX:
    case DnsQuestion::Type::PTR:
        for (const QByteArray &w : input.split(' ')) {
            if (a.names.size() > int(h % 14))
                break;
            a.names << QString::fromLatin1(w.mid(w.indexOf(':') + 1));
        }
        break;
    }
    return a;
}

void checkEvaluation(const QByteArray &input)
{
    const int variant = input.isEmpty() ? 0 : uchar(input[input.size() - 1]) % 3;
    const QHostAddress client(variant == 0 ? QStringLiteral("192.0.2.1")
                              : variant == 1 ? QStringLiteral("2001:db8::1")
                                             : QStringLiteral("::ffff:192.0.2.1"));
    SpfCheck spf(client, QStringLiteral("someone@example.com"), QStringLiteral("helo.example.org"),
                 QStringLiteral("mx.example.net"));
    spf.setTimestamp(1700000000);
    for (int steps = 0;; ++steps) {
        check(steps <= 200);
        auto next = spf.next();
        if (const auto *o = std::get_if<SpfOutcome>(&next)) {
            check(o->domain == QStringLiteral("example.com"));
            check(o->result == SpfResult::Fail || o->explanation.isEmpty());
            if (o->result == SpfResult::TempError || o->result == SpfResult::PermError)
                check(!o->problem.isEmpty());
            return;
        }
        const DnsQuestion q = std::get<DnsQuestion>(next);
        check(askable(q.name));
        spf.answer(answerFor(q, input, client));
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16 * 1024)
        return 0;
    const QByteArray input(reinterpret_cast<const char *>(data), qsizetype(size));
    checkParser(input);
    checkMacro(input);
    checkEvaluation(input);
    return 0;
}
