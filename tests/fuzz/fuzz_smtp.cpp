// SPDX-License-Identifier: AGPL-3.0-or-later
// libFuzzer target for the SMTP receiver (commands, DATA, BDAT, AUTH lines) and for
// parseCommandLine / parseAddress. Oracles besides "no crash, no sanitizer report":
// - the event sequence is the same whether the input is fed whole, in two pieces, or
//   byte by byte;
// - after draining, fewer than maxLineLength bytes stay buffered (bounded memory);
// - no message exceeds maxMessageSize;
// - a parsed address printed with toString() parses back to the same address.
#include "smtp/smtpreceiver.h"

#include <QByteArray>
#include <QList>

#include <cstdint>
#include <cstdlib>

using namespace valv::smtp;

namespace {

void check(bool ok)
{
    if (!ok)
        std::abort();
}

void checkAddressRoundTrip(const Command &c)
{
    if (c.path.isNull() || c.postmaster)
        return;
    const std::optional<Address> again = parseAddress(c.path.toString().toUtf8());
    check(again.has_value());
    check(again->localPart == c.path.localPart);
    check(again->domain == c.path.domain);
    check(again->domainIsLiteral == c.path.domainIsLiteral);
}

QByteArray fingerprint(const ReceiverEvent &ev)
{
    QByteArray out = QByteArray::number(int(ev.type));
    if (ev.type == ReceiverEvent::Type::Command) {
        const Command &c = ev.command;
        out += ' ' + QByteArray::number(int(c.verb)) + ' ' + c.domain.toUtf8() + ' '
            + c.path.toString().toUtf8() + ' ' + c.argument + ' ' + QByteArray::number(c.bdatSize)
            + (c.bdatLast ? " L" : "") + (c.postmaster ? " P" : "");
        for (const auto &[k, v] : c.params)
            out += ' ' + k + '=' + v;
    } else if (ev.type == ReceiverEvent::Type::Message) {
        out += ' ' + ev.message + (ev.bareLineFeed ? " B" : "");
    } else if (ev.type == ReceiverEvent::Type::SyntaxError) {
        out += ev.unknownCommand ? " U" : " S";
    } else if (ev.type == ReceiverEvent::Type::BdatChunk) {
        out += ev.overLimit ? " O" : "";
    }
    return out;
}

// A session stand-in whose choices depend only on the events, so every way of splitting
// the input must lead to the same choices.
struct Driver {
    ReceiverLimits limits;
    SmtpReceiver rx;
    QList<QByteArray> events;
    int authLines = 0;

    explicit Driver(ReceiverLimits l) : limits(l), rx(l) {}

    void drain()
    {
        for (int guard = 0; guard < 1000000; ++guard) {
            const ReceiverEvent ev = rx.next();
            if (ev.type == ReceiverEvent::Type::NeedMore) {
                check(rx.buffered() < limits.maxLineLength);
                return;
            }
            events << fingerprint(ev);
            if (ev.type == ReceiverEvent::Type::Message)
                check(ev.message.size() <= limits.maxMessageSize);
            if (ev.type != ReceiverEvent::Type::Command)
                continue;
            if (authLines > 0) {
                if (--authLines == 0)
                    rx.setAuthMode(false);
                continue;
            }
            const Command &c = ev.command;
            switch (c.verb) {
            case Command::Verb::Mail:
            case Command::Verb::Rcpt:
                checkAddressRoundTrip(c);
                break;
            case Command::Verb::Data:
                rx.beginData();
                break;
            case Command::Verb::Rset:
                rx.discardMessage();
                break;
            case Command::Verb::Bdat:
                if (c.bdatSize % 3 == 1)
                    rx.discardMessage(); // as a session refusing the chunk would
                break;
            case Command::Verb::Auth:
                if (!c.argument.contains(' ')) {
                    authLines = c.argument.size() % 3 + 1;
                    rx.setAuthMode(true);
                }
                break;
            case Command::Verb::Noop:
                if (c.argument.size() > 1) {
                    limits.maxMessageSize = c.argument.size() * 16;
                    rx.setMaxMessageSize(limits.maxMessageSize);
                }
                break;
            default:
                break;
            }
        }
        std::abort(); // next() never returned NeedMore
    }
};

QList<QByteArray> run(const QByteArray &input, const QList<qsizetype> &cuts, ReceiverLimits limits)
{
    Driver d(limits);
    qsizetype from = 0;
    for (qsizetype cut : cuts) {
        d.rx.feed(input.mid(from, cut - from));
        d.drain();
        from = cut;
    }
    d.rx.feed(input.mid(from));
    d.drain();
    return d.events;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0;
    const QByteArray input(reinterpret_cast<const char *>(data), qsizetype(size));

    // Direct parser entry points, line by line.
    for (const QByteArray &line : input.split('\n')) {
        QByteArray l = line;
        if (l.endsWith('\r'))
            l.chop(1);
        const ParseResult r = parseCommandLine(l);
        if (r.ok && (r.command.verb == Command::Verb::Mail || r.command.verb == Command::Verb::Rcpt))
            checkAddressRoundTrip(r.command);
        check(r.ok || !r.error.isEmpty());
        if (const auto a = parseAddress(l)) {
            const auto again = parseAddress(a->toString().toUtf8());
            check(again.has_value() && again->localPart == a->localPart && again->domain == a->domain);
        }
    }

    // Small limits so that line and size limits are reached often.
    ReceiverLimits small;
    small.maxLineLength = 64;
    small.maxMessageSize = 256;
    const QList<QByteArray> whole = run(input, {}, small);

    const qsizetype n = input.size();
    if (n > 1) {
        const qsizetype a = (data[0] * 131 + data[n - 1]) % n;
        const qsizetype b = a + (n - a) / 2;
        check(run(input, {a}, small) == whole);
        check(run(input, {a, b}, small) == whole);
    }
    // One byte at a time for short inputs, small uneven pieces for longer ones.
    const qsizetype step = n <= 1024 ? 1 : 1 + data[1] % 13;
    QList<qsizetype> pieces;
    for (qsizetype i = step; i < n; i += step)
        pieces << i;
    check(run(input, pieces, small) == whole);
    // Default limits as used in production.
    (void)run(input, {}, ReceiverLimits{});
    return 0;
}
