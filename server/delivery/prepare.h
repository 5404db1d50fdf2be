// SPDX-License-Identifier: AGPL-3.0-or-later
// Everything the store keeps beside a message's bytes, computed once when it arrives
// (SMTP delivery, IMAP APPEND): ENVELOPE/BODYSTRUCTURE and the header length. Pure and
// blocking (MIME parsing): run it off the event loop.
//
// The full-text index is filled after the commit, in batches (indexing one message per
// transaction cost three times the rest of an APPEND): indexSoon() after each commit
// indexes a mailbox's waiting messages once kIndexBatchAt of them are waiting, and a
// search indexes whatever still waits before it queries (imap/commands/search.cpp).
#pragma once

#include "store/mailstore.h"
#include "store/mailstorecache.h"

#include <QByteArray>
#include <QDateTime>
#include <QList>

namespace valv::delivery {

[[nodiscard]] store::NewMessage prepareMessage(const QByteArray &raw, const QList<QByteArray> &flags,
                                               const QDateTime &internalDate);

// The search document of a stored message.
[[nodiscard]] store::SearchDocument searchDocument(const QByteArray &raw);

inline constexpr int kIndexBatchAt = 16;   // waiting messages that start a batch
inline constexpr int kIndexBatchSize = 500; // messages per index transaction

// On the calling (pool) thread, with its cached connection: index the user's waiting
// messages if at least kIndexBatchAt wait (all of them, batch by batch); with force,
// whatever waits. Returns false on a store error (logged).
bool indexWaiting(const store::MailStoreOpener *opener, const QString &userId, bool force = false);
// indexWaiting(force) on the thread pool; at most one such job per user at a time.
void indexInBackground(const store::MailStoreOpener *opener, const QString &userId);

} // namespace valv::delivery
