// SPDX-License-Identifier: AGPL-3.0-or-later
// SmtpSession (RFC 5321 MX, RFC 6409 submission) and ImapSession (RFC 9051) replayed
// from the transcripts in tests/data/smtp/, tests/data/submission/ and tests/data/imap/:
// each file is one row, fed as written and again one byte at a time.
//
// Submission transcripts run against a real Submitter over a real QueueStore in the
// replay's data dir, and may use these directives besides the shared ones:
//   !dkim DOMAIN               give DOMAIN its DKIM keys (DomainSigner::provision)
//   !queue N [ADDRESS...]      the queue holds N messages; with addresses, the newest
//                              one's recipients are exactly these, in RCPT order
//   !queued + | block          the newest queued message ends with the block
//   !queued-exact + | block    the newest queued message is the block ("{*}" allowed)
//   !queued-envelope KEY=VALUE...  fields of the newest queued message: sender, user,
//                              envid, ret, requiretls, smtputf8, eightbit (0/1), size
//   !queued-rcpt ADDRESS KEY=VALUE...  a recipient of the newest queued message:
//                              domain, notify, orcpt, state, attempts
//   !queued-dkim DOMAIN        the newest queued message starts with one valid
//                              DKIM-Signature per key of DOMAIN (d=, s=, a=, bh= and b=
//                              checked against the stored keys)
//   !queued-no-dkim            it has no DKIM-Signature
#include "dkim/canonicalize.h"
#include "dkim/dkimkey.h"
#include "dkim/dkimsign.h"
#include "imap/imapsession.h"
#include "mime/headerfields.h"
#include "outbound/signer.h"
#include "outbound/submitter.h"
#include "smtp/smtpsession.h"
#include "store/queuestore.h"
#include "transcript.h"

#include <QCryptographicHash>
#include <QLoggingCategory>
#include <QRegularExpression>
#include <QTest>
#include <QThreadPool>

#include <openssl/evp.h>

using namespace valv;

namespace {
const QStringList kProtocols = {QStringLiteral("smtp"), QStringLiteral("submission"), QStringLiteral("imap")};

using Outcome = test::ReplayExtension::Outcome;

// The tags of a DKIM-Signature value (RFC 6376 §3.2), folding white space removed.
QHash<QByteArray, QByteArray> dkimTags(QByteArray value)
{
    value.replace("\r\n", "");
    QHash<QByteArray, QByteArray> tags;
    for (const QByteArray &part : value.split(';')) {
        const qsizetype eq = part.indexOf('=');
        if (eq < 0)
            continue;
        QByteArray v = part.mid(eq + 1);
        v.replace(' ', "").replace('\t', "");
        tags.insert(part.left(eq).trimmed(), v);
    }
    return tags;
}

// Verifies one DKIM-Signature of `message` with `key` (RFC 6376 §6.1.3): the body hash
// and the signature over the h= fields plus the signature field with b= emptied.
bool verifyDkim(const QByteArray &message, const dkim::HeaderField &sigField, const dkim::DkimKey &key,
                QString *why)
{
    dkim::SplitMessage split;
    if (!dkim::splitMessage(QByteArrayView(message), &split)) {
        *why = QStringLiteral("the queued message's header does not parse");
        return false;
    }
    const auto tags = dkimTags(sigField.value.toByteArray());
    if (tags.value("bh") != dkim::bodyHashRelaxed(split.body)) {
        *why = QStringLiteral("bh= is not the hash of the queued body");
        return false;
    }
    QList<QByteArray> names;
    for (const QByteArray &n : tags.value("h").split(':'))
        names.append(n.trimmed().toLower());
    if (!names.contains("from")) {
        *why = QStringLiteral("h= does not cover From");
        return false;
    }
    static const QRegularExpression emptyB(QStringLiteral("(^|;)(\\s*b\\s*=)[^;]*"));
    QString text = QString::fromLatin1(sigField.value.toByteArray());
    text.replace(emptyB, QStringLiteral("\\1\\2"));
    const QByteArray sigHeader = sigField.name.toByteArray() + ':' + text.toLatin1();
    const QByteArray data = dkim::signedData(split.fields, names, sigHeader);
    const QByteArray signature = QByteArray::fromBase64(tags.value("b"));
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    int ok = 0;
    if (key.type() == dkim::KeyType::Ed25519) {
        // RFC 8463 §3: PureEdDSA over the SHA-256 of the data.
        const QByteArray digest = QCryptographicHash::hash(data, QCryptographicHash::Sha256);
        ok = EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.pkey()) == 1
            && EVP_DigestVerify(ctx.get(), reinterpret_cast<const uchar *>(signature.constData()), size_t(signature.size()),
                                reinterpret_cast<const uchar *>(digest.constData()), size_t(digest.size()))
                == 1;
    } else {
        ok = EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.pkey()) == 1
            && EVP_DigestVerify(ctx.get(), reinterpret_cast<const uchar *>(signature.constData()), size_t(signature.size()),
                                reinterpret_cast<const uchar *>(data.constData()), size_t(data.size()))
                == 1;
    }
    if (!ok)
        *why = QStringLiteral("b= does not verify");
    return ok;
}

