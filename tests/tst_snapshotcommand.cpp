// `reswatch snapshot` as a user runs it: the real executable against a real
// nats-server, an emulated gateway with real WebSocket clients authenticated
// through the demo auth service.

#include "gatewaytestsupport.h"

#include "demoauthservice.h"
#include "emulatedgateway.h"

#include <QFile>
#include <QProcess>
#include <QTemporaryDir>

using namespace ResWatch;

namespace {

struct Run
{
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
};

/// Runs `reswatch snapshot ARGS` while the test's event loop keeps the gateway serving.
Run snapshot(const QStringList &arguments)
{
    QProcess process;
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.remove(QStringLiteral("NATS_URL"));
    process.setProcessEnvironment(environment);
    process.start(QStringLiteral(RESWATCH_EXECUTABLE),
                  QStringList { QStringLiteral("snapshot") } + arguments);
    if (!QTest::qWaitFor([&] { return process.state() == QProcess::NotRunning; }, 20000)) {
        process.kill();
        process.waitForFinished();
    }
    return { process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1,
             process.readAllStandardOutput(), process.readAllStandardError() };
}

QByteArrayList dataRows(const QByteArray &csv)
{
    QByteArrayList rows = csv.split('\n');
    rows.removeFirst(); // header
    rows.removeAll(QByteArray());
    std::sort(rows.begin(), rows.end());
    return rows;
}

} // namespace

class TestSnapshotCommand : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(server.start(), qPrintable(server.error()));
        gatewayNats.open(testNatsOptions(server, QStringLiteral("gateway")));
        authNats.open(testNatsOptions(server, QStringLiteral("auth")));
        QVERIFY(waitForNats(gatewayNats));
        QVERIFY(waitForNats(authNats));
        EmulatedGateway::Options options;
        options.gid = QStringLiteral("gw-snap");
        gateway = std::make_unique<EmulatedGateway>(&gatewayNats, options);
        QVERIFY2(gateway->start(), qPrintable(gateway->errorString()));
        auth = std::make_unique<DemoAuthService>(&authNats);
        auth->start();
        QTRY_VERIFY(auth->isRunning());
        const QStringList roles { QStringLiteral("admin"), QStringLiteral("guest"), QStringLiteral("guest") };
        for (int i = 0; i < 3; ++i) {
            clients.push_back(std::make_unique<WsClient>());
            QVERIFY(clients.back()->open(gateway->serverUrl()));
            const auto reply = clients.back()->request(
                1, QStringLiteral("auth.demo.login"),
                QJsonObject { { QStringLiteral("user"), QStringLiteral("user-%1").arg(i) },
                              { QStringLiteral("role"), roles.at(i) } });
            QVERIFY(reply && reply->contains(QLatin1String("result")));
        }
        QTRY_COMPARE(gateway->connectionCount(), 3);
    }

    void writesEveryConnectionToStandardOutput()
    {
        const Run run = snapshot({ QStringLiteral("--nats"), server.url() });
        QVERIFY2(run.exitCode == 0, run.err.constData());
        QVERIFY(run.out.startsWith(
            "cid,gid,state,connected_at,token,tid,remote_addr,token.role,token.user,token.userId\r\n"));
        const QByteArrayList rows = dataRows(run.out);
        QCOMPARE(rows.size(), 3);
        QByteArrayList cids;
        for (const Protocol::ConnectionEntry &entry : gateway->connections())
            cids << entry.cid;
        std::sort(cids.begin(), cids.end());
        for (int i = 0; i < 3; ++i) {
            QVERIFY2(rows.at(i).startsWith(cids.at(i) + ",gw-snap,live,"), rows.at(i).constData());
            QVERIFY2(rows.at(i).contains(",127.0.0.1:"), rows.at(i).constData());
        }
        QVERIFY2(run.err.contains("3 of 3 connection(s) on 1 gateway(s)"), run.err.constData());
    }

    void filtersByTokenIntoAFile()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("admins.csv"));
        const Run run = snapshot({ QStringLiteral("--nats"), server.url(), QStringLiteral("--filter"),
                                   QStringLiteral("role=admin"), QStringLiteral("--csv"), path });
        QVERIFY2(run.exitCode == 0, run.err.constData());
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QByteArrayList rows = dataRows(file.readAll());
        QCOMPARE(rows.size(), 1);
        QVERIFY2(rows.first().contains(",admin,user-0,"), rows.first().constData());
    }

    void failsClearly_data()
    {
        QTest::addColumn<QStringList>("arguments");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<QString>("message");
        QTest::newRow("unreachable server")
            << QStringList { "--nats", "nats://127.0.0.1:1", "--connect-timeout", "1s" } << 1
            << "cannot reach NATS at nats://127.0.0.1:1";
        QTest::newRow("bad filter") << QStringList { "--filter", "role=" } << 2
                                    << "expected a value after '=' at 5";
        QTest::newRow("bad url") << QStringList { "--nats", "http://x" } << 2 << "invalid NATS URL";
        QTest::newRow("bad wait") << QStringList { "--wait", "soon" } << 2 << "bad --wait 'soon'";
        QTest::newRow("unknown option") << QStringList { "--frobnicate" } << 2 << "frobnicate";
    }
    void failsClearly()
    {
        QFETCH(QStringList, arguments);
        QFETCH(int, exitCode);
        QFETCH(QString, message);
        const Run run = snapshot(arguments);
        QCOMPARE(run.exitCode, exitCode);
        QVERIFY2(run.err.contains(message.toUtf8()), run.err.constData());
        QCOMPARE(run.err.count('\n'), 1); // one line
        QVERIFY(run.out.isEmpty());
    }

    void anUnwritableFileLosesNothing()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("missing-dir/x.csv"));
        const Run run = snapshot({ QStringLiteral("--nats"), server.url(), QStringLiteral("--csv"), path });
        QCOMPARE(run.exitCode, 1);
        QVERIFY2(run.err.contains("cannot write " + path.toUtf8()), run.err.constData());
        QVERIFY(!QFile::exists(path));
    }

    void cleanupTestCase()
    {
        clients.clear();
        gateway.reset();
        auth.reset();
    }

private:
    NatsServer server;
    NatsConnection gatewayNats;
    NatsConnection authNats;
    std::unique_ptr<EmulatedGateway> gateway;
    std::unique_ptr<DemoAuthService> auth;
    std::vector<std::unique_ptr<WsClient>> clients;
};

QTEST_GUILESS_MAIN(TestSnapshotCommand)
#include "tst_snapshotcommand.moc"
