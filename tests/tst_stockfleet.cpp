// Stock Resgate fleets (EmulatedGateway in stock mode, and `reswatch gateway --stock` as a
// process) tracked passively, wired the way `reswatch track` wires it: MonitorSource reads
// nats-server's /connz, Observer sees the requests the gateways send, LiveTracker the token
// events. The tracker must show exactly what the gateways hold; the fleet must behave the same
// with ResWatch watching; and the `track` and `snapshot --monitor` commands must write it.

#include "demoauthservice.h"
#include "emulatedgateway.h"
#include "gatewaytestsupport.h"
#include "livetracker.h"
#include "monitorsource.h"
#include "natsconnection.h"
#include "natsserver.h"
#include "observer.h"
#include "tracker.h"

#include <QFile>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include <memory>
#include <vector>

using namespace ResWatch;

namespace {

NatsServer::Options monitored()
{
    NatsServer::Options options;
    options.monitoring = true;
    options.extraConfig = "server_name: n1\n";
    return options;
}

TrackerSettings fastSettings()
{
    TrackerSettings settings;
    settings.pollIntervalMs = 250; // LiveTracker polls and MonitorSource reads this often
    settings.staleAfterMissedPolls = 2;
    settings.gracePeriodMs = 1000;
    settings.changeIntervalMs = 20;
    return settings;
}

/// ResWatch watching the fleet, as `reswatch track --nats URL --monitor URL` wires it.
struct Watcher
{
    Tracker tracker { fastSettings() };
    NatsConnection nats;
    std::unique_ptr<LiveTracker> live;
    std::unique_ptr<Observer> observer;
    std::unique_ptr<MonitorSource> monitor;

    bool start(const NatsServer &server)
    {
        if (!nats.open(testNatsOptions(server, QStringLiteral("reswatch-track"))))
            return false;
        live = std::make_unique<LiveTracker>(&nats, &tracker);
        live->setPollWindow(100, 1000);
        observer = std::make_unique<Observer>(&nats, &tracker);
        monitor = std::make_unique<MonitorSource>(&tracker);
        if (monitor->addEndpoint(QUrl(server.monitorUrl())).isEmpty())
            return false;
        monitor->start();
        return waitForNats(nats) && QTest::qWaitFor([&] { return observer->isObserving(); }, 5000)
            && nats.flush();
    }

    /// The live gateway whose NATS connection is called @p natsName, or whose gid is @p natsName.
    const Gateway *gateway(const QString &name) const
    {
        for (const Gateway &g : tracker.gateways()) {
            if (!g.removed && (g.natsName == name || g.gid == name))
                return &g;
        }
        return nullptr;
    }

    /// "cid|token|remoteAddr|host" of every live connection of @p name's gateway, sorted. A token
    /// that is not known yet shows like no token: neither is in the fleet's truth.
    QStringList connections(const QString &name) const
    {
        const Gateway *g = gateway(name);
        if (!g)
            return {};
        const quint32 index = quint32(g - tracker.gateways().constData());
        QStringList items;
        for (quint32 slot = 0; slot < tracker.slotCount(); ++slot) {
            const Connection *c = tracker.connectionAt(slot);
            if (!c || c->gateway != index || tracker.slotOf(c->cid.view()) != qint64(slot)
                || c->state != ConnectionState::Live)
                continue;
            items << QStringLiteral("%1|%2|%3|%4")
                         .arg(c->cid.toString(), QString::fromUtf8(c->hasToken() ? c->token : QByteArray()),
                              QString::fromLatin1(c->remoteAddr()), QString::fromLatin1(c->host()));
        }
        items.sort();
        return items;
    }

    /// Gateways that are not removed: "source" for each, sorted (a duplicate shows twice).
    QStringList gatewaySources() const
    {
        QStringList items;
        for (const Gateway &g : tracker.gateways()) {
            if (!g.removed)
                items << toString(g.source);
        }
        items.sort();
        return items;
    }