class SubmissionExtension : public test::ReplayExtension {
public:
    bool setUp(const test::ReplayEnv &env, QString *error) override
    {
        m_env = env;
        auto queue = store::QueueStore::open(env.dataDir, env.keys);
        if (!queue) {
            *error = QStringLiteral("QueueStore::open: ") + queue.error().message;
            return false;
        }
        m_queue = std::move(*queue);
        m_submitter = std::make_unique<outbound::Submitter>(m_queue.get(), env.delivery, env.config);
        return true;
    }

    void tearDown() override
    {
        m_submitter.reset();
        m_queue.reset();
    }

    outbound::Submitter *submitter() const { return m_submitter.get(); }

    Outcome directive(const QList<QByteArray> &w, const QList<QByteArray> &block, bool started, QString *error) override
    {
        Q_UNUSED(started);
        const QByteArray &d = w[0];
        auto failed = [&](const QString &why) {
            *error = why;
            return Outcome::Failed;
        };
        if (d == "dkim" && w.size() == 2) {
            auto keys = outbound::DomainSigner::provision(*m_env.config, QString::fromUtf8(w[1]));
            if (!keys)
                return failed(QStringLiteral("provision: ") + keys.error().message);
            return Outcome::Passed;
        }
        if (d == "queue" && w.size() >= 2) {
            auto all = m_queue->list();
            if (!all)
                return failed(QStringLiteral("list: ") + all.error().message);
            if (all->size() != w[1].toInt())
                return failed(QStringLiteral("the queue holds %1 messages, expected %2")
                                  .arg(all->size())
                                  .arg(QString::fromUtf8(w[1])));
            if (w.size() > 2) {
                QStringList want, got;
                for (qsizetype i = 2; i < w.size(); ++i)
                    want << QString::fromUtf8(w[i]);
                for (const store::QueueRecipient &r : all->last().recipients)
                    got << r.address;
                if (got != want)
                    return failed(QStringLiteral("queued recipients are %1, expected %2")
                                      .arg(got.join(u' '), want.join(u' ')));
            }
            return Outcome::Passed;
        }
        if (d != "queued" && d != "queued-exact" && d != "queued-envelope" && d != "queued-rcpt" && d != "queued-dkim"
            && d != "queued-no-dkim")
            return Outcome::Unknown;

        auto all = m_queue->list();
        if (!all)
            return failed(QStringLiteral("list: ") + all.error().message);
        if (all->isEmpty())
            return failed(QStringLiteral("the queue is empty"));
        const store::QueueEntry e = all->last();
        auto body = m_queue->body(e.id);
        if (!body)
            return failed(QStringLiteral("body: ") + body.error().message);

        if (d == "queued" || d == "queued-exact") {
            const QByteArray want = [&] {
                QByteArray out;
                for (const QByteArray &l : block)
                    out += l + "\r\n";
                return out;
            }();
            const bool ok = d == "queued" ? body->endsWith(want) : test::lineMatches(want, *body);
            if (!ok)
                return failed(QStringLiteral("queued message differs\n  queued:   %1\n  expected: %2")
                                  .arg(test::printable(*body), test::printable(want)));
            return Outcome::Passed;
        }
        if (d == "queued-envelope" || d == "queued-rcpt") {
            QHash<QByteArray, QString> actual;
            qsizetype first = 1;
            if (d == "queued-envelope") {
                actual = {{"sender", e.sender},
                          {"user", e.user},
                          {"envid", e.envid},
                          {"ret", e.ret},
                          {"requiretls", QString::number(e.requireTls)},
                          {"smtputf8", QString::number(e.smtpUtf8)},
                          {"eightbit", QString::number(e.eightBit)},
                          {"size", QString::number(e.size)}};
                if (e.size != body->size())
                    return failed(QStringLiteral("size %1 but the body has %2 bytes").arg(e.size).arg(body->size()));
            } else {
                if (w.size() < 2)
                    return failed(QStringLiteral("!queued-rcpt needs an address"));
                first = 2;
                const QString address = QString::fromUtf8(w[1]);
                auto it = std::find_if(e.recipients.begin(), e.recipients.end(),
                                       [&](const store::QueueRecipient &r) { return r.address == address; });
                if (it == e.recipients.end())
                    return failed(QStringLiteral("%1 is not a recipient of the newest queued message").arg(address));
                actual = {{"domain", it->domain},
                          {"notify", it->notify},
                          {"orcpt", it->orcpt},
                          {"state", QString::number(int(it->state))},
                          {"attempts", QString::number(it->attempts)}};
            }
            for (qsizetype i = first; i < w.size(); ++i) {
                const qsizetype eq = w[i].indexOf('=');
                const QByteArray key = w[i].left(eq);
                if (eq < 0 || !actual.contains(key))
                    return failed(QStringLiteral("bad check '%1'").arg(QString::fromUtf8(w[i])));
                const QString want = QString::fromUtf8(w[i].mid(eq + 1));
                if (actual.value(key) != want)
                    return failed(QStringLiteral("%1 is '%2', expected '%3'")
                                      .arg(QString::fromUtf8(key), actual.value(key), want));
            }
            return Outcome::Passed;
        }
        // The signatures come first, one per key in the order the store lists them.
        dkim::SplitMessage split;
        const QByteArray message = *body;
        if (!dkim::splitMessage(QByteArrayView(message), &split))
            return failed(QStringLiteral("the queued message's header does not parse"));
        QList<dkim::HeaderField> signatures;
        for (const dkim::HeaderField &f : split.fields) {
            if (f.name.toByteArray().trimmed().compare("DKIM-Signature", Qt::CaseInsensitive) == 0)
                signatures.append(f);
        }
        if (d == "queued-no-dkim") {
            if (!signatures.isEmpty())
                return failed(QStringLiteral("the queued message has %1 DKIM-Signature fields").arg(signatures.size()));
            return Outcome::Passed;
        }
        if (w.size() != 2)
            return failed(QStringLiteral("!queued-dkim needs a domain"));
        const QString domain = QString::fromUtf8(w[1]);
        auto keys = m_env.config->dkimKeys(domain);
        if (!keys)
            return failed(QStringLiteral("dkimKeys: ") + keys.error().message);
        if (keys->isEmpty())
            return failed(QStringLiteral("%1 has no DKIM keys").arg(domain));
        if (signatures.size() != keys->size())
            return failed(QStringLiteral("%1 DKIM-Signature fields, expected %2").arg(signatures.size()).arg(keys->size()));
        for (qsizetype i = 0; i < keys->size(); ++i) {
            const store::DkimKeyRecord &k = keys->at(i);
            if (split.fields.at(i).name != signatures.at(i).name || split.fields.at(i).value != signatures.at(i).value)
                return failed(QStringLiteral("DKIM-Signature %1 is not at the top of the message").arg(i + 1));
            const auto tags = dkimTags(signatures.at(i).value.toByteArray());
            const QByteArray algorithm = k.algorithm == QLatin1String("ed25519") ? "ed25519-sha256" : "rsa-sha256";
            if (tags.value("d") != domain.toUtf8() || tags.value("s") != k.selector.toUtf8()
                || tags.value("a") != algorithm || tags.value("v") != "1")
                return failed(QStringLiteral("DKIM-Signature %1 has d=%2 s=%3 a=%4, expected d=%5 s=%6 a=%7")
                                  .arg(i + 1)
                                  .arg(QString::fromUtf8(tags.value("d")), QString::fromUtf8(tags.value("s")),
                                       QString::fromUtf8(tags.value("a")), domain, k.selector,
                                       QString::fromLatin1(algorithm)));
            auto key = dkim::DkimKey::fromPem(k.privateKeyPem);
            if (!key)
                return failed(QStringLiteral("fromPem: ") + key.error().message);
            QString why;
            if (!verifyDkim(message, signatures.at(i), *key, &why))
                return failed(QStringLiteral("DKIM-Signature %1 (%2): %3").arg(i + 1).arg(k.selector, why));
        }
        return Outcome::Passed;
    }

private:
    test::ReplayEnv m_env;
    std::unique_ptr<store::QueueStore> m_queue;
    std::unique_ptr<outbound::Submitter> m_submitter;
};

std::unique_ptr<core::Session> makeSession(const QString &protocol, core::SessionSink *sink,
                                           std::shared_ptr<const core::ServerContext> ctx,
                                           const delivery::LocalDelivery *delivery, bool tlsAvailable,
                                           SubmissionExtension *submission)
{
    if (protocol == QLatin1String("smtp"))
        return std::make_unique<smtp::SmtpSession>(sink, std::move(ctx), delivery, tlsAvailable);
    if (protocol == QLatin1String("submission"))
        return std::make_unique<smtp::SmtpSession>(sink, std::move(ctx), delivery, tlsAvailable,
                                                   smtp::SmtpSession::Mode::Submission, submission->submitter());
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
        SubmissionExtension submission;
        const bool isSubmission = protocol == QLatin1String("submission");
        const bool ok = test::replayTranscript(
            file, bytewise,
            [protocol, &submission](core::SessionSink *sink, std::shared_ptr<const core::ServerContext> ctx,
                                    const delivery::LocalDelivery *delivery, bool tlsAvailable) {
                return makeSession(protocol, sink, std::move(ctx), delivery, tlsAvailable, &submission);
            },
            &error, isSubmission ? &submission : nullptr);
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
