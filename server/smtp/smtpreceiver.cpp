// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 5321 §2.3.8 lines, §4.1.1.4 DATA, §4.5.2 transparency, §4.5.3.1 size limits;
// RFC 3030 §2 BDAT.
//
// Implementation notes
// - Pull model: feed() only appends; next() does all work, one event per call, so the
//   session can change mode (beginData, setAuthMode) between two events and pipelined
//   bytes are interpreted in the mode that applies to them.
// - Command lines end at LF; a CR before it is removed. A line longer than
//   maxLineLength (counting its line end) is reported as soon as maxLineLength bytes
//   without LF are buffered, and the rest of it is dropped as it arrives: a command line
//   never holds more than maxLineLength bytes.
// - DATA ends only at CRLF "." CRLF (a "." CRLF at the very start ends an empty message).
//   Bare LF and bare CR are kept as data and never start a line, so "\n.\n" and
//   "\n.\r\n" cannot end a message (SMTP smuggling). A leading dot is removed from every
//   line that starts after CRLF (§4.5.2).
// - Content is stored until it would exceed maxMessageSize; after that it is only
//   counted and dropped, but the terminator / the announced chunk bytes are still read.
// - The event sequence is a function of the byte stream alone, not of how it was split
//   across feed() calls (the unit tests check whole, every split, and byte by byte).
#include "smtp/parser_syntax.h"
#include "smtp/smtpreceiver.h"

#include <algorithm>
#include <cstring>

namespace valv::smtp {

struct SmtpReceiver::Impl {
    enum class Mode { Command, SkipLine, Data, Chunk };
    // Where the DATA scanner stands relative to line starts (a line starts after CRLF).
    enum class DataState { LineStart, Dot, DotCr, Mid, MidCr };

    ReceiverLimits limits;
    QByteArray buf;
    qsizetype pos = 0;
    Mode mode = Mode::Command;
    bool authMode = false;

    QByteArray content;
    qsizetype contentSize = 0; // counted even when no longer stored
    bool tooBig = false;
    bool discarding = false;
    bool bareLf = false;
    DataState ds = DataState::LineStart;
    quint64 chunkRemaining = 0;
    bool chunkLast = false;
    Command chunkCommand; // the BDAT being read, repeated in its BdatChunk/Message event

    void resetContent()
    {
        content.clear();
        contentSize = 0;
        tooBig = false;
        bareLf = false;
    }

    void append(const char *p, qsizetype n)
    {
        if (n <= 0 || tooBig || discarding)
            return;
        if (n > limits.maxMessageSize - contentSize) {
            tooBig = true;
            content = QByteArray(); // release the memory now
            return;
        }
        contentSize += n;
        content.append(p, n);
    }

    void compact()
    {
        if (pos >= buf.size()) {
            buf.clear();
            pos = 0;
        } else if (pos > 64 * 1024 && pos > buf.size() / 2) {
            buf.remove(0, pos);
            pos = 0;
        }
    }

    ReceiverEvent finishMessage()
    {
        ReceiverEvent ev;
        if (contentSize > limits.maxMessageSize)
            tooBig = true; // the limit was lowered while chunks were arriving
        if (tooBig && !discarding) {
            ev.type = ReceiverEvent::Type::MessageTooBig;
            ev.text = QStringLiteral("Message exceeds the size limit");
        } else {
            ev.type = ReceiverEvent::Type::Message;
            ev.message = discarding ? QByteArray() : std::move(content);
            ev.bareLineFeed = bareLf && !discarding;
        }
        resetContent();
        discarding = false;
        mode = Mode::Command;
        return ev;
    }

