#pragma once

#include "reswatchcore_export.h"

#include <QObject>

#include <memory>

namespace ResWatch {

class NatsConnection;
class Tracker;

/**
 * Runs a Tracker on a live NATS connection: subscribes to the events, polls
 * system.connections on the interval and at once after every (re)connect, and
 * applies the time-based rules.
 */
class RESWATCH_CORE_EXPORT LiveTracker : public QObject
{
    Q_OBJECT
public:
    /// Neither is owned; both must outlive this object.
    LiveTracker(NatsConnection *connection, Tracker *tracker, QObject *parent = nullptr);
    ~LiveTracker() override;

    Tracker *tracker() const;
    NatsConnection *connection() const;
    /// Quiet window and maximum wait for collecting poll replies.
    void setPollWindow(int quietMs, int maxWaitMs);

public Q_SLOTS:
    void pollNow();

Q_SIGNALS:
    void pollFinished();

private:
    class Private;
    std::unique_ptr<Private> d;
};

} // namespace ResWatch
