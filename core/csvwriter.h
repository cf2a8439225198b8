#pragma once

#include "connection.h"

#include <QByteArray>
#include <QList>
#include <QString>
#include <QVector>

#include <memory>

class QIODevice;

namespace ResWatch {

/// One row to export: a connection and the id of its gateway.
struct CsvRow
{
    const Connection *connection = nullptr;
    QString gid;
};

/**
 * Writes connections as CSV: RFC 4180, UTF-8 without a BOM, CRLF after every
 * record, a header row. Columns: `cid,gid,state,connected_at,token,tid,remote_addr`,
 * then one `token.<key>` column per top-level key of the object tokens exported,
 * sorted by key. `connected_at` is ISO 8601 UTC with milliseconds (empty when
 * unknown, that is 0); `token` is the compact JSON, empty for no token or null;
 * a `token.<key>` cell holds a string value decoded, any other value as compact
 * JSON, and is empty when the key is absent.
 *
 * Cells a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`,
 * tab or carriage return) get a leading `'`; cells containing `"`, `,`, CR or LF
 * are quoted with the quotes doubled.
 *
 * The token columns depend on every row, so rows are given twice: first to
 * addTokenKeys() (or setTokenKeys()), then, after writeHeader(), to writeRow().
 * write() does both for a list. Independent of the Tracker; CsvExporter uses it.
 */
class RESWATCH_CORE_EXPORT CsvWriter
{
public:
    /// Writes to @p device, which must be open for writing and outlive the writer.
    explicit CsvWriter(QIODevice *device);
    ~CsvWriter();
    CsvWriter(const CsvWriter &) = delete;
    CsvWriter &operator=(const CsvWriter &) = delete;

    /// Adds the top-level keys of @p connection's token (if an object) to the token columns.
    void addTokenKeys(const Connection &connection);
    /// Replaces the token columns (the keys, decoded, without the `token.` prefix).
    void setTokenKeys(const QList<QByteArray> &keys);
    /// The token columns, sorted.
    QList<QByteArray> tokenKeys() const;

    /// Writes the header row. Returns false on a write error.
    bool writeHeader();
    bool writeRow(const Connection &connection, QStringView gid);
    bool writeRow(const CsvRow &row) { return writeRow(*row.connection, row.gid); }
    /// Writes out what is buffered. Returns false on a write error (see errorString()).
    bool flush();

    /// The device's error after a failed write, empty otherwise.
    QString errorString() const;

    /// Writes @p rows completely (keys, header, rows, flush). On failure fills @p errorString.
    static bool write(QIODevice *device, const QVector<CsvRow> &rows, QString *errorString = nullptr);

    /// @p msSinceEpoch as `2026-12-04T15:12:56.000Z`.
    static QByteArray formatTimestamp(qint64 msSinceEpoch);

private:
    class Private;
    std::unique_ptr<Private> d;
};

} // namespace ResWatch
