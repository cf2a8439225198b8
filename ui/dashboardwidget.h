#pragma once

#include "reswatchwidgets_export.h"

#include <QWidget>

#include <memory>

class QAction;
class QSettings;

namespace ResWatch {

class ChartsView;
class ConnectionBar;
class ConnectionsModel;
class ConnectionsView;
class EventLogView;
class FilterBar;
class GatewaysView;
class MonitorSource;
class NatsConnection;
struct NatsOptions;
class TestClientPanel;
class Tracker;

/**
 * The whole ResWatch dashboard in one widget: connection bar, gateways panel,
 * filter bar, connections table with details, charts, event log and closed
 * connections, with pause and CSV export.
 *
 * Constructed with just a parent it owns its NATS connection and tracker,
 * configured from NATS_URL (see connectTo()), and tracks native gateways (events
 * and polls) and stock ones (nats-server monitoring, see setMonitorUrls()) side by
 * side; constructed with a tracker, it shows that tracker and leaves connecting
 * and monitoring to the host. It reaches for no
 * globals: settings are loaded and saved only through saveState() and
 * restoreState(). The parts are public widgets and work on their own too.
 */
class RESWATCH_WIDGETS_EXPORT DashboardWidget : public QWidget
{
    Q_OBJECT
public:
    enum class ExportScope { All, Filtered, Selected };
    Q_ENUM(ExportScope)

    explicit DashboardWidget(QWidget *parent = nullptr);
    /// Shows @p tracker (not owned); the connection bar is hidden.
    explicit DashboardWidget(Tracker *tracker, QWidget *parent = nullptr);
    ~DashboardWidget() override;

    Tracker *tracker() const;
    /// The NATS connection the widget owns, or nullptr when the host passed a tracker.
    NatsConnection *connection() const;
    ConnectionsModel *connectionsModel() const;
    /// The source of stock gateways while monitoring runs (after connectTo() with monitoring
    /// URLs or the system account), else nullptr.
    MonitorSource *monitorSource() const;

    /// The monitoring endpoints connectTo() reads (as in the connection bar): http://host:8222, or
    /// nats://user:password@host:4222 with system-account credentials. Empty: native gateways only.
    void setMonitorUrls(const QStringList &urls);
    QStringList monitorUrls() const;

    ConnectionBar *connectionBar() const;
    FilterBar *filterBar() const;
    GatewaysView *gatewaysView() const;
    ConnectionsView *connectionsView() const;
    ChartsView *chartsView() const;
    EventLogView *eventLogView() const;
    TestClientPanel *testClientPanel() const;

    /// Column layout, splitters, recent filters and the last URLs (NATS and monitoring, without
    /// their user info); never passwords or tokens.
    void saveState(QSettings &settings) const;
    void restoreState(QSettings &settings);

    bool isPaused() const;

    /// Actions for the host's menus and toolbars, with their shortcuts (Ctrl+P, Ctrl+E, Ctrl+F).
    QAction *pauseAction() const;
    QAction *exportAction() const;
    QAction *findAction() const;

public Q_SLOTS:
    /// Connects the owned connection and starts monitoring the endpoints of the connection bar
    /// (no-op when the host passed a tracker).
    void connectTo(const ResWatch::NatsOptions &options);
    void disconnectFromNats();
    void setPaused(bool paused);
    /// Asks what to export and where, then exports (Ctrl+E).
    void exportCsv();
    /**
     * Exports without asking, in the background (a progress dialog shows for
     * large exports); exportFinished() tells the outcome, and a failure is also
     * shown to the user.
     */
    void exportCsvTo(const QString &path, ResWatch::DashboardWidget::ExportScope scope);

Q_SIGNALS:
    void statusMessage(const QString &text);
    void exportFinished(bool success, const QString &message);

private:
    void build(bool ownsConnection);
    void startMonitoring();
    void stopMonitoring();
    void showMonitorStatuses();
    void updatePauseLabel();

    class Private;
    std::unique_ptr<Private> d;
};

} // namespace ResWatch
