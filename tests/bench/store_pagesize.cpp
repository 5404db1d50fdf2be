// SPDX-License-Identifier: AGPL-3.0-or-later
// Measures MailStore with each SQLCipher cipher_page_size: durable appends of 10 KB
// messages (one fsync'd commit each, as delivery does), full reads of every message,
// flag updates, and the file size. Usage: store_pagesize [messages] [dir]
#include "store/crypto.h"
#include "store/mailstore.h"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QTemporaryDir>

#include <cstdio>

using namespace valv::store;

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const int n = argc > 1 ? atoi(argv[1]) : 500;
    QTemporaryDir tmp(argc > 2 ? QString::fromLocal8Bit(argv[2]) + "/pagesize-XXXXXX" : QString());
    const QByteArray key = randomBytes(32);
    QByteArray body;
    while (body.size() < 10 * 1024)
        body += "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\r\n";
    printf("messages=%d size=%lld bytes each\n", n, qlonglong(body.size()));
    printf("%-10s %12s %12s %12s %12s %12s\n", "page", "append/s", "read MB/s", "read msg/s", "flags/s", "file KB");
    for (int page : {1024, 4096, 16384, 65536}) {
        const QString path = QDir(tmp.path()).filePath(QStringLiteral("p%1.db").arg(page));
        DbOptions opts;
        opts.cipherPageSize = page;
        auto store = MailStore::open(path, key, true, opts);
        if (!store) {
            fprintf(stderr, "open: %s\n", qPrintable(store.error().message));
            return 1;
        }
        NewMessage m;
        m.envelope = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)";
        m.bodyStructure = m.body = "(\"text\" \"plain\" NIL NIL NIL \"7bit\" 10240 128)";
        QElapsedTimer t;
        t.start();
        for (int i = 0; i < n; ++i) {
            m.raw = "Subject: message " + QByteArray::number(i) + "\r\n\r\n" + body;
            if (!(*store)->append(QStringLiteral("INBOX"), m)) {
                fprintf(stderr, "append failed\n");
                return 1;
            }
        }
        const double appendS = t.nsecsElapsed() / 1e9;
        const qint64 folder = (*store)->folder(QStringLiteral("INBOX"))->id;
        store->reset(); // cold-ish reads: a fresh connection, empty page cache
        store = MailStore::open(path, key, true, opts);
        t.restart();
        qint64 bytes = 0;
        const auto metas = (*store)->messages(folder);
        for (const MessageMeta &meta : *metas)
            bytes += (*store)->raw(folder, meta.uid)->size();
        const double readS = t.nsecsElapsed() / 1e9;
        t.restart();
        for (int uid = 1; uid <= n; ++uid)
            (void)(*store)->setFlags(folder, uint32_t(uid), {"\\Seen"});
        const double flagS = t.nsecsElapsed() / 1e9;
        store->reset();
        printf("%-10d %12.0f %12.1f %12.0f %12.0f %12lld\n", page, n / appendS, bytes / 1e6 / readS, n / readS, n / flagS,
               QFileInfo(path).size() / 1024 + QFileInfo(path + "-wal").size() / 1024);
    }
    return 0;
}
