// SPDX-License-Identifier: AGPL-3.0-or-later
// Everything the store keeps beside a message's bytes, computed once when it arrives
// (SMTP delivery, IMAP APPEND): ENVELOPE/BODYSTRUCTURE, the header length and the
// full-text search document. Pure and blocking (MIME parsing): run it off the event loop.
#pragma once

#include "store/mailstore.h"

#include <QByteArray>
#include <QDateTime>
#include <QList>

namespace valv::delivery {

[[nodiscard]] store::NewMessage prepareMessage(const QByteArray &raw, const QList<QByteArray> &flags,
                                               const QDateTime &internalDate);

// The search document of a stored message (also used to index older messages).
[[nodiscard]] store::SearchDocument searchDocument(const QByteArray &raw);

} // namespace valv::delivery
