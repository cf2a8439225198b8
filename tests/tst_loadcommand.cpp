// `reswatch load` as a user runs it: the real executable against an emulated
// gateway and the demo authentication service, both in this process.

#include "gatewaytestsupport.h"
#include "natsserver.h"

#include "demoauthservice.h"
#include "emulatedgateway.h"

#include <QProcess>
#include <QRegularExpression>
#include <QSet>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTest>

#include <csignal>
#include <sys/resource.h>

using namespace ResWatch;

namespace {

/// The figures of a statistics line, or -1 where the line has none.
struct Figures
{
    int opened = -1;
    int failed = -1;
    int authAccepted = -1;
    int authRefused = -1;
};

Figures figuresOf(const QString &line)
{
    static const QRegularExpression opened(QStringLiteral("\\bopened (\\d+), failed (\\d+)"));
    static const QRegularExpression auth(QStringLiteral("\\bauth accepted (\\d+), refused (\\d+)"));
    Figures figures;
    const QRegularExpressionMatch o = opened.match(line);
    if (o.hasMatch()) {
        figures.opened = o.captured(1).toInt();
        figures.failed = o.captured(2).toInt();
    }
    const QRegularExpressionMatch a = auth.match(line);
    if (a.hasMatch()) {
        figures.authAccepted = a.captured(1).toInt();
        figures.authRefused = a.captured(2).toInt();
    }
    return figures;
}

QStringList nonEmptyLines(const QByteArray &output)
{
    return QString::fromUtf8(output).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
}

} // namespace

class TestLoadCommand : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void authenticatedLoadWithRoles();
    void sigintStopsWithStatistics();
    void lowSoftFileLimitIsRaised();
    void closedPortFails();
    void badArguments_data();
    void badArguments();

private:
    /// Runs `reswatch load` with @p arguments, keeping this event loop (the gateway's) alive.
    bool runToEnd(QProcess &process, const QStringList &arguments, int timeoutMs);

    NatsServer m_server;
    NatsConnection m_gatewayNats;
    NatsConnection m_authNats;
    std::unique_ptr<EmulatedGateway> m_gateway;
    std::unique_ptr<DemoAuthService> m_auth;
};

void TestLoadCommand::initTestCase()
{
    QVERIFY2(m_server.start(), qPrintable(m_server.error()));
    QVERIFY(m_gatewayNats.open(testNatsOptions(m_server, QStringLiteral("gateway"))));
    QVERIFY(m_authNats.open(testNatsOptions(m_server, QStringLiteral("auth"))));
    m_gateway = std::make_unique<EmulatedGateway>(&m_gatewayNats);
    QVERIFY2(m_gateway->start(), qPrintable(m_gateway->errorString()));
    m_auth = std::make_unique<DemoAuthService>(&m_authNats);
    m_auth->start();
    QTRY_VERIFY_WITH_TIMEOUT(m_gateway->hasAnnouncedStart() && m_auth->isRunning(), 5000);
}

void TestLoadCommand::cleanupTestCase()
{
    m_auth.reset();
    m_gateway.reset();
}

bool TestLoadCommand::runToEnd(QProcess &process, const QStringList &arguments, int timeoutMs)
{
    process.start(QStringLiteral(RESWATCH_EXECUTABLE), QStringList { QStringLiteral("load") } + arguments);
    if (!process.waitForStarted(5000))
        return false;
    // Not waitForFinished(): the gateway and the auth service need this event loop.
    if (!QTest::qWaitFor([&] { return process.state() == QProcess::NotRunning; }, timeoutMs)) {
        process.kill();
        process.waitForFinished(5000);
        return false;
    }
    return process.exitStatus() == QProcess::NormalExit;
}

