#include "closedconnectionsmodel.h"

#include "connectionsmodel.h"
#include "duration.h"
#include "models_p.h"
#include "tracker.h"

#include <QPointer>

namespace ResWatch {

class ClosedConnectionsModel::Private
{
public:
    ClosedConnectionsModel *q;
    QPointer<Tracker> tracker;
    QMetaObject::Connection changedConnection;
    QMetaObject::Connection destroyedConnection;
    // Rows the views know about. The oldest of them are at the front of the
    // tracker's deque, which is where drops happen; appends go to its back.
    int count = 0;
    // While a drop is being signalled: rows at the bottom whose entries the deque
    // no longer holds (they were popped from its front).
    int droppedPending = 0;

    const ClosedConnection *entry(int row) const
    {
        if (!tracker || row < 0 || row >= count)
            return nullptr;
        const auto &history = tracker->closedConnections();
        const qint64 i = qint64(count) - 1 - row - droppedPending;
        return i >= 0 && size_t(i) < history.size() ? &history[size_t(i)] : nullptr;
    }
    void onChanged(const ChangeSet &changes);
};

void ClosedConnectionsModel::Private::onChanged(const ChangeSet &changes)
{
    if (changes.closedAppended == 0 && changes.closedDropped == 0)
        return;
    const int size = int(tracker->closedConnections().size());
    if (count + changes.closedAppended - changes.closedDropped != size || changes.closedAppended < 0
        || changes.closedDropped < 0) {
        qCWarning(lcModels) << "Closed connections out of step: had" << count << "+" << changes.closedAppended
                            << "-" << changes.closedDropped << "but the tracker has" << size;
        q->beginResetModel();
        count = size;
        q->endResetModel();
        return;
    }
    // Drops beyond the rows we had took some of the new entries with them.
    const int droppedShown = std::min(changes.closedDropped, count);
    if (droppedShown > 0) {
        droppedPending = droppedShown;
        q->beginRemoveRows({}, count - droppedShown, count - 1);
        count -= droppedShown;
        droppedPending = 0;
        q->endRemoveRows();
    }
    const int fresh = size - count;
    if (fresh > 0) {
        q->beginInsertRows({}, 0, fresh - 1);
        count = size;
        q->endInsertRows();
    }
}

ClosedConnectionsModel::ClosedConnectionsModel(Tracker *tracker, QObject *parent)
    : QAbstractTableModel(parent), d(std::make_unique<Private>())
{
    d->q = this;
    setTracker(tracker);
}

ClosedConnectionsModel::~ClosedConnectionsModel() = default;

void ClosedConnectionsModel::setTracker(Tracker *tracker)
{
    if (d->changedConnection)
        disconnect(d->changedConnection);
    if (d->destroyedConnection)
        disconnect(d->destroyedConnection);
    beginResetModel();
    d->tracker = tracker;
    d->count = tracker ? int(tracker->closedConnections().size()) : 0;
    endResetModel();
    if (tracker) {
        d->changedConnection = connect(tracker, &Tracker::changed, this,
                                       [this](const ChangeSet &changes) { d->onChanged(changes); });
        d->destroyedConnection = connect(tracker, &QObject::destroyed, this, [this] { setTracker(nullptr); });
    }
}

Tracker *ClosedConnectionsModel::tracker() const
{
    return d->tracker;
}

int ClosedConnectionsModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : d->count;
}

int ClosedConnectionsModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ClosedConnectionsModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const ClosedConnection *e = d->entry(index.row());
    if (!e)
        return {};
    const Connection &c = e->connection;
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case CidColumn:
            return c.cid.toString();
        case GatewayColumn:
            return e->gid;
        case ConnectedAtColumn:
            return ConnectionsModel::formatTime(c.connectedAtMs);
        case EndedAtColumn:
            return ConnectionsModel::formatTime(e->endedAtMs);
        case DurationColumn:
            return formatDuration(e->endedAtMs - c.connectedAtMs);
        case ReasonColumn:
            return toString(e->reason);
        case TokenColumn:
            return QString::fromUtf8(c.token);
        }
        return {};
    case SortRole:
        switch (index.column()) {
        case ConnectedAtColumn:
            return c.connectedAtMs;
        case EndedAtColumn:
            return e->endedAtMs;
        case DurationColumn:
            return e->endedAtMs - c.connectedAtMs;
        case ReasonColumn:
            return int(e->reason);
        }
        return data(index, Qt::DisplayRole);
    case CidRole:
        return c.cid.toString();
    case TokenRole:
        return c.token;
    case ReasonRole:
        return int(e->reason);
    case EndedAtRole:
        return e->endedAtMs;
    }
    return {};
}

QVariant ClosedConnectionsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case CidColumn:
        return tr("Connection");
    case GatewayColumn:
        return tr("Gateway");
    case ConnectedAtColumn:
        return tr("Connected at");
    case EndedAtColumn:
        return tr("Ended at");
    case DurationColumn:
        return tr("Duration");
    case ReasonColumn:
        return tr("Reason");
    case TokenColumn:
        return tr("Token");
    }
    return {};
}

QHash<int, QByteArray> ClosedConnectionsModel::roleNames() const
{
    QHash<int, QByteArray> names = QAbstractTableModel::roleNames();
    names.insert(SortRole, "sortValue");
    names.insert(CidRole, "cid");
    names.insert(TokenRole, "token");
    names.insert(ReasonRole, "reason");
    names.insert(EndedAtRole, "endedAt");
    return names;
}

} // namespace ResWatch
