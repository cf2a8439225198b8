// `reswatch demo` as a user runs it: the real executable, headless (offscreen).
// What matters to the user: it refuses clearly without a display, it shows a
// working fleet, and nothing it started (nats-server, gateways) outlives it,
// however it ends.

#include "natsconnection.h"
#include "protocol.h"

#include <QImage>
#include <QProcess>
#include <QRegularExpression>
#include <QSet>
#include <QSignalSpy>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>

using namespace ResWatch;

namespace {

/// Whether something accepts TCP connections on 127.0.0.1:@p port.
bool accepts(int port)
{
    QTcpSocket socket;
    socket.connectToHost(QHostAddress(QHostAddress::LocalHost), quint16(port));
    return socket.waitForConnected(1000);
}

/// A `reswatch demo` child process and what it says about itself on stderr.
class Demo
{
public:
    explicit Demo(const QStringList &arguments, bool withDisplay = true)
    {
        QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
        environment.remove(QStringLiteral("DISPLAY"));
        environment.remove(QStringLiteral("WAYLAND_DISPLAY"));
        environment.remove(QStringLiteral("QT_QPA_PLATFORM"));
        if (withDisplay)
            environment.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
        process.setProcessEnvironment(environment);
        process.start(QStringLiteral(RESWATCH_EXECUTABLE),
                      QStringList { QStringLiteral("demo") } + arguments);
    }
    ~Demo()
    {
        if (process.state() != QProcess::NotRunning) {
            process.kill();
            process.waitForFinished(5000);
        }
    }

    /// Waits (bounded) until the demo says it is running; false if it ended or took too long.
    bool waitUntilRunning(int timeoutMs = 20000)
    {
        [[maybe_unused]] const bool said = QTest::qWaitFor(
            [&] {
                readOutput();
                return stderrText.contains(QLatin1String("press Ctrl+C to stop"))
                    || process.state() == QProcess::NotRunning;
            },
            timeoutMs);
        return process.state() == QProcess::Running && natsPort() > 0 && gatewayPorts().size() == 3;
    }

    bool waitUntilFinished(int timeoutMs)
    {
        const bool finished
            = QTest::qWaitFor([&] { return process.state() == QProcess::NotRunning; }, timeoutMs);
        readOutput();
        return finished;
    }

    void readOutput()
    {
        stderrText += QString::fromLocal8Bit(process.readAllStandardError());
        stdoutText += QString::fromLocal8Bit(process.readAllStandardOutput());
    }

    int natsPort() const
    {
        static const QRegularExpression pattern(
            QStringLiteral("nats-server on nats://127\\.0\\.0\\.1:(\\d+)"));
        return pattern.match(stderrText).captured(1).toInt();
    }

    QList<int> gatewayPorts() const
    {
        static const QRegularExpression line(QStringLiteral("gateways on ([^\\n]*)"));
        static const QRegularExpression url(QStringLiteral("ws://127\\.0\\.0\\.1:(\\d+)"));
        QList<int> ports;
        auto it = url.globalMatch(line.match(stderrText).captured(1));
        while (it.hasNext())
            ports << it.next().captured(1).toInt();
        return ports;
    }

    QProcess process;
    QString stderrText;
    QString stdoutText;
};

struct FleetView
{
    int gateways = 0;
    int connections = 0;
    int authenticated = 0;
};

/// What a system.connections poll on the demo's NATS server shows.
FleetView pollFleet(NatsConnection &nats)
{
    FleetView view;
    NatsRequest *request = nats.request("system.connections", QByteArray(), 300, 3000);
    if (!request)
        return view;
    QSignalSpy finished(request, &NatsRequest::finished);
    if (!finished.wait(5000))
        return view;
    QSet<QByteArray> gids;
    for (const NatsMessage &reply : finished.first().first().value<QList<NatsMessage>>()) {
        const Protocol::ParseResult parsed = Protocol::parseConnectionsReply(reply.data);
        if (!parsed.ok())
            continue;
        gids << parsed.message.gid;
        for (const Protocol::ConnectionEntry &entry : parsed.message.connections) {
            ++view.connections;
            view.authenticated += !entry.token.isEmpty();
        }
    }
    view.gateways = int(gids.size());
    return view;
}

} // namespace

class TestDemoCommand : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void refusesWithoutDisplay();
    void screenshotAndStop();
    void sigtermStopsEverything();
    void sigkillLeavesNothingBehind();
};

void TestDemoCommand::refusesWithoutDisplay()
{
    Demo demo({ QStringLiteral("-n"), QStringLiteral("10") }, false);
    QVERIFY(demo.waitUntilFinished(10000));
    QCOMPARE(demo.process.exitStatus(), QProcess::NormalExit);
    QVERIFY(demo.process.exitCode() != 0);
    QVERIFY2(demo.stderrText.contains(QLatin1String("no display")), qPrintable(demo.stderrText));
    QVERIFY2(demo.stderrText.contains(QLatin1String("xvfb-run -a reswatch demo")),
             qPrintable(demo.stderrText));
    // Refused before starting anything: no server, no gateways.
    QVERIFY2(!demo.stderrText.contains(QLatin1String("nats-server on")), qPrintable(demo.stderrText));
    QVERIFY(demo.gatewayPorts().isEmpty());
}

