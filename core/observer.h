#pragma once

#include "reswatchcore_export.h"

#include <QObject>

#include <memory>

namespace ResWatch {

class NatsConnection;
class Tracker;

/**
 * Watches the requests stock gateways send (`access.>`, `call.>`, `auth.>`) to
 * learn the tokens and addresses of their connections (SPEC section 4), and
 * hands them to Tracker::handleObservedRequests().
 *
 * A plain subscriber: never in a queue group (it would take requests away from
 * the services) and never replying, so a fleet behaves exactly the same with
 * ResWatch watching.
 *
 * Token events (`conn.*.token`) reach the tracker through LiveTracker, which
 * subscribes `conn.>`; set Options::tokenEvents when no LiveTracker runs.
 */
class RESWATCH_CORE_EXPORT Observer : public QObject
{
    Q_OBJECT
public:
    struct Options
    {
        bool tokenEvents = false; ///< also subscribe `conn.*.token` and feed Tracker::handleEvents()
    };

    /// Neither is owned; both must outlive this object. Subscribes at once (or once connected).
    Observer(NatsConnection *connection, Tracker *tracker, const Options &options, QObject *parent = nullptr);
    Observer(NatsConnection *connection, Tracker *tracker, QObject *parent = nullptr);
    ~Observer() override;

    /// Whether every subscription is in place.
    bool isObserving() const;
    /// Requests seen so far.
    quint64 requestsSeen() const;

Q_SIGNALS:
    void observingChanged(bool observing);

private:
    class Private;
    std::unique_ptr<Private> d;
};

} // namespace ResWatch
