#include "clock.h"
#include "connectionfilter.h"
#include "connectionsmodel.h"
#include "duration.h"
#include "modeltesthelpers.h"
#include "tracker.h"

#include <QAbstractItemModelTester>
#include <QElapsedTimer>
#include <QSignalSpy>
#include <QTest>
#include <QTimer>

using namespace ResWatch;
using namespace ModelTest;

namespace {

constexpr qint64 Start = TrackerHarness<ConnectionsModel>::Start;

// A model fed by a real tracker, checked by QAbstractItemModelTester on every signal.
struct Harness : TrackerHarness<ConnectionsModel>
{
    using TrackerHarness::TrackerHarness;
    QString cids() const { return column(model, ConnectionsModel::CidColumn); }
    QString cidSet() const { return sortedColumn(model, ConnectionsModel::CidColumn); }
    quint32 gateway(const QString &gid) const
    {
        const auto &gws = tracker.gateways();
        for (int i = 0; i < gws.size(); ++i) {
            if (gws[i].gid == gid)
                return quint32(i);
        }
        return quint32(-1);
    }
    bool applyFilter(const QString &text)
    {
        ConnectionFilter::Error error;
        const ConnectionFilter filter = ConnectionFilter::parse(text, &error);
        if (error.isError())
            return false;
        QSignalSpy finished(&model, &ConnectionsModel::filteringFinished);
        model.setFilter(filter);
        return finished.wait(10000);
    }
    bool applyGateways(const QSet<quint32> &gateways)
    {
        QSignalSpy finished(&model, &ConnectionsModel::filteringFinished);
        model.setGatewayFilter(gateways);
        return finished.wait(10000);
    }
};

QList<NatsMessage> connects(int from, int to, const QByteArray &gid = "gw-1")
{
    QList<NatsMessage> messages;
    for (int i = from; i < to; ++i)
        messages.append(connectEvent(cid(i), gid));
    return messages;
}

// Every structural signal of a model, so a test can say "nothing happened".
struct SignalLog
{
    explicit SignalLog(QAbstractItemModel *model)
        : inserted(model, &QAbstractItemModel::rowsInserted),
          removed(model, &QAbstractItemModel::rowsRemoved), changed(model, &QAbstractItemModel::dataChanged),
          layout(model, &QAbstractItemModel::layoutChanged), reset(model, &QAbstractItemModel::modelReset),
          columns(model, &QAbstractItemModel::columnsInserted)
    { }
    int total() const
    {
        return int(inserted.count() + removed.count() + changed.count() + layout.count() + reset.count()
                   + columns.count());
    }
    void clear()
    {
        inserted.clear();
        removed.clear();
        changed.clear();
        layout.clear();
        reset.clear();
        columns.clear();
    }
    QSignalSpy inserted, removed, changed, layout, reset, columns;
};

} // namespace

