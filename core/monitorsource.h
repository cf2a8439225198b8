#pragma once

#include "reswatchcore_export.h"

#include <QObject>
#include <QString>
#include <QUrl>
#include <QVector>

#include <memory>

namespace ResWatch {

class NatsConnection;
class Tracker;

/**
 * Tracks stock gateways passively (SPEC section 4): reads nats-server's
 * monitoring data on the poll interval and feeds Tracker::applyMonitorSnapshot().
 *
 * Two kinds of endpoint, any number of each:
 * - an HTTP monitoring URL (`http://host:8222`), one per cluster node since each
 *   node lists only its own clients: `/varz` for the server's name, then
 *   `/connz?subs=detail` paged with offset/limit until every client is read;
 * - a NATS connection with system-account credentials: one
 *   `$SYS.REQ.SERVER.PING.CONNZ` request gathers every node's answer (paged the same way).
 *
 * An endpoint that cannot be read (HTTP error, timeout, bad or truncated JSON, a
 * port that is not nats-server monitoring) gets an error status; its gateways keep
 * their last good state, marked stale, until it can be read again.
 */
class RESWATCH_CORE_EXPORT MonitorSource : public QObject
{
    Q_OBJECT
public:
    struct Options
    {
        int intervalMs = 0; ///< between polls; 0: the tracker's TrackerSettings::pollIntervalMs
        int pageLimit = 1024; ///< connections per /connz page
        int timeoutMs = 5000; ///< per HTTP request, and the longest wait for $SYS answers
        int systemQuietMs = 250; ///< $SYS: answers are complete after this long without a new one
    };

    enum class State { Pending, Ok, Error };
    Q_ENUM(State)

    /// What the user sees about one endpoint.
    struct Status
    {
        QString scope; ///< the endpoint: its URL, or "$SYS <nats url>"
        State state = State::Pending;
        bool stale = false; ///< the last read failed: its gateways show their last good state
        QString error; ///< why the last read failed; empty when it worked
        qint64 lastSuccessMs = 0; ///< Unix ms of the last good read
        int servers = 0; ///< servers in the last good read
        int gateways = 0; ///< NATS clients holding conn.<cid>.* subscriptions in it
        int connections = 0; ///< their conn.<cid>.* subscriptions
        int pages = 0; ///< requests the last good read took
        qint64 durationMs = 0; ///< how long the last good read took (fetch, parse and diff)
    };

    /// @p tracker is not owned and must outlive this object.
    explicit MonitorSource(Tracker *tracker, QObject *parent = nullptr);
    MonitorSource(Tracker *tracker, const Options &options, QObject *parent = nullptr);
    ~MonitorSource() override;

    /// Adds an HTTP monitoring endpoint ("http://127.0.0.1:8222"). Returns its scope,
    /// or an empty string (with @p error) when the URL is unusable.
    QString addEndpoint(const QUrl &url, QString *error = nullptr);
    /// Adds a system-account NATS connection (not owned; must outlive this object).
    QString addSystemEndpoint(NatsConnection *systemConnection);
    /// Stops reading an endpoint; its gateways and connections are forgotten.
    void removeEndpoint(const QString &scope);
    QStringList scopes() const;
    QVector<Status> statuses() const;
    Status status(const QString &scope) const;
    Options options() const;

    /// Polls at once, then on the interval.
    void start();
    void stop();
    bool isRunning() const;

public Q_SLOTS:
    /// Reads every endpoint that is not being read already.
    void pollNow();

Q_SIGNALS:
    /// An endpoint was read, or failed to be read.
    void statusChanged(const ResWatch::MonitorSource::Status &status);
    /// An endpoint could not be read (for logs; statusChanged() says it too).
    void errorOccurred(const QString &scope, const QString &message);
    /// Every endpoint finished the reads started by the latest poll.
    void pollFinished();

private:
    class Private;
    std::unique_ptr<Private> d;
};

} // namespace ResWatch

Q_DECLARE_METATYPE(ResWatch::MonitorSource::Status)
