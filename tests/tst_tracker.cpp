#include "clock.h"
#include "protocol.h"
#include "tracker.h"
#include "xid.h"

#include <QSignalSpy>
#include <QTest>

#include <algorithm>

using namespace ResWatch;

namespace {

constexpr qint64 Start = 1'764'000'000'000;

NatsMessage message(const QByteArray &subject, const QByteArray &data)
{
    NatsMessage m;
    m.subject = subject;
    m.data = data;
    return m;
}

NatsMessage connectEvent(const QByteArray &cid, const QByteArray &gid, const QByteArray &remoteAddr = {},
                         const QByteArray &host = {})
{
    return message("conn." + cid + ".connect", Protocol::connectPayload(gid, remoteAddr, host));
}

NatsMessage disconnectEvent(const QByteArray &cid, const QByteArray &gid)
{
    return message("conn." + cid + ".disconnect", Protocol::gatewayEventPayload(gid));
}

NatsMessage tokenEvent(const QByteArray &cid, const QByteArray &tokenJson, const QByteArray &tid = {})
{
    return message("conn." + cid + ".token", Protocol::tokenPayload(tokenJson, tid));
}

NatsMessage startEvent(const QByteArray &gid)
{
    return message("system.start", Protocol::gatewayEventPayload(gid));
}

NatsMessage stopEvent(const QByteArray &gid)
{
    return message("system.stop", Protocol::gatewayEventPayload(gid));
}

/// "a b=tok" → entries a (no token) and b with token tok (JSON text).
std::vector<Protocol::ConnectionEntry> entries(const QByteArray &spec)
{
    std::vector<Protocol::ConnectionEntry> result;
    for (const QByteArray &item : spec.split(' ')) {
        if (item.isEmpty())
            continue;
        Protocol::ConnectionEntry entry;
        const int eq = item.indexOf('=');
        entry.cid = eq < 0 ? item : item.left(eq);
        if (eq >= 0)
            entry.token = item.mid(eq + 1);
        result.push_back(entry);
    }
    return result;
}

QByteArray reply(const QByteArray &gid, const QByteArray &spec)
{
    const auto payloads = Protocol::connectionsReplyPayloads(gid, entries(spec), 1 << 20);
    Q_ASSERT(payloads.size() == 1);
    return payloads.front();
}

/// One string for the whole connection table: "cid@gid[~stale][=token]", sorted by cid.
QString connections(const Tracker &tracker)
{
    QStringList items;
    for (quint32 slot = 0; slot < tracker.slotCount(); ++slot) {
        if (tracker.slotOf(tracker.connectionAt(slot) ? tracker.connectionAt(slot)->cid.view() : "")
            != qint64(slot))
            continue; // free, or removed and not yet announced
        const Connection &c = *tracker.connectionAt(slot);
        QString item = c.cid.toString() + QLatin1Char('@') + tracker.gateways().at(int(c.gateway)).gid;
        if (c.state == ConnectionState::Stale)
            item += QLatin1String("~stale");
        if (c.hasToken())
            item += QLatin1Char('=') + QString::fromUtf8(c.token);
        items << item;
    }
    items.sort();
    return items.join(QLatin1Char(' '));
}

/// "gid:state:count" for every gateway not removed, in index order.
QString gateways(const Tracker &tracker)
{
    QStringList items;
    for (const Gateway &g : tracker.gateways()) {
        if (!g.removed)
            items << QStringLiteral("%1:%2:%3").arg(g.gid, toString(g.state)).arg(g.connectionCount);
    }
    return items.join(QLatin1Char(' '));
}

/// "cid@gid:reason" of the closed history, oldest first.
QString closed(const Tracker &tracker)
{
    QStringList items;
    for (const ClosedConnection &c : tracker.closedConnections())
        items << QStringLiteral("%1@%2:%3").arg(c.connection.cid.toString(), c.gid, toString(c.reason));
    return items.join(QLatin1Char(' '));
}

QByteArray xid(quint32 seconds, quint32 counter)
{
    Xid x;
    x.seconds = seconds;
    x.machine = 0xabcdef;
    x.pid = 42;
    x.counter = counter;
    return x.toString();
}

void poll(Tracker &tracker, const QList<QByteArray> &replies)
{
    tracker.beginPoll();
    for (const QByteArray &payload : replies)
        tracker.handlePollReply(payload);
    tracker.endPoll();
}

} // namespace

