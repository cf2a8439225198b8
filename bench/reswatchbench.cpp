// reswatch-bench: measures ResWatch's performance targets, each against a
// baseline measured in the same run, and prints figure, baseline, ratio and
// whether the target is met. Each benchmark runs in a child process of its own
// so that memory figures are not polluted by the others.
//
//   reswatch-bench            all benchmarks
//   reswatch-bench NAME...    ingest, memory, poll, filter, csv, passive, gateway, dashboard

#include "connectionfilter.h"
#include "csvexporter.h"
#include "natsconnection.h"
#include "natsserverprocess.h"
#include "protocol.h"
#include "testclient.h"
#include "tracker.h"
#include "xid.h"

#include <QApplication>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QFileInfo>
#include <QLoggingCategory>
#include <QProcess>
#include <QRegularExpression>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTimer>
#include <QWebSocket>
#include <QWebSocketServer>

#include <nats/nats.h>

#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <malloc.h>
#include <memory>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

int benchDashboard(); // dashboardbench.cpp

using namespace ResWatch;

int benchPassive(); // passivebench.cpp

namespace {

struct Figure
{
    const char *name;
    double value;
    const char *unit;
    double baseline;
    const char *baselineWhat;
    double target; // ratio or absolute, see higherIsBetter/absoluteTarget
    bool higherIsBetter;
    bool targetIsRatio;
};

void report(const Figure &f)
{
    const double ratio = f.baseline > 0 ? f.value / f.baseline : 0;
    const double judged = f.targetIsRatio ? ratio : f.value;
    const bool pass = f.higherIsBetter ? judged >= f.target : judged <= f.target;
    std::printf("%-28s %12.1f %-9s baseline %12.1f (%s)  ratio %6.2f  target %s %g%s  %s\n", f.name, f.value,
                f.unit, f.baseline, f.baselineWhat, ratio, f.higherIsBetter ? ">=" : "<=", f.target,
                f.targetIsRatio ? "x" : f.unit, pass ? "PASS" : "FAIL");
    std::fflush(stdout);
}

qint64 residentBytes()
{
    QFile statm(QStringLiteral("/proc/self/statm"));
    if (!statm.open(QIODevice::ReadOnly))
        return 0;
    const QList<QByteArray> fields = statm.readAll().split(' ');
    return fields.value(1).toLongLong() * sysconf(_SC_PAGESIZE);
}

QByteArray tokenFor(int n, bool admin)
{
    // 60 bytes of compact JSON, like a typical user token.
    const QByteArray id = QByteArray::number(1'000'000 + n);
    return R"({"user":"user-)" + id + R"(","userId":)" + id + R"(,"role":")" + (admin ? "admin" : "guest")
        + R"("})";
}

std::vector<QByteArray> makeCids(int count)
{
    XidGenerator generator;
    std::vector<QByteArray> cids;
    cids.reserve(size_t(count));
    for (int i = 0; i < count; ++i)
        cids.push_back(generator.next());
    return cids;
}

NatsMessage event(const QByteArray &cid, const char *kind, const QByteArray &payload)
{
    return NatsMessage { "conn." + cid + "." + kind, {}, payload };
}

/// Fills @p tracker with @p count connections on @p gateways gateways, every tenth an admin.
void populate(Tracker &tracker, int count, int gateways = 4)
{
    const std::vector<QByteArray> cids = makeCids(count);
    QList<NatsMessage> batch;
    batch.reserve(20000);
    for (int i = 0; i < count; ++i) {
        const QByteArray gid = "gw-" + QByteArray::number(i % gateways);
        batch.append(event(cids[size_t(i)], "connect", Protocol::connectPayload(gid)));
        batch.append(event(cids[size_t(i)], "token", Protocol::tokenPayload(tokenFor(i, i % 10 == 0))));
        if (batch.size() >= 20000) {
            tracker.handleEvents(batch);
            batch.clear();
        }
    }
    tracker.handleEvents(batch);
    tracker.flushChanges();
}

// 1. Ingest ----------------------------------------------------------------

constexpr int IngestEvents = 2'000'000;
constexpr int LiveWindow = 1000; // connections open at once while the stream churns

