#pragma once

#include "reswatchcore_export.h"

#include <QAbstractTableModel>

#include <deque>
#include <memory>

namespace ResWatch {

class Tracker;
struct ChangeSet;

/**
 * Recent tracking events, poll results and errors, newest first, capped.
 *
 * Fed by a Tracker (connections that appeared or ended, gateways, rejected
 * messages, polls) and by anyone else through append(). Under a flood only the
 * first entries of each change set are logged one by one, followed by a
 * summary line, so the log stays readable and cheap.
 */
class RESWATCH_CORE_EXPORT EventLogModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column { TimeColumn, KindColumn, TextColumn, ColumnCount };
    enum class Kind { Connect, Disconnect, Gateway, Poll, Error, Info };
    Q_ENUM(Kind)
    enum Role { KindRole = Qt::UserRole + 1, TimeMsRole };

    explicit EventLogModel(QObject *parent = nullptr);
    ~EventLogModel() override;

    /// Starts logging @p tracker's events (one tracker at a time; nullptr stops).
    void setTracker(Tracker *tracker);
    void setCapacity(int entries);
    int capacity() const;
    /// Connections logged one by one per change set before a summary line.
    void setDetailLimit(int entries);

    /// Adds an entry; entries appear together on the next event-loop turn (or at flush()).
    void append(Kind kind, const QString &text, qint64 timeMs = 0);
    /// Shows the entries appended so far now.
    void flush();
    void clear();

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    static QString kindName(Kind kind);

private:
    struct Entry;
    void appendEntries(std::vector<Entry> entries);
    void logChanges(const ChangeSet &changes);

    class Private;
    std::unique_ptr<Private> d;
};

} // namespace ResWatch
