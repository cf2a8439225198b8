#include "testclient.h"

#include "duration.h"

#include <QElapsedTimer>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLoggingCategory>
#include <QRandomGenerator>
#include <QTimer>
#include <QWebSocket>

#include <algorithm>
#include <vector>

Q_LOGGING_CATEGORY(lcTestClient, "reswatch.testclient", QtWarningMsg)

namespace ResWatch {

namespace {

constexpr int RampTickMs = 10;
constexpr int MaxLatencySamples = 100000; // percentiles over the most recent samples

double percentile(std::vector<double> samples, double p)
{
    if (samples.empty())
        return 0;
    const size_t at = std::min(samples.size() - 1, size_t(p * double(samples.size())));
    std::nth_element(samples.begin(), samples.begin() + qptrdiff(at), samples.end());
    return samples[at];
}

void addSample(std::vector<double> &samples, size_t &next, double value)
{
    if (samples.size() < MaxLatencySamples) {
        samples.push_back(value);
    } else {
        samples[next] = value;
        next = (next + 1) % MaxLatencySamples;
    }
}

} // namespace

bool TestClientSettings::parseRoles(const QString &text, QList<Role> *roles, QString *error)
{
    roles->clear();
    for (const QString &part : text.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        const QStringList nameWeight = part.trimmed().split(QLatin1Char(':'));
        bool numeric = true;
        const int weight = nameWeight.size() == 2 ? nameWeight.at(1).toInt(&numeric) : 1;
        if (nameWeight.size() > 2 || nameWeight.first().isEmpty() || !numeric || weight <= 0) {
            *error = QStringLiteral(
                         "bad role '%1': expected name:weight with a positive weight, as in admin:1,guest:9")
                         .arg(part.trimmed());
            return false;
        }
        roles->append({ nameWeight.first(), weight });
    }
    if (roles->isEmpty()) {
        *error = QStringLiteral("no roles given: expected name:weight pairs, as in admin:1,guest:9");
        return false;
    }
    return true;
}

bool TestClientSettings::parseChurn(const QString &text, int *minMs, int *maxMs, QString *error)
{
    const QStringList bounds = text.split(QStringLiteral(".."));
    *minMs = bounds.size() == 2 ? int(parseDurationMs(bounds.at(0))) : -1;
    *maxMs = bounds.size() == 2 ? int(parseDurationMs(bounds.at(1))) : -1;
    if (*minMs <= 0 || *maxMs < *minMs) {
        *error = QStringLiteral("bad churn '%1': expected MIN..MAX durations, as in 5s..30s").arg(text);
        return false;
    }
    return true;
}

QString TestClientSettings::validate() const
{
    if (urls.isEmpty())
        return QStringLiteral("no gateway URL given");
    for (const QUrl &url : urls) {
        if (!url.isValid() || url.host().isEmpty()
            || (url.scheme() != QLatin1String("ws") && url.scheme() != QLatin1String("wss")))
            return QStringLiteral("'%1' is not a WebSocket URL: use ws://host:port or wss://host:port")
                .arg(url.toString());
    }
    if (connections <= 0)
        return QStringLiteral("the number of connections must be positive");
    if (ratePerSecond <= 0)
        return QStringLiteral("the rate must be positive");
    if (!authMethod.isEmpty()) {
        QByteArray sample = authParams;
        sample.replace("{n}", "1").replace("{role}", "guest");
        QJsonParseError parseError;
        QJsonDocument::fromJson(sample, &parseError);
        if (parseError.error != QJsonParseError::NoError)
            return QStringLiteral("the auth params are not valid JSON: %1").arg(parseError.errorString());
    }
    if (churnMinMs < 0 || churnMaxMs < churnMinMs)
        return QStringLiteral("bad churn range");
    return {};
}

QString TestClientStats::summary() const
{
    QString text = QStringLiteral("open %1, opening %2, opened %3, failed %4, dropped %5")
                       .arg(open)
                       .arg(opening)
                       .arg(opened)
                       .arg(failed)
                       .arg(dropped);
    if (authAccepted + authRefused > 0)
        text += QStringLiteral(", auth accepted %1, refused %2").arg(authAccepted).arg(authRefused);
    text += QStringLiteral(", handshake p50/p90/p99 %1/%2/%3 ms")
                .arg(handshakeP50Ms, 0, 'f', 1)
                .arg(handshakeP90Ms, 0, 'f', 1)
                .arg(handshakeP99Ms, 0, 'f', 1);
    if (authAccepted + authRefused > 0)
        text += QStringLiteral(", auth p50/p90/p99 %1/%2/%3 ms")
                    .arg(authP50Ms, 0, 'f', 1)
                    .arg(authP90Ms, 0, 'f', 1)
                    .arg(authP99Ms, 0, 'f', 1);
    return text;
}

class TestClient::Private
{
public:
    struct Socket
    {
        QWebSocket *socket = nullptr;
        int number = 0;
        QElapsedTimer since; // handshake, then auth request
        bool open = false;
        bool closing = false; // closed on purpose
    };

