// The dashboard at a million connections with 50,000 events per second
// arriving (the dashboard issue's targets): how late the GUI thread runs a 5 ms
// probe timer, how long sorting a column and applying a filter take while
// events flow, and what the views cost in memory on top of the tracker.
// Every figure has a baseline from the same run: the same probe and feed with
// no dashboard, or the tracker's own memory.
//
//   reswatch-bench dashboard      (QT_QPA_PLATFORM=offscreen unless set)

#include "connectionfilter.h"
#include "connectionsmodel.h"
#include "connectionsview.h"
#include "dashboardwidget.h"
#include "filterbar.h"
#include "protocol.h"
#include "tracker.h"
#include "xid.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QHeaderView>
#include <QRandomGenerator>
#include <QTableView>
#include <QTimer>
#include <QWindow>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <functional>
#include <malloc.h>
#include <unistd.h>
#include <vector>

int benchDashboard();

using namespace ResWatch;

namespace {

constexpr int Connections = 1'000'000;
constexpr int Gateways = 6;
constexpr int EventsPerSecond = 50'000;
constexpr int FeedIntervalMs = 10; // NATS batches arrive about this often under load
constexpr int ProbeIntervalMs = 5;
constexpr int BaselineSeconds = 10;
constexpr int SteadySeconds = 20;
constexpr int SortedSeconds = 10;

// Same line format as reswatchbench.cpp's report().
void report(const char *name, double value, const char *unit, double baseline, const char *baselineWhat,
            double target, bool targetIsRatio)
{
    const double ratio = baseline > 0 ? value / baseline : 0;
    const bool pass = (targetIsRatio ? ratio : value) <= target;
    std::printf("%-28s %12.1f %-9s baseline %12.1f (%s)  ratio %6.2f  target <= %g%s  %s\n", name, value,
                unit, baseline, baselineWhat, ratio, target, targetIsRatio ? "x" : unit,
                pass ? "PASS" : "FAIL");
    std::fflush(stdout);
}

qint64 residentBytes()
{
    malloc_trim(0);
    QFile statm(QStringLiteral("/proc/self/statm"));
    if (!statm.open(QIODevice::ReadOnly))
        return 0;
    return statm.readAll().split(' ').value(1).toLongLong() * sysconf(_SC_PAGESIZE);
}

QByteArray tokenFor(int n, bool admin)
{
    const QByteArray id = QByteArray::number(1'000'000 + n);
    return R"({"user":"user-)" + id + R"(","userId":)" + id + R"(,"role":")" + (admin ? "admin" : "guest")
        + R"("})";
}

NatsMessage event(const QByteArray &cid, const char *kind, const QByteArray &payload)
{
    return NatsMessage { "conn." + cid + "." + kind, {}, payload };
}

/**
 * The event stream NATS would deliver: connects of new connections (each
 * followed by its token), disconnects of random live ones, so the total stays
 * at a million, and token updates of random live ones. Batches carry whatever
 * fell due since the previous one, so a stalled event loop gets a bigger batch,
 * as it would from NatsConnection.
 */
class Feed
{
public:
    /// Allocates the feed's own bookkeeping; populate() then fills the tracker.
    explicit Feed(Tracker &tracker) : m_tracker(tracker)
    {
        // Touched now, so the memory measured around populate() is the tracker's alone.
        m_live.resize(size_t(Connections) * 3 / 2);
        m_timer.setTimerType(Qt::PreciseTimer);
        m_timer.setInterval(FeedIntervalMs);
        QObject::connect(&m_timer, &QTimer::timeout, [this] { feed(); });
    }

    void populate()
    {
        QList<NatsMessage> batch;
        for (int g = 0; g < Gateways; ++g)
            batch.append({ "system.start", {}, Protocol::gatewayEventPayload(gid(g)) });
        for (int i = 0; i < Connections; ++i) {
            appendConnect(&batch);
            if (batch.size() >= 20000) {
                m_tracker.handleEvents(batch);
                batch.clear();
            }
        }
        m_tracker.handleEvents(batch);
        m_tracker.flushChanges();
    }

    void start()
    {
        m_clock.start();
        m_sent = 0;
        m_timer.start();
    }
    void stop() { m_timer.stop(); }
    qint64 totalEvents() const { return m_total; }

private:
    static QByteArray gid(int g) { return "gw-" + QByteArray::number(g); }

    /// A live connection as the feed remembers it: 20 cid bytes and its gateway.
    struct Live
    {
        std::array<char, 20> cid;
        quint8 gateway;
        QByteArray cidBytes() const { return QByteArray(cid.data(), qsizetype(cid.size())); }
    };

    void appendConnect(QList<NatsMessage> *batch)
    {
        const int n = m_next++;
        const QByteArray cid = m_xids.next();
        batch->append(event(cid, "connect", Protocol::connectPayload(gid(n % Gateways))));
        batch->append(event(cid, "token", Protocol::tokenPayload(tokenFor(n, n % 10 == 0))));
        Live live;
        std::memcpy(live.cid.data(), cid.constData(), live.cid.size());
        live.gateway = quint8(n % Gateways);
        if (m_liveCount == m_live.size())
            m_live.push_back(live);
        else
            m_live[m_liveCount] = live;
        ++m_liveCount;
    }

