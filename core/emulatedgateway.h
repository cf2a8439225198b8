#pragma once

#include "reswatchcore_export.h"

#include "protocol.h"

#include <QByteArray>
#include <QHostAddress>
#include <QObject>
#include <QString>
#include <QUrl>

#include <memory>
#include <vector>

namespace ResWatch {

class NatsConnection;

/**
 * A RES gateway that speaks the connection-tracking protocol (SPEC section 2).
 *
 * It serves WebSocket clients the RES client protocol subset of SPEC section 5
 * (version, auth, errors for everything else) on a real port, forwards auth
 * requests to NATS with the payload Resgate sends, keeps the tokens that
 * services publish on `conn.<cid>.token`, publishes connect, disconnect, start
 * and stop events, and answers `system.connections` (split into parts when the
 * reply exceeds the server's max_payload).
 *
 * In stock mode it behaves like stock Resgate v1.8.0 for tracking purposes:
 * no events, no poll replies, but one NATS subscription on `conn.<cid>.*` per
 * live WebSocket connection, which is what passive tracking observes.
 *
 * Not supported: resources (subscribe, get, call, new all answer an error),
 * HTTP requests, TLS on the WebSocket side, system.reset and system.tokenReset.
 *
 * The NATS connection is not owned and may be shared by several gateways; it
 * must outlive the gateway. The gateway lives on the thread that created it.
 */
class RESWATCH_CORE_EXPORT EmulatedGateway : public QObject
{
    Q_OBJECT
public:
    struct Options
    {
        QHostAddress address = QHostAddress(QHostAddress::LocalHost);
        quint16 port = 0; ///< 0: any free port (see port())
        QString gid; ///< empty: defaultGid()
        int authTimeoutMs = 3000;
        bool stock = false; ///< behave like stock Resgate v1.8.0 (no tracking protocol)
    };

    explicit EmulatedGateway(NatsConnection *nats, const Options &options, QObject *parent = nullptr);
    explicit EmulatedGateway(NatsConnection *nats, QObject *parent = nullptr);
    ~EmulatedGateway() override;

    /**
     * Starts listening. Returns false (see errorString()) when the port cannot
     * be opened. `system.start` is published as soon as NATS is connected too,
     * which may be later; started() says when.
     */
    bool start();
    /**
     * Publishes `system.stop`, then closes every client with a WebSocket close
     * frame (code 1001, going away). Emits stopped() once all clients are gone,
     * or after @p closeTimeoutMs at the latest.
     */
    void stop(int closeTimeoutMs = 2000);

    bool isListening() const;
    /// True once `system.start` was published (never in stock mode).
    bool hasAnnouncedStart() const;
    QString errorString() const;
    QString gid() const;
    bool isStock() const;
    quint16 port() const;
    /// ws://<address>:<port>/ once listening.
    QUrl serverUrl() const;
    int connectionCount() const;
    /// The open connections as a system.connections reply would list them.
    std::vector<Protocol::ConnectionEntry> connections() const;

    /// A readable gid unique to this process and gateway: gw-<host>-<pid>[-<n>].
    static QString defaultGid();

Q_SIGNALS:
    /// `system.start` was published (NATS is connected and the port is listening).
    void started();
    void clientConnected(const QByteArray &cid);
    void clientDisconnected(const QByteArray &cid);
    /// A connection's token changed (conn.<cid>.token).
    void tokenChanged(const QByteArray &cid);
    /// After stop(): every client is gone.
    void stopped();

private:
    class Private;
    std::unique_ptr<Private> d;
};

} // namespace ResWatch