/// The subjects of the stream: connects and, LiveWindow events later, the matching disconnects.
std::vector<QByteArray> churnSubjects(const std::vector<QByteArray> &cids)
{
    std::vector<QByteArray> subjects;
    subjects.reserve(cids.size() * 2);
    const int half = int(cids.size());
    for (int i = 0; i < half + LiveWindow; ++i) {
        if (i < half)
            subjects.push_back("conn." + cids[size_t(i)] + ".connect");
        if (i >= LiveWindow)
            subjects.push_back("conn." + cids[size_t(i - LiveWindow)] + ".disconnect");
    }
    return subjects;
}

/**
 * Publishes the stream as fast as the server takes it: the NATS protocol text is
 * prepared beforehand and written to a plain socket in large blocks. A nats.c
 * publisher tops out near 0.6 million messages/s here, below what either
 * subscriber can take, which would hide the difference being measured.
 */
QByteArray protocolStream(const std::vector<QByteArray> &subjects)
{
    const QByteArray payload = Protocol::gatewayEventPayload("gw-bench");
    QByteArray stream = "CONNECT {\"verbose\":false,\"pedantic\":false}\r\n";
    stream.reserve(qsizetype(subjects.size()) * (subjects.front().size() + payload.size() + 16));
    for (const QByteArray &subject : subjects)
        stream += "PUB " + subject + ' ' + QByteArray::number(payload.size()) + "\r\n" + payload + "\r\n";
    return stream + "PING\r\n";
}

void publishChurn(int port, const QByteArray &stream)
{

    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address {};
    address.sin_family = AF_INET;
    address.sin_port = htons(quint16(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0) {
        std::fprintf(stderr, "publisher cannot connect: %s\n", std::strerror(errno));
        return;
    }
    for (qsizetype sent = 0; sent < stream.size();) {
        const ssize_t n = ::send(fd, stream.constData() + sent,
                                 size_t(qMin<qsizetype>(stream.size() - sent, 1 << 20)), 0);
        if (n <= 0)
            break;
        sent += n;
    }
    // The server answers PING once it has processed everything before it.
    char buffer[4096];
    QByteArray received;
    while (!received.contains("PONG")) {
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0)
            break;
        received.append(buffer, n);
    }
    ::close(fd);
}

struct BareCounter
{
    std::atomic<int> received { 0 };
};

void onBareMessage(natsConnection *, natsSubscription *, natsMsg *msg, void *closure)
{
    natsMsg_Destroy(msg);
    static_cast<BareCounter *>(closure)->received.fetch_add(1, std::memory_order_relaxed);
}

/// Events per second through a bare nats.c subscriber that only counts.
double ingestBare(const NatsServerProcess &server, const QByteArray &stream)
{
    natsConnection *nc = nullptr;
    natsSubscription *sub = nullptr;
    BareCounter counter;
    natsConnection_ConnectTo(&nc, server.url().toUtf8().constData());
    natsConnection_Subscribe(&sub, nc, "conn.>", onBareMessage, &counter);
    natsSubscription_SetPendingLimits(sub, -1, -1);
    natsConnection_Flush(nc);
    QElapsedTimer timer;
    timer.start();
    std::thread publisher(publishChurn, server.port(), std::cref(stream));
    while (counter.received.load() < IngestEvents && timer.elapsed() < 120000)
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    const double seconds = timer.nsecsElapsed() / 1e9;
    publisher.join();
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(nc);
    return counter.received.load() / seconds;
}

/// Events per second through NatsConnection's batches into the Tracker.
double ingestTracker(const NatsServerProcess &server, const QByteArray &stream)
{
    NatsConnection connection;
    NatsOptions options;
    options.urls = { server.url() };
    connection.open(options);
    QEventLoop loop;
    QObject::connect(&connection, &NatsConnection::connected, &loop, &QEventLoop::quit);
    QTimer::singleShot(10000, &loop, &QEventLoop::quit);
    if (!connection.isConnected())
        loop.exec();
    Tracker tracker;
    NatsSubscription *subscription = connection.subscribe("conn.>");
    qint64 handled = 0;
    QObject::connect(subscription, &NatsSubscription::received, &tracker,
                     [&](const QList<NatsMessage> &batch) {
                         tracker.handleEvents(batch);
                         handled += batch.size();
                         if (handled >= IngestEvents)
                             loop.quit();
                     });
    connection.flush();
    QElapsedTimer timer;
    timer.start();
    std::thread publisher(publishChurn, server.port(), std::cref(stream));
    QTimer::singleShot(120000, &loop, &QEventLoop::quit);
    loop.exec();
    const double seconds = timer.nsecsElapsed() / 1e9;
    publisher.join();
    if (tracker.stats().badMessages > 0 || tracker.connectionCount() != 0)
        std::fprintf(stderr, "ingest: tracker ended with %d connections and %llu bad messages\n",
                     tracker.connectionCount(), qulonglong(tracker.stats().badMessages));
    return handled / seconds;
}

