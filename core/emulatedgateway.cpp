#include "emulatedgateway.h"

#include "natsconnection.h"
#include "xid.h"

#include <QCoreApplication>
#include <QHash>
#include <QHostInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLoggingCategory>
#include <QNetworkRequest>
#include <QPointer>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>
#include <QWebSocket>
#include <QWebSocketServer>

#include <atomic>
#include <utility>

Q_LOGGING_CATEGORY(lcGateway, "reswatch.gateway", QtInfoMsg)

namespace ResWatch {

namespace {

// Every gateway of the process draws from one (thread-safe) generator, so cids
// stay unique when tests or the demo run several gateways side by side.
QByteArray nextCid()
{
    static XidGenerator generator;
    return generator.next();
}

// Large enough for any sane RES request; larger frames close the connection
// instead of growing the gateway's memory without bound.
constexpr qint64 MaxIncomingMessage = 1024 * 1024;
// Connections arrive in bursts (load tests open thousands at once); the kernel
// caps this at net.core.somaxconn.
constexpr int ListenBacklog = 4096;
// A reply the NATS server accepts even when it did not tell us its limit yet.
constexpr qint64 DefaultMaxPayload = 1024 * 1024;

QByteArray formatAddress(QHostAddress address, quint16 port)
{
    bool isV4 = false;
    const quint32 v4 = address.toIPv4Address(&isV4);
    if (isV4)
        address = QHostAddress(v4);
    const QString host = address.protocol() == QAbstractSocket::IPv6Protocol
        ? QLatin1Char('[') + address.toString() + QLatin1Char(']')
        : address.toString();
    return host.toLatin1() + ':' + QByteArray::number(port);
}

// Go's http.CanonicalHeaderKey, so the header map looks like Resgate's.
QString canonicalHeaderKey(const QByteArray &key)
{
    QString result = QString::fromLatin1(key);
    bool upper = true;
    for (QChar &c : result) {
        c = upper ? c.toUpper() : c.toLower();
        upper = c == QLatin1Char('-');
    }
    return result;
}

// A NATS subject a client may address: no wildcards, no empty tokens, no whitespace.
bool isPlainSubject(const QByteArray &subject)
{
    if (subject.isEmpty() || subject.startsWith('.') || subject.endsWith('.') || subject.contains(".."))
        return false;
    for (char c : subject) {
        if (c == '*' || c == '>' || uchar(c) <= ' ' || uchar(c) == 0x7f)
            return false;
    }
    return true;
}

QJsonObject resError(const char *code, const QString &message)
{
    return QJsonObject { { QStringLiteral("code"), QLatin1String(code) },
                         { QStringLiteral("message"), message } };
}

} // namespace

class EmulatedGateway::Private
{
public:
    struct Client
    {
        QByteArray cid;
        QWebSocket *socket = nullptr;
        QByteArray token; ///< compact JSON; empty when none
        QByteArray tid;
        QByteArray remoteAddr;
        QByteArray host;
        QByteArray uri;
        QJsonObject header;
        QPointer<NatsSubscription> subscription; ///< stock mode: conn.<cid>.*
        bool announced = false; ///< its connect event was published
    };

    Private(EmulatedGateway *q, NatsConnection *nats, const Options &options)
        : q(q), nats(nats), options(options),
          webSocketServer(QStringLiteral("ResWatch emulated gateway"), QWebSocketServer::NonSecureMode)
    {
        if (this->options.gid.isEmpty())
            this->options.gid = EmulatedGateway::defaultGid();
        gid = this->options.gid.toUtf8();
        // The TCP side is ours so that the listen backlog can absorb connection bursts.
        tcpServer.setListenBacklogSize(ListenBacklog);
        webSocketServer.setMaxPendingConnections(ListenBacklog);
    }

    bool isNatsConnected() const { return nats && nats->status() == NatsConnection::Status::Connected; }

