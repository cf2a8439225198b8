#include "livetracker.h"
#include "natsconnection.h"
#include "natsserver.h"
#include "testgateway.h"
#include "tracker.h"
#include "xid.h"

#include <QSignalSpy>
#include <QTest>

using namespace ResWatch;

namespace {

/// What the tracker holds for one gateway, flattened like TestGateway::truth().
QString tracked(const Tracker &tracker, const QByteArray &gid)
{
    const Gateway *gateway = tracker.gatewayByGid(QString::fromUtf8(gid));
    if (!gateway)
        return QStringLiteral("<no gateway>");
    const quint32 index = quint32(gateway - tracker.gateways().constData());
    QStringList items;
    for (quint32 slot = 0; slot < tracker.slotCount(); ++slot) {
        const Connection *c = tracker.connectionAt(slot);
        if (!c || c->gateway != index || tracker.slotOf(c->cid.view()) != qint64(slot))
            continue;
        items << c->cid.toString()
                + (c->hasToken() ? QLatin1Char('=') + QString::fromUtf8(c->token) : QString());
    }
    items.sort();
    return items.join(QLatin1Char(' '));
}

NatsOptions optionsFor(const NatsServer &server, int reconnectWaitMs = 100)
{
    NatsOptions options;
    options.urls = { server.url() };
    options.name = QStringLiteral("tst_livetracker");
    options.reconnectWaitMs = reconnectWaitMs;
    options.maxReconnectWaitMs = reconnectWaitMs;
    return options;
}

// Everything one test needs: a server, a NATS connection, a tracker on it.
struct Setup
{
    explicit Setup(const TrackerSettings &settings) : tracker(settings) { }

    bool start()
    {
        if (!server.start()) {
            qWarning() << server.error();
            return false;
        }
        return true;
    }
    bool openTracker(int reconnectWaitMs = 100)
    {
        if (!connection.open(optionsFor(server, reconnectWaitMs)))
            return false;
        live = std::make_unique<LiveTracker>(&connection, &tracker);
        live->setPollWindow(100, 1000);
        return true;
    }

    NatsServer server;
    NatsConnection connection;
    Tracker tracker;
    std::unique_ptr<LiveTracker> live;
};

TrackerSettings eventsOnly()
{
    TrackerSettings settings;
    settings.pollIntervalMs = 60'000; // only the poll after connecting, in a test's time
    settings.changeIntervalMs = 10;
    return settings;
}

} // namespace

