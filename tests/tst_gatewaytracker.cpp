// The tracker pointed at two emulated gateways agrees with them: connects,
// disconnects, tokens, a clean restart, and a gateway killed with SIGKILL.

#include "demoauthservice.h"
#include "emulatedgateway.h"
#include "gatewaytestsupport.h"
#include "livetracker.h"
#include "natsconnection.h"
#include "natsserver.h"
#include "tracker.h"

#include <QProcess>
#include <QRegularExpression>
#include <QTest>

#include <csignal>
#include <memory>

using namespace ResWatch;

namespace {

// "remoteAddr[=token]" of every live connection the tracker holds for @p gid, sorted.
QStringList tracked(const Tracker &tracker, const QString &gid, ConnectionState state = ConnectionState::Live)
{
    const Gateway *gateway = tracker.gatewayByGid(gid);
    if (!gateway || gateway->removed)
        return {};
    const quint32 index = quint32(gateway - tracker.gateways().constData());
    QStringList items;
    for (quint32 slot = 0; slot < tracker.slotCount(); ++slot) {
        const Connection *c = tracker.connectionAt(slot);
        if (!c || c->gateway != index || c->state != state || tracker.slotOf(c->cid.view()) != qint64(slot))
            continue;
        items << QString::fromLatin1(c->remoteAddr())
                + (c->hasToken() ? QLatin1Char('=') + QString::fromUtf8(c->token) : QString());
    }
    items.sort();
    return items;
}

// The same, from the clients' side.
QStringList expected(const std::vector<std::unique_ptr<WsClient>> &clients,
                     const QHash<QString, QString> &tokens = {})
{
    QStringList items;
    for (const auto &client : clients) {
        if (client->socket.state() != QAbstractSocket::ConnectedState)
            continue;
        const QString address = QString::fromLatin1(client->localAddress());
        items << address + (tokens.contains(address) ? QLatin1Char('=') + tokens.value(address) : QString());
    }
    items.sort();
    return items;
}

bool openClients(std::vector<std::unique_ptr<WsClient>> &clients, const QUrl &url, int count)
{
    for (int i = 0; i < count; ++i) {
        clients.push_back(std::make_unique<WsClient>());
        if (!clients.back()->open(url))
            return false;
    }
    return true;
}

} // namespace

class TestGatewayTracker : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void trackerAgreesWithGateways();
};

