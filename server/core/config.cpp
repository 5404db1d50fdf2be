// SPDX-License-Identifier: AGPL-3.0-or-later
#include "core/config.h"

#include <QFile>
#include <QHostAddress>
#include <QThread>

namespace valv::core {

namespace {
QString envName(const QString &key) { return QStringLiteral("VALV_") + key.toUpper(); }
QString flagName(const QString &key) { return QStringLiteral("--") + QString(key).replace(u'_', u'-'); }

const OptionSpec *findSpec(const QString &key)
{
    for (const OptionSpec &s : Config::specs()) {
        if (s.key == key)
            return &s;
    }
    return nullptr;
}

Result<QHash<QString, QString>> readFile(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return makeError(1, QStringLiteral("cannot read config file %1: %2").arg(path, f.errorString()));
    QHash<QString, QString> out;
    int lineNo = 0;
    while (!f.atEnd()) {
        ++lineNo;
        const QString line = QString::fromUtf8(f.readLine()).trimmed();
        if (line.isEmpty() || line.startsWith(u'#'))
            continue;
        const qsizetype eq = line.indexOf(u'=');
        if (eq < 0)
            return makeError(1, QStringLiteral("%1:%2: expected 'key = value'").arg(path).arg(lineNo));
        const QString key = line.left(eq).trimmed().replace(u'-', u'_');
        QString value = line.mid(eq + 1).trimmed();
        if (value.size() >= 2 && value.startsWith(u'"') && value.endsWith(u'"'))
            value = value.mid(1, value.size() - 2);
        if (!findSpec(key))
            return makeError(1, QStringLiteral("%1:%2: unknown key '%3'").arg(path).arg(lineNo).arg(key));
        out.insert(key, value);
    }
    return out;
}
} // namespace

const QList<OptionSpec> &Config::specs()
{
    static const QList<OptionSpec> s = {
        {"datadir", "/var/lib/valv", "Data directory: master.key, config.db, mail/, tls/."},
        {"hostname", "localhost", "This server's name in SMTP greetings and Received headers."},
        {"listen_address", "127.0.0.1", "Address every listener binds to (0.0.0.0 or :: for all)."},
        {"smtp_port", "25", "SMTP MX port (STARTTLS). 0 = let the OS choose (see ready_file)."},
        {"imap_port", "143", "IMAP port (STARTTLS). 0 = let the OS choose."},
        {"imaps_port", "993", "IMAP over implicit TLS. 0 = let the OS choose."},
        {"pop3_port", "110", "POP3 port (STLS). 0 = let the OS choose."},
        {"pop3s_port", "995", "POP3 over implicit TLS. 0 = let the OS choose."},
        {"submission_port", "587", "SMTP submission (RFC 6409, STARTTLS, AUTH required). 0 = let the OS choose."},
        {"submissions_port", "465", "SMTP submission over implicit TLS (RFC 8314). 0 = let the OS choose."},
        {"tls_cert", "", "PEM certificate chain; default <datadir>/tls/cert.pem."},
        {"tls_key", "", "PEM private key; default <datadir>/tls/key.pem."},
        {"workers", "0", "Worker threads owning connections; 0 = one per CPU core."},
        {"max_connections", "1000", "Connections open at once, all protocols together."},
        {"max_connections_per_ip", "20", "Connections open at once from one client address."},
        {"max_line_length", "8192", "Longest command line accepted (bytes)."},
        {"max_message_size", "52428800", "Largest message accepted: SMTP DATA/BDAT, IMAP literals (bytes)."},
        {"max_recipients", "100", "Recipients per SMTP transaction."},
        {"max_folders", "1000", "Folders one mailbox may hold (IMAP CREATE answers NO [LIMIT] beyond)."},
        {"mailbox_cache_kib", "2048", "Page cache (KiB) of one open mailbox file, shared by that user's IMAP sessions on a worker thread."},
        {"idle_timeout", "1800", "Seconds an IMAP connection may stay idle (RFC 9051: >= 30 min)."},
        {"smtp_idle_timeout", "300", "Seconds an SMTP connection may stay idle (RFC 5321 §4.5.3.2)."},
        {"shutdown_grace", "10", "Seconds SIGTERM waits for connections to finish."},
        {"allow_plaintext_auth", "false", "Allow passwords without TLS (never on a public address).", true},
        {"pop3_deleted_to_trash", "true", "POP3 DELE moves messages to Trash at QUIT (false: expunge them).", true},
        {"pop3_login_delay", "0", "Minimum seconds between one user's POP3 logins (RFC 2449 LOGIN-DELAY); 0 = none."},
        {"dns_resolver", "", "IPv4 address of the DNS server for MX, TXT and MTA-STS lookups (port 53); empty = the system's."},
        {"remote_smtp_port", "25", "Port of other servers' MX hosts (25; another value only for tests)."},
        {"remote_tls_ca_file", "", "Extra CA certificates (PEM) trusted when a remote server's certificate must be verified (MTA-STS, REQUIRETLS)."},
        {"remote_concurrency", "4", "Connections open at once to one destination domain."},
        {"remote_rate", "0", "Messages per minute sent to one destination domain; 0 = no limit."},
        {"remote_timeout", "300", "Seconds to wait for a remote server's reply (RFC 5321 §4.5.3.2 suggests minutes)."},
        {"queue_lifetime", "432000", "Seconds a message is retried before it bounces (default 5 days)."},
        {"queue_retry_min", "300", "Seconds before the first retry; each later retry waits twice as long."},
        {"queue_retry_max", "3600", "Longest wait between two retries (seconds)."},
        {"queue_delay_notice", "14400", "Seconds after which the sender is told once that a message is delayed; 0 = never."},
        {"queue_scan_interval", "5", "Seconds between scans of the queue for due work and valvctl changes."},
        {"sender_checks", "true", "Check SPF, DKIM and DMARC on mail arriving at the MX and add Authentication-Results.", true},
        {"dmarc_enforce", "true", "Act on DMARC: reject (550) or deliver to Junk what a sender's policy says to.", true},
        {"user_send_rate", "1000", "Recipients one user may send to per hour through submission; 0 = no limit."},
        {"auth_failures_per_ip", "10", "Failed logins from one address before it is refused for auth_block_seconds; 0 = never."},
        {"auth_block_seconds", "900", "Seconds an address that failed too many logins is refused."},
        {"log_level", "info", "debug, info, warning or error."},
        {"protocol_trace", "false", "Log raw protocol traffic at debug level (AUTH redacted).", true},
        {"ready_file", "", "When set, written as JSON with the bound ports once valvd listens."},
    };
    return s;
}

Result<Config> Config::load(const QStringList &args, const QHash<QString, QString> &env)
{
    Config c;
    for (const OptionSpec &s : specs())
        c.m_values.insert(s.key, s.defaultValue);
    c.m_file = env.value(QStringLiteral("VALV_CONFIG"));
    for (const OptionSpec &s : specs()) {
        if (env.contains(envName(s.key)))
            c.m_overrides.insert(s.key, env.value(envName(s.key)));
    }
    for (qsizetype i = 0; i < args.size(); ++i) {
        QString arg = args[i];
        if (arg == QLatin1String("--help") || arg == QLatin1String("-h")) {
            c.m_help = true;
            continue;
        }
        if (arg == QLatin1String("--sample-config")) {
            c.m_sample = true;
            continue;
        }
        if (arg == QLatin1String("--version")) {
            c.m_version = true;
            continue;
        }
        QString value;
        bool hasValue = false;
        if (const qsizetype eq = arg.indexOf(u'='); eq > 0) {
            value = arg.mid(eq + 1);
            arg = arg.left(eq);
            hasValue = true;
        }
        if (arg == QLatin1String("--config")) {
            if (!hasValue && i + 1 >= args.size())
                return makeError(1, QStringLiteral("--config needs a file name"));
            c.m_file = hasValue ? value : args[++i];
            continue;
        }
        const OptionSpec *spec = nullptr;
        for (const OptionSpec &s : specs()) {
            if (flagName(s.key) == arg)
                spec = &s;
        }
        if (!spec)
            return makeError(1, QStringLiteral("unknown option %1 (see --help)").arg(arg));
        if (!hasValue) {
            if (spec->isFlag && (i + 1 >= args.size() || args[i + 1].startsWith(QLatin1String("--")))) {
                value = QStringLiteral("true");
            } else if (i + 1 < args.size()) {
                value = args[++i];
            } else {
                return makeError(1, QStringLiteral("%1 needs a value").arg(arg));
            }
        }
        c.m_overrides.insert(spec->key, value);
    }
    if (!c.m_file.isEmpty()) {
        auto file = readFile(c.m_file);
        if (!file)
            return file.error();
        for (auto it = file->cbegin(); it != file->cend(); ++it)
            c.m_values.insert(it.key(), it.value());
    }
    for (auto it = c.m_overrides.cbegin(); it != c.m_overrides.cend(); ++it)
        c.m_values.insert(it.key(), it.value());
    if (auto v = c.validate(); !v)
        return v.error();
    return c;
}

Result<Config> Config::reloaded() const
{
    Config c = *this;
    for (const OptionSpec &s : specs())
        c.m_values.insert(s.key, s.defaultValue);
    if (!m_file.isEmpty()) {
        auto file = readFile(m_file);
        if (!file)
            return file.error();
        for (auto it = file->cbegin(); it != file->cend(); ++it)
            c.m_values.insert(it.key(), it.value());
    }
    for (auto it = m_overrides.cbegin(); it != m_overrides.cend(); ++it)
        c.m_values.insert(it.key(), it.value());
    if (auto v = c.validate(); !v)
        return v.error();
    return c;
}

Result<void> Config::validate() const
{
    for (const OptionSpec &s : specs()) {
        const QString v = m_values.value(s.key);
        if (s.isFlag) {
            if (!QStringList{"true", "false", "yes", "no", "on", "off", "1", "0"}.contains(v.toLower()))
                return makeError(1, QStringLiteral("%1 must be true or false, not '%2'").arg(s.key, v));
            continue;
        }
        bool isNumber = false;
        s.defaultValue.toLongLong(&isNumber);
        if (isNumber) {
            bool ok = false;
            const qint64 n = v.toLongLong(&ok);
            if (!ok || n < 0)
                return makeError(1, QStringLiteral("%1 must be a non-negative number, not '%2'").arg(s.key, v));
            if (s.key.endsWith(QLatin1String("_port")) && n > 65535)
                return makeError(1, QStringLiteral("%1 must be a port number (0-65535)").arg(s.key));
        }
    }
    if (QHostAddress(value(QStringLiteral("listen_address"))).isNull())
        return makeError(1, QStringLiteral("listen_address '%1' is not an IP address").arg(value(QStringLiteral("listen_address"))));
    if (const QString dns = value(QStringLiteral("dns_resolver")); !dns.isEmpty()) {
        // QDnsLookup (Qt 6.4) silently asks the system resolver when given an IPv6
        // nameserver: refuse rather than leak lookups to it.
        const QHostAddress a(dns);
        if (a.isNull() || a.protocol() != QAbstractSocket::IPv4Protocol)
            return makeError(1, QStringLiteral("dns_resolver '%1' must be an IPv4 address").arg(dns));
    }
    if (integer(QStringLiteral("queue_retry_min")) < 1 || integer(QStringLiteral("queue_retry_max")) < integer(QStringLiteral("queue_retry_min")))
        return makeError(1, QStringLiteral("queue_retry_min must be at least 1 and queue_retry_max at least queue_retry_min"));
    if (integer(QStringLiteral("queue_scan_interval")) < 1 || integer(QStringLiteral("remote_concurrency")) < 1)
        return makeError(1, QStringLiteral("queue_scan_interval and remote_concurrency must be at least 1"));
    if (!QStringList{"debug", "info", "warning", "error"}.contains(value(QStringLiteral("log_level"))))
        return makeError(1, QStringLiteral("log_level must be debug, info, warning or error"));
    if (integer(QStringLiteral("max_line_length")) < 1000)
        return makeError(1, QStringLiteral("max_line_length must be at least 1000 (RFC 5321 §4.5.3.1.6)"));
    return {};
}

QString Config::value(const QString &key) const { return m_values.value(key); }
qint64 Config::integer(const QString &key) const { return m_values.value(key).toLongLong(); }
bool Config::flag(const QString &key) const
{
    return QStringList{"true", "yes", "on", "1"}.contains(m_values.value(key).toLower());
}

QString Config::helpText()
{
    QString out = QStringLiteral(
        "Usage: valvd [--config FILE] [--OPTION VALUE ...]\n\n"
        "Valv mail server. Every option below can also be set in the config file as\n"
        "'key = value' and in the environment as VALV_KEY (e.g. VALV_SMTP_PORT=2525).\n"
        "Precedence: command line > environment > config file > default.\n\n"
        "  --config FILE                 config file (env VALV_CONFIG)\n"
        "  --sample-config               print a config file with every key, its default and help\n"
        "  --help, --version\n");
    for (const OptionSpec &s : specs()) {
        QString name = flagName(s.key) + (s.isFlag ? QString() : QStringLiteral(" V"));
        out += QStringLiteral("  %1 %2 [%3]\n").arg(name, -28).arg(s.help, s.defaultValue.isEmpty() ? QStringLiteral("unset") : s.defaultValue);
    }
    return out;
}

QString Config::sampleFile()
{
    QString out = QStringLiteral(
        "# valvd configuration: 'key = value' lines; '#' starts a comment.\n"
        "# Every key can also be set by the environment (VALV_<KEY>) and the command line\n"
        "# (--key-with-dashes); those win over this file. Shown: the defaults.\n"
        "# Generated by 'valvd --sample-config'. SIGHUP re-reads this file (ports need a restart).\n");
    for (const OptionSpec &s : specs())
        out += QStringLiteral("\n# %1\n#%2 = %3\n").arg(s.help, s.key, s.defaultValue);
    return out;
}

} // namespace valv::core
