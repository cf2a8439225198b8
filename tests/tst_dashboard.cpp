// The dashboard as a user drives it, offscreen: a real Tracker fed with
// protocol messages, the real widgets, QTest keyboard and mouse input.

#include "chartsview.h"
#include "clock.h"
#include "connectionsmodel.h"
#include "connectionsview.h"
#include "dashboardwidget.h"
#include "eventlogview.h"
#include "filterbar.h"
#include "gatewaysmodel.h"
#include "gatewaysview.h"
#include "protocol.h"
#include "tracker.h"
#include "xid.h"

#include <QAbstractItemModelTester>
#include <QApplication>
#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

using namespace ResWatch;

namespace {

NatsMessage message(const QByteArray &subject, const QByteArray &payload)
{
    return NatsMessage { subject, {}, payload };
}

/// A tracker with gateways gw-1..gw-n, each with connections, every fifth an admin.
class Fleet
{
public:
    explicit Fleet(int gateways = 3, int perGateway = 10)
    {
        TrackerSettings settings;
        settings.changeIntervalMs = 10;
        tracker = std::make_unique<Tracker>(settings, &clock);
        int n = 0;
        QList<NatsMessage> batch;
        for (int g = 1; g <= gateways; ++g) {
            const QByteArray gid = "gw-" + QByteArray::number(g);
            batch << message("system.start", Protocol::gatewayEventPayload(gid));
            for (int i = 0; i < perGateway; ++i, ++n) {
                const QByteArray cid = xids.next();
                cids << cid;
                batch << message("conn." + cid + ".connect",
                                 Protocol::connectPayload(gid,
                                                          "10.0.0." + QByteArray::number(n % 250) + ":5"
                                                              + QByteArray::number(1000 + n),
                                                          "example.com"));
                const QByteArray role = n % 5 == 0 ? "admin" : "guest";
                batch << message("conn." + cid + ".token",
                                 Protocol::tokenPayload(R"({"user":"user-)" + QByteArray::number(n)
                                                            + R"(","userId":)" + QByteArray::number(n)
                                                            + R"(,"role":")" + role + R"("})",
                                                        "tid-" + QByteArray::number(n)));
            }
        }
        tracker->handleEvents(batch);
        tracker->flushChanges();
    }

    // Near the real time, since xid cids carry their real creation time.
    ManualClock clock { QDateTime::currentMSecsSinceEpoch() };
    XidGenerator xids;
    std::unique_ptr<Tracker> tracker;
    QByteArrayList cids;
};

QStringList shownCids(const ConnectionsModel *model)
{
    QStringList cids;
    for (int row = 0; row < model->rowCount(); ++row)
        cids << model->index(row, ConnectionsModel::CidColumn).data(ConnectionsModel::CidRole).toString();
    cids.sort();
    return cids;
}

QLineEdit *filterInput(DashboardWidget &dashboard)
{
    return dashboard.filterBar()->findChild<QComboBox *>()->lineEdit();
}

} // namespace

