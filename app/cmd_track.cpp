// `reswatch track`: the live tracker without a window, and `reswatch snapshot --monitor`'s
// one-shot read of a stock fleet.
#include "cli.h"
#include "commands.h"
#include "natscli.h"
#include "signalwatcher.h"

#include "connectionfilter.h"
#include "connzparser.h"
#include "csvexporter.h"
#include "duration.h"
#include "livetracker.h"
#include "monitorsource.h"
#include "natsconnection.h"
#include "observer.h"
#include "tracker.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>
#include <QDir>
#include <QEventLoop>
#include <QLoggingCategory>
#include <QTimer>
#include <QUrl>

#include <cstdio>
#include <memory>

using namespace ResWatch;

namespace {

void say(const QString &text)
{
    std::fprintf(stderr, "reswatch: %s\n", qPrintable(text));
    std::fflush(stderr);
}

/// The sources around one Tracker: NATS events and polls (native gateways), nats-server
/// monitoring (stock gateways) and the request observer that gives them tokens.
struct Session
{
    Tracker tracker;
    NatsConnection nats;
    std::unique_ptr<LiveTracker> live;
    std::unique_ptr<Observer> observer;
    std::unique_ptr<MonitorSource> monitor;
    std::vector<std::unique_ptr<NatsConnection>> systemConnections;

    explicit Session(const TrackerSettings &settings) : tracker(settings) { }

    /// Native tracking and the observer on @p options; monitoring of @p monitors (http(s) URLs, or
    /// nats:// URLs with system-account credentials for $SYS.REQ.SERVER.PING.CONNZ).
    bool open(const NatsOptions *options, const QStringList &monitors, QString *error)
    {
        if (options) {
            // Before open(): it may connect (and fail) before returning.
            QObject::connect(&nats, &NatsConnection::statusChanged, [this](NatsConnection::Status status) {
                if (status == NatsConnection::Status::Connected)
                    say(QStringLiteral("connected to %1").arg(nats.connectedUrl()));
                else if (status == NatsConnection::Status::Reconnecting)
                    say(QStringLiteral("lost the NATS connection, reconnecting"));
            });
            QObject::connect(&nats, &NatsConnection::errorOccurred,
                             [](const QString &message) { say(QStringLiteral("NATS: %1").arg(message)); });
            if (!nats.open(*options)) {
                *error = nats.lastError();
                return false;
            }
            live = std::make_unique<LiveTracker>(&nats, &tracker);
        }
        if (monitors.isEmpty())
            return true;
        if (options)
            observer = std::make_unique<Observer>(&nats, &tracker);
        monitor = std::make_unique<MonitorSource>(&tracker);
        for (const QString &text : monitors) {
            const QUrl url = QUrl::fromUserInput(text);
            if (url.scheme() == QLatin1String("nats") || url.scheme() == QLatin1String("tls")) {
                NatsOptions system;
                QUrl server = url;
                server.setUserInfo({});
                system.urls = { server.toString() };
                system.name = QStringLiteral("reswatch-monitor");
                system.user = url.userName();
                system.password = url.password();
                auto connection = std::make_unique<NatsConnection>();
                if (!connection->open(system)) {
                    *error = QStringLiteral("%1: %2").arg(server.toString(), connection->lastError());
                    return false;
                }
                monitor->addSystemEndpoint(connection.get());
                systemConnections.push_back(std::move(connection));
            } else if (monitor->addEndpoint(url, error).isEmpty()) {
                return false;
            }
        }
        QObject::connect(monitor.get(), &MonitorSource::statusChanged, [](const MonitorSource::Status &s) {
            if (s.state == MonitorSource::State::Error)
                say(QStringLiteral("%1: %2%3")
                        .arg(s.scope, s.error,
                             s.stale ? QStringLiteral(" (showing the last good read)") : QString()));
        });
        return true;
    }

    /// Waits until every source read the fleet once more (bounded by @p timeoutMs).
    void refresh(int timeoutMs)
    {
        // Connecting comes first: give a fresh NATS connection its moment. Each wait has its own
        // loop, so that a timer left over from one cannot cut the next one short.
        const int connectWaitMs = std::min(timeoutMs, 2000);
        if (live)
            waitForConnection(&nats, connectWaitMs);
        for (auto &connection : systemConnections)
            waitForConnection(connection.get(), connectWaitMs);

        QEventLoop loop;
        int pending = 0;
        auto done = [&] {
            if (--pending == 0)
                loop.quit();
        };
        if (live && nats.isConnected()) {
            ++pending;
            QObject::connect(live.get(), &LiveTracker::pollFinished, &loop, done);
            live->pollNow();
        }
        if (monitor) {
            ++pending;
            QObject::connect(monitor.get(), &MonitorSource::pollFinished, &loop, done);
            monitor->pollNow();
        }
        if (pending > 0) {
            QTimer::singleShot(timeoutMs, &loop, &QEventLoop::quit);
            loop.exec();
        }
        tracker.flushChanges();
    }

