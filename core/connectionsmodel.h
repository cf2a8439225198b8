#pragma once

#include "reswatchcore_export.h"

#include "connectionfilter.h"

#include <QAbstractTableModel>
#include <QByteArrayList>
#include <QSet>

#include <memory>

namespace ResWatch {

class Tracker;
struct ChangeSet;

/**
 * The live connections of a Tracker as a flat table, built for a million rows.
 *
 * Rows are slots of the tracker, kept in display order; text is formatted in
 * data() only for the rows a view asks for. Each Tracker::changed() becomes a
 * few range signals (one rowsInserted for a batch of new connections, removals
 * coalesced into ranges, one dataChanged per range of updated rows), or one
 * layout change when the batch is too scattered.
 *
 * Filtering and sorting happen inside the model, not in a
 * QSortFilterProxyModel (which took about 80 s to filter a million rows).
 * A new filter is evaluated in time slices on the GUI thread; the previous
 * rows stay visible meanwhile and the result is applied with one layout change.
 *
 * Not supported: editing, drag and drop, a tree. The duration column is not
 * signalled as it ticks: a view repaints it on its own schedule.
 */
class RESWATCH_CORE_EXPORT ConnectionsModel : public QAbstractTableModel
{
    Q_OBJECT
    Q_PROPERTY(int totalCount READ totalCount NOTIFY countsChanged)
    Q_PROPERTY(bool paused READ isPaused WRITE setPaused NOTIFY pausedChanged)
    Q_PROPERTY(bool filtering READ isFiltering NOTIFY filteringChanged)
public:
    enum Column {
        CidColumn,
        GatewayColumn,
        StateColumn,
        ConnectedAtColumn,
        DurationColumn,
        TidColumn,
        RemoteAddrColumn,
        HostColumn,
        SourceColumn,
        TokenColumn,
        FirstClaimColumn, ///< one column per claim in claims(), in order of discovery
    };
    Q_ENUM(Column)

    enum Role {
        SortRole = Qt::UserRole + 1, ///< the raw value the column sorts by (number or string)
        CidRole, ///< QString
        SlotRole, ///< quint32, for Tracker::connectionAt()
        TokenRole, ///< QByteArray, compact JSON (empty when none)
        ConnectedAtRole, ///< qint64, Unix ms
        StateRole, ///< int, a ConnectionState
        StaleRole, ///< bool: views style stale rows as they like
        GatewayIndexRole, ///< quint32, index in Tracker::gateways()
        GidRole, ///< QString
    };
    Q_ENUM(Role)

    /// Claim columns stop being added past this many (a token with random keys must not
    /// grow the table without bound).
    static constexpr int MaxClaimColumns = 64;

    explicit ConnectionsModel(QObject *parent = nullptr);
    /// @p tracker is not owned.
    explicit ConnectionsModel(Tracker *tracker, QObject *parent = nullptr);
    ~ConnectionsModel() override;

    /// Shows the connections of @p tracker (not owned), or nothing when null.
    void setTracker(Tracker *tracker);
    Tracker *tracker() const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

    /// The slot shown in @p row, or -1.
    qint64 slotAt(int row) const;
    /// The row showing @p slot, or -1 when it is filtered out or unknown.
    int rowOfSlot(quint32 slot) const;

    /// Every connection the model tracks (M in "N of M connections"); rowCount() is N.
    /// Both stay as shown while paused.
    int totalCount() const;

    /// Top-level keys of object tokens, in order of discovery; column FirstClaimColumn + i.
    QByteArrayList claims() const;
    /// The column of @p claim, or -1.
    int claimColumn(QByteArrayView claim) const;

    /**
     * Sorts by @p column: the keys are computed once and sorted in bulk, then
     * applied with one layout change. New and updated rows then go to their
     * sorted position. A negative column returns to arrival order.
     * Ties are broken by slot, so the order is deterministic.
     */
    void sort(int column, Qt::SortOrder order = Qt::AscendingOrder) override;
    int sortColumn() const;
    Qt::SortOrder sortOrder() const;

    /**
     * Shows only the connections that match @p filter. Evaluated in time slices
     * (see setSliceDuration()); filteringStarted() and filteringFinished() bracket
     * the work. Calling it again while a filter is being evaluated restarts the work.
     * While paused, the new filter is evaluated but shown on resume.
     */
    void setFilter(const ConnectionFilter &filter);
    /// The filter being evaluated, or the one shown when none is being evaluated.
    ConnectionFilter filter() const;
    /// Shows only the connections of these gateway indices; empty shows all. Evaluated like setFilter().
    void setGatewayFilter(const QSet<quint32> &gateways);
    QSet<quint32> gatewayFilter() const;
    /// Sets both at once (one evaluation).
    void setFilters(const ConnectionFilter &filter, const QSet<quint32> &gateways);
    bool isFiltering() const;

    /// Longest time one filter slice may take before yielding to the event loop; 15 ms by default.
    void setSliceDuration(int ms);
    int sliceDuration() const;

    /**
     * Freezes what views show: no signal, rows that end stay readable as they
     * were, while tracking goes on. pendingChanged() counts what resuming will
     * apply; resuming applies it with one layout change.
     * Rows updated while paused show their new content when a view repaints them.
     */
    void setPaused(bool paused);
    bool isPaused() const;
    /// Connections that appeared (and match the filters) since paused.
    int pendingAdded() const;
    /// Shown connections that ended since paused.
    int pendingRemoved() const;

    /// Local time as "yyyy-MM-dd HH:mm:ss", or an empty string for 0.
    static QString formatTime(qint64 unixMs);

Q_SIGNALS:
    /// rowCount() or totalCount() changed.
    void countsChanged(int shown, int total);
    void filteringStarted();
    /// The new filter is applied (or, while paused, ready to be applied on resume).
    void filteringFinished();
    void filteringChanged(bool filtering);
    void claimsChanged(const QByteArrayList &claims);
    void pausedChanged(bool paused);
    void pendingChanged(int added, int removed);

private:
    class Private;
    std::unique_ptr<Private> d;
};

} // namespace ResWatch
