// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 9051 §2.2 / §4.3 command framing: CRLF lines, synchronizing literals {N} with a
// continuation request, RFC 7888 non-synchronizing literals {N+}, RFC 3516 ~{N}.
//
// Implementation notes:
// - Bytes are only consumed inside next(), one event at a time, so a session can switch
//   modes (IDLE, AUTHENTICATE, STARTTLS) between events and buffered() is exact.
// - Events do not depend on how the stream was split: every decision is taken on a
//   complete line, except "line too long", which is decided as soon as more than
//   maxLineLength + 1 bytes (room for the CR) are waiting without an LF, and reported
//   with the same tag and text as when the whole line is present.
// - A bare LF ends a line like CRLF does. Empty lines are ignored.
// - Nothing is allocated from an announced literal length: literal bytes are appended
//   as they arrive, and only after the length was checked against the limits.
// - Over-limit literals: a synchronizing one gives TooBigLiteral (no continuation, so a
//   conforming client does not send it). A non-synchronizing one is already on its way:
//   up to kSwallowFactor * maxLiteralSize bytes are read and dropped without being
//   stored, the rest of that command line is skipped, and the Error is not fatal. A
//   larger one cannot be resynchronised at a sane cost: fatal Error, input dropped.
// - Skipped lines (too long) that end in a non-synchronizing literal announcement get
//   the same swallow-or-fatal treatment, so literal data is never read as commands.
#include "imap/imapreceiver.h"

#include <algorithm>
#include <deque>
#include <limits>

namespace valv::imap {

namespace {

constexpr qsizetype kSwallowFactor = 4;
constexpr qsizetype kTailKeep = 64; // bytes kept from the end of a skipped line
constexpr qsizetype kTagScan = 256; // bytes examined to find a tag for error replies

bool isTagByte(char ch)
{
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7F)
        return false;
    switch (c) {
    case '(': case ')': case '{': case '%': case '*': case '"': case '\\': case '+':
        return false;
    default:
        return true;
    }
}

// The tag at the start of a command, if it is well formed and followed by SP; else "*".
QByteArray tagOf(const char *p, qsizetype n, qsizetype maxLine)
{
    const qsizetype scan = std::min({n, kTagScan, maxLine});
    for (qsizetype i = 0; i < scan; ++i) {
        if (p[i] == ' ')
            return i > 0 ? QByteArray(p, i) : QByteArray("*");
        if (!isTagByte(p[i]))
            break;
    }
    return QByteArray("*");
}

struct LiteralMark {
    bool present = false;
    bool nonSync = false;
    uint64_t size = 0; // saturates at UINT64_MAX
};

// Does this line (or the kept tail of a skipped line) end with "{N}" or "{N+}"?
LiteralMark literalAtEnd(const char *p, qsizetype n, bool truncated)
{
    LiteralMark m;
    if (n == 0 || p[n - 1] != '}')
        return m;
    qsizetype i = n - 2;
    if (i >= 0 && p[i] == '+') {
        m.nonSync = true;
        --i;
    }
    const qsizetype digitsEnd = i;
    while (i >= 0 && p[i] >= '0' && p[i] <= '9')
        --i;
    const qsizetype digits = digitsEnd - i;
    if (digits == 0)
        return m;
    if (i < 0 && !truncated)
        return m;
    if (i >= 0 && p[i] != '{')
        return m;
    m.present = true;
    if (i < 0) { // the digits ran past what was kept: absurdly long
        m.size = std::numeric_limits<uint64_t>::max();
        return m;
    }
    for (qsizetype k = i + 1; k <= digitsEnd; ++k) {
        const auto d = uint64_t(p[k] - '0');
        if (m.size > (std::numeric_limits<uint64_t>::max() - d) / 10) {
            m.size = std::numeric_limits<uint64_t>::max();
            break;
        }
        m.size = m.size * 10 + d;
    }
    return m;
}

ReceiverEvent errorEvent(QByteArray tag, QString text, bool fatal = false)
{
    ReceiverEvent ev;
    ev.type = ReceiverEvent::Type::Error;
    ev.tag = std::move(tag);
    ev.text = std::move(text);
    ev.fatal = fatal;
    return ev;
}

} // namespace

struct ImapReceiver::Impl {
    enum class State { Line, Literal, SkipLine, Swallow, Dead };

    ReceiverLimits limits;
    QByteArray buf;
    qsizetype pos = 0;  // bytes before pos are consumed
    qsizetype scan = 0; // bytes after pos already searched for LF
    State state = State::Line;
    ParseInput cmd;     // the command being assembled
    uint64_t remaining = 0; // literal bytes still to read or swallow
    QByteArray skipTail;
    bool skipTruncated = false;
    QByteArray skipTag; // tag of the command being skipped, for a later fatal error
    bool idle = false;
    bool sasl = false;
    bool utf8Names = false;
    std::deque<ReceiverEvent> pending;

