// SPDX-License-Identifier: AGPL-3.0-or-later
// Delivery status notifications: RFC 3464 (message/delivery-status) inside RFC 6522's
// multipart/report, with RFC 3461 xtext for ENVID/ORCPT and RFC 6533's utf-8 address type.
//
// Implementation notes
// - The report has three parts: text/plain for people (UTF-8, quoted-printable, so the
//   part is 7-bit whatever the addresses and replies hold), message/delivery-status for
//   programs (7-bit: non-ASCII addresses become "utf-8;" with \x{HHHH} escapes, RFC 6533
//   §3 utf-8-addr-xtext; other non-ASCII bytes in field values become '?'), and the
//   original as message/rfc822 or, for RET=HDRS, a too-large original, or one that cannot
//   be carried as 8bit (a NUL, a line over 998 octets), its header section as
//   text/rfc822-headers.
// - The returned original keeps its bytes, line ends aside: every line end becomes CRLF.
//   When it has 8-bit bytes its part and the multipart are labelled 8bit (RFC 6152);
//   the report is otherwise 7bit.
// - Every value that reaches a header or a delivery-status field loses its CR, LF and
//   other control characters first: nothing a remote server replies can add a field.
//   Long values are folded at spaces; no output line is over 998 octets.
// - Auto-Submitted: auto-replied (RFC 3834) so that responders do not answer it.
// - A boundary that occurs in a part's content (or is empty) is extended with a hash of
//   the content until it no longer does.
#pragma once

#include <QByteArray>
#include <QDateTime>
#include <QList>
#include <QString>

namespace valv::outbound {

struct DsnRecipient {
    enum class Action { Failed, Delayed, Delivered, Relayed, Expanded };
    QString finalRecipient;    // "bob@b.test" -> "Final-Recipient: rfc822;bob@b.test"
    QString originalRecipient; // ORCPT, xtext-decoded: "rfc822;bob@b.test" (empty: omitted)
    Action action = Action::Failed;
    QString status;            // "5.1.1"; empty: 5.0.0 failed, 4.0.0 delayed, 2.0.0 otherwise
    QString remoteMta;         // "mx.b.test" -> "Remote-MTA: dns; mx.b.test" (empty: omitted)
    QString diagnostic;        // the remote's reply, "550 5.1.1 No such user" (empty: omitted)
    QString problem;           // for people, when there was no remote reply
    QDateTime lastAttempt;     // omitted when invalid
    QDateTime willRetryUntil;  // Delayed only; omitted when invalid
};

struct DsnInput {
    QString reportingMta;  // our host name
    QString sender;        // the original envelope sender: the report's To:
    QString envelopeId;    // ENVID, xtext-decoded (empty: omitted)
    QDateTime arrivalDate; // omitted when invalid
    QList<DsnRecipient> recipients;
    QByteArray original;   // the message as queued
    bool headersOnly = false;                   // RET=HDRS
    qint64 maxReturnedSize = 10 * 1024 * 1024;  // larger originals: headers only
    QDateTime now;         // Date:
    QByteArray messageId;  // "<...@host>"
    QByteArray boundary;   // caller's random MIME boundary
};

// The whole RFC 5322 message, CRLF line ends.
[[nodiscard]] QByteArray buildDsn(const DsnInput &in);

// RFC 3461 §4. Decoding is lenient: a '+' not followed by two hex digits stays as it is.
[[nodiscard]] QByteArray xtextDecode(const QByteArray &xtext);
[[nodiscard]] QByteArray xtextEncode(const QByteArray &raw);

// The header section of a message: up to the first empty line (CRLF CRLF or LF LF), or
// all of it when there is none. Ends with the last header line's line end.
[[nodiscard]] QByteArray headerSection(const QByteArray &message);

} // namespace valv::outbound
