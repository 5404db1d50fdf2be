// SPDX-License-Identifier: AGPL-3.0-or-later
#include "core/tls.h"

#include <QCryptographicHash>
#include <QFile>
#include <QSslCipher>
#include <QSslKey>

namespace valv::core {

namespace {
// TLS 1.2 suites with ECDHE and AEAD (Mozilla "intermediate"); TLS 1.3 suites are all AEAD.
const QStringList kCipherNames = {
    "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
};
} // namespace

Result<QSslConfiguration> TlsContext::load(const QString &certPath, const QString &keyPath)
{
    QFile certFile(certPath);
    if (!certFile.open(QIODevice::ReadOnly))
        return makeError(1, QStringLiteral("cannot read TLS certificate %1: %2").arg(certPath, certFile.errorString()));
    const QList<QSslCertificate> chain = QSslCertificate::fromData(certFile.readAll(), QSsl::Pem);
    if (chain.isEmpty())
        return makeError(1, QStringLiteral("%1 holds no PEM certificate").arg(certPath));
    QFile keyFile(keyPath);
    if (!keyFile.open(QIODevice::ReadOnly))
        return makeError(1, QStringLiteral("cannot read TLS key %1: %2").arg(keyPath, keyFile.errorString()));
    const QByteArray keyPem = keyFile.readAll();
    QSslKey key(keyPem, QSsl::Ec, QSsl::Pem);
    if (key.isNull())
        key = QSslKey(keyPem, QSsl::Rsa, QSsl::Pem);
    if (key.isNull())
        return makeError(1, QStringLiteral("%1 holds no usable PEM private key (EC or RSA)").arg(keyPath));

    QSslConfiguration c = QSslConfiguration::defaultConfiguration();
    c.setLocalCertificate(chain.first());
    c.setLocalCertificateChain(chain);
    c.setPrivateKey(key);
    c.setProtocol(QSsl::TlsV1_2OrLater);
    c.setPeerVerifyMode(QSslSocket::VerifyNone); // clients authenticate with passwords, not certificates
    QList<QSslCipher> ciphers;
    for (const QSslCipher &cipher : QSslConfiguration::supportedCiphers()) {
        if (kCipherNames.contains(cipher.name()))
            ciphers.append(cipher);
    }
    if (ciphers.isEmpty())
        return makeError(1, QStringLiteral("the TLS library offers none of the allowed ciphers"));
    c.setCiphers(ciphers);
    return c;
}

QString TlsContext::fingerprint(const QSslConfiguration &config)
{
    const QByteArray d = config.localCertificate().digest(QCryptographicHash::Sha256).toHex().toUpper();
    QStringList parts;
    for (qsizetype i = 0; i < d.size(); i += 2)
        parts << QString::fromLatin1(d.mid(i, 2));
    return parts.join(u':');
}

void TlsContext::set(const QSslConfiguration &config)
{
    QWriteLocker lock(&m_lock);
    m_config = config;
}

QSslConfiguration TlsContext::current() const
{
    QReadLocker lock(&m_lock);
    return m_config;
}

} // namespace valv::core