class TestTracker : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void connectDisconnectToken()
    {
        ManualClock clock(Start);
        Tracker tracker({}, &clock);
        tracker.handleEvents(
            { connectEvent("a", "gw1"), connectEvent("b", "gw1"), connectEvent("c", "gw2") });
        QCOMPARE(connections(tracker), QStringLiteral("a@gw1 b@gw1 c@gw2"));
        QCOMPARE(gateways(tracker), QStringLiteral("gw1:up:2 gw2:up:1"));

        clock.advance(500);
        tracker.handleEvent(tokenEvent("a", R"({"user":"ann"})", "t1"));
        QCOMPARE(connections(tracker), QStringLiteral(R"(a@gw1={"user":"ann"} b@gw1 c@gw2)"));
        const Connection *a = tracker.connectionAt(quint32(tracker.slotOf("a")));
        QCOMPARE(a->tid(), QByteArray("t1"));
        QCOMPARE(a->tokenSetAtMs, Start + 500);

        tracker.handleEvent(disconnectEvent("b", "gw1"));
        QCOMPARE(connections(tracker), QStringLiteral(R"(a@gw1={"user":"ann"} c@gw2)"));
        QCOMPARE(closed(tracker), QStringLiteral("b@gw1:disconnected"));
        QCOMPARE(tracker.closedConnections().back().endedAtMs, Start + 500);

        // A null token clears the token and its tid.
        tracker.handleEvent(tokenEvent("a", "null"));
        QCOMPARE(connections(tracker), QStringLiteral("a@gw1 c@gw2"));
        QCOMPARE(tracker.connectionAt(quint32(tracker.slotOf("a")))->tid(), QByteArray());

        // A disconnect of a cid never seen changes nothing; a known cid on another gateway moved.
        tracker.handleEvent(disconnectEvent("zz", "gw1"));
        tracker.handleEvent(connectEvent("c", "gw1"));
        QCOMPARE(connections(tracker), QStringLiteral("a@gw1 c@gw1"));
        QCOMPARE(gateways(tracker), QStringLiteral("gw1:up:2 gw2:up:0"));
        QCOMPARE(tracker.connectionCount(), 2);
        QCOMPARE(tracker.stats().badMessages, 0u);
    }

    void connectDetails()
    {
        Tracker tracker;
        tracker.handleEvent(connectEvent("a", "gw1", "10.0.0.7:5123", "example.com"));
        const Connection *a = tracker.connectionAt(quint32(tracker.slotOf("a")));
        QCOMPARE(a->remoteAddr(), QByteArray("10.0.0.7:5123"));
        QCOMPARE(a->host(), QByteArray("example.com"));
        QCOMPARE(toString(a->source), QStringLiteral("event"));
    }

    void connectTime_data()
    {
        QTest::addColumn<QByteArray>("cid");
        QTest::addColumn<qint64>("expected");
        QTest::newRow("xid: its own time") << xid(1'700'000'123, 1) << qint64(1'700'000'123'000);
        QTest::newRow("not an xid: first seen") << QByteArray("plain-cid") << Start;
        QTest::newRow("20 chars, not base32hex") << QByteArray("zzzzzzzzzzzzzzzzzzzz") << Start;
    }
    void connectTime()
    {
        QFETCH(QByteArray, cid);
        QFETCH(qint64, expected);
        ManualClock clock(Start);
        Tracker tracker({}, &clock);
        tracker.handleEvent(connectEvent(cid, "gw1"));
        QCOMPARE(tracker.connectionAt(quint32(tracker.slotOf(cid)))->connectedAtMs, expected);
    }

    void tokenBeforeConnectIsAttached_data()
    {
        QTest::addColumn<bool>("byPoll");
        QTest::newRow("connect event") << false;
        QTest::newRow("poll reply") << true;
    }
    void tokenBeforeConnectIsAttached()
    {
        QFETCH(bool, byPoll);
        ManualClock clock(Start);
        TrackerSettings settings;
        settings.pendingTokenTimeoutMs = 1000;
        Tracker tracker(settings, &clock);
        tracker.handleEvent(tokenEvent("a", R"({"id":1})", "t"));
        QCOMPARE(tracker.connectionCount(), 0);
        clock.advance(999);
        tracker.expire();
        if (byPoll)
            poll(tracker, { reply("gw1", "a") });
        else
            tracker.handleEvent(connectEvent("a", "gw1"));
        QCOMPARE(connections(tracker), QStringLiteral(R"(a@gw1={"id":1})"));
        const Connection *a = tracker.connectionAt(quint32(tracker.slotOf("a")));
        QCOMPARE(a->tid(), QByteArray("t"));
        QCOMPARE(a->tokenSetAtMs, Start);
    }

    void pendingTokenIsDroppedAfterTimeout()
    {
        ManualClock clock(Start);
        TrackerSettings settings;
        settings.pendingTokenTimeoutMs = 1000;
        Tracker tracker(settings, &clock);
        tracker.handleEvent(tokenEvent("a", R"({"id":1})"));
        clock.advance(1000);
        tracker.expire();
        tracker.handleEvent(connectEvent("a", "gw1"));
        QCOMPARE(connections(tracker), QStringLiteral("a@gw1"));
    }

    void gatewayStartAndStop()
    {
        ManualClock clock(Start);
        TrackerSettings settings;
        settings.gracePeriodMs = 5000;
        Tracker tracker(settings, &clock);
        tracker.handleEvents(
            { connectEvent("a", "gw1"), connectEvent("b", "gw1"), connectEvent("c", "gw2") });

        clock.advance(10);
        tracker.handleEvent(startEvent("gw1"));
        QCOMPARE(connections(tracker), QStringLiteral("c@gw2"));
        QCOMPARE(gateways(tracker), QStringLiteral("gw1:up:0 gw2:up:1"));
        QCOMPARE(tracker.gatewayByGid(u"gw1")->startedAtMs, Start + 10);
        QCOMPARE(closed(tracker), QStringLiteral("a@gw1:gateway restarted b@gw1:gateway restarted"));

        tracker.handleEvent(stopEvent("gw2"));
        QCOMPARE(connections(tracker), QString());
        QCOMPARE(gateways(tracker), QStringLiteral("gw1:up:0 gw2:stopped:0"));
        QCOMPARE(tracker.gatewayByGid(u"gw2")->staleSinceMs, Start + 10);
        QVERIFY(closed(tracker).endsWith(QLatin1String("c@gw2:gateway stopped")));

        // A stopped gateway does not miss polls; its row goes after the grace period.
        poll(tracker, { reply("gw1", "") });
        QCOMPARE(tracker.gatewayByGid(u"gw2")->missedPolls, 0);
        clock.advance(4999);
        tracker.expire();
        QCOMPARE(gateways(tracker), QStringLiteral("gw1:up:0 gw2:stopped:0"));
        clock.advance(1);
        tracker.expire();
        QCOMPARE(gateways(tracker), QStringLiteral("gw1:up:0"));
        QVERIFY(tracker.gateways().at(1).removed);
        QCOMPARE(tracker.gatewayByGid(u"gw2"), nullptr);

        // The same gid seen again is a new row.
        tracker.handleEvent(connectEvent("d", "gw2"));
        QCOMPARE(gateways(tracker), QStringLiteral("gw1:up:0 gw2:up:1"));
        QCOMPARE(tracker.gateways().size(), 3);
    }

    void silentGatewayGoesStaleThenIsLost()
    {
        ManualClock clock(Start);
        TrackerSettings settings;
        settings.staleAfterMissedPolls = 2;
        settings.gracePeriodMs = 1000;
        Tracker tracker(settings, &clock);
        tracker.handleEvents(
            { connectEvent("a", "gw1"), connectEvent("b", "gw2"), connectEvent("c", "gw2") });

        poll(tracker, { reply("gw1", "a") });
        QCOMPARE(gateways(tracker), QStringLiteral("gw1:up:1 gw2:up:2"));
        QCOMPARE(tracker.gatewayByGid(u"gw2")->missedPolls, 1);
        clock.advance(100);
        poll(tracker, { reply("gw1", "a") });
        QCOMPARE(gateways(tracker), QStringLiteral("gw1:up:1 gw2:stale:2"));
        QCOMPARE(connections(tracker), QStringLiteral("a@gw1 b@gw2~stale c@gw2~stale"));
        QCOMPARE(tracker.gatewayByGid(u"gw2")->staleSinceMs, Start + 100);
        QCOMPARE(tracker.gatewayByGid(u"gw1")->lastReplyMs, Start + 100);

        clock.advance(999);
        tracker.expire();
        QCOMPARE(connections(tracker), QStringLiteral("a@gw1 b@gw2~stale c@gw2~stale"));
        clock.advance(1);
        tracker.expire();
        QCOMPARE(connections(tracker), QStringLiteral("a@gw1"));
        QCOMPARE(gateways(tracker), QStringLiteral("gw1:up:1"));
        QCOMPARE(closed(tracker), QStringLiteral("b@gw2:gateway lost c@gw2:gateway lost"));
    }

    void staleGatewayHeardAgainIsLive_data()
    {
        QTest::addColumn<QString>("how");
        QTest::newRow("reply") << QStringLiteral("reply");
        QTest::newRow("connect event") << QStringLiteral("connect");
        QTest::newRow("disconnect event") << QStringLiteral("disconnect");
    }
    void staleGatewayHeardAgainIsLive()
    {
        QFETCH(QString, how);
        ManualClock clock(Start);
        TrackerSettings settings;
        settings.staleAfterMissedPolls = 1;
        Tracker tracker(settings, &clock);
        tracker.handleEvents({ connectEvent("a", "gw1"), connectEvent("b", "gw1") });
        poll(tracker, {});
        QCOMPARE(connections(tracker), QStringLiteral("a@gw1~stale b@gw1~stale"));
        QCOMPARE(gateways(tracker), QStringLiteral("gw1:stale:2"));

        if (how == QLatin1String("reply"))
            poll(tracker, { reply("gw1", "a b") });
        else if (how == QLatin1String("connect"))
            tracker.handleEvent(connectEvent("c", "gw1"));
        else
            tracker.handleEvent(disconnectEvent("zz", "gw1"));
        QVERIFY(connections(tracker).startsWith(QLatin1String("a@gw1 b@gw1")));
        QCOMPARE(toString(tracker.gatewayByGid(u"gw1")->state), QStringLiteral("up"));
        QCOMPARE(tracker.gatewayByGid(u"gw1")->missedPolls, 0);
        QCOMPARE(tracker.gatewayByGid(u"gw1")->staleSinceMs, 0);
    }

    void snapshotRemovesGhostsAndAddsMissing()
    {
        ManualClock clock(Start);
        Tracker tracker({}, &clock);
        tracker.handleEvents({ connectEvent("ghost", "gw1"), connectEvent("b", "gw1"),
                               connectEvent("m", "gw1"), connectEvent("other", "gw2") });
        tracker.handleEvent(tokenEvent("b", R"({"old":1})"));
        poll(
            tracker,
            { reply("gw1", R"(b={"new":2} m new={"x":true})"), reply("gw2", "other"), reply("gw3", "late") });
        QCOMPARE(connections(tracker),
                 QStringLiteral(R"(b@gw1={"new":2} late@gw3 m@gw1 new@gw1={"x":true} other@gw2)"));
        QCOMPARE(gateways(tracker), QStringLiteral("gw1:up:3 gw2:up:1 gw3:up:1"));
        QCOMPARE(closed(tracker), QStringLiteral("ghost@gw1:absent from poll"));
        QCOMPARE(toString(tracker.connectionAt(quint32(tracker.slotOf("new")))->source),
                 QStringLiteral("poll"));
        QCOMPARE(toString(tracker.connectionAt(quint32(tracker.slotOf("b")))->source),
                 QStringLiteral("event"));
        QCOMPARE(toString(tracker.gatewayByGid(u"gw3")->source), QStringLiteral("poll"));
        QCOMPARE(tracker.stats().polls, 1u);
    }

    void connectDuringAPollWinsOverTheReplysGateway()
    {
        Tracker tracker;
        tracker.handleEvent(connectEvent("a", "gw1"));
        tracker.beginPoll();
        // The client reconnected its cid on gw2 after the poll was sent; gw1's reply is older.
        tracker.handleEvent(connectEvent("a", "gw2"));
        tracker.handlePollReply(reply("gw2", "a"));
        tracker.handlePollReply(reply("gw1", "a"));
        tracker.endPoll();
        QCOMPARE(connections(tracker), QStringLiteral("a@gw2"));
    }

    void tokenReceivedDuringAPollWinsOverTheReply_data()
    {
        QTest::addColumn<bool>("duringPoll");
        QTest::addColumn<QString>("expected");
        // The cid is not tracked yet: its token waits as pending until the reply lists it.
        QTest::newRow("token before the poll: the reply is newer") << false << R"(a@gw1={"from":"reply"})";
        QTest::newRow("token during the poll: it is newer") << true << R"(a@gw1={"from":"event"})";
    }
    void tokenReceivedDuringAPollWinsOverTheReply()
    {
        QFETCH(bool, duringPoll);
        QFETCH(QString, expected);
        Tracker tracker;
        if (!duringPoll)
            tracker.handleEvent(tokenEvent("a", R"({"from":"event"})"));
        tracker.beginPoll();
        if (duringPoll)
            tracker.handleEvent(tokenEvent("a", R"({"from":"event"})"));
        tracker.handlePollReply(reply("gw1", R"(a={"from":"reply"})"));
        tracker.endPoll();
        QCOMPARE(connections(tracker), expected);
    }

    void connectionListedByAnotherGatewayMoves()
    {
        Tracker tracker;
        tracker.handleEvents({ connectEvent("a", "gw1"), connectEvent("b", "gw1") });
        poll(tracker, { reply("gw1", "a"), reply("gw2", "b") });
        QCOMPARE(connections(tracker), QStringLiteral("a@gw1 b@gw2"));
        QCOMPARE(gateways(tracker), QStringLiteral("gw1:up:1 gw2:up:1"));
        QCOMPARE(closed(tracker), QString());
    }

    void pollRace_data()
    {
        QTest::addColumn<QList<NatsMessage>>("before");
        QTest::addColumn<QList<NatsMessage>>("during");
        QTest::addColumn<QByteArray>("replied");
        QTest::addColumn<QString>("expected");
        QTest::newRow("connect after the poll was sent, absent from the reply: stays")
            << QList<NatsMessage> { connectEvent("a", "gw1") }
            << QList<NatsMessage> { connectEvent("new", "gw1") } << QByteArray("a")
            << QStringLiteral("a@gw1 new@gw1");
        QTest::newRow("disconnect after the poll was sent, listed in the reply: stays gone")
            << QList<NatsMessage> { connectEvent("a", "gw1"), connectEvent("gone", "gw1") }
            << QList<NatsMessage> { disconnectEvent("gone", "gw1") } << QByteArray("a gone")
            << QStringLiteral("a@gw1");
        QTest::newRow("connect and disconnect after the poll was sent, never tracked")
            << QList<NatsMessage> {}
            << QList<NatsMessage> { connectEvent("brief", "gw1"), disconnectEvent("brief", "gw1") }
            << QByteArray("brief") << QString();
        QTest::newRow("connect before the poll was sent, absent from the reply: a ghost")
            << QList<NatsMessage> { connectEvent("a", "gw1"), connectEvent("ghost", "gw1") }
            << QList<NatsMessage> {} << QByteArray("a") << QStringLiteral("a@gw1");
        QTest::newRow("token after the poll was sent wins over the reply's")
            << QList<NatsMessage> { connectEvent("a", "gw1") } << QList<NatsMessage> { tokenEvent("a", "2") }
            << QByteArray("a=1") << QStringLiteral("a@gw1=2");
    }
    void pollRace()
    {
        QFETCH(QList<NatsMessage>, before);
        QFETCH(QList<NatsMessage>, during);
        QFETCH(QByteArray, replied);
        QFETCH(QString, expected);
        Tracker tracker;
        tracker.handleEvents(before);
        tracker.beginPoll();
        QVERIFY(tracker.isPollInFlight());
        tracker.handleEvents(during);
        tracker.handlePollReply(reply("gw1", replied));
        tracker.endPoll();
        QVERIFY(!tracker.isPollInFlight());
        QCOMPARE(connections(tracker), expected);

        // The race protection lasts one poll: the next reply is the whole truth again.
        poll(tracker, { reply("gw1", "") });
        QCOMPARE(connections(tracker), QString());
    }

    void restartDuringPollIgnoresItsReply()
    {
        Tracker tracker;
        tracker.handleEvents({ connectEvent("old", "gw1") });
        tracker.beginPoll();
        tracker.handleEvent(startEvent("gw1"));
        tracker.handlePollReply(reply("gw1", "old"));
        tracker.endPoll();
        QCOMPARE(connections(tracker), QString());
        QCOMPARE(gateways(tracker), QStringLiteral("gw1:up:0"));
        QCOMPARE(tracker.gatewayByGid(u"gw1")->missedPolls, 0);
    }

    void multipartReply_data()
    {
        QTest::addColumn<QList<int>>("partsSent");
        QTest::addColumn<QString>("expected");
        QTest::addColumn<bool>("incomplete");
        // Tracked before the poll: ghost (absent from every part) and c0 (listed).
        QTest::newRow("all parts: the truth")
            << QList<int> { 1, 2, 3 } << QStringLiteral("c0 c1 c2 c3 c4 c5") << false;
        QTest::newRow("out of order")
            << QList<int> { 3, 1, 2 } << QStringLiteral("c0 c1 c2 c3 c4 c5") << false;
        QTest::newRow("a part twice, one missing")
            << QList<int> { 1, 1, 3 } << QStringLiteral("c0 c1 c4 c5 ghost") << true;
        QTest::newRow("part 2 missing: adds only")
            << QList<int> { 1, 3 } << QStringLiteral("c0 c1 c4 c5 ghost") << true;
    }
    void multipartReply()
    {
        QFETCH(QList<int>, partsSent);
        QFETCH(QString, expected);
        QFETCH(bool, incomplete);
        Tracker tracker;
        QSignalSpy rejected(&tracker, &Tracker::messageRejected);
        tracker.handleEvents({ connectEvent("ghost", "gw1"), connectEvent("c0", "gw1") });

        std::vector<Protocol::ConnectionEntry> list = entries("c0 c1 c2 c3 c4 c5");
        // Small enough that six entries need three parts.
        std::vector<QByteArray> payloads;
        for (qsizetype max = 60; max < 400 && payloads.size() != 3; ++max)
            payloads = Protocol::connectionsReplyPayloads("gw1", list, max);
        QCOMPARE(payloads.size(), size_t(3));

        tracker.beginPoll();
        for (int part : partsSent)
            tracker.handlePollReply(payloads[size_t(part - 1)]);
        tracker.endPoll();

        QString actual = connections(tracker);
        actual.remove(QLatin1String("@gw1"));
        QCOMPARE(actual, expected);
        QCOMPARE(tracker.gatewayByGid(u"gw1")->missedPolls, 0);
        QCOMPARE(rejected.size(), incomplete ? 1 : 0);
        if (incomplete) {
            QCOMPARE(rejected.at(0).at(0).toString(), QStringLiteral("system.connections"));
            QVERIFY2(rejected.at(0).at(1).toString().contains(QLatin1String("incomplete")),
                     qPrintable(rejected.at(0).at(1).toString()));
        }
    }

    void changesAreCoalesced()
    {
        ManualClock clock(Start);
        Tracker tracker({}, &clock);
        QList<ChangeSet> changes;
        connect(&tracker, &Tracker::changed, this, [&](const ChangeSet &c) { changes << c; });

        QList<NatsMessage> batch;
        for (int i = 0; i < 1000; ++i)
            batch << connectEvent("c" + QByteArray::number(i), "gw1");
        tracker.handleEvents(batch);
        QVERIFY(changes.isEmpty());
        QTRY_COMPARE_WITH_TIMEOUT(changes.size(), 1, 2000);
        QCOMPARE(changes[0].added.size(), 1000);
        QVERIFY(std::is_sorted(changes[0].added.cbegin(), changes[0].added.cend()));
        QCOMPARE(changes[0].connects, 1000);
        QVERIFY(changes[0].gatewaysChanged);
        QVERIFY(changes[0].removed.isEmpty() && changes[0].updated.isEmpty());
        for (quint32 slot : std::as_const(changes[0].added))
            QVERIFY(tracker.connectionAt(slot));

        // Within one period: updated then removed → only removed; added then updated → only added;
        // added then removed → neither; updated twice → once.
        const quint32 slot1 = quint32(tracker.slotOf("c1"));
        const quint32 slot2 = quint32(tracker.slotOf("c2"));
        tracker.handleEvents({ tokenEvent("c1", "1"), disconnectEvent("c1", "gw1"), connectEvent("n1", "gw1"),
                               tokenEvent("n1", "1"), connectEvent("n2", "gw1"), disconnectEvent("n2", "gw1"),
                               tokenEvent("c2", "1"), tokenEvent("c2", "2") });
        const quint32 slotN1 = quint32(tracker.slotOf("n1"));
        QVERIFY(slotN1 != slot1); // not reused before the removal was announced

        // The removed connection is still readable while the signal is delivered.
        QString readDuringSignal;
        auto reader = connect(&tracker, &Tracker::changed, this, [&](const ChangeSet &c) {
            for (quint32 slot : c.removed)
                readDuringSignal += tracker.connectionAt(slot)->cid.toString();
        });
        tracker.flushChanges();
        disconnect(reader);
        QCOMPARE(changes.size(), 2);
        QCOMPARE(changes[1].removed, QVector<quint32> { slot1 });
        QCOMPARE(changes[1].added, QVector<quint32> { slotN1 });
        QCOMPARE(changes[1].updated, QVector<quint32> { slot2 });
        QCOMPARE(changes[1].connects, 2);
        QCOMPARE(changes[1].disconnects, 2);
        QCOMPARE(changes[1].closedAppended, 2);
        QCOMPARE(readDuringSignal, QStringLiteral("c1"));

        // Announced: the slots of c1 and of n2 (added and removed unannounced) are free and reused.
        QCOMPARE(tracker.connectionAt(slot1), nullptr);
        QCOMPARE(tracker.slotCount(), 1002u);
        tracker.handleEvents({ connectEvent("reuse1", "gw1"), connectEvent("reuse2", "gw1") });
        QList<qint64> reused { tracker.slotOf("reuse1"), tracker.slotOf("reuse2") };
        std::sort(reused.begin(), reused.end());
        QCOMPARE(reused, (QList<qint64> { qint64(slot1), 1001 }));
        QCOMPARE(tracker.slotCount(), 1002u);
        tracker.flushChanges();
        QCOMPARE(changes.size(), 3);

        // Nothing changed: no signal.
        tracker.flushChanges();
        QCOMPARE(changes.size(), 3);
    }

    void closedHistoryIsCapped()
    {
        TrackerSettings settings;
        settings.closedHistoryLimit = 3;
        Tracker tracker(settings);
        QList<ChangeSet> changes;
        connect(&tracker, &Tracker::changed, this, [&](const ChangeSet &c) { changes << c; });
        for (int i = 0; i < 5; ++i)
            tracker.handleEvents({ connectEvent("c" + QByteArray::number(i), "gw1"),
                                   disconnectEvent("c" + QByteArray::number(i), "gw1") });
        tracker.flushChanges();
        QCOMPARE(closed(tracker),
                 QStringLiteral("c2@gw1:disconnected c3@gw1:disconnected c4@gw1:disconnected"));
        QCOMPARE(changes.size(), 1);
        QCOMPARE(changes[0].closedAppended, 3);
        QCOMPARE(changes[0].closedDropped, 0);

        tracker.handleEvents({ connectEvent("c5", "gw1"), connectEvent("c6", "gw1") });
        tracker.handleEvents({ disconnectEvent("c5", "gw1"), disconnectEvent("c6", "gw1") });
        tracker.flushChanges();
        QCOMPARE(closed(tracker),
                 QStringLiteral("c4@gw1:disconnected c5@gw1:disconnected c6@gw1:disconnected"));
        QCOMPARE(changes.size(), 2);
        QCOMPARE(changes[1].closedAppended, 2);
        QCOMPARE(changes[1].closedDropped, 2);
    }

    void badMessages_data()
    {
        QTest::addColumn<QByteArray>("subject");
        QTest::addColumn<QByteArray>("payload");
        QTest::newRow("malformed JSON") << QByteArray("conn.x.connect") << QByteArray(R"({"gid": )");
        QTest::newRow("missing gid") << QByteArray("conn.x.connect")
                                     << QByteArray(R"({"remoteAddr":"1.2.3.4"})");
        QTest::newRow("cid of two tokens")
            << QByteArray("conn.a.b.connect") << QByteArray(R"({"gid":"gw1"})");
        QTest::newRow("unknown event") << QByteArray("conn.a.frobnicate") << QByteArray(R"({"gid":"gw1"})");
        QTest::newRow("not a tracking subject") << QByteArray("foo.bar") << QByteArray(R"({"gid":"gw1"})");
        QTest::newRow("stop without gid") << QByteArray("system.stop") << QByteArray("{}");
        QTest::newRow("disconnect: not an object") << QByteArray("conn.a.disconnect") << QByteArray("[1]");
        QTest::newRow("oversized") << QByteArray("conn.a.disconnect")
                                   << QByteArray(R"({"gid":"gw1","pad":")")
                + QByteArray(Protocol::MaxPayloadSize, 'x') + QByteArray(R"("})");
        QTest::newRow("connections reply: no gid") << QByteArray() << QByteArray(R"({"connections":{}})");
        QTest::newRow("connections reply: garbage") << QByteArray() << QByteArray("\x01\x02 not json");
    }
    void badMessages()
    {
        QFETCH(QByteArray, subject);
        QFETCH(QByteArray, payload);
        ManualClock clock(Start);
        Tracker tracker({}, &clock);
        tracker.handleEvents({ connectEvent("a", "gw1"), connectEvent("x", "gw1") });
        tracker.handleEvent(tokenEvent("a", R"({"ok":true})"));
        tracker.flushChanges();
        const QString before = connections(tracker) + QLatin1Char('|') + gateways(tracker);
        QSignalSpy rejected(&tracker, &Tracker::messageRejected);
        QSignalSpy changed(&tracker, &Tracker::changed);

        if (subject.isEmpty()) {
            tracker.beginPoll();
            tracker.handlePollReply(payload);
            tracker.handlePollReply(reply("gw1", R"(a={"ok":true} x)"));
            tracker.endPoll();
        } else {
            tracker.handleEvent(message(subject, payload));
        }
        QCOMPARE(tracker.stats().badMessages, 1u);
        QCOMPARE(rejected.size(), 1);
        QCOMPARE(rejected.at(0).at(0).toString(),
                 subject.isEmpty() ? QStringLiteral("system.connections") : QString::fromUtf8(subject));
        QVERIFY(!rejected.at(0).at(1).toString().isEmpty());
        QCOMPARE(connections(tracker) + QLatin1Char('|') + gateways(tracker), before);
        tracker.flushChanges();
        if (!subject.isEmpty())
            QCOMPARE(changed.size(), 0);
    }

    void rejectionWarningsAreRateLimited()
    {
        Tracker tracker;
        QSignalSpy rejected(&tracker, &Tracker::messageRejected);
        // Ten warnings, then silence for the rest of the window (the test fails on an unexpected one).
        for (int i = 0; i < 10; ++i)
            QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("rejected foo\\.bar")));
        for (int i = 0; i < 1000; ++i)
            tracker.handleEvent(message("foo.bar", "{}"));
        QCOMPARE(rejected.size(), 1000);
        QCOMPARE(tracker.stats().badMessages, 1000u);
        QCOMPARE(tracker.stats().messages, 1000u);
    }

    void clearForgetsEverything()
    {
        Tracker tracker;
        QList<ChangeSet> changes;
        connect(&tracker, &Tracker::changed, this, [&](const ChangeSet &c) { changes << c; });
        tracker.handleEvents({ connectEvent("a", "gw1"), connectEvent("b", "gw2"),
                               disconnectEvent("b", "gw2"), tokenEvent("pending", "1") });
        tracker.flushChanges();
        const quint32 slotA = quint32(tracker.slotOf("a"));
        tracker.clear();
        QCOMPARE(tracker.connectionCount(), 0);
        QCOMPARE(tracker.slotOf("a"), -1);
        QCOMPARE(gateways(tracker), QString());
        QCOMPARE(closed(tracker), QString());
        tracker.flushChanges();
        QCOMPARE(changes.size(), 2);
        QCOMPARE(changes[1].removed, QVector<quint32> { slotA });
        QCOMPARE(changes[1].closedDropped, 1);
        QCOMPARE(changes[1].closedAppended, 0);
        QVERIFY(changes[1].gatewaysChanged);

        // The pending token went too.
        tracker.handleEvent(connectEvent("pending", "gw1"));
        QCOMPARE(connections(tracker), QStringLiteral("pending@gw1"));
    }

    void pollCompletedReportsCounts()
    {
        Tracker tracker;
        QSignalSpy completed(&tracker, &Tracker::pollCompleted);
        poll(tracker, { reply("gw1", "a b"), reply("gw2", "c") });
        QCOMPARE(completed.size(), 1);
        QCOMPARE(completed.at(0).at(0).toInt(), 2);
        QCOMPARE(completed.at(0).at(1).toInt(), 3);

        // A reply after the poll ended is not used.
        tracker.handlePollReply(reply("gw3", "late"));
        QCOMPARE(tracker.gatewayByGid(u"gw3"), nullptr);
    }
};

QTEST_GUILESS_MAIN(TestTracker)
#include "tst_tracker.moc"