    bool scanData();
    ReceiverEvent readChunk();
    ReceiverEvent readCommand();
};

// Runs the DATA scanner over the buffered bytes. True when the terminator was consumed.
bool SmtpReceiver::Impl::scanData()
{
    const char *p = buf.constData();
    const qsizetype end = buf.size();
    qsizetype i = pos;
    while (i < end) {
        switch (ds) {
        case DataState::LineStart:
            if (p[i] == '.') {
                ds = DataState::Dot; // held back: stuffing dot or start of the terminator
                ++i;
            } else {
                ds = DataState::Mid;
            }
            break;
        case DataState::Dot:
            if (p[i] == '\r') {
                ds = DataState::DotCr;
                ++i;
            } else {
                ds = DataState::Mid; // the dot was stuffing: drop it, keep the rest
            }
            break;
        case DataState::DotCr:
            if (p[i] == '\n') {
                pos = i + 1;
                return true;
            }
            append("\r", 1); // "." CR x: drop the dot, the CR is data
            ds = DataState::MidCr;
            break;
        case DataState::Mid: {
            const void *cr = std::memchr(p + i, '\r', size_t(end - i));
            const qsizetype stop = cr ? static_cast<const char *>(cr) - p : end;
            if (stop > i) {
                if (!bareLf && std::memchr(p + i, '\n', size_t(stop - i)))
                    bareLf = true;
                append(p + i, stop - i);
                i = stop;
            }
            if (i < end) {
                append("\r", 1);
                ds = DataState::MidCr;
                ++i;
            }
            break;
        }
        case DataState::MidCr: {
            const char ch = p[i++];
            append(&ch, 1);
            ds = ch == '\n' ? DataState::LineStart
                            : (ch == '\r' ? DataState::MidCr : DataState::Mid);
            break;
        }
        }
    }
    pos = end;
    return false;
}

ReceiverEvent SmtpReceiver::Impl::readChunk()
{
    const qsizetype avail = buf.size() - pos;
    const qsizetype take = qsizetype(std::min<quint64>(chunkRemaining, quint64(avail)));
    append(buf.constData() + pos, take);
    pos += take;
    chunkRemaining -= quint64(take);
    if (chunkRemaining > 0)
        return {};
    if (chunkLast) {
        ReceiverEvent ev = finishMessage();
        ev.command = std::move(chunkCommand);
        return ev;
    }
    ReceiverEvent ev;
    ev.type = ReceiverEvent::Type::BdatChunk;
    ev.command = std::move(chunkCommand);
    ev.overLimit = tooBig && !discarding;
    discarding = false;
    mode = Mode::Command;
    return ev;
}

ReceiverEvent SmtpReceiver::Impl::readCommand()
{
    const qsizetype avail = buf.size() - pos;
    const qsizetype window = std::min(avail, limits.maxLineLength);
    const char *start = buf.constData() + pos;
    const void *lf = std::memchr(start, '\n', size_t(window));
    ReceiverEvent ev;
    if (!lf) {
        if (avail < limits.maxLineLength)
            return ev; // NeedMore
        pos += window;
        mode = Mode::SkipLine;
        ev.type = ReceiverEvent::Type::LineTooLong;
        ev.text = QStringLiteral("Line too long");
        return ev;
    }
    qsizetype len = static_cast<const char *>(lf) - start;
    pos += len + 1;
    if (len > 0 && start[len - 1] == '\r')
        --len;
    const QByteArray line(start, len);
    if (authMode) {
        ev.type = ReceiverEvent::Type::Command;
        ev.command.verb = Command::Verb::Auth;
        ev.command.argument = line;
        return ev;
    }
    ParseResult r = parseCommandLine(line);
    if (!r.ok) {
        ev.type = ReceiverEvent::Type::SyntaxError;
        ev.text = r.error;
        ev.unknownCommand = r.unknownCommand;
        return ev;
    }
    if (r.command.verb == Command::Verb::Bdat) {
        mode = Mode::Chunk;
        chunkRemaining = r.command.bdatSize;
        chunkLast = r.command.bdatLast;
        chunkCommand = r.command;
    }
    ev.type = ReceiverEvent::Type::Command;
    ev.command = std::move(r.command);
    return ev;
}

SmtpReceiver::SmtpReceiver(ReceiverLimits limits) : d(std::make_shared<Impl>())
{
    limits.maxLineLength = std::max<qsizetype>(limits.maxLineLength, 1);
    limits.maxMessageSize = std::max<qsizetype>(limits.maxMessageSize, 0);
    d->limits = limits;
}

void SmtpReceiver::feed(const QByteArray &bytes)
{
    d->compact();
    d->buf.append(bytes);
}

ReceiverEvent SmtpReceiver::next()
{
    Impl &s = *d;
    ReceiverEvent ev;
    while (true) {
        switch (s.mode) {
        case Impl::Mode::SkipLine: {
            const qsizetype avail = s.buf.size() - s.pos;
            const void *lf = std::memchr(s.buf.constData() + s.pos, '\n', size_t(avail));
            if (!lf) {
                s.pos = s.buf.size();
                s.compact();
                return ev;
            }
            s.pos = static_cast<const char *>(lf) - s.buf.constData() + 1;
            s.mode = Impl::Mode::Command;
            continue;
        }
        case Impl::Mode::Command:
            ev = s.readCommand();
            break;
        case Impl::Mode::Data:
            if (s.scanData())
                ev = s.finishMessage();
            break;
        case Impl::Mode::Chunk:
            ev = s.readChunk();
            break;
        }
        s.compact();
        return ev;
    }
}

void SmtpReceiver::beginData()
{
    if (d->mode == Impl::Mode::Chunk || d->mode == Impl::Mode::Data)
        return;
    d->mode = Impl::Mode::Data;
    d->ds = Impl::DataState::LineStart;
    d->resetContent();
    d->discarding = false;
}

void SmtpReceiver::discardMessage()
{
    d->resetContent();
    d->discarding = d->mode == Impl::Mode::Data || d->mode == Impl::Mode::Chunk;
}

void SmtpReceiver::setAuthMode(bool on)
{
    d->authMode = on;
}

qsizetype SmtpReceiver::buffered() const
{
    return d->buf.size() - d->pos;
}

void SmtpReceiver::setMaxMessageSize(qsizetype bytes)
{
    d->limits.maxMessageSize = std::max<qsizetype>(bytes, 0);
}

QString Address::toString() const
{
    if (isNull())
        return {};
    QString local;
    if (syntax::isDotString(localPart.toUtf8())) {
        local = localPart;
    } else {
        local.reserve(localPart.size() + 2);
        local += u'"';
        for (QChar ch : localPart) {
            if (ch == u'"' || ch == u'\\')
                local += u'\\';
            local += ch;
        }
        local += u'"';
    }
    if (domain.isEmpty())
        return local; // <Postmaster>
    return local + u'@' + (domainIsLiteral ? u'[' + domain + u']' : domain);
}

} // namespace valv::smtp
