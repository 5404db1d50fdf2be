// SPDX-License-Identifier: AGPL-3.0-or-later
// libFuzzer target for the IMAP command parser and receiver.
//
// Invariants checked (a violation traps so libFuzzer reports it):
// - no crash, leak or UB (ASan/UBSan), the receiver always returns NeedMore eventually;
// - the receiver's events do not depend on how the input was split: whole, at a
//   pseudo-random set of cuts derived from the data, and (short inputs, small limits)
//   byte by byte;
// - parseCommand on the raw bytes never crashes, and its result is self-consistent.
#include "imap/imapreceiver.h"

#include <QStringList>

#include <cstddef>
#include <cstdint>

using namespace valv::imap;

namespace {

QString summary(const ReceiverEvent &ev)
{
    return QStringLiteral("%1|%2|%3|%4|%5|%6|%7|%8|%9")
        .arg(int(ev.type))
        .arg(QString::fromLatin1(ev.tag.toHex()))
        .arg(ev.text)
        .arg(ev.fatal)
        .arg(ev.unknownCommand)
        .arg(int(ev.command.name))
        .arg(QString::fromLatin1(ev.command.tag.toHex()))
        .arg(ev.command.fetchAtts.size() + ev.command.searchKey.children.size())
        .arg(ev.command.appendMessage.size());
}

class Run {
public:
    explicit Run(ReceiverLimits limits) : m_rx(limits) {}

    void feed(const QByteArray &bytes)
    {
        m_rx.feed(bytes);
        for (int guard = 0;; ++guard) {
            if (guard > 1000000)
                __builtin_trap(); // next() must reach NeedMore
            ReceiverEvent ev = m_rx.next();
            if (ev.type == ReceiverEvent::Type::NeedMore)
                return;
            if (ev.type == ReceiverEvent::Type::Command) {
                const Command &c = ev.command;
                if (c.name == CommandName::Idle)
                    m_rx.setIdleMode(true);
                else if (c.name == CommandName::Done)
                    m_rx.setIdleMode(false);
                else if (c.name == CommandName::Authenticate && !c.tag.isEmpty() && !c.saslInitialResponse)
                    m_rx.setSaslMode(true);
                else if (c.name == CommandName::Authenticate && c.tag.isEmpty())
                    m_rx.setSaslMode(false);
            }
            m_events << summary(ev);
        }
    }
    const QStringList &events() const { return m_events; }
    qsizetype buffered() const { return m_rx.buffered(); }

private:
    ImapReceiver m_rx;
    QStringList m_events;
};

void checkReceiver(const QByteArray &data, ReceiverLimits limits, bool bytewiseToo)
{
    Run whole(limits);
    whole.feed(data);

    // Cuts from a small PRNG seeded by the data, so a crash reproduces from the input alone.
    uint32_t seed = 2166136261u;
    for (const char c : data)
        seed = (seed ^ uint8_t(c)) * 16777619u;
    Run split(limits);
    qsizetype pos = 0;
    while (pos < data.size()) {
        seed = seed * 1103515245u + 12345u;
        const qsizetype len = 1 + qsizetype((seed >> 16) % 97);
        split.feed(data.mid(pos, len));
        pos += len;
    }
    if (split.events() != whole.events())
        __builtin_trap();

    if (bytewiseToo && data.size() <= 1024) { // costly under ASan: small inputs only
        Run bytewise(limits);
        for (const char c : data)
            bytewise.feed(QByteArray(1, c));
        if (bytewise.events() != whole.events())
            __builtin_trap();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
    if (size > 1 << 20)
        return 0;
    const QByteArray data(reinterpret_cast<const char *>(bytes), qsizetype(size));

    ParseInput in;
    in.bytes = data;
    const ParseResult r = parseCommand(in, 16);
    if (r.ok && !r.error.isEmpty())
        __builtin_trap();
    if (!r.ok && r.error.isEmpty())
        __builtin_trap();

    if (const auto name = decodeMailboxUtf7(data)) {
        if (encodeMailboxUtf7(*name) != data)
            __builtin_trap(); // strict decoding means the encoding is canonical
    }

    ReceiverLimits small;
    small.maxLineLength = 200;
    small.maxLiteralSize = 300;
    small.maxCommandSize = 1000;
    small.maxNesting = 6;
    checkReceiver(data, small, true);
    checkReceiver(data, ReceiverLimits{}, false);
    return 0;
}
