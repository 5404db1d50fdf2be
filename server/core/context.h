// SPDX-License-Identifier: AGPL-3.0-or-later
// The shared, thread-safe services and settings a session is created with.
#pragma once

#include <QByteArray>
#include <QHostAddress>
#include <QString>

#include <atomic>

namespace valv::store {
class ConfigStore;
class MailStoreOpener;
} // namespace valv::store

namespace valv::core {

struct Limits {
    int maxLineLength = 8192;
    qint64 maxMessageSize = 50 * 1024 * 1024;
    int maxRecipients = 100;
    int idleTimeout = 1800;
    int smtpIdleTimeout = 300;
    int maxFolders = 1000;
    // Page cache of a mailbox connection that a user's IMAP sessions on one worker share.
    int mailboxCacheKiB = 2048;
    // POP3 (RFC 1939): messages deleted with DELE go to Trash (true) or are expunged.
    bool pop3DeletedToTrash = true;
    // RFC 2449 §6.8 LOGIN-DELAY: minimum seconds between one user's POP3 logins (0 = none).
    int pop3LoginDelay = 0;
    // Submission: recipients one user may send to per hour (0 = no limit).
    int userSendRate = 1000;
    // Failed logins from one client address before it is refused for authBlockSeconds.
    int authFailuresPerIp = 10;
    int authBlockSeconds = 900;
};

struct ServerContext {
    QString hostname;
    Limits limits;
    // DNS server for the sender checks and routing (null: the system's).
    QHostAddress nameserver;
    // MX: SPF, DKIM and DMARC on arrival, and whether DMARC reject/quarantine is acted on.
    bool senderChecks = true;
    bool enforceDmarc = true;
    bool allowPlaintextAuth = false;
    bool protocolTrace = false;
    store::ConfigStore *config = nullptr;
    store::MailStoreOpener *mail = nullptr;
};

// Short random-looking ids for log lines: "a1f3".
[[nodiscard]] QString nextSessionId();

} // namespace valv::core
