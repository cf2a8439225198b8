#include "monitorsource.h"

#include "clock.h"
#include "connzparser.h"
#include "natsconnection.h"
#include "tracker.h"

#include <QElapsedTimer>
#include <QHash>
#include <QLoggingCategory>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QPointer>
#include <QSet>
#include <QTimer>
#include <QUrlQuery>

#include <algorithm>
#include <functional>

namespace ResWatch {

Q_LOGGING_CATEGORY(lcMonitor, "reswatch.monitor", QtInfoMsg)

namespace {

const QByteArray SystemConnzSubject = QByteArrayLiteral("$SYS.REQ.SERVER.PING.CONNZ");
// A runaway server (or a proxy looping on one page) must not keep a read going forever.
constexpr int MaxPages = 100000;

// One server's clients being gathered across pages.
struct ServerRead
{
    QByteArray id;
    QByteArray name;
    std::vector<MonitorClient> clients;
    QSet<quint64> seen; ///< NATS cids already read: a page may repeat one when clients come and go
    qint64 firstTotal = -1;
    qint64 lastTotal = 0;
    bool consistent = true;
    bool hasMore = false;
    qint64 nextOffset = 0;

    void add(ConnzPage &page)
    {
        if (firstTotal < 0)
            firstTotal = page.total;
        else if (page.total != firstTotal)
            consistent = false; // clients came or went between pages: one may have been skipped
        lastTotal = page.total;
        for (MonitorClient &client : page.clients) {
            if (!seen.contains(client.cid)) {
                seen.insert(client.cid);
                clients.push_back(std::move(client));
            }
        }
        hasMore = page.hasMore();
        nextOffset = page.offset + qint64(page.clients.size());
    }
    bool complete() const { return consistent && qint64(seen.size()) >= lastTotal; }
};

} // namespace

struct Endpoint
{
    QString scope;
    QUrl base; ///< HTTP endpoints
    QPointer<NatsConnection> system; ///< $SYS endpoints
    bool isSystem = false;
    MonitorSource::Status status;

    // The read in progress.
    bool busy = false;
    QPointer<QNetworkReply> reply;
    QPointer<NatsRequest> request;
    QElapsedTimer timer;
    int pages = 0;
    ServerRead http; ///< HTTP: the one server behind the URL
    QHash<QByteArray, ServerRead> servers; ///< $SYS: by server id, in answer order below
    QList<QByteArray> serverOrder;
    bool systemComplete = true;
    quint64 generation = 0; ///< bumped on every read and on removal, to drop stale callbacks
};

class MonitorSource::Private
{
public:
    void startRead(Endpoint *endpoint);
    void httpGet(Endpoint *endpoint, const QUrl &url, std::function<void(const QByteArray &)> done);
    void readPage(Endpoint *endpoint);
    void systemRound(Endpoint *endpoint, qint64 offset);
    void systemAnswers(Endpoint *endpoint, const QList<NatsMessage> &replies, qint64 offset);
    void finish(Endpoint *endpoint, MonitorSnapshot &snapshot);
    void fail(Endpoint *endpoint, const QString &message);
    void readDone(Endpoint *endpoint);
    Endpoint *find(const QString &scope) const;
    /// @p e if it still exists (it may have been removed) and is still in read @p generation.
    bool isCurrent(const Endpoint *e, quint64 generation) const
    {
        for (const auto &endpoint : endpoints) {
            if (endpoint.get() == e)
                return e->generation == generation;
        }
        return false;
    }

