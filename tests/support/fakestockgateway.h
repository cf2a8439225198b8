#pragma once

// What a stock Resgate v1.8.0 shows nats-server's monitoring (tests/data/resgate-v1.8.0): one NATS
// connection holding `system.*` and one `conn.<cid>.*` subscription per live WebSocket connection.
// No WebSockets: for tests of the monitoring side only (EmulatedGateway in stock mode is the
// whole gateway).

#include "natsconnection.h"
#include "xid.h"

#include <QMap>
#include <QStringList>
#include <QTest>

#include <memory>

class FakeStockGateway
{
public:
    bool open(const QString &url, const QString &name = {})
    {
        ResWatch::NatsOptions options;
        options.urls = { url };
        options.name = name;
        options.reconnectWaitMs = 100;
        if (!m_nats.open(options))
            return false;
        if (!QTest::qWaitFor([&] { return m_nats.isConnected(); }, 5000))
            return false;
        m_system = m_nats.subscribe("system.*");
        return m_system && m_nats.flush();
    }
    /// A new WebSocket connection: a fresh xid and its subscription. Flushed when @p flush.
    QByteArray connect(bool flush = true)
    {
        const QByteArray cid = m_xids.next();
        m_subscriptions.insert(cid, m_nats.subscribe("conn." + cid + ".*"));
        if (flush)
            m_nats.flush();
        return cid;
    }
    void disconnect(const QByteArray &cid)
    {
        delete m_subscriptions.take(cid);
        m_nats.flush();
    }
    void close()
    {
        qDeleteAll(m_subscriptions);
        m_subscriptions.clear();
        m_nats.close();
    }
    QList<QByteArray> cids() const { return m_subscriptions.keys(); }
    ResWatch::NatsConnection &nats() { return m_nats; }

private:
    ResWatch::NatsConnection m_nats;
    ResWatch::NatsSubscription *m_system = nullptr;
    QMap<QByteArray, ResWatch::NatsSubscription *> m_subscriptions;
    ResWatch::XidGenerator m_xids;
};