    static void waitForConnection(NatsConnection *connection, int timeoutMs)
    {
        if (connection->isConnected())
            return;
        QEventLoop loop;
        QObject::connect(connection, &NatsConnection::connected, &loop, &QEventLoop::quit);
        QTimer::singleShot(timeoutMs, &loop, &QEventLoop::quit);
        loop.exec();
    }
};

bool writeCsv(const Tracker &tracker, const ConnectionFilter &filter, const QString &path, qint64 *rows,
              QString *error)
{
    CsvExporter exporter(tracker);
    exporter.setFilter(filter);
    if (!exporter.exportTo(path)) {
        *error = exporter.errorString();
        return false;
    }
    *rows = exporter.rowsWritten();
    return true;
}

QString snapshotName(qint64 ms)
{
    return QStringLiteral("reswatch-%1.csv")
        .arg(QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC).toString(QStringLiteral("yyyyMMdd'T'HHmmss'Z'")));
}

const QString MonitorHelp = QStringLiteral(
    "nats-server monitoring endpoint of stock Resgate gateways: http://host:8222 (repeat for each "
    "cluster node), or nats://user:password@host:4222 with system-account credentials");

void quietLogs()
{
    // Our own lines say what matters; the modules' debug output is for QT_LOGGING_RULES.
    if (qEnvironmentVariableIsEmpty("QT_LOGGING_RULES"))
        QLoggingCategory::setFilterRules(
            QStringLiteral("reswatch.*.debug=false\nreswatch.monitor.warning=false"));
}

} // namespace