int benchIngest()
{
    NatsServerProcess server;
    if (!server.start()) {
        std::fprintf(stderr, "ingest: %s\n", qPrintable(server.error()));
        return 1;
    }
    const QByteArray stream = protocolStream(churnSubjects(makeCids(IngestEvents / 2)));
    const double bare = ingestBare(server, stream);
    const double tracked = ingestTracker(server, stream);
    report({ "ingest (events/s)", tracked, "ev/s", bare, "bare nats.c subscriber", 0.5, true, true });
    return 0;
}

// 2. Memory ----------------------------------------------------------------

int benchMemory()
{
    constexpr int Count = 1'000'000;
    Tracker tracker;
    // The messages are built in batches and freed, so only the tracker's state remains.
    // malloc_trim: count what the tracker holds, not what the allocator kept of freed batches.
    malloc_trim(0);
    const qint64 before = residentBytes();
    populate(tracker, Count);
    malloc_trim(0);
    const qint64 after = residentBytes();
    const double perConnection = double(after - before) / Count;
    // Baseline: the bytes of information itself (20-character cid + 60-byte token).
    report({ "memory (bytes/connection)", perConnection, "B", 80.0, "cid + token bytes", 250, false, false });
    return tracker.connectionCount() == Count ? 0 : 1;
}

// 3. Poll ------------------------------------------------------------------

int benchPoll()
{
    constexpr int Gateways = 8;
    constexpr int PerGateway = 50'000;
    std::vector<QByteArray> payloads;
    const std::vector<QByteArray> cids = makeCids(Gateways * PerGateway);
    for (int g = 0; g < Gateways; ++g) {
        std::vector<Protocol::ConnectionEntry> entries;
        entries.reserve(PerGateway);
        for (int i = 0; i < PerGateway; ++i) {
            const int n = g * PerGateway + i;
            entries.push_back(
                { cids[size_t(n)], tokenFor(n, n % 10 == 0), {}, "127.0.0.1:40000", "localhost" });
        }
        for (QByteArray &payload :
             Protocol::connectionsReplyPayloads("gw-" + QByteArray::number(g), entries, 1 << 20))
            payloads.push_back(std::move(payload));
    }

    QElapsedTimer timer;
    timer.start();
    qsizetype parsed = 0;
    for (const QByteArray &payload : payloads)
        parsed += qsizetype(Protocol::parseConnectionsReply(payload).message.connections.size());
    const double parseMs = timer.nsecsElapsed() / 1e6;

    Tracker tracker;
    auto poll = [&] {
        QElapsedTimer t;
        t.start();
        tracker.beginPoll();
        for (const QByteArray &payload : payloads)
            tracker.handlePollReply(payload);
        tracker.endPoll();
        tracker.flushChanges();
        return t.nsecsElapsed() / 1e6;
    };
    const double firstMs = poll(); // builds the state from nothing
    const double steadyMs = poll(); // the same truth again: every poll after the first
    report({ "poll: first (ms)", firstMs, "ms", parseMs, "parse same bytes", 3, false, true });
    report({ "poll: steady (ms)", steadyMs, "ms", parseMs, "parse same bytes", 3, false, true });
    return tracker.connectionCount() == parsed ? 0 : 1;
}

// 4. Filter ----------------------------------------------------------------

int benchFilter()
{
    constexpr int Count = 1'000'000;
    Tracker tracker;
    populate(tracker, Count);
    const ConnectionFilter filter = ConnectionFilter::parse(QStringLiteral("role=admin"));
    const QVector<Gateway> &gateways = tracker.gateways();

    QElapsedTimer timer;
    timer.start();
    int matched = 0;
    for (quint32 slot = 0; slot < tracker.slotCount(); ++slot) {
        if (const Connection *c = tracker.connectionAt(slot))
            matched += filter.matches(*c, gateways.at(int(c->gateway)).gid);
    }
    const double filterMs = timer.nsecsElapsed() / 1e6;

    timer.restart();
    int scanned = 0;
    for (quint32 slot = 0; slot < tracker.slotCount(); ++slot) {
        if (const Connection *c = tracker.connectionAt(slot))
            scanned += c->token.contains(R"("role":"admin")");
    }
    const double scanMs = timer.nsecsElapsed() / 1e6;
    report({ "filter role=admin 1M (ms)", filterMs, "ms", scanMs, "substring scan", 200, false, false });
    return matched == scanned && matched == Count / 10 ? 0 : 1;
}

