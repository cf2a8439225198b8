#include "cli.h"
#include "commands.h"

#include "demoauthservice.h"
#include "duration.h"
#include "emulatedgateway.h"
#include "natscli.h"
#include "natsconnection.h"
#include "openfilelimit.h"
#include "signalwatcher.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QHostAddress>
#include <QRegularExpression>
#include <QTimer>

#include <cstdio>

using namespace ResWatch;

namespace {

// After this long without NATS, say that we are waiting (and keep waiting).
constexpr int NatsPatienceMs = 5000;

void printLine(FILE *out, const QString &line)
{
    std::fputs(qPrintable(line + QLatin1Char('\n')), out);
    std::fflush(out);
}

// "127.0.0.1:8080", "[::1]:8080", "localhost:8080", ":8080" (every interface).
bool parseListen(const QString &text, QHostAddress *address, quint16 *port)
{
    static const QRegularExpression pattern(QStringLiteral("^(?:\\[([^\\]]+)\\]|([^:\\[\\]]*)):(\\d{1,5})$"));
    const QRegularExpressionMatch match = pattern.match(text);
    if (!match.hasMatch())
        return false;
    const QString host = match.captured(1).isEmpty() ? match.captured(2) : match.captured(1);
    const uint number = match.captured(3).toUInt();
    if (number > 65535)
        return false;
    if (host.isEmpty())
        *address = QHostAddress(QHostAddress::Any);
    else if (host == QLatin1String("localhost"))
        *address = QHostAddress(QHostAddress::LocalHost);
    else if (!address->setAddress(host))
        return false;
    *port = quint16(number);
    return true;
}

// Says when NATS is there and when it is not, without flooding the terminal.
void reportNatsStatus(const QString &command, NatsConnection *nats, const NatsOptions &options,
                      QObject *context)
{
    const QString urls = NatsCli::describeUrls(options);
    // open() may have connected already, before anyone listened for the change.
    if (nats->isConnected())
        printLine(stdout, QStringLiteral("%1: connected to NATS at %2").arg(command, nats->connectedUrl()));
    QObject::connect(
        nats, &NatsConnection::statusChanged, context, [command, nats, urls](NatsConnection::Status status) {
            if (status == NatsConnection::Status::Connected)
                printLine(stdout,
                          QStringLiteral("%1: connected to NATS at %2").arg(command, nats->connectedUrl()));
            else if (status == NatsConnection::Status::Reconnecting)
                printLine(
                    stderr,
                    QStringLiteral("%1: lost the NATS connection; reconnecting to %2").arg(command, urls));
        });
    QTimer::singleShot(NatsPatienceMs, context, [command, nats, urls] {
        if (!nats->isConnected())
            printLine(
                stderr,
                QStringLiteral("%1: waiting for NATS at %2 (%3); still trying")
                    .arg(command, urls,
                         nats->lastError().isEmpty() ? QStringLiteral("no answer") : nats->lastError()));
    });
}

} // namespace

