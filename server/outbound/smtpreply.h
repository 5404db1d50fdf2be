// SPDX-License-Identifier: AGPL-3.0-or-later
// SMTP reply parsing for the client side (RFC 5321 §4.2, RFC 2034/3463 enhanced status
// codes). Pure: bytes in, replies out; Qt Core only, no I/O.
//
// Implementation notes
// - A reply is one or more lines "ddd-text" ending with "ddd text" (or "ddd"); every
//   line must carry the same code, else the reply is malformed.
// - The enhanced code is taken from the first line that has one ("5.1.1 "), and removed
//   from every line that repeats it; the lines' texts are joined with single spaces.
// - Limits: a line longer than kMaxReplyLine or a reply of more than kMaxReplyLines
//   lines is malformed (a server that sends that is not one to deliver to).
#pragma once

#include <QByteArray>
#include <QString>
#include <QStringList>

#include <optional>

namespace valv::outbound {

inline constexpr qsizetype kMaxReplyLine = 4096;
inline constexpr int kMaxReplyLines = 200;

struct SmtpReply {
    int code = 0;            // 0: no reply (connection failed, timed out, closed)
    QString enhanced;        // "5.1.1" when the server sent one
    QString text;            // the reply lines joined with a space, or what went wrong locally
    [[nodiscard]] bool positive() const { return code >= 200 && code < 400; }
    [[nodiscard]] bool permanent() const { return code >= 500; }
    // "550 5.1.1 No such user" (for logs, DSNs and valvctl).
    [[nodiscard]] QString toString() const;
};

class ReplyParser {
public:
    struct Event {
        enum class Type { NeedMore, Reply, Malformed };
        Type type = Type::NeedMore;
        SmtpReply reply;    // Reply
        QStringList lines;  // Reply: each line's text after "ddd-" / "ddd " (EHLO keywords)
        QString error;      // Malformed: what was wrong (for the log)
    };
    void feed(const QByteArray &bytes);
    // Call until NeedMore after every feed(). After Malformed the stream is not followed
    // any more (every later call returns Malformed).
    [[nodiscard]] Event next();

private:
    QByteArray m_buf;
    qsizetype m_pos = 0;
    QList<QByteArray> m_lines;
    int m_code = 0;
    bool m_broken = false;
    QString m_error;
};

} // namespace valv::outbound
