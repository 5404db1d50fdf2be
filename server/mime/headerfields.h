// SPDX-License-Identifier: AGPL-3.0-or-later
// A message's top-level header fields, for code outside valv_mime that needs to look
// at a few of them (submission: From, Sender, Message-ID, Date). Pure, no I/O.
#pragma once

#include <QByteArray>
#include <QList>
#include <QString>

namespace valv::mime {

// The unfolded values of every field called `name` (case-insensitive), in order.
[[nodiscard]] QList<QByteArray> headerValues(const QByteArray &message, const char *name);
// The addr-spec ("local@domain") of every mailbox in every `name` field (groups
// flattened); malformed entries are skipped. Local parts keep their quoting removed.
[[nodiscard]] QList<QString> headerAddresses(const QByteArray &message, const char *name);
// Length of the header section including the blank line (the whole message if none).
[[nodiscard]] qsizetype headerSectionLength(const QByteArray &message);

} // namespace valv::mime