    void resetCommand()
    {
        cmd.bytes.clear();
        cmd.literals.clear();
    }
    qsizetype avail() const { return buf.size() - pos; }
    void compact()
    {
        if (pos == buf.size()) {
            buf.clear();
            pos = 0;
        } else if (pos > 4096 && pos > buf.size() / 2) {
            buf.remove(0, pos);
            pos = 0;
        }
    }
    QByteArray currentTag(const char *lineStart, qsizetype lineLen) const
    {
        if (!cmd.bytes.isEmpty())
            return tagOf(cmd.bytes.constData(), cmd.bytes.size(), limits.maxLineLength);
        return tagOf(lineStart, lineLen, limits.maxLineLength);
    }
    void keepTail(const char *p, qsizetype n)
    {
        if (n >= kTailKeep) {
            skipTruncated = skipTruncated || n > kTailKeep || !skipTail.isEmpty();
            skipTail = QByteArray(p + n - kTailKeep, kTailKeep);
            return;
        }
        skipTail.append(p, n);
        if (skipTail.size() > kTailKeep) {
            skipTail.remove(0, skipTail.size() - kTailKeep);
            skipTruncated = true;
        }
    }
    // A skipped line has ended; if it announced a non-synchronizing literal, that
    // literal's bytes follow and must not be read as commands.
    void afterSkippedLine()
    {
        // The early "line too long" path may have kept the CR of the CRLF.
        if (skipTail.endsWith('\r'))
            skipTail.chop(1);
        const LiteralMark m = literalAtEnd(skipTail.constData(), skipTail.size(), skipTruncated);
        skipTail.clear();
        skipTruncated = false;
        state = State::Line;
        if (!m.present || !m.nonSync)
            return;
        swallowOrDie(m.size, skipTag);
    }
    void swallowOrDie(uint64_t size, const QByteArray &tag)
    {
        skipTag = tag;
        const auto cap = uint64_t(limits.maxLiteralSize) * uint64_t(kSwallowFactor);
        if (size <= cap) {
            remaining = size;
            state = State::Swallow;
            return;
        }
        state = State::Dead;
        pending.push_back(errorEvent(tag, QStringLiteral("[TOOBIG] non-synchronizing literal too large to skip; closing"), true));
    }

    std::optional<ReceiverEvent> step();
    std::optional<ReceiverEvent> onLine(QByteArray line);
};

std::optional<ReceiverEvent> ImapReceiver::Impl::onLine(QByteArray line)
{
    if (line.size() > limits.maxLineLength) {
        const QByteArray tag = currentTag(line.constData(), line.size());
        resetCommand();
        keepTail(line.constData(), line.size());
        pending.push_back(errorEvent(tag, QStringLiteral("line too long")));
        skipTag = tag;
        afterSkippedLine();
        return std::nullopt;
    }
    if (idle) {
        ReceiverEvent ev;
        if (line.compare("DONE", Qt::CaseInsensitive) == 0) {
            ev.type = ReceiverEvent::Type::Command;
            ev.command.name = CommandName::Done;
            return ev;
        }
        return errorEvent("*", QStringLiteral("expected DONE to end IDLE"));
    }
    if (sasl) {
        ReceiverEvent ev;
        ev.type = ReceiverEvent::Type::Command;
        ev.command.name = CommandName::Authenticate;
        ev.command.saslInitialResponse = line;
        return ev;
    }
    if (cmd.bytes.isEmpty() && line.isEmpty())
        return std::nullopt;
    if (cmd.bytes.size() + line.size() > limits.maxCommandSize) {
        const QByteArray tag = currentTag(line.constData(), line.size());
        resetCommand();
        keepTail(line.constData(), line.size());
        pending.push_back(errorEvent(tag, QStringLiteral("command too long")));
        skipTag = tag;
        afterSkippedLine();
        return std::nullopt;
    }
    cmd.bytes.append(line);
    const LiteralMark m = literalAtEnd(line.constData(), line.size(), false);
    if (!m.present) {
        cmd.utf8Names = utf8Names;
        ParseResult r = parseCommand(cmd, limits.maxNesting);
        resetCommand();
        ReceiverEvent ev;
        if (r.ok) {
            ev.type = ReceiverEvent::Type::Command;
            ev.tag = r.tag;
            ev.command = std::move(r.command);
            return ev;
        }
        ev = errorEvent(r.tag.isEmpty() ? QByteArray("*") : r.tag, r.error);
        ev.unknownCommand = r.unknownCommand;
        return ev;
    }
    const uint64_t room = uint64_t(limits.maxCommandSize - cmd.bytes.size());
    if (m.size > uint64_t(limits.maxLiteralSize) || m.size > room) {
        const QByteArray tag = currentTag(nullptr, 0);
        resetCommand();
        const QString text = QStringLiteral("[TOOBIG] literal exceeds the limit of %1 bytes").arg(limits.maxLiteralSize);
        if (!m.nonSync) {
            ReceiverEvent ev;
            ev.type = ReceiverEvent::Type::TooBigLiteral;
            ev.tag = tag;
            ev.text = text;
            return ev;
        }
        pending.push_back(errorEvent(tag, text));
        swallowOrDie(m.size, tag);
        return std::nullopt;
    }
    cmd.literals.append({cmd.bytes.size(), qsizetype(m.size)});
    remaining = m.size;
    state = State::Literal;
    if (m.nonSync)
        return std::nullopt;
    ReceiverEvent ev;
    ev.type = ReceiverEvent::Type::Continuation;
    ev.tag = currentTag(nullptr, 0);
    return ev;
}