    const Connection *connection(const QByteArray &cid) const
    {
        const qint64 slot = tracker.slotOf(cid);
        return slot < 0 ? nullptr : tracker.connectionAt(quint32(slot));
    }
};

/// The same as Watcher::connections() from the gateway's own records. A stock gateway tells
/// nobody the address of a connection that never authenticated (only its auth requests carry it).
QStringList truth(const EmulatedGateway &gateway)
{
    QStringList items;
    for (const Protocol::ConnectionEntry &e : gateway.connections()) {
        const bool addressKnown = !gateway.isStock() || !e.token.isEmpty();
        items << QStringLiteral("%1|%2|%3|%4")
                     .arg(QString::fromLatin1(e.cid), QString::fromUtf8(e.token),
                          addressKnown ? QString::fromLatin1(e.remoteAddr) : QString(),
                          addressKnown ? QString::fromLatin1(e.host) : QString());
    }
    items.sort();
    return items;
}

QStringList cidsOf(const EmulatedGateway &gateway)
{
    QStringList cids;
    for (const Protocol::ConnectionEntry &e : gateway.connections())
        cids << QString::fromLatin1(e.cid);
    cids.sort();
    return cids;
}

/// A gateway in this process on its own NATS connection, named so that the tracker's Gateway can
/// be found by Gateway::natsName.
struct InProcessGateway
{
    NatsConnection nats;
    std::unique_ptr<EmulatedGateway> gateway;
    std::vector<std::unique_ptr<WsClient>> clients;

    bool start(const NatsServer &server, const QString &name, bool stock = true)
    {
        // A native gateway is found by its gid; its NATS name must not look like one.
        const QString natsName = stock ? name : name + QStringLiteral(" (nats)");
        if (!nats.open(testNatsOptions(server, natsName)) || !waitForNats(nats))
            return false;
        EmulatedGateway::Options options;
        options.stock = stock;
        options.gid = stock ? QString() : name;
        gateway = std::make_unique<EmulatedGateway>(&nats, options);
        if (!gateway->start())
            return false;
        return stock || QTest::qWaitFor([&] { return gateway->hasAnnouncedStart(); }, 5000);
    }

