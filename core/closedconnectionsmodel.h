#pragma once

#include "reswatchcore_export.h"

#include <QAbstractTableModel>

#include <memory>

namespace ResWatch {

class Tracker;

/**
 * The history of ended connections (Tracker::closedConnections()), newest
 * first. New entries are one rowsInserted at the top per change set, dropped
 * ones one rowsRemoved at the bottom.
 *
 * Not supported: sorting and filtering (the history is bounded by
 * TrackerSettings::closedHistoryLimit, a proxy is fine), editing.
 */
class RESWATCH_CORE_EXPORT ClosedConnectionsModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column {
        CidColumn,
        GatewayColumn,
        ConnectedAtColumn,
        EndedAtColumn,
        DurationColumn,
        ReasonColumn,
        TokenColumn,
        ColumnCount
    };
    Q_ENUM(Column)

    enum Role {
        SortRole = Qt::UserRole + 1, ///< the raw value of the column
        CidRole, ///< QString
        TokenRole, ///< QByteArray, compact JSON
        ReasonRole, ///< int, an EndReason
        EndedAtRole, ///< qint64, Unix ms
    };
    Q_ENUM(Role)

    explicit ClosedConnectionsModel(Tracker *tracker = nullptr, QObject *parent = nullptr);
    ~ClosedConnectionsModel() override;

    /// @p tracker is not owned.
    void setTracker(Tracker *tracker);
    Tracker *tracker() const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

private:
    class Private;
    std::unique_ptr<Private> d;
};

} // namespace ResWatch
