#pragma once

#include "reswatchcore_export.h"

#include <QObject>
#include <QString>

#include <memory>

namespace ResWatch {

class NatsConnection;

/**
 * The demo authentication service: answers `auth.demo.login` requests whose
 * params are `{"user": "<name>", "role": "<role>"}` (plus `"password"` when one
 * is set). For a good request it publishes `conn.<cid>.token` with a token such
 * as `{"user": "alice", "userId": 17, "role": "admin"}` and a tid, then replies
 * with the same token as the result. Bad params get `system.invalidParams`, a
 * wrong password `system.accessDenied`.
 *
 * The userId is derived from the user name, so every instance gives a user the
 * same id. Instances share the load through a NATS queue group. Not a real
 * identity service: there is no user database, and any name is accepted.
 */
class RESWATCH_CORE_EXPORT DemoAuthService : public QObject
{
    Q_OBJECT
public:
    /// The subject this service answers.
    static constexpr const char *Subject = "auth.demo.login";

    /// @p nats is not owned and must outlive the service.
    explicit DemoAuthService(NatsConnection *nats, QObject *parent = nullptr);
    ~DemoAuthService() override;

    /// Requires this password in every request; empty: none required.
    void setPassword(const QString &password);

    /// Subscribes as soon as NATS is connected (now, or later).
    void start();
    void stop();
    /// True while the subscription is in place.
    bool isRunning() const;
    /// Requests answered so far, good or bad.
    int answeredCount() const;

    /// The userId the service gives @p user: stable across runs and instances.
    static int userIdFor(const QString &user);

Q_SIGNALS:
    /// Subscribed and ready to answer.
    void ready();
    /// A connection was authenticated (its token event was published).
    void authenticated(const QByteArray &cid, const QString &user, const QString &role);

private:
    class Private;
    std::unique_ptr<Private> d;
};

} // namespace ResWatch