    WsClient *connect()
    {
        clients.push_back(std::make_unique<WsClient>());
        const int before = gateway->connectionCount();
        if (!clients.back()->open(gateway->serverUrl())
            || !QTest::qWaitFor([&] { return gateway->connectionCount() > before; }, 5000))
            return nullptr;
        return clients.back().get();
    }
};

QJsonObject loginParams(const QString &user, const QString &role)
{
    return QJsonObject { { QStringLiteral("user"), user }, { QStringLiteral("role"), role } };
}

QString expectedToken(const QString &user, const QString &role)
{
    // The text demo-auth publishes, which the tracker keeps as it came.
    return QStringLiteral("{\"user\":\"%1\",\"userId\":%2,\"role\":\"%3\"}")
        .arg(user)
        .arg(DemoAuthService::userIdFor(user))
        .arg(role);
}

/// Logs @p client in through demo-auth as @p user; true when the reply to this request carries the
/// token demo-auth gives (the client sees it re-encoded: compared as JSON).
bool login(WsClient &client, int id, const QString &user, const QString &role = QStringLiteral("user"))
{
    const auto reply = client.request(id, QStringLiteral("auth.demo.login"), loginParams(user, role));
    if (!reply || reply->value(QStringLiteral("id")).toInt() != id)
        return false;
    const QJsonValue payload
        = reply->value(QStringLiteral("result")).toObject().value(QStringLiteral("payload"));
    return payload.toObject() == jsonObject(expectedToken(user, role).toUtf8());
}

/// RFC 4180 as CsvWriter writes it: the header's names to each row's cells.
QList<QHash<QString, QString>> parseCsv(const QByteArray &data)
{
    QList<QStringList> records;
    QStringList record;
    QString cell;
    bool quoted = false;
    const QString text = QString::fromUtf8(data);
    for (qsizetype i = 0; i < text.size(); ++i) {
        const QChar ch = text.at(i);
        if (quoted) {
            if (ch == QLatin1Char('"') && i + 1 < text.size() && text.at(i + 1) == QLatin1Char('"')) {
                cell += ch;
                ++i;
            } else if (ch == QLatin1Char('"')) {
                quoted = false;
            } else {
                cell += ch;
            }
        } else if (ch == QLatin1Char('"')) {
            quoted = true;
        } else if (ch == QLatin1Char(',')) {
            record << cell;
            cell.clear();
        } else if (ch == QLatin1Char('\n')) {
            record << cell;
            cell.clear();
            records << record;
            record.clear();
        } else if (ch != QLatin1Char('\r')) {
            cell += ch;
        }
    }
    QList<QHash<QString, QString>> rows;
    for (int r = 1; r < records.size(); ++r) {
        QHash<QString, QString> row;
        for (int c = 0; c < records.at(0).size(); ++c)
            row.insert(records.at(0).at(c), records.at(r).value(c));
        rows << row;
    }
    return rows;
}

/// "cid|gid|token" of every row, sorted.
QStringList csvRows(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return { QStringLiteral("cannot read ") + path };
    QStringList items;
    for (const auto &row : parseCsv(file.readAll()))
        items << row.value(QStringLiteral("cid")) + QLatin1Char('|') + row.value(QStringLiteral("gid"))
                + QLatin1Char('|') + row.value(QStringLiteral("token"));
    items.sort();
    return items;
}

/// Whether a NATS client called @p name holds a subscription on @p subject (nats-server's /connz).
bool holdsSubscription(const NatsServer &server, const QString &name, const QString &subject)
{
    QNetworkAccessManager network;
    QNetworkReply *reply
        = network.get(QNetworkRequest(QUrl(server.monitorUrl() + QStringLiteral("/connz?subs=1"))));
    if (!QTest::qWaitFor([&] { return reply->isFinished(); }, 5000))
        return false;
    const QJsonArray connections
        = jsonObject(reply->readAll()).value(QStringLiteral("connections")).toArray();
    reply->deleteLater();
    for (const QJsonValue &c : connections) {
        const QJsonObject object = c.toObject();
        if (object.value(QStringLiteral("name")).toString() == name
            && object.value(QStringLiteral("subscriptions_list")).toArray().contains(subject))
            return true;
    }
    return false;
}

} // namespace

class TestStockFleet : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void init()
    {
        server = std::make_unique<NatsServer>(monitored());
        QVERIFY2(server->start(), qPrintable(server->error()));
        QVERIFY(authNats.open(testNatsOptions(*server, QStringLiteral("demo-auth"))));
        QVERIFY(waitForNats(authNats));
        auth = std::make_unique<DemoAuthService>(&authNats);
        auth->start();
        QTRY_VERIFY(auth->isRunning());
        QVERIFY(authNats.flush());
    }
    void cleanup()
    {
        auth.reset();
        authNats.close();
        server.reset();
    }

    void trackerShowsTheStockFleet();
    void sigkilledStockGateway();
    void mixedFleet_data();
    void mixedFleet();
    void commandsWriteTheFleet_data();
    void commandsWriteTheFleet();

private:
    std::unique_ptr<NatsServer> server;
    NatsConnection authNats;
    std::unique_ptr<DemoAuthService> auth;
};

