// Measures ConnectionsModel at a million rows: memory per row, filtering in
// time slices (total and the longest time the event loop was blocked),
// sorting, and the cost of one refresh. No view is attached.
//
//   reswatch-modelbench [rows]

#include "clock.h"
#include "connectionfilter.h"
#include "connectionsmodel.h"
#include "natsconnection.h"
#include "protocol.h"
#include "tracker.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QRandomGenerator>
#include <QTimer>

#include <cstdio>
#include <malloc.h>

using namespace ResWatch;

namespace {

// Heap bytes in use (glibc): RSS does not shrink when the feeding buffers are freed.
qint64 heapBytes()
{
    return qint64(mallinfo2().uordblks) + qint64(mallinfo2().hblkhd);
}

qint64 rssKb()
{
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : status.readAll().split('\n')) {
        if (line.startsWith("VmRSS:"))
            return line.mid(6).trimmed().split(' ').value(0).toLongLong();
    }
    return -1;
}

NatsMessage message(const QByteArray &subject, const QByteArray &data)
{
    NatsMessage m;
    m.subject = subject;
    m.data = data;
    return m;
}

QByteArray cidOf(int i)
{
    // 20 characters, like an xid, but not one: connect times come from the clock.
    return "c" + QByteArray::number(i).rightJustified(19, '0');
}

// Runs the event loop until @p done, and reports the longest gap between two
// turns of a zero timer: how long the GUI thread was blocked at worst.
qint64 runUntil(const std::function<bool()> &done, qint64 *longestGapMs)
{
    QElapsedTimer total;
    total.start();
    QElapsedTimer gap;
    gap.start();
    qint64 longest = 0;
    QTimer ticker;
    ticker.setInterval(0);
    QObject::connect(&ticker, &QTimer::timeout, [&] { longest = std::max(longest, gap.restart()); });
    ticker.start();
    while (!done())
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
    longest = std::max(longest, gap.elapsed());
    *longestGapMs = longest;
    return total.elapsed();
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const int rows = argc > 1 ? std::atoi(argv[1]) : 1'000'000;
    ManualClock clock;
    Tracker tracker({}, &clock);
    const char *roles[] = { "admin", "user", "user", "guest" };

    QElapsedTimer t;
    t.start();
    const qint64 rssStart = rssKb();
    const qint64 heapStart = heapBytes();
    for (int from = 0; from < rows; from += 100'000) {
        QList<NatsMessage> batch;
        for (int i = from; i < std::min(rows, from + 100'000); ++i) {
            const QByteArray cid = cidOf(i);
            batch.append(message("conn." + cid + ".connect",
                                 Protocol::connectPayload("gw-" + QByteArray::number(i % 10))));
            batch.append(
                message("conn." + cid + ".token",
                        Protocol::tokenPayload("{\"user\":\"u" + QByteArray::number((i * 7919) % rows)
                                               + "\",\"userId\":" + QByteArray::number((i * 104729) % rows)
                                               + ",\"role\":\"" + roles[i % 4] + "\"}")));
        }
        tracker.handleEvents(batch);
        clock.advance(1);
    }
    tracker.flushChanges();
    const qint64 rssTracker = rssKb();
    const qint64 heapTracker = heapBytes();
    std::printf("tracker: %d connections fed in %lld ms, heap %.0f bytes/connection (RSS %.0f)\n",
                tracker.connectionCount(), t.elapsed(), double(heapTracker - heapStart) / rows,
                double(rssTracker - rssStart) * 1024.0 / rows);

    t.restart();
    ConnectionsModel model(&tracker);
    std::printf("model: populated %d rows in %lld ms, heap %.1f bytes/row, %lld claims\n", model.rowCount(),
                t.elapsed(), double(heapBytes() - heapTracker) / rows, qint64(model.claims().size()));

    auto filterBench = [&](const QString &text) {
        bool finished = false;
        auto c = QObject::connect(&model, &ConnectionsModel::filteringFinished, [&] { finished = true; });
        qint64 gap = 0;
        model.setFilter(ConnectionFilter::parse(text));
        const qint64 total = runUntil([&] { return finished; }, &gap);
        QObject::disconnect(c);
        std::printf("filter \"%s\": %d of %d rows in %lld ms total, event loop blocked at most %lld ms, "
                    "model heap %.1f bytes/row\n",
                    qPrintable(text), model.rowCount(), model.totalCount(), total, gap,
                    double(heapBytes() - heapTracker) / rows);
    };
    filterBench(QStringLiteral("role=admin"));
    filterBench(QStringLiteral("userId>=500000 -role=guest"));
    filterBench(QStringLiteral("u4242"));
    filterBench(QString());

    auto sortBench = [&](int column, const char *name) {
        QElapsedTimer s;
        s.start();
        model.sort(column, Qt::AscendingOrder);
        std::printf("sort by %s: %lld ms (%d rows), model heap now %.1f bytes/row\n", name, s.elapsed(),
                    model.rowCount(), double(heapBytes() - heapTracker) / rows);
    };
    sortBench(ConnectionsModel::CidColumn, "cid");
    sortBench(ConnectionsModel::ConnectedAtColumn, "connected at");
    sortBench(model.claimColumn("userId"), "claim userId (number)");
    sortBench(model.claimColumn("user"), "claim user (string)");

    // One refresh of each kind, sorted by userId: 1000 new rows, 1000 scattered removals, 1000 updates.
    auto refreshBench = [&](const char *name, const QList<NatsMessage> &messages) {
        tracker.handleEvents(messages);
        QElapsedTimer s;
        s.start();
        tracker.flushChanges();
        std::printf("refresh, %s: %lld ms\n", name, s.elapsed());
    };
    QList<NatsMessage> batch;
    for (int i = rows; i < rows + 1000; ++i) {
        batch.append(message("conn." + cidOf(i) + ".connect", Protocol::connectPayload("gw-1")));
        batch.append(message("conn." + cidOf(i) + ".token",
                             Protocol::tokenPayload("{\"userId\":" + QByteArray::number(i % rows) + "}")));
    }
    refreshBench("1000 connects (sorted by userId)", batch);
    batch.clear();
    for (int i = 0; i < 1000; ++i) {
        const int n = int(QRandomGenerator::global()->bounded(rows));
        batch.append(message("conn." + cidOf(n) + ".disconnect",
                             Protocol::gatewayEventPayload("gw-" + QByteArray::number(n % 10))));
    }
    refreshBench("1000 scattered disconnects", batch);
    batch.clear();
    for (int i = 0; i < 1000; ++i) {
        const int n = int(QRandomGenerator::global()->bounded(rows));
        batch.append(message("conn." + cidOf(n) + ".token", Protocol::tokenPayload("{\"role\":\"admin\"}")));
    }
    refreshBench("1000 token updates (rows move)", batch);
    model.sort(-1);
    batch.clear();
    for (int i = rows + 1000; i < rows + 2000; ++i)
        batch.append(message("conn." + cidOf(i) + ".connect", Protocol::connectPayload("gw-1")));
    refreshBench("1000 connects (unsorted)", batch);
    return 0;
}