void TestGatewayTracker::trackerAgreesWithGateways()
{
    NatsServer server;
    QVERIFY2(server.start(), qPrintable(server.error()));

    TrackerSettings settings;
    settings.pollIntervalMs = 300;
    settings.staleAfterMissedPolls = 2;
    settings.gracePeriodMs = 1000;
    settings.changeIntervalMs = 20;
    Tracker tracker(settings);
    NatsConnection trackerNats;
    QVERIFY(trackerNats.open(testNatsOptions(server, QStringLiteral("tracker"))));
    LiveTracker live(&trackerNats, &tracker);
    live.setPollWindow(100, 1000);
    QVERIFY(waitForNats(trackerNats));

    NatsConnection serviceNats;
    QVERIFY(serviceNats.open(testNatsOptions(server, QStringLiteral("demo-auth"))));
    QVERIFY(waitForNats(serviceNats));
    DemoAuthService auth(&serviceNats);
    auth.start();
    QVERIFY(auth.isRunning());

    // Gateway A in this process, gateway B a real process.
    NatsConnection natsA;
    QVERIFY(natsA.open(testNatsOptions(server, QStringLiteral("gateway A"))));
    EmulatedGateway::Options optionsA;
    optionsA.gid = QStringLiteral("gw-a");
    auto gatewayA = std::make_unique<EmulatedGateway>(&natsA, optionsA);
    QVERIFY2(gatewayA->start(), qPrintable(gatewayA->errorString()));
    GatewayProcess gatewayB;
    QVERIFY(gatewayB.start(server, { QStringLiteral("--gid"), QStringLiteral("gw-b") }));
    const QString gidA = QStringLiteral("gw-a"), gidB = QStringLiteral("gw-b");

    // Connects, on both.
    std::vector<std::unique_ptr<WsClient>> clientsA, clientsB;
    QVERIFY(openClients(clientsA, gatewayA->serverUrl(), 3));
    QVERIFY(openClients(clientsB, gatewayB.url, 2));
    QTRY_COMPARE(tracked(tracker, gidA), expected(clientsA));
    QTRY_COMPARE(tracked(tracker, gidB), expected(clientsB));

    // A token, set through the demo auth service.
    const auto reply
        = clientsB.front()->request(1, QStringLiteral("auth.demo.login"),
                                    QJsonObject { { QStringLiteral("user"), QStringLiteral("alice") },
                                                  { QStringLiteral("role"), QStringLiteral("admin") } });
    QVERIFY(reply && reply->contains(QStringLiteral("result")));
    const QHash<QString, QString> tokens {
        { QString::fromLatin1(clientsB.front()->localAddress()),
          QStringLiteral("{\"user\":\"alice\",\"userId\":%1,\"role\":\"admin\"}")
              .arg(DemoAuthService::userIdFor(QStringLiteral("alice"))) }
    };
    QTRY_COMPARE(tracked(tracker, gidB), expected(clientsB, tokens));

    // Disconnects: a close and a dropped socket.
    clientsA.at(0)->socket.close();
    clientsB.at(1)->socket.abort();
    QTRY_COMPARE(tracked(tracker, gidA), expected(clientsA));
    QTRY_COMPARE(tracked(tracker, gidB), expected(clientsB, tokens));

    // A clean restart of A: its old connections go, the new ones come.
    QSignalSpy stopped(gatewayA.get(), &EmulatedGateway::stopped);
    gatewayA->stop();
    QTRY_COMPARE(stopped.size(), 1);
    QTRY_COMPARE(tracked(tracker, gidA), QStringList());
    gatewayA = std::make_unique<EmulatedGateway>(&natsA, optionsA);
    QVERIFY2(gatewayA->start(), qPrintable(gatewayA->errorString()));
    clientsA.clear();
    QVERIFY(openClients(clientsA, gatewayA->serverUrl(), 2));
    QTRY_COMPARE(tracked(tracker, gidA), expected(clientsA));
    QVERIFY(tracker.gatewayByGid(gidA)->state == GatewayState::Up);

    // B dies without a word: its connections turn stale once it misses polls, then go.
    const QStringList beforeKill = tracked(tracker, gidB);
    gatewayB.process.kill();
    QVERIFY(gatewayB.process.waitForFinished(5000));
    QTRY_COMPARE_WITH_TIMEOUT(tracked(tracker, gidB, ConnectionState::Stale), beforeKill, 5000);
    QTRY_COMPARE_WITH_TIMEOUT(tracked(tracker, gidB, ConnectionState::Stale), QStringList(), 5000);
    QCOMPARE(tracked(tracker, gidB), QStringList());
    // A was not affected.
    QCOMPARE(tracked(tracker, gidA), expected(clientsA));

    // B comes back under the same gid and is tracked afresh.
    GatewayProcess restartedB;
    QVERIFY(restartedB.start(server, { QStringLiteral("--gid"), gidB }));
    clientsB.clear();
    QVERIFY(openClients(clientsB, restartedB.url, 1));
    QTRY_COMPARE(tracked(tracker, gidB), expected(clientsB));
    QTRY_VERIFY(tracker.gatewayByGid(gidB)->state == GatewayState::Up);
    restartedB.process.terminate(); // our clients answer its close frames, so keep the event loop running
    QTRY_COMPARE_WITH_TIMEOUT(restartedB.process.state(), QProcess::NotRunning, 10000);
    QCOMPARE(restartedB.process.exitCode(), 0);
    QTRY_COMPARE(tracked(tracker, gidB), QStringList());
    QCOMPARE(tracker.stats().badMessages, quint64(0));
}

QTEST_GUILESS_MAIN(TestGatewayTracker)
#include "tst_gatewaytracker.moc"
