// Passive tracking at fleet scale: a stock fleet of 4 gateways x 25,000 connections (4 NATS
// clients, each holding 25,000 conn.<xid>.* subscriptions on a real nats-server), read through
// its monitoring endpoint. Measures one full connz poll and diff (MonitorSource + Tracker)
// against fetching and parsing the same pages alone, and the memory both take.
//
// Entry point: int benchPassive() (for bench/reswatchbench.cpp); built on its own as
// reswatch-passivebench with RESWATCH_PASSIVEBENCH_MAIN.

#include "connzparser.h"
#include "monitorsource.h"
#include "natsserverprocess.h"
#include "tracker.h"
#include "xid.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QTimer>
#include <QUrlQuery>

#include <nats/nats.h>

#include <cstdio>
#include <vector>

using namespace ResWatch;

namespace {

constexpr int Gateways = 4;
constexpr int ConnectionsPerGateway = 25000;

qint64 statusKiB(const char *field)
{
    QFile file(QStringLiteral("/proc/self/status"));
    if (!file.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : file.readAll().split('\n')) {
        if (line.startsWith(field))
            return line.mid(int(qstrlen(field))).trimmed().split(' ').first().toLongLong();
    }
    return -1;
}

bool waitFor(QObject *sender, const char *signal, int timeoutMs)
{
    QEventLoop loop;
    QObject::connect(sender, signal, &loop, SLOT(quit()));
    QTimer timer;
    timer.setSingleShot(true);
    bool timedOut = false;
    QObject::connect(&timer, &QTimer::timeout, &loop, [&] {
        timedOut = true;
        loop.quit();
    });
    timer.start(timeoutMs);
    loop.exec();
    return !timedOut;
}

/// The stock fleet: plain nats.c connections, so the benchmark measures ResWatch, not the fleet.
struct Fleet
{
    std::vector<natsConnection *> connections;
    std::vector<std::vector<natsSubscription *>> subscriptions;
    std::vector<std::vector<QByteArray>> cids;
    XidGenerator xids;

    bool start(const QString &url)
    {
        for (int g = 0; g < Gateways; ++g) {
            natsConnection *nc = nullptr;
            if (natsConnection_ConnectTo(&nc, url.toUtf8().constData()) != NATS_OK)
                return false;
            connections.push_back(nc);
            subscriptions.emplace_back();
            cids.emplace_back();
            for (int i = 0; i < ConnectionsPerGateway; ++i)
                add(g);
            if (natsConnection_FlushTimeout(nc, 30000) != NATS_OK)
                return false;
        }
        return true;
    }
    void add(int g)
    {
        const QByteArray cid = xids.next();
        natsSubscription *sub = nullptr;
        natsConnection_SubscribeSync(&sub, connections[size_t(g)], ("conn." + cid + ".*").constData());
        subscriptions[size_t(g)].push_back(sub);
        cids[size_t(g)].push_back(cid);
    }
    void remove(int g, size_t i)
    {
        natsSubscription_Unsubscribe(subscriptions[size_t(g)][i]);
        natsSubscription_Destroy(subscriptions[size_t(g)][i]);
        subscriptions[size_t(g)].erase(subscriptions[size_t(g)].begin() + qsizetype(i));
        cids[size_t(g)].erase(cids[size_t(g)].begin() + qsizetype(i));
    }
    void flush()
    {
        for (natsConnection *nc : connections)
            natsConnection_FlushTimeout(nc, 30000);
    }
    ~Fleet()
    {
        for (auto &subs : subscriptions)
            for (natsSubscription *sub : subs)
                natsSubscription_Destroy(sub);
        for (natsConnection *nc : connections)
            natsConnection_Destroy(nc);
    }
};

/// Fetches every /connz?subs=detail page and parses it, as MonitorSource does, without the tracker.
bool fetchAndParse(QNetworkAccessManager &network, const QString &base, qint64 *bytes, int *subscriptions,
                   qint64 *fetchMs, qint64 *parseMs)
{
    qint64 offset = 0;
    *bytes = 0;
    *subscriptions = 0;
    *fetchMs = *parseMs = 0;
    for (;;) {
        QUrl url(base + QStringLiteral("/connz"));
        QUrlQuery query;
        query.addQueryItem(QStringLiteral("subs"), QStringLiteral("detail"));
        query.addQueryItem(QStringLiteral("offset"), QString::number(offset));
        query.addQueryItem(QStringLiteral("limit"), QStringLiteral("1024"));
        url.setQuery(query);
        QElapsedTimer timer;
        timer.start();
        QNetworkReply *reply = network.get(QNetworkRequest(url));
        if (!waitFor(reply, SIGNAL(finished()), 30000) || reply->error() != QNetworkReply::NoError)
            return false;
        const QByteArray body = reply->readAll();
        reply->deleteLater();
        *fetchMs += timer.restart();
        ConnzPage page;
        QString error;
        if (!ConnzParser::parse(body, &page, &error))
            return false;
        *parseMs += timer.elapsed();
        *bytes += body.size();
        for (const MonitorClient &c : page.clients)
            *subscriptions += int(c.connectionIds.size());
        if (!page.hasMore())
            return true;
        offset = page.offset + qint64(page.clients.size());
    }
}

} // namespace