// 5. CSV -------------------------------------------------------------------

int benchCsv()
{
    constexpr int Count = 1'000'000;
    Tracker tracker;
    populate(tracker, Count);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("snapshot.csv"));

    QElapsedTimer timer;
    timer.start();
    CsvExporter exporter(tracker);
    if (!exporter.exportTo(path)) {
        std::fprintf(stderr, "csv: %s\n", qPrintable(exporter.errorString()));
        return 1;
    }
    const double csvMs = timer.nsecsElapsed() / 1e6;
    const qint64 bytes = QFileInfo(path).size();

    // Baseline: writing the same number of bytes in 1 MiB blocks.
    timer.restart();
    QFile raw(dir.filePath(QStringLiteral("raw.bin")));
    raw.open(QIODevice::WriteOnly);
    const QByteArray block(1 << 20, 'x');
    for (qint64 written = 0; written < bytes; written += block.size())
        raw.write(block);
    raw.close();
    const double rawMs = timer.nsecsElapsed() / 1e6;
    report({ "csv 1M rows (ms)", csvMs, "ms", rawMs, "raw write same bytes", 1500, false, false });
    return 0;
}

// 6. Gateway ---------------------------------------------------------------

constexpr int GatewayConnections = 10'000;
// 500 new connections per 10 ms tick. With 5,000 a tick (50,000/s), most handshakes ran past
// the client's 10 s timeout against either server here (the SYN backlog is 2,048).
constexpr double GatewayRampRate = 5000;
constexpr char BareServerFlag[] = "--bare-websocket-server";

/// VmRSS of another process, from /proc/<pid>/status.
qint64 residentBytesOf(qint64 pid)
{
    QFile status(QStringLiteral("/proc/%1/status").arg(pid));
    if (!status.open(QIODevice::ReadOnly))
        return 0;
    for (const QByteArray &line : status.readAll().split('\n')) {
        if (line.startsWith("VmRSS:"))
            return line.mid(6).trimmed().split(' ').first().toLongLong() * 1024;
    }
    return 0;
}

/**
 * The baseline server, run as a child process like the gateway: a
 * QWebSocketServer with the gateway's listen backlog that accepts every
 * connection and does nothing else with it.
 */
int runBareWebSocketServer()
{
    QTcpServer tcpServer;
    QWebSocketServer webSocketServer(QStringLiteral("bare"), QWebSocketServer::NonSecureMode);
    tcpServer.setListenBacklogSize(4096);
    webSocketServer.setMaxPendingConnections(4096);
    QObject::connect(&tcpServer, &QTcpServer::newConnection, &tcpServer, [&] {
        while (QTcpSocket *socket = tcpServer.nextPendingConnection())
            webSocketServer.handleConnection(socket);
    });
    QList<QWebSocket *> clients;
    QObject::connect(&webSocketServer, &QWebSocketServer::newConnection, &webSocketServer, [&] {
        while (QWebSocket *socket = webSocketServer.nextPendingConnection())
            clients.append(socket);
    });
    if (!tcpServer.listen(QHostAddress::LocalHost, 0))
        return 1;
    std::printf("listening on ws://127.0.0.1:%d/\n", tcpServer.serverPort());
    std::fflush(stdout);
    return QCoreApplication::exec();
}

/// Starts @p process and returns the ws:// URL it prints, or an empty URL.
QUrl startServerProcess(QProcess &process, const QString &program, const QStringList &arguments,
                        const QByteArray &readyText)
{
    process.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    // An interrupted benchmark leaves no server behind.
    process.setChildProcessModifier([] { ::prctl(PR_SET_PDEATHSIG, SIGKILL); });
    process.start(program, arguments);
    if (!process.waitForStarted(5000))
        return {};
    QByteArray output;
    static const QRegularExpression listening(QStringLiteral("listening on (ws://\\S+)"));
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < 10000 && process.state() == QProcess::Running) {
        process.waitForReadyRead(100);
        output += process.readAllStandardOutput();
        const QRegularExpressionMatch match = listening.match(QString::fromLocal8Bit(output));
        if (match.hasMatch() && output.contains(readyText))
            return QUrl(match.captured(1));
    }
    return {};
}

