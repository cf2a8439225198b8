#include "cli.h"
#include "commands.h"
#include "openfilelimit.h"
#include "signalwatcher.h"

#include "duration.h"
#include "testclient.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QTimer>

#include <cstdio>
#include <unistd.h>

using namespace ResWatch;

namespace {

int fail(const QString &message, int code = 2)
{
    return Cli::fail(QStringLiteral("reswatch load"), message, code);
}

} // namespace

int runLoad(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Opens WebSocket connections to RES gateways at a ramp rate, optionally authenticates "
                       "and churns them, "
                       "and prints statistics. Stops at --duration or on Ctrl+C."));
    parser.addHelpOption();
    parser.addOption({ QStringLiteral("url"),
                       QStringLiteral("Gateway URL, ws:// or wss://; repeat for several."),
                       QStringLiteral("url") });
    parser.addOption({ { QStringLiteral("n"), QStringLiteral("connections") },
                       QStringLiteral("Connections to keep open (default 100)."),
                       QStringLiteral("count"),
                       QStringLiteral("100") });
    parser.addOption({ QStringLiteral("rate"), QStringLiteral("New connections per second (default 100)."),
                       QStringLiteral("per-second"), QStringLiteral("100") });
    parser.addOption({ QStringLiteral("auth"),
                       QStringLiteral("Send this auth request after connecting, e.g. auth.demo.login."),
                       QStringLiteral("method") });
    parser.addOption(
        { QStringLiteral("params"),
          QStringLiteral("JSON params of the auth request; {n} is the connection's number, {role} a role "
                         "from --roles (default {\"user\":\"user-{n}\",\"role\":\"{role}\"})."),
          QStringLiteral("json") });
    parser.addOption({ QStringLiteral("roles"),
                       QStringLiteral("Weighted role mix for {role}, e.g. admin:1,guest:9."),
                       QStringLiteral("mix") });
    parser.addOption(
        { QStringLiteral("churn"),
          QStringLiteral("Each connection lives a random time in MIN..MAX, closes, and a new one opens "
                         "(e.g. 5s..30s)."),
          QStringLiteral("range") });
    parser.addOption({ QStringLiteral("duration"),
                       QStringLiteral("Stop after this long (default: until Ctrl+C)."),
                       QStringLiteral("duration") });
    parser.addOption(
        { QStringLiteral("no-version"), QStringLiteral("Do not send the version request first.") });
    if (const auto done = Cli::parse(parser, arguments, {}, false))
        return *done;

    TestClientSettings settings;
    for (const QString &url : parser.values(QStringLiteral("url")))
        settings.urls << QUrl(url);
    if (settings.urls.isEmpty())
        return fail(QStringLiteral("give at least one --url ws://host:port"));
    bool ok = false;
    settings.connections = parser.value(QStringLiteral("n")).toInt(&ok);
    if (!ok)
        return fail(QStringLiteral("bad -n '%1': expected a number").arg(parser.value(QStringLiteral("n"))));
    settings.ratePerSecond = parser.value(QStringLiteral("rate")).toDouble(&ok);
    if (!ok)
        return fail(
            QStringLiteral("bad --rate '%1': expected a number").arg(parser.value(QStringLiteral("rate"))));
    settings.sendVersion = !parser.isSet(QStringLiteral("no-version"));
    settings.authMethod = parser.value(QStringLiteral("auth"));
    if (parser.isSet(QStringLiteral("params")))
        settings.authParams = parser.value(QStringLiteral("params")).toUtf8();
    QString error;
    if (parser.isSet(QStringLiteral("roles"))
        && !TestClientSettings::parseRoles(parser.value(QStringLiteral("roles")), &settings.roles, &error))
        return fail(error);
    if (parser.isSet(QStringLiteral("churn"))
        && !TestClientSettings::parseChurn(parser.value(QStringLiteral("churn")), &settings.churnMinMs,
                                           &settings.churnMaxMs, &error))
        return fail(error);
    qint64 durationMs = 0;
    if (parser.isSet(QStringLiteral("duration"))) {
        durationMs = parseDurationMs(parser.value(QStringLiteral("duration")));
        if (durationMs <= 0)
            return fail(QStringLiteral("bad --duration '%1': use a duration such as 60s")
                            .arg(parser.value(QStringLiteral("duration"))));
    }

    // Each connection is a descriptor: with the usual soft limit of 1024, the rest would fail
    // with "Too many open files".
    const QString fileLimitWarning = raiseOpenFileLimit(QStringLiteral("connections can be opened"),
                                                        quint64(qMax(0, settings.connections)) + 64);
    if (!fileLimitWarning.isEmpty())
        std::fprintf(stderr, "reswatch load: %s\n", qPrintable(fileLimitWarning));

    TestClient client;
    if (!client.start(settings, &error))
        return fail(error);

    // A live line on a terminal; plain lines, once a second, in logs and pipes.
    const bool terminal = isatty(fileno(stderr));
    QTimer progress;
    progress.setInterval(terminal ? 200 : 1000);
    QObject::connect(&progress, &QTimer::timeout, &client, [&] {
        const QString line = client.stats().summary();
        if (terminal)
            std::fprintf(stderr, "\r\033[K%s", qPrintable(line));
        else
            std::fprintf(stderr, "%s\n", qPrintable(line));
    });
    progress.start();

    bool stopping = false;
    auto finish = [&] {
        if (stopping)
            return;
        stopping = true;
        progress.stop();
        client.stop();
        // Give the close handshakes a moment, then leave.
        QTimer::singleShot(1000, qApp, &QCoreApplication::quit);
    };
    SignalWatcher watcher;
    QObject::connect(&watcher, &SignalWatcher::terminationRequested, &client, finish);
    if (durationMs > 0)
        QTimer::singleShot(durationMs, &client, finish);
    QCoreApplication::exec();

    const TestClientStats stats = client.stats();
    if (terminal)
        std::fputs("\r\033[K", stderr);
    std::printf("%s\n", qPrintable(stats.summary()));
    for (auto it = stats.failureReasons.cbegin(); it != stats.failureReasons.cend(); ++it)
        std::printf("  failed %d×: %s\n", it.value(), qPrintable(it.key()));
    for (auto it = stats.refusalCodes.cbegin(); it != stats.refusalCodes.cend(); ++it)
        std::printf("  auth refused %d×: %s\n", it.value(), qPrintable(it.key()));
    if (stats.opened == 0)
        return fail(QStringLiteral("no connection could be opened"), 1);
    return 0;
}
