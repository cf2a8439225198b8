// `reswatch track` as a user runs it, against a stock fleet seen through nats-server monitoring.
#include "fakestockgateway.h"
#include "natsserver.h"

#include <QDir>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>

using namespace ResWatch;

namespace {

/// "cid,gid" of every data row of a CSV file, sorted.
QStringList rows(const QByteArray &csv)
{
    QStringList out;
    const QList<QByteArray> lines = csv.split('\n');
    for (int i = 1; i < lines.size(); ++i) {
        const QByteArray line = lines[i].trimmed();
        if (line.isEmpty())
            continue;
        const QList<QByteArray> cells = line.split(',');
        out << QString::fromUtf8(cells.value(0) + ',' + cells.value(1));
    }
    out.sort();
    return out;
}

QStringList truth(FakeStockGateway &gateway, const QString &gid)
{
    QStringList out;
    for (const QByteArray &cid : gateway.cids())
        out << QString::fromLatin1(cid) + QLatin1Char(',') + gid;
    out.sort();
    return out;
}

NatsServer::Options monitored()
{
    NatsServer::Options options;
    options.monitoring = true;
    options.extraConfig = "server_name: n1\n";
    return options;
}

} // namespace

class TestTrackCommand : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void forDurationWritesTheFleet()
    {
        NatsServer server(monitored());
        QVERIFY2(server.start(), qPrintable(server.error()));
        FakeStockGateway a, b;
        QVERIFY(a.open(server.url()));
        QVERIFY(b.open(server.url()));
        for (int i = 0; i < 3; ++i)
            a.connect();
        b.connect();
        QTemporaryDir dir;
        const QString csv = dir.filePath(QStringLiteral("out.csv"));
        QProcess track;
        track.start(QStringLiteral(RESWATCH_EXECUTABLE),
                    { QStringLiteral("track"), QStringLiteral("--nats"), server.url(),
                      QStringLiteral("--monitor"), server.monitorUrl(), QStringLiteral("--for"),
                      QStringLiteral("1s"), QStringLiteral("--csv"), csv });
        QVERIFY(track.waitForFinished(20000));
        QCOMPARE(track.exitCode(), 0);
        QFile file(csv);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QStringList got = rows(file.readAll());
        QCOMPARE(got.size(), 4);
        // The gids are n1/<NATS client id>; each gateway's cids under one gid.
        const QString gidA
            = got.filter(QString::fromLatin1(a.cids().first())).first().section(QLatin1Char(','), 1);
        const QString gidB
            = got.filter(QString::fromLatin1(b.cids().first())).first().section(QLatin1Char(','), 1);
        QVERIFY(gidA.startsWith(QLatin1String("n1/")));
        QVERIFY(gidA != gidB);
        QStringList expected = truth(a, gidA) + truth(b, gidB);
        expected.sort();
        QCOMPARE(got, expected);
    }

    void everyAndSigterm()
    {
        NatsServer server(monitored());
        QVERIFY2(server.start(), qPrintable(server.error()));
        FakeStockGateway a;
        QVERIFY(a.open(server.url()));
        a.connect();
        QTemporaryDir dir;
        const QString out = dir.filePath(QStringLiteral("snapshots"));
        const QString last = dir.filePath(QStringLiteral("last.csv"));
        QProcess track;
        track.start(QStringLiteral(RESWATCH_EXECUTABLE),
                    { QStringLiteral("track"), QStringLiteral("--no-nats"), QStringLiteral("--monitor"),
                      server.monitorUrl(), QStringLiteral("--interval"), QStringLiteral("200ms"),
                      QStringLiteral("--every"), QStringLiteral("500ms"), QStringLiteral("--out"), out,
                      QStringLiteral("--csv"), last });
        QVERIFY(track.waitForStarted());
        QTRY_VERIFY_WITH_TIMEOUT(QDir(out).entryList({ QStringLiteral("reswatch-*.csv") }).size() >= 2,
                                 10000);
        // A new connection shows in the next snapshots; "who was connected at 14:00" is a file name.
        const QByteArray added = a.connect();
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                QStringList files
                    = QDir(out).entryList({ QStringLiteral("reswatch-*.csv") }, QDir::Files, QDir::Name);
                QFile f(QDir(out).filePath(files.last()));
                return f.open(QIODevice::ReadOnly) && f.readAll().contains(added);
            }(),
            10000);
        for (const QString &name : QDir(out).entryList({ QStringLiteral("*") }, QDir::Files))
            QVERIFY2(
                QRegularExpression(QStringLiteral("^reswatch-\\d{8}T\\d{6}Z\\.csv$")).match(name).hasMatch(),
                qPrintable(name)); // no temporary files left: written atomically
        ::kill(pid_t(track.processId()), SIGTERM);
        QVERIFY(track.waitForFinished(10000));
        QCOMPARE(track.exitStatus(), QProcess::NormalExit);
        QCOMPARE(track.exitCode(), 0);
        QFile file(last);
        QVERIFY(file.open(QIODevice::ReadOnly));
        QCOMPARE(rows(file.readAll()).size(), 2);
        QVERIFY(track.readAllStandardError().contains("signal 15"));
    }

    void badArguments_data()
    {
        QTest::addColumn<QStringList>("arguments");
        QTest::addColumn<QString>("message");
        QTest::newRow("bad duration") << QStringList { "--for", "soon" } << "not a duration";
        QTest::newRow("every without out") << QStringList { "--every", "1s" } << "--out";
        QTest::newRow("no-nats without monitor") << QStringList { "--no-nats" } << "--monitor";
        QTest::newRow("bad monitor") << QStringList { "--no-nats", "--monitor", "ftp://x" } << "http";
        QTest::newRow("bad filter") << QStringList { "--filter", "state=bogus" } << "--filter";
    }

    void badArguments()
    {
        QFETCH(QStringList, arguments);
        QFETCH(QString, message);
        QProcess track;
        track.start(QStringLiteral(RESWATCH_EXECUTABLE), QStringList { QStringLiteral("track") } + arguments);
        QVERIFY(track.waitForFinished(10000));
        QVERIFY(track.exitCode() != 0);
        const QString err = QString::fromUtf8(track.readAllStandardError());
        QVERIFY2(err.contains(message), qPrintable(err));
    }

    void natsCredentials_data()
    {
        QTest::addColumn<QByteArray>("authorization");
        QTest::addColumn<QStringList>("arguments");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<QString>("message");
        const QByteArray userPassword = "authorization { user: u, password: p }\n";
        QTest::newRow("user and password") << userPassword << QStringList { "--user", "u", "--password", "p" }
                                           << 0 << "connected to nats://";
        QTest::newRow("wrong password") << userPassword << QStringList { "--user", "u", "--password", "x" }
                                        << 1 << "Authorization Violation";
        QTest::newRow("token") << QByteArray("authorization { token: s3cret }\n")
                               << QStringList { "--token", "s3cret" } << 0 << "connected to nats://";
        QTest::newRow("unreadable creds") << QByteArray() << QStringList { "--creds", "/nonexistent.creds" }
                                          << 2 << "cannot read the credentials file";
    }

    void natsCredentials()
    {
        // The shared NATS options of every command: track used to know only --nats.
        QFETCH(QByteArray, authorization);
        QFETCH(QStringList, arguments);
        QFETCH(int, exitCode);
        QFETCH(QString, message);
        NatsServer::Options options;
        options.extraConfig = authorization;
        NatsServer server(options);
        QVERIFY2(server.start(), qPrintable(server.error()));
        QTemporaryDir dir;
        QProcess track;
        track.start(QStringLiteral(RESWATCH_EXECUTABLE),
                    QStringList { QStringLiteral("track"), QStringLiteral("--nats"), server.url(),
                                  QStringLiteral("--for"), QStringLiteral("500ms"), QStringLiteral("--csv"),
                                  dir.filePath(QStringLiteral("out.csv")) }
                        + arguments);
        QVERIFY(track.waitForFinished(20000));
        const QString err = QString::fromUtf8(track.readAllStandardError());
        QVERIFY2(track.exitCode() == exitCode, qPrintable(err));
        QVERIFY2(err.contains(message), qPrintable(err));
    }

    void unreadableMonitorFails()
    {
        QProcess track;
        track.start(QStringLiteral(RESWATCH_EXECUTABLE),
                    { QStringLiteral("track"), QStringLiteral("--no-nats"), QStringLiteral("--monitor"),
                      QStringLiteral("http://127.0.0.1:1"), QStringLiteral("--for"),
                      QStringLiteral("300ms") });
        QVERIFY(track.waitForFinished(20000));
        QCOMPARE(track.exitCode(), 1);
        QVERIFY(track.readAllStandardError().contains("Connection refused"));
    }
};

QTEST_GUILESS_MAIN(TestTrackCommand)
#include "tst_trackcommand.moc"