/// Seconds until the test client holds GatewayConnections open connections to @p url; -1 on timeout.
double openConnections(TestClient &client, const QUrl &url)
{
    TestClientSettings settings;
    settings.urls = { url };
    settings.connections = GatewayConnections;
    settings.ratePerSecond = qEnvironmentVariableIsSet("RESWATCH_BENCH_GATEWAY_RATE")
        ? qEnvironmentVariable("RESWATCH_BENCH_GATEWAY_RATE").toDouble()
        : GatewayRampRate;
    settings.sendVersion = false; // the bare server would not answer: measure opening only
    QEventLoop loop;
    QTimer check; // stats() is exact; statsChanged() comes up to 100 ms late
    check.setInterval(20);
    QObject::connect(&check, &QTimer::timeout, &loop, [&] {
        if (client.stats().open >= GatewayConnections)
            loop.quit();
    });
    QTimer::singleShot(60000, &loop, &QEventLoop::quit);
    QElapsedTimer timer;
    timer.start();
    QString error;
    if (!client.start(settings, &error)) {
        std::fprintf(stderr, "gateway: %s\n", qPrintable(error));
        return -1;
    }
    check.start();
    loop.exec();
    const double seconds = timer.nsecsElapsed() / 1e9;
    const TestClientStats stats = client.stats();
    if (stats.failed > 0)
        std::fprintf(stderr, "gateway: %d handshakes failed on the way (retried): %s\n", stats.failed,
                     qPrintable(QStringList(stats.failureReasons.keys()).join(QStringLiteral("; "))));
    return stats.open >= GatewayConnections ? seconds : -1;
}

/// How many connections the gateways on @p nats report in one system.connections poll.
int polledConnections(NatsConnection &nats)
{
    NatsRequest *request = nats.request("system.connections", QByteArray(), 500, 5000);
    if (!request)
        return -1;
    QEventLoop loop;
    int count = 0;
    QObject::connect(request, &NatsRequest::finished, &loop, [&](const QList<NatsMessage> &replies) {
        for (const NatsMessage &reply : replies)
            count += int(Protocol::parseConnectionsReply(reply.data).message.connections.size());
        loop.quit();
    });
    QTimer::singleShot(10000, &loop, &QEventLoop::quit);
    loop.exec();
    return count;
}

