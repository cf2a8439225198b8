#pragma once

#include "reswatchwidgets_export.h"

#include <QWidget>

#include <memory>

namespace ResWatch {

class TestClient;
struct TestClientSettings;

/**
 * Drives the built-in test WebSocket client: gateway URLs, count, rate, auth
 * template and role mix, churn, start and stop, and live statistics. The
 * connections it opens reach the dashboard through the gateways' events, as
 * any client's would.
 */
class RESWATCH_WIDGETS_EXPORT TestClientPanel : public QWidget
{
    Q_OBJECT
public:
    explicit TestClientPanel(QWidget *parent = nullptr);
    ~TestClientPanel() override;

    TestClient *client() const;
    /// The settings as entered; false with @p error when a field does not parse.
    bool readSettings(TestClientSettings *settings, QString *error) const;
    void setSettings(const TestClientSettings &settings);

public Q_SLOTS:
    /// Starts with the entered settings; false with @p error (also shown in the panel).
    bool start(QString *error = nullptr);
    void stop();

private:
    void showStats();

    class Private;
    std::unique_ptr<Private> d;
};

} // namespace ResWatch
