#include "natsconnection.h"

#include <QElapsedTimer>
#include <QFile>
#include <QLoggingCategory>
#include <QMutex>
#include <QPointer>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QTimer>
#include <QUrl>

#include <nats/nats.h>

#include <functional>
#include <thread>

Q_LOGGING_CATEGORY(lcNats, "reswatch.nats", QtInfoMsg)

namespace ResWatch {

namespace {

constexpr int kDrainPaceMs = 2;
constexpr qsizetype kBacklogBatch = 4096;
constexpr int kLibraryPendingMessages = 4 * 1024 * 1024;
constexpr int kLibraryPendingBytes = 1024 * 1024 * 1024;

// nats.c opens itself lazily, but two threads opening it at once is not allowed
// (nats_Open's documentation), so the first connection opens it explicitly, once.
natsStatus openLibrary()
{
    static const natsStatus status = nats_Open(-1);
    return status;
}

QString statusText(natsStatus status)
{
    return QString::fromUtf8(natsStatus_GetText(status));
}

// nats.c's thread-local error of the last failed call on this thread, with its status.
QString lastLibraryError(natsStatus status)
{
    // Without nats.c's "(conn.c:1905): " source locations, which mean nothing to a user.
    static const QRegularExpression location(QStringLiteral("\\(\\w+\\.c:\\d+\\): "));
    const QString text = QString::fromUtf8(nats_GetLastError(nullptr)).remove(location);
    const QString generic = statusText(status);
    if (text.isEmpty() || text == generic)
        return generic;
    return generic + QStringLiteral(": ") + text;
}

QUrl parseNatsUrl(const QString &url)
{
    QString text = url.trimmed();
    if (!text.contains(QLatin1String("://")))
        text.prepend(QLatin1String("nats://"));
    return QUrl(text, QUrl::StrictMode);
}

// For logs and error texts: the password (or a token given as the user name) never shows.
QString redactedUrl(const QString &url)
{
    const QUrl parsed = parseNatsUrl(url);
    if (!parsed.isValid() || parsed.userInfo().isEmpty())
        return parsed.isValid() ? parsed.toString() : QStringLiteral("<malformed>");
    QUrl copy = parsed;
    if (parsed.password().isEmpty())
        copy.setUserInfo(QStringLiteral("***"));
    else
        copy.setPassword(QStringLiteral("***"));
    return copy.toString();
}

// One allocation per message instead of one per field: the subject, reply and payload are
// slices of a single "subject\0reply\0payload\0" block that they share (each stays
// NUL-terminated). malloc/free were the top of the profile at 1-2 M messages/s, with the
// frees happening on another thread than the mallocs; this halves them. A kept field
// retains at most its own message's block.
NatsMessage copyMessage(natsMsg *msg, int length)
{
    const char *subject = natsMsg_GetSubject(msg);
    const char *reply = natsMsg_GetReply(msg);
    const qsizetype subjectLength = qsizetype(qstrlen(subject));
    const qsizetype replyLength = reply ? qsizetype(qstrlen(reply)) : 0;
    const qsizetype total = subjectLength + 1 + replyLength + 1 + length + 1;

    auto [header, block] = QTypedArrayData<char>::allocate(total);
    Q_CHECK_PTR(header);
    char *const replyAt = block + subjectLength + 1;
    char *const dataAt = replyAt + replyLength + 1;
    memcpy(block, subject, size_t(subjectLength));
    block[subjectLength] = '\0';
    if (replyLength > 0)
        memcpy(replyAt, reply, size_t(replyLength));
    replyAt[replyLength] = '\0';
    if (length > 0)
        memcpy(dataAt, natsMsg_GetData(msg), size_t(length));
    dataAt[length] = '\0';

    NatsMessage message;
    message.subject = QByteArray(QByteArray::DataPointer(header, block, subjectLength));
    if (replyLength > 0) {
        header->ref();
        message.reply = QByteArray(QByteArray::DataPointer(header, replyAt, replyLength));
    }
    if (length > 0) {
        header->ref();
        message.data = QByteArray(QByteArray::DataPointer(header, dataAt, length));
    }
    return message;
}

QString checkReadable(const QString &what, const QString &path, QByteArray *content = nullptr)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return QStringLiteral("cannot read the %1 '%2': %3").arg(what, path, file.errorString());
    if (content)
        *content = file.read(1024 * 1024);
    return {};
}

// nats.c reads the file only when connecting, and then retries forever with a vague error:
// check its shape (as `nsc` writes it) up front. The seed must be in the same file.
QString checkCredentials(const QString &path)
{
    QByteArray content;
    if (const QString problem = checkReadable(QStringLiteral("credentials file"), path, &content);
        !problem.isEmpty())
        return problem;
    const bool jwt = content.contains("-----BEGIN NATS USER JWT-----");
    const bool seed = content.contains("-----BEGIN USER NKEY SEED-----");
    if (jwt && seed)
        return {};
    return QStringLiteral("the credentials file '%1' holds no %2 (expected a .creds file as written by nsc)")
        .arg(path, jwt ? QStringLiteral("user NKey seed") : QStringLiteral("NATS user JWT"));
}

} // namespace

