#include "demoauthservice.h"
#include "emulatedgateway.h"
#include "gatewaytestsupport.h"
#include "natsconnection.h"
#include "natsserver.h"
#include "xid.h"

#include <QDateTime>
#include <QJsonArray>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QProcess>
#include <QRegularExpression>
#include <QSet>
#include <QTcpServer>
#include <QTest>

#include <memory>

using namespace ResWatch;

namespace {

// One nats-server, a gateway on its own NATS connection, the demo auth service
// on another, and an observer on a third: what a real deployment looks like.
struct Fixture
{
    explicit Fixture(const NatsServer::Options &serverOptions = {}) : server(serverOptions) { }

    bool start(const EmulatedGateway::Options &gatewayOptions = defaultOptions())
    {
        if (!server.start()) {
            error = server.error();
            return false;
        }
        if (!observer.start(server)) {
            error = QStringLiteral("observer: ") + observer.nats.lastError();
            return false;
        }
        if (!serviceNats.open(testNatsOptions(server, QStringLiteral("demo-auth")))
            || !waitForNats(serviceNats)) {
            error = QStringLiteral("service: ") + serviceNats.lastError();
            return false;
        }
        auth = std::make_unique<DemoAuthService>(&serviceNats);
        auth->start();
        if (!auth->isRunning()) {
            error = QStringLiteral("demo auth did not start");
            return false;
        }
        if (!gatewayNats.open(testNatsOptions(server, QStringLiteral("gateway")))
            || !waitForNats(gatewayNats)) {
            error = QStringLiteral("gateway NATS: ") + gatewayNats.lastError();
            return false;
        }
        gateway = std::make_unique<EmulatedGateway>(&gatewayNats, gatewayOptions);
        if (!gateway->start()) {
            error = gateway->errorString();
            return false;
        }
        if (gatewayOptions.stock)
            return true;
        // system.start follows the gateway's subscriptions on the same connection,
        // so once the observer sees it the gateway answers polls and token events.
        if (!QTest::qWaitFor([&] { return observer.has("system.start"); }, 5000)) {
            error = QStringLiteral("no system.start");
            return false;
        }
        return true;
    }

    static EmulatedGateway::Options defaultOptions()
    {
        EmulatedGateway::Options options;
        options.gid = QStringLiteral("gw-test");
        options.authTimeoutMs = 500;
        return options;
    }

    /// The cid the gateway gave @p client (found by its address); empty if unknown.
    QByteArray cidOf(const WsClient &client) const
    {
        for (const Protocol::ConnectionEntry &entry : gateway->connections()) {
            if (entry.remoteAddr == client.localAddress())
                return entry.cid;
        }
        return {};
    }

    bool connect(WsClient &client, QByteArray *cid, const QUrl &url = {})
    {
        if (!client.open(url.isEmpty() ? gateway->serverUrl() : url))
            return false;
        return QTest::qWaitFor([&] { return !(*cid = cidOf(client)).isEmpty(); }, 5000);
    }

