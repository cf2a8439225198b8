// Tracker rules for stock gateways tracked through nats-server monitoring (SPEC section 4),
// driven by ManualClock and hand-built snapshots; the live parts are in tst_monitorsource.
#include "clock.h"
#include "connzfixture.h"
#include "connzparser.h"
#include "protocol.h"
#include "tracker.h"
#include "xid.h"

#include <QSignalSpy>
#include <QTest>

using namespace ResWatch;

namespace {

constexpr qint64 Start = 1'796'396'000'000; // 2026-12-04T14:00:00Z
const QString Scope = QStringLiteral("http://127.0.0.1:8222");

NatsMessage message(const QByteArray &subject, const QByteArray &data)
{
    NatsMessage m;
    m.subject = subject;
    m.data = data;
    return m;
}

MonitorClient client(quint64 natsCid, const QList<QByteArray> &cids, qint64 startMs = Start - 60000)
{
    MonitorClient c;
    c.cid = natsCid;
    c.ip = "10.0.0." + QByteArray::number(natsCid);
    c.port = 40000 + int(natsCid);
    c.startMs = startMs;
    for (const QByteArray &cid : cids)
        c.connectionIds.emplace_back(cid);
    c.subscriptionCount = int(cids.size()) + 1;
    return c;
}

/// One server "n1" with @p clients, read through @p scope.
MonitorSnapshot snapshot(const std::vector<MonitorClient> &clients, const QString &scope = Scope,
                         const QByteArray &server = "n1")
{
    MonitorSnapshot s;
    s.scope = scope;
    s.servers.push_back({ "NID" + server, server, clients });
    return s;
}

QString connections(const Tracker &tracker)
{
    QStringList items;
    for (quint32 slot = 0; slot < tracker.slotCount(); ++slot) {
        const Connection *c = tracker.connectionAt(slot);
        if (!c || tracker.slotOf(c->cid.view()) != qint64(slot))
            continue;
        QString item = c->cid.toString() + QLatin1Char('@') + tracker.gateways().at(int(c->gateway)).gid;
        if (c->state == ConnectionState::Stale)
            item += QLatin1String("~stale");
        if (!c->isTokenKnown())
            item += QLatin1String("=?");
        else if (c->hasToken())
            item += QLatin1Char('=') + QString::fromUtf8(c->token);
        items << item;
    }
    items.sort();
    return items.join(QLatin1Char(' '));
}

QString gateways(const Tracker &tracker)
{
    QStringList items;
    for (const Gateway &g : tracker.gateways()) {
        if (!g.removed)
            items << QStringLiteral("%1:%2:%3:%4")
                         .arg(g.gid, toString(g.source), toString(g.state))
                         .arg(g.connectionCount);
    }
    return items.join(QLatin1Char(' '));
}

QString closed(const Tracker &tracker)
{
    QStringList items;
    for (const ClosedConnection &c : tracker.closedConnections())
        items << QStringLiteral("%1@%2:%3").arg(c.connection.cid.toString(), c.gid, toString(c.reason));
    return items.join(QLatin1Char(' '));
}

const Connection *find(const Tracker &tracker, const QByteArray &cid)
{
    const qint64 slot = tracker.slotOf(cid);
    return slot < 0 ? nullptr : tracker.connectionAt(quint32(slot));
}

QByteArray xid(qint64 ms, quint32 counter)
{
    Xid x;
    x.seconds = quint32(ms / 1000);
    x.machine = 0xabcdef;
    x.pid = 42;
    x.counter = counter;
    return x.toString();
}

} // namespace

