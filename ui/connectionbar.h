#pragma once

#include "natsconnection.h"
#include "reswatchwidgets_export.h"

#include <QWidget>

#include <memory>

namespace ResWatch {

/**
 * Where to connect (NATS URLs and credentials), connect/disconnect, and the
 * live status of the connection. Passwords and tokens stay in memory only:
 * options() carries them, settings never do.
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
