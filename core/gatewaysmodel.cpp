#include "gatewaysmodel.h"

#include "clock.h"
#include "connectionsmodel.h"
#include "duration.h"
#include "models_p.h"
#include "tracker.h"

#include <QPointer>

namespace ResWatch {

namespace {

bool sameValues(const Gateway &a, const Gateway &b)
{
    return a.state == b.state && a.source == b.source && a.startedAtMs == b.startedAtMs
        && a.lastReplyMs == b.lastReplyMs && a.staleSinceMs == b.staleSinceMs
        && a.missedPolls == b.missedPolls && a.connectionCount == b.connectionCount
        && a.natsName == b.natsName && a.natsAddress == b.natsAddress && a.server == b.server
        && a.monitor == b.monitor;
}

QString clientText(const Gateway &g)
{
    if (g.source != Source::Monitor)
        return {};
    if (g.natsName.isEmpty())
        return g.natsAddress;
    return g.natsAddress.isEmpty() ? g.natsName : g.natsName + QLatin1Char(' ') + g.natsAddress;
}

/// Who a stock gateway is: the gid alone ("server/NATS cid") does not tell.
QString monitorDetails(const Gateway &g, qint64 nowMs)
{
    QStringList lines;
    lines << GatewaysModel::tr("Stock Resgate, seen through nats-server monitoring");
    lines << GatewaysModel::tr("NATS client: %1")
                 .arg(g.natsName.isEmpty() ? GatewaysModel::tr("(no name)") : g.natsName);
    if (!g.natsAddress.isEmpty())
        lines << GatewaysModel::tr("Address: %1").arg(g.natsAddress);
    if (g.startedAtMs > 0) {
        lines
            << GatewaysModel::tr("Connected to NATS at %1").arg(ConnectionsModel::formatTime(g.startedAtMs));
        if (nowMs >= g.startedAtMs)
            lines << GatewaysModel::tr("Uptime: %1").arg(formatDuration(nowMs - g.startedAtMs));
    }
    if (!g.server.isEmpty())
        lines << GatewaysModel::tr("NATS server: %1").arg(g.server);
    if (!g.monitor.isEmpty())
        lines << GatewaysModel::tr("Read through: %1")
                     .arg(g.monitor.startsWith(QLatin1String("$SYS"))
                              ? GatewaysModel::tr("the system account ($SYS.REQ.SERVER.PING.CONNZ)")
                              : g.monitor);
    return lines.join(QLatin1Char('\n'));
}

} // namespace

class GatewaysModel::Private
{
public:
    GatewaysModel *q;
    QPointer<Tracker> tracker;
    QMetaObject::Connection changedConnection;
    QMetaObject::Connection destroyedConnection;

    // A copy of what the rows show, so a refresh can tell exactly which rows changed.
    struct Row
    {
        quint32 index;
        Gateway gateway;
    };
    std::vector<Row> rows;

    void refresh();
    std::vector<Row> current() const;
};

std::vector<GatewaysModel::Private::Row> GatewaysModel::Private::current() const
{
    std::vector<Row> result;
    if (!tracker)
        return result;
    const auto &gws = tracker->gateways();
    for (int i = 0; i < gws.size(); ++i) {
        if (!gws[i].removed)
            result.push_back({ quint32(i), gws[i] });
    }
    return result;
}

void GatewaysModel::Private::refresh()
{
    const std::vector<Row> next = current();

    // Rows whose gateway went away (or whose index now holds another gid) leave first.
    std::vector<int> gone;
    {
        size_t j = 0;
        for (size_t i = 0; i < rows.size(); ++i) {
            while (j < next.size() && next[j].index < rows[i].index)
                ++j;
            if (j >= next.size() || next[j].index != rows[i].index
                || next[j].gateway.gid != rows[i].gateway.gid)
                gone.push_back(int(i));
        }
    }
    const auto removals = ModelRanges::coalesce(gone);
    for (auto it = removals.rbegin(); it != removals.rend(); ++it) {
        q->beginRemoveRows({}, it->first, it->last);
        rows.erase(rows.begin() + it->first, rows.begin() + it->last + 1);
        q->endRemoveRows();
    }

    // Both lists are in index order: walk them together, inserting runs of new gateways.
    std::vector<int> changed;
    size_t i = 0;
    size_t j = 0;
    while (j < next.size()) {
        if (i < rows.size() && rows[i].index == next[j].index) {
            if (!sameValues(rows[i].gateway, next[j].gateway)) {
                rows[i].gateway = next[j].gateway;
                changed.push_back(int(i));
            }
            ++i;
            ++j;
            continue;
        }
        size_t runEnd = j;
        while (runEnd < next.size() && (i >= rows.size() || next[runEnd].index < rows[i].index))
            ++runEnd;
        q->beginInsertRows({}, int(i), int(i + (runEnd - j)) - 1);
        rows.insert(rows.begin() + qsizetype(i), next.begin() + qsizetype(j),
                    next.begin() + qsizetype(runEnd));
        q->endInsertRows();
        i += runEnd - j;
        j = runEnd;
    }
    for (const auto &range : ModelRanges::coalesce(std::move(changed)))
        emit q->dataChanged(q->index(range.first, StateColumn), q->index(range.last, ColumnCount - 1));
}

GatewaysModel::GatewaysModel(Tracker *tracker, QObject *parent)
    : QAbstractTableModel(parent), d(std::make_unique<Private>())
{
    d->q = this;
    setTracker(tracker);
}

GatewaysModel::~GatewaysModel() = default;

void GatewaysModel::setTracker(Tracker *tracker)
{
    if (d->changedConnection)
        disconnect(d->changedConnection);
    if (d->destroyedConnection)
        disconnect(d->destroyedConnection);
    beginResetModel();
    d->tracker = tracker;
    d->rows = d->current();
    endResetModel();
    if (tracker) {
        // Connection counts move with connections, not only with gatewaysChanged.
        d->changedConnection = connect(tracker, &Tracker::changed, this, [this](const ChangeSet &changes) {
            if (changes.gatewaysChanged || !changes.added.isEmpty() || !changes.removed.isEmpty()
                || !changes.updated.isEmpty())
                d->refresh();
        });
        d->destroyedConnection = connect(tracker, &QObject::destroyed, this, [this] { setTracker(nullptr); });
    }
}

Tracker *GatewaysModel::tracker() const
{
    return d->tracker;
}

int GatewaysModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(d->rows.size());
}

int GatewaysModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant GatewaysModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Private::Row &row = d->rows[size_t(index.row())];
    const Gateway &g = row.gateway;
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case GidColumn:
            return g.gid;
        case StateColumn:
            return toString(g.state);
        case ConnectionsColumn:
            return g.connectionCount;
        case StartedAtColumn:
            return ConnectionsModel::formatTime(g.startedAtMs);
        case LastReplyColumn:
            return ConnectionsModel::formatTime(g.lastReplyMs);
        case MissedPollsColumn:
            return g.missedPolls;
        case SourceColumn:
            return sourceText(g.source);
        case ClientColumn:
            return clientText(g);
        }
        return {};
    case Qt::ToolTipRole:
        if (g.source == Source::Monitor
            && (index.column() == GidColumn || index.column() == SourceColumn
                || index.column() == ClientColumn || index.column() == StartedAtColumn))
            return monitorDetails(g, d->tracker ? d->tracker->clock()->nowMs() : 0);
        if (index.column() == SourceColumn)
            return g.source == Source::Event
                ? tr("Speaks the tracking protocol; first seen through its system.start event")
                : tr("Speaks the tracking protocol; first seen answering a poll");
        if (index.column() == StateColumn && g.state != GatewayState::Up && g.staleSinceMs > 0)
            return tr("%1 since %2").arg(toString(g.state), ConnectionsModel::formatTime(g.staleSinceMs));
        if (index.column() == StartedAtColumn && g.startedAtMs == 0)
            return tr("No system.start was seen from this gateway");
        return {};
    case SortRole:
        switch (index.column()) {
        case StateColumn:
            return int(g.state);
        case StartedAtColumn:
            return g.startedAtMs;
        case LastReplyColumn:
            return g.lastReplyMs;
        case SourceColumn:
            return int(g.source);
        }
        return data(index, Qt::DisplayRole);
    case GatewayIndexRole:
        return row.index;
    case GidRole:
        return g.gid;
    case StateRole:
        return int(g.state);
    case StaleRole:
        return g.state != GatewayState::Up;
    case SourceRole:
        return int(g.source);
    }
    return {};
}

QVariant GatewaysModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case GidColumn:
        return tr("Gateway");
    case StateColumn:
        return tr("State");
    case ConnectionsColumn:
        return tr("Connections");
    case StartedAtColumn:
        return tr("Started at");
    case LastReplyColumn:
        return tr("Last reply");
    case MissedPollsColumn:
        return tr("Missed polls");
    case SourceColumn:
        return tr("Source");
    case ClientColumn:
        return tr("NATS client");
    }
    return {};
}

QHash<int, QByteArray> GatewaysModel::roleNames() const
{
    QHash<int, QByteArray> names = QAbstractTableModel::roleNames();
    names.insert(SortRole, "sortValue");
    names.insert(GatewayIndexRole, "gatewayIndex");
    names.insert(GidRole, "gid");
    names.insert(StateRole, "state");
    names.insert(StaleRole, "stale");
    names.insert(SourceRole, "source");
    return names;
}

qint64 GatewaysModel::gatewayIndexAt(int row) const
{
    return row >= 0 && size_t(row) < d->rows.size() ? qint64(d->rows[size_t(row)].index) : -1;
}

QString GatewaysModel::sourceText(Source source)
{
    return source == Source::Monitor ? tr("stock (monitor)") : tr("native");
}

int GatewaysModel::rowOfGateway(quint32 gatewayIndex) const
{
    for (size_t i = 0; i < d->rows.size(); ++i) {
        if (d->rows[i].index == gatewayIndex)
            return int(i);
    }
    return -1;
}

} // namespace ResWatch