    void onTcpConnection();
    void onWebSocketConnection();
    void onClientDisconnected(const QByteArray &cid);
    void onNatsStatus();
    void announceStart();
    void announce(Client &client);
    void subscribeClient(Client &client);
    void releaseSubscription(QPointer<NatsSubscription> &subscription);
    void onMessage(const QByteArray &cid, const QByteArray &data);
    void handleAuth(Client &client, const QJsonValue &id, const QString &method, const QJsonValue &params);
    void onTokenMessages(const QList<NatsMessage> &messages);
    void onPoll(const QList<NatsMessage> &messages);
    void send(Client &client, const QJsonObject &response);
    void finishStopIfDone();
    QByteArray authPayload(const Client &client, const QJsonValue &params) const;

    EmulatedGateway *q;
    QPointer<NatsConnection> nats;
    Options options;
    QByteArray gid;
    QTcpServer tcpServer;
    QWebSocketServer webSocketServer;
    QHash<QByteArray, Client *> clients;
    QPointer<NatsSubscription> tokenSubscription; ///< conn.*.token (tracking mode)
    QPointer<NatsSubscription> pollSubscription; ///< system.connections (tracking mode)
    QTimer stopTimer;
    QString errorString;
    bool startAnnounced = false;
    bool stopping = false;
    bool stopEmitted = false;
};

void EmulatedGateway::Private::onTcpConnection()
{
    while (QTcpSocket *socket = tcpServer.nextPendingConnection()) {
        if (stopping) {
            socket->abort();
            socket->deleteLater();
            continue;
        }
        webSocketServer.handleConnection(socket);
    }
}

void EmulatedGateway::Private::onWebSocketConnection()
{
    while (QWebSocket *socket = webSocketServer.nextPendingConnection()) {
        if (stopping) {
            socket->close(QWebSocketProtocol::CloseCodeGoingAway, QStringLiteral("Gateway shutting down"));
            QObject::connect(socket, &QWebSocket::disconnected, socket, &QObject::deleteLater);
            continue;
        }
        auto *client = new Client;
        client->cid = nextCid();
        client->socket = socket;
        client->remoteAddr = formatAddress(socket->peerAddress(), socket->peerPort());
        const QNetworkRequest request = socket->request();
        const QUrl url = request.url();
        client->uri = url.path(QUrl::FullyEncoded).toUtf8();
        if (client->uri.isEmpty())
            client->uri = "/";
        if (url.hasQuery())
            client->uri += '?' + url.query(QUrl::FullyEncoded).toUtf8();
        for (const QByteArray &name : request.rawHeaderList()) {
            if (name.compare("host", Qt::CaseInsensitive) == 0) {
                client->host = request.rawHeader(name);
                continue; // Go moves Host out of the header map; so does Resgate's payload
            }
            client->header.insert(canonicalHeaderKey(name),
                                  QJsonArray { QString::fromLatin1(request.rawHeader(name)) });
        }
        if (client->host.isEmpty() && !url.host().isEmpty())
            client->host = url.authority(QUrl::FullyEncoded).toUtf8();

        socket->setMaxAllowedIncomingMessageSize(quint64(MaxIncomingMessage));
        socket->setMaxAllowedIncomingFrameSize(quint64(MaxIncomingMessage));
        const QByteArray cid = client->cid;
        QObject::connect(socket, &QWebSocket::textMessageReceived, socket,
                         [this, cid](const QString &text) { onMessage(cid, text.toUtf8()); });
        QObject::connect(socket, &QWebSocket::binaryMessageReceived, socket,
                         [this, cid](const QByteArray &data) { onMessage(cid, data); });
        QObject::connect(socket, &QWebSocket::disconnected, socket,
                         [this, cid] { onClientDisconnected(cid); });
        clients.insert(cid, client);
        qCDebug(lcGateway) << "client" << cid << "connected from" << client->remoteAddr;

        if (options.stock)
            subscribeClient(*client);
        else
            announce(*client);
        Q_EMIT q->clientConnected(cid);

        // The peer may already be gone (the handshake and a close can arrive together).
        if (socket->state() != QAbstractSocket::ConnectedState)
            onClientDisconnected(cid);
    }
}

void EmulatedGateway::Private::announce(Client &client)
{
    if (client.announced || options.stock || !startAnnounced || !nats)
        return;
    client.announced = nats->publish("conn." + client.cid + ".connect",
                                     Protocol::connectPayload(gid, client.remoteAddr, client.host));
}

void EmulatedGateway::Private::subscribeClient(Client &client)
{
    if (client.subscription || !isNatsConnected())
        return;
    // Exactly what stock Resgate holds for each WebSocket connection.
    client.subscription = nats->subscribe("conn." + client.cid + ".*");
    if (!client.subscription) {
        qCWarning(lcGateway) << "cannot subscribe for" << client.cid << ":" << nats->lastError();
        return;
    }
    QObject::connect(client.subscription, &NatsSubscription::received, q,
                     [this](const QList<NatsMessage> &messages) { onTokenMessages(messages); });
}

void EmulatedGateway::Private::releaseSubscription(QPointer<NatsSubscription> &subscription)
{
    if (!subscription)
        return;
    subscription->unsubscribe();
    delete subscription.data();
    subscription = nullptr;
}

void EmulatedGateway::Private::onClientDisconnected(const QByteArray &cid)
{
    Client *client = clients.take(cid);
    if (!client)
        return;
    qCDebug(lcGateway) << "client" << cid << "disconnected";
    if (client->announced && nats)
        nats->publish("conn." + cid + ".disconnect", Protocol::gatewayEventPayload(gid));
    releaseSubscription(client->subscription);
    client->socket->deleteLater();
    delete client;
    Q_EMIT q->clientDisconnected(cid);
    finishStopIfDone();
}

void EmulatedGateway::Private::onNatsStatus()
{
    if (!isNatsConnected() || stopping)
        return;
    if (options.stock) {
        for (Client *client : std::as_const(clients))
            subscribeClient(*client);
        return;
    }
    if (!tokenSubscription) {
        // One wildcard subscription instead of one per connection: tens of
        // thousands of nats.c subscriptions cost far more than a hash lookup.
        tokenSubscription = nats->subscribe("conn.*.token");
        if (tokenSubscription)
            QObject::connect(tokenSubscription, &NatsSubscription::received, q,
                             [this](const QList<NatsMessage> &messages) { onTokenMessages(messages); });
        else
            qCWarning(lcGateway) << "cannot subscribe to token events:" << nats->lastError();
    }
    if (!pollSubscription) {
        pollSubscription = nats->subscribe("system.connections");
        if (pollSubscription)
            QObject::connect(pollSubscription, &NatsSubscription::received, q,
                             [this](const QList<NatsMessage> &messages) { onPoll(messages); });
        else
            qCWarning(lcGateway) << "cannot subscribe to system.connections:" << nats->lastError();
    }
    if (!startAnnounced && tcpServer.isListening())
        announceStart();
    // Connections that arrived while NATS was away have not been announced yet.
    for (Client *client : std::as_const(clients))
        announce(*client);
}

void EmulatedGateway::Private::announceStart()
{
    if (!nats->publish("system.start", Protocol::gatewayEventPayload(gid))) {
        qCWarning(lcGateway) << "cannot publish system.start:" << nats->lastError();
        return;
    }
    startAnnounced = true;
    qCDebug(lcGateway).noquote() << "gateway" << options.gid << "started";
    Q_EMIT q->started();
}

void EmulatedGateway::Private::onTokenMessages(const QList<NatsMessage> &messages)
{
    for (const NatsMessage &message : messages) {
        // conn.<cid>.token; stock subscriptions also see conn.<cid>.<anything else>.
        const QList<QByteArray> tokens = message.subject.split('.');
        if (tokens.size() != 3 || tokens.at(2) != "token")
            continue;
        Client *client = clients.value(tokens.at(1));
        if (!client)
            continue; // a connection of another gateway
        const Protocol::ParseResult parsed = Protocol::parseEvent(message.subject, message.data);
        if (!parsed.ok() || parsed.message.kind != Protocol::Kind::Token) {
            qCWarning(lcGateway).noquote() << "ignoring token event:" << parsed.describeError();
            continue;
        }
        client->token = parsed.message.token;
        client->tid = parsed.message.tid;
        Q_EMIT q->tokenChanged(client->cid);
    }
}

void EmulatedGateway::Private::onPoll(const QList<NatsMessage> &messages)
{
    for (const NatsMessage &message : messages) {
        if (message.reply.isEmpty() || stopping)
            continue;
        const qint64 maxPayload = nats->maxPayload() > 0 ? nats->maxPayload() : DefaultMaxPayload;
        const std::vector<QByteArray> payloads
            = Protocol::connectionsReplyPayloads(gid, q->connections(), maxPayload);
        for (const QByteArray &payload : payloads)
            nats->publish(message.reply, payload);
    }
}

QByteArray EmulatedGateway::Private::authPayload(const Client &client, const QJsonValue &params) const
{
    QJsonObject payload {
        { QStringLiteral("cid"), QString::fromLatin1(client.cid) },
        { QStringLiteral("header"), client.header },
        { QStringLiteral("host"), QString::fromUtf8(client.host) },
        { QStringLiteral("remoteAddr"), QString::fromLatin1(client.remoteAddr) },
        { QStringLiteral("uri"), QString::fromUtf8(client.uri) },
    };
    if (!params.isUndefined())
        payload.insert(QStringLiteral("params"), params);
    // The token may be any JSON value, so it goes through an array to be parsed.
    QJsonValue token = QJsonValue::Null;
    if (!client.token.isEmpty())
        token = QJsonDocument::fromJson('[' + client.token + ']').array().at(0);
    payload.insert(QStringLiteral("token"), token);
    return QJsonDocument(payload).toJson(QJsonDocument::Compact);
}

void EmulatedGateway::Private::handleAuth(Client &client, const QJsonValue &id, const QString &method,
                                          const QJsonValue &params)
{
    const QByteArray subject = method.toUtf8();
    if (subject.count('.') < 2 || !isPlainSubject(subject)) {
        send(client,
             { { QStringLiteral("id"), id },
               { QStringLiteral("error"),
                 resError("system.invalidRequest", QStringLiteral("Invalid auth method")) } });
        return;
    }
    NatsRequest *request = nullptr;
    if (isNatsConnected())
        request = nats->request(subject, authPayload(client, params), options.authTimeoutMs,
                                options.authTimeoutMs, 1);
    if (!request) {
        send(client,
             { { QStringLiteral("id"), id },
               { QStringLiteral("error"),
                 resError("system.internalError",
                          QStringLiteral("Gateway has no NATS connection; try again later")) } });
        return;
    }
    const QByteArray cid = client.cid;
    QObject::connect(request, &NatsRequest::finished, q, [this, cid, id](const QList<NatsMessage> &replies) {
        Client *client = clients.value(cid);
        if (!client)
            return; // the connection went away while the service was thinking
        QJsonObject response { { QStringLiteral("id"), id } };
        // An empty reply is the server's "no responders" status: nobody will answer.
        if (replies.isEmpty() || replies.first().data.isEmpty()) {
            response.insert(QStringLiteral("error"),
                            resError("system.timeout", QStringLiteral("Request timeout")));
        } else {
            QJsonParseError error;
            const QJsonDocument reply = QJsonDocument::fromJson(replies.first().data, &error);
            const QJsonObject object = reply.object();
            if (object.contains(QStringLiteral("error"))) {
                response.insert(QStringLiteral("error"), object.value(QStringLiteral("error")));
            } else if (object.contains(QStringLiteral("result"))) {
                response.insert(
                    QStringLiteral("result"),
                    QJsonObject { { QStringLiteral("payload"), object.value(QStringLiteral("result")) } });
            } else {
                qCWarning(lcGateway) << "invalid auth reply from service:" << replies.first().data.left(200);
                response.insert(QStringLiteral("error"),
                                resError("system.internalError", QStringLiteral("Invalid service response")));
            }
        }
        send(*client, response);
    });
}

void EmulatedGateway::Private::onMessage(const QByteArray &cid, const QByteArray &data)
{
    Client *client = clients.value(cid);
    if (!client || stopping)
        return;
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(data, &parseError);
    const QJsonObject request = document.object();
    const QJsonValue id = request.value(QStringLiteral("id"));
    const QJsonValue methodValue = request.value(QStringLiteral("method"));
    if (parseError.error != QJsonParseError::NoError || !document.isObject() || !methodValue.isString()) {
        QJsonObject response { { QStringLiteral("error"),
                                 resError("system.invalidRequest", QStringLiteral("Invalid request")) } };
        if (id.isDouble())
            response.insert(QStringLiteral("id"), id);
        send(*client, response);
        return;
    }
    const QString method = methodValue.toString();
    const QJsonValue params = request.value(QStringLiteral("params"));
    const int dot = method.indexOf(QLatin1Char('.'));
    const QString type = dot < 0 ? method : method.left(dot);

    if (method == QLatin1String("version")) {
        const QString protocol = params.toObject().value(QStringLiteral("protocol")).toString();
        if (!protocol.isEmpty() && !protocol.startsWith(QLatin1String("1."))) {
            send(*client,
                 { { QStringLiteral("id"), id },
                   { QStringLiteral("error"),
                     resError("system.unsupportedProtocol",
                              QStringLiteral("Unsupported protocol version")) } });
            return;
        }
        send(*client,
             { { QStringLiteral("id"), id },
               { QStringLiteral("result"),
                 QJsonObject { { QStringLiteral("protocol"), QStringLiteral("1.2.3") } } } });
    } else if (type == QLatin1String("auth")) {
        handleAuth(*client, id, method, params);
    } else if (type == QLatin1String("subscribe") || type == QLatin1String("get")
               || type == QLatin1String("call") || type == QLatin1String("new")) {
        // This gateway serves no resources.
        send(*client,
             { { QStringLiteral("id"), id },
               { QStringLiteral("error"), resError("system.notFound", QStringLiteral("Not found")) } });
    } else if (type == QLatin1String("unsubscribe")) {
        send(*client,
             { { QStringLiteral("id"), id },
               { QStringLiteral("error"),
                 resError("system.noSubscription", QStringLiteral("No subscription")) } });
    } else {
        send(*client,
             { { QStringLiteral("id"), id },
               { QStringLiteral("error"),
                 resError("system.methodNotFound", QStringLiteral("Method not found")) } });
    }
}

void EmulatedGateway::Private::send(Client &client, const QJsonObject &response)
{
    client.socket->sendTextMessage(QString::fromUtf8(QJsonDocument(response).toJson(QJsonDocument::Compact)));
}

void EmulatedGateway::Private::finishStopIfDone()
{
    if (!stopping || stopEmitted || !clients.isEmpty())
        return;
    stopEmitted = true;
    stopTimer.stop();
    qCDebug(lcGateway).noquote() << "gateway" << options.gid << "stopped";
    // Queued, so a caller of stop() can connect to stopped() after calling it.
    QMetaObject::invokeMethod(q, &EmulatedGateway::stopped, Qt::QueuedConnection);
}

EmulatedGateway::EmulatedGateway(NatsConnection *nats, const Options &options, QObject *parent)
    : QObject(parent), d(std::make_unique<Private>(this, nats, options))
{
    connect(&d->tcpServer, &QTcpServer::newConnection, this, [this] { d->onTcpConnection(); });
    connect(&d->webSocketServer, &QWebSocketServer::newConnection, this,
            [this] { d->onWebSocketConnection(); });
    d->stopTimer.setSingleShot(true);
    connect(&d->stopTimer, &QTimer::timeout, this, [this] {
        // Clients that did not answer the close frame in time are cut off.
        const QList<QByteArray> cids = d->clients.keys();
        for (const QByteArray &cid : cids) {
            if (Private::Client *client = d->clients.value(cid))
                client->socket->abort();
            // abort() normally reports the disconnection itself; this makes sure.
            d->onClientDisconnected(cid);
        }
    });
    if (nats)
        connect(nats, &NatsConnection::statusChanged, this, [this] { d->onNatsStatus(); });
}

EmulatedGateway::EmulatedGateway(NatsConnection *nats, QObject *parent)
    : EmulatedGateway(nats, Options {}, parent)
{ }

EmulatedGateway::~EmulatedGateway()
{
    // Dropped without stop(): like a crash, so no events. The hash is emptied
    // first so that disconnections reported while aborting find nothing to do.
    const QHash<QByteArray, Private::Client *> clients = std::exchange(d->clients, {});
    for (Private::Client *client : clients) {
        client->socket->abort();
        delete client->socket;
        d->releaseSubscription(client->subscription);
        delete client;
    }
    d->releaseSubscription(d->tokenSubscription);
    d->releaseSubscription(d->pollSubscription);
}

bool EmulatedGateway::start()
{
    if (d->tcpServer.isListening())
        return true;
    if (!d->nats) {
        d->errorString = tr("no NATS connection given");
        return false;
    }
    if (!d->tcpServer.listen(d->options.address, d->options.port)) {
        d->errorString = tr("cannot listen on %1: %2")
                             .arg(QString::fromLatin1(formatAddress(d->options.address, d->options.port)),
                                  d->tcpServer.errorString());
        return false;
    }
    d->errorString.clear();
    qCDebug(lcGateway).noquote() << "gateway" << d->options.gid << "listening on" << serverUrl().toString();
    d->onNatsStatus();
    return true;
}

void EmulatedGateway::stop(int closeTimeoutMs)
{
    if (d->stopping)
        return;
    d->stopping = true;
    d->tcpServer.close();
    d->releaseSubscription(d->pollSubscription);
    d->releaseSubscription(d->tokenSubscription);
    if (d->startAnnounced && d->nats)
        d->nats->publish("system.stop", Protocol::gatewayEventPayload(d->gid));
    const QList<QByteArray> cids = d->clients.keys();
    for (const QByteArray &cid : cids) {
        if (Private::Client *client = d->clients.value(cid))
            client->socket->close(QWebSocketProtocol::CloseCodeGoingAway,
                                  QStringLiteral("Gateway shutting down"));
    }
    d->stopTimer.start(closeTimeoutMs);
    d->finishStopIfDone();
}

bool EmulatedGateway::isListening() const
{
    return d->tcpServer.isListening();
}

bool EmulatedGateway::hasAnnouncedStart() const
{
    return d->startAnnounced;
}

QString EmulatedGateway::errorString() const
{
    return d->errorString;
}

QString EmulatedGateway::gid() const
{
    return d->options.gid;
}

bool EmulatedGateway::isStock() const
{
    return d->options.stock;
}

quint16 EmulatedGateway::port() const
{
    return d->tcpServer.serverPort();
}

QUrl EmulatedGateway::serverUrl() const
{
    if (!d->tcpServer.isListening())
        return {};
    QHostAddress address = d->tcpServer.serverAddress();
    if (address == QHostAddress::Any || address == QHostAddress::AnyIPv4)
        address = QHostAddress(QHostAddress::LocalHost);
    else if (address == QHostAddress::AnyIPv6)
        address = QHostAddress(QHostAddress::LocalHostIPv6);
    QUrl url;
    url.setScheme(QStringLiteral("ws"));
    url.setHost(address.toString());
    url.setPort(d->tcpServer.serverPort());
    url.setPath(QStringLiteral("/"));
    return url;
}

int EmulatedGateway::connectionCount() const
{
    return int(d->clients.size());
}

std::vector<Protocol::ConnectionEntry> EmulatedGateway::connections() const
{
    std::vector<Protocol::ConnectionEntry> entries;
    entries.reserve(size_t(d->clients.size()));
    for (const Private::Client *client : std::as_const(d->clients))
        entries.push_back({ client->cid, client->token, client->tid, client->remoteAddr, client->host });
    return entries;
}

QString EmulatedGateway::defaultGid()
{
    static std::atomic<int> count { 0 };
    const int n = ++count;
    QString host = QHostInfo::localHostName().section(QLatin1Char('.'), 0, 0);
    if (host.isEmpty())
        host = QStringLiteral("localhost");
    QString gid = QStringLiteral("gw-%1-%2").arg(host).arg(QCoreApplication::applicationPid());
    if (n > 1)
        gid += QStringLiteral("-%1").arg(n);
    return gid;
}

} // namespace ResWatch