void TestLoadCommand::authenticatedLoadWithRoles()
{
    QSignalSpy connected(m_gateway.get(), &EmulatedGateway::clientConnected);
    QSignalSpy authenticated(m_auth.get(), &DemoAuthService::authenticated);

    QProcess load;
    QVERIFY(
        runToEnd(load,
                 { QStringLiteral("--url"), m_gateway->serverUrl().toString(), QStringLiteral("-n"),
                   QStringLiteral("20"), QStringLiteral("--rate"), QStringLiteral("200"),
                   QStringLiteral("--auth"), QStringLiteral("auth.demo.login"), QStringLiteral("--roles"),
                   QStringLiteral("admin:1,guest:1"), QStringLiteral("--duration"), QStringLiteral("2s") },
                 15000));
    const QByteArray out = load.readAllStandardOutput();
    const QByteArray err = load.readAllStandardError();
    QVERIFY2(load.exitCode() == 0, err.constData());

    // The final statistics: every connection opened and was authenticated.
    const QStringList outLines = nonEmptyLines(out);
    QVERIFY2(outLines.size() == 1, out.constData()); // no failure or refusal lines
    const Figures final = figuresOf(outLines.first());
    QCOMPARE(final.opened, 20);
    QCOMPARE(final.failed, 0);
    QCOMPARE(final.authAccepted, 20);
    QCOMPARE(final.authRefused, 0);

    // The gateway saw them, the service logged them in with the roles of the mix, and the
    // client closed them all when it stopped.
    QCOMPARE(connected.size(), 20);
    QCOMPARE(authenticated.size(), 20);
    QSet<QString> roles, users;
    for (const QList<QVariant> &arguments : std::as_const(authenticated)) {
        users << arguments.at(1).toString();
        roles << arguments.at(2).toString();
    }
    QCOMPARE(users.size(), 20);
    QCOMPARE(roles, (QSet<QString> { QStringLiteral("admin"), QStringLiteral("guest") }));
    QTRY_COMPARE_WITH_TIMEOUT(m_gateway->connectionCount(), 0, 5000);

    // stderr is a pipe here: plain progress lines, about one a second, no terminal control codes.
    QVERIFY2(!err.contains('\r') && !err.contains('\033'), err.constData());
    const QStringList progress = nonEmptyLines(err);
    QVERIFY2(progress.size() >= 1 && progress.size() <= 3, err.constData());
    for (const QString &line : progress)
        QVERIFY2(line.startsWith(QLatin1String("open ")) && figuresOf(line).opened >= 0, qPrintable(line));
}

void TestLoadCommand::sigintStopsWithStatistics()
{
    QSignalSpy disconnected(m_gateway.get(), &EmulatedGateway::clientDisconnected);
    QProcess load;
    load.start(QStringLiteral(RESWATCH_EXECUTABLE),
               { QStringLiteral("load"), QStringLiteral("--url"), m_gateway->serverUrl().toString(),
                 QStringLiteral("-n"), QStringLiteral("5"), QStringLiteral("--rate"),
                 QStringLiteral("100") });
    QVERIFY(load.waitForStarted(5000));
    // A progress line with all five open: the run is under way (and the signal handler installed).
    QByteArray err;
    QVERIFY2(QTest::qWaitFor(
                 [&] {
                     err += load.readAllStandardError();
                     return err.contains("open 5,") || load.state() == QProcess::NotRunning;
                 },
                 10000),
             err.constData());
    QCOMPARE(load.state(), QProcess::Running);
    QCOMPARE(m_gateway->connectionCount(), 5);

    ::kill(pid_t(load.processId()), SIGINT);
    QVERIFY(QTest::qWaitFor([&] { return load.state() == QProcess::NotRunning; }, 10000));
    QCOMPARE(load.exitStatus(), QProcess::NormalExit);
    QCOMPARE(load.exitCode(), 0);
    const QStringList outLines = nonEmptyLines(load.readAllStandardOutput());
    QCOMPARE(outLines.size(), 1);
    QCOMPARE(figuresOf(outLines.first()).opened, 5);
    QCOMPARE(figuresOf(outLines.first()).failed, 0);
    // Closed with close frames, not left for the gateway to time out.
    QTRY_COMPARE_WITH_TIMEOUT(m_gateway->connectionCount(), 0, 5000);
    QCOMPARE(disconnected.size(), 5);
}