class TestPassiveTracker : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void connectsFromSnapshot()
    {
        ManualClock clock(Start);
        Tracker tracker({}, &clock);
        QSignalSpy changed(&tracker, &Tracker::changed);
        const QByteArray a = xid(Start - 5000, 1);
        tracker.applyMonitorSnapshot(snapshot({ client(7, { a, "b" }), client(8, {}) }));
        tracker.flushChanges();
        QCOMPARE(gateways(tracker), QStringLiteral("n1/7:monitor:up:2"));
        QCOMPARE(connections(tracker), QStringLiteral("b@n1/7=? %1@n1/7=?").arg(QString::fromLatin1(a)));
        const Connection *c = find(tracker, a);
        QVERIFY(c->source == Source::Monitor);
        QCOMPARE(c->connectedAtMs, Start - 5000); // from the xid
        QCOMPARE(c->tokenUnknownSinceMs, Start);
        QCOMPARE(find(tracker, "b")->connectedAtMs, Start); // not an xid: first seen
        const Gateway &g = *tracker.gatewayByGid(u"n1/7");
        QCOMPARE(g.natsAddress, QStringLiteral("10.0.0.7:40007"));
        QCOMPARE(g.server, QStringLiteral("n1"));
        QCOMPARE(g.monitor, Scope);
        QCOMPARE(g.startedAtMs, Start - 60000);
        QCOMPARE(changed.size(), 1);
        const auto changes = changed.first().first().value<ChangeSet>();
        QCOMPARE(changes.added.size(), 2);
        QCOMPARE(changes.connects, 2);
        QVERIFY(changes.gatewaysChanged);

        // The same snapshot again changes nothing.
        tracker.applyMonitorSnapshot(snapshot({ client(7, { a, "b" }), client(8, {}) }));
        tracker.flushChanges();
        QCOMPARE(changed.size(), 1);
    }

    void gidByServerIdWhenUnnamed()
    {
        QCOMPARE(Tracker::monitorGid("NCCOVSOGOQ3LNLBMADXGZB3TH7RUF4L5", "", 7),
                 QStringLiteral("NCCOVSOGOQ3L/7"));
        QCOMPARE(Tracker::monitorGid("NCCOVSOGOQ3LNLBMADXGZB3TH7RUF4L5", "eu-1", 12),
                 QStringLiteral("eu-1/12"));
    }

    void disconnectsAndStoppedGateways()
    {
        ManualClock clock(Start);
        TrackerSettings settings;
        Tracker tracker(settings, &clock);
        tracker.applyMonitorSnapshot(snapshot({ client(7, { "a", "b" }), client(9, { "c" }) }));
        tracker.flushChanges();
        QSignalSpy changed(&tracker, &Tracker::changed);

        clock.advance(5000);
        tracker.applyMonitorSnapshot(snapshot({ client(7, { "b", "d" }), client(9, { "c" }) }));
        tracker.flushChanges();
        QCOMPARE(connections(tracker), QStringLiteral("b@n1/7=? c@n1/9=? d@n1/7=?"));
        QCOMPARE(closed(tracker), QStringLiteral("a@n1/7:disconnected"));
        auto changes = changed.last().first().value<ChangeSet>();
        QCOMPARE(changes.connects, 1);
        QCOMPARE(changes.disconnects, 1);

        // The NATS client of gateway 7 is gone: the gateway stopped.
        clock.advance(5000);
        tracker.applyMonitorSnapshot(snapshot({ client(9, { "c" }) }));
        tracker.flushChanges();
        QCOMPARE(connections(tracker), QStringLiteral("c@n1/9=?"));
        QCOMPARE(closed(tracker),
                 QStringLiteral("a@n1/7:disconnected b@n1/7:gateway stopped d@n1/7:gateway stopped"));
        QCOMPARE(gateways(tracker), QStringLiteral("n1/7:monitor:stopped:0 n1/9:monitor:up:1"));

        // A gateway whose last connection closed is still there while its NATS client is.
        tracker.applyMonitorSnapshot(snapshot({ client(9, {}) }));
        QCOMPARE(gateways(tracker), QStringLiteral("n1/7:monitor:stopped:0 n1/9:monitor:up:0"));

        // Stopped gateways go after the grace period, like native ones.
        clock.advance(settings.gracePeriodMs);
        tracker.expire();
        QCOMPARE(gateways(tracker), QStringLiteral("n1/9:monitor:up:0"));
    }

    void incompleteSnapshotStopsNothing()
    {
        ManualClock clock(Start);
        Tracker tracker({}, &clock);
        tracker.applyMonitorSnapshot(snapshot({ client(7, { "a" }), client(9, { "c" }) }));
        MonitorSnapshot partial = snapshot({ client(9, {}) });
        partial.complete = false;
        tracker.applyMonitorSnapshot(partial);
        // Gateway 9 was read whole; gateway 7 may have been skipped by paging.
        QCOMPARE(connections(tracker), QStringLiteral("a@n1/7=?"));
        QCOMPARE(gateways(tracker), QStringLiteral("n1/7:monitor:up:1 n1/9:monitor:up:0"));
    }

    void serverRestartReusesClientId()
    {
        ManualClock clock(Start);
        Tracker tracker({}, &clock);
        tracker.applyMonitorSnapshot(snapshot({ client(7, { "a" }, Start - 60000) }));
        tracker.applyMonitorSnapshot(snapshot({ client(7, { "a2" }, Start - 10) }));
        QCOMPARE(connections(tracker), QStringLiteral("a2@n1/7=?"));
        QCOMPARE(closed(tracker), QStringLiteral("a@n1/7:gateway restarted"));
        QCOMPARE(tracker.gatewayByGid(u"n1/7")->startedAtMs, Start - 10);
    }

    void scopesAreIndependent()
    {
        ManualClock clock(Start);
        Tracker tracker({}, &clock);
        const QString other = QStringLiteral("http://127.0.0.1:8223");
        tracker.applyMonitorSnapshot(snapshot({ client(7, { "a" }) }));
        tracker.applyMonitorSnapshot(snapshot({ client(7, { "b" }) }, other, "n2"));
        QCOMPARE(connections(tracker), QStringLiteral("a@n1/7=? b@n2/7=?"));
        tracker.applyMonitorSnapshot(snapshot({}, other, "n2"));
        QCOMPARE(connections(tracker), QStringLiteral("a@n1/7=?"));
        QCOMPARE(gateways(tracker), QStringLiteral("n1/7:monitor:up:1 n2/7:monitor:stopped:0"));
        tracker.forgetMonitorScope(Scope);
        QCOMPARE(connections(tracker), QString());
    }

    void staleWhileUnreadableThenBack()
    {
        ManualClock clock(Start);
        TrackerSettings settings;
        Tracker tracker(settings, &clock);
        tracker.applyMonitorSnapshot(snapshot({ client(7, { "a", "b" }) }));
        tracker.markMonitorStale(Scope);
        QCOMPARE(connections(tracker), QStringLiteral("a@n1/7~stale=? b@n1/7~stale=?"));
        QCOMPARE(gateways(tracker), QStringLiteral("n1/7:monitor:stale:2"));
        // Kept, however long the endpoint stays unreadable, and never counted as missed polls.
        for (int i = 0; i < 10; ++i) {
            clock.advance(settings.gracePeriodMs);
            tracker.beginPoll();
            tracker.endPoll();
            tracker.expire();
        }
        QCOMPARE(connections(tracker), QStringLiteral("a@n1/7~stale=? b@n1/7~stale=?"));
        QCOMPARE(tracker.closedConnections().size(), size_t(0));
        tracker.applyMonitorSnapshot(snapshot({ client(7, { "a" }) }));
        QCOMPARE(connections(tracker), QStringLiteral("a@n1/7=?"));
        QCOMPARE(gateways(tracker), QStringLiteral("n1/7:monitor:up:1"));
    }

    void nativePollsLeaveMonitorGatewaysAlone()
    {
        ManualClock clock(Start);
        Tracker tracker({}, &clock);
        tracker.applyMonitorSnapshot(snapshot({ client(7, { "a" }) }));
        for (int i = 0; i < 5; ++i) {
            tracker.beginPoll();
            tracker.endPoll();
        }
        QCOMPARE(gateways(tracker), QStringLiteral("n1/7:monitor:up:1"));
    }

    void tokensFromEventsAndRequests()
    {
        ManualClock clock(Start);
        Tracker tracker({}, &clock);
        tracker.applyMonitorSnapshot(snapshot({ client(7, { "a", "b", "c", "d" }) }));
        QCOMPARE(connections(tracker), QStringLiteral("a@n1/7=? b@n1/7=? c@n1/7=? d@n1/7=?"));

        // A token event, as the captured auth service published it.
        tracker.handleEvent(
            message("conn.a.token", R"({"token":{"userId":42,"role":"guest"},"tid":"tid-42"})"));
        // An access request with the current token (a client that authenticated before we watched).
        tracker.handleObservedRequest(message("access.example.model", R"({"token":{"userId":7},"cid":"b"})"));
        // A call request saying it has no token: known, none.
        tracker.handleObservedRequest(
            message("call.example.model.ping", R"({"params":{},"token":null,"cid":"c"})"));
        // A get request carries no cid: nothing learnt.
        tracker.handleObservedRequest(message("get.example.model", "{}"));
        QCOMPARE(
            connections(tracker),
            QStringLiteral(R"(a@n1/7={"userId":42,"role":"guest"} b@n1/7={"userId":7} c@n1/7 d@n1/7=?)"));
        QCOMPARE(find(tracker, "a")->tid(), QByteArray("tid-42"));
        QCOMPARE(find(tracker, "b")->tokenSetAtMs, Start);

        // A request never overrides a token event: it may have been sent before the event.
        tracker.handleObservedRequest(message("access.example.model", R"({"token":{"old":true},"cid":"a"})"));
        QCOMPARE(find(tracker, "a")->token, QByteArray(R"({"userId":42,"role":"guest"})"));
        // A token event clears a token learnt from a request.
        tracker.handleEvent(message("conn.b.token", R"({"token":null})"));
        QVERIFY(!find(tracker, "b")->hasToken());
        QVERIFY(find(tracker, "b")->isTokenKnown());
    }

    void authRequestAddressesAndPendingObservations()
    {
        ManualClock clock(Start);
        Tracker tracker({}, &clock);
        // The captured wsconnect auth request, seen before the connz poll lists the connection.
        const QByteArray auth
            = R"({"token":null,"cid":"dc9dh2tqmd2toe6536tg","isHttp":true,"header":{"Upgrade":["websocket"]},)"
              R"("host":"127.0.0.1:8080","remoteAddr":"127.0.0.1:60636","uri":"/"})";
        tracker.handleObservedRequest(message("auth.session.wsconnect", auth));
        tracker.handleEvent(
            message("conn.dc9dh2tqmd2toe6536tg.token", R"({"token":{"userId":42},"tid":"t"})"));
        clock.advance(3000);
        tracker.applyMonitorSnapshot(snapshot({ client(7, { "dc9dh2tqmd2toe6536tg" }) }));
        const Connection *c = find(tracker, "dc9dh2tqmd2toe6536tg");
        QVERIFY(c);
        QCOMPARE(c->remoteAddr(), QByteArray("127.0.0.1:60636"));
        QCOMPARE(c->host(), QByteArray("127.0.0.1:8080"));
        QCOMPARE(c->token, QByteArray(R"({"userId":42})")); // the event wins over the older null
        QCOMPARE(c->tid(), QByteArray("t"));

        // Observations of connections that never appear are dropped after a while.
        tracker.handleObservedRequest(
            message("auth.x.y", R"({"cid":"never","token":null,"remoteAddr":"1.2.3.4:5"})"));
        clock.advance(3 * qint64(tracker.settings().pollIntervalMs)
                      + tracker.settings().pendingTokenTimeoutMs);
        tracker.expire();
        tracker.applyMonitorSnapshot(snapshot({ client(7, { "dc9dh2tqmd2toe6536tg", "never" }) }));
        QCOMPARE(find(tracker, "never")->remoteAddr(), QByteArray());
        QVERIFY(!find(tracker, "never")->isTokenKnown());
    }

    void badObservedRequestsAreHarmless_data()
    {
        QTest::addColumn<QByteArray>("subject");
        QTest::addColumn<QByteArray>("payload");
        QTest::newRow("not json") << QByteArray("access.x") << QByteArray("{\"cid\":");
        QTest::newRow("array") << QByteArray("access.x") << QByteArray("[1]");
        QTest::newRow("cid number") << QByteArray("access.x") << QByteArray(R"({"cid":5,"token":null})");
        QTest::newRow("cid with dot")
            << QByteArray("access.x") << QByteArray(R"({"cid":"a.b","token":null})");
        QTest::newRow("other subject") << QByteArray("get.x") << QByteArray(R"({"cid":"a","token":null})");
        QTest::newRow("empty") << QByteArray("call.x") << QByteArray();
    }

    void badObservedRequestsAreHarmless()
    {
        QFETCH(QByteArray, subject);
        QFETCH(QByteArray, payload);
        ManualClock clock(Start);
        Tracker tracker({}, &clock);
        tracker.applyMonitorSnapshot(snapshot({ client(7, { "a" }) }));
        tracker.handleObservedRequest(message(subject, payload));
        QCOMPARE(connections(tracker), QStringLiteral("a@n1/7=?"));
        QCOMPARE(tracker.stats().badMessages, quint64(0));
    }

    void watchedSinceConnectMeansKnown()
    {
        ManualClock clock(Start);
        Tracker tracker({}, &clock);
        tracker.setObservingSince(Start - 10000);
        const QByteArray before = xid(Start - 20000, 1);
        const QByteArray after = xid(Start - 5000, 2);
        tracker.applyMonitorSnapshot(snapshot({ client(7, { before, after }) }));
        QVERIFY(!find(tracker, before)->isTokenKnown());
        QVERIFY(find(tracker, after)->isTokenKnown());
        QVERIFY(!find(tracker, after)->hasToken());
    }

    void mixedFleetCountsEachGatewayOnce()
    {
        ManualClock clock(Start);
        Tracker tracker({}, &clock);
        // A native gateway "gw-native" that also holds conn.<cid>.* (as Resgate does), and a stock one.
        tracker.handleEvent(message("system.start", Protocol::gatewayEventPayload("gw-native")));
        tracker.handleEvent(message("conn.n1.connect", Protocol::connectPayload("gw-native")));
        tracker.applyMonitorSnapshot(snapshot({ client(3, { "n1", "n2" }), client(7, { "s1" }) }));
        // n2's connect event is still on its way: the native source will report it.
        QCOMPARE(connections(tracker), QStringLiteral("n1@gw-native s1@n1/7=?"));
        QCOMPARE(gateways(tracker), QStringLiteral("gw-native:event:up:1 n1/7:monitor:up:1"));
        QVERIFY(find(tracker, "n1")->source == Source::Event);

        // The other order: the monitor saw a native gateway's connection before its events.
        tracker.applyMonitorSnapshot(
            snapshot({ client(3, { "n1", "n2" }), client(5, { "m1" }), client(7, { "s1" }) }));
        QCOMPARE(gateways(tracker),
                 QStringLiteral("gw-native:event:up:1 n1/7:monitor:up:1 n1/5:monitor:up:1"));
        tracker.handleEvent(message("conn.m1.connect", Protocol::connectPayload("gw-native")));
        tracker.applyMonitorSnapshot(
            snapshot({ client(3, { "n1", "n2" }), client(5, { "m1" }), client(7, { "s1" }) }));
        QCOMPARE(gateways(tracker), QStringLiteral("gw-native:event:up:2 n1/7:monitor:up:1"));
        QCOMPARE(connections(tracker), QStringLiteral("m1@gw-native n1@gw-native s1@n1/7=?"));
        QCOMPARE(tracker.connectionCount(), 3);
        QCOMPARE(closed(tracker), QString()); // nothing ended: one connection, two witnesses
    }
};

QTEST_GUILESS_MAIN(TestPassiveTracker)
#include "tst_passivetracker.moc"
