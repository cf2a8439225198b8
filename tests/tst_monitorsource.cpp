// MonitorSource against a real nats-server with monitoring (and a fake HTTP server for bad
// endpoints), with stock-gateway NATS clients as stock Resgate shows them.
#include "connzfixture.h"
#include "fakestockgateway.h"
#include "monitorsource.h"
#include "natsserver.h"
#include "observer.h"
#include "tracker.h"

#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>

using namespace ResWatch;

namespace {

TrackerSettings fastSettings()
{
    TrackerSettings settings;
    settings.pollIntervalMs = 60'000; // polls are triggered by the tests
    settings.changeIntervalMs = 10;
    return settings;
}

/// "cid@gid" of every live connection, sorted; "~stale" marks stale ones.
QStringList tracked(const Tracker &tracker)
{
    QStringList items;
    for (quint32 slot = 0; slot < tracker.slotCount(); ++slot) {
        const Connection *c = tracker.connectionAt(slot);
        if (!c || tracker.slotOf(c->cid.view()) != qint64(slot))
            continue;
        items << c->cid.toString() + QLatin1Char('@') + tracker.gateways().at(int(c->gateway)).gid
                + (c->state == ConnectionState::Stale ? QStringLiteral("~stale") : QString());
    }
    items.sort();
    return items;
}

QStringList truth(const QList<QPair<QString, FakeStockGateway *>> &fleet)
{
    QStringList items;
    for (const auto &[gid, gateway] : fleet) {
        for (const QByteArray &cid : gateway->cids())
            items << QString::fromLatin1(cid) + QLatin1Char('@') + gid;
    }
    items.sort();
    return items;
}

/// The NATS client id the server gave @p gateway, from its monitoring data.
quint64 natsCidOf(const Tracker &tracker, const QByteArray &someCid)
{
    const qint64 slot = tracker.slotOf(someCid);
    if (slot < 0)
        return 0;
    const QString gid = tracker.gateways().at(int(tracker.connectionAt(quint32(slot))->gateway)).gid;
    return gid.section(QLatin1Char('/'), -1).toULongLong();
}

bool poll(MonitorSource &source)
{
    QSignalSpy finished(&source, &MonitorSource::pollFinished);
    source.pollNow();
    return finished.wait(10000);
}

/// A fake HTTP server answering /varz and /connz with what the test sets.
class FakeHttp : public QObject
{
public:
    enum Mode { Good, Status500, Html, Truncated, Silent, NotJsonVarz, Garbage };
    FakeHttp()
    {
        m_server.listen(QHostAddress::LocalHost);
        QObject::connect(&m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *socket = m_server.nextPendingConnection()) {
                QObject::connect(socket, &QTcpSocket::readyRead, socket, [this, socket] { answer(socket); });
                QObject::connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
            }
        });
    }
    QString url() const { return QStringLiteral("http://127.0.0.1:%1").arg(m_server.serverPort()); }
    Mode mode = Good;
    QByteArray connz;

private:
    void answer(QTcpSocket *socket)
    {
        const QByteArray request = socket->readAll();
        if (mode == Silent)
            return;
        if (mode == Garbage) {
            socket->write("INFO {\"server_id\":\"x\"}\r\n");
            socket->disconnectFromHost();
            return;
        }
        const bool varz = request.startsWith("GET /varz");
        QByteArray body = varz ? QByteArray("{\"server_id\":\"FAKEID\",\"server_name\":\"fake\"}") : connz;
        QByteArray status = "200 OK";
        if (mode == Status500) {
            status = "500 Internal Server Error";
            body = "oops";
        } else if (mode == Html && !varz) {
            body = "<html><body>not here</body></html>";
        } else if (mode == Truncated && !varz) {
            body = body.left(body.size() / 2);
        }
        socket->write("HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\nContent-Length: "
                      + QByteArray::number(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
        socket->disconnectFromHost();
    }
    QTcpServer m_server;
};

NatsServer::Options serverOptions(bool monitoring, const QByteArray &extraConfig = {})
{
    NatsServer::Options options;
    options.monitoring = monitoring;
    options.extraConfig = extraConfig;
    return options;
}

int freePort()
{
    QTcpServer probe;
    probe.listen(QHostAddress::LocalHost);
    return probe.serverPort();
}

} // namespace