void TestStockFleet::trackerShowsTheStockFleet()
{
    Watcher watcher;
    QVERIFY(watcher.start(*server));
    // Everything the fleet's NATS traffic carries on auth requests and their replies.
    NatsObserver wire;
    QVERIFY(wire.start(*server, { "auth.>", "_INBOX.>" }));

    InProcessGateway a, b;
    QVERIFY(a.start(*server, QStringLiteral("stock A")));
    QVERIFY(b.start(*server, QStringLiteral("stock B")));
    WsClient *a1 = a.connect(), *a2 = a.connect(), *a3 = a.connect();
    WsClient *b1 = b.connect(), *b2 = b.connect();
    QVERIFY(a1 && a2 && a3 && b1 && b2);
    QTRY_COMPARE(watcher.connections(QStringLiteral("stock A")), truth(*a.gateway));
    QTRY_COMPARE(watcher.connections(QStringLiteral("stock B")), truth(*b.gateway));
    // Two gateways, each once, both seen through the monitor; ResWatch's and demo-auth's own NATS
    // connections are not gateways.
    QCOMPARE(watcher.gatewaySources(), QStringList({ QStringLiteral("monitor"), QStringLiteral("monitor") }));
    const Gateway *ga = watcher.gateway(QStringLiteral("stock A"));
    QVERIFY(ga->gid.startsWith(QLatin1String("n1/")));
    QVERIFY(ga->natsAddress.startsWith(QLatin1String("127.0.0.1:")));
    QCOMPARE(ga->server, QStringLiteral("n1"));
    QCOMPARE(ga->monitor, server->monitorUrl());

    // Demo-auth: each client gets its token back once, and the tracker learns it with the address.
    QVERIFY(login(*a1, 1, QStringLiteral("alice"), QStringLiteral("admin")));
    QVERIFY(login(*a3, 1, QStringLiteral("carol")));
    QVERIFY(login(*b2, 7, QStringLiteral("bob")));
    QTRY_COMPARE(watcher.connections(QStringLiteral("stock A")), truth(*a.gateway));
    QTRY_COMPARE(watcher.connections(QStringLiteral("stock B")), truth(*b.gateway));
    for (const QString &line : truth(*a.gateway) + truth(*b.gateway)) {
        const QStringList cells = line.split(QLatin1Char('|'));
        if (!cells.at(1).isEmpty())
            QVERIFY(watcher.connection(cells.at(0).toLatin1())->isTokenKnown());
    }

    // A second login changes the token; the request it sends carries the old one.
    QVERIFY(login(*a1, 2, QStringLiteral("alice"), QStringLiteral("viewer")));
    QTRY_COMPARE(watcher.connections(QStringLiteral("stock A")), truth(*a.gateway));

    // The fleet behaves as without ResWatch: one answer per request, on the wire and at the client.
    QCOMPARE(auth->answeredCount(), 4);
    QTRY_VERIFY(watcher.observer->requestsSeen() >= 4);
    for (WsClient *client : { a1, a2, a3, b1, b2 })
        QVERIFY(client->answersVersion());
    QCOMPARE(a1->received.size(), 3); // two logins and the version
    QCOMPARE(a2->received.size(), 1);
    QCOMPARE(b2->received.size(), 2);
    const QList<NatsMessage> requests = wire.withSubject("auth.demo.login");
    QCOMPARE(requests.size(), 4);
    for (const NatsMessage &request : requests) {
        QVERIFY(!request.reply.isEmpty());
        QCOMPARE(wire.withSubject(request.reply).size(), 1);
    }

    // Disconnects: a clean close and a dropped socket.
    a1->socket.close();
    b1->socket.abort();
    QTRY_COMPARE(a.gateway->connectionCount(), 2);
    QTRY_COMPARE(b.gateway->connectionCount(), 1);
    QTRY_COMPARE(watcher.connections(QStringLiteral("stock A")), truth(*a.gateway));
    QTRY_COMPARE(watcher.connections(QStringLiteral("stock B")), truth(*b.gateway));
    QCOMPARE(watcher.tracker.connectionCount(), 3);
    QStringList ends;
    for (const ClosedConnection &c : watcher.tracker.closedConnections())
        ends << toString(c.reason);
    QCOMPARE(ends, QStringList({ QStringLiteral("disconnected"), QStringLiteral("disconnected") }));
    QCOMPARE(watcher.tracker.stats().badMessages, quint64(0));
}

