#include "cli.h"
#include "commands.h"
#include "natscli.h"

#include "connectionfilter.h"
#include "csvexporter.h"
#include "duration.h"
#include "natsconnection.h"
#include "tracker.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QEventLoop>
#include <QTimer>

#include <cstdio>

using namespace ResWatch;

namespace {

int fail(const QString &message, int code = 1)
{
    return Cli::fail(QStringLiteral("reswatch snapshot"), message, code);
}

} // namespace

int runSnapshot(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Polls system.connections once and writes every connection the gateways report as CSV.\n"
        "With --monitor, reads stock Resgate gateways from nats-server monitoring instead (and "
        "polls the native gateways too when --nats is given). A one-shot read sees none of the "
        "requests that carry tokens, so the token of a stock connection is empty in the CSV; "
        "`reswatch track` learns them while it runs."));
    parser.addHelpOption();
    NatsCli::addOptions(parser);
    parser.addOption(
        { QStringLiteral("wait"),
          QStringLiteral("How long to collect replies at most (default 2s); collection ends earlier "
                         "once no reply came for 250 ms."),
          QStringLiteral("duration"), QStringLiteral("2s") });
    parser.addOption({ QStringLiteral("connect-timeout"),
                       QStringLiteral("How long to try to reach NATS (default 5s)."),
                       QStringLiteral("duration"), QStringLiteral("5s") });
    parser.addOption({ QStringLiteral("filter"),
                       QStringLiteral("Only connections this filter keeps, e.g. role=admin."),
                       QStringLiteral("expr") });
    parser.addOption(
        { QStringLiteral("monitor"),
          QStringLiteral("nats-server monitoring endpoint of stock gateways: http://host:8222 (repeat "
                         "for each cluster node), or nats://user:password@host:4222 with system-account "
                         "credentials. Their tokens are not known to a snapshot (empty)."),
          QStringLiteral("url") });
    parser.addOption({ QStringLiteral("csv"),
                       QStringLiteral("Where to write the CSV; - for standard output (default)."),
                       QStringLiteral("file"), QStringLiteral("-") });
    if (const auto done = Cli::parse(parser, arguments,
                                     QStringLiteral("\nFilter syntax:\n") + ConnectionFilter::syntaxHelp()))
        return *done;

    const int waitMs = int(parseDurationMs(parser.value(QStringLiteral("wait"))));
    if (waitMs <= 0)
        return fail(QStringLiteral("bad --wait '%1': use a duration such as 2s or 500ms")
                        .arg(parser.value(QStringLiteral("wait"))),
                    2);
    const int connectTimeoutMs = int(parseDurationMs(parser.value(QStringLiteral("connect-timeout"))));
    if (connectTimeoutMs <= 0)
        return fail(QStringLiteral("bad --connect-timeout '%1': use a duration such as 5s")
                        .arg(parser.value(QStringLiteral("connect-timeout"))),
                    2);

    ConnectionFilter::Error filterError;
    const ConnectionFilter filter
        = ConnectionFilter::parse(parser.value(QStringLiteral("filter")), &filterError);
    if (filterError.isError())
        return fail(QStringLiteral("bad --filter: %1").arg(filterError.message), 2);

    NatsOptions options;
    QString error;
    if (!NatsCli::readOptions(parser, &options, &error))
        return fail(error, 2);

    // A stock fleet publishes nothing: read it from the monitoring data, and poll the native
    // gateways on NATS too when a server is named (a mixed fleet).
    const QStringList monitors = parser.values(QStringLiteral("monitor"));
    if (!monitors.isEmpty()) {
        const bool mixed = parser.isSet(QStringLiteral("nats"));
        return runMonitorSnapshot(monitors, parser.value(QStringLiteral("csv")),
                                  parser.value(QStringLiteral("filter")), mixed ? &options : nullptr,
                                  connectTimeoutMs);
    }

    NatsConnection connection;
    if (!connection.open(options))
        return fail(connection.lastError());
    if (!connection.isConnected()) {
        QEventLoop loop;
        QObject::connect(&connection, &NatsConnection::connected, &loop, &QEventLoop::quit);
        QTimer::singleShot(connectTimeoutMs, &loop, &QEventLoop::quit);
        loop.exec();
    }
    if (!connection.isConnected())
        return fail(
            QStringLiteral("cannot reach NATS at %1 within %2 ms; check --nats (or NATS_URL) and that "
                           "the server is running")
                .arg(NatsCli::describeUrls(options))
                .arg(connectTimeoutMs));

    Tracker tracker;
    tracker.beginPoll();
    NatsRequest *request = connection.request("system.connections", {}, 250, waitMs);
    QList<NatsMessage> replies;
    {
        QEventLoop loop;
        QObject::connect(request, &NatsRequest::finished, &loop, [&](const QList<NatsMessage> &collected) {
            replies = collected;
            loop.quit();
        });
        loop.exec();
    }
    for (const NatsMessage &reply : std::as_const(replies))
        tracker.handlePollReply(reply.data);
    tracker.endPoll();
    tracker.flushChanges();
    if (replies.isEmpty())
        std::fprintf(stderr, "reswatch snapshot: no gateway answered system.connections within %d ms\n",
                     waitMs);

    CsvExporter exporter(tracker);
    exporter.setFilter(filter);
    const QString path = parser.value(QStringLiteral("csv"));
    if (!exporter.exportTo(path))
        return fail(exporter.errorString());
    int gateways = 0;
    for (const Gateway &gateway : tracker.gateways())
        gateways += !gateway.removed;
    std::fprintf(stderr, "reswatch snapshot: %lld of %d connection(s) on %d gateway(s) written to %s\n",
                 qlonglong(exporter.rowsWritten()), tracker.connectionCount(), gateways,
                 path == QLatin1String("-") ? "standard output" : qPrintable(path));
    return 0;
}