    NatsServer server;
    NatsObserver observer;
    NatsConnection serviceNats;
    NatsConnection gatewayNats;
    std::unique_ptr<DemoAuthService> auth;
    std::unique_ptr<EmulatedGateway> gateway;
    QString error;
};

// The connections of one gateway's (possibly multipart) system.connections reply.
struct PollResult
{
    QJsonObject connections;
    int messages = 0;
    bool complete = false;
};

PollResult mergeReplies(const QList<NatsMessage> &replies, const QString &gid)
{
    PollResult result;
    QSet<int> parts;
    int expected = 1;
    for (const NatsMessage &reply : replies) {
        const QJsonObject object = jsonObject(reply.data);
        if (object.value(QStringLiteral("gid")).toString() != gid)
            continue;
        ++result.messages;
        parts.insert(object.value(QStringLiteral("part")).toInt(1));
        expected = object.value(QStringLiteral("parts")).toInt(1);
        const QJsonObject connections = object.value(QStringLiteral("connections")).toObject();
        for (auto it = connections.begin(); it != connections.end(); ++it)
            result.connections.insert(it.key(), it.value());
    }
    result.complete = result.messages > 0 && parts.size() == expected && result.messages == expected;
    return result;
}

QStringList connzSubjects(const QString &monitorUrl)
{
    QNetworkAccessManager manager;
    std::unique_ptr<QNetworkReply> reply(
        manager.get(QNetworkRequest(QUrl(monitorUrl + QStringLiteral("/connz?subs=detail&limit=1024")))));
    QSignalSpy finished(reply.get(), &QNetworkReply::finished);
    if (!finished.wait(5000))
        return {};
    QStringList subjects;
    const QJsonArray connections
        = jsonObject(reply->readAll()).value(QStringLiteral("connections")).toArray();
    for (const QJsonValue &connection : connections) {
        const QJsonArray subs
            = connection.toObject().value(QStringLiteral("subscriptions_list_detail")).toArray();
        for (const QJsonValue &sub : subs)
            subjects.append(sub.toObject().value(QStringLiteral("subject")).toString());
    }
    return subjects;
}

QSet<QString> keySet(const QJsonObject &object)
{
    const QStringList keys = object.keys();
    return QSet<QString>(keys.begin(), keys.end());
}

QJsonObject demoToken(const QString &user, const QString &role)
{
    return { { QStringLiteral("user"), user },
             { QStringLiteral("userId"), DemoAuthService::userIdFor(user) },
             { QStringLiteral("role"), role } };
}

} // namespace

class TestEmulatedGateway : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void connectAndDisconnectEvents_data();
    void connectAndDisconnectEvents();
    void stopAnnouncesThenClosesClients();
    void startWaitsForNats();
    void pollListsOpenConnectionsWithTokens();
    void pollSplitsLargeRepliesIntoParts();
    void resRequests_data();
    void resRequests();
    void authRequestCarriesResgatePayload_data();
    void authRequestCarriesResgatePayload();
    void tokenEvents();
    void survivesNatsOutage();
    void stockModeIsPassive();
    void twoGatewaysInOneProcess();
};

void TestEmulatedGateway::connectAndDisconnectEvents_data()
{
    QTest::addColumn<bool>("abort");
    QTest::newRow("client closes") << false;
    QTest::newRow("network drop") << true;
}

void TestEmulatedGateway::connectAndDisconnectEvents()
{
    QFETCH(bool, abort);
    Fixture f;
    QVERIFY2(f.start(), qPrintable(f.error));
    QCOMPARE(jsonObject(f.observer.withSubject("system.start").first().data)
                 .value(QStringLiteral("gid"))
                 .toString(),
             QStringLiteral("gw-test"));

    WsClient client;
    QByteArray cid;
    QVERIFY(f.connect(client, &cid));
    const std::optional<Xid> xid = Xid::parse(cid);
    QVERIFY2(xid, cid.constData());
    QVERIFY(qAbs(xid->timeMs() - QDateTime::currentMSecsSinceEpoch()) < 5000);

    QTRY_VERIFY(f.observer.has("conn." + cid + ".connect"));
    const QJsonObject connect = jsonObject(f.observer.withSubject("conn." + cid + ".connect").first().data);
    QCOMPARE(connect.value(QStringLiteral("gid")).toString(), QStringLiteral("gw-test"));
    QCOMPARE(connect.value(QStringLiteral("remoteAddr")).toString().toLatin1(), client.localAddress());
    QCOMPARE(connect.value(QStringLiteral("host")).toString(),
             QStringLiteral("127.0.0.1:%1").arg(f.gateway->port()));
    QCOMPARE(f.gateway->connectionCount(), 1);

    if (abort)
        client.socket.abort();
    else
        client.socket.close();
    QTRY_VERIFY(f.observer.has("conn." + cid + ".disconnect"));
    QCOMPARE(jsonObject(f.observer.withSubject("conn." + cid + ".disconnect").first().data)
                 .value(QStringLiteral("gid"))
                 .toString(),
             QStringLiteral("gw-test"));
    QCOMPARE(f.gateway->connectionCount(), 0);
    QCOMPARE(f.observer.withSubject("conn." + cid + ".disconnect").size(), 1);
}