// Makes progress on buffered input. Returns an event, or nullopt with `pending`
// possibly filled; returns a NeedMore event when nothing more can be done.
std::optional<ReceiverEvent> ImapReceiver::Impl::step()
{
    switch (state) {
    case State::Dead:
        buf.clear();
        pos = 0;
        scan = 0;
        return ReceiverEvent{};
    case State::Literal:
    case State::Swallow: {
        const qsizetype take = qsizetype(std::min<uint64_t>(remaining, uint64_t(avail())));
        if (state == State::Literal)
            cmd.bytes.append(buf.constData() + pos, take);
        pos += take;
        remaining -= uint64_t(take);
        if (remaining > 0)
            return ReceiverEvent{};
        state = state == State::Literal ? State::Line : State::SkipLine;
        return std::nullopt;
    }
    case State::SkipLine: {
        const qsizetype lf = buf.indexOf('\n', pos);
        if (lf < 0) {
            keepTail(buf.constData() + pos, avail());
            pos = buf.size();
            return ReceiverEvent{};
        }
        qsizetype end = lf;
        if (end > pos && buf[end - 1] == '\r')
            --end;
        keepTail(buf.constData() + pos, end - pos);
        pos = lf + 1;
        afterSkippedLine();
        return std::nullopt;
    }
    case State::Line: {
        const qsizetype lf = buf.indexOf('\n', pos + scan);
        if (lf < 0) {
            scan = avail();
            if (avail() > limits.maxLineLength + 1) {
                const QByteArray tag = currentTag(buf.constData() + pos, avail());
                resetCommand();
                state = State::SkipLine;
                skipTag = tag;
                skipTail.clear();
                skipTruncated = false;
                keepTail(buf.constData() + pos, avail());
                pos = buf.size();
                scan = 0;
                return errorEvent(tag, QStringLiteral("line too long"));
            }
            return ReceiverEvent{};
        }
        qsizetype end = lf;
        if (end > pos && buf[end - 1] == '\r')
            --end;
        QByteArray line(buf.constData() + pos, end - pos);
        pos = lf + 1;
        scan = 0;
        return onLine(std::move(line));
    }
    }
    return ReceiverEvent{};
}

ImapReceiver::ImapReceiver(ReceiverLimits limits) : d(std::make_shared<Impl>())
{
    // Keep the limits sane so arithmetic on them cannot overflow or go negative.
    limits.maxLineLength = std::clamp<qsizetype>(limits.maxLineLength, 16, qsizetype(1) << 30);
    limits.maxLiteralSize = std::clamp<qsizetype>(limits.maxLiteralSize, 0, qsizetype(1) << 40);
    limits.maxCommandSize = std::clamp<qsizetype>(limits.maxCommandSize, limits.maxLineLength, qsizetype(1) << 41);
    limits.maxNesting = std::clamp(limits.maxNesting, 1, 256);
    d->limits = limits;
}

void ImapReceiver::feed(const QByteArray &bytes)
{
    if (d->state == Impl::State::Dead)
        return;
    d->buf.append(bytes);
}

ReceiverEvent ImapReceiver::next()
{
    for (;;) {
        if (!d->pending.empty()) {
            ReceiverEvent ev = std::move(d->pending.front());
            d->pending.pop_front();
            return ev;
        }
        std::optional<ReceiverEvent> ev = d->step();
        if (!ev)
            continue;
        if (!d->pending.empty()) { // keep order: queued events first
            if (ev->type != ReceiverEvent::Type::NeedMore)
                d->pending.push_back(std::move(*ev));
            continue;
        }
        if (ev->type == ReceiverEvent::Type::NeedMore)
            d->compact();
        return std::move(*ev);
    }
}

void ImapReceiver::setIdleMode(bool idle) { d->idle = idle; }
void ImapReceiver::setSaslMode(bool sasl) { d->sasl = sasl; }
void ImapReceiver::setUtf8Names(bool on) { d->utf8Names = on; }

qsizetype ImapReceiver::buffered() const
{
    return d->state == Impl::State::Dead ? 0 : d->avail();
}

void ImapReceiver::clear()
{
    const ReceiverLimits limits = d->limits;
    const bool idle = d->idle;
    const bool sasl = d->sasl;
    const bool utf8Names = d->utf8Names;
    d = std::make_shared<Impl>();
    d->limits = limits;
    d->idle = idle;
    d->sasl = sasl;
    d->utf8Names = utf8Names;
}

} // namespace valv::imap