QStringList NatsOptions::defaultUrls()
{
    QStringList urls;
    const QString env = qEnvironmentVariable("NATS_URL");
    for (const QString &url : env.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        const QString trimmed = url.trimmed();
        if (!trimmed.isEmpty())
            urls.append(trimmed);
    }
    if (urls.isEmpty())
        urls.append(QStringLiteral("nats://127.0.0.1:4222"));
    return urls;
}

NatsOptions NatsOptions::fromEnvironment()
{
    NatsOptions options;
    options.urls = defaultUrls();
    options.user = qEnvironmentVariable("NATS_USER");
    options.password = qEnvironmentVariable("NATS_PASSWORD");
    options.token = qEnvironmentVariable("NATS_TOKEN");
    options.credentialsFile = qEnvironmentVariable("NATS_CREDS");
    return options;
}

// State shared between the owning thread and nats.c's threads. It outlives the
// QObject it reports to: nats.c holds a reference until its last callback, and the
// QObject's destructor nulls `owner` under the mutex, after which callbacks do nothing.
struct SharedState
{
    QAtomicInt refs = 1;
    QMutex mutex;

    void ref() { refs.ref(); }
    template<typename T> static void deref(T *state)
    {
        if (!state->refs.deref())
            delete state;
    }
};

struct ConnectionShared : SharedState
{
    NatsConnection *owner = nullptr;
    // Which open() this state belongs to: callbacks of a closed connection that
    // are still queued must not act on the one opened after it.
    quint64 generation = 0;
    // Read-only once the connection exists: the reconnect delay reads them unlocked.
    int reconnectWaitMs = 250;
    int maxReconnectWaitMs = 5000;
};

struct SubscriptionShared : SharedState
{
    NatsSubscription *owner = nullptr;
    QList<NatsMessage> pending;
    qint64 pendingBytes = 0;
    qint64 maxPendingMessages = 0;
    qint64 maxPendingBytes = 0;
    quint64 dropped = 0; ///< by us, when the owning thread fell behind
    quint64 droppedSinceDrain = 0;
    bool drainScheduled = false;
};

class NatsConnection::Private
{
public:
    explicit Private(NatsConnection *q) : q(q) { }

    void setStatus(Status newStatus)
    {
        if (status == newStatus)
            return;
        status = newStatus;
        qCDebug(lcNats) << "status" << newStatus;
        Q_EMIT q->statusChanged(newStatus);
    }

    // Our own texts never contain a secret; this is the safety net for texts that quote a
    // URL or come from nats.c. Short secrets are only replaced where a URL would carry
    // them, or every "b" of a message would become "***" for the password "b".
    QString scrub(QString text) const
    {
        for (const QString &secret : secrets) {
            if (secret.size() >= 6) {
                text.replace(secret, QLatin1String("***"));
            } else {
                text.replace(QLatin1Char(':') + secret + QLatin1Char('@'), QLatin1String(":***@"));
                text.replace(QLatin1String("//") + secret + QLatin1Char('@'), QLatin1String("//***@"));
            }
        }
        return text;
    }

    void setError(const QString &text, bool emitSignal)
    {
        lastError = scrub(text);
        // Reported through errorOccurred() and lastError(); the owner decides how to show it.
        qCDebug(lcNats).noquote() << lastError;
        if (emitSignal)
            Q_EMIT q->errorOccurred(lastError);
    }

    // Detaches from the nats.c connection: its pending and future callbacks are dropped.
    void release()
    {
        if (diagnosticOptions) {
            natsOptions_Destroy(diagnosticOptions);
            diagnosticOptions = nullptr;
        }
        if (shared) {
            {
                QMutexLocker lock(&shared->mutex);
                shared->owner = nullptr;
            }
            SharedState::deref(shared);
            shared = nullptr;
        }
        if (nc) {
            // Closes the socket and every subscription; joins nats.c's reader,
            // flusher and reconnect threads. Bounded: at most a 500 ms flush.
            natsConnection_Destroy(nc);
            nc = nullptr;
        }
    }

    bool fail(const QString &text)
    {
        setError(text, false);
        return false;
    }

    bool open(const NatsOptions &options);
    NatsSubscription *subscribe(const QByteArray &subject, const QByteArray &queueGroup, int maxMessages,
                                QObject *parent);

    // nats.c callbacks, on its threads.
    template<typename F> static void post(void *closure, F &&function);
    static void onConnected(natsConnection *, void *closure);
    static void onDisconnected(natsConnection *, void *closure);
    static void onReconnected(natsConnection *, void *closure);
    static void onClosed(natsConnection *, void *closure);
    static void onError(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure);
    static int64_t reconnectDelay(natsConnection *, int attempts, void *closure);

    NatsConnection *q;
    natsConnection *nc = nullptr;
    ConnectionShared *shared = nullptr;
    quint64 generations = 0; // counts open() calls, see ConnectionShared::generation
    Status status = Status::Closed;
    bool everConnected = false;
    QString lastError;
    QStringList secrets;
    QStringList displayUrls;
    int maxPendingMessages = 0;
    int maxPendingBytes = 0;
    QString slowSubject;
    natsOptions *diagnosticOptions = nullptr; ///< ours, to find out why nats.c gave up

