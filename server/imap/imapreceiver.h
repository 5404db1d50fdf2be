// SPDX-License-Identifier: AGPL-3.0-or-later
// ImapReceiver: frames an IMAP client byte stream into complete commands.
// Bytes in, events out; never reads a socket, never throws.
#pragma once

#include "imap/imapcommand.h"

#include <QByteArray>
#include <QString>

namespace valv::imap {

struct ReceiverLimits {
    qsizetype maxLineLength = 64 * 1024;       // one line, excluding literals
    qsizetype maxLiteralSize = 64 * 1024 * 1024; // one literal (APPEND message)
    qsizetype maxCommandSize = 80 * 1024 * 1024;  // whole command, literals included
    int maxNesting = 64;                        // parentheses depth (SEARCH, ID, …)
};

struct ReceiverEvent {
    enum class Type {
        NeedMore,          // nothing complete yet: feed more bytes
        Continuation,      // a synchronizing literal {N} was announced and is acceptable:
                           // the session must send "+ Ready for literal\r\n" now
        Command,           // `command` is a complete parsed command
        Error,             // a syntax error or limit. `tag` is the tag if one was read (else "*"),
                           // `text` says what was wrong; the receiver has already skipped
                           // the offending command (line and its announced literals) and can
                           // go on. `fatal` means the stream cannot be resynchronised (e.g. a
                           // non-synchronizing literal over the limit): answer BYE and close.
        TooBigLiteral,     // a synchronizing literal over the limit: answer `tag` NO/BAD
                           // (text given) and do NOT send a continuation; the rest of that
                           // line is discarded and the receiver goes on with the next line.
    };
    Type type = Type::NeedMore;
    Command command;
    QByteArray tag;
    QString text;
    bool fatal = false;
    // For Error: the error is in a command whose name was recognised (e.g. "FETCH")
    // or not (unknown command). Sessions may word replies differently.
    bool unknownCommand = false;
};

class ImapReceiver {
public:
    explicit ImapReceiver(ReceiverLimits limits = {});

    // Append bytes from the client.
    void feed(const QByteArray &bytes);
    // Take the next event. Call repeatedly until NeedMore.
    [[nodiscard]] ReceiverEvent next();

    // IDLE: while true, the receiver only looks for a line "DONE" (case-insensitive)
    // and returns it as a Command with name Done; any other line is an Error.
    void setIdleMode(bool idle);
    // AUTHENTICATE continuation: while true, the next line is returned raw (as
    // Command with name Authenticate and saslInitialResponse = the line) and not parsed.
    void setSaslMode(bool sasl);
    // After ENABLE UTF8=ACCEPT (RFC 6855 §3) mailbox names are UTF-8, never modified UTF-7.
    void setUtf8Names(bool on);
    // Bytes fed but not yet consumed (for STARTTLS: must be empty, else plaintext injection).
    [[nodiscard]] qsizetype buffered() const;
    void clear();

private:
    struct Impl;
    std::shared_ptr<Impl> d;
};

// Parse one complete command, given as its line text with literals already spliced in
// as (offset,length) pairs into `bytes`. Exposed for tests and the fuzz target; the
// receiver calls it. Implemented in imapparser.cpp.
struct ParseInput {
    QByteArray bytes;                 // the whole command, CRLF excluded, literal data inline
    QList<std::pair<qsizetype, qsizetype>> literals; // where literal data sits in `bytes`
    bool utf8Names = false;           // RFC 6855 UTF8=ACCEPT: mailbox names are UTF-8 only
};
struct ParseResult {
    bool ok = false;
    Command command;
    QByteArray tag;
    QString error;
    bool unknownCommand = false;
};
[[nodiscard]] ParseResult parseCommand(const ParseInput &input, int maxNesting = 64);

// Modified UTF-7 (RFC 3501 §5.1.3) for mailbox names.
[[nodiscard]] std::optional<QString> decodeMailboxUtf7(const QByteArray &encoded);
[[nodiscard]] QByteArray encodeMailboxUtf7(const QString &name);

} // namespace valv::imap