void TestEmulatedGateway::stopAnnouncesThenClosesClients()
{
    Fixture f;
    QVERIFY2(f.start(), qPrintable(f.error));
    WsClient a, b;
    QByteArray cidA, cidB;
    QVERIFY(f.connect(a, &cidA));
    QVERIFY(f.connect(b, &cidB));

    QSignalSpy stopped(f.gateway.get(), &EmulatedGateway::stopped);
    f.gateway->stop();
    QTRY_COMPARE(a.socket.state(), QAbstractSocket::UnconnectedState);
    QTRY_COMPARE(b.socket.state(), QAbstractSocket::UnconnectedState);
    // A close frame, not a dropped socket.
    QCOMPARE(a.socket.closeCode(), QWebSocketProtocol::CloseCodeGoingAway);
    QCOMPARE(b.socket.closeCode(), QWebSocketProtocol::CloseCodeGoingAway);
    QTRY_COMPARE(stopped.size(), 1);
    QVERIFY(!f.gateway->isListening());

    QTRY_VERIFY(f.observer.has("conn." + cidA + ".disconnect")
                && f.observer.has("conn." + cidB + ".disconnect"));
    const int stop = f.observer.indexOf("system.stop");
    QVERIFY(stop >= 0);
    QVERIFY(stop < f.observer.indexOf("conn." + cidA + ".disconnect"));
    QVERIFY(stop < f.observer.indexOf("conn." + cidB + ".disconnect"));
    // A stopped gateway no longer answers polls.
    QVERIFY(mergeReplies(f.observer.poll(), QStringLiteral("gw-test")).messages == 0);
}

void TestEmulatedGateway::startWaitsForNats()
{
    // The gateway starts while NATS is down: clients may connect, and once NATS
    // is there it announces itself first, then the connections it already holds.
    NatsServer server;
    QVERIFY2(server.start(), qPrintable(server.error()));
    server.stop();

    NatsConnection nats;
    QVERIFY(nats.open(testNatsOptions(server, QStringLiteral("gateway"))));
    EmulatedGateway gateway(&nats, Fixture::defaultOptions());
    QVERIFY2(gateway.start(), qPrintable(gateway.errorString()));
    WsClient client;
    QVERIFY(client.open(gateway.serverUrl()));
    QTRY_COMPARE(gateway.connectionCount(), 1);
    const QByteArray cid = gateway.connections().front().cid;
    QVERIFY(!gateway.hasAnnouncedStart());

    QVERIFY2(server.restart(), qPrintable(server.error()));
    NatsObserver observer;
    QVERIFY(observer.start(server));
    QTRY_VERIFY_WITH_TIMEOUT(
        mergeReplies(observer.poll(), gateway.gid()).connections.contains(QString::fromLatin1(cid)), 10000);
    QVERIFY(gateway.hasAnnouncedStart());
}