    void diagnoseClose(const QString &reported);
    void finishClose(const QString &reason);
    QElapsedTimer slowReported;
};

class NatsSubscription::Private
{
public:
    explicit Private(NatsSubscription *q) : q(q) { }

    void detach()
    {
        if (!shared)
            return;
        {
            QMutexLocker lock(&shared->mutex);
            shared->owner = nullptr;
            shared->pending.clear();
        }
        SharedState::deref(shared);
        shared = nullptr;
    }

    void drain();
    static void onMessage(natsConnection *, natsSubscription *, natsMsg *msg, void *closure);
    static void onComplete(void *closure);

    NatsSubscription *q;
    natsSubscription *sub = nullptr;
    SubscriptionShared *shared = nullptr;
    QByteArray subject;
    quint64 dropped = 0; ///< ours, as of the last drain or the unsubscription
    quint64 libraryDropped = 0; ///< nats.c's, as of the unsubscription
    QList<NatsMessage> spare; ///< the previous batch's storage, handed back to the callback
    bool overflowing = false;
    QElapsedTimer lastReport;
    qsizetype backlogBatch = kBacklogBatch;
    std::function<void(const QString &)> reportError;
};

class NatsRequest::Private
{
public:
    void finish(NatsRequest *q)
    {
        if (done)
            return;
        done = true;
        quietTimer.stop();
        maxTimer.stop();
        delete subscription; // unsubscribes from the inbox
        subscription = nullptr;
        Q_EMIT q->finished(replies);
        q->deleteLater();
    }

    QList<NatsMessage> replies;
    QPointer<NatsSubscription> subscription;
    QTimer quietTimer;
    QTimer maxTimer;
    int maxReplies = 0;
    bool done = false;
};

// --- callbacks (nats.c threads) ---------------------------------------------

template<typename F> void NatsConnection::Private::post(void *closure, F &&function)
{
    auto *shared = static_cast<ConnectionShared *>(closure);
    QMutexLocker lock(&shared->mutex);
    // Posting under the mutex: the owner cannot be destroyed meanwhile, and once it
    // is, Qt discards the events still queued for it.
    if (NatsConnection *owner = shared->owner) {
        QMetaObject::invokeMethod(
            owner,
            [owner, generation = shared->generation, function = std::forward<F>(function)] {
                Private *d = owner->d.get();
                if (d->shared && d->shared->generation == generation)
                    function(d);
            },
            Qt::QueuedConnection);
    }
}

void NatsConnection::Private::onConnected(natsConnection *, void *closure)
{
    post(closure, [](Private *d) {
        d->everConnected = true;
        d->setStatus(Status::Connected);
        Q_EMIT d->q->connected();
    });
}

void NatsConnection::Private::onDisconnected(natsConnection *, void *closure)
{
    post(closure, [](Private *d) {
        if (d->status == Status::Closed)
            return;
        d->setStatus(d->everConnected ? Status::Reconnecting : Status::Connecting);
        Q_EMIT d->q->disconnected();
    });
}

void NatsConnection::Private::onReconnected(natsConnection *, void *closure)
{
    post(closure, [](Private *d) {
        d->everConnected = true;
        d->setStatus(Status::Connected);
        Q_EMIT d->q->reconnected();
    });
}

void NatsConnection::Private::onClosed(natsConnection *nc, void *closure)
{
    // We only get here for a close we did not ask for (ours detach first).
    const char *last = nullptr;
    const natsStatus reason = natsConnection_GetLastError(nc, &last);
    QString text;
    if (reason != NATS_OK) {
        text = statusText(reason);
        const QString detail = QString::fromUtf8(last ? last : "");
        if (!detail.isEmpty() && detail != text)
            text += QStringLiteral(": ") + detail;
    }
    post(closure, [text](Private *d) { d->diagnoseClose(text); });
    // nats.c posts the closed callback last, after joining the threads that could
    // call the others, on its single callback thread: nothing uses the closure after this.
    SharedState::deref(static_cast<ConnectionShared *>(closure));
}

// nats.c gave up on its own: with unlimited reconnects, because a server refused the
// credentials twice in a row, or the TLS handshake failed. It then only reports "no server
// available"; the server's "Authorization Violation" or OpenSSL's reason is lost in its
// reconnect thread. One plain connect attempt with the same options, on a short-lived thread
// (it may take up to the connect timeout), recovers the real reason from nats.c's
// thread-local error before closed() is emitted.
void NatsConnection::Private::diagnoseClose(const QString &reported)
{
    if (!diagnosticOptions || !shared) {
        finishClose(reported);
        return;
    }
    natsOptions *opts = diagnosticOptions;
    diagnosticOptions = nullptr;
    natsOptions_SetRetryOnFailedConnect(opts, false, nullptr, nullptr);
    natsOptions_SetAllowReconnect(opts, false);
    natsOptions_SetCustomReconnectDelay(opts, nullptr, nullptr);
    natsOptions_SetDisconnectedCB(opts, nullptr, nullptr);
    natsOptions_SetReconnectedCB(opts, nullptr, nullptr);
    natsOptions_SetClosedCB(opts, nullptr, nullptr);
    natsOptions_SetErrorHandler(opts, nullptr, nullptr);
    ConnectionShared *state = shared;
    state->ref();
    std::thread([opts, state, reported] {
        natsConnection *probe = nullptr;
        const natsStatus s = natsConnection_Connect(&probe, opts);
        const QString reason = s == NATS_OK ? reported : lastLibraryError(s);
        natsConnection_Destroy(probe);
        natsOptions_Destroy(opts);
        post(state, [reason](Private *d) { d->finishClose(reason); });
        SharedState::deref(state);
    }).detach();
}