class TestLiveTracker : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void followsEventsExactly()
    {
        Setup s(eventsOnly());
        QVERIFY(s.start());
        TestGateway gw1("gw-1"), gw2("gw-2");
        QVERIFY2(gw1.open(s.server.url()), qPrintable(gw1.error()));
        QVERIFY2(gw2.open(s.server.url()), qPrintable(gw2.error()));
        QVERIFY(s.openTracker());
        QSignalSpy polls(s.live.get(), &LiveTracker::pollFinished);
        QTRY_COMPARE_WITH_TIMEOUT(polls.size(), 1, 5000);
        QCOMPARE(tracked(s.tracker, "gw-1"), QString());

        XidGenerator ids;
        QList<QByteArray> cids;
        for (int i = 0; i < 20; ++i) {
            cids << ids.next();
            (i % 2 ? gw2 : gw1).connectClient(cids.last());
        }
        gw1.setToken(cids[0], R"({"user":"ann"})");
        gw2.setToken(cids[1], R"({"user":"bob"})");
        for (int i = 10; i < 20; ++i)
            (i % 2 ? gw2 : gw1).disconnectClient(cids[i]);
        gw2.connectClient(ids.next());

        QTRY_COMPARE_WITH_TIMEOUT(tracked(s.tracker, "gw-1"), gw1.truth(), 5000);
        QTRY_COMPARE_WITH_TIMEOUT(tracked(s.tracker, "gw-2"), gw2.truth(), 5000);
        QCOMPARE(s.tracker.connectionCount(), 11);
        QCOMPARE(s.tracker.stats().polls, 1u); // the events did it
        QCOMPARE(s.tracker.stats().badMessages, 0u);

        // A restart ends every connection the gateway had.
        gw1.start();
        QTRY_COMPARE_WITH_TIMEOUT(tracked(s.tracker, "gw-1"), QString(), 5000);
        QCOMPARE(tracked(s.tracker, "gw-2"), gw2.truth());
    }

    void rebuildsFromTheFirstPoll_data()
    {
        QTest::addColumn<qsizetype>("maxPayload");
        QTest::newRow("one reply") << qsizetype(0);
        QTest::newRow("multipart reply") << qsizetype(400);
    }
    void rebuildsFromTheFirstPoll()
    {
        QFETCH(qsizetype, maxPayload);
        Setup s(eventsOnly());
        QVERIFY(s.start());
        TestGateway gw("gw-before");
        QVERIFY2(gw.open(s.server.url()), qPrintable(gw.error()));
        gw.setMaxPayload(maxPayload);
        XidGenerator ids;
        for (int i = 0; i < 30; ++i) {
            const QByteArray cid = ids.next();
            gw.connectClient(cid); // nobody listens yet
            if (i % 3 == 0)
                gw.setToken(cid, R"({"n":)" + QByteArray::number(i) + '}');
        }
        QVERIFY(gw.flush());

        QVERIFY(s.openTracker());
        QTRY_COMPARE_WITH_TIMEOUT(tracked(s.tracker, "gw-before"), gw.truth(), 5000);
        QCOMPARE(s.tracker.connectionCount(), 30);
        QCOMPARE(toString(s.tracker.gatewayByGid(u"gw-before")->source), QStringLiteral("poll"));
        const Connection *any = s.tracker.connectionAt(0);
        QVERIFY(any);
        QCOMPARE(toString(any->source), QStringLiteral("poll"));
        if (maxPayload > 0)
            QVERIFY2(gw.maxPartsSent() > 1, "the reply was not split");
        QCOMPARE(s.tracker.stats().badMessages, 0u);
    }

    void pollsAtOnceAfterReconnect()
    {
        Setup s(eventsOnly());
        QVERIFY(s.start());
        TestGateway gw("gw-1");
        QVERIFY2(gw.open(s.server.url()), qPrintable(gw.error()));
        XidGenerator ids;
        const QByteArray kept = ids.next(), gone = ids.next();
        gw.connectClient(kept);
        gw.connectClient(gone);
        // The tracker reconnects slower than the gateway, so the gateway is back when it polls.
        QVERIFY(s.openTracker(400));
        QSignalSpy reconnected(&s.connection, &NatsConnection::reconnected);
        QTRY_COMPARE_WITH_TIMEOUT(tracked(s.tracker, "gw-1"), gw.truth(), 5000);
        QTRY_COMPARE_WITH_TIMEOUT(s.tracker.stats().polls, 1u, 5000);

        s.server.stop();
        QTRY_VERIFY_WITH_TIMEOUT(!s.connection.isConnected(), 5000);
        // Changes whose events nobody receives.
        const QByteArray added = ids.next();
        gw.connectClient(added, false);
        gw.setToken(kept, R"({"late":true})", false);
        gw.disconnectClient(gone, false);
        QVERIFY(s.server.restart());

        QTRY_COMPARE_WITH_TIMEOUT(reconnected.size(), 1, 10000);
        QTRY_COMPARE_WITH_TIMEOUT(tracked(s.tracker, "gw-1"), gw.truth(), 5000);
        QStringList expected { QString::fromUtf8(kept + R"(={"late":true})"), QString::fromUtf8(added) };
        expected.sort();
        QCOMPARE(tracked(s.tracker, "gw-1"), expected.join(QLatin1Char(' ')));
        QCOMPARE(s.tracker.stats().polls, 2u); // the reconnect's, well before the interval
    }

    void silentGatewayGoesStaleThenIsRemoved()
    {
        TrackerSettings settings;
        settings.pollIntervalMs = 150;
        settings.staleAfterMissedPolls = 2;
        settings.gracePeriodMs = 600;
        settings.changeIntervalMs = 10;
        Setup s(settings);
        QVERIFY(s.start());
        TestGateway gw("gw-silent"), other("gw-other");
        QVERIFY2(gw.open(s.server.url()), qPrintable(gw.error()));
        QVERIFY2(other.open(s.server.url()), qPrintable(other.error()));
        XidGenerator ids;
        gw.connectClient(ids.next());
        gw.connectClient(ids.next());
        other.connectClient(ids.next());
        QVERIFY(s.openTracker());
        s.live->setPollWindow(50, 500);
        QTRY_COMPARE_WITH_TIMEOUT(tracked(s.tracker, "gw-silent"), gw.truth(), 5000);

        gw.setAnswering(false);
        QTRY_COMPARE_WITH_TIMEOUT(toString(s.tracker.gatewayByGid(u"gw-silent")->state),
                                  QStringLiteral("stale"), 5000);
        const qint64 slot = s.tracker.slotOf(gw.truth().section(QLatin1Char(' '), 0, 0).toLatin1());
        QVERIFY(slot >= 0);
        QCOMPARE(toString(s.tracker.connectionAt(quint32(slot))->state), QStringLiteral("stale"));

        QTRY_COMPARE_WITH_TIMEOUT(s.tracker.gatewayByGid(u"gw-silent"), nullptr, 5000);
        QCOMPARE(s.tracker.connectionCount(), 1);
        QCOMPARE(tracked(s.tracker, "gw-other"), other.truth());
        int lost = 0;
        for (const ClosedConnection &c : s.tracker.closedConnections())
            lost += c.reason == EndReason::GatewayLost ? 1 : 0;
        QCOMPARE(lost, 2);

        // Answering again, it is rebuilt from the next poll.
        gw.setAnswering(true);
        QTRY_COMPARE_WITH_TIMEOUT(tracked(s.tracker, "gw-silent"), gw.truth(), 5000);
        QCOMPARE(toString(s.tracker.gatewayByGid(u"gw-silent")->state), QStringLiteral("up"));
    }

    void badSubjectsAreRejected()
    {
        Setup s(eventsOnly());
        QVERIFY(s.start());
        TestGateway gw("gw-1");
        QVERIFY2(gw.open(s.server.url()), qPrintable(gw.error()));
        QVERIFY(s.openTracker());
        QSignalSpy rejected(&s.tracker, &Tracker::messageRejected);
        QSignalSpy polls(s.live.get(), &LiveTracker::pollFinished);
        QTRY_COMPARE_WITH_TIMEOUT(polls.size(), 1, 5000);

        gw.connectClient("good");
        gw.publishRaw("conn.a.b.connect", R"({"gid":"gw-1"})");
        gw.publishRaw("conn.bad.connect", "{not json");
        QTRY_COMPARE_WITH_TIMEOUT(rejected.size(), 2, 5000);
        QCOMPARE(rejected.at(0).at(0).toString(), QStringLiteral("conn.a.b.connect"));
        QCOMPARE(rejected.at(1).at(0).toString(), QStringLiteral("conn.bad.connect"));
        QTRY_COMPARE_WITH_TIMEOUT(tracked(s.tracker, "gw-1"), QStringLiteral("good"), 5000);
        QCOMPARE(s.tracker.stats().badMessages, 2u);
    }
};

QTEST_GUILESS_MAIN(TestLiveTracker)
#include "tst_livetracker.moc"
