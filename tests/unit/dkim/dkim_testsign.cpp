// SPDX-License-Identifier: AGPL-3.0-or-later
// Test helper for tests/integration/test_dkim_dkimpy.py (not installed):
//   dkim_testsign DIR DOMAIN TIMESTAMP
// generates an RSA-2048 and an Ed25519 key, writes DIR/{rsa,ed25519}.pem (PKCS#8) and
// DIR/{rsa,ed25519}.txt (the DNS TXT record text), reads the keys back from the PEM
// files, and for every file DIR/in/NAME writes DIR/out/NAME: an Ed25519 then an RSA
// DKIM-Signature (selectors "ed" and "rsa") followed by the input bytes unchanged.
// A message the signer refuses gets DIR/out/NAME.error with the error text instead.
#include "dkim/dkimkey.h"
#include "dkim/dkimsign.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>

#include <cstdio>

using namespace valv::dkim;

namespace {

bool writeFile(const QString &path, const QByteArray &data)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(data) == data.size();
}

int fail(const QString &text)
{
    std::fprintf(stderr, "dkim_testsign: %s\n", qPrintable(text));
    return 1;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    if (args.size() != 4)
        return fail(QStringLiteral("usage: dkim_testsign DIR DOMAIN TIMESTAMP"));
    const QDir dir(args[1]);
    const QByteArray domain = args[2].toUtf8();
    bool ok = false;
    const qint64 timestamp = args[3].toLongLong(&ok);
    if (!ok)
        return fail(QStringLiteral("bad timestamp"));

    struct Signer {
        KeyType type;
        QString name;
        QByteArray selector;
        DkimKey key;
    };
    QList<Signer> signers = {{KeyType::Ed25519, "ed25519", "ed", {}},
                             {KeyType::Rsa, "rsa", "rsa", {}}};
    for (Signer &s : signers) {
        const auto generated = DkimKey::generate(s.type);
        if (!generated)
            return fail(generated.error().message);
        const QString pemPath = dir.filePath(s.name + ".pem");
        if (!writeFile(pemPath, generated->privateKeyPem())
            || !writeFile(dir.filePath(s.name + ".txt"), generated->dnsTxtRecord()))
            return fail(QStringLiteral("cannot write into %1").arg(dir.path()));
        QFile pemFile(pemPath);
        if (!pemFile.open(QIODevice::ReadOnly))
            return fail(QStringLiteral("cannot read %1").arg(pemPath));
        const auto loaded = DkimKey::fromPem(pemFile.readAll());
        if (!loaded)
            return fail(loaded.error().message);
        s.key = *loaded;
    }

    const QDir in(dir.filePath("in"));
    if (!in.exists() || !dir.mkpath("out"))
        return fail(QStringLiteral("DIR/in missing or DIR/out not creatable"));
    const QDir out(dir.filePath("out"));
    int count = 0;
    for (const QString &name : in.entryList(QDir::Files, QDir::Name)) {
        QFile f(in.filePath(name));
        if (!f.open(QIODevice::ReadOnly))
            return fail(QStringLiteral("cannot read %1").arg(name));
        const QByteArray message = f.readAll();
        QByteArray signedMessage;
        QString error;
        for (const Signer &s : signers) {
            const auto field = sign(message, domain, s.selector, s.key, timestamp);
            if (!field) {
                error = field.error().message;
                break;
            }
            signedMessage += *field;
        }
        if (!error.isEmpty()) {
            if (!writeFile(out.filePath(name + ".error"), error.toUtf8()))
                return fail(QStringLiteral("cannot write %1.error").arg(name));
            continue;
        }
        if (!writeFile(out.filePath(name), signedMessage + message))
            return fail(QStringLiteral("cannot write %1").arg(name));
        ++count;
    }
    std::printf("signed %d messages\n", count);
    return 0;
}
