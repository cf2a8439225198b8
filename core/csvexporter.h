#pragma once

#include "connectionfilter.h"
#include "tracker.h"

#include <QString>
#include <QVector>

#include <functional>
#include <memory>

namespace ResWatch {

/**
 * Exports a Tracker's connections to a CSV file (see CsvWriter for the format):
 * all of them, or the given slots, optionally only those a ConnectionFilter keeps.
 *
 * A file is written atomically (QSaveFile): a failed or canceled export leaves
 * no file, or the previous one untouched. The path "-" writes to standard output,
 * where a failure can leave partial output.
 *
 * The progress callback may run the event loop (a progress dialog does): the
 * exporter keeps no connection pointer across it, and rows that disappear
 * meanwhile are skipped. Not supported: exporting from another thread.
 */
class RESWATCH_CORE_EXPORT CsvExporter
{
public:
    /// What the exporter reads; built from a Tracker by the Tracker constructor.
    struct Source
    {
        std::function<quint32()> slotCount;
        std::function<const Connection *(quint32 slot)> connectionAt;
        std::function<QString(const Connection &)> gidOf;
    };

    /**
     * Called with @p done from 0 to @p total (work units: each candidate row counts
     * once when it is selected and once when it is written). Returning false cancels.
     */
    using Progress = std::function<bool(qint64 done, qint64 total)>;

    /// Exports from @p tracker, which must outlive the exporter.
    explicit CsvExporter(const Tracker &tracker) : CsvExporter(sourceOf(tracker)) { }
    explicit CsvExporter(Source source);
    ~CsvExporter();
    CsvExporter(const CsvExporter &) = delete;
    CsvExporter &operator=(const CsvExporter &) = delete;

    /// Only connections @p filter keeps (the empty filter keeps all).
    void setFilter(const ConnectionFilter &filter);
    /// Only these slots, in this order (for "export selected rows"); empty means all slots.
    void setSlots(const QVector<quint32> &slotIndices);
    void setProgressCallback(Progress progress);

    /// Writes the CSV to @p path, or to standard output for "-". False on error or cancel.
    bool exportTo(const QString &path);

    /// Data rows written by the last successful exportTo().
    qint64 rowsWritten() const;
    bool wasCanceled() const;
    /// Why the last exportTo() failed, for the user: "cannot write /x.csv: Permission denied".
    QString errorString() const;

    static Source sourceOf(const Tracker &tracker)
    {
        Source source;
        source.slotCount = [&tracker] {
            return tracker.slotCount();
        };
        source.connectionAt = [&tracker](quint32 slot) {
            return tracker.connectionAt(slot);
        };
        source.gidOf = [&tracker](const Connection &connection) {
            const QVector<Gateway> &gateways = tracker.gateways();
            return connection.gateway < quint32(gateways.size()) ? gateways.at(connection.gateway).gid
                                                                 : QString();
        };
        return source;
    }

private:
    class Private;
    std::unique_ptr<Private> d;
};

} // namespace ResWatch