void TestStockFleet::sigkilledStockGateway()
{
    Watcher watcher;
    QVERIFY(watcher.start(*server));
    InProcessGateway a;
    QVERIFY(a.start(*server, QStringLiteral("stock A")));
    QVERIFY(a.connect());
    GatewayProcess b;
    QVERIFY(b.start(*server, { QStringLiteral("--stock") }));
    QVERIFY(b.output.contains("stock mode"));

    // The process's connections, from its clients' side: "token|remoteAddr" (all logged in).
    std::vector<std::unique_ptr<WsClient>> clients;
    QStringList expected;
    for (int i = 0; i < 3; ++i) {
        clients.push_back(std::make_unique<WsClient>());
        QVERIFY(clients.back()->open(b.url));
        const QString user = QStringLiteral("user%1").arg(i);
        QVERIFY(login(*clients.back(), 1, user));
        expected << expectedToken(user, QStringLiteral("user")) + QLatin1Char('|')
                + QString::fromLatin1(clients.back()->localAddress());
    }
    expected.sort();
    const QString name = QStringLiteral("reswatch gateway"); // the NATS name `reswatch gateway` uses
    auto seen = [&] {
        QStringList items;
        for (const QString &line : watcher.connections(name)) {
            const QStringList cells = line.split(QLatin1Char('|'));
            items << cells.at(1) + QLatin1Char('|') + cells.at(2);
        }
        items.sort();
        return items;
    };
    QTRY_COMPARE(seen(), expected);
    QTRY_COMPARE(watcher.connections(QStringLiteral("stock A")), truth(*a.gateway));
    const QString gid = watcher.gateway(name)->gid;
    QStringList cids;
    for (const QString &line : watcher.connections(name))
        cids << line.section(QLatin1Char('|'), 0, 0);

    // Killed: no goodbye from the gateway, but nats-server drops its client and its subscriptions.
    b.process.kill();
    QVERIFY(b.process.waitForFinished(5000));
    QTRY_COMPARE(watcher.connections(name), QStringList());
    QStringList ended;
    for (const ClosedConnection &c : watcher.tracker.closedConnections()) {
        QCOMPARE(c.gid, gid);
        QCOMPARE(toString(c.reason), toString(EndReason::GatewayStopped));
        ended << c.connection.cid.toString();
    }
    ended.sort();
    cids.sort();
    QCOMPARE(ended, cids);
    // Stopped at once, then removed after the grace period.
    const Gateway *stopped = watcher.tracker.gatewayByGid(gid);
    QVERIFY(stopped && (stopped->removed || stopped->state == GatewayState::Stopped));
    QTRY_VERIFY_WITH_TIMEOUT(!watcher.gateway(gid), 5000);
    // The other gateway was not affected, and its clients notice nothing.
    QCOMPARE(watcher.connections(QStringLiteral("stock A")), truth(*a.gateway));
    QCOMPARE(watcher.gatewaySources(), QStringList { QStringLiteral("monitor") });
    QVERIFY(a.clients.front()->answersVersion());
}

void TestStockFleet::mixedFleet_data()
{
    QTest::addColumn<bool>("nativeHoldsSubscriptions");
    QTest::newRow("native gateway") << false;
    // A Resgate that tracks but, like stock Resgate, also holds conn.<cid>.* per connection: the
    // monitor sees its connections too.
    QTest::newRow("native gateway holding conn.<cid>.*") << true;
}

