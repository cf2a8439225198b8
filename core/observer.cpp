#include "observer.h"

#include "clock.h"
#include "natsconnection.h"
#include "tracker.h"

#include <QLoggingCategory>
#include <QPointer>

namespace ResWatch {

Q_LOGGING_CATEGORY(lcObserver, "reswatch.observer", QtInfoMsg)

namespace {

const QByteArray RequestSubjects[]
    = { QByteArrayLiteral("access.>"), QByteArrayLiteral("call.>"), QByteArrayLiteral("auth.>") };
const QByteArray TokenSubject = QByteArrayLiteral("conn.*.token");

} // namespace

class Observer::Private
{
public:
    void subscribe();
    void setObserving(bool observing);

    Observer *q = nullptr;
    NatsConnection *connection = nullptr;
    QPointer<Tracker> tracker;
    Options options;
    std::vector<QPointer<NatsSubscription>> subscriptions;
    bool observing = false;
    quint64 requestsSeen = 0;
};

void Observer::Private::subscribe()
{
    if (!subscriptions.empty())
        return; // nats.c keeps them across reconnects
    std::vector<QByteArray> subjects(std::begin(RequestSubjects), std::end(RequestSubjects));
    if (options.tokenEvents)
        subjects.push_back(TokenSubject);
    std::vector<QPointer<NatsSubscription>> made;
    for (const QByteArray &subject : subjects) {
        // No queue group: a queue subscriber would take requests away from the services.
        NatsSubscription *subscription = connection->subscribe(subject);
        if (!subscription) {
            qCDebug(lcObserver) << "cannot subscribe to" << subject << "yet:" << connection->lastError();
            for (const auto &s : made)
                delete s.data(); // unsubscribes
            return;
        }
        const bool isToken = subject == TokenSubject;
        QObject::connect(subscription, &NatsSubscription::received, q,
                         [this, isToken](const QList<NatsMessage> &messages) {
                             if (!tracker)
                                 return;
                             if (isToken) {
                                 tracker->handleEvents(messages);
                             } else {
                                 requestsSeen += quint64(messages.size());
                                 tracker->handleObservedRequests(messages);
                             }
                         });
        made.push_back(subscription);
    }
    subscriptions = std::move(made);
    setObserving(true);
}

void Observer::Private::setObserving(bool on)
{
    if (tracker) {
        // The server takes the subscriptions a moment after we send them, and xids count whole
        // seconds: a connection is taken as watched from its start only from the next second on.
        const qint64 now = tracker->clock()->nowMs();
        tracker->setObservingSince(on ? (now / 1000 + 2) * 1000 : 0);
    }
    if (observing == on)
        return;
    observing = on;
    Q_EMIT q->observingChanged(on);
}

Observer::Observer(NatsConnection *connection, Tracker *tracker, QObject *parent)
    : Observer(connection, tracker, Options {}, parent)
{ }

Observer::Observer(NatsConnection *connection, Tracker *tracker, const Options &options, QObject *parent)
    : QObject(parent), d(std::make_unique<Private>())
{
    d->q = this;
    d->connection = connection;
    d->tracker = tracker;
    d->options = options;
    connect(connection, &NatsConnection::connected, this, [this] { d->subscribe(); });
    connect(connection, &NatsConnection::reconnected, this, [this] {
        d->subscribe();
        // What was published while we were away is lost: start watching again from now.
        d->setObserving(true);
    });
    connect(connection, &NatsConnection::disconnected, this, [this] { d->setObserving(false); });
    connect(connection, &NatsConnection::closed, this, [this] { d->setObserving(false); });
    if (connection->isConnected())
        d->subscribe();
}

Observer::~Observer()
{
    for (const auto &subscription : d->subscriptions)
        delete subscription.data(); // unsubscribes
    if (d->tracker)
        d->tracker->setObservingSince(0);
}

bool Observer::isObserving() const
{
    return d->observing;
}

quint64 Observer::requestsSeen() const
{
    return d->requestsSeen;
}

} // namespace ResWatch