int benchGateway()
{
    // Baseline: the same client against a WebSocket server that does nothing.
    double bareSeconds = -1;
    qint64 bareBefore = 0, bareAfter = 0;
    {
        QProcess bare;
        const QUrl url = startServerProcess(bare, QCoreApplication::applicationFilePath(),
                                            { QLatin1String(BareServerFlag) }, "listening");
        if (url.isEmpty()) {
            std::fprintf(stderr, "gateway: the bare WebSocket server did not start\n");
            return 1;
        }
        bareBefore = residentBytesOf(bare.processId());
        TestClient client;
        bareSeconds = openConnections(client, url);
        bareAfter = residentBytesOf(bare.processId());
        bare.kill();
        bare.waitForFinished(5000);
    }
    if (bareSeconds < 0) {
        std::fprintf(stderr, "gateway: the bare server did not get %d connections\n", GatewayConnections);
        return 1;
    }

    // The real `reswatch gateway` on a real nats-server.
    NatsServerProcess server;
    if (!server.start()) {
        std::fprintf(stderr, "gateway: %s\n", qPrintable(server.error()));
        return 1;
    }
    QProcess gateway;
    const QUrl url = startServerProcess(gateway, QStringLiteral(RESWATCH_EXECUTABLE),
                                        { QStringLiteral("gateway"), QStringLiteral("--listen"),
                                          QStringLiteral("127.0.0.1:0"), QStringLiteral("--nats"),
                                          server.url(), QStringLiteral("--gid"), QStringLiteral("gw-bench") },
                                        "connected to NATS");
    if (url.isEmpty()) {
        std::fprintf(stderr, "gateway: reswatch gateway did not start\n");
        return 1;
    }
    const qint64 before = residentBytesOf(gateway.processId());
    auto client = std::make_unique<TestClient>();
    const double seconds = openConnections(*client, url);
    if (seconds < 0) {
        std::fprintf(stderr, "gateway: reswatch gateway did not get %d connections\n", GatewayConnections);
        return 1;
    }
    // The gateway's own count, over NATS: every connection is known to it, not just open on the socket.
    NatsConnection nats;
    NatsOptions options;
    options.urls = { server.url() };
    nats.open(options);
    QElapsedTimer wait;
    wait.start();
    while (!nats.isConnected() && wait.elapsed() < 5000)
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 50);
    const int polled = polledConnections(nats);
    const qint64 after = residentBytesOf(gateway.processId());
    client.reset(); // aborts the sockets: the gateway need not wait for close handshakes
    gateway.terminate();
    gateway.waitForFinished(10000);

    report({ "gateway: open 10k (s)", seconds, "s", bareSeconds, "bare QWebSocketServer", 10, false, false });
    std::printf("%-28s %12.1f %-9s baseline %12.1f (%s)\n", "gateway: memory/connection",
                double(after - before) / GatewayConnections, "B",
                double(bareAfter - bareBefore) / GatewayConnections, "bare QWebSocketServer");
    std::printf("%-28s %12.1f %-9s -> %.1f MiB with %d connections (gateway's system.connections: %d)\n",
                "gateway: VmRSS before", before / 1048576.0, "MiB", after / 1048576.0, GatewayConnections,
                polled);
    std::fflush(stdout);
    return polled == GatewayConnections ? 0 : 1;
}

/// The client sockets of the gateway benchmark need more than the usual 1024 descriptors.
void raiseOpenFileLimit()
{
    rlimit limit {};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

const std::pair<const char *, std::function<int()>> benchmarks[] = {
    { "ingest", benchIngest },   { "memory", benchMemory },
    { "poll", benchPoll },       { "filter", benchFilter },
    { "csv", benchCsv },         { "passive", benchPassive },
    { "gateway", benchGateway }, { "dashboard", benchDashboard },
};

} // namespace

int main(int argc, char *argv[])
{
    // With 10,000 sockets, Qt's glib event dispatcher dominates the gateway benchmark (every
    // iteration polls every descriptor, notifiers sit in linear lists): the plain Unix dispatcher
    // for the client, the bare server and the gateway alike, so that the servers are measured.
    if (argc == 2 && (std::strcmp(argv[1], "gateway") == 0 || std::strcmp(argv[1], BareServerFlag) == 0)
        && !qEnvironmentVariableIsSet("QT_NO_GLIB"))
        qputenv("QT_NO_GLIB", "1");
    // Only the dashboard benchmark needs widgets: the others keep the lighter
    // QCoreApplication, so their memory figures carry no GUI libraries' state.
    const bool widgets = argc == 2 && qstrcmp(argv[1], "dashboard") == 0;
    if (widgets && qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    std::unique_ptr<QCoreApplication> application = widgets ? std::make_unique<QApplication>(argc, argv)
                                                            : std::make_unique<QCoreApplication>(argc, argv);
    QCoreApplication &app = *application;
    QLoggingCategory::setFilterRules(QStringLiteral("reswatch.*.debug=false\nreswatch.*.info=false"));
    // Before any child starts: they inherit it.
    raiseOpenFileLimit();
    QStringList names = app.arguments().mid(1);
    if (names == QStringList { QLatin1String(BareServerFlag) })
        return runBareWebSocketServer();
    if (names.size() == 1) {
        for (const auto &[name, run] : benchmarks)
            if (names.first() == QLatin1String(name))
                return run();
    }
    if (names.isEmpty())
        for (const auto &[name, run] : benchmarks)
            names << QLatin1String(name);
    std::printf("reswatch-bench on %d cores; each benchmark in its own process\n",
                int(std::thread::hardware_concurrency()));
    std::fflush(stdout);
    int failures = 0;
    for (const QString &name : std::as_const(names)) {
        QProcess child;
        child.setProcessChannelMode(QProcess::ForwardedChannels);
        child.start(app.applicationFilePath(), { name });
        child.waitForFinished(-1);
        failures += child.exitCode() != 0;
    }
    return failures == 0 ? 0 : 1;
}
