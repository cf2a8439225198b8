#pragma once

#include "connection.h"
#include "natsconnection.h"

#include <QObject>
#include <QVector>

#include <deque>
#include <memory>

namespace ResWatch {

class Clock;
struct MonitorSnapshot;

struct TrackerSettings
{
    int pollIntervalMs = 5000; ///< how often system.connections is polled
    int staleAfterMissedPolls = 2; ///< a gateway that missed this many polls is stale
    int gracePeriodMs = 30000; ///< a stale gateway's connections are removed after this
    int pendingTokenTimeoutMs = 10000; ///< a token whose connection never appears is dropped
    int closedHistoryLimit = 10000; ///< closed connections kept for the history view
    int changeIntervalMs = 100; ///< changed() is emitted at most this often
};

/**
 * What changed since the previous changed() signal. Slots are indices for
 * Tracker::connectionAt(), each list sorted ascending and free of duplicates;
 * a slot in removed() stays readable until the signal returns and is only
 * reused after it. A connection added and removed within one period appears in
 * neither list; one added then updated appears only in added; one updated then
 * removed only in removed.
 *
 * The closed history changes by closedDropped entries at its front (entries
 * that were there at the previous signal) and closedAppended at its back
 * (entries still present), so a model removes the first closedDropped rows and
 * appends closedAppended rows.
 */
struct ChangeSet
{
    QVector<quint32> added;
    QVector<quint32> removed;
    QVector<quint32> updated; ///< token, state or details changed
    bool gatewaysChanged = false; ///< any gateway added, removed or changed
    int closedAppended = 0; ///< entries appended to closedConnections()
    int closedDropped = 0; ///< oldest entries dropped from closedConnections()
    int connects = 0; ///< connections that appeared (for rates)
    int disconnects = 0; ///< connections that ended (for rates)

    bool isEmpty() const
    {
        return added.isEmpty() && removed.isEmpty() && updated.isEmpty() && !gatewaysChanged
            && closedAppended == 0 && closedDropped == 0;
    }
};

struct TrackerStats
{
    quint64 messages = 0; ///< tracking messages handled
    quint64 badMessages = 0; ///< messages rejected by the parser or the rules
    quint64 polls = 0; ///< polls completed
};

/**
 * The live picture of every gateway and connection, built from the tracking
 * protocol (SPEC sections 2 and 3). Pure logic: it is fed messages and poll
 * replies and reads the time from a Clock, so it is tested without NATS;
 * LiveTracker feeds it from a NatsConnection.
 *
 * Changes are coalesced and announced by changed() at most every
 * TrackerSettings::changeIntervalMs (or at once with flushChanges()).
 */
class RESWATCH_CORE_EXPORT Tracker : public QObject
{
    Q_OBJECT
public:
    explicit Tracker(const TrackerSettings &settings = {}, const Clock *clock = nullptr,
                     QObject *parent = nullptr);
    ~Tracker() override;

    const TrackerSettings &settings() const;
    const Clock *clock() const;
    TrackerStats stats() const;

    // Input.
    /// An event (conn.<cid>.connect|disconnect|token, system.start|stop); other subjects are rejected.
    void handleEvent(const NatsMessage &message);
    void handleEvents(const QList<NatsMessage> &messages);
    /// A system.connections request was just sent.
    void beginPoll();
    /// One reply (or part) to the poll in flight.
    void handlePollReply(const QByteArray &payload);
    /// The poll's replies are all in: reconcile, count missed polls.
    void endPoll();
    /// Forgets the poll in flight without counting missed polls (the request could not be sent,
    /// or the NATS connection was lost while collecting replies). What its replies added stays.
    void cancelPoll();
    bool isPollInFlight() const;
    /// Time-based rules: drop expired pending tokens, remove gateways past their grace period.
    void expire();
    /// Forgets every connection, gateway, pending token and closed entry (a new NATS server, for
    /// example), announcing the removals through changed(). stats() keeps counting.
    void clear();

    // Passive tracking of stock gateways (SPEC section 4). Gateways and connections it creates
    // have Source::Monitor; native gateways seen in a snapshot stay native (one gateway, one
    // connection per cid).
    /// Reconciles the Monitor gateways of @p snapshot's scope: new `conn.<cid>.*` subscriptions
    /// are connects, vanished ones disconnects (EndReason::Disconnected), a vanished NATS client is
    /// a stopped gateway (EndReason::GatewayStopped; removed after the grace period).
    void applyMonitorSnapshot(const MonitorSnapshot &snapshot);
    /// The endpoint of @p scope could not be read: its gateways and connections are kept, marked
    /// stale, until it can be read again (they do not expire meanwhile).
    void markMonitorStale(const QString &scope);
    /// Forgets the gateways of @p scope and their connections (the endpoint was removed).
    void forgetMonitorScope(const QString &scope);
    /// A request a stock gateway sent (access.>, call.>, auth.>) seen by a plain subscriber: its
    /// `cid`, `token`, `remoteAddr` and `host` fill in what is not known yet. Other subjects and
    /// payloads without a cid are ignored (not counted as bad: services send many requests).
    void handleObservedRequest(const NatsMessage &message);
    void handleObservedRequests(const QList<NatsMessage> &messages);
    /// Since when every token event and request is seen (0: not observing). A Monitor connection
    /// whose xid says it connected after that has a known token (none until one is seen).
    void setObservingSince(qint64 ms);
    qint64 observingSince() const;
    /// The readable, stable gid of a stock gateway: "<server>/<NATS client id>", the server by
    /// name, else by the first 12 characters of its id.
    static QString monitorGid(QByteArrayView serverId, QByteArrayView serverName, quint64 natsCid);

    // Reads.
    int connectionCount() const;
    /// One past the highest slot in use; slots below it may be free.
    quint32 slotCount() const;
    /// The connection in @p slot, or nullptr when the slot is free. A connection removed since
    /// the last changed() stays readable here (but not through slotOf()) until that signal returns.
    const Connection *connectionAt(quint32 slot) const;
    /// The slot of @p cid, or -1.
    qint64 slotOf(QByteArrayView cid) const;
    /// Gateways by index (Connection::gateway); removed ones keep their index with removed = true.
    const QVector<Gateway> &gateways() const;
    const Gateway *gatewayByGid(QStringView gid) const;
    /// Oldest first, at most settings().closedHistoryLimit entries.
    const std::deque<ClosedConnection> &closedConnections() const;

public Q_SLOTS:
    /// Emits changed() now if anything changed.
    void flushChanges();

Q_SIGNALS:
    void changed(const ResWatch::ChangeSet &changes);
    /// A message that was rejected: shown in the event log, counted in stats().
    void messageRejected(const QString &subject, const QString &reason);
    /// A poll completed: how many gateways replied, and how many connections they listed.
    void pollCompleted(int gatewaysReplied, int connectionsListed);

private:
    class Private;
    std::unique_ptr<Private> d;
};

} // namespace ResWatch

Q_DECLARE_METATYPE(ResWatch::ChangeSet)
