#pragma once

#include "reswatchcore_export.h"

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QObject>
#include <QUrl>

#include <memory>

namespace ResWatch {

/// What the built-in test WebSocket client does.
struct RESWATCH_CORE_EXPORT TestClientSettings
{
    struct Role
    {
        QString name;
        int weight = 1;
    };

    QList<QUrl> urls; ///< gateways, used in turn; ws:// or wss:// only
    int connections = 100; ///< how many to keep open
    double ratePerSecond = 100; ///< how fast new connections are opened
    bool sendVersion = true; ///< send a `version` request first
    QString authMethod; ///< e.g. "auth.demo.login"; empty: no auth request
    /// JSON params of the auth request; `{n}` is the connection's number, `{role}` a role from the mix.
    QByteArray authParams = R"({"user":"user-{n}","role":"{role}"})";
    QList<Role> roles; ///< weighted mix for `{role}`; empty: "guest"
    int churnMinMs = 0; ///< with churn, each connection lives a random time in
    int churnMaxMs = 0; ///< [min, max] then closes, and a new one opens
    int handshakeTimeoutMs = 10000;

    /// Parses "admin:1,guest:9". Returns false and sets @p error on bad input.
    static bool parseRoles(const QString &text, QList<Role> *roles, QString *error);
    /// Parses "5s..30s" (units ms, s, m). Returns false and sets @p error on bad input.
    static bool parseChurn(const QString &text, int *minMs, int *maxMs, QString *error);
    /// Why the settings cannot be used, or an empty string.
    QString validate() const;
};

/// Statistics of a test client run.
struct TestClientStats
{
    int open = 0;
    int opening = 0;
    int opened = 0; ///< handshakes that succeeded, in total
    int closed = 0; ///< closed on purpose (churn, stop)
    int dropped = 0; ///< closed by the other side
    int failed = 0; ///< handshakes that failed
    QHash<QString, int> failureReasons;
    int authAccepted = 0;
    int authRefused = 0;
    QHash<QString, int> refusalCodes;
    double handshakeP50Ms = 0, handshakeP90Ms = 0, handshakeP99Ms = 0;
    double authP50Ms = 0, authP90Ms = 0, authP99Ms = 0;

    /// One line for terminals and logs.
    QString summary() const;
};

/**
 * The built-in test WebSocket client: opens N connections to one or more RES
 * gateways at a ramp rate, optionally authenticates each with an auth request
 * built from a template, optionally churns, and keeps statistics.
 */
class RESWATCH_CORE_EXPORT TestClient : public QObject
{
    Q_OBJECT
public:
    explicit TestClient(QObject *parent = nullptr);
    ~TestClient() override;

    /// Starts; false with @p error when the settings are not usable.
    bool start(const TestClientSettings &settings, QString *error = nullptr);
    /// Closes every connection (with a close frame) and stops opening new ones.
    void stop();
    bool isRunning() const;
    TestClientSettings settings() const;
    TestClientStats stats() const;

Q_SIGNALS:
    /// At most ten times a second while something changes.
    void statsChanged();
    void runningChanged(bool running);

private:
    class Private;
    std::unique_ptr<Private> d;
};

} // namespace ResWatch