class TestConnectionsModel : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { qRegisterMetaType<QModelIndex>(); }

    void rowsAppearWithTheirContentAndDisappear()
    {
        Harness h;
        h.feed(connectEvent(cid(1), "gw-1", "10.0.0.1:5000", "example.com"));
        h.clock.advance(1000);
        h.feed(connectEvent(cid(2), "gw-2"));
        h.clock.set(Start + 192'000);
        QCOMPARE(h.model.rowCount(), 2);
        QCOMPARE(h.model.totalCount(), 2);
        const QString at = ConnectionsModel::formatTime(Start);
        QCOMPARE(row(h.model, 0),
                 QStringLiteral("c000001|gw-1|live|%1|3m 12s||10.0.0.1:5000|example.com|event|").arg(at));

        h.feed(tokenEvent(cid(1), R"({"user":"alice","role":"admin"})", "t-1"));
        QCOMPARE(h.model.claims(), QByteArrayList({ "user", "role" }));
        QCOMPARE(row(h.model, 0),
                 QStringLiteral("c000001|gw-1|live|%1|3m 12s|t-1|10.0.0.1:5000|example.com|event|"
                                R"({"user":"alice","role":"admin"}|alice|admin)")
                     .arg(at));
        const QModelIndex first = h.model.index(0, 0);
        QCOMPARE(first.data(ConnectionsModel::CidRole).toString(), QStringLiteral("c000001"));
        QCOMPARE(first.data(ConnectionsModel::TokenRole).toByteArray(),
                 QByteArray(R"({"user":"alice","role":"admin"})"));
        QCOMPARE(first.data(ConnectionsModel::ConnectedAtRole).toLongLong(), Start);
        QCOMPARE(first.data(ConnectionsModel::StaleRole).toBool(), false);
        QCOMPARE(first.data(ConnectionsModel::GidRole).toString(), QStringLiteral("gw-1"));
        QCOMPARE(h.model.slotAt(0), h.tracker.slotOf(cid(1)));
        QCOMPARE(h.model.rowOfSlot(quint32(h.tracker.slotOf(cid(2)))), 1);
        QVERIFY(h.model.index(0, ConnectionsModel::TokenColumn)
                    .data(Qt::ToolTipRole)
                    .toString()
                    .contains("\"alice\""));

        QSignalSpy counts(&h.model, &ConnectionsModel::countsChanged);
        h.feed(disconnectEvent(cid(1), "gw-1"));
        QCOMPARE(h.cids(), QStringLiteral("c000002"));
        QCOMPARE(counts.count(), 1);
        QCOMPARE(counts.last().at(0).toInt(), 1);
        QCOMPARE(counts.last().at(1).toInt(), 1);
    }

    void aThousandConnectsAreOneInsert()
    {
        Harness h;
        h.feed(connects(0, 10));
        QSignalSpy inserted(&h.model, &QAbstractItemModel::rowsInserted);
        h.feed(connects(10, 1010));
        QCOMPARE(ranges(inserted), QStringLiteral("10-1009"));
        QCOMPARE(h.model.rowCount(), 1010);
        QCOMPARE(h.model.index(1009, 0).data().toString(), QStringLiteral("c001009"));
    }

    void removalsAreCoalesced_data()
    {
        QTest::addColumn<QList<int>>("gone");
        QTest::addColumn<QString>("removedRanges");
        QTest::addColumn<int>("layoutChanges");

        QList<int> block;
        for (int i = 100; i < 200; ++i)
            block.append(i);
        QTest::newRow("one block") << block << QStringLiteral("100-199") << 0;

        QList<int> three;
        for (int i : { 10, 11, 12, 500, 501, 998, 999 })
            three.append(i);
        QTest::newRow("three blocks, bottom first") << three << QStringLiteral("998-999 500-501 10-12") << 0;

        QList<int> scattered;
        for (int i = 0; i < 1000; i += 7)
            scattered.append(i);
        QTest::newRow("scattered: one layout change") << scattered << QString() << 1;
    }

    void removalsAreCoalesced()
    {
        QFETCH(QList<int>, gone);
        QFETCH(QString, removedRanges);
        QFETCH(int, layoutChanges);

        Harness h;
        h.feed(connects(0, 1000));
        SignalLog log(&h.model);
        QList<NatsMessage> messages;
        for (int i : gone)
            messages.append(disconnectEvent(cid(i), "gw-1"));
        h.feed(messages);

        QCOMPARE(ranges(log.removed), removedRanges);
        QCOMPARE(log.layout.count(), layoutChanges);
        QCOMPARE(log.inserted.count(), 0);
        std::vector<int> left;
        for (int i = 0; i < 1000; ++i) {
            if (!gone.contains(i))
                left.push_back(i);
        }
        QCOMPARE(h.cids(), ModelTest::cids(left));
        QCOMPARE(h.model.totalCount(), int(left.size()));
    }

    void updatesAreDataChangedRanges()
    {
        Harness h;
        h.feed(connects(0, 1000));
        h.feed(tokenEvent(cid(0), R"({"role":"user"})"));
        const int lastColumn = h.model.columnCount() - 1;
        QCOMPARE(lastColumn, int(ConnectionsModel::FirstClaimColumn));
        SignalLog log(&h.model);
        QList<NatsMessage> messages;
        for (int i = 10; i < 20; ++i)
            messages.append(tokenEvent(cid(i), R"({"role":"admin"})"));
        for (int i = 500; i < 505; ++i)
            messages.append(tokenEvent(cid(i), R"({"role":"admin"})"));
        h.feed(messages);
        // Only from the gateway column on: the cid and the connect time never change.
        QCOMPARE(dataRanges(log.changed), QStringLiteral("10,1:19,%1 500,1:504,%1").arg(lastColumn));
        QCOMPARE(log.total(), 2);
        QCOMPARE(h.model.index(15, lastColumn).data().toString(), QStringLiteral("admin"));
    }

    void tokenClaimsBecomeColumns()
    {
        Harness h;
        h.feed(connects(0, 3));
        QSignalSpy columns(&h.model, &QAbstractItemModel::columnsInserted);
        QSignalSpy claims(&h.model, &ConnectionsModel::claimsChanged);
        h.feed(tokenEvent(cid(0), R"({"user":"alice","role":"admin"})"));
        h.feed({ tokenEvent(cid(1), R"({"userId":42,"role":"user","user":"bob"})"),
                 tokenEvent(cid(2), R"("a plain string token")") });
        QCOMPARE(ranges(columns), QStringLiteral("10-11 12-12"));
        QCOMPARE(claims.count(), 2);
        QCOMPARE(h.model.claims(), QByteArrayList({ "user", "role", "userId" }));
        QCOMPARE(h.model.claimColumn("userId"), 12);
        QCOMPARE(h.model.claimColumn("nope"), -1);
        QCOMPARE(h.model.headerData(12, Qt::Horizontal).toString(), QStringLiteral("userId"));
        QCOMPARE(column(h.model, 10), QStringLiteral("alice bob "));
        QCOMPARE(column(h.model, 11), QStringLiteral("admin user "));
        QCOMPARE(column(h.model, 12), QStringLiteral(" 42 "));
        QCOMPARE(h.model.index(1, 12).data(ConnectionsModel::SortRole).toDouble(), 42.0);
    }

    void tooManyClaimsAreCapped()
    {
        Harness h;
        h.feed(connects(0, 1));
        QByteArray token = "{";
        for (int i = 0; i < 200; ++i)
            token += (i ? "," : "") + QByteArray("\"k") + QByteArray::number(i) + "\":1";
        token += "}";
        QTest::ignoreMessage(QtWarningMsg, QRegularExpression("capped"));
        h.feed(tokenEvent(cid(0), token));
        QCOMPARE(h.model.claims().size(), ConnectionsModel::MaxClaimColumns);
        QCOMPARE(h.model.columnCount(),
                 ConnectionsModel::FirstClaimColumn + ConnectionsModel::MaxClaimColumns);
    }

    void filterNarrowsToTheMatchingConnections()
    {
        Harness h;
        QList<NatsMessage> messages;
        for (int i = 0; i < 30; ++i) {
            messages.append(connectEvent(cid(i), "gw-" + QByteArray::number(i % 3)));
            messages.append(tokenEvent(cid(i), i % 5 == 0 ? R"({"role":"admin"})" : R"({"role":"user"})"));
        }
        h.feed(messages);
        QCOMPARE(h.model.rowCount(), 30);

        QSignalSpy started(&h.model, &ConnectionsModel::filteringStarted);
        QSignalSpy counts(&h.model, &ConnectionsModel::countsChanged);
        QVERIFY(h.applyFilter(QStringLiteral("role=admin")));
        QCOMPARE(started.count(), 1);
        QCOMPARE(h.cidSet(), ModelTest::cids({ 0, 5, 10, 15, 20, 25 }));
        QCOMPARE(h.model.rowCount(), 6);
        QCOMPARE(h.model.totalCount(), 30);
        QCOMPARE(counts.last().at(0).toInt(), 6);
        QCOMPARE(counts.last().at(1).toInt(), 30);
        QVERIFY(!h.model.isFiltering());

        // The gateways panel narrows further: gw-1 holds 1, 4, 7, ...
        QVERIFY(h.applyGateways({ h.gateway(QStringLiteral("gw-1")) }));
        QCOMPARE(h.cidSet(), ModelTest::cids({ 10, 25 }));
        QVERIFY(h.applyGateways({ h.gateway(QStringLiteral("gw-1")), h.gateway(QStringLiteral("gw-2")) }));
        QCOMPARE(h.cidSet(), ModelTest::cids({ 5, 10, 20, 25 }));

        // New connections are filtered as they arrive.
        h.feed({ connectEvent(cid(100), "gw-1"), connectEvent(cid(101), "gw-1"),
                 connectEvent(cid(102), "gw-0") });
        h.feed({ tokenEvent(cid(100), R"({"role":"admin"})"), tokenEvent(cid(102), R"({"role":"admin"})") });
        QCOMPARE(h.cidSet(), ModelTest::cids({ 5, 10, 20, 25, 100 }));
        // A token change moves a row in or out.
        h.feed({ tokenEvent(cid(10), R"({"role":"user"})"), tokenEvent(cid(1), R"({"role":"admin"})") });
        QCOMPARE(h.cidSet(), ModelTest::cids({ 1, 5, 20, 25, 100 }));

        QVERIFY(h.applyGateways({}));
        QVERIFY(h.applyFilter(QString()));
        QCOMPARE(h.model.rowCount(), 33);
        QCOMPARE(h.model.rowCount(), h.tracker.connectionCount());
    }

    void filterKeepsPersistentIndexes()
    {
        Harness h;
        QList<NatsMessage> messages;
        for (int i = 0; i < 20; ++i) {
            messages.append(connectEvent(cid(i), "gw-1"));
            messages.append(tokenEvent(cid(i), i % 2 ? R"({"role":"admin"})" : R"({"role":"user"})"));
        }
        h.feed(messages);
        const QPersistentModelIndex odd = h.model.index(7, ConnectionsModel::TokenColumn);
        const QPersistentModelIndex even = h.model.index(8, 0);
        QVERIFY(h.applyFilter(QStringLiteral("role=admin")));
        QVERIFY(odd.isValid());
        QCOMPARE(odd.row(), 3);
        QCOMPARE(odd.column(), int(ConnectionsModel::TokenColumn));
        QCOMPARE(h.model.index(odd.row(), 0).data().toString(), QStringLiteral("c000007"));
        QVERIFY(!even.isValid());
    }

    // 200k rows: the filter runs in slices, the event loop keeps turning, and
    // changes that arrive in between are accounted for.
    void filterRunsInTimeSlicesAndTracksChanges()
    {
        constexpr int Count = 200'000;
        Harness h;
        QList<NatsMessage> messages;
        messages.reserve(2 * Count);
        for (int i = 0; i < Count; ++i) {
            messages.append(connectEvent(cid(i), "gw-1"));
            messages.append(tokenEvent(cid(i), i % 4 == 0 ? R"({"role":"admin"})" : R"({"role":"user"})"));
        }
        h.feed(messages);
        messages.clear();
        QCOMPARE(h.model.rowCount(), Count);

        const ConnectionFilter filter = ConnectionFilter::parse(QStringLiteral("role=admin"));
        h.model.setSliceDuration(1);
        QSignalSpy finished(&h.model, &ConnectionsModel::filteringFinished);
        SignalLog log(&h.model);
        int ticks = 0;
        int ticksAfterChanges = 0;
        bool changedWhileFiltering = false;
        QTimer ticker;
        ticker.setInterval(0);
        QObject::connect(&ticker, &QTimer::timeout, [&] {
            ++ticks;
            if (changedWhileFiltering)
                ++ticksAfterChanges;
            if (ticks != 2 || !h.model.isFiltering())
                return;
            // Early slots (already evaluated) and late ones (not yet) change under the filter.
            h.feed({ disconnectEvent(cid(0), "gw-1"), disconnectEvent(cid(Count - 4), "gw-1"),
                     tokenEvent(cid(1), R"({"role":"admin"})"), tokenEvent(cid(4), R"({"role":"user"})"),
                     tokenEvent(cid(Count - 3), R"({"role":"admin"})"), connectEvent(cid(Count), "gw-1"),
                     connectEvent(cid(Count + 1), "gw-1") });
            h.feed({ tokenEvent(cid(Count), R"({"role":"admin"})") });
            changedWhileFiltering
                = h.model.isFiltering() && h.model.rowCount() == Count; // old rows still shown
        });
        ticker.start();
        h.model.setFilter(filter);
        QVERIFY(h.model.isFiltering());
        QCOMPARE(h.model.rowCount(), Count); // the previous rows stay until the result is in
        QVERIFY(finished.wait(20000));
        QVERIFY2(changedWhileFiltering, "the filter finished before the event loop turned twice");
        QVERIFY2(ticksAfterChanges >= 1, qPrintable(QString::number(ticksAfterChanges)));
        QCOMPARE(log.layout.count(), 1);

        std::vector<int> expected;
        for (int i = 0; i < Count; i += 4)
            expected.push_back(i);
        expected.erase(std::remove(expected.begin(), expected.end(), 0), expected.end());
        expected.erase(std::remove(expected.begin(), expected.end(), 4), expected.end());
        expected.erase(std::remove(expected.begin(), expected.end(), Count - 4), expected.end());
        for (int i : { 1, Count - 3, Count })
            expected.push_back(i);
        QCOMPARE(h.model.rowCount(), int(expected.size()));
        QCOMPARE(h.cidSet(), ModelTest::cids(expected));
        QCOMPARE(h.model.totalCount(), Count + 2 - 2);
    }

    void sortsByEachKindOfColumn_data()
    {
        QTest::addColumn<QString>("column"); // a number, or a claim name
        QTest::addColumn<Qt::SortOrder>("order");
        QTest::addColumn<QString>("expected");

        const auto asc = Qt::AscendingOrder;
        const auto desc = Qt::DescendingOrder;
        QTest::newRow("cid") << "0" << asc << "1 2 3 4 5";
        QTest::newRow("cid, descending") << "0" << desc << "5 4 3 2 1";
        QTest::newRow("gateway (ties by arrival)") << "1" << asc << "2 4 1 5 3";
        QTest::newRow("connected at") << "3" << asc << "2 4 3 5 1";
        QTest::newRow("duration") << "4" << asc << "1 5 3 4 2";
        QTest::newRow("host (empty first)") << "7" << asc << "3 5 2 4 1";
        QTest::newRow("token text") << "9" << asc << "4 1 2 3 5";
        QTest::newRow("numeric claim: missing, numbers, strings") << "n" << asc << "4 2 1 3 5";
        QTest::newRow("numeric claim, descending") << "n" << desc << "5 3 1 2 4";
        QTest::newRow("string claim: missing, null, strings") << "name" << asc << "4 5 2 3 1";
    }

    void sortsByEachKindOfColumn()
    {
        QFETCH(QString, column);
        QFETCH(Qt::SortOrder, order);
        QFETCH(QString, expected);

        Harness h;
        const struct
        {
            int n;
            const char *gid;
            qint64 at;
            const char *host;
            const char *token;
        } rows[] = {
            { 1, "gw-b", 5000, "h3", R"({"n":10,"name":"zed"})" },
            { 2, "gw-a", 1000, "h1", R"({"n":2,"name":"amy"})" },
            { 3, "gw-c", 3000, "", R"({"n":33.5,"name":"bob"})" },
            { 4, "gw-a", 2000, "h2", nullptr },
            { 5, "gw-b", 4000, "h0", R"({"name":null,"n":"x"})" },
        };
        for (const auto &r : rows) {
            h.clock.set(Start + r.at);
            h.feed(connectEvent(cid(r.n), r.gid, {}, r.host));
            if (r.token)
                h.feed(tokenEvent(cid(r.n), r.token));
        }
        h.clock.set(Start + 10'000);
        bool isNumber = false;
        int section = column.toInt(&isNumber);
        if (!isNumber)
            section = h.model.claimColumn(column.toUtf8());
        QVERIFY(section >= 0);

        QSignalSpy layout(&h.model, &QAbstractItemModel::layoutChanged);
        h.model.sort(section, order);
        QCOMPARE(layout.count(), 1);
        QCOMPARE(h.model.sortColumn(), section);
        QStringList numbers;
        for (int r = 0; r < h.model.rowCount(); ++r)
            numbers.append(QString::number(h.model.index(r, 0).data().toString().mid(1).toInt()));
        QCOMPARE(numbers.join(' '), expected);
    }

    void sortedModelPlacesNewAndUpdatedRows()
    {
        Harness h;
        QList<NatsMessage> messages;
        for (int i = 0; i < 100; ++i) {
            messages.append(connectEvent(cid(i * 10), "gw-1"));
            messages.append(tokenEvent(cid(i * 10), "{\"n\":" + QByteArray::number(i * 10) + "}"));
        }
        h.feed(messages);
        const int n = h.model.claimColumn("n");
        h.model.sort(n, Qt::DescendingOrder);
        QCOMPARE(h.model.index(0, 0).data().toString(), QStringLiteral("c000990"));
        const QPersistentModelIndex tracked = h.model.index(50, 0); // n = 490
        QCOMPARE(tracked.data().toString(), QStringLiteral("c000490"));

        SignalLog log(&h.model);
        // New rows arrive with a token in the same change set: they go to their place.
        h.feed({ connectEvent(cid(5), "gw-1"), tokenEvent(cid(5), R"({"n":995})"),
                 connectEvent(cid(7), "gw-1"), tokenEvent(cid(7), R"({"n":495})") });
        QCOMPARE(ranges(log.inserted), QStringLiteral("50-50 0-0"));
        QCOMPARE(h.model.index(0, 0).data().toString(), QStringLiteral("c000005"));
        QCOMPARE(h.model.index(51, 0).data().toString(), QStringLiteral("c000007"));
        QCOMPARE(tracked.row(), 52);

        // An update that keeps the order is a dataChanged; one that breaks it moves the row.
        log.clear();
        h.feed(tokenEvent(cid(490), R"({"n":491})"));
        QCOMPARE(log.layout.count(), 0);
        QCOMPARE(log.changed.count(), 1);
        h.feed(tokenEvent(cid(490), R"({"n":-1})"));
        QCOMPARE(log.layout.count(), 1);
        QCOMPARE(tracked.row(), h.model.rowCount() - 1);
        QCOMPARE(tracked.data().toString(), QStringLiteral("c000490"));

        // The whole column stays in order.
        double previous = 1e300;
        for (int r = 0; r < h.model.rowCount(); ++r) {
            const double v = h.model.index(r, n).data(ConnectionsModel::SortRole).toDouble();
            QVERIFY2(v <= previous, qPrintable(QString::number(r)));
            previous = v;
        }
    }

    // The model keeps a compact copy of each sort key (a 16-byte head for strings): the
    // order must stay exact where that copy alone cannot tell, as rows change and arrive.
    void sortedClaimKeepsOrderThroughChanges_data()
    {
        QTest::addColumn<QByteArrayList>("tokens"); // of c1, c2, ...
        QTest::addColumn<Qt::SortOrder>("order");
        QTest::addColumn<QByteArrayList>("changes"); // "<n> <token>": an update, or a new row
        QTest::addColumn<QString>("expected");

        const auto asc = Qt::AscendingOrder;
        const QByteArray head = "user-00000000000"; // 16 bytes: the compact key ends here
        auto k = [](const QByteArray &json) {
            return "{\"k\":" + json + "}";
        };
        auto str = [&](const QByteArray &s) {
            return k('"' + s + '"');
        };
        const QByteArrayList longStrings { str(head + "-c"), str(head + "-a"), str(head), str(head + "-b") };
        const QByteArrayList longChanges { "2 " + str(head + "-d"), "5 " + str(head + "-bb") };
        QTest::newRow("strings longer than the head") << longStrings << asc << longChanges << "3 4 5 1 2";
        QTest::newRow("strings longer than the head, descending")
            << longStrings << Qt::DescendingOrder << longChanges << "2 1 5 4 3";
        QTest::newRow("empty strings after missing, ties by arrival")
            << QByteArrayList { str("b"), str(""), str("a"), "{\"other\":1}" } << asc
            << QByteArrayList { "3 " + str(""), "5 " + str("a") } << "4 2 3 5 1";
        QTest::newRow("negative numbers and zero")
            << QByteArrayList { k("1.5"), k("-2"), k("0"), k("-0.5") } << asc
            << QByteArrayList { "1 " + k("-3"), "5 " + k("-0") } << "1 2 4 3 5";
        QTest::newRow("a row changes type")
            << QByteArrayList { k("1"), k("\"x\""), k("null"), k("2") } << asc
            << QByteArrayList { "2 " + k("0"), "4 " + k("true"), "5 " + k("{\"a\":1}") } << "3 4 2 1 5";
    }

    void aConnectionMovingToAnotherGatewayMovesItsRow()
    {
        Harness h;
        h.feed({ connectEvent("a", "gw-b"), connectEvent("b", "gw-c"), connectEvent("c", "gw-a") });
        h.model.sort(ConnectionsModel::GatewayColumn, Qt::AscendingOrder);
        QCOMPARE(h.cids(), QStringLiteral("c a b"));
        QSignalSpy changed(&h.model, &QAbstractItemModel::dataChanged);
        // The same cid reported by another gateway (a poll, or a stock connection adopted by its native
        // gateway).
        h.feed(connectEvent("b", "gw-0"));
        QCOMPARE(h.cids(), QStringLiteral("b c a"));
        QCOMPARE(h.model.index(0, ConnectionsModel::GatewayColumn).data().toString(), QStringLiteral("gw-0"));
        bool gatewayCellSignalled = changed.isEmpty(); // a layout change repaints everything too
        for (const QList<QVariant> &signal : std::as_const(changed))
            gatewayCellSignalled |= signal.at(0).toModelIndex().column() <= ConnectionsModel::GatewayColumn;
        QVERIFY(gatewayCellSignalled);
    }

    void sortedClaimKeepsOrderThroughChanges()
    {
        QFETCH(QByteArrayList, tokens);
        QFETCH(Qt::SortOrder, order);
        QFETCH(QByteArrayList, changes);
        QFETCH(QString, expected);

        Harness h;
        for (int i = 0; i < tokens.size(); ++i)
            h.feed({ connectEvent(cid(i + 1), "gw-1"), tokenEvent(cid(i + 1), tokens.at(i)) });
        h.model.sort(h.model.claimColumn("k"), order);
        for (const QByteArray &change : std::as_const(changes)) {
            const int space = int(change.indexOf(' '));
            const int n = change.left(space).toInt();
            QList<NatsMessage> messages;
            if (n > tokens.size())
                messages.append(connectEvent(cid(n), "gw-1"));
            messages.append(tokenEvent(cid(n), change.mid(space + 1)));
            h.feed(messages);
        }
        QStringList numbers;
        for (int r = 0; r < h.model.rowCount(); ++r)
            numbers.append(QString::number(h.model.index(r, 0).data().toString().mid(1).toInt()));
        QCOMPARE(numbers.join(' '), expected);
    }

    void staleConnectionsHaveARole()
    {
        TrackerSettings settings;
        settings.staleAfterMissedPolls = 2;
        Harness h(settings);
        h.feed({ connectEvent(cid(1), "gw-1"), connectEvent(cid(2), "gw-2"), connectEvent(cid(3), "gw-1") });
        QSignalSpy changed(&h.model, &QAbstractItemModel::dataChanged);
        const std::vector<Protocol::ConnectionEntry> listed
            = { { cid(1), {}, {}, {}, {} }, { cid(3), {}, {}, {}, {} } };
        for (int poll = 0; poll < 2; ++poll) {
            h.tracker.beginPoll();
            h.tracker.handlePollReply(Protocol::connectionsReplyPayloads("gw-1", listed, 1 << 20).front());
            h.tracker.endPoll();
        }
        h.tracker.flushChanges();
        QCOMPARE(column(h.model, ConnectionsModel::StateColumn), QStringLiteral("live stale live"));
        QCOMPARE(h.model.index(1, 0).data(ConnectionsModel::StaleRole).toBool(), true);
        QCOMPARE(h.model.index(0, 0).data(ConnectionsModel::StaleRole).toBool(), false);
        QCOMPARE(dataRanges(changed).section(':', 0, 0), QStringLiteral("1,1"));

        h.model.sort(ConnectionsModel::StateColumn, Qt::DescendingOrder);
        QCOMPARE(h.cids(), QStringLiteral("c000002 c000001 c000003"));
    }

    void pauseCountsAndResumeApplies()
    {
        Harness h;
        QList<NatsMessage> messages = connects(0, 10);
        messages.append(tokenEvent(cid(3), R"({"role":"user"})"));
        h.feed(messages);
        const QString before = h.cids();

        const QPersistentModelIndex kept = h.model.index(7, 0);
        const QPersistentModelIndex ended = h.model.index(6, 0);
        QSignalSpy pending(&h.model, &ConnectionsModel::pendingChanged);
        h.model.setPaused(true);
        SignalLog log(&h.model);
        h.feed({ disconnectEvent(cid(2), "gw-1"), disconnectEvent(cid(6), "gw-1"),
                 connectEvent(cid(20), "gw-1"), connectEvent(cid(21), "gw-1"),
                 tokenEvent(cid(3), R"({"role":"admin","team":"red"})") });
        // The freed slots are reused while still paused: the frozen rows keep their old content.
        h.feed(
            { connectEvent(cid(22), "gw-1"), connectEvent(cid(23), "gw-1"), connectEvent(cid(24), "gw-1") });
        h.feed({ disconnectEvent(cid(24), "gw-1") });

        QCOMPARE(log.total(), 0);
        QCOMPARE(h.cids(), before);
        QCOMPARE(h.model.rowCount(), 10);
        QCOMPARE(h.model.totalCount(), 10);
        QCOMPARE(h.model.pendingAdded(), 4);
        QCOMPARE(h.model.pendingRemoved(), 2);
        QCOMPARE(pending.last().at(0).toInt(), 4);
        QCOMPARE(pending.last().at(1).toInt(), 2);
        QCOMPARE(h.model.index(2, 0).data(ConnectionsModel::CidRole).toString(), QStringLiteral("c000002"));

        h.model.setPaused(false);
        QCOMPARE(log.layout.count(), 1);
        QCOMPARE(log.inserted.count() + log.removed.count(), 0);
        QCOMPARE(ranges(log.columns), QStringLiteral("11-11"));
        QCOMPARE(h.cidSet(), ModelTest::cids({ 0, 1, 3, 4, 5, 7, 8, 9, 20, 21, 22, 23 }));
        QCOMPARE(h.model.totalCount(), 12);
        QCOMPARE(pending.last().at(0).toInt(), 0);
        QCOMPARE(kept.data().toString(), QStringLiteral("c000007"));
        QCOMPARE(kept.row(), 5);
        QVERIFY(!ended.isValid()); // its slot now holds another connection: the index must not follow it
        QCOMPARE(
            h.model.index(h.model.rowOfSlot(quint32(h.tracker.slotOf(cid(3)))), h.model.claimColumn("team"))
                .data()
                .toString(),
            QStringLiteral("red"));

        // Live again: the next change is a plain insert.
        log.clear();
        h.feed(connectEvent(cid(30), "gw-1"));
        QCOMPARE(ranges(log.inserted), QStringLiteral("12-12"));
    }

    void pausedCountsFollowTheFilter()
    {
        Harness h;
        h.feed(connects(0, 4));
        QVERIFY(h.applyFilter(QStringLiteral("role=admin")));
        QCOMPARE(h.model.rowCount(), 0);
        h.model.setPaused(true);
        h.feed({ connectEvent(cid(10), "gw-1"), connectEvent(cid(11), "gw-1"),
                 disconnectEvent(cid(0), "gw-1") });
        QCOMPARE(h.model.pendingAdded(), 0);
        QCOMPARE(h.model.pendingRemoved(), 0);
        h.feed(tokenEvent(cid(11), R"({"role":"admin"})"));
        QCOMPARE(h.model.pendingAdded(), 1);
        h.model.setPaused(false);
        QCOMPARE(h.cids(), QStringLiteral("c000011"));
    }

    void filterSetWhilePausedShowsOnResume()
    {
        Harness h;
        QList<NatsMessage> messages;
        for (int i = 0; i < 10; ++i) {
            messages.append(connectEvent(cid(i), "gw-1"));
            messages.append(tokenEvent(cid(i), i < 3 ? R"({"role":"admin"})" : R"({"role":"user"})"));
        }
        h.feed(messages);
        h.model.setPaused(true);
        SignalLog log(&h.model);
        QVERIFY(h.applyFilter(QStringLiteral("role=admin")));
        h.feed({ disconnectEvent(cid(1), "gw-1"), connectEvent(cid(50), "gw-1"),
                 tokenEvent(cid(50), R"({"role":"admin"})") });
        QCOMPARE(log.total(), 0);
        QCOMPARE(h.model.rowCount(), 10);
        h.model.setPaused(false);
        QCOMPARE(log.layout.count(), 1);
        QCOMPARE(h.cidSet(), ModelTest::cids({ 0, 2, 50 }));
    }

    void sortWhilePausedKeepsFrozenRows()
    {
        Harness h;
        h.feed(connects(0, 5));
        h.model.setPaused(true);
        h.feed({ disconnectEvent(cid(1), "gw-1"), connectEvent(cid(9), "gw-1") });
        h.feed(connectEvent(cid(8), "gw-1")); // may reuse the slot of c000001
        h.model.sort(ConnectionsModel::CidColumn, Qt::DescendingOrder);
        QCOMPARE(h.cids(), QStringLiteral("c000004 c000003 c000002 c000001 c000000"));
        h.model.setPaused(false);
        QCOMPARE(h.cids(), QStringLiteral("c000009 c000008 c000004 c000003 c000002 c000000"));
    }

    void trackerClearEmptiesTheModel()
    {
        Harness h;
        h.feed(connects(0, 50));
        h.tracker.clear();
        h.tracker.flushChanges();
        QCOMPARE(h.model.rowCount(), 0);
        QCOMPARE(h.model.totalCount(), 0);
        h.feed(connects(0, 3));
        QCOMPARE(h.cidSet(), ModelTest::cids({ 0, 1, 2 }));
    }

    void attachesToATrackerThatHasConnections()
    {
        ManualClock clock(Start);
        Tracker tracker({}, &clock);
        QList<NatsMessage> messages = connects(0, 5);
        messages.append(tokenEvent(cid(2), R"({"user":"x"})"));
        tracker.handleEvents(messages);
        tracker.flushChanges();
        ConnectionsModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        QCOMPARE(model.rowCount(), 0);
        model.setTracker(&tracker);
        QCOMPARE(model.rowCount(), 5);
        QCOMPARE(model.claims(), QByteArrayList({ "user" }));
        model.setTracker(nullptr);
        QCOMPARE(model.rowCount(), 0);
    }

    void durationIsRelativeToTheTrackerClock_data()
    {
        QTest::addColumn<qint64>("elapsed");
        QTest::addColumn<QString>("text");
        QTest::newRow("seconds") << qint64(45'000) << "45s";
        QTest::newRow("minutes") << qint64(192'000) << "3m 12s";
        QTest::newRow("hours") << qint64(2 * 3600'000 + 5 * 60'000) << "2h 05m";
    }

    void durationIsRelativeToTheTrackerClock()
    {
        QFETCH(qint64, elapsed);
        QFETCH(QString, text);
        Harness h;
        h.feed(connectEvent(cid(1), "gw-1"));
        h.clock.advance(elapsed);
        QCOMPARE(h.model.index(0, ConnectionsModel::DurationColumn).data().toString(), text);
        QCOMPARE(
            h.model.index(0, ConnectionsModel::DurationColumn).data(ConnectionsModel::SortRole).toLongLong(),
            elapsed);
    }
};

QTEST_GUILESS_MAIN(TestConnectionsModel)
#include "tst_connectionsmodel.moc"