    void feed()
    {
        const qint64 due = m_clock.nsecsElapsed() * EventsPerSecond / 1'000'000'000 - m_sent;
        QList<NatsMessage> batch;
        batch.reserve(due + 4);
        while (batch.size() < due) {
            switch (m_step++ % 3) {
            case 0:
                appendConnect(&batch); // two events
                break;
            case 1: {
                const size_t i = m_random.bounded(quint32(m_liveCount));
                batch.append(event(m_live[i].cidBytes(), "disconnect",
                                   Protocol::gatewayEventPayload(gid(m_live[i].gateway))));
                m_live[i] = m_live[--m_liveCount];
                break;
            }
            case 2: {
                // Re-authentication: same user, role may change.
                const size_t i = m_random.bounded(quint32(m_liveCount));
                const int n = int(m_random.bounded(Connections));
                batch.append(event(m_live[i].cidBytes(), "token",
                                   Protocol::tokenPayload(tokenFor(n, m_random.bounded(10) == 0))));
                break;
            }
            }
        }
        m_sent += batch.size();
        m_total += batch.size();
        m_tracker.handleEvents(batch);
    }

    Tracker &m_tracker;
    XidGenerator m_xids;
    QRandomGenerator m_random { 42 };
    std::vector<Live> m_live;
    size_t m_liveCount = 0;
    int m_next = 0;
    quint64 m_step = 0;
    QTimer m_timer;
    QElapsedTimer m_clock;
    qint64 m_sent = 0;
    qint64 m_total = 0;
};

/// Records how late a 5 ms timer fires: the time the event loop could not run it.
class Probe
{
public:
    Probe()
    {
        m_timer.setTimerType(Qt::PreciseTimer);
        m_timer.setInterval(ProbeIntervalMs);
        QObject::connect(&m_timer, &QTimer::timeout, [this] {
            const double ms = m_gap.nsecsElapsed() / 1e6;
            m_gap.start();
            m_lateness.push_back(std::max(0.0, ms - ProbeIntervalMs));
            ++m_ticks;
        });
    }
    void start()
    {
        m_lateness.clear();
        m_gap.start();
        m_timer.start();
    }
    void stop() { m_timer.stop(); }
    quint64 ticks() const { return m_ticks; }
    /// Lateness at quantile @p q (0..1) since start(), in ms.
    double quantile(double q) const
    {
        if (m_lateness.empty())
            return 0;
        std::vector<double> sorted = m_lateness;
        const size_t i = std::min(sorted.size() - 1, size_t(q * double(sorted.size())));
        std::nth_element(sorted.begin(), sorted.begin() + qsizetype(i), sorted.end());
        return sorted[i];
    }
    double max() const
    {
        return m_lateness.empty() ? 0 : *std::max_element(m_lateness.begin(), m_lateness.end());
    }
    size_t samples() const { return m_lateness.size(); }

private:
    QTimer m_timer;
    QElapsedTimer m_gap;
    std::vector<double> m_lateness;
    quint64 m_ticks = 0;
};

void runFor(int ms)
{
    QEventLoop loop;
    QTimer::singleShot(ms, &loop, &QEventLoop::quit);
    loop.exec();
}

/// Runs the event loop until the probe has fired once more: the GUI thread is free again.
void waitForProbe(const Probe &probe)
{
    const quint64 start = probe.ticks();
    QEventLoop loop;
    QTimer poll;
    poll.setInterval(1);
    QObject::connect(&poll, &QTimer::timeout, &loop, [&] {
        if (probe.ticks() > start + 1)
            loop.quit();
    });
    poll.start();
    loop.exec();
}

struct Stalls
{
    double p50, p99, max;
};

Stalls stallsOf(const Probe &probe)
{
    return { probe.quantile(0.5), probe.quantile(0.99), probe.max() };
}

} // namespace

