#pragma once

#include "reswatchcore_export.h"

#include <QByteArray>
#include <QList>
#include <QObject>
#include <QStringList>

#include <memory>

namespace ResWatch {

/// A NATS message copied out of nats.c: plain Qt values, safe on any thread.
struct NatsMessage
{
    QByteArray subject;
    QByteArray reply;
    QByteArray data;
};

/// How to reach and authenticate to a NATS server or cluster.
struct RESWATCH_CORE_EXPORT NatsOptions
{
    QStringList urls; ///< one or more servers of a cluster; defaults to defaultUrls()
    QString name = QStringLiteral("reswatch");
    QString user;
    QString password; ///< never logged nor stored
    QString token; ///< never logged nor stored
    QString credentialsFile; ///< a .creds file (JWT + NKey seed)
    QString caFile; ///< TLS: CA certificate(s) to trust
    QString certFile; ///< TLS: client certificate
    QString keyFile; ///< TLS: client key
    int reconnectWaitMs = 250; ///< first reconnect delay; doubles up to maxReconnectWaitMs
    int maxReconnectWaitMs = 5000;
    /// Per subscription: messages received but not yet delivered to the owning thread, beyond
    /// which new ones are dropped (counted in NatsSubscription::droppedCount(), reported through
    /// NatsConnection::errorOccurred). Generous, because the tracker ingests bursts of millions.
    int maxPendingMessages = 4 * 1024 * 1024;
    int maxPendingBytes = 1024 * 1024 * 1024;
    /// Deliver every subscription's messages from nats.c's shared delivery thread instead of
    /// one thread per subscription. Needed with thousands of subscriptions (a stock-mode
    /// emulated gateway holds one per WebSocket client, as Resgate does).
    bool sharedDeliveryThread = false;

    /// `NATS_URL` split on commas, as in NATS's own tools, else nats://127.0.0.1:4222.
    static QStringList defaultUrls();
    /// Options from the environment: NATS_URL, NATS_USER, NATS_PASSWORD, NATS_TOKEN, NATS_CREDS.
    static NatsOptions fromEnvironment();
};

class NatsSubscription;
class NatsRequest;

/**
 * Owns one nats.c connection. Connecting never blocks the caller: the connection
 * retries in the background, and reconnects forever with an exponential backoff
 * after it was lost. Every signal is emitted on the thread this object lives in,
 * and it is used from that thread only.
 *
 * nats.c calls back on its own threads; this class copies what it needs out of
 * each callback and hands it to the owning thread, so no QObject is touched from
 * a nats.c thread, and callbacks that arrive after destruction are dropped.
 *
 * connected() is emitted once, when the first server accepted the connection
 * (at once inside open() if it did so right away: status() is then Connected);
 * after a loss, disconnected() and then reconnected(). Subscriptions survive
 * reconnects. The only time the connection gives up by itself is when a server
 * refuses the credentials twice in a row (nats.c's rule): then errorOccurred()
 * names the authorization problem and closed() follows.
 *
 * Not supported: JetStream, headers, drain. After close(), existing subscriptions
 * stay inert; subscribe again after the next open().
 */
class RESWATCH_CORE_EXPORT NatsConnection : public QObject
{
    Q_OBJECT
public:
    enum class Status { Closed, Connecting, Connected, Reconnecting };
    Q_ENUM(Status)

    explicit NatsConnection(QObject *parent = nullptr);
    ~NatsConnection() override;

    /// Starts connecting. Returns false (and sets lastError()) when the options
    /// are unusable, for example a credentials file that cannot be read.
    bool open(const NatsOptions &options);
    void close();

    Status status() const;
    bool isConnected() const { return status() == Status::Connected; }
    QString connectedUrl() const;
    QString lastError() const;
    /// The server's max_payload in bytes, or 0 while not connected.
    qint64 maxPayload() const;

    bool publish(const QByteArray &subject, const QByteArray &data, const QByteArray &reply = {});
    /// A new unique inbox subject, for replies.
    QByteArray newInbox() const;

    /// Subscribes to a subject (wildcards allowed); messages arrive in batches
    /// through NatsSubscription::received. Returns nullptr when not possible
    /// (lastError() says why). The subscription is a child of this connection.
    NatsSubscription *subscribe(const QByteArray &subject, const QByteArray &queueGroup = {});

    /**
     * Publishes a request and collects every reply until no new one came for
     * @p quietMs, or @p maxWaitMs passed, or @p maxReplies arrived (0: no limit).
     * The quiet window starts at the publish, so with no responder the request
     * ends after @p quietMs with no replies. A single request with a timeout T
     * is request(subject, data, T, T, 1).
     *
     * The returned object (a child of this connection) emits finished() once and
     * then deletes itself; when it cannot be sent, it finishes with no replies on
     * the next event-loop turn and errorOccurred() says why.
     */
    NatsRequest *request(const QByteArray &subject, const QByteArray &data, int quietMs = 250,
                         int maxWaitMs = 2000, int maxReplies = 0);

    /// Blocks up to @p timeoutMs until the server acknowledged everything published so far.
    bool flush(int timeoutMs = 2000);

Q_SIGNALS:
    void statusChanged(ResWatch::NatsConnection::Status status);
    void connected();
    void disconnected();
    void reconnected();
    void closed();
    /// Connection errors, failed publishes and slow-consumer drops, with nats.c's text.
    void errorOccurred(const QString &message);

private:
    class Private;
    std::unique_ptr<Private> d;
};

/// A subscription whose messages are delivered to the owning thread in batches.
class RESWATCH_CORE_EXPORT NatsSubscription : public QObject
{
    Q_OBJECT
public:
    ~NatsSubscription() override;
    QByteArray subject() const;
    /// Messages the client library dropped because this subscriber fell behind.
    quint64 droppedCount() const;
    void unsubscribe();

Q_SIGNALS:
    /// One batch: everything that arrived since the previous batch, in order.
    void received(const QList<ResWatch::NatsMessage> &messages);

private:
    friend class NatsConnection;
    explicit NatsSubscription(QObject *parent);
    class Private;
    std::unique_ptr<Private> d;
};

/// A request that collects many replies (see NatsConnection::request).
class RESWATCH_CORE_EXPORT NatsRequest : public QObject
{
    Q_OBJECT
public:
    ~NatsRequest() override;
    QList<NatsMessage> replies() const;

Q_SIGNALS:
    void finished(const QList<ResWatch::NatsMessage> &replies);

private:
    friend class NatsConnection;
    explicit NatsRequest(QObject *parent);
    class Private;
    std::unique_ptr<Private> d;
};

} // namespace ResWatch

Q_DECLARE_METATYPE(ResWatch::NatsMessage)
