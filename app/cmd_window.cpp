#include "cli.h"
#include "commands.h"
#include "mainwindow.h"
#include "natscli.h"

#include "connectionbar.h"
#include "dashboardwidget.h"
#include "signalwatcher.h"

#include <QApplication>
#include <QCommandLineParser>

#include <cstdio>

using namespace ResWatch;

int runWindow(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Opens the ResWatch dashboard."));
    parser.addHelpOption();
    NatsCli::addOptions(parser);
    parser.addOption({ QStringLiteral("monitor"),
                       QStringLiteral("nats-server monitoring endpoint of stock Resgate gateways: "
                                      "http://host:8222 (repeat for each cluster node), or "
                                      "nats://user:password@host:4222 with system-account credentials"),
                       QStringLiteral("url") });
    if (const auto done = Cli::parse(parser, arguments, {}, false))
        return *done;
    NatsOptions options;
    QString error;
    if (!NatsCli::readOptions(parser, &options, &error)) {
        std::fprintf(stderr, "reswatch: %s\n", qPrintable(error));
        return 2;
    }
    MainWindow window;
    // The command line wins over the remembered endpoints; credentials given on it are
    // kept for the Connect button even when the URL is the remembered one.
    const bool urlGiven = parser.isSet(QStringLiteral("nats")) || !qEnvironmentVariableIsEmpty("NATS_URL");
    if (!urlGiven)
        options.urls = window.dashboard()->connectionBar()->options().urls;
    window.dashboard()->connectionBar()->setOptions(options);
    if (parser.isSet(QStringLiteral("monitor")))
        window.dashboard()->setMonitorUrls(parser.values(QStringLiteral("monitor")));
    // SIGINT/SIGTERM close the window as a user would, so its layout is saved.
    SignalWatcher watcher;
    QObject::connect(&watcher, &SignalWatcher::terminationRequested, &window, &QWidget::close);
    window.show();
    // Connect at once when told where; otherwise the user presses Connect.
    if (urlGiven || parser.isSet(QStringLiteral("monitor")))
        window.connectTo(options);
    return QApplication::exec();
}