int runGateway(const QStringList &arguments)
{
    const QString command = QStringLiteral("reswatch gateway");
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Runs an emulated RES gateway: a WebSocket server that serves the RES client protocol "
                       "subset (version, auth) and publishes the connection-tracking events that ResWatch "
                       "follows. Stops cleanly on SIGINT or SIGTERM."));
    parser.addHelpOption();
    parser.addOptions({
        { QStringLiteral("listen"),
          QStringLiteral("Address and port for WebSocket clients (default 127.0.0.1:8080; ':8080' for every "
                         "interface; port 0 picks a free one)."),
          QStringLiteral("host:port"), QStringLiteral("127.0.0.1:8080") },
        { QStringLiteral("gid"), QStringLiteral("Gateway id (default: gw-<host>-<pid>)."),
          QStringLiteral("id") },
        { QStringLiteral("auth-timeout"),
          QStringLiteral("How long to wait for a service to answer an auth request (default 3s)."),
          QStringLiteral("duration"), QStringLiteral("3s") },
        { QStringLiteral("stock"),
          QStringLiteral(
              "Behave like stock Resgate v1.8.0: no tracking events, no system.connections replies.") },
    });
    NatsCli::addOptions(parser);
    if (const auto done = Cli::parse(parser, arguments))
        return *done;

    EmulatedGateway::Options options;
    const QString listen = parser.value(QStringLiteral("listen"));
    if (!parseListen(listen, &options.address, &options.port))
        return Cli::fail(
            command,
            QStringLiteral("invalid --listen '%1': expected host:port, for example 127.0.0.1:8080")
                .arg(listen),
            2);
    const qint64 authTimeoutMs = parseDurationMs(parser.value(QStringLiteral("auth-timeout")));
    if (authTimeoutMs < 1 || authTimeoutMs > 3600 * 1000)
        return Cli::fail(
            command,
            QStringLiteral("invalid --auth-timeout '%1': expected a duration such as 3s or 500ms")
                .arg(parser.value(QStringLiteral("auth-timeout"))),
            2);
    options.authTimeoutMs = int(authTimeoutMs);
    options.gid = parser.value(QStringLiteral("gid"));
    if (parser.isSet(QStringLiteral("gid")) && options.gid.trimmed().isEmpty())
        return Cli::fail(command, QStringLiteral("--gid must not be empty"), 2);
    options.stock = parser.isSet(QStringLiteral("stock"));

    NatsOptions natsOptions;
    QString error;
    if (!NatsCli::readOptions(parser, &natsOptions, &error))
        return Cli::fail(command, error, 2);
    natsOptions.name = QStringLiteral("reswatch gateway");
    // A stock-mode gateway holds one subscription per client: tens of thousands of threads otherwise.
    natsOptions.sharedDeliveryThread = true;

    const QString fileLimitWarning = raiseOpenFileLimit(QStringLiteral("clients can connect"));
    SignalWatcher signalWatcher;
    NatsConnection nats;
    EmulatedGateway gateway(&nats, options);
    // Listen first: a port in use is the user's mistake to fix now, NATS may just be late.
    if (!gateway.start())
        return Cli::fail(command, gateway.errorString());
    if (!nats.open(natsOptions))
        return Cli::fail(command, nats.lastError(), 2);

    printLine(stdout,
              QStringLiteral("%1: gid %2%3, listening on %4")
                  .arg(command, gateway.gid(), options.stock ? QStringLiteral(" (stock mode)") : QString(),
                       gateway.serverUrl().toString()));
    if (!fileLimitWarning.isEmpty())
        printLine(stderr, QStringLiteral("%1: %2").arg(command, fileLimitWarning));
    reportNatsStatus(command, &nats, natsOptions, &gateway);

    bool stopping = false;
    QObject::connect(&signalWatcher, &SignalWatcher::terminationRequested, &gateway, [&](int signalNumber) {
        if (stopping) {
            printLine(stderr, QStringLiteral("%1: second signal, exiting at once").arg(command));
            QCoreApplication::exit(1);
            return;
        }
        stopping = true;
        printLine(stdout,
                  QStringLiteral("%1: signal %2, closing %3 connection(s)")
                      .arg(command)
                      .arg(signalNumber)
                      .arg(gateway.connectionCount()));
        gateway.stop();
    });
    QObject::connect(&gateway, &EmulatedGateway::stopped, &gateway, [&] {
        // The disconnect events and system.stop must reach the server before we go.
        if (nats.isConnected())
            nats.flush(2000);
        QCoreApplication::exit(0);
    });
    return QCoreApplication::exec();
}

int runDemoAuth(const QStringList &arguments)
{
    const QString command = QStringLiteral("reswatch demo-auth");
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Runs the demo authentication service: answers auth.demo.login with params "
                       "{\"user\": \"<name>\", \"role\": \"<role>\"} by setting the connection's token. "
                       "The NATS password option is --nats-password here."));
    parser.addHelpOption();
    parser.addOption({ QStringLiteral("password"),
                       QStringLiteral("Require this password in the login params (\"password\")."),
                       QStringLiteral("password") });
    NatsCli::addOptions(parser, QStringLiteral("nats-password"));
    if (const auto done = Cli::parse(parser, arguments))
        return *done;

    NatsOptions natsOptions;
    QString error;
    if (!NatsCli::readOptions(parser, &natsOptions, &error, QStringLiteral("nats-password")))
        return Cli::fail(command, error, 2);
    natsOptions.name = QStringLiteral("reswatch demo-auth");

    SignalWatcher signalWatcher;
    NatsConnection nats;
    DemoAuthService service(&nats);
    service.setPassword(parser.value(QStringLiteral("password")));
    QObject::connect(&service, &DemoAuthService::ready, &service, [&] {
        printLine(stdout,
                  QStringLiteral("%1: answering %2").arg(command, QLatin1String(DemoAuthService::Subject)));
    });
    if (!nats.open(natsOptions))
        return Cli::fail(command, nats.lastError(), 2);
    reportNatsStatus(command, &nats, natsOptions, &service);
    service.start();

    QObject::connect(&signalWatcher, &SignalWatcher::terminationRequested, &service, [&] {
        service.stop();
        if (nats.isConnected())
            nats.flush(2000);
        QCoreApplication::exit(0);
    });
    return QCoreApplication::exec();
}
