#pragma once

#include <QByteArray>
#include <QString>

#include <map>
#include <memory>

/**
 * A minimal connection-tracking gateway for the tests, written on nats.c
 * directly so that it shares nothing with the code under test but the protocol
 * writers: it publishes conn.<cid>.connect|disconnect|token and
 * system.start|stop, and answers system.connections with its current truth
 * (split into parts when a maximum payload is set).
 *
 * Not a QObject: system.connections is answered on a nats.c thread, under a mutex.
 */
class TestGateway
{
public:
    explicit TestGateway(const QByteArray &gid);
    ~TestGateway();
    TestGateway(const TestGateway &) = delete;
    TestGateway &operator=(const TestGateway &) = delete;

    /// Connects (and reconnects forever, every 20 ms) to @p url. False with error() on failure.
    bool open(const QString &url);
    QString error() const;
    QByteArray gid() const;

    // Each changes the truth and, unless @p publish is false (an event that was lost),
    // publishes the event.
    void connectClient(const QByteArray &cid, bool publish = true);
    void disconnectClient(const QByteArray &cid, bool publish = true);
    /// The token event a service would publish; @p tokenJson "null" clears it.
    void setToken(const QByteArray &cid, const QByteArray &tokenJson, bool publish = true);
    /// A restart: the truth is emptied and system.start published.
    void start();
    /// A shutdown: the truth is emptied and system.stop published.
    void stop();
    /// Publishes anything, for bad input.
    void publishRaw(const QByteArray &subject, const QByteArray &payload);

    /// A gateway that stops answering polls (crashed, or cut off) while its connection stays.
    void setAnswering(bool answering);
    /// Replies larger than this are split into parts; 0: never split.
    void setMaxPayload(qsizetype bytes);
    int pollsAnswered() const;
    /// The largest number of parts one reply was split into.
    int maxPartsSent() const;

    /// "cid[=token] ..." sorted by cid, as tst_livetracker flattens the tracker.
    QString truth() const;
    /// Waits until the server has everything published so far.
    bool flush();

private:
    struct State;
    std::shared_ptr<State> m_state;
};