void TestEmulatedGateway::pollListsOpenConnectionsWithTokens()
{
    Fixture f;
    QVERIFY2(f.start(), qPrintable(f.error));
    WsClient alice, anonymous, leaver;
    QByteArray aliceCid, anonymousCid, leaverCid;
    QVERIFY(f.connect(alice, &aliceCid));
    QVERIFY(f.connect(anonymous, &anonymousCid));
    QVERIFY(f.connect(leaver, &leaverCid));

    const auto reply = alice.request(1, QStringLiteral("auth.demo.login"),
                                     QJsonObject { { QStringLiteral("user"), QStringLiteral("alice") },
                                                   { QStringLiteral("role"), QStringLiteral("admin") } });
    QVERIFY(reply);
    QCOMPARE(reply->value(QStringLiteral("result")).toObject().value(QStringLiteral("payload")).toObject(),
             demoToken(QStringLiteral("alice"), QStringLiteral("admin")));
    leaver.socket.close();
    QTRY_COMPARE(f.gateway->connectionCount(), 2);

    // The token event and the auth reply travel separately; poll until the token is in.
    PollResult result;
    QTRY_VERIFY((result = mergeReplies(f.observer.poll(), QStringLiteral("gw-test")))
                    .connections.value(QString::fromLatin1(aliceCid))
                    .toObject()
                    .value(QStringLiteral("token"))
                    .isObject());
    QVERIFY(result.complete);
    QCOMPARE(result.messages, 1);
    QCOMPARE(keySet(result.connections),
             (QSet<QString> { QString::fromLatin1(aliceCid), QString::fromLatin1(anonymousCid) }));
    const QJsonObject aliceEntry = result.connections.value(QString::fromLatin1(aliceCid)).toObject();
    QCOMPARE(aliceEntry.value(QStringLiteral("token")).toObject(),
             demoToken(QStringLiteral("alice"), QStringLiteral("admin")));
    QCOMPARE(aliceEntry.value(QStringLiteral("remoteAddr")).toString().toLatin1(), alice.localAddress());
    const QJsonObject anonymousEntry = result.connections.value(QString::fromLatin1(anonymousCid)).toObject();
    QVERIFY(anonymousEntry.value(QStringLiteral("token")).isNull()
            || anonymousEntry.value(QStringLiteral("token")).isUndefined());
}

void TestEmulatedGateway::pollSplitsLargeRepliesIntoParts()
{
    constexpr qint64 MaxPayload = 2048;
    constexpr int Clients = 40; // about 100 bytes an entry: two to three parts
    NatsServer::Options serverOptions;
    serverOptions.maxPayload = MaxPayload;
    Fixture f(serverOptions);
    QVERIFY2(f.start(), qPrintable(f.error));
    QTRY_COMPARE(f.gatewayNats.maxPayload(), MaxPayload);

    std::vector<std::unique_ptr<WsClient>> clients;
    QSet<QString> cids;
    for (int i = 0; i < Clients; ++i) {
        clients.push_back(std::make_unique<WsClient>());
        QByteArray cid;
        QVERIFY(f.connect(*clients.back(), &cid));
        cids.insert(QString::fromLatin1(cid));
    }

    const QList<NatsMessage> replies = f.observer.poll();
    for (const NatsMessage &reply : replies) {
        QVERIFY2(reply.data.size() <= MaxPayload, qPrintable(QString::number(reply.data.size())));
        const QJsonObject object = jsonObject(reply.data);
        QVERIFY(object.contains(QStringLiteral("part")));
        QVERIFY(object.value(QStringLiteral("parts")).toInt() >= 2);
    }
    const PollResult result = mergeReplies(replies, QStringLiteral("gw-test"));
    QVERIFY(result.messages >= 2);
    QVERIFY(result.complete);
    QCOMPARE(keySet(result.connections), cids);
}

