// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 6376 §3.4.1 - §3.4.4: the "simple" and "relaxed" header and body canonicalizations,
// and the split of a raw message into header fields and body that DKIM works on.
//
// Implementation notes
// - Everything works on raw bytes. A line ends at LF; a CR directly before that LF
//   belongs to the line end, so LF-only input canonicalizes exactly like its CRLF form
//   (as dkimpy and OpenDKIM read it). A CR anywhere else is an ordinary byte.
// - WSP is SP and HTAB only (RFC 5234); other bytes, 8-bit UTF-8 included, pass through.
// - No recursion; every loop advances at least one byte per step; an output is at most
//   twice its input (LF-only lines gain a CR).
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QList>

#include <type_traits>

namespace valv::dkim {

// One header field as transmitted. `name` is the bytes before the colon without the WSP
// that may stand between name and colon; `value` is everything after the colon up to, not
// including, the line end of the field's last line. Continuation lines stay in `value`
// with their line ends, so `value` can be canonicalized exactly as sent. Both view the
// message, so rawField() gives the field exactly as sent.
struct HeaderField {
    QByteArrayView name;
    QByteArrayView value;
};

struct SplitMessage {
    QList<HeaderField> fields; // in message order, top to bottom
    QByteArrayView body;       // after the blank line; empty when there is none
};

// Splits `message` at its first empty line. False when a header line is neither a field
// ("name:", a name of printable ASCII without ':', WSP allowed before the colon as in
// RFC 5322 §4.5) nor a continuation of one; the output
// then holds the fields read so far. The views point into `message`.
[[nodiscard]] bool splitMessage(QByteArrayView message, SplitMessage *out);
// The views would dangle: keep the message in a variable.
template <typename T>
    requires(std::is_same_v<T, QByteArray>)
bool splitMessage(T &&temporary, SplitMessage *out) = delete;

// The whole field as sent, from the first byte of its name to the end of its value (no
// final line end).
[[nodiscard]] QByteArrayView rawField(const HeaderField &field);

// RFC 6376 §3.4.1: the field unchanged, except that each line end inside it becomes CRLF
// (an LF-only message reads as its CRLF form). `field` is a rawField(); no trailing CRLF.
[[nodiscard]] QByteArray canonicalizeHeaderSimple(QByteArrayView field);

// RFC 6376 §3.4.2: lowercased name, ':', the value unfolded with WSP runs reduced to one
// SP and WSP at both ends removed. No trailing CRLF: the caller adds it where the
// signature input needs one.
[[nodiscard]] QByteArray canonicalizeHeaderRelaxed(QByteArrayView name, QByteArrayView value);

// RFC 6376 §3.4.4: WSP at line ends removed, other WSP runs reduced to one SP, empty
// lines at the end removed, every line ended with CRLF. An empty body, or one of only
// empty lines, is the empty string: §3.4.4 adds a CRLF only to a non-empty body.
[[nodiscard]] QByteArray canonicalizeBodyRelaxed(QByteArrayView body);

// RFC 6376 §3.4.3: empty lines at the end removed, every line ended with CRLF (a last line
// without a line end gains one). An empty body, or one of only empty lines, is one CRLF.
[[nodiscard]] QByteArray canonicalizeBodySimple(QByteArrayView body);

} // namespace valv::dkim
