// SPDX-License-Identifier: AGPL-3.0-or-later
// Messages are indexed for search after they are stored, in batches (delivery/prepare.h).
#include "delivery/prepare.h"
#include "store/configstore.h"
#include "store/crypto.h"

#include <QTemporaryDir>
#include <QTest>

using namespace valv;

class TestSearchIndexing : public QObject {
    Q_OBJECT
private slots:
    void init();
    void batchesStartAtTheThreshold();
    void documentMatchesWhatSearchReads();
    void preparedMessageKnowsItsSizes();

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<store::ConfigStore> m_config;
    std::unique_ptr<store::MailStoreOpener> m_opener;
    store::User m_user;

    int waiting() { return *(*m_opener->cached(m_user.id))->indexPending(delivery::searchDocument, 0); }
    QList<uint32_t> find(store::TextField field, const QString &needle)
    {
        store::MailStore *mail = *m_opener->cached(m_user.id);
        return *mail->textSearch(mail->folder("INBOX")->id, field, needle);
    }
};

void TestSearchIndexing::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    m_config = std::move(*store::ConfigStore::open(m_dir->path(), store::KeyRing::fromMasterKey(QByteArray(32, 's')), true));
    (void)m_config->addDomain("example.test");
    m_user = *m_config->addUser("u@example.test", "h");
    m_opener = std::make_unique<store::MailStoreOpener>(m_dir->path(), m_config.get());
}

void TestSearchIndexing::batchesStartAtTheThreshold()
{
    store::MailStore *mail = *m_opener->cached(m_user.id);
    auto append = [&](int i) {
        const QByteArray raw = "From: sender" + QByteArray::number(i) + "@example.org\r\nSubject: note " + QByteArray::number(i)
            + "\r\n\r\nbody text number " + QByteArray::number(i) + " with a marker-word\r\n";
        QVERIFY(mail->append("INBOX", delivery::prepareMessage(raw, {}, QDateTime::currentDateTimeUtc())).ok());
    };
    for (int i = 1; i < delivery::kIndexBatchAt; ++i)
        append(i);
    QCOMPARE(waiting(), delivery::kIndexBatchAt - 1);
    QVERIFY(delivery::indexWaiting(m_opener.get(), m_user.id)); // below the threshold: waits
    QCOMPARE(waiting(), delivery::kIndexBatchAt - 1);
    QVERIFY(find(store::TextField::Body, "marker-word").isEmpty());
    append(delivery::kIndexBatchAt);
    QVERIFY(delivery::indexWaiting(m_opener.get(), m_user.id));
    QCOMPARE(waiting(), 0);
    QCOMPARE(find(store::TextField::Body, "marker-word").size(), delivery::kIndexBatchAt);
    append(100);
    QVERIFY(delivery::indexWaiting(m_opener.get(), m_user.id, true)); // forced: even one
    QCOMPARE(waiting(), 0);
    QCOMPARE(find(store::TextField::Subject, "note 100"), QList<uint32_t>{uint32_t(delivery::kIndexBatchAt + 1)});
}

void TestSearchIndexing::documentMatchesWhatSearchReads()
{
    const QByteArray raw =
        "From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.org>\r\n"
        "To: alice@example.test, bob@example.test\r\n"
        "Subject: =?UTF-8?Q?Caf=C3=A9_menu?=\r\n"
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        "caf=E9 au lait\r\n"
        "--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + QByteArray("secretword").toBase64() + "\r\n--b--\r\n";
    store::MailStore *mail = *m_opener->cached(m_user.id);
    QVERIFY(mail->append("INBOX", delivery::prepareMessage(raw, {}, QDateTime::currentDateTimeUtc())).ok());
    QVERIFY(delivery::indexWaiting(m_opener.get(), m_user.id, true));
    using F = store::TextField;
    const QList<uint32_t> one{1}, none;
    QCOMPARE(find(F::Body, QString::fromUtf8("CAFÉ AU")), one);        // decoded charset, folded case
    QCOMPARE(find(F::Body, "secretword"), none);                        // attachments are not text
    QCOMPARE(find(F::From, "Q?Andr=E9"), none);                         // the decoded value, not the raw line
    QCOMPARE(find(F::From, QString::fromUtf8("andré <andre@")), one);
    QCOMPARE(find(F::Subject, QString::fromUtf8("é me")), one);
    QCOMPARE(find(F::To, "test, bob"), one);                            // one To: field, as written
    QCOMPARE(find(F::Any, "content-type"), one);                        // TEXT covers header names
    QCOMPARE(find(F::Body, "content-type"), none);
}

void TestSearchIndexing::preparedMessageKnowsItsSizes()
{
    // Header length (through the blank line) and the size with CRLF line ends: two bare
    // LFs and a last line without any line end add 1 + 1 + 2 octets.
    const QByteArray raw = "Subject: x\r\n\r\nline one\nline two\r\nline three\nend";
    const store::NewMessage m = delivery::prepareMessage(raw, {}, QDateTime::currentDateTimeUtc());
    QCOMPARE(m.headerLength, qint64(QByteArray("Subject: x\r\n\r\n").size()));
    QCOMPARE(m.crlfSize, qint64(raw.size() + 4));
    // Indexed later, in a batch: stored, it waits.
    QVERIFY((*m_opener->cached(m_user.id))->append("INBOX", m).ok());
    QCOMPARE(waiting(), 1);
}

QTEST_GUILESS_MAIN(TestSearchIndexing)
#include "tst_searchindexing.moc"
