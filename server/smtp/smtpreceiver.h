// SPDX-License-Identifier: AGPL-3.0-or-later
// SmtpReceiver: frames and parses an SMTP client byte stream (RFC 5321 §4.1, RFC 1870
// SIZE, RFC 6152 8BITMIME, RFC 6531 SMTPUTF8, RFC 3030 CHUNKING/BDAT, RFC 3461 DSN,
// RFC 4954 AUTH, RFC 8689 REQUIRETLS). Bytes in, events out; no I/O, no throws.
#pragma once

#include <QByteArray>
#include <QList>
#include <QString>

#include <memory>
#include <optional>

namespace valv::smtp {

// A parsed address. RFC 5321 §4.1.2 Path / Mailbox, RFC 6531 UTF-8 local parts/domains.
struct Address {
    QString localPart;   // unquoted: "a b"@x -> localPart "a b"
    QString domain;      // as given (U-labels stay U-labels), no brackets for address literals
    bool domainIsLiteral = false; // [127.0.0.1] / [IPv6:...]
    bool isNull() const { return localPart.isEmpty() && domain.isEmpty(); }
    QString toString() const; // local@domain, re-quoting the local part when needed
};

struct Command {
    enum class Verb { Helo, Ehlo, Mail, Rcpt, Data, Bdat, Rset, Noop, Quit, Vrfy, Expn,
                      Help, StartTls, Auth };
    Verb verb = Verb::Noop;
    QString domain;                 // HELO/EHLO argument
    Address path;                   // MAIL FROM (null path allowed) / RCPT TO
    bool postmaster = false;        // RCPT TO:<Postmaster> without domain
    QList<std::pair<QByteArray, QByteArray>> params; // ESMTP params, key upper-cased, value raw (xtext not decoded)
    QByteArray argument;            // VRFY/EXPN/HELP/NOOP argument, AUTH "MECH [initial]" raw
    quint64 bdatSize = 0;           // BDAT size
    bool bdatLast = false;          // BDAT ... LAST
};

struct ReceiverLimits {
    qsizetype maxLineLength = 4096;            // command line incl. CRLF (RFC 5321 §4.5.3.1.4 says >= 512)
    qsizetype maxMessageSize = 50 * 1024 * 1024; // DATA/BDAT content after dot-unstuffing
};

struct ReceiverEvent {
    enum class Type {
        NeedMore,
        Command,          // `command` is valid
        SyntaxError,      // 500/501: `text` says why; `unknownCommand` true -> 500 5.5.1 else 501 5.5.2/5.5.4
        LineTooLong,      // 500 5.5.6; the rest of the line was skipped
        Message,          // DATA ended ("\r\n.\r\n") or last BDAT chunk: `message` holds the
                          // content, dot-unstuffed, CRLF line ends kept as received
        MessageTooBig,    // the data ended but exceeded maxMessageSize: reply 552 5.3.4, nothing kept
        BdatChunk,        // a non-LAST BDAT chunk arrived (reply 250 to it)
    };
    Type type = Type::NeedMore;
    Command command;
    QByteArray message;
    QString text;
    bool unknownCommand = false;
    // BdatChunk: the chunks so far already exceed maxMessageSize (the session may answer
    // 552 now; the receiver still swallows every announced chunk and ends with MessageTooBig).
    bool overLimit = false;
    // Message from DATA: the content holds an LF not preceded by CR. Kept as received;
    // a session may refuse such mail (SMTP smuggling defence, cf. Postfix
    // smtpd_forbid_bare_newline). Only "\r\n.\r\n" ever ends DATA.
    bool bareLineFeed = false;
};

// Event sequences (call next() until NeedMore after every feed()):
// - command line            -> Command | SyntaxError | LineTooLong
// - DATA                    -> Command(Data); the session answers 354 and calls beginData()
//                              (or refuses and does not: the following lines stay commands)
//                           -> ... -> Message | MessageTooBig once "\r\n.\r\n" has arrived
// - BDAT n [LAST]           -> Command(Bdat) as soon as the line is parsed (the session checks
//                              its state), then, once the n bytes have arrived, BdatChunk (not
//                              LAST) or Message | MessageTooBig (LAST, all chunks joined);
//                              these events carry the BDAT command again in `command`.
//                              A BDAT line with a syntax error gives SyntaxError and no chunk
//                              is read: the stream is then out of step, so close the connection.
// Bytes after the end of a message or chunk stay buffered for the next command (pipelining).
class SmtpReceiver {
public:
    explicit SmtpReceiver(ReceiverLimits limits = {});
    void feed(const QByteArray &bytes);
    [[nodiscard]] ReceiverEvent next();

    // After the session answers 354 to DATA, it calls this; the receiver then collects the
    // message until "\r\n.\r\n" (a lone "." line at the very start ends an empty message).
    void beginData();
    // When the session rejects a BDAT (e.g. no MAIL yet), it still must swallow the chunk:
    // the receiver does this by itself for every BDAT and reports BdatChunk/Message; the
    // session decides what to answer. Call discardMessage() to drop content collected so far.
    // Called while a DATA message or a BDAT chunk is still arriving, the rest of it is
    // swallowed too; its final event still comes (Message with empty content for DATA and
    // BDAT LAST), so the session can send its reply at the right time.
    void discardMessage();
    // AUTH continuation lines: while true, the next line is returned raw in
    // Command{verb=Auth, argument=line}.
    void setAuthMode(bool on);
    [[nodiscard]] qsizetype buffered() const;
    void setMaxMessageSize(qsizetype bytes);

private:
    struct Impl;
    std::shared_ptr<Impl> d;
};

// Parse one command line (without CRLF). Exposed for tests and fuzzing.
struct ParseResult {
    bool ok = false;
    Command command;
    QString error;
    bool unknownCommand = false;
};
[[nodiscard]] ParseResult parseCommandLine(const QByteArray &line);
[[nodiscard]] std::optional<Address> parseAddress(const QByteArray &text); // "local@domain" (no brackets)

} // namespace valv::smtp