int benchDashboard()
{
    TrackerSettings settings; // the default 100 ms change interval
    Tracker tracker(settings);
    Feed feed(tracker);
    const qint64 rssStart = residentBytes();
    feed.populate();
    const qint64 rssTracker = residentBytes();
    report("dash: tracker (B/connection)", double(rssTracker - rssStart) / Connections, "B", 80.0,
           "cid + token bytes", 250, false);

    // Baseline: the bare event loop ingesting the same stream, no dashboard.
    Probe probe;
    probe.start();
    feed.start();
    runFor(BaselineSeconds * 1000);
    const Stalls bare = stallsOf(probe);
    const double bareRate = feed.totalEvents() / double(BaselineSeconds);
    std::printf("dash: baseline %zu probe samples, %.0f events/s, %d connections\n", probe.samples(),
                bareRate, tracker.connectionCount());
    feed.stop();
    probe.stop();
    const qint64 rssBare = residentBytes();

    // The dashboard, shown with the connections table visible.
    QElapsedTimer timer;
    timer.start();
    auto dashboard = std::make_unique<DashboardWidget>(&tracker);
    dashboard->resize(1400, 900);
    dashboard->show();
    QEventLoop exposed;
    QTimer check;
    check.setInterval(5);
    QObject::connect(&check, &QTimer::timeout, &exposed, [&] {
        if (dashboard->windowHandle() && dashboard->windowHandle()->isExposed())
            exposed.quit();
    });
    check.start();
    exposed.exec();
    check.stop();
    QTableView *table = dashboard->connectionsView()->table();
    ConnectionsModel *model = dashboard->connectionsModel();
    probe.start();
    waitForProbe(probe);
    const double showMs = timer.nsecsElapsed() / 1e6;
    std::printf("dash: shown in %.0f ms, %d rows, table %dx%d visible %d\n", showMs, model->rowCount(),
                table->viewport()->width(), table->viewport()->height(), table->isVisible());

    const qint64 eventsBefore = feed.totalEvents();
    probe.start();
    feed.start();
    runFor(SteadySeconds * 1000);
    const Stalls shown = stallsOf(probe);
    const double shownRate = (feed.totalEvents() - eventsBefore) / double(SteadySeconds);
    std::printf("dash: %zu probe samples, %.0f events/s, %d rows\n", probe.samples(), shownRate,
                model->rowCount());
    std::printf("dash: stall p50 %.1f ms (baseline %.1f), max %.1f ms (baseline %.1f)\n", shown.p50, bare.p50,
                shown.max, bare.max);
    report("dash: stall p99 (ms)", shown.p99, "ms", bare.p99, "no dashboard", 50, false);

    // Sorting while events flow: from the click until the event loop runs again.
    struct SortCase
    {
        const char *name;
        int column;
    };
    const SortCase sorts[] = {
        { "dash: sort cid (ms)", ConnectionsModel::CidColumn },
        { "dash: sort connected at (ms)", ConnectionsModel::ConnectedAtColumn },
        { "dash: sort claim user (ms)", model->claimColumn("user") },
        { "dash: sort claim userId (ms)", model->claimColumn("userId") },
    };
    for (const SortCase &sort : sorts) {
        for (Qt::SortOrder order : { Qt::AscendingOrder, Qt::DescendingOrder }) {
            runFor(500);
            probe.start();
            timer.restart();
            table->sortByColumn(sort.column, order);
            const double callMs = timer.nsecsElapsed() / 1e6;
            waitForProbe(probe);
            const double totalMs = timer.nsecsElapsed() / 1e6;
            if (order == Qt::AscendingOrder)
                report(sort.name, totalMs, "ms", callMs, "sort() call", 1000, false);
            else
                std::printf("  descending: %.1f ms (sort() call %.1f ms)\n", totalMs, callMs);
        }
    }
    std::fflush(stdout);

    // Sorted by a claim, every refresh places its rows by keys read from the tokens.
    table->sortByColumn(model->claimColumn("user"), Qt::AscendingOrder);
    runFor(1000);
    probe.start();
    runFor(SortedSeconds * 1000);
    const Stalls sorted = stallsOf(probe);
    std::printf("dash: sorted by user: stall p50 %.1f ms, max %.1f ms\n", sorted.p50, sorted.max);
    report("dash: stall p99 by user (ms)", sorted.p99, "ms", bare.p99, "no dashboard", 50, false);

    // Filtering while events flow (sorted by connect time, newest first, as the view starts).
    table->sortByColumn(ConnectionsModel::ConnectedAtColumn, Qt::DescendingOrder);
    runFor(500);
    double filterStall = 0;
    for (const QString &text : { QStringLiteral("role=admin"), QString() }) {
        probe.start();
        timer.restart();
        dashboard->filterBar()->setText(text);
        QEventLoop loop;
        QObject::connect(model, &ConnectionsModel::filteringFinished, &loop, &QEventLoop::quit);
        if (model->isFiltering())
            loop.exec();
        waitForProbe(probe);
        const double ms = timer.nsecsElapsed() / 1e6;
        filterStall = std::max(filterStall, probe.max());
        std::printf("dash: filter '%s': %d rows after %.0f ms, longest stall %.1f ms\n", qPrintable(text),
                    model->rowCount(), ms, probe.max());
    }
    report("dash: stall filtering (ms)", filterStall, "ms", bare.max, "no dashboard max", 50, false);
    runFor(2000);

    feed.stop();
    probe.stop();
    const qint64 rssShown = residentBytes();
    std::printf("dash: RSS start %.1f MB, tracker %.1f MB, after baseline %.1f MB, dashboard %.1f MB\n",
                rssStart / 1e6, rssTracker / 1e6, rssBare / 1e6, rssShown / 1e6);
    report("dash: views memory (MB)", (rssShown - rssBare) / 1e6, "MB", (rssBare - rssStart) / 1e6,
           "tracker alone", 100, false);
    report("dash: tracker after run (B)", double(rssBare - rssStart) / tracker.connectionCount(), "B", 80.0,
           "cid + token bytes", 250, false);
    dashboard.reset();
    return 0;
}
