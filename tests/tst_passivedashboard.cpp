// The dashboard tracking a mixed fleet, as a user drives it: a real nats-server with monitoring, a
// native gateway (TestGateway) and a stock one (FakeStockGateway: what stock Resgate shows
// nats-server), monitoring URLs typed into the connection bar.

#include "connectionbar.h"
#include "connectionsmodel.h"
#include "connectionsview.h"
#include "dashboardwidget.h"
#include "eventlogview.h"
#include "fakestockgateway.h"
#include "gatewaysmodel.h"
#include "gatewaysview.h"
#include "monitorsource.h"
#include "natsserver.h"
#include "testgateway.h"
#include "tracker.h"
#include "xid.h"

#include <QAbstractItemModelTester>
#include <QCheckBox>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTableView>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

using namespace ResWatch;

namespace {

/// A native gateway with @p clients connections with tokens, a stock one with @p stockClients
/// connections made before the dashboard watches (so their tokens are unknown).
NatsServer::Options withMonitoring()
{
    NatsServer::Options options;
    options.monitoring = true;
    return options;
}

struct MixedFleet
{
    NatsServer server { withMonitoring() };
    TestGateway native { "gw-native" };
    FakeStockGateway stock;
    XidGenerator xids;
    QByteArrayList nativeCids;
    QByteArrayList stockCids;

    bool start(int clients, int stockClients)
    {
        if (!server.start() || !native.open(server.url()) || !stock.open(server.url(), "resgate-stock"))
            return false;
        for (int i = 0; i < clients; ++i) {
            const QByteArray cid = xids.next();
            nativeCids << cid;
            native.connectClient(cid);
            native.setToken(cid, R"({"user":"native-)" + QByteArray::number(i) + R"(","role":"guest"})");
        }
        for (int i = 0; i < stockClients; ++i)
            stockCids << stock.connect();
        return native.flush() && stock.nats().flush();
    }
};

QLineEdit *monitorInput(DashboardWidget &dashboard)
{
    return dashboard.connectionBar()->findChild<QLineEdit *>(QStringLiteral("monitorUrls"));
}

/// Types the URLs as a user would, then presses Connect.
void connectWith(DashboardWidget &dashboard, const QString &natsUrl, const QString &monitors)
{
    NatsOptions options;
    options.urls = { natsUrl };
    dashboard.connectionBar()->setOptions(options);
    QLineEdit *input = monitorInput(dashboard);
    input->clear();
    QTest::keyClicks(input, monitors);
    QTest::keyClick(input, Qt::Key_Return);
}

/// Row of the gateway whose Source column reads @p sourceText, or -1.
int gatewayRow(const GatewaysModel *model, const QString &sourceText)
{
    for (int row = 0; row < model->rowCount(); ++row) {
        if (model->index(row, GatewaysModel::SourceColumn).data().toString() == sourceText)
            return row;
    }
    return -1;
}

int connectionRow(const ConnectionsModel *model, const QByteArray &cid)
{
    for (int row = 0; row < model->rowCount(); ++row) {
        if (model->index(row, ConnectionsModel::CidColumn).data(ConnectionsModel::CidRole).toString()
            == QString::fromLatin1(cid))
            return row;
    }
    return -1;
}

QString cell(const ConnectionsModel *model, const QByteArray &cid, int column, int role = Qt::DisplayRole)
{
    const int row = connectionRow(model, cid);
    return row < 0 ? QStringLiteral("<no row>") : model->index(row, column).data(role).toString();
}

QStringList eventLog(DashboardWidget &dashboard)
{
    QStringList lines;
    const QAbstractItemModel *model = dashboard.eventLogView()->findChild<QTableView *>()->model();
    for (int row = 0; row < model->rowCount(); ++row) {
        QStringList cells;
        for (int column = 0; column < model->columnCount(); ++column)
            cells << model->index(row, column).data().toString();
        lines << cells.join(QLatin1Char(' '));
    }
    return lines;
}

bool logMentions(DashboardWidget &dashboard, const QString &text)
{
    return eventLog(dashboard).join(QLatin1Char('\n')).contains(text);
}

QString monitorStatus(DashboardWidget &dashboard)
{
    return dashboard.connectionBar()->monitorStatusText();
}

int claimColumn(const ConnectionsModel *model, const QByteArray &claim)
{
    return model->claimColumn(claim);
}

} // namespace

