#include "testgateway.h"

#include "protocol.h"

#include <QStringList>

#include <nats/nats.h>

#include <atomic>
#include <mutex>

struct TestGateway::State
{
    QByteArray gid;
    natsConnection *nc = nullptr;
    natsSubscription *sub = nullptr;
    QString error;

    mutable std::mutex mutex;
    std::map<QByteArray, QByteArray> connections; ///< cid → token JSON (empty: none)
    std::atomic<bool> answering { true };
    std::atomic<qsizetype> maxPayload { 0 };
    std::atomic<int> pollsAnswered { 0 };
    std::atomic<int> maxParts { 0 };

    void publish(const QByteArray &subject, const QByteArray &payload)
    {
        if (nc)
            natsConnection_Publish(nc, subject.constData(), payload.constData(), int(payload.size()));
    }

    // On a nats.c thread.
    static void onRequest(natsConnection *nc, natsSubscription *, natsMsg *msg, void *closure)
    {
        auto *state = static_cast<State *>(closure);
        const char *reply = natsMsg_GetReply(msg);
        if (reply && state->answering) {
            std::vector<ResWatch::Protocol::ConnectionEntry> entries;
            {
                std::lock_guard lock(state->mutex);
                for (const auto &[cid, token] : state->connections) {
                    ResWatch::Protocol::ConnectionEntry entry;
                    entry.cid = cid;
                    entry.token = token;
                    entries.push_back(entry);
                }
            }
            const qsizetype max = state->maxPayload ? state->maxPayload.load() : qsizetype(1) << 30;
            const auto payloads = ResWatch::Protocol::connectionsReplyPayloads(state->gid, entries, max);
            for (const QByteArray &payload : payloads)
                natsConnection_Publish(nc, reply, payload.constData(), int(payload.size()));
            ++state->pollsAnswered;
            int previous = state->maxParts;
            while (int(payloads.size()) > previous
                   && !state->maxParts.compare_exchange_weak(previous, int(payloads.size()))) { }
        }
        natsMsg_Destroy(msg);
    }
};

TestGateway::TestGateway(const QByteArray &gid) : m_state(std::make_shared<State>())
{
    m_state->gid = gid;
}

TestGateway::~TestGateway()
{
    if (m_state->sub) {
        // Drained: no callback runs on the state after this.
        if (natsSubscription_Drain(m_state->sub) == NATS_OK)
            natsSubscription_WaitForDrainCompletion(m_state->sub, 2000);
        else
            natsSubscription_Unsubscribe(m_state->sub);
        natsSubscription_Destroy(m_state->sub);
    }
    if (m_state->nc)
        natsConnection_Destroy(m_state->nc);
}

bool TestGateway::open(const QString &url)
{
    natsOptions *options = nullptr;
    natsStatus s = natsOptions_Create(&options);
    const QByteArray urlBytes = url.toUtf8();
    const QByteArray name = "testgateway-" + m_state->gid;
    if (s == NATS_OK)
        s = natsOptions_SetURL(options, urlBytes.constData());
    if (s == NATS_OK)
        s = natsOptions_SetName(options, name.constData());
    if (s == NATS_OK)
        s = natsOptions_SetAllowReconnect(options, true);
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(options, -1);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(options, 20);
    if (s == NATS_OK)
        s = natsConnection_Connect(&m_state->nc, options);
    if (s == NATS_OK)
        s = natsConnection_Subscribe(&m_state->sub, m_state->nc, "system.connections", &State::onRequest,
                                     m_state.get());
    if (s == NATS_OK)
        s = natsConnection_FlushTimeout(m_state->nc, 2000);
    natsOptions_Destroy(options);
    if (s != NATS_OK) {
        m_state->error = QString::fromUtf8(natsStatus_GetText(s));
        return false;
    }
    return true;
}

QString TestGateway::error() const
{
    return m_state->error;
}

QByteArray TestGateway::gid() const
{
    return m_state->gid;
}

void TestGateway::connectClient(const QByteArray &cid, bool publish)
{
    {
        std::lock_guard lock(m_state->mutex);
        m_state->connections[cid];
    }
    if (publish)
        m_state->publish("conn." + cid + ".connect", ResWatch::Protocol::connectPayload(m_state->gid));
}

void TestGateway::disconnectClient(const QByteArray &cid, bool publish)
{
    {
        std::lock_guard lock(m_state->mutex);
        m_state->connections.erase(cid);
    }
    if (publish)
        m_state->publish("conn." + cid + ".disconnect",
                         ResWatch::Protocol::gatewayEventPayload(m_state->gid));
}

void TestGateway::setToken(const QByteArray &cid, const QByteArray &tokenJson, bool publish)
{
    {
        std::lock_guard lock(m_state->mutex);
        const auto it = m_state->connections.find(cid);
        if (it != m_state->connections.end())
            it->second = tokenJson == "null" ? QByteArray() : tokenJson;
    }
    if (publish)
        m_state->publish("conn." + cid + ".token", ResWatch::Protocol::tokenPayload(tokenJson));
}

void TestGateway::start()
{
    {
        std::lock_guard lock(m_state->mutex);
        m_state->connections.clear();
    }
    m_state->publish("system.start", ResWatch::Protocol::gatewayEventPayload(m_state->gid));
}

void TestGateway::stop()
{
    {
        std::lock_guard lock(m_state->mutex);
        m_state->connections.clear();
    }
    m_state->publish("system.stop", ResWatch::Protocol::gatewayEventPayload(m_state->gid));
}

void TestGateway::publishRaw(const QByteArray &subject, const QByteArray &payload)
{
    m_state->publish(subject, payload);
}

void TestGateway::setAnswering(bool answering)
{
    m_state->answering = answering;
}

void TestGateway::setMaxPayload(qsizetype bytes)
{
    m_state->maxPayload = bytes;
}

int TestGateway::pollsAnswered() const
{
    return m_state->pollsAnswered;
}

int TestGateway::maxPartsSent() const
{
    return m_state->maxParts;
}

QString TestGateway::truth() const
{
    QStringList items;
    std::lock_guard lock(m_state->mutex);
    for (const auto &[cid, token] : m_state->connections)
        items << QString::fromUtf8(token.isEmpty() ? cid : cid + '=' + token);
    items.sort();
    return items.join(QLatin1Char(' '));
}

bool TestGateway::flush()
{
    return m_state->nc && natsConnection_FlushTimeout(m_state->nc, 2000) == NATS_OK;
}