void NatsConnection::Private::finishClose(const QString &reason)
{
    setError(
        QStringLiteral("the NATS client gave up: %1").arg(reason.isEmpty() ? statusText(NATS_ERR) : reason),
        true);
    setStatus(Status::Closed);
    Q_EMIT q->closed();
}

void NatsConnection::Private::onError(natsConnection *nc, natsSubscription *sub, natsStatus err,
                                      void *closure)
{
    QString text;
    if (err == NATS_SLOW_CONSUMER && sub) {
        const char *subject = natsSubscription_GetSubject(sub);
        const QString name = QString::fromUtf8(subject ? subject : "?");
        post(closure, [name](Private *d) {
            // nats.c reports again as soon as its queue recovers and overflows anew,
            // which under a sustained flood is many times a second: once per second will do.
            if (name == d->slowSubject && d->slowReported.isValid() && !d->slowReported.hasExpired(1000)) {
                qCDebug(lcNats) << "slow consumer on" << name << "again";
                return;
            }
            d->slowSubject = name;
            d->slowReported.start();
            d->setError(
                QStringLiteral("slow consumer on '%1': the NATS client library dropped messages").arg(name),
                true);
        });
        return;
    } else {
        const char *last = nullptr;
        natsConnection_GetLastError(nc, &last);
        text = statusText(err);
        const QString detail = QString::fromUtf8(last ? last : "");
        if (!detail.isEmpty() && detail != text)
            text += QStringLiteral(": ") + detail;
    }
    post(closure, [text](Private *d) { d->setError(text, true); });
}

int64_t NatsConnection::Private::reconnectDelay(natsConnection *, int attempts, void *closure)
{
    auto *shared = static_cast<ConnectionShared *>(closure);
    int64_t delay = qMax(1, shared->reconnectWaitMs);
    const int64_t ceiling = qMax<int64_t>(delay, shared->maxReconnectWaitMs);
    for (int i = 1; i < attempts && delay < ceiling; ++i)
        delay *= 2;
    delay = qMin(delay, ceiling);
    // Up to +25 % so that many clients of a restarted server do not come back in lockstep.
    delay += qint64(QRandomGenerator::global()->bounded(quint64(delay / 4 + 1)));
    // nats.c asks for the delay before each round over the server list; at the
    // second call a whole round has failed.
    if (attempts == 2)
        post(closure, [](Private *d) {
            d->setError(QStringLiteral("cannot reach any NATS server of %1; retrying in the background")
                            .arg(d->displayUrls.join(QLatin1String(", "))),
                        true);
        });
    return delay;
}

void NatsSubscription::Private::onMessage(natsConnection *, natsSubscription *, natsMsg *msg, void *closure)
{
    auto *shared = static_cast<SubscriptionShared *>(closure);
    const int length = natsMsg_GetDataLength(msg);
    // The server's "no responders" status (empty payload, a 503 header) is no application message.
    if (length == 0 && natsMsg_IsNoResponders(msg)) {
        natsMsg_Destroy(msg);
        return;
    }
    // Copied outside the lock; only the append is serialized with the owning thread.
    NatsMessage message = copyMessage(msg, length);
    natsMsg_Destroy(msg);
    const qint64 bytes = message.subject.size() + message.reply.size() + message.data.size();

    QMutexLocker lock(&shared->mutex);
    NatsSubscription *owner = shared->owner;
    if (!owner)
        return;
    if (shared->pending.size() >= shared->maxPendingMessages
        || shared->pendingBytes + bytes > shared->maxPendingBytes) {
        // The owning thread fell behind: drop, count, and let the pending drain report it.
        ++shared->dropped;
        ++shared->droppedSinceDrain;
        return;
    }
    if (shared->pending.capacity() == 0)
        shared->pending.reserve(1024);
    shared->pending.append(std::move(message));
    shared->pendingBytes += bytes;
    // One queued call per batch, not per message: per-message posting was 4 to 7 times slower.
    // No call at all while the owning thread has its next drain scheduled (see drain()).
    if (!shared->drainScheduled) {
        shared->drainScheduled = true;
        QMetaObject::invokeMethod(
            owner, [owner] { owner->d->drain(); }, Qt::QueuedConnection);
    }
}

void NatsSubscription::Private::onComplete(void *closure)
{
    // nats.c calls this once the subscription is closed and its handler has returned.
    SharedState::deref(static_cast<SubscriptionShared *>(closure));
}