void TestEmulatedGateway::resRequests_data()
{
    QTest::addColumn<QByteArray>("frame");
    QTest::addColumn<QString>("errorCode"); // empty: a result is expected
    QTest::addColumn<QByteArray>("result"); // compact JSON

    const QByteArray payload
        = "{\"payload\":" + compactJson(demoToken(QStringLiteral("bob"), QStringLiteral("viewer"))) + '}';
    QTest::newRow("version") << QByteArray(R"({"id":1,"method":"version","params":{"protocol":"1.2.3"}})")
                             << QString() << QByteArray(R"({"protocol":"1.2.3"})");
    QTest::newRow("version without params")
        << QByteArray(R"({"id":1,"method":"version"})") << QString() << QByteArray(R"({"protocol":"1.2.3"})");
    QTest::newRow("unsupported protocol")
        << QByteArray(R"({"id":1,"method":"version","params":{"protocol":"2.0.0"}})")
        << QStringLiteral("system.unsupportedProtocol") << QByteArray();
    QTest::newRow("auth success") << QByteArray(
        R"({"id":1,"method":"auth.demo.login","params":{"user":"bob","role":"viewer"}})")
                                  << QString() << payload;
    QTest::newRow("auth error") << QByteArray(
        R"({"id":1,"method":"auth.demo.login","params":{"user":"bob"}})")
                                << QStringLiteral("system.invalidParams") << QByteArray();
    QTest::newRow("auth timeout") << QByteArray(R"({"id":1,"method":"auth.nobody.login","params":{}})")
                                  << QStringLiteral("system.timeout") << QByteArray();
    QTest::newRow("auth with wildcard") << QByteArray(R"({"id":1,"method":"auth.demo.*"})")
                                        << QStringLiteral("system.invalidRequest") << QByteArray();
    QTest::newRow("unknown method") << QByteArray(R"({"id":1,"method":"frobnicate.x"})")
                                    << QStringLiteral("system.methodNotFound") << QByteArray();
    QTest::newRow("subscribe") << QByteArray(R"({"id":1,"method":"subscribe.example.model"})")
                               << QStringLiteral("system.notFound") << QByteArray();
    QTest::newRow("get") << QByteArray(R"({"id":1,"method":"get.example.model"})")
                         << QStringLiteral("system.notFound") << QByteArray();
    QTest::newRow("call") << QByteArray(R"({"id":1,"method":"call.example.model.ping","params":{}})")
                          << QStringLiteral("system.notFound") << QByteArray();
    QTest::newRow("unsubscribe") << QByteArray(R"({"id":1,"method":"unsubscribe.example.model"})")
                                 << QStringLiteral("system.noSubscription") << QByteArray();
    QTest::newRow("invalid JSON") << QByteArray("{\"id\":1,\"method\":")
                                  << QStringLiteral("system.invalidRequest") << QByteArray();
    QTest::newRow("not an object") << QByteArray("[1,2,3]") << QStringLiteral("system.invalidRequest")
                                   << QByteArray();
    QTest::newRow("no method") << QByteArray(R"({"id":1})") << QStringLiteral("system.invalidRequest")
                               << QByteArray();
}

void TestEmulatedGateway::resRequests()
{
    QFETCH(QByteArray, frame);
    QFETCH(QString, errorCode);
    QFETCH(QByteArray, result);

    Fixture f;
    QVERIFY2(f.start(), qPrintable(f.error));
    WsClient client;
    QByteArray cid;
    QVERIFY(f.connect(client, &cid));

    const std::optional<QJsonObject> response = client.sendRaw(frame);
    QVERIFY2(response, "no response");
    if (jsonObject(frame).contains(QStringLiteral("id")))
        QCOMPARE(response->value(QStringLiteral("id")).toInt(), 1);
    if (errorCode.isEmpty()) {
        QVERIFY2(!response->contains(QStringLiteral("error")), client.received.last().constData());
        QCOMPARE(compactJson(response->value(QStringLiteral("result"))), result);
    } else {
        QVERIFY2(!response->contains(QStringLiteral("result")), client.received.last().constData());
        const QJsonObject error = response->value(QStringLiteral("error")).toObject();
        QCOMPARE(error.value(QStringLiteral("code")).toString(), errorCode);
        QVERIFY(!error.value(QStringLiteral("message")).toString().isEmpty());
    }
    // The connection survives every request.
    QCOMPARE(client.socket.state(), QAbstractSocket::ConnectedState);
    QVERIFY(client.answersVersion());
    QCOMPARE(f.gateway->connectionCount(), 1);
    QVERIFY(!f.observer.has("conn." + cid + ".disconnect"));
}

