#include "clock.h"
#include "closedconnectionsmodel.h"
#include "connectionsmodel.h"
#include "modeltesthelpers.h"
#include "tracker.h"

#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QTest>

using namespace ResWatch;
using namespace ModelTest;

namespace {

constexpr qint64 Start = TrackerHarness<ConnectionsModel>::Start;

struct Harness : TrackerHarness<ClosedConnectionsModel>
{
    using TrackerHarness::TrackerHarness;
    QString cids() const { return column(model, ClosedConnectionsModel::CidColumn); }
};

TrackerSettings limit(int closed)
{
    TrackerSettings settings;
    settings.closedHistoryLimit = closed;
    return settings;
}

} // namespace

class TestClosedConnectionsModel : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void endedConnectionsAppearNewestFirst()
    {
        Harness h;
        h.feed({ connectEvent(cid(1), "gw-1"), connectEvent(cid(2), "gw-1"), connectEvent(cid(3), "gw-2") });
        h.feed({ tokenEvent(cid(2), R"({"user":"bob"})") });
        QCOMPARE(h.model.rowCount(), 0);
        QSignalSpy inserted(&h.model, &QAbstractItemModel::rowsInserted);
        h.clock.advance(192'000);
        h.feed({ disconnectEvent(cid(1), "gw-1"), disconnectEvent(cid(2), "gw-1") });
        QCOMPARE(ranges(inserted), QStringLiteral("0-1"));
        QCOMPARE(h.cids(), QStringLiteral("c000002 c000001"));
        QCOMPARE(
            row(h.model, 0),
            QStringLiteral(R"(c000002|gw-1|%1|%2|3m 12s|disconnected|{"user":"bob"})")
                .arg(ConnectionsModel::formatTime(Start), ConnectionsModel::formatTime(Start + 192'000)));
        QCOMPARE(h.model.index(0, 0).data(ClosedConnectionsModel::ReasonRole).toInt(),
                 int(EndReason::Disconnected));
        QCOMPARE(h.model.index(0, ClosedConnectionsModel::DurationColumn)
                     .data(ClosedConnectionsModel::SortRole)
                     .toLongLong(),
                 192'000);

        // A stopping gateway ends its connections: one insert at the top.
        h.feed({ stopEvent("gw-2") });
        QCOMPARE(ranges(inserted), QStringLiteral("0-1 0-0"));
        QCOMPARE(h.cids(), QStringLiteral("c000003 c000002 c000001"));
        QCOMPARE(h.model.index(0, ClosedConnectionsModel::ReasonColumn).data().toString(),
                 toString(EndReason::GatewayStopped));
    }

    void theOldestAreDroppedFromTheBottom_data()
    {
        QTest::addColumn<int>("closing"); // ended in the second batch
        QTest::addColumn<QString>("removedRanges");
        QTest::addColumn<QString>("insertedRanges");
        QTest::addColumn<QString>("expected");
        // The history holds 5 and already has c000000..c000003 (newest first: 3 2 1 0).
        QTest::newRow("fits") << 1 << ""
                              << "0-0"
                              << "c000004 c000003 c000002 c000001 c000000";
        QTest::newRow("drops two") << 3 << "2-3"
                                   << "0-2"
                                   << "c000006 c000005 c000004 c000003 c000002";
        QTest::newRow("drops all shown and some new") << 8 << "0-3"
                                                      << "0-4"
                                                      << "c000011 c000010 c000009 c000008 c000007";
    }

    void theOldestAreDroppedFromTheBottom()
    {
        QFETCH(int, closing);
        QFETCH(QString, removedRanges);
        QFETCH(QString, insertedRanges);
        QFETCH(QString, expected);

        Harness h(limit(5));
        QList<NatsMessage> messages;
        for (int i = 0; i < 20; ++i)
            messages.append(connectEvent(cid(i), "gw-1"));
        h.feed(messages);
        messages.clear();
        for (int i = 0; i < 4; ++i)
            messages.append(disconnectEvent(cid(i), "gw-1"));
        h.feed(messages);
        QCOMPARE(h.cids(), QStringLiteral("c000003 c000002 c000001 c000000"));

        QSignalSpy inserted(&h.model, &QAbstractItemModel::rowsInserted);
        QSignalSpy removed(&h.model, &QAbstractItemModel::rowsRemoved);
        messages.clear();
        for (int i = 4; i < 4 + closing; ++i)
            messages.append(disconnectEvent(cid(i), "gw-1"));
        h.feed(messages);
        QCOMPARE(ranges(removed), removedRanges);
        QCOMPARE(ranges(inserted), insertedRanges);
        QCOMPARE(h.cids(), expected);
    }

    void trackerClearEmptiesTheHistory()
    {
        Harness h;
        h.feed({ connectEvent(cid(1), "gw-1") });
        h.feed({ disconnectEvent(cid(1), "gw-1") });
        QCOMPARE(h.model.rowCount(), 1);
        h.tracker.clear();
        h.tracker.flushChanges();
        QCOMPARE(h.model.rowCount(), 0);
    }

    void attachesToATrackerWithHistory()
    {
        ManualClock clock(Start);
        Tracker tracker({}, &clock);
        tracker.handleEvents({ connectEvent(cid(1), "gw-1"), connectEvent(cid(2), "gw-1") });
        tracker.flushChanges();
        tracker.handleEvents({ disconnectEvent(cid(1), "gw-1"), disconnectEvent(cid(2), "gw-1") });
        tracker.flushChanges();
        ClosedConnectionsModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setTracker(&tracker);
        QCOMPARE(column(model, 0), QStringLiteral("c000002 c000001"));
    }
};

QTEST_GUILESS_MAIN(TestClosedConnectionsModel)
#include "tst_closedconnectionsmodel.moc"
