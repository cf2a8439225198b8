#pragma once

// Shared by the emulated-gateway suites: a WebSocket client that speaks JSON,
// and a NATS observer that records everything the gateways publish.

#include "natsconnection.h"
#include "natsserver.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonValue>
#include <QProcess>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTest>
#include <QWebSocket>

#include <optional>

inline ResWatch::NatsOptions testNatsOptions(const NatsServer &server, const QString &name)
{
    ResWatch::NatsOptions options;
    options.urls = QStringList { server.url() };
    options.name = name;
    options.reconnectWaitMs = 50;
    options.maxReconnectWaitMs = 300;
    return options;
}

inline bool waitForNats(ResWatch::NatsConnection &nats, int timeoutMs = 5000)
{
    return QTest::qWaitFor([&] { return nats.isConnected(); }, timeoutMs);
}

inline QJsonObject jsonObject(const QByteArray &data)
{
    return QJsonDocument::fromJson(data).object();
}

inline QByteArray compactJson(const QJsonValue &value)
{
    if (value.isObject())
        return QJsonDocument(value.toObject()).toJson(QJsonDocument::Compact);
    if (value.isArray())
        return QJsonDocument(value.toArray()).toJson(QJsonDocument::Compact);
    const QByteArray wrapped = QJsonDocument(QJsonArray { value }).toJson(QJsonDocument::Compact);
    return wrapped.mid(1, wrapped.size() - 2);
}

/// A RES client: sends requests, keeps every message it receives.
class WsClient : public QObject
{
public:
    WsClient()
    {
        connect(&socket, &QWebSocket::textMessageReceived, this,
                [this](const QString &text) { received.append(text.toUtf8()); });
    }

    bool open(const QUrl &url)
    {
        socket.open(url);
        return QTest::qWaitFor([&] { return socket.state() == QAbstractSocket::ConnectedState; }, 5000);
    }

    /// "127.0.0.1:<port>" as the gateway sees this client.
    QByteArray localAddress() const { return "127.0.0.1:" + QByteArray::number(socket.localPort()); }

    /// Sends one frame and waits for the next message; nullopt after @p timeoutMs.
    std::optional<QJsonObject> sendRaw(const QByteArray &frame, int timeoutMs = 5000)
    {
        const qsizetype before = received.size();
        socket.sendTextMessage(QString::fromUtf8(frame));
        if (!QTest::qWaitFor([&] { return received.size() > before; }, timeoutMs))
            return std::nullopt;
        return jsonObject(received.at(before));
    }

    std::optional<QJsonObject> request(int id, const QString &method, const QJsonValue &params = {},
                                       int timeoutMs = 5000)
    {
        QJsonObject message { { QStringLiteral("id"), id }, { QStringLiteral("method"), method } };
        if (!params.isUndefined() && !params.isNull())
            message.insert(QStringLiteral("params"), params);
        return sendRaw(QJsonDocument(message).toJson(QJsonDocument::Compact), timeoutMs);
    }

    /// Whether the gateway still answers on this socket.
    bool answersVersion(int id = 9999)
    {
        const auto reply = request(id, QStringLiteral("version"),
                                   QJsonObject { { QStringLiteral("protocol"), QStringLiteral("1.2.3") } });
        return reply && reply->value(QStringLiteral("id")).toInt() == id
            && reply->value(QStringLiteral("result")).toObject().value(QStringLiteral("protocol")).toString()
            == QLatin1String("1.2.3");
    }

    QWebSocket socket;
    QList<QByteArray> received;
};

/// Records what is published on the tracking subjects (and anything else it is told to watch).
class NatsObserver
{
public:
    /// One subscription by default, so that messages keep the order the server sent them in.
    bool start(const NatsServer &server, const QList<QByteArray> &subjects = { ">" })
    {
        if (!nats.open(testNatsOptions(server, QStringLiteral("observer"))) || !waitForNats(nats))
            return false;
        for (const QByteArray &subject : subjects) {
            ResWatch::NatsSubscription *subscription = nats.subscribe(subject);
            if (!subscription)
                return false;
            QObject::connect(subscription, &ResWatch::NatsSubscription::received, &nats,
                             [this](const QList<ResWatch::NatsMessage> &batch) { messages += batch; });
        }
        return nats.flush();
    }

    QList<ResWatch::NatsMessage> withSubject(const QByteArray &subject) const
    {
        QList<ResWatch::NatsMessage> result;
        for (const ResWatch::NatsMessage &message : messages) {
            if (message.subject == subject)
                result.append(message);
        }
        return result;
    }
    int indexOf(const QByteArray &subject) const
    {
        for (int i = 0; i < messages.size(); ++i) {
            if (messages.at(i).subject == subject)
                return i;
        }
        return -1;
    }
    bool has(const QByteArray &subject) const { return indexOf(subject) >= 0; }
    /// Tracking events (connect, disconnect, start, stop) seen so far.
    int trackingEventCount() const
    {
        int count = 0;
        for (const ResWatch::NatsMessage &message : messages) {
            const QByteArray &s = message.subject;
            if (s == "system.start" || s == "system.stop" || s.endsWith(".connect")
                || s.endsWith(".disconnect"))
                ++count;
        }
        return count;
    }

    /// One system.connections poll: every reply that arrived within the quiet window.
    QList<ResWatch::NatsMessage> poll(int quietMs = 300, int maxWaitMs = 3000)
    {
        ResWatch::NatsRequest *request = nats.request("system.connections", QByteArray(), quietMs, maxWaitMs);
        if (!request)
            return {};
        QSignalSpy spy(request, &ResWatch::NatsRequest::finished);
        if (!spy.wait(maxWaitMs + 2000))
            return {};
        return spy.first().first().value<QList<ResWatch::NatsMessage>>();
    }

    ResWatch::NatsConnection nats;
    QList<ResWatch::NatsMessage> messages;
};

/// A child process that does not outlive a failed test.
struct ChildProcess : QProcess
{
    ~ChildProcess() override
    {
        if (state() != QProcess::NotRunning) {
            kill();
            waitForFinished(5000);
        }
    }
};

/// `reswatch gateway` as a separate process, so that it can be killed for real.
struct GatewayProcess
{
    /// Starts it on a free port with @p arguments (e.g. --gid, --stock) and waits until it listens.
    bool start(const NatsServer &server, const QStringList &arguments = {})
    {
        process.start(QStringLiteral(RESWATCH_EXECUTABLE),
                      QStringList { QStringLiteral("gateway"), QStringLiteral("--listen"),
                                    QStringLiteral("127.0.0.1:0"), QStringLiteral("--nats"), server.url() }
                          + arguments);
        if (!process.waitForStarted())
            return false;
        const QRegularExpression pattern(QStringLiteral("listening on (ws://\\S+)"));
        QRegularExpressionMatch match;
        const bool found = QTest::qWaitFor(
            [&] {
                output += process.readAllStandardOutput();
                match = pattern.match(QString::fromLocal8Bit(output));
                return match.hasMatch() || process.state() == QProcess::NotRunning;
            },
            10000);
        url = QUrl(match.captured(1));
        return found && match.hasMatch();
    }

    ChildProcess process;
    QUrl url;
    QByteArray output; ///< what it printed on standard output so far
};
