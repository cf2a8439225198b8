#include "commands.h"

#include <QApplication>
#include <QCoreApplication>
#include <QLoggingCategory>

#include <cstdio>
#include <functional>
#include <memory>

namespace {

struct Command
{
    const char *name;
    const char *summary;
    std::function<int(const QStringList &)> run;
    bool needsWindow = false;
};

const Command commands[] = {
    { "demo", "start a live demo: nats-server, three gateways, auth service, test clients, the window",
      runDemo, true },
    { "snapshot", "poll the gateways once and write their connections as CSV", runSnapshot },
    { "track", "run the live tracker without a window, writing CSV snapshots", runTrack },
    { "gateway", "run an emulated RES gateway that publishes tracking events", runGateway },
    { "demo-auth", "run the demo authentication service (auth.demo.login)", runDemoAuth },
    { "load", "open many test WebSocket connections to gateways", runLoad },
};

// The window: `reswatch [--nats URL] [--monitor URL]`.
const Command window { "", "", runWindow, true };

void printUsage(FILE *out)
{
    QString text
        = QStringLiteral("Usage: reswatch [--nats URL] [--monitor URL]   open the dashboard\n"
                         "       reswatch <command> [options]\n"
                         "       reswatch --help | --version\n\n"
                         "ResWatch shows which clients are connected to a fleet of Resgate gateways.\n\n"
                         "Commands:\n");
    for (const Command &command : commands)
        text += QStringLiteral("  %1%2\n")
                    .arg(QLatin1String(command.name), -12)
                    .arg(QLatin1String(command.summary));
    text += QStringLiteral("\nRun 'reswatch <command> --help' for the options of a command.\n"
                           "NATS_URL sets the default NATS server, as in NATS's own tools.\n");
    std::fputs(text.toLocal8Bit().constData(), out);
}

/// Qt aborts when it finds no display; say what to do instead.
bool haveDisplay()
{
    return !qEnvironmentVariableIsEmpty("DISPLAY") || !qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY")
        || !qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM");
}

} // namespace

int main(int argc, char *argv[])
{
    const QString first = argc > 1 ? QString::fromLocal8Bit(argv[1]) : QString();
    if (first == QLatin1String("--help") || first == QLatin1String("-h") || first == QLatin1String("help")) {
        printUsage(stdout);
        return 0;
    }
    if (first == QLatin1String("--version") || first == QLatin1String("-v")) {
        std::printf("reswatch %s\n", RESWATCH_VERSION);
        return 0;
    }

    const Command *command = nullptr;
    if (first.isEmpty() || first.startsWith(QLatin1Char('-'))) {
        command = &window;
    } else {
        for (const Command &candidate : commands)
            if (first == QLatin1String(candidate.name))
                command = &candidate;
    }
    if (!command) {
        std::fprintf(stderr, "reswatch: unknown command '%s'\n\n", qPrintable(first));
        printUsage(stderr);
        return 2;
    }
    if (command->needsWindow && !haveDisplay()) {
        std::fprintf(stderr,
                     "reswatch: no display found (DISPLAY and WAYLAND_DISPLAY are not set).\n"
                     "Run it in a desktop session, or headless under Xvfb: xvfb-run -a reswatch %s\n",
                     command == &window ? "" : command->name);
        return 1;
    }

    // Debug output only on request: QT_LOGGING_RULES="reswatch.nats.debug=true" (it overrides this).
    QLoggingCategory::setFilterRules(QStringLiteral("reswatch.*.debug=false"));

    std::unique_ptr<QCoreApplication> app;
    if (command->needsWindow)
        app = std::make_unique<QApplication>(argc, argv);
    else
        app = std::make_unique<QCoreApplication>(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("reswatch"));
    QCoreApplication::setOrganizationName(QStringLiteral("ResWatch"));
    QCoreApplication::setApplicationVersion(QStringLiteral(RESWATCH_VERSION));

    QStringList arguments = app->arguments();
    arguments.removeFirst();
    if (command != &window)
        arguments.removeFirst();
    arguments.prepend(command == &window ? QStringLiteral("reswatch")
                                         : QStringLiteral("reswatch %1").arg(QLatin1String(command->name)));
    return command->run(arguments);
}