void TestDemoCommand::screenshotAndStop()
{
    QTemporaryDir dir;
    const QString png = dir.filePath(QStringLiteral("demo.png"));
    Demo demo({ QStringLiteral("-n"), QStringLiteral("60"), QStringLiteral("--rate"), QStringLiteral("200"),
                QStringLiteral("--screenshot"), png, QStringLiteral("--screenshot-after"),
                QStringLiteral("6s") });
    QVERIFY2(demo.waitUntilRunning(), qPrintable(demo.stderrText));
    const int natsPort = demo.natsPort();
    const QList<int> gatewayPorts = demo.gatewayPorts();
    QVERIFY(accepts(natsPort));

    QVERIFY2(demo.waitUntilFinished(25000), qPrintable(demo.stderrText));
    QCOMPARE(demo.process.exitStatus(), QProcess::NormalExit);
    QVERIFY2(demo.process.exitCode() == 0, qPrintable(demo.stderrText));
    QVERIFY2(!demo.stderrText.contains(QLatin1String("cannot write the screenshot")),
             qPrintable(demo.stderrText));

    QFile file(png);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QVERIFY(file.read(8) == QByteArray("\x89PNG\r\n\x1a\n", 8));
    file.close();
    const QImage image(png);
    QVERIFY(!image.isNull());
    QVERIFY2(image.width() >= 640 && image.height() >= 400,
             qPrintable(QStringLiteral("%1x%2").arg(image.width()).arg(image.height())));
    // A window with content, not one flat colour.
    QSet<QRgb> colours;
    for (int y = 0; y < image.height() && colours.size() < 16; y += 7)
        for (int x = 0; x < image.width() && colours.size() < 16; x += 7)
            colours << image.pixel(x, y);
    QVERIFY(colours.size() >= 16);

    // The demo waited for its server and its gateways to be gone before exiting.
    QVERIFY(!accepts(natsPort));
    for (int port : gatewayPorts)
        QVERIFY2(!accepts(port), qPrintable(QString::number(port)));
}

void TestDemoCommand::sigtermStopsEverything()
{
    Demo demo(
        { QStringLiteral("-n"), QStringLiteral("60"), QStringLiteral("--rate"), QStringLiteral("200") });
    QVERIFY2(demo.waitUntilRunning(), qPrintable(demo.stderrText));
    const int natsPort = demo.natsPort();
    const QList<int> gatewayPorts = demo.gatewayPorts();

    {
        // What the dashboard is showing: three gateways holding 60 authenticated test connections.
        NatsConnection nats;
        NatsOptions options;
        options.urls = { QStringLiteral("nats://127.0.0.1:%1").arg(natsPort) };
        options.name = QStringLiteral("demo test observer");
        QVERIFY(nats.open(options));
        QVERIFY(QTest::qWaitFor([&] { return nats.isConnected(); }, 5000));
        FleetView view;
        QVERIFY2(QTest::qWaitFor(
                     [&] {
                         view = pollFleet(nats);
                         return view.gateways == 3 && view.connections == 60 && view.authenticated == 60;
                     },
                     15000),
                 qPrintable(QStringLiteral("%1 gateways, %2 connections, %3 authenticated")
                                .arg(view.gateways)
                                .arg(view.connections)
                                .arg(view.authenticated)));
        nats.close();
    }

    ::kill(pid_t(demo.process.processId()), SIGTERM);
    QVERIFY2(demo.waitUntilFinished(15000), qPrintable(demo.stderrText));
    QCOMPARE(demo.process.exitStatus(), QProcess::NormalExit);
    QVERIFY2(demo.process.exitCode() == 0, qPrintable(demo.stderrText));
    QVERIFY(!accepts(natsPort));
    for (int port : gatewayPorts)
        QVERIFY2(!accepts(port), qPrintable(QString::number(port)));
}

void TestDemoCommand::sigkillLeavesNothingBehind()
{
    Demo demo(
        { QStringLiteral("-n"), QStringLiteral("30"), QStringLiteral("--rate"), QStringLiteral("200") });
    QVERIFY2(demo.waitUntilRunning(), qPrintable(demo.stderrText));
    const int natsPort = demo.natsPort();
    const QList<int> gatewayPorts = demo.gatewayPorts();
    QVERIFY(accepts(natsPort));
    for (int port : gatewayPorts)
        QVERIFY(accepts(port));

    // No chance to clean up: the kernel ends the server (PR_SET_PDEATHSIG).
    ::kill(pid_t(demo.process.processId()), SIGKILL);
    QVERIFY(demo.waitUntilFinished(5000));
    QCOMPARE(demo.process.exitStatus(), QProcess::CrashExit);
    QVERIFY2(QTest::qWaitFor([&] { return !accepts(natsPort); }, 5000),
             qPrintable(QStringLiteral("nats-server still on port %1").arg(natsPort)));
    for (int port : gatewayPorts)
        QVERIFY2(!accepts(port), qPrintable(QString::number(port)));
}

QTEST_GUILESS_MAIN(TestDemoCommand)
#include "tst_democommand.moc"