int benchPassive()
{
    std::printf("== Passive tracking: %d stock gateways x %d connections ==\n", Gateways,
                ConnectionsPerGateway);
    NatsServerProcess::Options options;
    options.monitoring = true;
    NatsServerProcess server(options);
    if (!server.start()) {
        std::printf("cannot start nats-server: %s\n", qPrintable(server.error()));
        return 1;
    }
    Fleet fleet;
    QElapsedTimer setup;
    setup.start();
    if (!fleet.start(server.url())) {
        std::printf("cannot build the fleet\n");
        return 1;
    }
    std::printf("fleet of %d subscriptions ready in %lld ms\n", Gateways * ConnectionsPerGateway,
                setup.elapsed());

    QNetworkAccessManager network;
    qint64 bytes = 0, fetchMs = 0, parseMs = 0, bestFetch = 1 << 30, bestParse = 1 << 30;
    int subscriptions = 0;
    for (int run = 0; run < 3; ++run) {
        if (!fetchAndParse(network, server.monitorUrl(), &bytes, &subscriptions, &fetchMs, &parseMs)) {
            std::printf("fetching the pages failed\n");
            return 1;
        }
        bestFetch = std::min(bestFetch, fetchMs);
        bestParse = std::min(bestParse, parseMs);
    }
    std::printf("fetch + parse only: %.1f MiB of connz, %d subscriptions: fetch %lld ms, parse %lld ms "
                "(best of 3)\n",
                double(bytes) / (1 << 20), subscriptions, bestFetch, bestParse);

    const qint64 rssBefore = statusKiB("VmRSS:");
    TrackerSettings settings;
    settings.pollIntervalMs = 3'600'000; // polls are triggered here
    settings.closedHistoryLimit = 10000;
    Tracker tracker(settings);
    MonitorSource source(&tracker);
    source.addEndpoint(QUrl(server.monitorUrl()));
    auto poll = [&](const char *what) {
        QElapsedTimer timer;
        timer.start();
        source.pollNow();
        if (!waitFor(&source, SIGNAL(pollFinished()), 60000)) {
            std::printf("%s: no answer\n", what);
            return false;
        }
        const qint64 readMs = timer.elapsed();
        tracker.flushChanges();
        const MonitorSource::Status status = source.statuses().first();
        std::printf("%-34s %6lld ms (read+diff %lld ms, changes flushed %lld ms), %d connections tracked%s\n",
                    what, timer.elapsed(), status.durationMs, timer.elapsed() - readMs,
                    tracker.connectionCount(), status.state == MonitorSource::State::Ok ? "" : " ERROR");
        return status.state == MonitorSource::State::Ok;
    };
    if (!poll("first poll (100,000 connects):"))
        return 1;
    const qint64 rssAfter = statusKiB("VmRSS:");
    poll("second poll (no change):");
    // 1% churn: 250 disconnects and 250 connects per gateway.
    for (int g = 0; g < Gateways; ++g) {
        for (int i = 0; i < ConnectionsPerGateway / 100; ++i) {
            fleet.remove(g, 0);
            fleet.add(g);
        }
    }
    fleet.flush();
    poll("third poll (1% churn):");
    std::printf(
        "memory: tracker + source hold %lld KiB more RSS after the first poll (%.0f bytes a connection); "
        "peak RSS %lld KiB\n",
        rssAfter - rssBefore, double(rssAfter - rssBefore) * 1024.0 / (Gateways * ConnectionsPerGateway),
        statusKiB("VmHWM:"));
    return 0;
}

#ifdef RESWATCH_PASSIVEBENCH_MAIN
int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    return benchPassive();
}
#endif
