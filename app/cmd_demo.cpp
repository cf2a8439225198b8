#include "cli.h"
#include "commands.h"
#include "mainwindow.h"
#include "openfilelimit.h"
#include "signalwatcher.h"

#include "dashboardwidget.h"
#include "demoauthservice.h"
#include "duration.h"
#include "emulatedgateway.h"
#include "natsconnection.h"
#include "natsserverprocess.h"
#include "testclient.h"
#include "testclientpanel.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>

#include <cstdio>
#include <memory>
#include <vector>

using namespace ResWatch;

namespace {

int fail(const QString &message, int code = 1)
{
    return Cli::fail(QStringLiteral("reswatch demo"), message, code);
}

/// One emulated gateway with a NATS connection of its own, as a separate process would have.
struct DemoGateway
{
    std::unique_ptr<NatsConnection> nats = std::make_unique<NatsConnection>();
    std::unique_ptr<EmulatedGateway> gateway;
};

} // namespace

int runDemo(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Starts a live demo: its own nats-server on a free loopback port, emulated gateways, the demo "
        "authentication service and test clients that connect, authenticate and churn; then opens the "
        "dashboard on it. Closing the window (or Ctrl+C) stops everything it started."));
    parser.addHelpOption();
    parser.addOption({ QStringLiteral("gateways"), QStringLiteral("Emulated gateways (default 3)."),
                       QStringLiteral("n"), QStringLiteral("3") });
    parser.addOption({ { QStringLiteral("n"), QStringLiteral("connections") },
                       QStringLiteral("Test connections kept open (default 3000)."),
                       QStringLiteral("count"),
                       QStringLiteral("3000") });
    parser.addOption({ QStringLiteral("rate"), QStringLiteral("New connections per second (default 300)."),
                       QStringLiteral("per-second"), QStringLiteral("300") });
    parser.addOption({ QStringLiteral("churn"),
                       QStringLiteral("Connection lifetime range (default 10s..90s)."),
                       QStringLiteral("range"), QStringLiteral("10s..90s") });
    parser.addOption({ QStringLiteral("roles"),
                       QStringLiteral("Role mix (default admin:1,support:2,guest:7)."), QStringLiteral("mix"),
                       QStringLiteral("admin:1,support:2,guest:7") });
    parser.addOption(
        { QStringLiteral("screenshot"),
          QStringLiteral("Save the window as a PNG after --screenshot-after, then stop (for docs)."),
          QStringLiteral("file") });
    parser.addOption({ QStringLiteral("screenshot-after"),
                       QStringLiteral("When to take the screenshot (default 30s)."),
                       QStringLiteral("duration"), QStringLiteral("30s") });
    if (const auto done = Cli::parse(parser, arguments, {}, false))
        return *done;

    TestClientSettings load;
    QString error;
    bool countOk = false, gatewaysOk = false, rateOk = false;
    load.connections = parser.value(QStringLiteral("n")).toInt(&countOk);
    const int gatewayCount = parser.value(QStringLiteral("gateways")).toInt(&gatewaysOk);
    load.ratePerSecond = parser.value(QStringLiteral("rate")).toDouble(&rateOk);
    if (!countOk || !gatewaysOk || !rateOk || gatewayCount < 1 || gatewayCount > 32)
        return fail(QStringLiteral("--gateways (1 to 32), -n and --rate take numbers"), 2);
    if (!TestClientSettings::parseRoles(parser.value(QStringLiteral("roles")), &load.roles, &error)
        || !TestClientSettings::parseChurn(parser.value(QStringLiteral("churn")), &load.churnMinMs,
                                           &load.churnMaxMs, &error))
        return fail(error, 2);
    load.authMethod = QString::fromLatin1(DemoAuthService::Subject);

    const qint64 screenshotAfterMs = parseDurationMs(parser.value(QStringLiteral("screenshot-after")));
    if (screenshotAfterMs < 0)
        return fail(QStringLiteral("bad --screenshot-after: use a duration such as 30s"), 2);
    // The demo holds both ends of every test connection (client and gateway), two descriptors each.
    const QString fileLimitWarning
        = raiseOpenFileLimit(QStringLiteral("descriptors are free for test connections, two each"),
                             2 * quint64(qMax(0, load.connections)) + 128);
    if (!fileLimitWarning.isEmpty())
        std::fprintf(stderr, "reswatch demo: %s\n", qPrintable(fileLimitWarning));

    NatsServerProcess server;
    if (!server.start())
        return fail(server.error());
    std::fprintf(stderr, "reswatch demo: nats-server on %s\n", qPrintable(server.url()));
    NatsOptions natsOptions;
    natsOptions.urls = { server.url() };

    std::vector<DemoGateway> gateways(static_cast<size_t>(gatewayCount));
    for (size_t i = 0; i < gateways.size(); ++i) {
        NatsOptions options = natsOptions;
        options.name = QStringLiteral("reswatch-demo-gateway-%1").arg(i + 1);
        gateways[i].nats->open(options);
        EmulatedGateway::Options gatewayOptions;
        gatewayOptions.gid = QStringLiteral("gw-demo-%1").arg(i + 1);
        gateways[i].gateway = std::make_unique<EmulatedGateway>(gateways[i].nats.get(), gatewayOptions);
        if (!gateways[i].gateway->start())
            return fail(gateways[i].gateway->errorString());
        load.urls << gateways[i].gateway->serverUrl();
    }
    NatsConnection authConnection;
    NatsOptions authOptions = natsOptions;
    authOptions.name = QStringLiteral("reswatch-demo-auth");
    authConnection.open(authOptions);
    DemoAuthService auth(&authConnection);
    auth.start();

    MainWindow window;
    window.setWindowTitle(QStringLiteral("ResWatch — demo"));
    window.show();
    window.connectTo(natsOptions);

    // The dashboard's own test client panel runs the load, so its statistics are on screen.
    TestClientPanel *panel = window.dashboard()->testClientPanel();
    panel->setSettings(load);
    if (!panel->start(&error))
        return fail(error);

    if (parser.isSet(QStringLiteral("screenshot"))) {
        const QString path = parser.value(QStringLiteral("screenshot"));
        QTimer::singleShot(screenshotAfterMs, &window, [&window, path] {
            if (!window.grab().save(path))
                std::fprintf(stderr, "reswatch demo: cannot write the screenshot to %s\n", qPrintable(path));
            window.close();
        });
    }

    SignalWatcher watcher;
    QObject::connect(&watcher, &SignalWatcher::terminationRequested, &window, &QWidget::close);
    // Where to point other clients (a browser, `reswatch load`) at the same gateways.
    QStringList gatewayUrls;
    for (const QUrl &url : std::as_const(load.urls))
        gatewayUrls << url.toString();
    std::fprintf(stderr, "reswatch demo: gateways on %s\n", qPrintable(gatewayUrls.join(QLatin1Char(' '))));
    std::fprintf(
        stderr, "reswatch demo: %d gateways, %d test connections; close the window or press Ctrl+C to stop\n",
        gatewayCount, load.connections);
    const int code = QApplication::exec();

    // Everything the demo started ends here: clients, gateways, then the server.
    panel->stop();
    for (DemoGateway &gateway : gateways)
        gateway.gateway->stop(500);
    return code;
}