class TestPassiveDashboard : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void enteringAMonitoringUrlShowsTheStockGateway()
    {
        MixedFleet fleet;
        QVERIFY2(fleet.start(3, 2), qPrintable(fleet.server.error()));
        DashboardWidget dashboard;
        QAbstractItemModelTester connectionsTester(dashboard.connectionsModel(),
                                                   QAbstractItemModelTester::FailureReportingMode::QtTest);
        auto *gateways = qobject_cast<GatewaysModel *>(dashboard.gatewaysView()->table()->model());
        QVERIFY(gateways);
        QAbstractItemModelTester gatewaysTester(gateways,
                                                QAbstractItemModelTester::FailureReportingMode::QtTest);
        dashboard.resize(1400, 900);
        dashboard.show();
        QVERIFY(QTest::qWaitForWindowExposed(&dashboard));
        QCOMPARE(monitorStatus(dashboard), QStringLiteral("no monitoring: native gateways only"));

        connectWith(dashboard, fleet.server.url(), fleet.server.monitorUrl());
        QVERIFY(dashboard.monitorSource());

        // Every gateway once, each with its source, and every connection of both.
        QTRY_COMPARE_WITH_TIMEOUT(dashboard.connectionsModel()->rowCount(), 5, 10000);
        QTRY_COMPARE(gateways->rowCount(), 2);
        const int nativeRow = gatewayRow(gateways, QStringLiteral("native"));
        const int stockRow = gatewayRow(gateways, QStringLiteral("stock (monitor)"));
        QVERIFY(nativeRow >= 0);
        QVERIFY(stockRow >= 0);
        QCOMPARE(gateways->index(nativeRow, GatewaysModel::GidColumn).data().toString(),
                 QStringLiteral("gw-native"));
        QCOMPARE(gateways->index(stockRow, GatewaysModel::ConnectionsColumn).data().toInt(), 2);
        const QString client = gateways->index(stockRow, GatewaysModel::ClientColumn).data().toString();
        QVERIFY2(client.startsWith(QStringLiteral("resgate-stock 127.0.0.1:")), qPrintable(client));
        QCOMPARE(gateways->index(nativeRow, GatewaysModel::ClientColumn).data().toString(), QString());
        const QString details
            = gateways->index(stockRow, GatewaysModel::GidColumn).data(Qt::ToolTipRole).toString();
        QVERIFY2(details.contains(QStringLiteral("Uptime: ")), qPrintable(details));
        QVERIFY2(details.contains(fleet.server.monitorUrl()), qPrintable(details));

        // The endpoint's state, next to the NATS status, and in the log.
        QTRY_VERIFY2(monitorStatus(dashboard).endsWith(QStringLiteral(" ok: 1 stock gateway, 2 connections")),
                     qPrintable(monitorStatus(dashboard)));
        QTRY_VERIFY(logMentions(dashboard, QStringLiteral("1 stock gateway, 2 connections")));

        // The stock connections were open before ResWatch watched: their tokens are unknown,
        // not absent. The native ones have theirs.
        const ConnectionsModel *model = dashboard.connectionsModel();
        for (const QByteArray &cid : fleet.stockCids) {
            QVERIFY2(
                cell(model, cid, ConnectionsModel::TokenColumn).startsWith(QStringLiteral("unknown since ")),
                qPrintable(cell(model, cid, ConnectionsModel::TokenColumn)));
            QVERIFY(
                cell(model, cid, ConnectionsModel::TidColumn).startsWith(QStringLiteral("unknown since ")));
        }
        const int userColumn = claimColumn(model, "user");
        QVERIFY(userColumn >= 0);
        QCOMPARE(cell(model, fleet.nativeCids.first(), userColumn), QStringLiteral("native-0"));
        QCOMPARE(cell(model, fleet.stockCids.first(), userColumn), QStringLiteral("?"));

        // A request the stock gateway sends on behalf of one connection tells its token.
        QTRY_VERIFY(fleet.stock.nats().isConnected());
        fleet.stock.nats().publish("access.example.model",
                                   R"({"cid":")" + fleet.stockCids.first()
                                       + R"(","token":{"user":"alice","role":"admin"}})");
        fleet.stock.nats().flush();
        QTRY_COMPARE(cell(model, fleet.stockCids.first(), userColumn), QStringLiteral("alice"));
        QVERIFY(!cell(model, fleet.stockCids.first(), ConnectionsModel::TokenColumn)
                     .startsWith(QStringLiteral("unknown")));
        QVERIFY(cell(model, fleet.stockCids.last(), ConnectionsModel::TokenColumn)
                    .startsWith(QStringLiteral("unknown since ")));

        // A connection that opens while ResWatch watches has no token until one is seen: empty.
        // (Watching counts from the next whole second: xids have seconds.)
        QTRY_VERIFY_WITH_TIMEOUT(QDateTime::currentMSecsSinceEpoch() >= dashboard.tracker()->observingSince()
                                     && dashboard.tracker()->observingSince() > 0,
                                 5000);
        const QByteArray fresh = fleet.stock.connect();
        dashboard.monitorSource()->pollNow();
        QTRY_VERIFY(connectionRow(model, fresh) >= 0);
        QCOMPARE(cell(model, fresh, ConnectionsModel::TokenColumn), QString());
    }

    void aBadMonitoringUrlSaysWhyAndTheRestWorks()
    {
        MixedFleet fleet;
        QVERIFY2(fleet.start(2, 1), qPrintable(fleet.server.error()));
        // A port nobody listens on.
        QTcpServer probe;
        QVERIFY(probe.listen(QHostAddress::LocalHost));
        const quint16 port = probe.serverPort();
        const QString refused = QStringLiteral("http://127.0.0.1:%1").arg(port);
        probe.close();

        DashboardWidget dashboard;
        dashboard.resize(1400, 900);
        dashboard.show();
        QVERIFY(QTest::qWaitForWindowExposed(&dashboard));
        connectWith(dashboard, fleet.server.url(),
                    QStringLiteral("%1, ftp://example.com, %2").arg(refused, fleet.server.monitorUrl()));

        // The good endpoint and NATS still work.
        QTRY_COMPARE_WITH_TIMEOUT(dashboard.connectionsModel()->rowCount(), 3, 10000);
        QTRY_COMPARE(dashboard.gatewaysView()->table()->model()->rowCount(), 2);

        // Both bad ones are named with their reason, in the bar and in the log.
        const QString host = QStringLiteral("127.0.0.1:%1").arg(port);
        QTRY_VERIFY2(monitorStatus(dashboard).contains(host + QStringLiteral(": ")),
                     qPrintable(monitorStatus(dashboard)));
        const QString status = monitorStatus(dashboard);
        QVERIFY2(status.startsWith(QStringLiteral("1 ok; ")), qPrintable(status));
        QVERIFY2(status.contains(
                     QStringLiteral("ftp://example.com: a monitoring endpoint is http:// or https://")),
                 qPrintable(status));
        const QString tooltip
            = dashboard.connectionBar()->findChild<QLabel *>(QStringLiteral("monitorStatus"))->toolTip();
        QVERIFY2(tooltip.contains(refused) && tooltip.contains(QStringLiteral("error")), qPrintable(tooltip));
        QVERIFY2(tooltip.contains(fleet.server.monitorUrl())
                     && tooltip.contains(QStringLiteral("1 stock gateway")),
                 qPrintable(tooltip));
        QTRY_VERIFY(logMentions(dashboard, QStringLiteral("monitoring ") + refused));
        QVERIFY(logMentions(dashboard, QStringLiteral("ftp://example.com")));

        // Polled again, the same error is not logged again.
        const int lines = int(eventLog(dashboard).size());
        QSignalSpy finished(dashboard.monitorSource(), &MonitorSource::pollFinished);
        dashboard.monitorSource()->pollNow();
        QVERIFY(finished.wait(10000));
        QCOMPARE(int(eventLog(dashboard).size()), lines);

        // Disconnecting stops monitoring too.
        QPushButton *button = nullptr;
        for (QPushButton *b : dashboard.connectionBar()->findChildren<QPushButton *>())
            if (b->text() == QStringLiteral("Disconnect"))
                button = b;
        QVERIFY(button);
        button->click();
        QVERIFY(!dashboard.monitorSource());
    }

    void monitorUrlsAreRememberedWithoutCredentials()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("settings.ini"));
        {
            DashboardWidget dashboard;
            dashboard.setMonitorUrls({ QStringLiteral("http://node-a:8222"),
                                       QStringLiteral("nats://sys:secret-password@node-b:4222") });
            dashboard.connectionBar()
                ->findChild<QCheckBox *>(QStringLiteral("systemAccount"))
                ->setChecked(true);
            QSettings settings(path, QSettings::IniFormat);
            dashboard.saveState(settings);
        }
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        QVERIFY(!file.readAll().contains("secret-password"));

        DashboardWidget restored;
        QCOMPARE(restored.monitorUrls(), QStringList());
        QSettings settings(path, QSettings::IniFormat);
        restored.restoreState(settings);
        QCOMPARE(restored.monitorUrls(),
                 QStringList({ QStringLiteral("http://node-a:8222"), QStringLiteral("nats://node-b:4222") }));
        QVERIFY(restored.connectionBar()->useSystemAccount());
    }

    void rendersAMixedFleet()
    {
        MixedFleet fleet;
        QVERIFY2(fleet.start(12, 6), qPrintable(fleet.server.error()));
        FakeStockGateway secondStock;
        QVERIFY(secondStock.open(fleet.server.url(), {}));
        for (int i = 0; i < 4; ++i)
            secondStock.connect();
        DashboardWidget dashboard;
        dashboard.resize(1400, 900);
        dashboard.show();
        QVERIFY(QTest::qWaitForWindowExposed(&dashboard));
        connectWith(dashboard, fleet.server.url(), fleet.server.monitorUrl());
        QTRY_COMPARE_WITH_TIMEOUT(dashboard.connectionsModel()->rowCount(), 22, 10000);
        QTRY_VERIFY(monitorStatus(dashboard).contains(QStringLiteral(" ok: ")));
        fleet.stock.nats().publish(
            "auth.example.login",
            R"({"cid":")" + fleet.stockCids.first()
                + R"(","token":{"user":"alice","role":"admin"},"remoteAddr":"10.1.2.3:51000","host":"app.example.com"})");
        fleet.stock.nats().flush();
        QTRY_COMPARE(cell(dashboard.connectionsModel(), fleet.stockCids.first(),
                          claimColumn(dashboard.connectionsModel(), "user")),
                     QStringLiteral("alice"));
        // The details of a connection whose token is unknown, and the log of what monitoring found.
        dashboard.connectionsView()->table()->selectRow(
            connectionRow(dashboard.connectionsModel(), fleet.stockCids.last()));
        dashboard.findChild<QTabWidget *>()->setCurrentWidget(dashboard.eventLogView());
        // Gateways found after connecting are not elided: the panel sized its columns to them.
        QTableView *gatewaysTable = dashboard.gatewaysView()->table();
        const QAbstractItemView *asView = gatewaysTable; // sizeHintForColumn() is public there
        for (int column : { int(GatewaysModel::GidColumn), int(GatewaysModel::SourceColumn) })
            QTRY_VERIFY(gatewaysTable->columnWidth(column) >= asView->sizeHintForColumn(column));
        QCoreApplication::sendPostedEvents();
        QCoreApplication::processEvents();
        const QImage image = dashboard.grab().toImage();
        const QString path
            = QDir(QStringLiteral(RESWATCH_BINARY_DIR)).filePath(QStringLiteral("passive-dashboard.png"));
        QVERIFY(image.save(path));
        qInfo("window rendered to %s", qPrintable(path));
    }
};

QTEST_MAIN(TestPassiveDashboard)
#include "tst_passivedashboard.moc"
