#include "commands.h"

#include <QCoreApplication>
#include <QTextStream>

#include <cstdio>
#include <functional>

namespace {

struct Command
{
    const char *name;
    const char *summary;
    std::function<int(const QStringList &)> run;
};

const Command commands[] = {
    { "snapshot", "poll the gateways once and write their connections as CSV", runSnapshot },
    { "track", "run the live tracker without a window, writing CSV snapshots", runTrack },
    { "gateway", "run an emulated RES gateway that publishes tracking events", runGateway },
    { "demo-auth", "run the demo authentication service (auth.demo.login)", runDemoAuth },
};

void printUsage(FILE *out)
{
    QString text
        = QStringLiteral("Usage: reswatch [--help] [--version] <command> [options]\n\n"
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

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("reswatch"));
    QCoreApplication::setOrganizationName(QStringLiteral("ResWatch"));
    QCoreApplication::setApplicationVersion(QStringLiteral(RESWATCH_VERSION));

    const QStringList arguments = app.arguments();
    const QString first = arguments.value(1);
    if (first.isEmpty() || first == QLatin1String("--help") || first == QLatin1String("-h")
        || first == QLatin1String("help")) {
        printUsage(stdout);
        return first.isEmpty() ? 2 : 0;
    }
    if (first == QLatin1String("--version") || first == QLatin1String("-v")) {
        std::printf("reswatch %s\n", RESWATCH_VERSION);
        return 0;
    }
    for (const Command &command : commands) {
        if (first == QLatin1String(command.name)) {
            QStringList rest = arguments.mid(2);
            rest.prepend(QStringLiteral("reswatch %1").arg(first));
            return command.run(rest);
        }
    }
    std::fprintf(stderr, "reswatch: unknown command '%s'\n\n", qPrintable(first));
    printUsage(stderr);
    return 2;
}
