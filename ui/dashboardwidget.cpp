#include "dashboardwidget.h"

#include "chartsview.h"
#include "closedconnectionsmodel.h"
#include "connectionbar.h"
#include "connectionfilter.h"
#include "connectionsmodel.h"
#include "connectionsview.h"
#include "csvexportjob.h"
#include "eventlogmodel.h"
#include "eventlogview.h"
#include "filterbar.h"
#include "gatewaysmodel.h"
#include "gatewaysview.h"
#include "livetracker.h"
#include "monitorsource.h"
#include "natsconnection.h"
#include "observer.h"
#include "testclientpanel.h"
#include "tracker.h"

#include <QAction>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QMessageBox>
#include <QProgressDialog>
#include <QSettings>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QToolButton>
#include <QUrl>
#include <QVBoxLayout>

namespace ResWatch {

namespace {

/// "1 stock gateway, 2 connections" (tr()'s plural forms need a translation loaded to drop "(s)").
QString fleetCounts(int gateways, int connections)
{
    return (gateways == 1 ? QObject::tr("1 stock gateway") : QObject::tr("%1 stock gateways").arg(gateways))
        + QStringLiteral(", ")
        + (connections == 1 ? QObject::tr("1 connection") : QObject::tr("%1 connections").arg(connections));
}

} // namespace

class DashboardWidget::Private
{
public:
    // Declared in dependency order, so destroyed in the reverse one: models, then
    // the live tracker, then the tracker and the connection (owned only when the
    // host passed no tracker).
    std::unique_ptr<NatsConnection> ownedConnection;
    std::unique_ptr<Tracker> ownedTracker;
    std::unique_ptr<LiveTracker> liveTracker;
    // Passive tracking of stock gateways, rebuilt on each connectTo(); the system-account
    // connections outlive the source that reads through them.
    std::vector<std::unique_ptr<NatsConnection>> systemConnections;
    std::unique_ptr<Observer> observer;
    std::unique_ptr<MonitorSource> monitor;
    QVector<MonitorSource::Status> rejectedEndpoints; // entered, but unusable: shown as errors
    QHash<QString, QString> loggedMonitorErrors;
    Tracker *tracker = nullptr;
    std::unique_ptr<ConnectionsModel> connectionsModel;
    std::unique_ptr<GatewaysModel> gatewaysModel;
    std::unique_ptr<ClosedConnectionsModel> closedModel;
    std::unique_ptr<EventLogModel> eventLog;

    ConnectionBar *connectionBar = nullptr;
    FilterBar *filterBar = nullptr;
    GatewaysView *gatewaysView = nullptr;
    ConnectionsView *connectionsView = nullptr;
    ChartsView *chartsView = nullptr;
    EventLogView *eventLogView = nullptr;
    TestClientPanel *testClientPanel = nullptr;
    QTableView *closedView = nullptr;
    QSplitter *mainSplitter = nullptr;
    QSplitter *topSplitter = nullptr;
    QTabWidget *tabs = nullptr;
    QLabel *pauseLabel = nullptr;

