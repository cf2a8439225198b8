#include "eventlogmodel.h"

#include "clock.h"
#include "tracker.h"

#include <QDateTime>
#include <QHash>
#include <QPointer>

namespace ResWatch {

struct EventLogModel::Entry
{
    qint64 timeMs;
    Kind kind;
    QString text;
};

class EventLogModel::Private
{
public:
    std::deque<Entry> entries; // newest first
    int capacity = 10000;
    int detailLimit = 50;
    QPointer<Tracker> tracker;
    QList<QMetaObject::Connection> connections;
    QHash<QString, GatewayState> gatewayStates; // to log state transitions
    // Entries wait here for the next event-loop turn: a flood of bad messages
    // becomes one insertion, not one model signal each.
    std::vector<Entry> pending;
    bool flushQueued = false;
};

EventLogModel::EventLogModel(QObject *parent)
    : QAbstractTableModel(parent), d(std::make_unique<Private>()) { }

EventLogModel::~EventLogModel() = default;

void EventLogModel::setTracker(Tracker *tracker)
{
    for (const QMetaObject::Connection &connection : std::as_const(d->connections))
        disconnect(connection);
    d->connections.clear();
    d->gatewayStates.clear();
    d->tracker = tracker;
    if (!tracker)
        return;
    d->connections << connect(tracker, &Tracker::changed, this, &EventLogModel::logChanges);
    d->connections << connect(tracker, &Tracker::messageRejected, this,
                              [this](const QString &subject, const QString &reason) {
                                  append(Kind::Error, QStringLiteral("%1: %2").arg(subject, reason));
                              });
    d->connections << connect(tracker, &Tracker::pollCompleted, this, [this](int replied, int listed) {
        append(Kind::Poll,
               tr("poll: %n gateway(s) replied", nullptr, replied)
                   + tr(", %n connection(s) listed", nullptr, listed));
    });
}

void EventLogModel::setCapacity(int entries)
{
    d->capacity = qMax(1, entries);
    if (int(d->entries.size()) > d->capacity) {
        beginRemoveRows({}, d->capacity, int(d->entries.size()) - 1);
        d->entries.resize(size_t(d->capacity));
        endRemoveRows();
    }
}

int EventLogModel::capacity() const
{
    return d->capacity;
}

void EventLogModel::setDetailLimit(int entries)
{
    d->detailLimit = qMax(0, entries);
}

void EventLogModel::append(Kind kind, const QString &text, qint64 timeMs)
{
    if (timeMs == 0)
        timeMs = d->tracker ? d->tracker->clock()->nowMs() : QDateTime::currentMSecsSinceEpoch();
    // Only the newest `capacity` entries could be shown anyway.
    if (int(d->pending.size()) >= d->capacity)
        d->pending.erase(d->pending.begin());
    d->pending.push_back(Entry { timeMs, kind, text });
    if (!d->flushQueued) {
        d->flushQueued = true;
        QMetaObject::invokeMethod(this, &EventLogModel::flush, Qt::QueuedConnection);
    }
}

void EventLogModel::flush()
{
    d->flushQueued = false;
    std::vector<Entry> entries;
    entries.swap(d->pending);
    appendEntries(std::move(entries));
}

void EventLogModel::clear()
{
    d->pending.clear();
    beginResetModel();
    d->entries.clear();
    endResetModel();
}

void EventLogModel::appendEntries(std::vector<Entry> entries)
{
    if (entries.empty())
        return;
    // Entries arrive oldest first; shown newest first, so they go on top in reverse.
    const int incoming = int(qMin<size_t>(entries.size(), size_t(d->capacity)));
    const int keep = qMin(int(d->entries.size()), d->capacity - incoming);
    if (keep < int(d->entries.size())) {
        beginRemoveRows({}, keep, int(d->entries.size()) - 1);
        d->entries.resize(size_t(keep));
        endRemoveRows();
    }
    beginInsertRows({}, 0, incoming - 1);
    for (auto it = entries.end() - incoming; it != entries.end(); ++it)
        d->entries.push_front(std::move(*it));
    endInsertRows();
}

void EventLogModel::logChanges(const ChangeSet &changes)
{
    const Tracker *tracker = d->tracker;
    if (!tracker)
        return;
    const qint64 now = tracker->clock()->nowMs();
    const QVector<Gateway> &gateways = tracker->gateways();
    std::vector<Entry> entries;

    auto logConnections = [&](const QVector<quint32> &slotList, Kind kind, const QString &verb) {
        int logged = 0;
        for (quint32 slot : slotList) {
            if (logged == d->detailLimit)
                break;
            if (const Connection *connection = tracker->connectionAt(slot)) {
                const QString gid = gateways.value(int(connection->gateway)).gid;
                entries.push_back(
                    { now, kind, QStringLiteral("%1 %2 on %3").arg(connection->cid.toString(), verb, gid) });
                ++logged;
            }
        }
        if (slotList.size() > logged)
            entries.push_back(
                { now, kind, tr("… and %n more %1", nullptr, int(slotList.size() - logged)).arg(verb) });
    };
    logConnections(changes.added, Kind::Connect, tr("connected"));
    logConnections(changes.removed, Kind::Disconnect, tr("ended"));

    if (changes.gatewaysChanged) {
        QHash<QString, GatewayState> states;
        for (const Gateway &gateway : gateways) {
            if (gateway.removed) {
                if (d->gatewayStates.contains(gateway.gid))
                    entries.push_back({ now, Kind::Gateway, tr("gateway %1 removed").arg(gateway.gid) });
                continue;
            }
            states.insert(gateway.gid, gateway.state);
            const auto previous = d->gatewayStates.constFind(gateway.gid);
            if (previous == d->gatewayStates.cend())
                entries.push_back(
                    { now, Kind::Gateway,
                      tr("gateway %1 appeared (%2)").arg(gateway.gid, toString(gateway.state)) });
            else if (*previous != gateway.state)
                entries.push_back(
                    { now, Kind::Gateway, tr("gateway %1 is %2").arg(gateway.gid, toString(gateway.state)) });
        }
        d->gatewayStates = std::move(states);
    }
    for (Entry &entry : entries)
        d->pending.push_back(std::move(entry));
    flush();
}

int EventLogModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(d->entries.size());
}

int EventLogModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant EventLogModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid))
        return {};
    const Entry &entry = d->entries[size_t(index.row())];
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case TimeColumn:
            return QDateTime::fromMSecsSinceEpoch(entry.timeMs).toString(QStringLiteral("HH:mm:ss.zzz"));
        case KindColumn:
            return kindName(entry.kind);
        case TextColumn:
            return entry.text;
        }
        break;
    case Qt::ToolTipRole:
        if (index.column() == TimeColumn)
            return QDateTime::fromMSecsSinceEpoch(entry.timeMs).toString(Qt::ISODateWithMs);
        return entry.text;
    case KindRole:
        return QVariant::fromValue(entry.kind);
    case TimeMsRole:
        return entry.timeMs;
    }
    return {};
}

QVariant EventLogModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case TimeColumn:
        return tr("Time");
    case KindColumn:
        return tr("Kind");
    case TextColumn:
        return tr("Event");
    }
    return {};
}

QString EventLogModel::kindName(Kind kind)
{
    switch (kind) {
    case Kind::Connect:
        return tr("connect");
    case Kind::Disconnect:
        return tr("end");
    case Kind::Gateway:
        return tr("gateway");
    case Kind::Poll:
        return tr("poll");
    case Kind::Error:
        return tr("error");
    case Kind::Info:
        return tr("info");
    }
    return {};
}

} // namespace ResWatch
