// `reswatch gateway` and `reswatch demo-auth` as a user runs them: the real executable.

#include "gatewaytestsupport.h"
#include "natsserver.h"

#include <QProcess>
#include <QRegularExpression>
#include <QTcpServer>
#include <QTest>

#include <csignal>

using namespace ResWatch;

namespace {

// Waits until the process printed a line matching @p pattern; returns the match.
QRegularExpressionMatch waitForOutput(QProcess &process, const QRegularExpression &pattern,
                                      QByteArray *output, int timeoutMs = 10000)
{
    QRegularExpressionMatch match;
    [[maybe_unused]] const bool matched = QTest::qWaitFor(
        [&] {
            *output += process.readAllStandardOutput();
            match = pattern.match(QString::fromLocal8Bit(*output));
            return match.hasMatch() || process.state() == QProcess::NotRunning;
        },
        timeoutMs);
    return match;
}

} // namespace

class TestGatewayCommand : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void sigtermClosesClientsAndExitsZero_data();
    void sigtermClosesClientsAndExitsZero();
    void badArguments_data();
    void badArguments();
    void waitsForUnreachableNats();
    void demoAuthAnswersAndStops();

private:
    QTcpServer m_busy; // holds a port, for the "port in use" case
};

void TestGatewayCommand::initTestCase()
{
    QVERIFY(m_busy.listen(QHostAddress::LocalHost, 0));
}

void TestGatewayCommand::sigtermClosesClientsAndExitsZero_data()
{
    QTest::addColumn<int>("signalNumber");
    QTest::newRow("SIGTERM") << int(SIGTERM);
    QTest::newRow("SIGINT") << int(SIGINT);
}

void TestGatewayCommand::sigtermClosesClientsAndExitsZero()
{
    QFETCH(int, signalNumber);
    NatsServer server;
    QVERIFY2(server.start(), qPrintable(server.error()));
    NatsObserver observer;
    QVERIFY(observer.start(server));

    QProcess gateway;
    gateway.setProcessChannelMode(QProcess::SeparateChannels);
    gateway.start(QStringLiteral(RESWATCH_EXECUTABLE),
                  { QStringLiteral("gateway"), QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"),
                    QStringLiteral("--nats"), server.url(), QStringLiteral("--gid"),
                    QStringLiteral("gw-exe") });
    QVERIFY(gateway.waitForStarted());
    QByteArray output;
    const QRegularExpressionMatch listening
        = waitForOutput(gateway, QRegularExpression(QStringLiteral("listening on (ws://\\S+)")), &output);
    QVERIFY2(listening.hasMatch(), output.constData());
    QVERIFY(output.contains("gw-exe"));
    // Said once NATS is there, even when it was there at once.
    QVERIFY2(
        waitForOutput(gateway, QRegularExpression(QStringLiteral("connected to NATS at nats://")), &output)
            .hasMatch(),
        output.constData());
    QTRY_VERIFY(observer.has("system.start"));

    WsClient client;
    QVERIFY(client.open(QUrl(listening.captured(1))));
    QTRY_VERIFY(!observer.messages.isEmpty() && observer.messages.last().subject.endsWith(".connect"));
    const QByteArray cid = observer.messages.last().subject.split('.').at(1);

    ::kill(pid_t(gateway.processId()), signalNumber);
    QTRY_COMPARE(client.socket.state(), QAbstractSocket::UnconnectedState);
    QCOMPARE(client.socket.closeCode(), QWebSocketProtocol::CloseCodeGoingAway);
    QTRY_COMPARE_WITH_TIMEOUT(gateway.state(), QProcess::NotRunning, 10000);
    QCOMPARE(gateway.exitStatus(), QProcess::NormalExit);
    QVERIFY2(gateway.exitCode() == 0, gateway.readAllStandardError().constData());
    // Flushed before exit: both are on the server by now.
    QTRY_VERIFY(observer.has("system.stop") && observer.has("conn." + cid + ".disconnect"));
    QVERIFY(observer.indexOf("system.stop") < observer.indexOf("conn." + cid + ".disconnect"));
}

