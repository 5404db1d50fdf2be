// SPDX-License-Identifier: AGPL-3.0-or-later
#include "store/keyring.h"

#include "store/crypto.h"

#include <QDir>
#include <QFile>
#include <QSaveFile>

namespace valv::store {

namespace {
constexpr char kSalt[] = "valv key hierarchy";
}

QString KeyRing::masterKeyPath(const QString &dataDir)
{
    const QByteArray env = qgetenv("VALV_MASTER_KEY_FILE");
    return env.isEmpty() ? QDir(dataDir).filePath(QStringLiteral("master.key")) : QString::fromLocal8Bit(env);
}

KeyRing KeyRing::fromMasterKey(const QByteArray &masterKey)
{
    KeyRing k;
    k.m_configKey = hkdfSha256(masterKey, kSalt, "config.db v1");
    k.m_wrapKey = hkdfSha256(masterKey, kSalt, "mailbox key wrap v1");
    k.m_queueKey = hkdfSha256(masterKey, kSalt, "queue.db v1");
    return k;
}

Result<KeyRing> KeyRing::load(const QString &dataDir)
{
    QFile f(masterKeyPath(dataDir));
    if (!f.open(QIODevice::ReadOnly))
        return makeError(1, QStringLiteral("cannot read master key %1: %2").arg(f.fileName(), f.errorString()));
    QByteArray key = f.read(1024).trimmed();
    if (key.size() == 64) // hex form, as a Docker secret may hold it
        key = QByteArray::fromHex(key);
    if (key.size() != kKeySize)
        return makeError(1, QStringLiteral("master key %1 must hold 32 bytes (or 64 hex digits)").arg(f.fileName()));
    return fromMasterKey(key);
}

Result<KeyRing> KeyRing::create(const QString &dataDir)
{
    const QString path = masterKeyPath(dataDir);
    if (QFile::exists(path))
        return makeError(1, QStringLiteral("%1 already exists").arg(path));
    const QByteArray key = randomBytes(kKeySize);
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly))
        return makeError(1, QStringLiteral("cannot write %1: %2").arg(path, f.errorString()));
    f.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    f.write(key.toHex() + '\n');
    if (!f.commit())
        return makeError(1, QStringLiteral("cannot write %1: %2").arg(path, f.errorString()));
    QFile::setPermissions(path, QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    return fromMasterKey(key);
}

} // namespace valv::store
