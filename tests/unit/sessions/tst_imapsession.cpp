// SPDX-License-Identifier: AGPL-3.0-or-later
// ImapSession (RFC 9051) replayed from the transcripts in tests/data/imap/: each file
// is one row, fed as written and again one byte at a time.
#include "imap/imapsession.h"
#include "transcript.h"

#include <QLoggingCategory>
#include <QTest>
#include <QThreadPool>

using namespace valv;

class TestImapSession : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QLoggingCategory::setFilterRules(QStringLiteral("valv.*.info=false\nvalv.*.debug=false"));
        QVERIFY2(!test::transcriptFiles(QStringLiteral("imap")).isEmpty(), "no transcripts in tests/data/imap");
    }

    void cleanupTestCase()
    {
        // Join the pool threads (password checks, deliveries) before exit, so their
        // per-thread OpenSSL state is released while LeakSanitizer is not yet looking.
        QThreadPool::globalInstance()->waitForDone();
    }

    void transcripts_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<bool>("bytewise");
        for (const QString &f : test::transcriptFiles(QStringLiteral("imap"))) {
            const QByteArray name = QFileInfo(f).completeBaseName().toUtf8();
            QTest::newRow(name.constData()) << f << false;
            if (!test::transcriptOption(f, "no-bytewise"))
                QTest::newRow((name + " (byte by byte)").constData()) << f << true;
        }
    }

    void transcripts()
    {
        QFETCH(QString, file);
        QFETCH(bool, bytewise);
        QString error;
        const auto knownBug = test::transcriptOption(file, "known-bug");
        const bool ok = test::replayTranscript(
            file, bytewise,
            [](core::SessionSink *sink, std::shared_ptr<const core::ServerContext> ctx,
               const delivery::LocalDelivery *, bool tlsAvailable) -> std::unique_ptr<core::Session> {
                return std::make_unique<imap::ImapSession>(sink, std::move(ctx), tlsAvailable);
            },
            &error);
        const QByteArray why = "known server bug: " + knownBug.value_or(QString()).toUtf8();
        if (knownBug) {
            if (!ok)
                qInfo().noquote() << error; // what the known bug looks like today
            QEXPECT_FAIL("", why.constData(), Abort);
        }
        QVERIFY2(ok, qPrintable(error));
    }
};

QTEST_GUILESS_MAIN(TestImapSession)
#include "tst_imapsession.moc"