void NatsSubscription::Private::drain()
{
    if (!shared)
        return;
    QList<NatsMessage> batch = std::move(spare);
    spare = {};
    quint64 newlyDropped = 0;
    {
        QMutexLocker lock(&shared->mutex);
        batch.swap(shared->pending);
        shared->pendingBytes = 0;
        if (batch.isEmpty())
            shared->drainScheduled = false;
        newlyDropped = shared->droppedSinceDrain;
        shared->droppedSinceDrain = 0;
        dropped = shared->dropped;
    }
    QPointer<NatsSubscription> guard(q);
    // Reported once per burst: at its first drop, then not again until a batch came through
    // whole and a second passed (a flood that outruns the application comes in waves).
    if (newlyDropped > 0 && !overflowing) {
        overflowing = true;
        const bool quiet = lastReport.isValid() && !lastReport.hasExpired(1000);
        lastReport.start();
        if (quiet) {
            qCDebug(lcNats).noquote()
                << "subscription to" << subject << "dropping again;" << dropped << "so far";
        } else if (reportError) {
            reportError(QStringLiteral("slow consumer on '%1': messages dropped because the application "
                                       "fell behind (%2 so far)")
                            .arg(QString::fromUtf8(subject))
                            .arg(dropped));
            if (!guard)
                return;
        }
    } else if (newlyDropped == 0 && overflowing) {
        overflowing = false;
        qCInfo(lcNats).noquote() << "subscription to" << subject << "caught up;" << dropped
                                 << "messages dropped in total";
    }
    const bool got = !batch.isEmpty();
    if (got)
        Q_EMIT q->received(batch);
    if (!guard)
        return;
    // While messages keep coming, this thread schedules its own next drain and nats.c's
    // thread posts nothing: at once when it is behind, else after kDrainPaceMs. Being woken
    // by the other thread for every small batch (tens of thousands a second when this thread
    // is faster than the flow) cost more than the messages themselves: 50-95k batches for 2M
    // messages, against a few hundred paced, and ~600-1200 against ~420-700 ns of CPU a message.
    if (got) {
        if (batch.size() >= backlogBatch)
            QMetaObject::invokeMethod(
                q, [this] { drain(); }, Qt::QueuedConnection);
        else
            QTimer::singleShot(kDrainPaceMs, Qt::PreciseTimer, q, [this] { drain(); });
    }
    // Keep the storage for the next batch unless a burst made it huge.
    if (batch.capacity() > 65536)
        return;
    batch.clear();
    if (spare.isEmpty())
        spare = std::move(batch);
}

// --- NatsConnection ---------------------------------------------------------

NatsConnection::NatsConnection(QObject *parent) : QObject(parent), d(std::make_unique<Private>(this))
{
    qRegisterMetaType<ResWatch::NatsMessage>();
    qRegisterMetaType<QList<ResWatch::NatsMessage>>();
}

NatsConnection::~NatsConnection()
{
    d->release();
}