void TestGatewayCommand::badArguments_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QString>("message");

    const QString gateway = QStringLiteral("gateway");
    const QString listen = QStringLiteral("--listen");
    QTest::newRow("listen without port") << QStringList { gateway, listen, QStringLiteral("127.0.0.1") } << 2
                                         << QStringLiteral("invalid --listen '127.0.0.1'");
    QTest::newRow("listen port too big") << QStringList { gateway, listen, QStringLiteral("127.0.0.1:99999") }
                                         << 2 << QStringLiteral("invalid --listen");
    QTest::newRow("listen host name") << QStringList { gateway, listen, QStringLiteral("example.org:80") }
                                      << 2 << QStringLiteral("invalid --listen");
    QTest::newRow("port in use") << QStringList { gateway, listen, QStringLiteral("127.0.0.1:%PORT%") } << 1
                                 << QStringLiteral("cannot listen on 127.0.0.1:%PORT%");
    QTest::newRow("auth timeout") << QStringList { gateway, QStringLiteral("--auth-timeout"),
                                                   QStringLiteral("soon") }
                                  << 2 << QStringLiteral("invalid --auth-timeout 'soon'");
    QTest::newRow("NATS URL") << QStringList { gateway, QStringLiteral("--nats"),
                                               QStringLiteral("http://x:1") }
                              << 2 << QStringLiteral("invalid NATS URL");
    QTest::newRow("creds file") << QStringList { gateway, QStringLiteral("--creds"),
                                                 QStringLiteral("/nonexistent") }
                                << 2 << QStringLiteral("cannot read the credentials file /nonexistent");
    QTest::newRow("unknown option") << QStringList { gateway, QStringLiteral("--frobnicate") } << 2
                                    << QStringLiteral("frobnicate");
    QTest::newRow("demo-auth NATS URL")
        << QStringList { QStringLiteral("demo-auth"), QStringLiteral("--nats"), QStringLiteral("ftp://x:1") }
        << 2 << QStringLiteral("invalid NATS URL");
}

void TestGatewayCommand::badArguments()
{
    QFETCH(QStringList, arguments);
    QFETCH(int, exitCode);
    QFETCH(QString, message);
    const QString port = QString::number(m_busy.serverPort());
    arguments.replaceInStrings(QStringLiteral("%PORT%"), port);
    message.replace(QStringLiteral("%PORT%"), port);

    QProcess process;
    process.start(QStringLiteral(RESWATCH_EXECUTABLE), arguments);
    QVERIFY(process.waitForFinished(10000));
    const QString error = QString::fromLocal8Bit(process.readAllStandardError());
    QCOMPARE(process.exitCode(), exitCode);
    QVERIFY2(error.contains(message), qPrintable(error));
    QCOMPARE(error.trimmed().count(QLatin1Char('\n')), 0); // one line
}

void TestGatewayCommand::waitsForUnreachableNats()
{
    // A server process keeps waiting for NATS, and says so.
    QTcpServer closed;
    QVERIFY(closed.listen(QHostAddress::LocalHost, 0));
    const quint16 port = closed.serverPort();
    closed.close();

    QProcess gateway;
    gateway.start(QStringLiteral(RESWATCH_EXECUTABLE),
                  { QStringLiteral("gateway"), QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"),
                    QStringLiteral("--nats"), QStringLiteral("nats://127.0.0.1:%1").arg(port) });
    QVERIFY(gateway.waitForStarted());
    QByteArray error;
    QTRY_VERIFY_WITH_TIMEOUT((error += gateway.readAllStandardError()).contains("waiting for NATS"), 10000);
    QVERIFY2(error.contains(QByteArray::number(port)), error.constData());
    QCOMPARE(gateway.state(), QProcess::Running);
    gateway.terminate();
    QVERIFY(gateway.waitForFinished(10000));
    QCOMPARE(gateway.exitCode(), 0);
}

void TestGatewayCommand::demoAuthAnswersAndStops()
{
    NatsServer server;
    QVERIFY2(server.start(), qPrintable(server.error()));
    NatsObserver observer;
    QVERIFY(observer.start(server, { "conn.>" }));

    QProcess service;
    service.start(QStringLiteral(RESWATCH_EXECUTABLE),
                  { QStringLiteral("demo-auth"), QStringLiteral("--nats"), server.url(),
                    QStringLiteral("--password"), QStringLiteral("sesame") });
    QVERIFY(service.waitForStarted());
    QByteArray output;
    QVERIFY2(waitForOutput(service, QRegularExpression(QStringLiteral("answering auth.demo.login")), &output)
                 .hasMatch(),
             output.constData());

    NatsRequest *request = observer.nats.request(
        "auth.demo.login",
        R"({"cid":"c1","token":null,"params":{"user":"frank","role":"ops","password":"sesame"}})", 2000, 2000,
        1);
    QVERIFY(request);
    QSignalSpy finished(request, &NatsRequest::finished);
    QVERIFY(finished.wait(5000));
    const QList<NatsMessage> replies = finished.first().first().value<QList<NatsMessage>>();
    QCOMPARE(replies.size(), 1);
    QCOMPARE(jsonObject(replies.first().data)
                 .value(QStringLiteral("result"))
                 .toObject()
                 .value(QStringLiteral("user")),
             QJsonValue(QStringLiteral("frank")));
    QTRY_VERIFY(observer.has("conn.c1.token"));

    service.terminate();
    QVERIFY(service.waitForFinished(10000));
    QCOMPARE(service.exitCode(), 0);
}

QTEST_GUILESS_MAIN(TestGatewayCommand)
#include "tst_gatewaycommand.moc"
