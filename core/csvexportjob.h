#pragma once

#include "reswatchcore_export.h"

#include <QObject>
#include <QVector>

#include <memory>

namespace ResWatch {

class Tracker;

/**
 * Exports connections to a CSV file without blocking the GUI thread: start()
 * copies the rows (a fraction of a second for a million), and a worker thread
 * writes them atomically through CsvExporter while tracking goes on. Progress
 * and the result come back as signals on the thread that owns the job.
 */
class RESWATCH_CORE_EXPORT CsvExportJob : public QObject
{
    Q_OBJECT
public:
    /// Exports @p slotIndices of @p tracker (empty: every connection) to @p path.
    CsvExportJob(const Tracker &tracker, const QVector<quint32> &slotIndices, const QString &path,
                 QObject *parent = nullptr);
    ~CsvExportJob() override;

    void start();
    /// Stops the worker; the file is left as it was before the export.
    void cancel();
    /// Rows being exported (known after start()).
    qint64 rowCount() const;
    QString path() const;

Q_SIGNALS:
    /// At most a hundred times per export.
    void progress(qint64 done, qint64 total);
    /// @p error says why when the export failed or was canceled.
    void finished(bool success, const QString &error);

private:
    class Private;
    std::unique_ptr<Private> d;
};

} // namespace ResWatch