bool NatsConnection::Private::open(const NatsOptions &options)
{
    secrets.clear();
    for (const QString &secret : { options.password, options.token })
        if (!secret.isEmpty())
            secrets.append(secret);

    const QStringList urls = options.urls.isEmpty() ? NatsOptions::defaultUrls() : options.urls;
    QList<QByteArray> urlBytes;
    displayUrls.clear();
    bool tlsUrl = false;
    for (const QString &url : urls) {
        const QUrl parsed = parseNatsUrl(url);
        if (!parsed.userInfo().isEmpty())
            secrets.append(parsed.password().isEmpty() ? parsed.userName() : parsed.password());
        const QString scheme = parsed.scheme().toLower();
        if (!parsed.isValid() || parsed.host().isEmpty()
            || (scheme != QLatin1String("nats") && scheme != QLatin1String("tls"))
            || (!parsed.path().isEmpty() && parsed.path() != QLatin1String("/")) || parsed.hasQuery()
            || parsed.hasFragment() || parsed.port() == 0) {
            displayUrls.clear();
            return fail(QStringLiteral("malformed NATS server URL '%1' (expected nats://host:port or "
                                       "tls://host:port)")
                            .arg(scrub(url.trimmed())));
        }
        tlsUrl = tlsUrl || scheme == QLatin1String("tls");
        urlBytes.append(parsed.toString(QUrl::FullyEncoded).toUtf8());
        displayUrls.append(redactedUrl(url));
    }
    if (!options.credentialsFile.isEmpty()) {
        const QString problem = checkCredentials(options.credentialsFile);
        if (!problem.isEmpty())
            return fail(problem);
    }
    const QList<std::pair<QString, QString>> tlsFiles { { QStringLiteral("TLS CA file"), options.caFile },
                                                        { QStringLiteral("TLS certificate"),
                                                          options.certFile },
                                                        { QStringLiteral("TLS key"), options.keyFile } };
    for (const auto &[what, path] : tlsFiles) {
        if (path.isEmpty())
            continue;
        const QString problem = checkReadable(what, path);
        if (!problem.isEmpty())
            return fail(problem);
    }
    if (options.certFile.isEmpty() != options.keyFile.isEmpty())
        return fail(QStringLiteral("a TLS client certificate needs both certFile and keyFile"));
    if (options.maxPendingMessages <= 0 || options.maxPendingBytes <= 0)
        return fail(QStringLiteral("the pending limits must be positive"));

    if (const natsStatus s = openLibrary(); s != NATS_OK)
        return fail(QStringLiteral("cannot initialize the NATS client library: %1").arg(statusText(s)));

    natsOptions *opts = nullptr;
    natsStatus s = natsOptions_Create(&opts);
    std::vector<const char *> servers;
    for (const QByteArray &url : urlBytes)
        servers.push_back(url.constData());
    const QByteArray name = options.name.toUtf8();
    const QByteArray user = options.user.toUtf8();
    const QByteArray password = options.password.toUtf8();
    const QByteArray token = options.token.toUtf8();
    const QByteArray creds = QFile::encodeName(options.credentialsFile);
    const QByteArray ca = QFile::encodeName(options.caFile);
    const QByteArray cert = QFile::encodeName(options.certFile);
    const QByteArray key = QFile::encodeName(options.keyFile);

    auto *state = new ConnectionShared; // our reference
    state->ref(); // nats.c's, released by its closed callback
    state->owner = q;
    state->generation = ++generations;
    state->reconnectWaitMs = qMax(1, options.reconnectWaitMs);
    state->maxReconnectWaitMs = qMax(state->reconnectWaitMs, options.maxReconnectWaitMs);

    QString step;
    auto apply = [&](natsStatus result, const QString &what) {
        if (s == NATS_OK && result != NATS_OK) {
            s = result;
            step = what;
        }
    };
    if (s == NATS_OK) {
        apply(natsOptions_SetServers(opts, servers.data(), int(servers.size())), QStringLiteral("servers"));
        if (options.sharedDeliveryThread)
            apply(natsOptions_UseGlobalMessageDelivery(opts, true), QStringLiteral("shared delivery"));
        if (!name.isEmpty())
            apply(natsOptions_SetName(opts, name.constData()), QStringLiteral("client name"));
        if (!user.isEmpty() || !password.isEmpty())
            apply(natsOptions_SetUserInfo(opts, user.constData(), password.constData()),
                  QStringLiteral("user"));
        if (!token.isEmpty())
            apply(natsOptions_SetToken(opts, token.constData()), QStringLiteral("token"));
        if (!creds.isEmpty())
            apply(natsOptions_SetUserCredentialsFromFiles(opts, creds.constData(), nullptr),
                  QStringLiteral("credentials file"));
        if (tlsUrl || !ca.isEmpty() || !cert.isEmpty())
            apply(natsOptions_SetSecure(opts, true), QStringLiteral("TLS"));
        if (!ca.isEmpty())
            apply(natsOptions_LoadCATrustedCertificates(opts, ca.constData()), QStringLiteral("TLS CA file"));
        if (!cert.isEmpty())
            apply(natsOptions_LoadCertificatesChain(opts, cert.constData(), key.constData()),
                  QStringLiteral("TLS certificate"));
        apply(natsOptions_SetMaxReconnect(opts, -1), QStringLiteral("reconnect"));
        apply(natsOptions_SetCustomReconnectDelay(opts, &Private::reconnectDelay, state),
              QStringLiteral("reconnect"));
        apply(natsOptions_SetRetryOnFailedConnect(opts, true, &Private::onConnected, state),
              QStringLiteral("retry"));
        apply(natsOptions_SetDisconnectedCB(opts, &Private::onDisconnected, state),
              QStringLiteral("callbacks"));
        apply(natsOptions_SetReconnectedCB(opts, &Private::onReconnected, state),
              QStringLiteral("callbacks"));
        apply(natsOptions_SetClosedCB(opts, &Private::onClosed, state), QStringLiteral("callbacks"));
        apply(natsOptions_SetErrorHandler(opts, &Private::onError, state), QStringLiteral("callbacks"));
    }
    if (s != NATS_OK) {
        const QString text = lastLibraryError(s);
        natsOptions_Destroy(opts);
        SharedState::deref(state);
        SharedState::deref(state);
        return fail(QStringLiteral("unusable NATS options (%1): %2").arg(step, text));
    }

    maxPendingMessages = options.maxPendingMessages;
    maxPendingBytes = options.maxPendingBytes;
    qCDebug(lcNats).noquote() << "connecting to" << displayUrls.join(QLatin1String(", ")) << "as"
                              << options.name;
    // With retry-on-failed-connect and a connected callback, this tries each server
    // once and, failing that, returns NATS_NOT_YET_CONNECTED and keeps trying in the background.
    s = natsConnection_Connect(&nc, opts);
    if (s == NATS_OK || s == NATS_NOT_YET_CONNECTED)
        diagnosticOptions = opts; // nats.c keeps its own copy
    else
        natsOptions_Destroy(opts);
    if (s == NATS_OK) {
        shared = state;
        everConnected = true;
        setStatus(Status::Connected);
        Q_EMIT q->connected();
        return true;
    }
    if (s == NATS_NOT_YET_CONNECTED && nc) {
        shared = state;
        setError(QStringLiteral("not connected yet to %1, retrying in the background")
                     .arg(displayUrls.join(QLatin1String(", "))),
                 false);
        setStatus(Status::Connecting);
        return true;
    }
    const QString text = lastLibraryError(s);
    state->owner = nullptr;
    if (nc) {
        // The closed callback releases nats.c's reference to the state.
        natsConnection_Destroy(nc);
        nc = nullptr;
    }
    // Without a connection nats.c normally keeps no reference, but on one path (no thread
    // for retrying) it still posts the closed callback: leak a few bytes rather than risk
    // a double free.
    SharedState::deref(state);
    return fail(QStringLiteral("cannot connect to %1: %2").arg(displayUrls.join(QLatin1String(", ")), text));
}

