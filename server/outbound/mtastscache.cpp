// SPDX-License-Identifier: AGPL-3.0-or-later
#include "outbound/mtastscache.h"

#include <QDateTime>
#include <QLoggingCategory>
#include <QSslConfiguration>
#include <QSslSocket>
#include <QTimer>

#include <memory>

Q_LOGGING_CATEGORY(lcMtaSts, "valv.mtasts")

namespace valv::outbound {

namespace {
qint64 now() { return QDateTime::currentSecsSinceEpoch(); }

// Status, Content-Type and body of an HTTP/1.x response that ended with the connection.
std::optional<QByteArray> policyBody(const QByteArray &response)
{
    const qsizetype end = response.indexOf("\r\n\r\n");
    if (end < 0)
        return std::nullopt;
    const QList<QByteArray> lines = response.left(end).split('\n');
    const QList<QByteArray> status = lines.first().trimmed().split(' ');
    if (status.size() < 2 || !status[0].startsWith("HTTP/1.") || status[1] != "200")
        return std::nullopt;
    bool plain = false;
    for (const QByteArray &l : lines) {
        const qsizetype colon = l.indexOf(':');
        if (colon > 0 && l.left(colon).trimmed().compare("content-type", Qt::CaseInsensitive) == 0)
            plain = l.mid(colon + 1).trimmed().toLower().startsWith("text/plain");
        if (colon > 0 && l.left(colon).trimmed().compare("transfer-encoding", Qt::CaseInsensitive) == 0)
            return std::nullopt; // we asked HTTP/1.0: no chunked bodies
    }
    if (!plain)
        return std::nullopt;
    return response.mid(end + 4);
}
} // namespace

void MtaStsCache::abortFetches()
{
    for (QSslSocket *s : findChildren<QSslSocket *>(Qt::FindDirectChildrenOnly))
        delete s;
}

void MtaStsCache::policyFor(const QString &domain, std::function<void(std::optional<MtaStsPolicy>)> done)
{
    m_resolver->txt(QStringLiteral("_mta-sts.") + domain, [this, domain, done](QList<QByteArray> records, bool ok) {
        const auto cached = m_cache.constFind(domain);
        const bool fresh = cached != m_cache.constEnd() && cached->expires > now();
        std::optional<MtaStsRecord> record;
        for (const QByteArray &txt : records) {
            auto r = parseMtaStsRecord(txt);
            if (!r)
                continue;
            if (record) { // §3.1: more than one record: no policy (but a cached one stays in force)
                record.reset();
                break;
            }
            record = *r;
        }
        if (!record) {
            // No record (or a lookup failure): a cached policy stays in force until it expires.
            if (fresh)
                return done(cached->policy);
            if (!ok)
                qCInfo(lcMtaSts).noquote() << "TXT lookup failed for" << domain;
            return done(std::nullopt);
        }
        if (fresh && cached->id == record->id)
            return done(cached->policy);
        fetch(domain, record->id, done);
    });
}

void MtaStsCache::fetch(const QString &domain, const QString &id, std::function<void(std::optional<MtaStsPolicy>)> done)
{
    const QString host = QStringLiteral("mta-sts.") + domain;
    auto fallback = [this, domain, done](const QString &why) {
        qCInfo(lcMtaSts).noquote() << "policy fetch for" << domain << "failed:" << why;
        const auto cached = m_cache.constFind(domain);
        if (cached != m_cache.constEnd() && cached->expires > now())
            return done(cached->policy);
        done(std::nullopt);
    };
    m_resolver->addresses(host, [this, domain, id, host, done, fallback](QList<QHostAddress> addrs, bool) {
        if (addrs.isEmpty())
            return fallback(QStringLiteral("no address for %1").arg(host));
        auto *socket = new QSslSocket(this);
        auto *timer = new QTimer(socket);
        auto response = std::make_shared<QByteArray>();
        auto finished = std::make_shared<bool>(false);
        QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
        tls.setProtocol(QSsl::TlsV1_2OrLater);
        tls.setCaCertificates(tls.caCertificates() + m_extraCas);
        tls.setPeerVerifyMode(QSslSocket::VerifyPeer);
        socket->setSslConfiguration(tls);
        auto finish = [this, socket, response, finished, domain, id, done, fallback](const QString &error) {
            if (*finished)
                return;
            *finished = true;
            socket->disconnect(this);
            socket->abort();
            socket->deleteLater();
            if (!error.isEmpty())
                return fallback(error);
            const auto body = policyBody(*response);
            if (!body)
                return fallback(QStringLiteral("not a 200 text/plain response"));
            auto policy = parseMtaStsPolicy(*body);
            if (!policy)
                return fallback(policy.error().message);
            m_cache.insert(domain, Cached{id, *policy, now() + policy->maxAgeSeconds});
            qCInfo(lcMtaSts).noquote() << "policy for" << domain << "id" << id << "mode"
                                       << (policy->mode == MtaStsPolicy::Mode::Enforce ? "enforce"
                                           : policy->mode == MtaStsPolicy::Mode::Testing ? "testing" : "none");
            done(*policy);
        };
        timer->setSingleShot(true);
        connect(timer, &QTimer::timeout, this, [finish] { finish(QStringLiteral("timed out")); });
        connect(socket, &QSslSocket::encrypted, this, [socket, host] {
            socket->write("GET /.well-known/mta-sts.txt HTTP/1.0\r\nHost: " + host.toUtf8()
                          + "\r\nUser-Agent: Valv\r\nConnection: close\r\n\r\n");
        });
        connect(socket, &QSslSocket::readyRead, this, [socket, response, finish] {
            *response += socket->readAll();
            if (response->size() > kMaxPolicySize + 16 * 1024)
                finish(QStringLiteral("response too large"));
        });
        connect(socket, &QSslSocket::disconnected, this, [finish] { finish({}); });
        connect(socket, &QSslSocket::errorOccurred, this, [socket, finish](QAbstractSocket::SocketError e) {
            if (e == QAbstractSocket::RemoteHostClosedError)
                return finish({}); // HTTP/1.0: the body ends with the connection
            finish(socket->errorString());
        });
        timer->start(m_timeoutSeconds * 1000);
        socket->connectToHostEncrypted(addrs.first().toString(), 443, host);
    });
}

} // namespace valv::outbound