int runTrack(const QStringList &arguments)
{
    quietLogs();
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Runs the live tracker without a window and writes who is connected as CSV:\n"
                       "when --for ends or on SIGINT/SIGTERM, and every --every into --out.\n"
                       "Progress and errors go to standard error."));
    parser.addHelpOption();
    NatsCli::addOptions(parser);
    parser.addOption({ QStringLiteral("monitor"), MonitorHelp, QStringLiteral("url") });
    parser.addOption({ QStringLiteral("no-nats"),
                       QStringLiteral("only read the monitoring endpoints (no events, polls or tokens)") });
    parser.addOption({ QStringLiteral("for"), QStringLiteral("stop after this long (5s, 10m, 2h)"),
                       QStringLiteral("duration") });
    parser.addOption({ QStringLiteral("csv"),
                       QStringLiteral("the CSV written at the end (- for standard output; the default "
                                      "without --every)"),
                       QStringLiteral("file") });
    parser.addOption({ QStringLiteral("every"),
                       QStringLiteral("also write a timestamped snapshot this often"),
                       QStringLiteral("duration") });
    parser.addOption({ QStringLiteral("out"), QStringLiteral("the directory of the --every snapshots"),
                       QStringLiteral("dir") });
    parser.addOption({ QStringLiteral("filter"), QStringLiteral("only connections matching this filter"),
                       QStringLiteral("expr") });
    parser.addOption({ QStringLiteral("interval"),
                       QStringLiteral("how often gateways and monitoring endpoints are polled (default 5s)"),
                       QStringLiteral("duration") });
    if (const auto done = Cli::parse(parser, arguments,
                                     QLatin1Char('\n') + ConnectionFilter::syntaxHelp() + QLatin1Char('\n')))
        return *done;
    auto duration = [&](const QString &name, qint64 *out) {
        if (!parser.isSet(name))
            return true;
        *out = parseDurationMs(parser.value(name));
        if (*out <= 0) {
            say(QStringLiteral("--%1: '%2' is not a duration (5s, 10m, 2h)").arg(name, parser.value(name)));
            return false;
        }
        return true;
    };
    qint64 forMs = 0, everyMs = 0, intervalMs = 0;
    if (!duration(QStringLiteral("for"), &forMs) || !duration(QStringLiteral("every"), &everyMs)
        || !duration(QStringLiteral("interval"), &intervalMs))
        return 2;
    const QString outDir = parser.value(QStringLiteral("out"));
    if (everyMs > 0 && outDir.isEmpty()) {
        say(QStringLiteral("--every needs --out DIR"));
        return 2;
    }
    if (!outDir.isEmpty() && !QDir().mkpath(outDir)) {
        say(QStringLiteral("cannot create %1").arg(outDir));
        return 1;
    }
    QString csvPath = parser.value(QStringLiteral("csv"));
    if (csvPath.isEmpty() && everyMs == 0)
        csvPath = QStringLiteral("-");
    ConnectionFilter::Error filterError;
    const ConnectionFilter filter
        = ConnectionFilter::parse(parser.value(QStringLiteral("filter")), &filterError);
    if (filterError.isError()) {
        say(QStringLiteral("--filter: %1").arg(filterError.message));
        return 2;
    }
    const QStringList monitors = parser.values(QStringLiteral("monitor"));
    const bool useNats = !parser.isSet(QStringLiteral("no-nats"));
    if (!useNats && monitors.isEmpty()) {
        say(QStringLiteral("--no-nats needs --monitor"));
        return 2;
    }

    TrackerSettings settings;
    if (intervalMs > 0)
        settings.pollIntervalMs = int(std::min<qint64>(intervalMs, 24 * 3600 * 1000));
    Session session(settings);
    NatsOptions options;
    QString error;
    // With --no-nats, a stray NATS_URL in the environment is not the user's problem.
    if (useNats && !NatsCli::readOptions(parser, &options, &error)) {
        say(error);
        return 2;
    }
    options.name = QStringLiteral("reswatch-track");
    if (!session.open(useNats ? &options : nullptr, monitors, &error)) {
        say(error);
        return 1;
    }
    if (session.monitor)
        session.monitor->start();

    QEventLoop loop;
    // Only while tracking: a second Ctrl+C during the final refresh ends the process at once.
    auto signalWatcher = std::make_unique<SignalWatcher>();
    QObject::connect(signalWatcher.get(), &SignalWatcher::terminationRequested, &loop, [&](int signalNumber) {
        say(QStringLiteral("signal %1: writing the snapshot").arg(signalNumber));
        loop.quit();
    });
    if (forMs > 0)
        QTimer::singleShot(forMs, &loop, &QEventLoop::quit);

    int failures = 0;
    QTimer every;
    if (everyMs > 0) {
        every.setInterval(int(std::min<qint64>(everyMs, 24 * 3600 * 1000)));
        QObject::connect(&every, &QTimer::timeout, &loop, [&] {
            session.tracker.flushChanges();
            const QString path = QDir(outDir).filePath(snapshotName(QDateTime::currentMSecsSinceEpoch()));
            qint64 rows = 0;
            QString writeError;
            if (writeCsv(session.tracker, filter, path, &rows, &writeError)) {
                say(QStringLiteral("%1: %2 connections").arg(path).arg(rows));
            } else {
                ++failures;
                say(writeError);
            }
        });
        every.start();
    }
    say(QStringLiteral("tracking%1%2; stop with Ctrl+C")
            .arg(useNats ? QStringLiteral(" on %1").arg(NatsCli::describeUrls(options)) : QString(),
                 monitors.isEmpty()
                     ? QString()
                     : QStringLiteral(", monitoring %1").arg(monitors.join(QLatin1String(", ")))));
    loop.exec();
    signalWatcher.reset();
    every.stop();

    // What is written is the fleet as it is now, not as it was at the last poll.
    session.refresh(5000);
    if (!csvPath.isEmpty()) {
        qint64 rows = 0;
        if (!writeCsv(session.tracker, filter, csvPath, &rows, &error)) {
            say(error);
            return 1;
        }
        say(QStringLiteral("%1: %2 connections")
                .arg(csvPath == QLatin1String("-") ? QStringLiteral("stdout") : csvPath)
                .arg(rows));
    }
    if (session.live && !session.nats.isConnected()) {
        // Native gateways, token events and requests all come over NATS: the CSV lacks them.
        say(QStringLiteral("not connected to NATS at %1: native gateways and tokens are missing")
                .arg(NatsCli::describeUrls(options)));
        ++failures;
    }
    if (session.monitor) {
        for (const MonitorSource::Status &s : session.monitor->statuses()) {
            if (s.lastSuccessMs == 0)
                ++failures; // never read: the CSV lacks that part of the fleet
        }
    }
    return failures > 0 ? 1 : 0;
}

int runMonitorSnapshot(const QStringList &monitors, const QString &csvPath, const QString &filterText,
                       const NatsOptions *observeOn, int timeoutMs)
{
    quietLogs();
    ConnectionFilter::Error filterError;
    const ConnectionFilter filter = ConnectionFilter::parse(filterText, &filterError);
    if (filterError.isError()) {
        say(QStringLiteral("--filter: %1").arg(filterError.message));
        return 2;
    }
    Session session(TrackerSettings {});
    QString error;
    if (!session.open(observeOn, monitors, &error)) {
        say(error);
        return 1;
    }
    session.refresh(timeoutMs);
    bool failed = false;
    if (session.live && !session.nats.isConnected()) {
        failed = true;
        say(QStringLiteral("cannot reach NATS at %1: the native gateways are missing")
                .arg(NatsCli::describeUrls(*observeOn)));
    }
    for (const MonitorSource::Status &s : session.monitor->statuses()) {
        if (s.state != MonitorSource::State::Ok) {
            failed = true;
            say(QStringLiteral("%1: %2").arg(s.scope,
                                             s.error.isEmpty() ? QStringLiteral("no answer") : s.error));
        }
    }
    if (failed)
        return 1;
    qint64 rows = 0;
    if (!writeCsv(session.tracker, filter, csvPath.isEmpty() ? QStringLiteral("-") : csvPath, &rows,
                  &error)) {
        say(error);
        return 1;
    }
    return 0;
}
