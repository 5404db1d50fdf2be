// SPDX-License-Identifier: AGPL-3.0-or-later
// Pop3Receiver: frames and parses a POP3 client byte stream (RFC 1939 §3, RFC 2449 §3,
// RFC 5034 AUTH, RFC 2595 STLS, RFC 6856 UTF8). Bytes in, events out; no I/O, no throws.
//
// Implementation notes
// - A command line ends with CRLF; a bare LF is accepted too (the CR, if any, is dropped).
// - RFC 2449 §4 caps a command line at 255 octets; usernames with UTF-8 (RFC 6856) and
//   SASL responses (RFC 5034 §4) need more, so the limit is the server's
//   max_line_length. A longer line gives one LineTooLong event and is skipped to its end.
// - Keywords are case-insensitive; arguments are separated by spaces. PASS takes the
//   rest of the line as its one argument (RFC 1939 §7: a password may contain spaces).
// - Message numbers are decimal, 1 to 2^32-1; checking them against the maildrop is the
//   session's job (it knows the maildrop).
#pragma once

#include <QByteArray>
#include <QList>
#include <QString>

#include <optional>

namespace valv::pop3 {

enum class CommandName { User, Pass, Apop, Auth, Stls, Capa, Utf8, Stat, List, Retr, Dele, Noop, Rset, Top, Uidl, Quit };

struct Command {
    CommandName name = CommandName::Noop;
    QByteArray argument;            // USER name, PASS password (rest of line)
    std::optional<uint32_t> msg;    // LIST/UIDL [msg], RETR/DELE/TOP msg
    uint32_t lines = 0;             // TOP msg n
    QByteArray mechanism;           // AUTH: upper-cased; empty = list mechanisms
    std::optional<QByteArray> initialResponse; // AUTH mech initial-response (RFC 5034 §4)
};

struct ReceiverEvent {
    enum class Type {
        NeedMore,
        Command,     // `command` is valid
        SaslLine,    // in SASL mode: one client response line, raw, in `line`
        SyntaxError, // -ERR: `text` says why; `unknownCommand` when the keyword is unknown
        LineTooLong, // -ERR: the line was longer than the limit and has been skipped
    };
    Type type = Type::NeedMore;
    Command command;
    QByteArray line; // SaslLine: the response; Command: the command line as received (for the trace)
    QString text;
    bool unknownCommand = false;
};

class Pop3Receiver {
public:
    explicit Pop3Receiver(qsizetype maxLineLength = 8192) : m_maxLine(maxLineLength) {}
    void feed(const QByteArray &bytes);
    [[nodiscard]] ReceiverEvent next();
    // While on, every line comes back raw as SaslLine (AUTH continuations).
    void setSaslMode(bool on) { m_sasl = on; }
    // Bytes received and not yet returned as an event (STLS injection check).
    [[nodiscard]] qsizetype buffered() const { return m_buffer.size() - m_pos; }

private:
    QByteArray m_buffer;
    qsizetype m_pos = 0;
    qsizetype m_maxLine;
    bool m_sasl = false;
    bool m_skipping = false; // inside an over-long line: drop bytes up to its LF
};

// Parse one command line (without CRLF). Exposed for tests and fuzzing.
struct ParseResult {
    bool ok = false;
    Command command;
    QString error;
    bool unknownCommand = false;
};
[[nodiscard]] ParseResult parseCommandLine(const QByteArray &line);

// RFC 1939 §3: byte-stuffs `raw` for a multi-line response: a line starting with "."
// gets another ".", bare LF becomes CRLF, the data ends with CRLF, and the terminating
// ".\r\n" is appended. `maxBodyLines` >= 0 keeps the header, the blank line (sent even
// when the message has none) and that many body lines (TOP); -1 keeps everything (RETR).
// A message that needs no change (the common case: CRLF lines, no line starting with
// ".") only gets ".\r\n" appended, in place when `raw` is not shared.
[[nodiscard]] QByteArray stuffMessage(QByteArray raw, qint64 maxBodyLines = -1);

// The octets RETR sends for `raw` before byte-stuffing and the terminating ".\r\n"
// (RFC 1939 §5 LIST/STAT sizes): stuffMessage's line endings, i.e. one more for each
// bare LF and the CRLF a last line without one gets.
[[nodiscard]] qint64 wireSize(const QByteArray &raw);

} // namespace valv::pop3