class TestMonitorSource : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { qRegisterMetaType<ResWatch::MonitorSource::Status>(); }

    void stockFleet()
    {
        NatsServer server(serverOptions(true, "server_name: node-a\n"));
        QVERIFY2(server.start(), qPrintable(server.error()));
        FakeStockGateway a, b;
        QVERIFY(a.open(server.url()));
        QVERIFY(b.open(server.url(), QStringLiteral("resgate-b")));
        const QByteArray a1 = a.connect(), a2 = a.connect(), a3 = a.connect();
        const QByteArray b1 = b.connect(), b2 = b.connect();

        Tracker tracker(fastSettings());
        MonitorSource source(&tracker);
        const QString scope = source.addEndpoint(QUrl(server.monitorUrl()));
        QCOMPARE(scope, server.monitorUrl());
        QVERIFY(poll(source));
        const QString gidA = QStringLiteral("node-a/%1").arg(natsCidOf(tracker, a1));
        const QString gidB = QStringLiteral("node-a/%1").arg(natsCidOf(tracker, b1));
        QCOMPARE(tracked(tracker), truth({ { gidA, &a }, { gidB, &b } }));
        const MonitorSource::Status status = source.status(scope);
        QCOMPARE(status.state, MonitorSource::State::Ok);
        QCOMPARE(status.gateways, 2);
        QCOMPARE(status.connections, 5);
        const Gateway *gb = tracker.gatewayByGid(gidB);
        QVERIFY(gb);
        QVERIFY(gb->source == Source::Monitor);
        QCOMPARE(gb->natsName, QStringLiteral("resgate-b"));
        QVERIFY(gb->natsAddress.startsWith(QLatin1String("127.0.0.1:")));
        QVERIFY(gb->startedAtMs > QDateTime::currentMSecsSinceEpoch() - 60000);
        QCOMPARE(gb->server, QStringLiteral("node-a"));

        // Disconnects, a new connection, and a gateway whose NATS connection went away.
        a.disconnect(a2);
        const QByteArray a4 = a.connect();
        b.close();
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                poll(source);
                return tracked(tracker) == truth({ { gidA, &a } });
            }(),
            5000);
        QCOMPARE(toString(tracker.gatewayByGid(gidB)->state), QStringLiteral("stopped"));
        QStringList ends;
        for (const ClosedConnection &c : tracker.closedConnections())
            ends << c.connection.cid.toString() + QLatin1Char(':') + toString(c.reason);
        ends.sort();
        QStringList expected { QString::fromLatin1(a2) + QStringLiteral(":disconnected"),
                               QString::fromLatin1(b1) + QStringLiteral(":gateway stopped"),
                               QString::fromLatin1(b2) + QStringLiteral(":gateway stopped") };
        expected.sort();
        QCOMPARE(ends, expected);
        Q_UNUSED(a1);
        Q_UNUSED(a3);
        Q_UNUSED(a4);
    }

    void pagedRead()
    {
        NatsServer server(serverOptions(true));
        QVERIFY2(server.start(), qPrintable(server.error()));
        std::vector<std::unique_ptr<FakeStockGateway>> fleet;
        for (int i = 0; i < 5; ++i) {
            fleet.push_back(std::make_unique<FakeStockGateway>());
            QVERIFY(fleet.back()->open(server.url()));
            for (int c = 0; c <= i; ++c)
                fleet.back()->connect();
        }
        Tracker tracker(fastSettings());
        MonitorSource::Options options;
        options.pageLimit = 2;
        MonitorSource source(&tracker, options);
        const QString scope = source.addEndpoint(QUrl(server.monitorUrl() + QStringLiteral("/connz")));
        QCOMPARE(scope, server.monitorUrl()); // the page's URL names the endpoint
        QVERIFY(poll(source));
        const MonitorSource::Status status = source.status(scope);
        QCOMPARE(status.state, MonitorSource::State::Ok);
        QCOMPARE(status.gateways, 5);
        QCOMPARE(status.connections, 15);
        QCOMPARE(status.pages, 1 + 3); // varz, then 5 clients in pages of 2
        QCOMPARE(tracker.connectionCount(), 15);
        // Unnamed server: the gid uses its short id.
        for (const Gateway &g : tracker.gateways())
            QCOMPARE(g.gid.section(QLatin1Char('/'), 0, 0).size(), 12);
    }

    void badEndpoints_data()
    {
        QTest::addColumn<int>("mode");
        QTest::addColumn<QString>("errorPart");
        QTest::newRow("HTTP 500") << int(FakeHttp::Status500) << "HTTP 500";
        QTest::newRow("HTML page") << int(FakeHttp::Html) << "not JSON";
        QTest::newRow("truncated JSON") << int(FakeHttp::Truncated) << "not JSON";
        QTest::newRow("no answer") << int(FakeHttp::Silent) << "no answer within";
        QTest::newRow("not HTTP") << int(FakeHttp::Garbage) << "/varz";
    }

    void badEndpoints()
    {
        QFETCH(int, mode);
        QFETCH(QString, errorPart);
        FakeHttp http;
        http.connz = ConnzFixture::page({ ConnzFixture::gateway(7, { "aaa", "bbb" }) }, 0, 1024, "FAKEID");
        Tracker tracker(fastSettings());
        MonitorSource::Options options;
        options.timeoutMs = 300;
        MonitorSource source(&tracker, options);
        QSignalSpy errors(&source, &MonitorSource::errorOccurred);
        const QString scope = source.addEndpoint(QUrl(http.url()));
        QVERIFY(poll(source));
        QCOMPARE(tracked(tracker), (QStringList { "aaa@fake/7", "bbb@fake/7" }));

        // The endpoint goes bad: a clear status, the last good state kept and marked stale.
        http.mode = FakeHttp::Mode(mode);
        QVERIFY(poll(source));
        const MonitorSource::Status status = source.status(scope);
        QCOMPARE(status.state, MonitorSource::State::Error);
        QVERIFY(status.stale);
        QVERIFY2(status.error.contains(errorPart), qPrintable(status.error));
        QCOMPARE(errors.size(), 1);
        QCOMPARE(tracked(tracker), (QStringList { "aaa@fake/7~stale", "bbb@fake/7~stale" }));
        QCOMPARE(toString(tracker.gatewayByGid(u"fake/7")->state), QStringLiteral("stale"));

        // And recovers.
        http.mode = FakeHttp::Good;
        QVERIFY(poll(source));
        QCOMPARE(source.status(scope).state, MonitorSource::State::Ok);
        QCOMPARE(tracked(tracker), (QStringList { "aaa@fake/7", "bbb@fake/7" }));
    }

    void unreachableAndNotMonitoring_data()
    {
        QTest::addColumn<bool>("natsPort");
        QTest::newRow("closed port") << false;
        QTest::newRow("the NATS client port") << true;
    }

    void unreachableAndNotMonitoring()
    {
        QFETCH(bool, natsPort);
        NatsServer server;
        QVERIFY2(server.start(), qPrintable(server.error()));
        const int port = natsPort ? server.port() : freePort();
        Tracker tracker(fastSettings());
        MonitorSource::Options options;
        options.timeoutMs = 1000;
        MonitorSource source(&tracker, options);
        const QString scope = source.addEndpoint(QUrl(QStringLiteral("http://127.0.0.1:%1").arg(port)));
        QVERIFY(poll(source));
        const MonitorSource::Status status = source.status(scope);
        QCOMPARE(status.state, MonitorSource::State::Error);
        QVERIFY(!status.stale); // nothing was ever read
        QVERIFY(!status.error.isEmpty());
        QCOMPARE(tracker.connectionCount(), 0);
    }

    void badUrls()
    {
        Tracker tracker(fastSettings());
        MonitorSource source(&tracker);
        QString error;
        QVERIFY(source.addEndpoint(QUrl(QStringLiteral("nats://127.0.0.1:4222")), &error).isEmpty());
        QVERIFY(error.contains(QLatin1String("http")));
        QVERIFY(source.addEndpoint(QUrl(QStringLiteral("not a url")), &error).isEmpty());
        QVERIFY(source.scopes().isEmpty());
    }

    void clusterTwoNodes()
    {
        // Two nodes routed on loopback, each listing only its own clients; read through both
        // monitoring URLs, and through one $SYS request with system-account credentials.
        const QByteArray accounts = "accounts { SYS { users = [{user: sys, password: sys}] }, "
                                    "APP { users = [{user: app, password: app}] } }\n"
                                    "system_account: SYS\nno_auth_user: app\n";
        const int routeA = freePort();
        NatsServer nodeA(serverOptions(true,
                                       "server_name: n1\n" + accounts
                                           + "cluster { name: c1, listen: 127.0.0.1:"
                                           + QByteArray::number(routeA) + " }\n"));
        QVERIFY2(nodeA.start(), qPrintable(nodeA.error()));
        NatsServer nodeB(serverOptions(true,
                                       "server_name: n2\n" + accounts
                                           + "cluster { name: c1, listen: 127.0.0.1:-1, routes: "
                                             "[nats-route://127.0.0.1:"
                                           + QByteArray::number(routeA) + "] }\n"));
        QVERIFY2(nodeB.start(), qPrintable(nodeB.error()));

        FakeStockGateway a, b;
        QVERIFY(a.open(nodeA.url()));
        QVERIFY(b.open(nodeB.url()));
        a.connect();
        a.connect();
        b.connect();

        Tracker viaHttp(fastSettings());
        MonitorSource http(&viaHttp);
        http.addEndpoint(QUrl(nodeA.monitorUrl()));
        http.addEndpoint(QUrl(nodeB.monitorUrl()));
        QVERIFY(poll(http));
        const QString gidA = QStringLiteral("n1/%1").arg(natsCidOf(viaHttp, a.cids().first()));
        const QString gidB = QStringLiteral("n2/%1").arg(natsCidOf(viaHttp, b.cids().first()));
        QCOMPARE(tracked(viaHttp), truth({ { gidA, &a }, { gidB, &b } }));

        NatsConnection system;
        NatsOptions options;
        options.urls = { nodeB.url() };
        options.user = QStringLiteral("sys");
        options.password = QStringLiteral("sys");
        QVERIFY(system.open(options));
        QTRY_VERIFY_WITH_TIMEOUT(system.isConnected(), 5000);
        Tracker viaSystem(fastSettings());
        MonitorSource::Options sysOptions;
        sysOptions.pageLimit = 1; // paged too: each server pages on its own
        MonitorSource sys(&viaSystem, sysOptions);
        const QString scope = sys.addSystemEndpoint(&system);
        // The route may take a moment to form: until then only one node answers.
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                poll(sys);
                return tracked(viaSystem) == truth({ { gidA, &a }, { gidB, &b } });
            }(),
            10000);
        QCOMPARE(sys.status(scope).servers, 2);
        QVERIFY(sys.status(scope).pages >= 2); // node 2 lists two clients, one a page

        // A stock gateway on node 2 goes away: seen through either way.
        b.close();
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                poll(sys);
                return tracked(viaSystem) == truth({ { gidA, &a } });
            }(),
            5000);
        QVERIFY(poll(http));
        QCOMPARE(tracked(viaHttp), truth({ { gidA, &a } }));
    }

    void observerNeverAnswersAndGivesTokens()
    {
        NatsServer server(serverOptions(true));
        QVERIFY2(server.start(), qPrintable(server.error()));
        NatsOptions options;
        options.urls = { server.url() };
        // A service in a queue group (as services scale) and a plain one, both answering.
        NatsConnection service;
        QVERIFY(service.open(options));
        QTRY_VERIFY_WITH_TIMEOUT(service.isConnected(), 5000);
        int authReceived = 0;
        NatsSubscription *auth = service.subscribe("auth.demo.login", "services");
        QObject::connect(auth, &NatsSubscription::received, [&](const QList<NatsMessage> &messages) {
            for (const NatsMessage &m : messages) {
                ++authReceived;
                service.publish(m.reply, R"({"result":null})");
            }
        });
        NatsSubscription *access = service.subscribe("access.>");
        QObject::connect(access, &NatsSubscription::received, [&](const QList<NatsMessage> &messages) {
            for (const NatsMessage &m : messages)
                service.publish(m.reply, R"({"result":{"get":true}})");
        });
        QVERIFY(service.flush());

        FakeStockGateway gateway;
        QVERIFY(gateway.open(server.url()));
        const QByteArray cid = gateway.connect();

        NatsConnection watcher;
        QVERIFY(watcher.open(options));
        QTRY_VERIFY_WITH_TIMEOUT(watcher.isConnected(), 5000);
        Tracker tracker(fastSettings());
        Observer observer(&watcher, &tracker);
        QTRY_VERIFY_WITH_TIMEOUT(observer.isObserving(), 5000);
        QVERIFY(watcher.flush());
        MonitorSource source(&tracker);
        source.addEndpoint(QUrl(server.monitorUrl()));

        // The gateway's requests, as stock Resgate sends them: exactly one answer each, from the service.
        auto ask = [&](const QByteArray &subject, const QByteArray &payload) {
            QList<NatsMessage> replies;
            NatsRequest *request = gateway.nats().request(subject, payload, 300, 3000);
            QObject::connect(request, &NatsRequest::finished,
                             [&](const QList<NatsMessage> &r) { replies = r; });
            return QTest::qWaitFor([&] { return !replies.isEmpty(); }, 5000) ? replies
                                                                             : QList<NatsMessage> {};
        };
        const QList<NatsMessage> authReplies
            = ask("auth.demo.login",
                  R"({"token":null,"cid":")" + cid + R"(","remoteAddr":"10.1.2.3:5555","host":"gw:8080"})");
        QCOMPARE(authReplies.size(), 1);
        QCOMPARE(authReplies.first().data, QByteArray(R"({"result":null})"));
        const QList<NatsMessage> accessReplies
            = ask("access.example.model", R"({"token":{"userId":42},"cid":")" + cid + R"("})");
        QCOMPARE(accessReplies.size(), 1);
        QCOMPARE(authReceived, 1);
        QTRY_VERIFY_WITH_TIMEOUT(observer.requestsSeen() >= 2, 5000);

        QVERIFY(poll(source));
        const qint64 slot = tracker.slotOf(cid);
        QVERIFY(slot >= 0);
        const Connection *c = tracker.connectionAt(quint32(slot));
        QVERIFY(c->isTokenKnown());
        QCOMPARE(c->token, QByteArray(R"({"userId":42})"));
        QCOMPARE(c->remoteAddr(), QByteArray("10.1.2.3:5555"));
        QCOMPARE(c->host(), QByteArray("gw:8080"));
    }

    void systemEndpointScopedToAccount()
    {
        // Without system credentials nats-server answers for the requester's own account: the
        // stock gateways of that account are still found.
        NatsServer server(serverOptions(false,
                                        "accounts { SYS { users = [{user: sys, password: sys}] }, "
                                        "APP { users = [{user: app, password: app}] } }\n"
                                        "system_account: SYS\nno_auth_user: app\n"));
        QVERIFY2(server.start(), qPrintable(server.error()));
        FakeStockGateway gateway;
        QVERIFY(gateway.open(server.url()));
        gateway.connect();
        NatsConnection plain;
        NatsOptions options;
        options.urls = { server.url() };
        options.reconnectWaitMs = 100;
        QVERIFY(plain.open(options));
        QTRY_VERIFY_WITH_TIMEOUT(plain.isConnected(), 5000);
        Tracker tracker(fastSettings());
        MonitorSource::Options sysOptions;
        sysOptions.timeoutMs = 500;
        MonitorSource source(&tracker, sysOptions);
        const QString scope = source.addSystemEndpoint(&plain);
        QVERIFY(poll(source));
        QCOMPARE(source.status(scope).state, MonitorSource::State::Ok);
        QCOMPARE(tracker.connectionCount(), 1);

        // The NATS connection is gone: an error, the gateway kept and stale.
        plain.close();
        QVERIFY(poll(source));
        QCOMPARE(source.status(scope).state, MonitorSource::State::Error);
        QVERIFY2(source.status(scope).error.contains(QLatin1String("not connected")),
                 qPrintable(source.status(scope).error));
        QCOMPARE(tracked(tracker).join(QLatin1Char(' ')).count(QLatin1String("~stale")), 1);
    }
};

QTEST_GUILESS_MAIN(TestMonitorSource)
#include "tst_monitorsource.moc"
