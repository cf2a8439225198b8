#pragma once

#include "monitorsource.h"
#include "natsconnection.h"
#include "reswatchwidgets_export.h"

#include <QWidget>

#include <memory>

namespace ResWatch {

/**
 * Where to connect (NATS URLs and credentials), where stock gateways are seen
 * (nats-server monitoring URLs, or the system account on the NATS connection),
 * connect/disconnect, and the live status of the connection and of each
 * monitoring endpoint. Passwords and tokens stay in memory only: options()
 * carries them, settings never do.
 */
class RESWATCH_WIDGETS_EXPORT ConnectionBar : public QWidget
{
    Q_OBJECT
public:
    explicit ConnectionBar(QWidget *parent = nullptr);
    ~ConnectionBar() override;

    /// The options as entered (URLs split on commas and spaces).
    NatsOptions options() const;
    /// Fills the fields from @p options (secrets included, never persisted).
    void setOptions(const NatsOptions &options);

    /// The monitoring endpoints as entered (split on commas and spaces): http://host:8222, or
    /// nats://user:password@host:4222 with system-account credentials.
    QStringList monitorUrls() const;
    void setMonitorUrls(const QStringList &urls);
    /// Whether the NATS connection itself asks $SYS for every server's connz (it needs
    /// system-account credentials).
    bool useSystemAccount() const;
    void setUseSystemAccount(bool use);

    /// Shows the endpoints' states: a summary next to the NATS status, one tooltip line each.
    void setMonitorStatuses(const QVector<ResWatch::MonitorSource::Status> &statuses);
    /// The summary shown (for tests and status bars).
    QString monitorStatusText() const;

public Q_SLOTS:
    /// Follows @p connection's status and errors; nullptr detaches.
    void setConnection(ResWatch::NatsConnection *connection);

Q_SIGNALS:
    void connectRequested(const ResWatch::NatsOptions &options);
    void disconnectRequested();

private:
    void showStatus(NatsConnection::Status status, const QString &error = {});
    void editCredentials();

    class Private;
    std::unique_ptr<Private> d;
};

} // namespace ResWatch