bool NatsConnection::open(const NatsOptions &options)
{
    close();
    return d->open(options);
}

void NatsConnection::close()
{
    if (!d->nc && !d->shared)
        return;
    d->release();
    d->setStatus(Status::Closed);
    Q_EMIT closed();
}

NatsConnection::Status NatsConnection::status() const
{
    return d->status;
}

QString NatsConnection::connectedUrl() const
{
    if (!d->nc || d->status != Status::Connected)
        return {};
    char buffer[1024];
    if (natsConnection_GetConnectedUrl(d->nc, buffer, sizeof buffer) != NATS_OK)
        return {};
    return redactedUrl(QString::fromUtf8(buffer));
}

QString NatsConnection::lastError() const
{
    return d->lastError;
}

qint64 NatsConnection::maxPayload() const
{
    if (!d->nc || d->status != Status::Connected)
        return 0;
    return natsConnection_GetMaxPayload(d->nc);
}

bool NatsConnection::publish(const QByteArray &subject, const QByteArray &data, const QByteArray &reply)
{
    if (!d->nc) {
        d->setError(QStringLiteral("cannot publish on '%1': not open").arg(QString::fromUtf8(subject)), true);
        return false;
    }
    if (subject.isEmpty()) {
        d->setError(QStringLiteral("cannot publish: empty subject"), true);
        return false;
    }
    const natsStatus s = reply.isEmpty()
        ? natsConnection_Publish(d->nc, subject.constData(), data.constData(), int(data.size()))
        : natsConnection_PublishRequest(d->nc, subject.constData(), reply.constData(), data.constData(),
                                        int(data.size()));
    if (s != NATS_OK) {
        d->setError(
            QStringLiteral("cannot publish on '%1': %2").arg(QString::fromUtf8(subject), lastLibraryError(s)),
            true);
        return false;
    }
    return true;
}

QByteArray NatsConnection::newInbox() const
{
    if (openLibrary() != NATS_OK)
        return {};
    natsInbox *inbox = nullptr;
    if (natsInbox_Create(&inbox) != NATS_OK)
        return {};
    const QByteArray result(inbox);
    natsInbox_Destroy(inbox);
    return result;
}

NatsSubscription *NatsConnection::Private::subscribe(const QByteArray &subject, const QByteArray &queueGroup,
                                                     int maxMessages, QObject *parent)
{
    if (!nc) {
        setError(QStringLiteral("cannot subscribe to '%1': not open").arg(QString::fromUtf8(subject)), false);
        return nullptr;
    }
    if (subject.isEmpty()) {
        setError(QStringLiteral("cannot subscribe: empty subject"), false);
        return nullptr;
    }
    auto *state = new SubscriptionShared;
    state->maxPendingMessages = maxPendingMessages;
    state->maxPendingBytes = maxPendingBytes;
    state->ref(); // nats.c's reference, released by onComplete

    natsSubscription *sub = nullptr;
    natsStatus s = queueGroup.isEmpty()
        ? natsConnection_Subscribe(&sub, nc, subject.constData(), &NatsSubscription::Private::onMessage,
                                   state)
        : natsConnection_QueueSubscribe(&sub, nc, subject.constData(), queueGroup.constData(),
                                        &NatsSubscription::Private::onMessage, state);
    if (s != NATS_OK) {
        const QString text = lastLibraryError(s);
        SharedState::deref(state);
        SharedState::deref(state);
        setError(QStringLiteral("cannot subscribe to '%1': %2").arg(QString::fromUtf8(subject), text), false);
        return nullptr;
    }
    // No message can be delivered to an owner yet (it is null), so setting these now is race-free.
    s = natsSubscription_SetOnCompleteCB(sub, &NatsSubscription::Private::onComplete, state);
    if (s != NATS_OK) {
        // Only possible if the subscription is already closed; then nats.c may still be in
        // its handler, so its reference is leaked rather than freed under its feet.
        qCWarning(lcNats) << "cannot watch the end of the subscription to" << subject << statusText(s);
    }
    // nats.c's own queue only sits between its reader and delivery threads, which our
    // handler drains quickly; the application's limit is applied in front of the owning thread.
    // (Not through natsOptions_SetMaxPendingMsgs: nats.c 3.4 derives a bytes limit of
    // messages * 1024 in an int from it, which overflows to an invalid 0 at 4M messages.)
    if (natsSubscription_SetPendingLimits(sub, qMax(maxPendingMessages, kLibraryPendingMessages),
                                          qMax(maxPendingBytes, kLibraryPendingBytes))
        != NATS_OK)
        qCWarning(lcNats) << "cannot set the pending limits of the subscription to" << subject;
    if (maxMessages > 0)
        natsSubscription_AutoUnsubscribe(sub, maxMessages);

    auto *subscription = new NatsSubscription(parent);
    subscription->d->sub = sub;
    subscription->d->shared = state;
    subscription->d->subject = subject;
    // Two paced milliseconds must not be able to fill a small pending limit.
    subscription->d->backlogBatch = qMin<qsizetype>(kBacklogBatch, qMax(1, maxPendingMessages / 4));
    QPointer<NatsConnection> connection(q);
    subscription->d->reportError = [connection](const QString &text) {
        if (connection)
            connection->d->setError(text, true);
    };
    {
        QMutexLocker lock(&state->mutex);
        state->owner = subscription;
    }
    qCDebug(lcNats) << "subscribed to" << subject;
    return subscription;
}