void TestStockFleet::mixedFleet()
{
    QFETCH(bool, nativeHoldsSubscriptions);
    Watcher watcher;
    QVERIFY(watcher.start(*server));
    QHash<QByteArray, NatsSubscription *> held; // outlives the gateways, which use it until they go
    InProcessGateway stock, native;
    QVERIFY(stock.start(*server, QStringLiteral("stock A")));
    QVERIFY(native.start(*server, QStringLiteral("gw-native"), false));
    if (nativeHoldsSubscriptions) {
        NatsConnection *nats = &native.nats;
        connect(native.gateway.get(), &EmulatedGateway::clientConnected, native.gateway.get(),
                [&held, nats](const QByteArray &cid) {
                    held.insert(cid, nats->subscribe("conn." + cid + ".*"));
                });
        connect(native.gateway.get(), &EmulatedGateway::clientDisconnected, native.gateway.get(),
                [&held](const QByteArray &cid) { delete held.take(cid); });
    }
    WsClient *s1 = stock.connect(), *s2 = stock.connect();
    WsClient *n1 = native.connect(), *n2 = native.connect(), *n3 = native.connect();
    QVERIFY(s1 && s2 && n1 && n2 && n3);
    QVERIFY(native.nats.flush());
    QVERIFY(login(*s2, 1, QStringLiteral("sam")));
    QVERIFY(login(*n1, 1, QStringLiteral("nina"), QStringLiteral("admin")));

    QTRY_COMPARE(watcher.connections(QStringLiteral("stock A")), truth(*stock.gateway));
    QTRY_COMPARE(watcher.connections(QStringLiteral("gw-native")), truth(*native.gateway));
    // At least one whole monitor read after that (the one in flight may have begun earlier), which
    // lists the native connections too when the native gateway holds their subscriptions.
    QSignalSpy reads(watcher.monitor.get(), &MonitorSource::pollFinished);
    QTRY_VERIFY(reads.size() >= 2);
    watcher.tracker.flushChanges();
    QCOMPARE(watcher.monitor->statuses().first().connections, nativeHoldsSubscriptions ? 5 : 2);
    // Every gateway once, marked by where it was learnt; every connection once.
    QCOMPARE(watcher.gatewaySources().size(), 2);
    QCOMPARE(toString(watcher.gateway(QStringLiteral("stock A"))->source), toString(Source::Monitor));
    QVERIFY(watcher.gateway(QStringLiteral("gw-native"))->source != Source::Monitor);
    QCOMPARE(watcher.tracker.connectionCount(), 5);
    QCOMPARE(watcher.connections(QStringLiteral("stock A")), truth(*stock.gateway));
    QCOMPARE(watcher.connections(QStringLiteral("gw-native")), truth(*native.gateway));
    for (const QString &line : truth(*native.gateway))
        QVERIFY(watcher.connection(line.section(QLatin1Char('|'), 0, 0).toLatin1())->source
                != Source::Monitor);

    // A native disconnect, while the monitor keeps reading.
    n2->socket.close();
    QTRY_COMPARE(native.gateway->connectionCount(), 2);
    QTRY_COMPARE(watcher.connections(QStringLiteral("gw-native")), truth(*native.gateway));
    QCOMPARE(watcher.gatewaySources().size(), 2);
    QCOMPARE(watcher.tracker.connectionCount(), 4);
    QCOMPARE(watcher.tracker.stats().badMessages, quint64(0));
    qDeleteAll(held);
    held.clear();
}

void TestStockFleet::commandsWriteTheFleet_data()
{
    QTest::addColumn<QString>("command");
    QTest::newRow("track --for 3s") << QStringLiteral("track");
    QTest::newRow("snapshot --monitor") << QStringLiteral("snapshot");
}