void TestEmulatedGateway::authRequestCarriesResgatePayload_data()
{
    QTest::addColumn<QByteArray>("serviceReply");
    QTest::addColumn<QByteArray>("clientSees"); // compact JSON of the response without its id

    QTest::newRow("result") << QByteArray(R"({"result":{"ok":true}})")
                            << QByteArray(R"({"result":{"payload":{"ok":true}}})");
    QTest::newRow("null result") << QByteArray(R"({"result":null})")
                                 << QByteArray(R"({"result":{"payload":null}})");
    QTest::newRow("error") << QByteArray(R"({"error":{"code":"custom.denied","message":"Go away"}})")
                           << QByteArray(R"({"error":{"code":"custom.denied","message":"Go away"}})");
    QTest::newRow("garbage")
        << QByteArray("not json")
        << QByteArray(R"({"error":{"code":"system.internalError","message":"Invalid service response"}})");
}

void TestEmulatedGateway::authRequestCarriesResgatePayload()
{
    QFETCH(QByteArray, serviceReply);
    QFETCH(QByteArray, clientSees);

    Fixture f;
    QVERIFY2(f.start(), qPrintable(f.error));
    // A service of the test's own, on the observer's connection.
    QList<NatsMessage> requests;
    NatsSubscription *service = f.observer.nats.subscribe("auth.test.check");
    QVERIFY(service);
    connect(service, &NatsSubscription::received, this, [&](const QList<NatsMessage> &batch) {
        for (const NatsMessage &message : batch) {
            requests.append(message);
            f.observer.nats.publish(message.reply, serviceReply);
        }
    });
    QVERIFY(f.observer.nats.flush());

    WsClient client;
    QByteArray cid;
    QUrl url = f.gateway->serverUrl();
    url.setPath(QStringLiteral("/ws"));
    url.setQuery(QStringLiteral("room=1"));
    QVERIFY(f.connect(client, &cid, url));
    // A token set earlier by some service is passed along.
    f.observer.nats.publish("conn." + cid + ".token", R"({"token":{"userId":42},"tid":"t42"})");
    QTRY_COMPARE(f.gateway->connections().front().token, QByteArray(R"({"userId":42})"));

    const QJsonObject params { { QStringLiteral("secret"), QStringLiteral("x") } };
    std::optional<QJsonObject> response = client.request(7, QStringLiteral("auth.test.check"), params);
    QVERIFY(response);
    QCOMPARE(response->value(QStringLiteral("id")).toInt(), 7);
    response->remove(QStringLiteral("id"));
    QCOMPARE(compactJson(*response), compactJson(jsonObject(clientSees)));

    QCOMPARE(requests.size(), 1);
    const QJsonObject request = jsonObject(requests.first().data);
    QCOMPARE(request.value(QStringLiteral("cid")).toString().toLatin1(), cid);
    QCOMPARE(request.value(QStringLiteral("token")).toObject(),
             (QJsonObject { { QStringLiteral("userId"), 42 } }));
    QCOMPARE(request.value(QStringLiteral("params")).toObject(), params);
    QCOMPARE(request.value(QStringLiteral("host")).toString(),
             QStringLiteral("127.0.0.1:%1").arg(f.gateway->port()));
    QCOMPARE(request.value(QStringLiteral("remoteAddr")).toString().toLatin1(), client.localAddress());
    QCOMPARE(request.value(QStringLiteral("uri")).toString(), QStringLiteral("/ws?room=1"));
    // Go's http.Header: canonical keys, lists of values, no Host.
    const QJsonObject header = request.value(QStringLiteral("header")).toObject();
    QVERIFY2(header.value(QStringLiteral("Sec-Websocket-Key")).toArray().size() == 1,
             compactJson(header).constData());
    QCOMPARE(header.value(QStringLiteral("Upgrade")).toArray().first().toString().toLower(),
             QStringLiteral("websocket"));
    QVERIFY(!header.contains(QStringLiteral("Host")));
    QVERIFY(client.answersVersion());
}

