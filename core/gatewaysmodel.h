#pragma once

#include "reswatchcore_export.h"

#include "connection.h"

#include <QAbstractTableModel>

#include <memory>

namespace ResWatch {

class Tracker;

/**
 * The gateways of a Tracker, one row per gateway that is not removed, in the
 * order the tracker first saw them. Updated from Tracker::changed() with one
 * rowsInserted/rowsRemoved per range and one dataChanged per range of rows
 * whose values changed.
 *
 * Not supported: sorting (a view can use a proxy: there are tens of gateways,
 * not millions), editing.
 */
class RESWATCH_CORE_EXPORT GatewaysModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column {
        GidColumn,
        StateColumn,
        ConnectionsColumn,
        StartedAtColumn,
        LastReplyColumn,
        MissedPollsColumn,
        SourceColumn, ///< "native" (the tracking protocol) or "stock (monitor)" (SPEC section 4)
        ClientColumn, ///< Source::Monitor: the gateway's NATS client, "name ip:port"
        ColumnCount
    };
    Q_ENUM(Column)

    enum Role {
        SortRole = Qt::UserRole + 1, ///< the raw value of the column
        GatewayIndexRole, ///< quint32, index in Tracker::gateways() (for
                          ///< ConnectionsModel::setGatewayFilter())
        GidRole, ///< QString
        StateRole, ///< int, a GatewayState: views pick the colours
        StaleRole, ///< bool: stale or stopped
        SourceRole, ///< int, a Source
    };
    Q_ENUM(Role)

    explicit GatewaysModel(Tracker *tracker = nullptr, QObject *parent = nullptr);
    ~GatewaysModel() override;

    /// @p tracker is not owned.
    void setTracker(Tracker *tracker);
    Tracker *tracker() const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

    /// The gateway index shown in @p row, or -1.
    qint64 gatewayIndexAt(int row) const;
    /// The row of gateway index @p gatewayIndex, or -1.
    int rowOfGateway(quint32 gatewayIndex) const;

    /// "native" for gateways that speak the tracking protocol, "stock (monitor)" for those seen
    /// through nats-server's monitoring.
    static QString sourceText(Source source);

private:
    class Private;
    std::unique_ptr<Private> d;
};

} // namespace ResWatch
