#include "clock.h"
#include "connectionsmodel.h"
#include "gatewaysmodel.h"
#include "modeltesthelpers.h"
#include "tracker.h"

#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QTest>

using namespace ResWatch;
using namespace ModelTest;

namespace {

constexpr qint64 Start = TrackerHarness<ConnectionsModel>::Start;

struct Harness : TrackerHarness<GatewaysModel>
{
    using TrackerHarness::TrackerHarness;
    /// "gid:state:connections" for each row.
    QString summary() const
    {
        QStringList items;
        for (int r = 0; r < model.rowCount(); ++r) {
            items.append(model.index(r, GatewaysModel::GidColumn).data().toString() + ':'
                         + model.index(r, GatewaysModel::StateColumn).data().toString() + ':'
                         + model.index(r, GatewaysModel::ConnectionsColumn).data().toString());
        }
        return items.join(' ');
    }
};

} // namespace

class TestGatewaysModel : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { qRegisterMetaType<QModelIndex>(); }

    void gatewaysAppearWithTheirValues()
    {
        Harness h;
        QSignalSpy inserted(&h.model, &QAbstractItemModel::rowsInserted);
        h.feed({ startEvent("gw-1"), startEvent("gw-2"), connectEvent(cid(1), "gw-1"),
                 connectEvent(cid(2), "gw-1") });
        QCOMPARE(ranges(inserted), QStringLiteral("0-1"));
        QCOMPARE(h.summary(), QStringLiteral("gw-1:up:2 gw-2:up:0"));
        QCOMPARE(row(h.model, 0),
                 QStringLiteral("gw-1|up|2|%1||0|native|").arg(ConnectionsModel::formatTime(Start)));
        const QModelIndex first = h.model.index(0, 0);
        QCOMPARE(first.data(GatewaysModel::StateRole).toInt(), int(GatewayState::Up));
        QCOMPARE(first.data(GatewaysModel::GidRole).toString(), QStringLiteral("gw-1"));
        QCOMPARE(h.model.gatewayIndexAt(1),
                 qint64(h.tracker.gatewayByGid(u"gw-2") - h.tracker.gateways().data()));
        QCOMPARE(h.model.rowOfGateway(quint32(h.model.gatewayIndexAt(1))), 1);

        // A gateway first seen through a connect event.
        h.feed({ connectEvent(cid(3), "gw-3") });
        QCOMPARE(ranges(inserted), QStringLiteral("0-1 2-2"));
        QCOMPARE(h.summary(), QStringLiteral("gw-1:up:2 gw-2:up:0 gw-3:up:1"));
    }

    void onlyChangedRowsAreSignalled()
    {
        Harness h;
        h.feed({ startEvent("gw-1"), startEvent("gw-2"), startEvent("gw-3"), startEvent("gw-4") });
        QSignalSpy changed(&h.model, &QAbstractItemModel::dataChanged);
        QSignalSpy inserted(&h.model, &QAbstractItemModel::rowsInserted);
        QSignalSpy removed(&h.model, &QAbstractItemModel::rowsRemoved);
        h.feed({ connectEvent(cid(1), "gw-2"), connectEvent(cid(2), "gw-3"), connectEvent(cid(3), "gw-3") });
        QCOMPARE(dataRanges(changed), QStringLiteral("1,1:2,7"));
        changed.clear();
        h.feed({ connectEvent(cid(4), "gw-4") });
        QCOMPARE(dataRanges(changed), QStringLiteral("3,1:3,7"));
        QCOMPARE(inserted.count() + removed.count(), 0);
        QCOMPARE(h.summary(), QStringLiteral("gw-1:up:0 gw-2:up:1 gw-3:up:2 gw-4:up:1"));
    }

    void stoppedGatewaysAreRemovedAfterTheGracePeriod()
    {
        TrackerSettings settings;
        settings.gracePeriodMs = 30'000;
        Harness h(settings);
        h.feed({ startEvent("gw-1"), startEvent("gw-2"), startEvent("gw-3"), connectEvent(cid(1), "gw-2") });
        QSignalSpy removed(&h.model, &QAbstractItemModel::rowsRemoved);
        h.feed({ stopEvent("gw-2") });
        QCOMPARE(h.summary(), QStringLiteral("gw-1:up:0 gw-2:stopped:0 gw-3:up:0"));
        QCOMPARE(h.model.index(1, 0).data(GatewaysModel::StateRole).toInt(), int(GatewayState::Stopped));
        QCOMPARE(h.model.index(1, 0).data(GatewaysModel::StaleRole).toBool(), true);
        QVERIFY(h.model.index(1, GatewaysModel::StateColumn)
                    .data(Qt::ToolTipRole)
                    .toString()
                    .startsWith("stopped since"));
        h.clock.advance(31'000);
        h.tracker.expire();
        h.tracker.flushChanges();
        QCOMPARE(ranges(removed), QStringLiteral("1-1"));
        QCOMPARE(h.summary(), QStringLiteral("gw-1:up:0 gw-3:up:0"));

        // Back again: a new row, after the ones that stayed.
        h.feed({ startEvent("gw-2") });
        QCOMPARE(h.summary(), QStringLiteral("gw-1:up:0 gw-3:up:0 gw-2:up:0"));
    }

    void missedPollsMakeAGatewayStale()
    {
        TrackerSettings settings;
        settings.staleAfterMissedPolls = 2;
        Harness h(settings);
        h.feed({ startEvent("gw-1"), startEvent("gw-2") });
        QSignalSpy changed(&h.model, &QAbstractItemModel::dataChanged);
        for (int poll = 0; poll < 2; ++poll) {
            h.clock.advance(5000);
            h.tracker.beginPoll();
            h.tracker.handlePollReply(Protocol::connectionsReplyPayloads("gw-1", {}, 1 << 20).front());
            h.tracker.endPoll();
            h.tracker.flushChanges();
        }
        QCOMPARE(h.summary(), QStringLiteral("gw-1:up:0 gw-2:stale:0"));
        QCOMPARE(h.model.index(1, GatewaysModel::MissedPollsColumn).data().toInt(), 2);
        QCOMPARE(h.model.index(0, GatewaysModel::LastReplyColumn).data().toString(),
                 ConnectionsModel::formatTime(Start + 10'000));
        QCOMPARE(h.model.index(1, 0).data(GatewaysModel::StateRole).toInt(), int(GatewayState::Stale));
        // Each poll changes both rows (last reply, missed polls): one range per poll, never more.
        QCOMPARE(dataRanges(changed), QStringLiteral("0,1:1,7 0,1:1,7"));
    }

    void trackerClearRemovesAll()
    {
        Harness h;
        h.feed({ startEvent("gw-1"), startEvent("gw-2") });
        h.tracker.clear();
        h.tracker.flushChanges();
        QCOMPARE(h.model.rowCount(), 0);
    }
};

QTEST_GUILESS_MAIN(TestGatewaysModel)
#include "tst_gatewaysmodel.moc"