    MonitorSource *q = nullptr;
    QPointer<Tracker> tracker;
    Options options;
    QNetworkAccessManager network;
    std::vector<std::unique_ptr<Endpoint>> endpoints;
    QTimer timer;
    int readsInFlight = 0;
};

Endpoint *MonitorSource::Private::find(const QString &scope) const
{
    for (const auto &endpoint : endpoints) {
        if (endpoint->scope == scope)
            return endpoint.get();
    }
    return nullptr;
}

void MonitorSource::Private::startRead(Endpoint *e)
{
    e->busy = true;
    ++e->generation;
    ++readsInFlight;
    e->timer.start();
    e->pages = 0;
    if (e->isSystem) {
        e->servers.clear();
        e->serverOrder.clear();
        e->systemComplete = true;
        if (!e->system || !e->system->isConnected()) {
            const QString message = e->system
                ? QStringLiteral("not connected to NATS (%1)").arg(e->system->lastError())
                : QStringLiteral("the system connection is gone");
            // Reads always end after pollNow() returns, as the network ones do.
            const quint64 generation = e->generation;
            QTimer::singleShot(0, q, [this, e, generation, message] {
                if (isCurrent(e, generation))
                    fail(e, message);
            });
            return;
        }
        systemRound(e, 0);
        return;
    }
    e->http = ServerRead();
    // /varz names the server (connz pages carry only its id), for readable, stable gids.
    QUrl varz = e->base;
    varz.setPath(e->base.path() + QStringLiteral("/varz"));
    const quint64 generation = e->generation;
    httpGet(e, varz, [this, e, generation](const QByteArray &body) {
        if (generation != e->generation)
            return;
        e->http.name = ConnzParser::parseServerName(body);
        readPage(e);
    });
}

void MonitorSource::Private::httpGet(Endpoint *e, const QUrl &url,
                                     std::function<void(const QByteArray &)> done)
{
    QNetworkRequest request(url);
    request.setTransferTimeout(options.timeoutMs);
    request.setAttribute(QNetworkRequest::RedirectPolicyAttribute, QNetworkRequest::NoLessSafeRedirectPolicy);
    QNetworkReply *reply = network.get(request);
    e->reply = reply;
    ++e->pages;
    const quint64 generation = e->generation;
    QObject::connect(
        reply, &QNetworkReply::finished, q, [this, e, reply, generation, done = std::move(done)] {
            reply->deleteLater();
            if (!isCurrent(e, generation))
                return; // removed, or a newer read started
            e->reply = nullptr;
            const int httpStatus = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
            if (httpStatus != 0 && httpStatus != 200) {
                fail(e,
                     QStringLiteral("%1: HTTP %2 %3")
                         .arg(reply->url().toString())
                         .arg(httpStatus)
                         .arg(reply->attribute(QNetworkRequest::HttpReasonPhraseAttribute).toString()));
                return;
            }
            if (reply->error() != QNetworkReply::NoError) {
                QString message = reply->error() == QNetworkReply::OperationCanceledError
                    ? QStringLiteral("no answer within %1 ms").arg(options.timeoutMs)
                    : reply->errorString();
                fail(e, QStringLiteral("%1: %2").arg(reply->url().toString(), message));
                return;
            }
            if (httpStatus != 200) {
                fail(e, QStringLiteral("%1: HTTP %2").arg(reply->url().toString()).arg(httpStatus));
                return;
            }
            done(reply->readAll());
        });
}

void MonitorSource::Private::readPage(Endpoint *e)
{
    QUrl url = e->base;
    url.setPath(e->base.path() + QStringLiteral("/connz"));
    QUrlQuery query;
    query.addQueryItem(QStringLiteral("subs"), QStringLiteral("detail"));
    query.addQueryItem(QStringLiteral("offset"), QString::number(e->http.nextOffset));
    query.addQueryItem(QStringLiteral("limit"), QString::number(options.pageLimit));
    url.setQuery(query);
    const quint64 generation = e->generation;
    httpGet(e, url, [this, e, generation, url](const QByteArray &body) {
        if (generation != e->generation)
            return;
        ConnzPage page;
        QString error;
        if (!ConnzParser::parse(body, &page, &error)) {
            fail(e, QStringLiteral("%1: %2").arg(url.toString(), error));
            return;
        }
        if (!e->http.id.isEmpty() && page.serverId != e->http.id) {
            fail(e, QStringLiteral("%1: the server changed while it was read").arg(e->scope));
            return;
        }
        e->http.id = page.serverId;
        e->http.add(page);
        if (e->http.hasMore && e->pages < MaxPages) {
            readPage(e);
            return;
        }
        MonitorSnapshot snapshot;
        snapshot.scope = e->scope;
        snapshot.complete = e->http.complete();
        // An unnamed server's name is its id: the gid then uses the short id.
        const QByteArray name = e->http.name == e->http.id ? QByteArray() : e->http.name;
        snapshot.servers.push_back({ e->http.id, name, std::move(e->http.clients) });
        finish(e, snapshot);
    });
}

void MonitorSource::Private::systemRound(Endpoint *e, qint64 offset)
{
    const QByteArray options_ = "{\"subscriptions\":true,\"subscriptions_detail\":true,\"offset\":"
        + QByteArray::number(offset) + ",\"limit\":" + QByteArray::number(options.pageLimit) + "}";
    NatsRequest *request
        = e->system->request(SystemConnzSubject, options_, options.systemQuietMs, options.timeoutMs);
    ++e->pages;
    e->request = request;
    const quint64 generation = e->generation;
    QObject::connect(request, &NatsRequest::finished, q,
                     [this, e, generation, offset](const QList<NatsMessage> &replies) {
                         if (!isCurrent(e, generation))
                             return;
                         e->request = nullptr;
                         systemAnswers(e, replies, offset);
                     });
}

void MonitorSource::Private::systemAnswers(Endpoint *e, const QList<NatsMessage> &replies, qint64 offset)
{
    QStringList errors;
    QSet<QByteArray> answered;
    for (const NatsMessage &reply : replies) {
        ConnzPage page;
        QString error;
        if (!ConnzParser::parse(reply.data, &page, &error)) {
            errors << error;
            continue;
        }
        const bool known = e->servers.contains(page.serverId);
        if (!known && offset > 0) {
            e->systemComplete = false; // a server that joined mid-read: next poll
            continue;
        }
        ServerRead &server = e->servers[page.serverId];
        if (!known) {
            e->serverOrder.append(page.serverId);
            server.id = page.serverId;
        }
        server.name = page.serverName == page.serverId ? QByteArray() : page.serverName;
        if (page.offset != offset)
            continue; // an answer to an earlier round, late
        answered.insert(page.serverId);
        server.add(page);
    }
    if (offset == 0 && e->servers.isEmpty()) {
        fail(e,
             errors.isEmpty()
                 ? QStringLiteral("no server answered %1 (are these system account credentials?)")
                       .arg(QString::fromLatin1(SystemConnzSubject))
                 : errors.join(QLatin1String("; ")));
        return;
    }
    if (!errors.isEmpty()) {
        qCWarning(lcMonitor).noquote()
            << e->scope << "- some servers answered with errors:" << errors.join(QLatin1String("; "));
        e->systemComplete = false;
    }
    // Servers page independently with the same offset; ask again while any has more.
    bool more = false;
    qint64 nextOffset = offset + options.pageLimit;
    for (auto it = e->servers.begin(); it != e->servers.end(); ++it) {
        if (!it->hasMore)
            continue;
        if (offset > 0 && !answered.contains(it.key())) {
            it->hasMore = false;
            it->consistent = false; // it stopped answering mid-read
            continue;
        }
        more = true;
        nextOffset = std::min(nextOffset, it->nextOffset);
    }
    if (more && e->pages < MaxPages) {
        systemRound(e, std::max(nextOffset, offset + 1));
        return;
    }
    MonitorSnapshot snapshot;
    snapshot.scope = e->scope;
    snapshot.complete = e->systemComplete;
    for (const QByteArray &id : std::as_const(e->serverOrder)) {
        ServerRead &server = e->servers[id];
        snapshot.complete = snapshot.complete && server.complete();
        snapshot.servers.push_back({ server.id, server.name, std::move(server.clients) });
    }
    finish(e, snapshot);
}

void MonitorSource::Private::finish(Endpoint *e, MonitorSnapshot &snapshot)
{
    int gateways = 0;
    int connections = 0;
    for (const MonitorSnapshot::Server &server : snapshot.servers) {
        for (const MonitorClient &client : server.clients) {
            if (client.isGateway()) {
                ++gateways;
                connections += int(client.connectionIds.size());
            }
        }
    }
    if (!snapshot.complete)
        qCInfo(lcMonitor).noquote()
            << e->scope << "- clients changed while paging: vanished gateways wait for the next read";
    if (tracker)
        tracker->applyMonitorSnapshot(snapshot);
    Status &s = e->status;
    s.state = State::Ok;
    s.stale = false;
    s.error.clear();
    s.lastSuccessMs = tracker ? tracker->clock()->nowMs() : 0;
    s.servers = int(snapshot.servers.size());
    s.gateways = gateways;
    s.connections = connections;
    s.pages = e->pages;
    s.durationMs = e->timer.elapsed();
    qCDebug(lcMonitor).noquote() << e->scope << "read:" << gateways << "gateways," << connections
                                 << "connections in" << s.pages << "requests," << s.durationMs << "ms";
    e->http = ServerRead();
    e->servers.clear();
    Q_EMIT q->statusChanged(s);
    readDone(e);
}

void MonitorSource::Private::fail(Endpoint *e, const QString &message)
{
    ++e->generation; // whatever of this read is still on its way is void
    if (e->reply)
        e->reply->abort();
    e->reply = nullptr;
    e->request = nullptr;
    e->http = ServerRead();
    e->servers.clear();
    if (tracker)
        tracker->markMonitorStale(e->scope);
    Status &s = e->status;
    const bool changed = s.state != State::Error || s.error != message;
    s.state = State::Error;
    s.stale = s.lastSuccessMs > 0;
    s.error = message;
    if (changed)
        qCWarning(lcMonitor).noquote() << "cannot read" << e->scope << "-" << message;
    Q_EMIT q->errorOccurred(e->scope, message);
    Q_EMIT q->statusChanged(s);
    readDone(e);
}

void MonitorSource::Private::readDone(Endpoint *e)
{
    if (!e->busy)
        return;
    e->busy = false;
    if (--readsInFlight == 0)
        Q_EMIT q->pollFinished();
}

MonitorSource::MonitorSource(Tracker *tracker, QObject *parent) : MonitorSource(tracker, Options {}, parent)
{ }

MonitorSource::MonitorSource(Tracker *tracker, const Options &options, QObject *parent)
    : QObject(parent), d(std::make_unique<Private>())
{
    qRegisterMetaType<ResWatch::MonitorSource::Status>();
    d->q = this;
    d->tracker = tracker;
    d->options = options;
    d->options.pageLimit = std::max(1, options.pageLimit);
    d->options.timeoutMs = std::max(1, options.timeoutMs);
    const int interval = options.intervalMs > 0 ? options.intervalMs : tracker->settings().pollIntervalMs;
    d->options.intervalMs = std::max(1, interval);
    d->timer.setInterval(d->options.intervalMs);
    connect(&d->timer, &QTimer::timeout, this, &MonitorSource::pollNow);
}

MonitorSource::~MonitorSource()
{
    for (const auto &endpoint : d->endpoints) {
        ++endpoint->generation;
        if (endpoint->reply)
            endpoint->reply->abort();
    }
}

QString MonitorSource::addEndpoint(const QUrl &url, QString *error)
{
    auto reject = [&](const QString &why) {
        if (error)
            *error = QStringLiteral("%1: %2").arg(url.toString(), why);
        return QString();
    };
    if (!url.isValid() || url.host().isEmpty())
        return reject(QStringLiteral("not a URL"));
    if (url.scheme() != QLatin1String("http") && url.scheme() != QLatin1String("https"))
        return reject(QStringLiteral("a monitoring endpoint is http:// or https://"));
    QUrl base = url.adjusted(QUrl::RemoveQuery | QUrl::RemoveFragment | QUrl::StripTrailingSlash);
    // Accept the URL of a page as well as the endpoint's.
    for (const QLatin1String page : { QLatin1String("/connz"), QLatin1String("/varz") }) {
        if (base.path().endsWith(page))
            base.setPath(base.path().chopped(page.size()));
    }
    const QString scope = base.toString();
    if (d->find(scope))
        return scope;
    auto endpoint = std::make_unique<Endpoint>();
    endpoint->scope = scope;
    endpoint->base = base;
    endpoint->status.scope = scope;
    d->endpoints.push_back(std::move(endpoint));
    if (isRunning())
        d->startRead(d->endpoints.back().get());
    return scope;
}

QString MonitorSource::addSystemEndpoint(NatsConnection *systemConnection)
{
    const QString scope = QStringLiteral("$SYS %1").arg(QString::number(quintptr(systemConnection), 16));
    if (d->find(scope))
        return scope;
    auto endpoint = std::make_unique<Endpoint>();
    endpoint->scope = scope;
    endpoint->system = systemConnection;
    endpoint->isSystem = true;
    endpoint->status.scope = scope;
    d->endpoints.push_back(std::move(endpoint));
    if (isRunning())
        d->startRead(d->endpoints.back().get());
    return scope;
}

void MonitorSource::removeEndpoint(const QString &scope)
{
    const auto it = std::find_if(d->endpoints.begin(), d->endpoints.end(),
                                 [&](const auto &endpoint) { return endpoint->scope == scope; });
    if (it == d->endpoints.end())
        return;
    Endpoint *e = it->get();
    ++e->generation;
    if (e->reply)
        e->reply->abort();
    const bool wasBusy = e->busy;
    std::unique_ptr<Endpoint> removed = std::move(*it);
    d->endpoints.erase(it);
    if (d->tracker)
        d->tracker->forgetMonitorScope(scope);
    if (wasBusy && --d->readsInFlight == 0)
        Q_EMIT pollFinished();
}

QStringList MonitorSource::scopes() const
{
    QStringList out;
    for (const auto &endpoint : d->endpoints)
        out << endpoint->scope;
    return out;
}

QVector<MonitorSource::Status> MonitorSource::statuses() const
{
    QVector<Status> out;
    for (const auto &endpoint : d->endpoints)
        out << endpoint->status;
    return out;
}

MonitorSource::Status MonitorSource::status(const QString &scope) const
{
    const Endpoint *e = d->find(scope);
    return e ? e->status : Status {};
}

MonitorSource::Options MonitorSource::options() const
{
    return d->options;
}

void MonitorSource::start()
{
    d->timer.start();
    pollNow();
}

void MonitorSource::stop()
{
    d->timer.stop();
}

bool MonitorSource::isRunning() const
{
    return d->timer.isActive();
}

void MonitorSource::pollNow()
{
    for (const auto &endpoint : d->endpoints) {
        if (!endpoint->busy)
            d->startRead(endpoint.get());
    }
}

} // namespace ResWatch
