#pragma once

// Helpers shared by the model suites: feed a Tracker with the protocol's own
// writers, and flatten a model or a signal spy into one string so a single
// QCOMPARE checks a whole column, row or signal sequence.

#include "clock.h"
#include "natsconnection.h"
#include "protocol.h"
#include "tracker.h"

#include <QAbstractItemModel>
#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QStringList>

#include <algorithm>

namespace ModelTest {

inline ResWatch::NatsMessage message(const QByteArray &subject, const QByteArray &data)
{
    ResWatch::NatsMessage m;
    m.subject = subject;
    m.data = data;
    return m;
}

inline ResWatch::NatsMessage connectEvent(const QByteArray &cid, const QByteArray &gid,
                                          const QByteArray &remoteAddr = {}, const QByteArray &host = {})
{
    return message("conn." + cid + ".connect", ResWatch::Protocol::connectPayload(gid, remoteAddr, host));
}

inline ResWatch::NatsMessage disconnectEvent(const QByteArray &cid, const QByteArray &gid)
{
    return message("conn." + cid + ".disconnect", ResWatch::Protocol::gatewayEventPayload(gid));
}

inline ResWatch::NatsMessage tokenEvent(const QByteArray &cid, const QByteArray &tokenJson,
                                        const QByteArray &tid = {})
{
    return message("conn." + cid + ".token", ResWatch::Protocol::tokenPayload(tokenJson, tid));
}

inline ResWatch::NatsMessage startEvent(const QByteArray &gid)
{
    return message("system.start", ResWatch::Protocol::gatewayEventPayload(gid));
}

inline ResWatch::NatsMessage stopEvent(const QByteArray &gid)
{
    return message("system.stop", ResWatch::Protocol::gatewayEventPayload(gid));
}

/// "c00042": fixed width, so text order is number order.
inline QByteArray cid(int i)
{
    return "c" + QByteArray::number(i).rightJustified(6, '0');
}

/// The column's display texts, top to bottom, joined by spaces.
inline QString column(const QAbstractItemModel &model, int column, int role = Qt::DisplayRole)
{
    QStringList items;
    for (int r = 0; r < model.rowCount(); ++r)
        items.append(model.index(r, column).data(role).toString());
    return items.join(QLatin1Char(' '));
}

/// The column's display texts, sorted, joined by spaces: a set of values in one string.
inline QString sortedColumn(const QAbstractItemModel &model, int column)
{
    QStringList items;
    for (int r = 0; r < model.rowCount(); ++r)
        items.append(model.index(r, column).data().toString());
    items.sort();
    return items.join(QLatin1Char(' '));
}

/// One row's display texts joined by '|'.
inline QString row(const QAbstractItemModel &model, int r)
{
    QStringList items;
    for (int c = 0; c < model.columnCount(); ++c)
        items.append(model.index(r, c).data().toString());
    return items.join(QLatin1Char('|'));
}

/// Range signals (rowsInserted, rowsRemoved, columnsInserted): "first-last first-last".
inline QString ranges(const QSignalSpy &spy)
{
    QStringList items;
    for (const QList<QVariant> &args : spy)
        items.append(QStringLiteral("%1-%2").arg(args.at(1).toInt()).arg(args.at(2).toInt()));
    return items.join(QLatin1Char(' '));
}

/// dataChanged signals: "r0,c0:r1,c1 ...".
inline QString dataRanges(const QSignalSpy &spy)
{
    QStringList items;
    for (const QList<QVariant> &args : spy) {
        const auto tl = args.at(0).value<QModelIndex>();
        const auto br = args.at(1).value<QModelIndex>();
        items.append(
            QStringLiteral("%1,%2:%3,%4").arg(tl.row()).arg(tl.column()).arg(br.row()).arg(br.column()));
    }
    return items.join(QLatin1Char(' '));
}

/// "c000001 c000003 ..." for the given numbers, sorted.
inline QString cids(std::vector<int> numbers)
{
    std::sort(numbers.begin(), numbers.end());
    QStringList items;
    for (int i : numbers)
        items.append(QString::fromLatin1(cid(i)));
    return items.join(QLatin1Char(' '));
}

/// A model fed by a real tracker on a test clock, checked by QAbstractItemModelTester on every signal.
template<typename Model> struct TrackerHarness
{
    static constexpr qint64 Start = 1'764'000'000'000;

    explicit TrackerHarness(const ResWatch::TrackerSettings &settings = {})
        : clock(Start), tracker(settings, &clock), model(&tracker),
          tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest)
    { }
    void feed(const QList<ResWatch::NatsMessage> &messages)
    {
        tracker.handleEvents(messages);
        tracker.flushChanges();
    }
    void feed(const ResWatch::NatsMessage &message) { feed(QList<ResWatch::NatsMessage> { message }); }

    ResWatch::ManualClock clock;
    ResWatch::Tracker tracker;
    Model model;
    QAbstractItemModelTester tester;
};

} // namespace ModelTest
