#include "csvexporter.h"

#include "csvwriter.h"

#include <QDir>
#include <QFile>
#include <QLoggingCategory>
#include <QSaveFile>

#include <cstdio>
#include <vector>

// Failures are returned to the caller, who shows them; the log only says more when asked.
Q_LOGGING_CATEGORY(lcCsv, "reswatch.csv", QtWarningMsg)

namespace ResWatch {

namespace {

// Often enough for a smooth progress bar, rarely enough that the callback costs nothing.
constexpr qint64 ProgressStep = 8192;

} // namespace

class CsvExporter::Private
{
public:
    Source source;
    ConnectionFilter filter;
    QVector<quint32> slotList;
    Progress progress;
    qint64 rowsWritten = 0;
    bool canceled = false;
    QString error;

    qint64 total = 0;
    qint64 nextReport = 0;

    // False when the user canceled.
    bool report(qint64 done)
    {
        if (!progress || (done < nextReport && done != total))
            return true;
        nextReport = done + ProgressStep;
        if (progress(done, total))
            return true;
        canceled = true;
        return false;
    }

    const Connection *connectionAt(quint32 slot) const
    {
        return slot < source.slotCount() ? source.connectionAt(slot) : nullptr;
    }

    bool write(QIODevice *device, const QString &what);
};

bool CsvExporter::Private::write(QIODevice *device, const QString &what)
{
    const qint64 candidates = slotList.isEmpty() ? qint64(source.slotCount()) : slotList.size();
    total = 2 * candidates;
    nextReport = 0;
    if (!report(0))
        return false;

    CsvWriter writer(device);
    std::vector<quint32> selected;
    selected.reserve(size_t(candidates));
    for (qint64 i = 0; i < candidates; ++i) {
        const quint32 slot = slotList.isEmpty() ? quint32(i) : slotList.at(i);
        const Connection *connection = connectionAt(slot);
        if (connection && (filter.isEmpty() || filter.matches(*connection, source.gidOf(*connection)))) {
            selected.push_back(slot);
            writer.addTokenKeys(*connection);
        }
        if (!report(i + 1))
            return false;
    }

    bool ok = writer.writeHeader();
    qint64 done = 0;
    for (size_t i = 0; ok && i < selected.size(); ++i) {
        // The callback may have run the event loop: look the slot up again.
        if (const Connection *connection = connectionAt(selected[i])) {
            ok = writer.writeRow(*connection, source.gidOf(*connection));
            ++done;
        }
        if (ok && !report(candidates + qint64(i + 1) * candidates / qint64(selected.size())))
            return false;
    }
    ok = ok && writer.flush();
    if (!ok) {
        error = QStringLiteral("cannot write %1: %2").arg(what, writer.errorString());
        return false;
    }
    if (selected.empty() && !report(total))
        return false;
    rowsWritten = done;
    return true;
}

CsvExporter::CsvExporter(Source source) : d(std::make_unique<Private>())
{
    d->source = std::move(source);
}

CsvExporter::~CsvExporter() = default;

void CsvExporter::setFilter(const ConnectionFilter &filter)
{
    d->filter = filter;
}

void CsvExporter::setSlots(const QVector<quint32> &slotIndices)
{
    d->slotList = slotIndices;
}

void CsvExporter::setProgressCallback(Progress progress)
{
    d->progress = std::move(progress);
}

bool CsvExporter::exportTo(const QString &path)
{
    d->rowsWritten = 0;
    d->canceled = false;
    d->error.clear();

    if (path == QLatin1String("-")) {
        QFile out;
        if (!out.open(stdout, QIODevice::WriteOnly)) {
            d->error = QStringLiteral("cannot write to standard output: %1").arg(out.errorString());
            return false;
        }
        bool ok = d->write(&out, QStringLiteral("to standard output"));
        if (ok && !out.flush()) {
            d->error = QStringLiteral("cannot write to standard output: %1").arg(out.errorString());
            ok = false;
        }
        if (d->canceled)
            d->error = QStringLiteral("export canceled");
        return ok;
    }

    const QString shownPath = QDir::toNativeSeparators(path);
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
        d->error = QStringLiteral("cannot write %1: %2").arg(shownPath, file.errorString());
        qCInfo(lcCsv) << d->error;
        return false;
    }
    if (!d->write(&file, shownPath)) {
        file.cancelWriting();
        if (d->canceled)
            d->error = QStringLiteral("export canceled");
        qCInfo(lcCsv) << d->error;
        return false;
    }
    if (!file.commit()) {
        d->error = QStringLiteral("cannot write %1: %2").arg(shownPath, file.errorString());
        qCInfo(lcCsv) << d->error;
        d->rowsWritten = 0;
        return false;
    }
    qCDebug(lcCsv) << "exported" << d->rowsWritten << "connections to" << shownPath;
    return true;
}

qint64 CsvExporter::rowsWritten() const
{
    return d->rowsWritten;
}

bool CsvExporter::wasCanceled() const
{
    return d->canceled;
}

QString CsvExporter::errorString() const
{
    return d->error;
}

} // namespace ResWatch
