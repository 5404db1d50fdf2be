// SPDX-License-Identifier: AGPL-3.0-or-later
// libFuzzer target for the POP3 receiver (command lines, SASL continuation lines),
// parseCommandLine, the shared SASL decoding (core/sasl.h), stuffMessage and wireSize.
// Oracles besides "no crash, no sanitizer report":
// - the event sequence is the same whether the input is fed whole, in two or three
//   pieces, or byte by byte;
// - after draining, no more than maxLineLength + 1 bytes stay buffered (bounded memory);
// - stuffMessage's output ends with ".\r\n", has no line that is a lone "." before that,
//   and un-stuffed gives back the input's lines (RETR is lossless for CRLF messages);
//   wireSize() is the un-stuffed size of what stuffMessage() sends.
#include "core/sasl.h"
#include "pop3/pop3receiver.h"

#include <QByteArray>
#include <QList>

#include <cstdint>
#include <cstdlib>

using namespace valv::pop3;

namespace {

void check(bool ok)
{
    if (!ok)
        std::abort();
}

QByteArray fingerprint(const ReceiverEvent &ev)
{
    QByteArray out = QByteArray::number(int(ev.type));
    if (ev.type == ReceiverEvent::Type::Command) {
        const Command &c = ev.command;
        out += ' ' + QByteArray::number(int(c.name)) + ' ' + c.argument + ' '
            + (c.msg ? QByteArray::number(*c.msg) : QByteArray("-")) + ' ' + QByteArray::number(c.lines) + ' '
            + c.mechanism + ' ' + c.initialResponse.value_or("-");
    } else if (ev.type == ReceiverEvent::Type::SaslLine) {
        out += ' ' + ev.line;
    } else if (ev.type == ReceiverEvent::Type::SyntaxError) {
        out += (ev.unknownCommand ? " U " : " S ") + ev.text.toUtf8();
    }
    return out;
}

// A session stand-in: enters SASL mode after a bare AUTH PLAIN/LOGIN, for one or two lines.
struct Driver {
    qsizetype maxLine;
    Pop3Receiver rx;
    QList<QByteArray> events;
    int saslLines = 0;

    explicit Driver(qsizetype max) : maxLine(max), rx(max) {}

    void drain()
    {
        for (int guard = 0; guard < 1000000; ++guard) {
            const ReceiverEvent ev = rx.next();
            if (ev.type == ReceiverEvent::Type::NeedMore) {
                check(rx.buffered() <= maxLine + 1);
                return;
            }
            events << fingerprint(ev);
            if (ev.type == ReceiverEvent::Type::SaslLine) {
                const auto r = valv::core::sasl::decodeResponse(ev.line);
                if (r.kind == valv::core::sasl::Response::Kind::Data)
                    (void)valv::core::sasl::parsePlain(r.data);
                if (--saslLines <= 0)
                    rx.setSaslMode(false);
                continue;
            }
            if (ev.type == ReceiverEvent::Type::Command && ev.command.name == CommandName::Auth
                && !ev.command.mechanism.isEmpty() && !ev.command.initialResponse) {
                saslLines = ev.command.mechanism == "LOGIN" ? 2 : 1;
                rx.setSaslMode(true);
            }
        }
        std::abort(); // next() never returned NeedMore
    }
};

QList<QByteArray> run(const QByteArray &input, const QList<qsizetype> &cuts, qsizetype maxLine)
{
    Driver d(maxLine);
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

void checkStuffing(const QByteArray &input)
{
    const QByteArray wire = stuffMessage(input);
    check(wire.endsWith(".\r\n"));
    const QByteArray data = wire.left(wire.size() - 3);
    check(data.isEmpty() || data.endsWith("\r\n"));
    QList<QByteArray> lines = data.split('\n');
    lines.removeLast(); // after the final LF
    QList<QByteArray> original = input.split('\n');
    if (!input.isEmpty() && input.endsWith('\n'))
        original.removeLast();
    check(lines.size() == original.size() || input.isEmpty());
    qint64 unstuffed = data.size();
    for (qsizetype i = 0; i < lines.size(); ++i) {
        QByteArray l = lines[i];
        check(l.endsWith('\r'));
        l.chop(1);
        check(l != "."); // the terminator never appears early
        if (l.startsWith('.')) {
            l.remove(0, 1);
            --unstuffed;
        }
        QByteArray o = original[i];
        if (o.endsWith('\r'))
            o.chop(1);
        check(l == o);
    }
    // LIST/STAT sizes are what RETR sends.
    check(wireSize(input) == unstuffed);
    // TOP never gives more than the whole message (and the blank line a message
    // without a body lacks).
    check(stuffMessage(input, 3).size() <= wire.size() + 2);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0;
    const QByteArray input(reinterpret_cast<const char *>(data), qsizetype(size));

    for (const QByteArray &line : input.split('\n')) {
        QByteArray l = line;
        if (l.endsWith('\r'))
            l.chop(1);
        const ParseResult r = parseCommandLine(l);
        check(r.ok || !r.error.isEmpty());
        if (r.ok && (r.command.name == CommandName::Retr || r.command.name == CommandName::Dele
                     || r.command.name == CommandName::Top))
            check(r.command.msg.has_value());
    }
    checkStuffing(input);

    // A small limit so that the line limit is reached often.
    constexpr qsizetype kSmall = 64;
    const QList<QByteArray> whole = run(input, {}, kSmall);
    const qsizetype n = input.size();
    if (n > 1) {
        const qsizetype a = (data[0] * 131 + data[n - 1]) % n;
        const qsizetype b = a + (n - a) / 2;
        check(run(input, {a}, kSmall) == whole);
        check(run(input, {a, b}, kSmall) == whole);
    }
    const qsizetype step = n <= 1024 ? 1 : 1 + data[1] % 13;
    QList<qsizetype> pieces;
    for (qsizetype i = step; i < n; i += step)
        pieces << i;
    check(run(input, pieces, kSmall) == whole);
    (void)run(input, {}, 8192);
    return 0;
}
