#include "demoauthservice.h"

#include "natsconnection.h"
#include "protocol.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLoggingCategory>
#include <QPointer>

Q_LOGGING_CATEGORY(lcDemoAuth, "reswatch.demoauth", QtInfoMsg)

namespace ResWatch {

namespace {

constexpr int MaxNameLength = 64;

QByteArray jsonString(const QString &text)
{
    const QByteArray array = QJsonDocument(QJsonArray { text }).toJson(QJsonDocument::Compact);
    return array.mid(1, array.size() - 2);
}

QByteArray errorReply(const char *code, const QString &message)
{
    return "{\"error\":{\"code\":\"" + QByteArray(code) + "\",\"message\":" + jsonString(message) + "}}";
}

// One token of a NATS subject: the cid is put into conn.<cid>.token.
bool isSubjectToken(const QString &text)
{
    if (text.isEmpty() || text.size() > MaxNameLength)
        return false;
    for (QChar c : text) {
        if (c == QLatin1Char('.') || c == QLatin1Char('*') || c == QLatin1Char('>') || c.unicode() <= ' '
            || c.unicode() >= 0x7f)
            return false;
    }
    return true;
}

bool isName(const QString &text)
{
    if (text.trimmed().isEmpty() || text.size() > MaxNameLength)
        return false;
    for (QChar c : text) {
        if (c.category() == QChar::Other_Control)
            return false;
    }
    return true;
}

} // namespace

class DemoAuthService::Private
{
public:
    void onRequests(const QList<NatsMessage> &messages);
    QByteArray answer(const QByteArray &data);

    DemoAuthService *q = nullptr;
    QPointer<NatsConnection> nats;
    QPointer<NatsSubscription> subscription;
    QString password;
    bool wanted = false;
    int answered = 0;
};

QByteArray DemoAuthService::Private::answer(const QByteArray &data)
{
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(data, &error);
    if (!document.isObject())
        return errorReply("system.invalidParams", QStringLiteral("Request is not a JSON object"));
    const QJsonObject request = document.object();
    const QString cid = request.value(QStringLiteral("cid")).toString();
    if (!isSubjectToken(cid))
        return errorReply("system.invalidParams", QStringLiteral("Missing or invalid cid"));
    const QJsonValue paramsValue = request.value(QStringLiteral("params"));
    if (!paramsValue.isObject())
        return errorReply("system.invalidParams",
                          QStringLiteral("Params must be {\"user\": \"<name>\", \"role\": \"<role>\"}"));
    const QJsonObject params = paramsValue.toObject();
    const QString user = params.value(QStringLiteral("user")).toString();
    const QString role = params.value(QStringLiteral("role")).toString();
    if (!isName(user))
        return errorReply("system.invalidParams", QStringLiteral("Missing or invalid user"));
    if (!isName(role))
        return errorReply("system.invalidParams", QStringLiteral("Missing or invalid role"));
    if (!password.isEmpty() && params.value(QStringLiteral("password")).toString() != password)
        return errorReply("system.accessDenied", QStringLiteral("Wrong password"));

    const QByteArray token = "{\"user\":" + jsonString(user) + ",\"userId\":"
        + QByteArray::number(DemoAuthService::userIdFor(user)) + ",\"role\":" + jsonString(role) + '}';
    const QByteArray tid = "demo-" + user.toUtf8();
    // The token event goes out before the reply, as a RES service must: the
    // gateway applies it before the client learns that the login succeeded.
    if (!nats->publish("conn." + cid.toLatin1() + ".token", Protocol::tokenPayload(token, tid)))
        return errorReply("system.internalError", QStringLiteral("Cannot publish the token"));
    qCDebug(lcDemoAuth).noquote() << "authenticated" << cid << "as" << user << role;
    Q_EMIT q->authenticated(cid.toLatin1(), user, role);
    return "{\"result\":" + token + '}';
}

void DemoAuthService::Private::onRequests(const QList<NatsMessage> &messages)
{
    for (const NatsMessage &message : messages) {
        if (message.reply.isEmpty())
            continue; // a plain subscriber's copy, or a publish without a reply: nobody to answer
        nats->publish(message.reply, answer(message.data));
        ++answered;
    }
}

DemoAuthService::DemoAuthService(NatsConnection *nats, QObject *parent)
    : QObject(parent), d(std::make_unique<Private>())
{
    d->q = this;
    d->nats = nats;
    if (nats) {
        connect(nats, &NatsConnection::statusChanged, this, [this] {
            if (d->wanted)
                start();
        });
    }
}

DemoAuthService::~DemoAuthService()
{
    stop();
}

void DemoAuthService::setPassword(const QString &password)
{
    d->password = password;
}

void DemoAuthService::start()
{
    d->wanted = true;
    if (d->subscription || !d->nats || d->nats->status() != NatsConnection::Status::Connected)
        return;
    d->subscription = d->nats->subscribe(Subject, "reswatch-demo-auth");
    if (!d->subscription) {
        qCWarning(lcDemoAuth) << "cannot subscribe to" << Subject << ":" << d->nats->lastError();
        return;
    }
    connect(d->subscription, &NatsSubscription::received, this,
            [this](const QList<NatsMessage> &messages) { d->onRequests(messages); });
    // Make sure the server knows the subscription before anyone relies on it.
    d->nats->flush(2000);
    qCDebug(lcDemoAuth) << "answering" << Subject;
    Q_EMIT ready();
}

void DemoAuthService::stop()
{
    d->wanted = false;
    if (d->subscription) {
        d->subscription->unsubscribe();
        delete d->subscription.data();
    }
}

bool DemoAuthService::isRunning() const
{
    return d->subscription;
}

int DemoAuthService::answeredCount() const
{
    return d->answered;
}

int DemoAuthService::userIdFor(const QString &user)
{
    // FNV-1a: unlike qHash, the same in every process.
    quint32 hash = 2166136261u;
    for (char c : user.toUtf8()) {
        hash ^= uchar(c);
        hash *= 16777619u;
    }
    return int(hash % 1000) + 1;
}

} // namespace ResWatch