    explicit Private(TestClient *q) : q(q) { }

    TestClient *q;
    TestClientSettings settings;
    TestClientStats stats;
    bool running = false;
    QTimer ramp;
    QTimer notify;
    QElapsedTimer rampClock;
    double budget = 0; // connections the rate allows to open now
    qint64 lastTickMs = 0;
    int nextNumber = 1;
    int urlIndex = 0;
    int totalRoleWeight = 0;
    QHash<QWebSocket *, Socket> sockets;
    std::vector<double> handshakeMs, authMs;
    size_t handshakeNext = 0, authNext = 0;
    bool dirty = false;

    void changed()
    {
        dirty = true;
        if (!notify.isActive())
            notify.start();
    }

    QString pickRole()
    {
        if (settings.roles.isEmpty())
            return QStringLiteral("guest");
        int pick = int(QRandomGenerator::global()->bounded(totalRoleWeight));
        for (const TestClientSettings::Role &role : std::as_const(settings.roles)) {
            if (pick < role.weight)
                return role.name;
            pick -= role.weight;
        }
        return settings.roles.last().name;
    }

    void tick()
    {
        const qint64 now = rampClock.elapsed();
        budget = qMin(budget + (now - lastTickMs) * settings.ratePerSecond / 1000.0,
                      qMax(1.0, settings.ratePerSecond / 10)); // no burst after a stall
        lastTickMs = now;
        while (budget >= 1 && stats.open + stats.opening < settings.connections) {
            budget -= 1;
            openOne();
        }
    }

    void openOne()
    {
        auto *socket = new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, q);
        Socket entry { socket, nextNumber++, {}, false, false };
        entry.since.start();
        sockets.insert(socket, entry);
        ++stats.opening;
        changed();
        QObject::connect(socket, &QWebSocket::connected, q, [this, socket] { onConnected(socket); });
        QObject::connect(socket, &QWebSocket::disconnected, q, [this, socket] { onDisconnected(socket); });
        QObject::connect(socket, &QWebSocket::textMessageReceived, q,
                         [this, socket](const QString &text) { onMessage(socket, text); });
        const QUrl url = settings.urls.at(urlIndex++ % settings.urls.size());
        QTimer::singleShot(settings.handshakeTimeoutMs, socket, [socket] {
            if (socket->state() != QAbstractSocket::ConnectedState)
                socket->abort();
        });
        socket->open(url);
    }

    void onConnected(QWebSocket *socket)
    {
        auto it = sockets.find(socket);
        if (it == sockets.end())
            return;
        --stats.opening;
        ++stats.open;
        ++stats.opened;
        it->open = true;
        addSample(handshakeMs, handshakeNext, it->since.nsecsElapsed() / 1e6);
        if (settings.sendVersion)
            socket->sendTextMessage(
                QStringLiteral(R"({"id":1,"method":"version","params":{"protocol":"1.2.3"}})"));
        if (!settings.authMethod.isEmpty()) {
            QByteArray params = settings.authParams;
            params.replace("{n}", QByteArray::number(it->number)).replace("{role}", pickRole().toUtf8());
            const QByteArray request
                = R"({"id":2,"method":")" + settings.authMethod.toUtf8() + R"(","params":)" + params + "}";
            it->since.restart();
            socket->sendTextMessage(QString::fromUtf8(request));
        }
        if (settings.churnMaxMs > 0) {
            const int life = settings.churnMinMs
                + int(QRandomGenerator::global()->bounded(settings.churnMaxMs - settings.churnMinMs + 1));
            QTimer::singleShot(life, socket, [this, socket] { closeOne(socket); });
        }
        changed();
    }

