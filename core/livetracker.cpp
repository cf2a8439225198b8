#include "livetracker.h"

#include "natsconnection.h"
#include "tracker.h"

#include <QLoggingCategory>
#include <QPointer>
#include <QTimer>

#include <algorithm>

namespace ResWatch {

Q_DECLARE_LOGGING_CATEGORY(lcTracker)

namespace {
// `conn.>` rather than `conn.*.*`: a cid that is not one subject token must be
// seen to be rejected and counted.
const QByteArray EventSubjects[]
    = { QByteArrayLiteral("conn.>"), QByteArrayLiteral("system.start"), QByteArrayLiteral("system.stop") };
const QByteArray PollSubject = QByteArrayLiteral("system.connections");
constexpr int MaxExpireIntervalMs = 1000;
constexpr int MinExpireIntervalMs = 50;
} // namespace

class LiveTracker::Private
{
public:
    Private(LiveTracker *q, NatsConnection *connection, Tracker *tracker)
        : q(q), connection(connection), tracker(tracker)
    { }

    void subscribe();
    void dropSubscriptions();
    void onRequestFinished(const QList<NatsMessage> &replies);

    LiveTracker *q;
    NatsConnection *connection;
    Tracker *tracker;
    QList<QPointer<NatsSubscription>> subscriptions;
    QPointer<NatsRequest> request; ///< the poll in flight
    int quietMs = 250;
    int maxWaitMs = 2000;
    QTimer pollTimer;
    QTimer expireTimer;
};

void LiveTracker::Private::subscribe()
{
    subscriptions.removeAll(nullptr);
    if (!subscriptions.isEmpty())
        return;
    for (const QByteArray &subject : EventSubjects) {
        NatsSubscription *subscription = connection->subscribe(subject);
        if (!subscription) {
            // Not connected yet: connected() subscribes again.
            qCDebug(lcTracker) << "cannot subscribe to" << subject << "yet:" << connection->lastError();
            dropSubscriptions();
            return;
        }
        QObject::connect(subscription, &NatsSubscription::received, q,
                         [this](const QList<NatsMessage> &messages) { tracker->handleEvents(messages); });
        subscriptions.append(subscription);
    }
}

void LiveTracker::Private::dropSubscriptions()
{
    for (const QPointer<NatsSubscription> &subscription : std::as_const(subscriptions)) {
        if (subscription) {
            subscription->unsubscribe();
            subscription->deleteLater();
        }
    }
    subscriptions.clear();
}

void LiveTracker::Private::onRequestFinished(const QList<NatsMessage> &replies)
{
    request.clear();
    if (!tracker->isPollInFlight())
        return; // cancelled, or replaced by someone else's poll
    if (!connection->isConnected()) {
        // The request may never have reached the gateways: their silence proves nothing.
        tracker->cancelPoll();
        return;
    }
    for (const NatsMessage &reply : replies)
        tracker->handlePollReply(reply.data);
    tracker->endPoll();
    tracker->expire();
    Q_EMIT q->pollFinished();
}

LiveTracker::LiveTracker(NatsConnection *connection, Tracker *tracker, QObject *parent)
    : QObject(parent), d(std::make_unique<Private>(this, connection, tracker))
{
    const TrackerSettings &settings = tracker->settings();

    d->pollTimer.setInterval(std::max(1, settings.pollIntervalMs));
    connect(&d->pollTimer, &QTimer::timeout, this, &LiveTracker::pollNow);
    d->pollTimer.start();

    // The grace period and the token timeout are checked at a quarter of their length, at
    // least every second, so short test settings are honoured too.
    const int expireInterval
        = std::clamp(std::min(settings.gracePeriodMs, settings.pendingTokenTimeoutMs) / 4,
                     MinExpireIntervalMs, MaxExpireIntervalMs);
    d->expireTimer.setInterval(expireInterval);
    connect(&d->expireTimer, &QTimer::timeout, tracker, &Tracker::expire);
    d->expireTimer.start();

    // Events were missed while there was no connection: rebuild from a poll at once.
    connect(connection, &NatsConnection::connected, this, [this] {
        d->subscribe();
        pollNow();
    });
    connect(connection, &NatsConnection::reconnected, this, [this] {
        d->subscribe(); // nats.c keeps subscriptions across reconnects; this covers a failed first try
        pollNow();
    });
    connect(connection, &NatsConnection::disconnected, this, [this] {
        // Replies still collected would make every gateway look silent.
        if (d->request) {
            d->tracker->cancelPoll();
            d->request->disconnect(this);
            d->request.clear();
        }
    });
    connect(connection, &NatsConnection::closed, this, [this] {
        if (d->request) {
            d->tracker->cancelPoll();
            d->request->disconnect(this);
            d->request.clear();
        }
        // A closed connection's subscriptions are dead; open() again subscribes afresh.
        d->dropSubscriptions();
    });

    if (connection->isConnected()) {
        d->subscribe();
        // After the caller finished its setup (connections to our signals).
        QTimer::singleShot(0, this, &LiveTracker::pollNow);
    }
}

LiveTracker::~LiveTracker()
{
    if (d->request) {
        d->request->disconnect(this);
        d->tracker->cancelPoll();
    }
    d->dropSubscriptions();
}

Tracker *LiveTracker::tracker() const
{
    return d->tracker;
}

NatsConnection *LiveTracker::connection() const
{
    return d->connection;
}

void LiveTracker::setPollWindow(int quietMs, int maxWaitMs)
{
    d->quietMs = std::max(1, quietMs);
    d->maxWaitMs = std::max(d->quietMs, maxWaitMs);
}

void LiveTracker::pollNow()
{
    if (d->request || !d->connection->isConnected())
        return;
    if (d->tracker->isPollInFlight()) {
        qCDebug(lcTracker) << "poll skipped: one is in flight";
        return;
    }
    // Before the request is published: every event that arrives from now on may be newer
    // than a reply.
    d->tracker->beginPoll();
    NatsRequest *request = d->connection->request(PollSubject, QByteArray(), d->quietMs, d->maxWaitMs);
    if (!request) {
        qCWarning(lcTracker) << "cannot poll" << PollSubject << ":" << d->connection->lastError();
        d->tracker->cancelPoll();
        return;
    }
    d->request = request;
    connect(request, &NatsRequest::finished, this,
            [this](const QList<NatsMessage> &replies) { d->onRequestFinished(replies); });
    // The periodic poll counts from the latest one, so a reconnect poll is not followed at once
    // by a timer poll.
    d->pollTimer.start();
}

} // namespace ResWatch
