#pragma once

#include <QMainWindow>

namespace ResWatch {
class DashboardWidget;
struct NatsOptions;
} // namespace ResWatch

/// The `reswatch` window: the dashboard, its menus, and remembered geometry and layout.
class MainWindow : public QMainWindow
{
    Q_OBJECT
public:
    explicit MainWindow(QWidget *parent = nullptr);
    ~MainWindow() override;

    ResWatch::DashboardWidget *dashboard() const { return m_dashboard; }
    /// Connects at once (the demo, or --nats on the command line).
    void connectTo(const ResWatch::NatsOptions &options);

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void createMenus();
    ResWatch::DashboardWidget *m_dashboard = nullptr;
};