NatsSubscription *NatsConnection::subscribe(const QByteArray &subject, const QByteArray &queueGroup)
{
    return d->subscribe(subject, queueGroup, 0, this);
}

NatsRequest *NatsConnection::request(const QByteArray &subject, const QByteArray &data, int quietMs,
                                     int maxWaitMs, int maxReplies)
{
    auto *request = new NatsRequest(this);
    NatsRequest::Private *r = request->d.get();
    r->maxReplies = qMax(0, maxReplies);
    auto finishSoon = [request] {
        QMetaObject::invokeMethod(
            request, [request] { request->d->finish(request); }, Qt::QueuedConnection);
    };

    const QByteArray inbox = newInbox();
    // Subscribe before publishing: SUB precedes PUB on the connection's single stream,
    // so the server knows the inbox before any responder sees the request.
    r->subscription = inbox.isEmpty() ? nullptr : d->subscribe(inbox, {}, r->maxReplies, request);
    if (!r->subscription) {
        d->setError(
            QStringLiteral("cannot send the request '%1': %2").arg(QString::fromUtf8(subject), d->lastError),
            true);
        finishSoon();
        return request;
    }
    if (!publish(subject, data, inbox)) {
        finishSoon();
        return request;
    }
    connect(r->subscription, &NatsSubscription::received, request,
            [request](const QList<NatsMessage> &batch) {
                NatsRequest::Private *r = request->d.get();
                if (r->done)
                    return;
                if (r->maxReplies > 0) {
                    r->replies.append(batch.mid(0, r->maxReplies - r->replies.size()));
                    if (r->replies.size() >= r->maxReplies) {
                        r->finish(request);
                        return;
                    }
                } else {
                    r->replies.append(batch);
                }
                r->quietTimer.start();
            });
    r->quietTimer.setSingleShot(true);
    r->quietTimer.setInterval(qMax(0, quietMs));
    r->maxTimer.setSingleShot(true);
    r->maxTimer.setInterval(qMax(0, maxWaitMs));
    connect(&r->quietTimer, &QTimer::timeout, request, [request] { request->d->finish(request); });
    connect(&r->maxTimer, &QTimer::timeout, request, [request] { request->d->finish(request); });
    r->quietTimer.start();
    r->maxTimer.start();
    return request;
}

bool NatsConnection::flush(int timeoutMs)
{
    if (!d->nc)
        return false;
    const natsStatus s = natsConnection_FlushTimeout(d->nc, qMax(1, timeoutMs));
    if (s != NATS_OK) {
        d->setError(QStringLiteral("flush failed: %1").arg(lastLibraryError(s)), false);
        return false;
    }
    return true;
}

// --- NatsSubscription -------------------------------------------------------

NatsSubscription::NatsSubscription(QObject *parent) : QObject(parent), d(std::make_unique<Private>(this)) { }

NatsSubscription::~NatsSubscription()
{
    unsubscribe();
    if (d->sub)
        natsSubscription_Destroy(d->sub);
}

QByteArray NatsSubscription::subject() const
{
    return d->subject;
}

static quint64 libraryDroppedCount(natsSubscription *sub, quint64 fallback)
{
    int64_t dropped = 0;
    // Fails once the connection closed the subscription; the last known count stays.
    if (sub && natsSubscription_GetDropped(sub, &dropped) == NATS_OK && dropped >= 0)
        return qMax(fallback, quint64(dropped));
    return fallback;
}

quint64 NatsSubscription::droppedCount() const
{
    quint64 ours = d->dropped;
    if (d->shared) {
        QMutexLocker lock(&d->shared->mutex);
        ours = d->shared->dropped;
    }
    return ours + libraryDroppedCount(d->sub, d->libraryDropped);
}

void NatsSubscription::unsubscribe()
{
    if (!d->shared)
        return;
    d->libraryDropped = libraryDroppedCount(d->sub, d->libraryDropped);
    {
        QMutexLocker lock(&d->shared->mutex);
        d->dropped = d->shared->dropped;
    }
    d->detach();
    if (d->sub) {
        // Fails harmlessly once the connection is closed; the subscription is then closed already.
        natsSubscription_Unsubscribe(d->sub);
        natsSubscription_Destroy(d->sub);
        d->sub = nullptr;
    }
}

// --- NatsRequest ------------------------------------------------------------

NatsRequest::NatsRequest(QObject *parent) : QObject(parent), d(std::make_unique<Private>()) { }

NatsRequest::~NatsRequest() = default;

QList<NatsMessage> NatsRequest::replies() const
{
    return d->replies;
}

} // namespace ResWatch