class TestDashboard : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void typingAFilterNarrowsTheTable()
    {
        Fleet fleet(3, 10);
        DashboardWidget dashboard(fleet.tracker.get());
        QAbstractItemModelTester tester(dashboard.connectionsModel(),
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        dashboard.resize(1200, 800);
        dashboard.show();
        QVERIFY(QTest::qWaitForWindowExposed(&dashboard));
        QTRY_COMPARE(dashboard.connectionsModel()->rowCount(), 30);

        QLineEdit *input = filterInput(dashboard);
        QTest::keyClicks(input, QStringLiteral("role=admin"));
        QTest::keyClick(input, Qt::Key_Return);
        QTRY_COMPARE(dashboard.connectionsModel()->rowCount(), 6);
        QStringList expected;
        for (int n = 0; n < 30; n += 5)
            expected << QString::fromLatin1(fleet.cids.at(n));
        expected.sort();
        QCOMPARE(shownCids(dashboard.connectionsModel()), expected);
        QVERIFY(dashboard.filterBar()->findChild<QLabel *>() != nullptr);
        QVERIFY(dashboard.filterBar()->recentFilters().contains(QStringLiteral("role=admin")));
    }

    void aBadFilterShowsItsErrorAndKeepsThePreviousOne()
    {
        Fleet fleet(2, 10);
        DashboardWidget dashboard(fleet.tracker.get());
        dashboard.show();
        QVERIFY(QTest::qWaitForWindowExposed(&dashboard));
        dashboard.filterBar()->setText(QStringLiteral("gid=gw-1"));
        QTRY_COMPARE(dashboard.connectionsModel()->rowCount(), 10);

        QLineEdit *input = filterInput(dashboard);
        input->clear();
        QTest::keyClicks(input, QStringLiteral("role="));
        QTest::keyClick(input, Qt::Key_Return);
        QTRY_VERIFY(!dashboard.filterBar()->errorText().isEmpty());
        QVERIFY2(dashboard.filterBar()->errorText().contains(QLatin1String("6")),
                 qPrintable(dashboard.filterBar()->errorText()));
        QCOMPARE(dashboard.connectionsModel()->rowCount(), 10); // the last good filter stays

        input->clear();
        QTest::keyClick(input, Qt::Key_Return);
        QTRY_COMPARE(dashboard.connectionsModel()->rowCount(), 20);
        QVERIFY(dashboard.filterBar()->errorText().isEmpty());
    }

    void selectingAGatewayNarrowsTheTable()
    {
        Fleet fleet(3, 10);
        DashboardWidget dashboard(fleet.tracker.get());
        dashboard.show();
        QVERIFY(QTest::qWaitForWindowExposed(&dashboard));
        QTableView *gateways = dashboard.gatewaysView()->table();
        QTRY_COMPARE(gateways->model()->rowCount(), 3);
        int row = -1;
        for (int r = 0; r < 3; ++r)
            if (gateways->model()->index(r, GatewaysModel::GidColumn).data().toString()
                == QLatin1String("gw-2"))
                row = r;
        QVERIFY(row >= 0);
        const QRect cell = gateways->visualRect(gateways->model()->index(row, GatewaysModel::GidColumn));
        QTest::mouseClick(gateways->viewport(), Qt::LeftButton, {}, cell.center());
        QTRY_COMPARE(dashboard.connectionsModel()->rowCount(), 10);
        for (int r = 0; r < 10; ++r)
            QCOMPARE(
                dashboard.connectionsModel()->index(r, ConnectionsModel::GatewayColumn).data().toString(),
                QStringLiteral("gw-2"));
        gateways->clearSelection();
        QTRY_COMPARE(dashboard.connectionsModel()->rowCount(), 30);
    }

    void pauseShowsCountsAndResumeAppliesThem()
    {
        Fleet fleet(2, 5);
        DashboardWidget dashboard(fleet.tracker.get());
        dashboard.show();
        QVERIFY(QTest::qWaitForWindowExposed(&dashboard));
        QTRY_COMPARE(dashboard.connectionsModel()->rowCount(), 10);

        QTest::keyClick(&dashboard, Qt::Key_P, Qt::ControlModifier);
        QVERIFY(dashboard.isPaused());
        QList<NatsMessage> batch;
        for (int i = 0; i < 3; ++i)
            batch << message("conn." + fleet.xids.next() + ".connect", Protocol::connectPayload("gw-1"));
        batch << message("conn." + fleet.cids.at(0) + ".disconnect", Protocol::gatewayEventPayload("gw-1"));
        fleet.tracker->handleEvents(batch);
        fleet.tracker->flushChanges();

        QLabel *pauseLabel = nullptr;
        for (QLabel *label : dashboard.findChildren<QLabel *>())
            if (label->text().startsWith(QLatin1String("paused")))
                pauseLabel = label;
        QVERIFY(pauseLabel);
        QTRY_COMPARE(pauseLabel->text(), QStringLiteral("paused: +3 new / −1 gone since paused"));
        QCOMPARE(dashboard.connectionsModel()->rowCount(), 10); // frozen

        QTest::keyClick(&dashboard, Qt::Key_P, Qt::ControlModifier);
        QVERIFY(!dashboard.isPaused());
        QTRY_COMPARE(dashboard.connectionsModel()->rowCount(), 12);
        QVERIFY(!pauseLabel->isVisible());
    }

    void exportWritesTheExpectedCsv()
    {
        Fleet fleet(2, 5);
        DashboardWidget dashboard(fleet.tracker.get());
        dashboard.filterBar()->setText(QStringLiteral("role=admin"));
        QTRY_COMPARE(dashboard.connectionsModel()->rowCount(), 2);
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("admins.csv"));
        QSignalSpy finished(&dashboard, &DashboardWidget::exportFinished);
        dashboard.exportCsvTo(path, DashboardWidget::ExportScope::Filtered);
        QTRY_COMPARE(finished.count(), 1);
        QVERIFY2(finished.first().at(0).toBool(), qPrintable(finished.first().at(1).toString()));
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QList<QByteArray> lines = file.readAll().split('\n');
        QCOMPARE(
            lines.first(),
            QByteArray(
                "cid,gid,state,connected_at,token,tid,remote_addr,token.role,token.user,token.userId\r"));
        QCOMPARE(lines.size(), 4); // header, two rows, and the empty rest after the last CRLF
        // Rows come in the table's order; check them as a set.
        QByteArrayList rows { lines.at(1), lines.at(2) };
        std::sort(rows.begin(), rows.end(), [&](const QByteArray &a, const QByteArray &b) {
            return a.contains(fleet.cids.at(0)) && !b.contains(fleet.cids.at(0));
        });
        QVERIFY2(rows.at(0).startsWith(fleet.cids.at(0) + ",gw-1,live,"), rows.at(0).constData());
        QVERIFY2(rows.at(0).endsWith(",tid-0,10.0.0.0:51000,admin,user-0,0\r"), rows.at(0).constData());
        QVERIFY2(rows.at(1).startsWith(fleet.cids.at(5) + ",gw-2,live,"), rows.at(1).constData());
    }

    void exportToAnUnwritablePathSaysWhy()
    {
        Fleet fleet(1, 3);
        DashboardWidget dashboard(fleet.tracker.get());
        QSignalSpy finished(&dashboard, &DashboardWidget::exportFinished);
        // The warning box is modal: close it as soon as it shows.
        QTimer closer;
        connect(&closer, &QTimer::timeout, this, [] {
            if (QWidget *box = QApplication::activeModalWidget())
                box->close();
        });
        closer.start(20);
        dashboard.exportCsvTo(QStringLiteral("/nonexistent-dir/x.csv"), DashboardWidget::ExportScope::All);
        QTRY_COMPARE(finished.count(), 1);
        QVERIFY(!finished.first().at(0).toBool());
        QVERIFY2(finished.first().at(1).toString().contains(QLatin1String("/nonexistent-dir/x.csv")),
                 qPrintable(finished.first().at(1).toString()));
        QVERIFY(!QFile::exists(QStringLiteral("/nonexistent-dir/x.csv")));
    }

    void aGatewayGoingStaleChangesItsRow()
    {
        Fleet fleet(2, 3);
        DashboardWidget dashboard(fleet.tracker.get());
        QAbstractItemModelTester tester(dashboard.gatewaysView()->table()->model(),
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModel *gateways = dashboard.gatewaysView()->table()->model();
        auto stateOf = [&](const QString &gid) {
            for (int r = 0; r < gateways->rowCount(); ++r)
                if (gateways->index(r, GatewaysModel::GidColumn).data().toString() == gid)
                    return gateways->index(r, GatewaysModel::StateColumn).data().toString();
            return QString();
        };
        QTRY_COMPARE(stateOf(QStringLiteral("gw-1")), QStringLiteral("up"));
        // Two polls in which only gw-2 answers: gw-1 misses them and goes stale.
        for (int poll = 0; poll < 2; ++poll) {
            fleet.tracker->beginPoll();
            std::vector<Protocol::ConnectionEntry> entries;
            for (int i = 3; i < 6; ++i)
                entries.push_back({ fleet.cids.at(i), {}, {}, {}, {} });
            for (const QByteArray &payload : Protocol::connectionsReplyPayloads("gw-2", entries, 1 << 20))
                fleet.tracker->handlePollReply(payload);
            fleet.tracker->endPoll();
            fleet.clock.advance(5000);
        }
        fleet.tracker->flushChanges();
        QTRY_COMPARE(stateOf(QStringLiteral("gw-1")), QStringLiteral("stale"));
        QCOMPARE(stateOf(QStringLiteral("gw-2")), QStringLiteral("up"));
        // Its connections are shown stale too.
        ConnectionsModel *connections = dashboard.connectionsModel();
        int stale = 0;
        for (int r = 0; r < connections->rowCount(); ++r)
            stale += connections->index(r, 0).data(ConnectionsModel::StaleRole).toBool();
        QCOMPARE(stale, 3);
    }

    void theChartGetsPoints()
    {
        Fleet fleet(2, 4);
        DashboardWidget dashboard(fleet.tracker.get());
        ChartsView *charts = dashboard.chartsView();
        charts->sample();
        fleet.clock.advance(1000);
        charts->sample();
        QCOMPARE(charts->pointCount(QStringLiteral("gw-1")), 2);
        QCOMPARE(charts->pointCount(QStringLiteral("gw-2")), 2);
        QCOMPARE(charts->ratePointCount(), 2);
        QCOMPARE(charts->pointCount(QStringLiteral("gw-none")), 0);
    }

    void rendersTheWholeWindow()
    {
        // A few gateways and a few hundred connections, some stale, a filter, charts with history.
        Fleet fleet(4, 80);
        DashboardWidget dashboard(fleet.tracker.get());
        dashboard.resize(1400, 900);
        dashboard.show();
        QVERIFY(QTest::qWaitForWindowExposed(&dashboard));
        for (int second = 0; second < 60; ++second) {
            QList<NatsMessage> churn;
            for (int i = 0; i < 2 + second % 3; ++i)
                churn << message("conn." + fleet.xids.next() + ".connect",
                                 Protocol::connectPayload("gw-" + QByteArray::number(1 + second % 4)));
            fleet.tracker->handleEvents(churn);
            fleet.tracker->flushChanges();
            fleet.clock.advance(1000);
            dashboard.chartsView()->sample();
        }
        dashboard.connectionsView()->table()->selectRow(3);
        QTRY_VERIFY(dashboard.connectionsModel()->rowCount() > 300);
        // Let the charts and tables lay out what was just added, as the event loop would.
        QCoreApplication::sendPostedEvents();
        QCoreApplication::processEvents();
        const QImage image = dashboard.grab().toImage();
        QVERIFY(!image.isNull());
        const QString path
            = QDir(QStringLiteral(RESWATCH_BINARY_DIR)).filePath(QStringLiteral("dashboard.png"));
        QVERIFY(image.save(path));
        qInfo("window rendered to %s", qPrintable(path));
    }
};

QTEST_MAIN(TestDashboard)
#include "tst_dashboard.moc"