void TestEmulatedGateway::tokenEvents()
{
    Fixture f;
    QVERIFY2(f.start(), qPrintable(f.error));
    WsClient client;
    QByteArray cid;
    QVERIFY(f.connect(client, &cid));
    QSignalSpy tokenChanged(f.gateway.get(), &EmulatedGateway::tokenChanged);
    const QByteArray subject = "conn." + cid + ".token";

    f.observer.nats.publish(subject, R"({"token":{"user":"carol"},"tid":"t1"})");
    QTRY_COMPARE(tokenChanged.size(), 1);
    QCOMPARE(f.gateway->connections().front().token, QByteArray(R"({"user":"carol"})"));
    QCOMPARE(f.gateway->connections().front().tid, QByteArray("t1"));

    // Garbage is ignored; the good event after it still applies (same publisher, in order).
    f.observer.nats.publish(subject, "{\"token\":");
    f.observer.nats.publish(subject, "[]");
    f.observer.nats.publish(subject, R"({"token":"plain string","tid":"t2"})");
    QTRY_COMPARE(tokenChanged.size(), 2);
    QCOMPARE(f.gateway->connections().front().token, QByteArray(R"("plain string")"));

    // A token for a connection this gateway does not hold changes nothing.
    f.observer.nats.publish("conn.someoneelse.token", R"({"token":{"x":1}})");
    f.observer.nats.publish(subject, R"({"token":null})");
    QTRY_COMPARE(tokenChanged.size(), 3);
    QVERIFY(f.gateway->connections().front().token.isEmpty());
    QCOMPARE(f.gateway->connectionCount(), 1);
}

void TestEmulatedGateway::survivesNatsOutage()
{
    Fixture f;
    QVERIFY2(f.start(), qPrintable(f.error));
    WsClient client;
    QByteArray cid;
    QVERIFY(f.connect(client, &cid));

    f.server.stop();
    QTRY_VERIFY(!f.gatewayNats.isConnected());
    QCOMPARE(client.socket.state(), QAbstractSocket::ConnectedState);
    QVERIFY(client.answersVersion());
    const auto failed = client.request(2, QStringLiteral("auth.demo.login"),
                                       QJsonObject { { QStringLiteral("user"), QStringLiteral("dave") },
                                                     { QStringLiteral("role"), QStringLiteral("x") } });
    QVERIFY(failed);
    const QJsonObject error = failed->value(QStringLiteral("error")).toObject();
    QCOMPARE(error.value(QStringLiteral("code")).toString(), QStringLiteral("system.internalError"));
    QVERIFY2(error.value(QStringLiteral("message")).toString().contains(QLatin1String("NATS")),
             qPrintable(error.value(QStringLiteral("message")).toString()));

    QVERIFY2(f.server.restart(), qPrintable(f.server.error()));
    QTRY_VERIFY_WITH_TIMEOUT(
        f.gatewayNats.isConnected() && f.observer.nats.isConnected() && f.serviceNats.isConnected(), 10000);
    QTRY_VERIFY_WITH_TIMEOUT(mergeReplies(f.observer.poll(), QStringLiteral("gw-test"))
                                 .connections.contains(QString::fromLatin1(cid)),
                             10000);
    const auto again = client.request(3, QStringLiteral("auth.demo.login"),
                                      QJsonObject { { QStringLiteral("user"), QStringLiteral("dave") },
                                                    { QStringLiteral("role"), QStringLiteral("x") } });
    QVERIFY(again);
    QVERIFY2(again->contains(QStringLiteral("result")), compactJson(*again).constData());
    QCOMPARE(client.socket.state(), QAbstractSocket::ConnectedState);
}

