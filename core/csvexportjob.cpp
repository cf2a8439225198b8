#include "csvexportjob.h"

#include "csvexporter.h"
#include "tracker.h"

#include <QThread>

#include <atomic>
#include <vector>

namespace ResWatch {

class CsvExportJob::Private
{
public:
    const Tracker &tracker;
    QVector<quint32> slotIndices;
    QString path;
    // The copy the worker reads: the tracker itself keeps changing on the GUI thread.
    std::vector<Connection> rows;
    std::vector<QString> gids;
    std::atomic<bool> canceled { false };
    QThread *worker = nullptr;

    Private(const Tracker &tracker, const QVector<quint32> &slotIndices, const QString &path)
        : tracker(tracker), slotIndices(slotIndices), path(path)
    { }

    void copyRows()
    {
        const QVector<Gateway> &gateways = tracker.gateways();
        auto take = [&](quint32 slot) {
            if (const Connection *connection = tracker.connectionAt(slot)) {
                rows.push_back(*connection);
                gids.push_back(gateways.value(int(connection->gateway)).gid);
            }
        };
        if (slotIndices.isEmpty()) {
            rows.reserve(size_t(tracker.connectionCount()));
            gids.reserve(size_t(tracker.connectionCount()));
            for (quint32 slot = 0; slot < tracker.slotCount(); ++slot)
                take(slot);
        } else {
            rows.reserve(size_t(slotIndices.size()));
            gids.reserve(size_t(slotIndices.size()));
            for (quint32 slot : std::as_const(slotIndices))
                take(slot);
        }
    }
};

CsvExportJob::CsvExportJob(const Tracker &tracker, const QVector<quint32> &slotIndices, const QString &path,
                           QObject *parent)
    : QObject(parent), d(std::make_unique<Private>(tracker, slotIndices, path))
{ }

CsvExportJob::~CsvExportJob()
{
    if (d->worker) {
        d->canceled = true;
        d->worker->wait();
        delete d->worker;
    }
}

void CsvExportJob::start()
{
    if (d->worker)
        return;
    d->copyRows();
    Private *state = d.get();
    d->worker = QThread::create([this, state] {
        CsvExporter::Source source;
        source.slotCount = [state] {
            return quint32(state->rows.size());
        };
        source.connectionAt = [state](quint32 index) {
            return &state->rows[index];
        };
        source.gidOf = [state](const Connection &connection) {
            return state->gids[size_t(&connection - state->rows.data())];
        };
        CsvExporter exporter(source);
        qint64 lastPercent = -1;
        exporter.setProgressCallback([this, state, &lastPercent](qint64 done, qint64 total) {
            const qint64 percent = total > 0 ? done * 100 / total : 100;
            if (percent != lastPercent) {
                lastPercent = percent;
                QMetaObject::invokeMethod(
                    this, [this, done, total] { Q_EMIT progress(done, total); }, Qt::QueuedConnection);
            }
            return !state->canceled.load();
        });
        const bool success = exporter.exportTo(state->path);
        const QString error = success ? QString()
            : exporter.wasCanceled()  ? tr("export to %1 canceled").arg(state->path)
                                      : exporter.errorString();
        // The destructor waits for this thread, so the job is alive to receive these.
        QMetaObject::invokeMethod(
            this, [this, success, error] { Q_EMIT finished(success, error); }, Qt::QueuedConnection);
    });
    d->worker->start();
}

void CsvExportJob::cancel()
{
    d->canceled = true;
}

qint64 CsvExportJob::rowCount() const
{
    return qint64(d->rows.size());
}

QString CsvExportJob::path() const
{
    return d->path;
}

} // namespace ResWatch
