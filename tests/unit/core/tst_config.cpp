// SPDX-License-Identifier: AGPL-3.0-or-later
#include "core/config.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

using valv::core::Config;

class TestConfig : public QObject {
    Q_OBJECT
private slots:
    void defaults();
    void precedence();
    void flags_data();
    void flags();
    void invalid_data();
    void invalid();
    void reload();
    void shippedFileIsCurrent();
};

static QString writeFile(QTemporaryDir &dir, const QByteArray &content)
{
    const QString path = dir.filePath("valvd.conf");
    QFile f(path);
    f.open(QIODevice::WriteOnly);
    f.write(content);
    return path;
}

void TestConfig::defaults()
{
    auto c = Config::load({}, {});
    QVERIFY(c.ok());
    QCOMPARE(c->value("smtp_port"), QString("25"));
    QCOMPARE(c->integer("imaps_port"), 993);
    QCOMPARE(c->value("listen_address"), QString("127.0.0.1"));
    QVERIFY(!c->flag("allow_plaintext_auth"));
    for (const auto &spec : Config::specs())
        QVERIFY2(Config::helpText().contains("--" + QString(spec.key).replace('_', '-')), qPrintable(spec.key));
}

void TestConfig::precedence()
{
    QTemporaryDir dir;
    const QString file = writeFile(dir, "# comment\nsmtp_port = 2000\nimap-port=3000\nhostname = \"mx.example.org\"\n"
                                        "imaps_port = 4000\n");
    auto c = Config::load({"--config", file, "--imap-port", "3001", "--hostname=cli.example"},
                          {{"VALV_SMTP_PORT", "2001"}, {"VALV_IMAP_PORT", "3002"}});
    QVERIFY2(c.ok(), c.ok() ? "" : qPrintable(c.error().message));
    QCOMPARE(c->integer("smtp_port"), 2001);     // env over file
    QCOMPARE(c->integer("imap_port"), 3001);     // args over env
    QCOMPARE(c->integer("imaps_port"), 4000);    // file over default
    QCOMPARE(c->value("hostname"), QString("cli.example"));
    QCOMPARE(c->configFile(), file);
    // VALV_CONFIG names the file too.
    auto e = Config::load({}, {{"VALV_CONFIG", file}});
    QCOMPARE(e->integer("smtp_port"), 2000);
}

void TestConfig::flags_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<bool>("expected");
    QTest::newRow("bare") << QStringList{"--allow-plaintext-auth"} << true;
    QTest::newRow("bare, then option") << QStringList{"--allow-plaintext-auth", "--smtp-port", "1"} << true;
    QTest::newRow("=false") << QStringList{"--allow-plaintext-auth=false"} << false;
    QTest::newRow("value yes") << QStringList{"--allow-plaintext-auth", "yes"} << true;
    QTest::newRow("absent") << QStringList{} << false;
}

void TestConfig::flags()
{
    QFETCH(QStringList, args);
    QFETCH(bool, expected);
    auto c = Config::load(args, {});
    QVERIFY2(c.ok(), c.ok() ? "" : qPrintable(c.error().message));
    QCOMPARE(c->flag("allow_plaintext_auth"), expected);
}

void TestConfig::invalid_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QByteArray>("file");
    QTest::addColumn<QString>("message");
    QTest::newRow("unknown flag") << QStringList{"--nope", "1"} << QByteArray() << "unknown option";
    QTest::newRow("missing value") << QStringList{"--smtp-port"} << QByteArray() << "needs a value";
    QTest::newRow("port not a number") << QStringList{"--smtp-port", "abc"} << QByteArray() << "non-negative number";
    QTest::newRow("port too big") << QStringList{"--smtp-port", "70000"} << QByteArray() << "port number";
    QTest::newRow("bad address") << QStringList{"--listen-address", "localhost"} << QByteArray() << "not an IP address";
    QTest::newRow("bad level") << QStringList{"--log-level", "loud"} << QByteArray() << "log_level";
    QTest::newRow("bad flag value") << QStringList{"--allow-plaintext-auth", "maybe"} << QByteArray() << "true or false";
    QTest::newRow("tiny line limit") << QStringList{"--max-line-length", "100"} << QByteArray() << "at least 1000";
    QTest::newRow("unknown key in file") << QStringList{} << QByteArray("colour = blue\n") << "unknown key";
    QTest::newRow("no equals in file") << QStringList{} << QByteArray("smtp_port 25\n") << "expected 'key = value'";
    QTest::newRow("missing file") << QStringList{"--config", "/nonexistent/valvd.conf"} << QByteArray() << "cannot read";
}

void TestConfig::invalid()
{
    QFETCH(QStringList, args);
    QFETCH(QByteArray, file);
    QFETCH(QString, message);
    QTemporaryDir dir;
    if (!file.isEmpty())
        args << "--config" << writeFile(dir, file);
    auto c = Config::load(args, {});
    QVERIFY(!c.ok());
    QVERIFY2(c.error().message.contains(message), qPrintable(c.error().message));
}

void TestConfig::reload()
{
    QTemporaryDir dir;
    const QString file = writeFile(dir, "hostname = one.example\nmax_recipients = 5\n");
    auto c = Config::load({"--config", file, "--max-recipients", "7"}, {});
    QCOMPARE(c->value("hostname"), QString("one.example"));
    writeFile(dir, "hostname = two.example\nmax_recipients = 9\n");
    auto r = c->reloaded();
    QVERIFY(r.ok());
    QCOMPARE(r->value("hostname"), QString("two.example"));
    QCOMPARE(r->integer("max_recipients"), 7); // the command line still wins
    writeFile(dir, "hostname two.example\n");
    QVERIFY(!c->reloaded().ok()); // a broken file is refused, the caller keeps the old config
}

void TestConfig::shippedFileIsCurrent()
{
    // resources/valvd.conf is the documented config file; it must list every key.
    QFile f(VALV_SOURCE_DIR "/resources/valvd.conf");
    QVERIFY(f.open(QIODevice::ReadOnly));
    QCOMPARE(QString::fromUtf8(f.readAll()), Config::sampleFile());
}

QTEST_GUILESS_MAIN(TestConfig)
#include "tst_config.moc"
