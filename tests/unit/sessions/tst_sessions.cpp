// SPDX-License-Identifier: AGPL-3.0-or-later
// SmtpSession (RFC 5321 MX) and ImapSession (RFC 9051) replayed from the transcripts in
// tests/data/smtp/ and tests/data/imap/: each file is one row, fed as written and again
// one byte at a time.
#include "imap/imapsession.h"
#include "smtp/smtpsession.h"
#include "transcript.h"

#include <QLoggingCategory>
#include <QTest>
#include <QThreadPool>

using namespace valv;

namespace {
const QStringList kProtocols = {QStringLiteral("smtp"), QStringLiteral("imap")};

std::unique_ptr<core::Session> makeSession(const QString &protocol, core::SessionSink *sink,
                                           std::shared_ptr<const core::ServerContext> ctx,
                                           const delivery::LocalDelivery *delivery, bool tlsAvailable)
{
    if (protocol == QLatin1String("smtp"))
        return std::make_unique<smtp::SmtpSession>(sink, std::move(ctx), delivery, tlsAvailable);
    return std::make_unique<imap::ImapSession>(sink, std::move(ctx), tlsAvailable);
}
} // namespace

class TestSessions : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QLoggingCategory::setFilterRules(QStringLiteral("valv.*.info=false\nvalv.*.debug=false"));
        for (const QString &p : kProtocols)
            QVERIFY2(!test::transcriptFiles(p).isEmpty(), qPrintable("no transcripts in tests/data/" + p));
    }

    void cleanupTestCase() { QThreadPool::globalInstance()->waitForDone(); }

    void transcripts_data()
    {
        QTest::addColumn<QString>("protocol");
        QTest::addColumn<QString>("file");
        QTest::addColumn<bool>("bytewise");
        for (const QString &p : kProtocols) {
            for (const QString &f : test::transcriptFiles(p)) {
                const QByteArray name = (p + u'/' + QFileInfo(f).completeBaseName()).toUtf8();
                QTest::newRow(name.constData()) << p << f << false;
                if (!test::transcriptOption(f, "no-bytewise"))
                    QTest::newRow((name + " (byte by byte)").constData()) << p << f << true;
            }
        }
    }

    void transcripts()
    {
        QFETCH(QString, protocol);
        QFETCH(QString, file);
        QFETCH(bool, bytewise);
        QString error;
        const auto knownBug = test::transcriptOption(file, "known-bug");
        const bool ok = test::replayTranscript(
            file, bytewise,
            [protocol](core::SessionSink *sink, std::shared_ptr<const core::ServerContext> ctx,
                       const delivery::LocalDelivery *delivery, bool tlsAvailable) {
                return makeSession(protocol, sink, std::move(ctx), delivery, tlsAvailable);
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

QTEST_GUILESS_MAIN(TestSessions)
#include "tst_sessions.moc"