void TestEmulatedGateway::stockModeIsPassive()
{
    NatsServer::Options serverOptions;
    serverOptions.monitoring = true;
    Fixture f(serverOptions);
    EmulatedGateway::Options options = Fixture::defaultOptions();
    options.stock = true;
    QVERIFY2(f.start(options), qPrintable(f.error));
    QVERIFY(f.gateway->isStock());

    WsClient client;
    QByteArray cid;
    QVERIFY(f.connect(client, &cid));
    const QString subscription = QStringLiteral("conn.%1.*").arg(QString::fromLatin1(cid));
    QTRY_VERIFY(connzSubjects(f.server.monitorUrl()).contains(subscription));

    // Token events still reach it, through that subscription.
    const auto reply = client.request(1, QStringLiteral("auth.demo.login"),
                                      QJsonObject { { QStringLiteral("user"), QStringLiteral("erin") },
                                                    { QStringLiteral("role"), QStringLiteral("guest") } });
    QVERIFY(reply && reply->contains(QStringLiteral("result")));
    QTRY_COMPARE(jsonObject(f.gateway->connections().front().token),
                 demoToken(QStringLiteral("erin"), QStringLiteral("guest")));

    // No poll reply. (The subscription is visible, so a connect event published
    // before it would have reached the observer by now.)
    QVERIFY(f.observer.poll().isEmpty());
    client.socket.close();
    QTRY_VERIFY(!connzSubjects(f.server.monitorUrl()).contains(subscription));
    QCOMPARE(f.gateway->connectionCount(), 0);

    QSignalSpy stopped(f.gateway.get(), &EmulatedGateway::stopped);
    f.gateway->stop();
    QTRY_COMPARE(stopped.size(), 1);
    // A marker from the gateway's connection arrives after anything it published before.
    QVERIFY(f.gatewayNats.publish("conn.marker.end", "{}"));
    QTRY_VERIFY(f.observer.has("conn.marker.end"));
    QCOMPARE(f.observer.trackingEventCount(), 0);
}

void TestEmulatedGateway::twoGatewaysInOneProcess()
{
    Fixture f;
    QVERIFY2(f.start(), qPrintable(f.error));
    EmulatedGateway::Options options = Fixture::defaultOptions();
    options.gid.clear();
    EmulatedGateway second(&f.gatewayNats, options);
    QVERIFY2(second.start(), qPrintable(second.errorString()));
    QVERIFY(second.port() != f.gateway->port());
    QVERIFY(second.gid().startsWith(QLatin1String("gw-")));
    QVERIFY(second.gid() != f.gateway->gid());
    QTRY_VERIFY(second.hasAnnouncedStart());

    WsClient a, b;
    QByteArray cidA, cidB;
    QVERIFY(f.connect(a, &cidA));
    QVERIFY(b.open(second.serverUrl()));
    QTRY_COMPARE(second.connectionCount(), 1);
    cidB = second.connections().front().cid;
    QVERIFY(cidA != cidB);

    const QList<NatsMessage> replies = f.observer.poll();
    QCOMPARE(mergeReplies(replies, f.gateway->gid()).connections.keys(),
             QStringList { QString::fromLatin1(cidA) });
    QCOMPARE(mergeReplies(replies, second.gid()).connections.keys(),
             QStringList { QString::fromLatin1(cidB) });

    // Listening on a port in use fails with a clear error.
    EmulatedGateway::Options clash = Fixture::defaultOptions();
    clash.port = second.port();
    EmulatedGateway third(&f.gatewayNats, clash);
    QVERIFY(!third.start());
    QVERIFY2(third.errorString().contains(QString::number(second.port())), qPrintable(third.errorString()));
}

QTEST_GUILESS_MAIN(TestEmulatedGateway)
#include "tst_emulatedgateway.moc"