void TestStockFleet::commandsWriteTheFleet()
{
    QFETCH(QString, command);
    InProcessGateway a, b;
    QVERIFY(a.start(*server, QStringLiteral("stock A")));
    QVERIFY(b.start(*server, QStringLiteral("stock B")));
    WsClient *a1 = a.connect(), *a2 = a.connect(), *b1 = b.connect(), *b2 = b.connect();
    QVERIFY(a1 && a2 && b1 && b2);
    // Logged in before the command runs: no command can know this token afterwards.
    QVERIFY(login(*a1, 1, QStringLiteral("early")));

    QTemporaryDir dir;
    const QString csv = dir.filePath(QStringLiteral("fleet.csv"));
    ChildProcess process;
    QStringList arguments { command };
    if (command == QLatin1String("track"))
        arguments << QStringLiteral("--nats") << server->url() << QStringLiteral("--for")
                  << QStringLiteral("3s");
    arguments << QStringLiteral("--monitor") << server->monitorUrl() << QStringLiteral("--csv") << csv;
    process.start(QStringLiteral(RESWATCH_EXECUTABLE), arguments);
    QVERIFY(process.waitForStarted());

    QString lateToken;
    if (command == QLatin1String("track")) {
        // Once track watches the requests, a login, a disconnect and a new connection.
        QTRY_VERIFY_WITH_TIMEOUT(
            holdsSubscription(*server, QStringLiteral("reswatch-track"), QStringLiteral("auth.>")), 3000);
        QVERIFY(login(*b2, 1, QStringLiteral("late"), QStringLiteral("admin")));
        lateToken = expectedToken(QStringLiteral("late"), QStringLiteral("admin"));
        b1->socket.close();
        QVERIFY(a.connect());
        QTRY_COMPARE(b.gateway->connectionCount(), 1);
    }
    QVERIFY(process.waitForFinished(20000));
    const QByteArray errors = process.readAllStandardError();
    QVERIFY2(process.exitStatus() == QProcess::NormalExit && process.exitCode() == 0, errors.constData());

    // Exactly the fleet's cids, one gid per gateway, and only the token seen while tracking.
    const QStringList rows = csvRows(csv);
    QStringList cids;
    QHash<QString, QString> gidOf;
    for (const QString &row : rows) {
        const QStringList cells = row.split(QLatin1Char('|'));
        cids << cells.at(0);
        gidOf.insert(cells.at(0), cells.at(1));
    }
    QStringList fleet = cidsOf(*a.gateway) + cidsOf(*b.gateway);
    fleet.sort();
    QCOMPARE(cids, fleet);
    QStringList expected;
    for (const Protocol::ConnectionEntry &e : a.gateway->connections())
        expected << QStringLiteral("%1|%2|").arg(QString::fromLatin1(e.cid),
                                                 gidOf.value(cidsOf(*a.gateway).first()));
    for (const Protocol::ConnectionEntry &e : b.gateway->connections())
        expected << QStringLiteral("%1|%2|%3")
                        .arg(QString::fromLatin1(e.cid), gidOf.value(cidsOf(*b.gateway).first()),
                             QString::fromUtf8(e.token) == lateToken ? lateToken : QString());
    expected.sort();
    QCOMPARE(rows, expected);
    QVERIFY(gidOf.value(cidsOf(*a.gateway).first()).startsWith(QLatin1String("n1/")));
    QVERIFY(gidOf.value(cidsOf(*a.gateway).first()) != gidOf.value(cidsOf(*b.gateway).first()));

    if (command == QLatin1String("snapshot")) {
        // The empty tokens are documented where a user looks.
        QProcess help;
        help.start(QStringLiteral(RESWATCH_EXECUTABLE),
                   { QStringLiteral("snapshot"), QStringLiteral("--help") });
        QVERIFY(help.waitForFinished(10000));
        const QString text = QString::fromUtf8(help.readAllStandardOutput()).simplified();
        QVERIFY2(text.contains(QLatin1String("--monitor")), qPrintable(text));
        QVERIFY2(text.contains(QLatin1String("token of a stock connection is empty")), qPrintable(text));
    }
}

QTEST_GUILESS_MAIN(TestStockFleet)
#include "tst_stockfleet.moc"