    void onMessage(QWebSocket *socket, const QString &text)
    {
        auto it = sockets.find(socket);
        if (it == sockets.end())
            return;
        const QJsonObject response = QJsonDocument::fromJson(text.toUtf8()).object();
        if (response.value(QLatin1String("id")).toInt() != 2)
            return;
        addSample(authMs, authNext, it->since.nsecsElapsed() / 1e6);
        if (response.contains(QLatin1String("error"))) {
            ++stats.authRefused;
            ++stats.refusalCodes
                  [response.value(QLatin1String("error")).toObject().value(QLatin1String("code")).toString()];
        } else {
            ++stats.authAccepted;
        }
        changed();
    }

    void closeOne(QWebSocket *socket)
    {
        auto it = sockets.find(socket);
        if (it == sockets.end() || it->closing)
            return;
        it->closing = true;
        socket->close(QWebSocketProtocol::CloseCodeNormal, QStringLiteral("test client closing"));
    }

    void onDisconnected(QWebSocket *socket)
    {
        const auto it = sockets.find(socket);
        if (it == sockets.end())
            return;
        if (it->open) {
            --stats.open;
            ++(it->closing ? stats.closed : stats.dropped);
        } else {
            --stats.opening;
            ++stats.failed;
            QString reason = socket->errorString();
            if (reason.isEmpty() || socket->error() == QAbstractSocket::UnknownSocketError)
                reason = QStringLiteral("handshake timed out or was refused");
            ++stats.failureReasons[reason];
            qCDebug(lcTestClient) << "connection failed:" << reason;
        }
        sockets.erase(it);
        socket->deleteLater();
        changed();
    }

    void computePercentiles()
    {
        stats.handshakeP50Ms = percentile(handshakeMs, 0.5);
        stats.handshakeP90Ms = percentile(handshakeMs, 0.9);
        stats.handshakeP99Ms = percentile(handshakeMs, 0.99);
        stats.authP50Ms = percentile(authMs, 0.5);
        stats.authP90Ms = percentile(authMs, 0.9);
        stats.authP99Ms = percentile(authMs, 0.99);
    }
};

TestClient::TestClient(QObject *parent) : QObject(parent), d(std::make_unique<Private>(this))
{
    d->ramp.setInterval(RampTickMs);
    connect(&d->ramp, &QTimer::timeout, this, [this] { d->tick(); });
    d->notify.setInterval(100);
    d->notify.setSingleShot(true);
    connect(&d->notify, &QTimer::timeout, this, [this] {
        if (d->dirty) {
            d->dirty = false;
            d->computePercentiles();
            Q_EMIT statsChanged();
        }
    });
}

TestClient::~TestClient()
{
    // Sockets are children; abort quietly instead of emitting into a half-destroyed object.
    for (auto it = d->sockets.begin(); it != d->sockets.end(); ++it)
        it.key()->disconnect(this);
}

bool TestClient::start(const TestClientSettings &settings, QString *error)
{
    const QString problem = settings.validate();
    if (!problem.isEmpty()) {
        if (error)
            *error = problem;
        return false;
    }
    if (d->running)
        stop();
    d->settings = settings;
    d->stats = {};
    d->handshakeMs.clear();
    d->authMs.clear();
    d->totalRoleWeight = 0;
    for (const TestClientSettings::Role &role : settings.roles)
        d->totalRoleWeight += role.weight;
    d->budget = 1;
    d->lastTickMs = 0;
    d->rampClock.start();
    d->running = true;
    d->ramp.start();
    d->tick();
    Q_EMIT runningChanged(true);
    return true;
}

void TestClient::stop()
{
    if (!d->running)
        return;
    d->running = false;
    d->ramp.stop();
    const QList<QWebSocket *> sockets = d->sockets.keys();
    for (QWebSocket *socket : sockets) {
        if (d->sockets.value(socket).open)
            d->closeOne(socket);
        else
            socket->abort();
    }
    d->changed();
    Q_EMIT runningChanged(false);
}

bool TestClient::isRunning() const
{
    return d->running;
}

TestClientSettings TestClient::settings() const
{
    return d->settings;
}

TestClientStats TestClient::stats() const
{
    d->computePercentiles();
    return d->stats;
}

} // namespace ResWatch