void TestLoadCommand::lowSoftFileLimitIsRaised()
{
    // A desktop session's usual soft limit is 1024 (with a far higher hard limit); 256 here
    // keeps the case small. More connections than that must still all open.
    rlimit limit {};
    QVERIFY(getrlimit(RLIMIT_NOFILE, &limit) == 0);
    if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < 512)
        QSKIP("the hard open-file limit is too low for this case");
    QProcess load;
    load.setChildProcessModifier([] {
        rlimit low {};
        getrlimit(RLIMIT_NOFILE, &low);
        low.rlim_cur = 256;
        setrlimit(RLIMIT_NOFILE, &low);
    });
    QVERIFY(
        runToEnd(load,
                 { QStringLiteral("--url"), m_gateway->serverUrl().toString(), QStringLiteral("-n"),
                   QStringLiteral("300"), QStringLiteral("--rate"), QStringLiteral("2000"),
                   QStringLiteral("--no-version"), QStringLiteral("--duration"), QStringLiteral("1500ms") },
                 15000));
    const QByteArray out = load.readAllStandardOutput();
    QVERIFY2(load.exitCode() == 0, load.readAllStandardError().constData());
    QVERIFY2(figuresOf(QString::fromUtf8(out)).opened == 300 && figuresOf(QString::fromUtf8(out)).failed == 0,
             out.constData());
    QTRY_COMPARE_WITH_TIMEOUT(m_gateway->connectionCount(), 0, 5000);
}

void TestLoadCommand::closedPortFails()
{
    QTcpServer probe;
    QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
    const quint16 port = probe.serverPort();
    probe.close();

    QProcess load;
    QVERIFY(runToEnd(load,
                     { QStringLiteral("--url"), QStringLiteral("ws://127.0.0.1:%1").arg(port),
                       QStringLiteral("-n"), QStringLiteral("3"), QStringLiteral("--duration"),
                       QStringLiteral("500ms") },
                     15000));
    const QString err = QString::fromLocal8Bit(load.readAllStandardError());
    const QString out = QString::fromLocal8Bit(load.readAllStandardOutput());
    QCOMPARE(load.exitCode(), 1);
    QVERIFY2(err.contains(QLatin1String("reswatch load: no connection could be opened")), qPrintable(err));
    // The statistics say why.
    QVERIFY2(figuresOf(out).opened == 0 && figuresOf(out).failed > 0, qPrintable(out));
    QVERIFY2(out.contains(QLatin1String("refused")), qPrintable(out));
}

void TestLoadCommand::badArguments_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("message");

    const QString url = QStringLiteral("--url");
    const QString ws = QStringLiteral("ws://127.0.0.1:1");
    QTest::newRow("http URL") << QStringList { url, QStringLiteral("http://x") }
                              << QStringLiteral("'http://x' is not a WebSocket URL");
    QTest::newRow("no URL") << QStringList {} << QStringLiteral("give at least one --url");
    QTest::newRow("role weight zero")
        << QStringList { url, ws, QStringLiteral("--roles"), QStringLiteral("admin:0") }
        << QStringLiteral("bad role 'admin:0'");
    QTest::newRow("role weight word")
        << QStringList { url, ws, QStringLiteral("--roles"), QStringLiteral("admin:1,guest:many") }
        << QStringLiteral("bad role 'guest:many'");
    QTest::newRow("churn reversed") << QStringList { url, ws, QStringLiteral("--churn"),
                                                     QStringLiteral("30s..5s") }
                                    << QStringLiteral("bad churn '30s..5s'");
    QTest::newRow("churn single") << QStringList { url, ws, QStringLiteral("--churn"), QStringLiteral("5s") }
                                  << QStringLiteral("bad churn '5s'");
    QTest::newRow("count") << QStringList { url, ws, QStringLiteral("-n"), QStringLiteral("many") }
                           << QStringLiteral("bad -n 'many'");
    QTest::newRow("duration") << QStringList { url, ws, QStringLiteral("--duration"), QStringLiteral("soon") }
                              << QStringLiteral("bad --duration 'soon'");
}

void TestLoadCommand::badArguments()
{
    QFETCH(QStringList, arguments);
    QFETCH(QString, message);
    QProcess load;
    QVERIFY(runToEnd(load, arguments, 10000));
    const QString err = QString::fromLocal8Bit(load.readAllStandardError());
    QCOMPARE(load.exitCode(), 2);
    QVERIFY2(err.startsWith(QLatin1String("reswatch load: ")) && err.contains(message), qPrintable(err));
    QCOMPARE(err.trimmed().count(QLatin1Char('\n')), 0); // one line
    QVERIFY(load.readAllStandardOutput().isEmpty()); // nothing was started
}

QTEST_GUILESS_MAIN(TestLoadCommand)
#include "tst_loadcommand.moc"