    QAction *pauseAction = nullptr;
    QAction *exportAction = nullptr;
    QAction *findAction = nullptr;
    ConnectionFilter filter;
};

DashboardWidget::DashboardWidget(QWidget *parent) : QWidget(parent), d(std::make_unique<Private>())
{
    d->ownedConnection = std::make_unique<NatsConnection>();
    d->ownedTracker = std::make_unique<Tracker>();
    d->tracker = d->ownedTracker.get();
    d->liveTracker = std::make_unique<LiveTracker>(d->ownedConnection.get(), d->tracker);
    build(true);
}

DashboardWidget::DashboardWidget(Tracker *tracker, QWidget *parent)
    : QWidget(parent), d(std::make_unique<Private>())
{
    d->tracker = tracker;
    build(false);
}

DashboardWidget::~DashboardWidget()
{
    // The views read the models and the tracker: they go first.
    qDeleteAll(findChildren<QWidget *>(QString(), Qt::FindDirectChildrenOnly));
}

void DashboardWidget::build(bool ownsConnection)
{
    d->connectionsModel = std::make_unique<ConnectionsModel>(d->tracker);
    d->gatewaysModel = std::make_unique<GatewaysModel>(d->tracker);
    d->closedModel = std::make_unique<ClosedConnectionsModel>(d->tracker);
    d->eventLog = std::make_unique<EventLogModel>();
    d->eventLog->setTracker(d->tracker);

    d->connectionBar = new ConnectionBar(this);
    d->connectionBar->setVisible(ownsConnection);
    if (ownsConnection) {
        d->connectionBar->setConnection(d->ownedConnection.get());
        connect(d->connectionBar, &ConnectionBar::connectRequested, this, &DashboardWidget::connectTo);
        connect(d->connectionBar, &ConnectionBar::disconnectRequested, this,
                &DashboardWidget::disconnectFromNats);
        NatsConnection *connection = d->ownedConnection.get();
        connect(connection, &NatsConnection::errorOccurred, this, [this](const QString &error) {
            d->eventLog->append(EventLogModel::Kind::Error, tr("NATS: %1").arg(error));
        });
        connect(connection, &NatsConnection::connected, this, [this, connection] {
            d->eventLog->append(EventLogModel::Kind::Info,
                                tr("connected to %1").arg(connection->connectedUrl()));
        });
        connect(connection, &NatsConnection::disconnected, this, [this] {
            d->eventLog->append(EventLogModel::Kind::Error, tr("disconnected from NATS; reconnecting"));
        });
        connect(connection, &NatsConnection::reconnected, this, [this, connection] {
            d->eventLog->append(
                EventLogModel::Kind::Info,
                tr("reconnected to %1; polling the gateways").arg(connection->connectedUrl()));
        });
    }

    d->filterBar = new FilterBar(this);
    connect(d->filterBar, &FilterBar::filterChanged, this,
            [this](const ConnectionFilter &filter) { d->connectionsModel->setFilter(filter); });
    connect(d->connectionsModel.get(), &ConnectionsModel::countsChanged, d->filterBar, &FilterBar::setCounts);
    connect(d->connectionsModel.get(), &ConnectionsModel::filteringChanged, d->filterBar,
            &FilterBar::setBusy);

    d->pauseAction = new QAction(tr("Pause"), this);
    d->pauseAction->setCheckable(true);
    d->pauseAction->setShortcut(Qt::CTRL | Qt::Key_P);
    d->pauseAction->setToolTip(tr("Freeze the views while tracking goes on (Ctrl+P)"));
    connect(d->pauseAction, &QAction::toggled, this, &DashboardWidget::setPaused);
    d->exportAction = new QAction(tr("Export CSV…"), this);
    d->exportAction->setShortcut(Qt::CTRL | Qt::Key_E);
    d->exportAction->setToolTip(tr("Export all, filtered or selected connections as CSV (Ctrl+E)"));
    connect(d->exportAction, &QAction::triggered, this, &DashboardWidget::exportCsv);
    d->findAction = new QAction(tr("Filter connections"), this);
    d->findAction->setShortcut(QKeySequence::Find);
    connect(d->findAction, &QAction::triggered, d->filterBar, &FilterBar::focusInput);
    addActions({ d->pauseAction, d->exportAction, d->findAction });
    for (QAction *action : { d->pauseAction, d->exportAction, d->findAction })
        action->setShortcutContext(Qt::WidgetWithChildrenShortcut);

    auto *pauseButton = new QToolButton(this);
    pauseButton->setDefaultAction(d->pauseAction);
    pauseButton->setToolButtonStyle(Qt::ToolButtonTextOnly);
    auto *exportButton = new QToolButton(this);
    exportButton->setDefaultAction(d->exportAction);
    d->pauseLabel = new QLabel(this);
    d->pauseLabel->setStyleSheet(QStringLiteral("color:#b26a00; font-weight:bold;"));
    d->pauseLabel->hide();
    connect(d->connectionsModel.get(), &ConnectionsModel::pendingChanged, this,
            &DashboardWidget::updatePauseLabel);

    d->gatewaysView = new GatewaysView(d->gatewaysModel.get(), this);
    connect(d->gatewaysView, &GatewaysView::selectedGatewaysChanged, this,
            [this](const QSet<quint32> &gateways) { d->connectionsModel->setGatewayFilter(gateways); });
    d->connectionsView = new ConnectionsView(d->connectionsModel.get(), this);
    d->chartsView = new ChartsView(d->tracker, this);
    d->eventLogView = new EventLogView(d->eventLog.get(), this);
    d->closedView = new QTableView(this);
    d->closedView->setModel(d->closedModel.get());
    d->closedView->verticalHeader()->hide();
    d->closedView->setSelectionBehavior(QAbstractItemView::SelectRows);
    d->closedView->horizontalHeader()->setStretchLastSection(true);
    d->closedView->setWordWrap(false);

    auto *connectionsPane = new QWidget(this);
    auto *toolbar = new QHBoxLayout;
    toolbar->addWidget(d->filterBar, 1);
    toolbar->addWidget(d->pauseLabel);
    toolbar->addWidget(pauseButton);
    toolbar->addWidget(exportButton);
    auto *connectionsLayout = new QVBoxLayout(connectionsPane);
    connectionsLayout->setContentsMargins(0, 0, 0, 0);
    connectionsLayout->addLayout(toolbar);
    connectionsLayout->addWidget(d->connectionsView);

    d->topSplitter = new QSplitter(Qt::Horizontal, this);
    d->topSplitter->addWidget(d->gatewaysView);
    d->topSplitter->addWidget(connectionsPane);
    d->topSplitter->setStretchFactor(0, 1);
    d->topSplitter->setStretchFactor(1, 3);
    d->topSplitter->setSizes({ 380, 1000 });

    d->tabs = new QTabWidget(this);
    d->tabs->addTab(d->chartsView, tr("Charts"));
    d->tabs->addTab(d->eventLogView, tr("Event log"));
    d->tabs->addTab(d->closedView, tr("Closed connections"));
    d->testClientPanel = new TestClientPanel(this);
    d->tabs->addTab(d->testClientPanel, tr("Test client"));

    d->mainSplitter = new QSplitter(Qt::Vertical, this);
    d->mainSplitter->addWidget(d->topSplitter);
    d->mainSplitter->addWidget(d->tabs);
    d->mainSplitter->setStretchFactor(0, 3);
    d->mainSplitter->setStretchFactor(1, 2);
    d->mainSplitter->setSizes({ 560, 340 });

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->addWidget(d->connectionBar);
    layout->addWidget(d->mainSplitter, 1);
}

Tracker *DashboardWidget::tracker() const
{
    return d->tracker;
}
NatsConnection *DashboardWidget::connection() const
{
    return d->ownedConnection.get();
}
ConnectionsModel *DashboardWidget::connectionsModel() const
{
    return d->connectionsModel.get();
}
MonitorSource *DashboardWidget::monitorSource() const
{
    return d->monitor.get();
}
void DashboardWidget::setMonitorUrls(const QStringList &urls)
{
    d->connectionBar->setMonitorUrls(urls);
}
QStringList DashboardWidget::monitorUrls() const
{
    return d->connectionBar->monitorUrls();
}
ConnectionBar *DashboardWidget::connectionBar() const
{
    return d->connectionBar;
}
FilterBar *DashboardWidget::filterBar() const
{
    return d->filterBar;
}
GatewaysView *DashboardWidget::gatewaysView() const
{
    return d->gatewaysView;
}
ConnectionsView *DashboardWidget::connectionsView() const
{
    return d->connectionsView;
}
ChartsView *DashboardWidget::chartsView() const
{
    return d->chartsView;
}
EventLogView *DashboardWidget::eventLogView() const
{
    return d->eventLogView;
}
TestClientPanel *DashboardWidget::testClientPanel() const
{
    return d->testClientPanel;
}
QAction *DashboardWidget::pauseAction() const
{
    return d->pauseAction;
}
QAction *DashboardWidget::exportAction() const
{
    return d->exportAction;
}
QAction *DashboardWidget::findAction() const
{
    return d->findAction;
}
bool DashboardWidget::isPaused() const
{
    return d->connectionsModel->isPaused();
}

void DashboardWidget::saveState(QSettings &settings) const
{
    settings.beginGroup(QStringLiteral("dashboard"));
    settings.setValue(QStringLiteral("urls"), d->connectionBar->options().urls);
    QStringList monitors;
    for (const QString &text : d->connectionBar->monitorUrls()) {
        QUrl url = QUrl::fromUserInput(text);
        if (url.userInfo().isEmpty()) {
            monitors << text;
        } else {
            url.setUserInfo({}); // a system account's password must not land in a settings file
            monitors << url.toString();
        }
    }
    settings.setValue(QStringLiteral("monitorUrls"), monitors);
    settings.setValue(QStringLiteral("monitorSystemAccount"), d->connectionBar->useSystemAccount());
    settings.setValue(QStringLiteral("recentFilters"), d->filterBar->recentFilters());
    settings.setValue(QStringLiteral("connectionsColumns"), d->connectionsView->saveLayout());
    settings.setValue(QStringLiteral("mainSplitter"), d->mainSplitter->saveState());
    settings.setValue(QStringLiteral("topSplitter"), d->topSplitter->saveState());
    settings.setValue(QStringLiteral("chartWindowSeconds"), d->chartsView->windowSeconds());
    settings.endGroup();
}

void DashboardWidget::restoreState(QSettings &settings)
{
    settings.beginGroup(QStringLiteral("dashboard"));
    const QStringList urls = settings.value(QStringLiteral("urls")).toStringList();
    if (!urls.isEmpty() && qEnvironmentVariableIsEmpty("NATS_URL")) {
        NatsOptions options = d->connectionBar->options();
        options.urls = urls;
        d->connectionBar->setOptions(options);
    }
    if (settings.contains(QStringLiteral("monitorUrls")))
        d->connectionBar->setMonitorUrls(settings.value(QStringLiteral("monitorUrls")).toStringList());
    d->connectionBar->setUseSystemAccount(settings.value(QStringLiteral("monitorSystemAccount")).toBool());
    d->filterBar->setRecentFilters(settings.value(QStringLiteral("recentFilters")).toStringList());
    d->connectionsView->restoreLayout(settings.value(QStringLiteral("connectionsColumns")).toByteArray());
    d->mainSplitter->restoreState(settings.value(QStringLiteral("mainSplitter")).toByteArray());
    d->topSplitter->restoreState(settings.value(QStringLiteral("topSplitter")).toByteArray());
    d->chartsView->setWindowSeconds(settings.value(QStringLiteral("chartWindowSeconds"), 300).toInt());
    settings.endGroup();
}

void DashboardWidget::connectTo(const NatsOptions &options)
{
    if (!d->ownedConnection)
        return;
    d->connectionBar->setOptions(options);
    stopMonitoring();
    d->ownedConnection->close();
    d->tracker->clear();
    if (!d->ownedConnection->open(options)) {
        d->eventLog->append(EventLogModel::Kind::Error, d->ownedConnection->lastError());
        Q_EMIT statusMessage(d->ownedConnection->lastError());
    }
    // Monitoring does not need NATS: a stock-only fleet is seen even when NATS is unreachable.
    startMonitoring();
}

void DashboardWidget::disconnectFromNats()
{
    if (!d->ownedConnection)
        return;
    stopMonitoring();
    d->ownedConnection->close();
}

void DashboardWidget::stopMonitoring()
{
    d->monitor.reset();
    d->observer.reset();
    d->systemConnections.clear();
    d->rejectedEndpoints.clear();
    d->loggedMonitorErrors.clear();
    showMonitorStatuses();
}

void DashboardWidget::startMonitoring()
{
    const QStringList urls = d->connectionBar->monitorUrls();
    const bool useSystemAccount = d->connectionBar->useSystemAccount();
    if (urls.isEmpty() && !useSystemAccount)
        return;
    d->monitor = std::make_unique<MonitorSource>(d->tracker);
    auto reject = [this](const QString &scope, const QString &error) {
        MonitorSource::Status status;
        status.scope = scope;
        status.state = MonitorSource::State::Error;
        status.error = error;
        d->rejectedEndpoints << status;
        d->eventLog->append(EventLogModel::Kind::Error, tr("monitoring %1: %2").arg(scope, error));
    };
    for (const QString &text : urls) {
        const QUrl url = QUrl::fromUserInput(text);
        if (url.scheme() == QLatin1String("nats") || url.scheme() == QLatin1String("tls")) {
            // Its own connection: the system account's credentials are in the URL.
            NatsOptions options = d->connectionBar->options();
            QUrl server = url;
            server.setUserInfo({});
            options.urls = { server.toString() };
            options.name = QStringLiteral("reswatch-monitor");
            options.user = url.userName();
            options.password = url.password();
            options.token.clear();
            options.credentialsFile.clear();
            auto connection = std::make_unique<NatsConnection>();
            if (!connection->open(options)) {
                reject(server.toString(), connection->lastError());
                continue;
            }
            d->monitor->addSystemEndpoint(connection.get());
            d->systemConnections.push_back(std::move(connection));
            continue;
        }
        QString error;
        if (d->monitor->addEndpoint(url, &error).isEmpty())
            reject(text, error.section(QStringLiteral(": "), 1)); // without the URL it starts with
    }
    if (useSystemAccount)
        d->monitor->addSystemEndpoint(d->ownedConnection.get());
    // Stock gateways send no token events of their own: their requests tell the tokens.
    d->observer = std::make_unique<Observer>(d->ownedConnection.get(), d->tracker);

    connect(d->monitor.get(), &MonitorSource::statusChanged, this, [this](const MonitorSource::Status &s) {
        showMonitorStatuses();
        // Log what changed, not every poll: scope -> the error last logged ("" once read fine).
        const auto logged = d->loggedMonitorErrors.constFind(s.scope);
        const bool known = logged != d->loggedMonitorErrors.cend();
        if (s.state == MonitorSource::State::Error && (!known || *logged != s.error)) {
            d->eventLog->append(
                EventLogModel::Kind::Error,
                tr("monitoring %1: %2%3")
                    .arg(s.scope, s.error,
                         s.stale ? tr(" (its gateways show the last good read)") : QString()));
            d->loggedMonitorErrors.insert(s.scope, s.error);
        } else if (s.state == MonitorSource::State::Ok && (!known || !logged->isEmpty())) {
            d->eventLog->append(
                EventLogModel::Kind::Info,
                known ? tr("monitoring %1: readable again").arg(s.scope)
                      : tr("monitoring %1: %2").arg(s.scope, fleetCounts(s.gateways, s.connections)));
            d->loggedMonitorErrors.insert(s.scope, QString());
        }
    });
    d->monitor->start();
    showMonitorStatuses();
}

void DashboardWidget::showMonitorStatuses()
{
    QVector<MonitorSource::Status> statuses = d->rejectedEndpoints;
    if (d->monitor)
        statuses += d->monitor->statuses();
    d->connectionBar->setMonitorStatuses(statuses);
}

void DashboardWidget::setPaused(bool paused)
{
    if (d->pauseAction->isChecked() != paused)
        d->pauseAction->setChecked(paused); // re-enters through toggled()
    d->connectionsModel->setPaused(paused);
    d->pauseAction->setText(paused ? tr("Resume") : tr("Pause"));
    updatePauseLabel();
}

void DashboardWidget::updatePauseLabel()
{
    const bool paused = d->connectionsModel->isPaused();
    d->pauseLabel->setVisible(paused);
    if (paused)
        d->pauseLabel->setText(tr("paused: +%1 new / −%2 gone since paused")
                                   .arg(d->connectionsModel->pendingAdded())
                                   .arg(d->connectionsModel->pendingRemoved()));
}

void DashboardWidget::exportCsv()
{
    const QStringList scopes { tr("All connections"), tr("Connections the filter shows"),
                               tr("Selected rows") };
    const bool filtered
        = !d->filterBar->text().trimmed().isEmpty() || !d->gatewaysView->selectedGateways().isEmpty();
    bool ok = false;
    const QString scope
        = QInputDialog::getItem(this, tr("Export CSV"), tr("Export:"), scopes, filtered ? 1 : 0, false, &ok);
    if (!ok)
        return;
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export CSV"), QStringLiteral("reswatch-connections.csv"), tr("CSV files (*.csv)"));
    if (!path.isEmpty())
        exportCsvTo(path, ExportScope(scopes.indexOf(scope)));
}

void DashboardWidget::exportCsvTo(const QString &path, ExportScope scope)
{
    QVector<quint32> rows; // empty: every connection
    if (scope == ExportScope::Filtered) {
        rows.reserve(d->connectionsModel->rowCount());
        for (int row = 0; row < d->connectionsModel->rowCount(); ++row)
            rows.append(quint32(d->connectionsModel->slotAt(row)));
    } else if (scope == ExportScope::Selected) {
        rows = d->connectionsView->selectedSlots();
    }
    if (scope != ExportScope::All && rows.isEmpty()) {
        const QString message = tr("Nothing to export: no connection is %1.")
                                    .arg(scope == ExportScope::Selected ? tr("selected") : tr("shown"));
        Q_EMIT statusMessage(message);
        Q_EMIT exportFinished(false, message);
        return;
    }

    auto *job = new CsvExportJob(*d->tracker, rows, path, this);
    job->start();
    // Large exports take a second or more: show progress, allow cancel. Not modal: tracking goes on.
    QProgressDialog *dialog = nullptr;
    if (job->rowCount() > 50000) {
        dialog = new QProgressDialog(tr("Exporting %n connection(s)…", nullptr, int(job->rowCount())),
                                     tr("Cancel"), 0, 100, this);
        dialog->setWindowTitle(tr("Export CSV"));
        dialog->setMinimumDuration(300);
        connect(dialog, &QProgressDialog::canceled, job, &CsvExportJob::cancel);
        connect(job, &CsvExportJob::progress, dialog, [dialog](qint64 done, qint64 total) {
            dialog->setValue(total > 0 ? int(done * 100 / total) : 0);
        });
    }
    connect(job, &CsvExportJob::finished, this, [this, job, dialog](bool success, const QString &error) {
        if (dialog)
            dialog->deleteLater();
        const QString message = success
            ? tr("Exported %n connection(s) to %1", nullptr, int(job->rowCount())).arg(job->path())
            : error;
        if (!success) {
            d->eventLog->append(EventLogModel::Kind::Error, message);
            QMessageBox::warning(this, tr("Export failed"),
                                 tr("%1\n\nChoose another file or folder and export again.").arg(message));
        }
        Q_EMIT statusMessage(message);
        Q_EMIT exportFinished(success, message);
        job->deleteLater();
    });
}

} // namespace ResWatch
