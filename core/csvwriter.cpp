#include "csvwriter.h"

#include "jsonscan_p.h"

#include <QFileDevice>
#include <QIODevice>

#include <algorithm>
#include <cstring>
#include <set>
#include <string_view>

namespace ResWatch {

namespace {

// Written out in chunks: a QIODevice::write per row would cost more than the formatting.
constexpr qsizetype FlushThreshold = 256 * 1024;

// QByteArray::append costs a call and a capacity check per byte, which made appending the
// cells (mostly quoted JSON) the bulk of an export; this writes into spare room directly.
class OutBuffer
{
public:
    OutBuffer() : m_storage(FlushThreshold + 64 * 1024, Qt::Uninitialized) { }

    // Room for @p n more bytes; commit what was written with advance().
    char *room(qsizetype n)
    {
        if (m_used + n > m_storage.size())
            m_storage.resize(std::max(m_storage.size() * 2, m_used + n));
        return m_storage.data() + m_used;
    }
    void advance(char *end) { m_used = end - m_storage.data(); }

    void append(char c) { *room(1) = c, ++m_used; }
    void append(QByteArrayView bytes)
    {
        std::memcpy(room(bytes.size()), bytes.data(), size_t(bytes.size()));
        m_used += bytes.size();
    }
    template<qsizetype N> void append(const char (&literal)[N]) { append(QByteArrayView(literal, N - 1)); }

    const char *data() const { return m_storage.constData(); }
    qsizetype size() const { return m_used; }
    bool isEmpty() const { return m_used == 0; }
    void clear() { m_used = 0; }

private:
    QByteArray m_storage;
    qsizetype m_used = 0;
};

void appendCell(OutBuffer &out, QByteArrayView cell)
{
    if (cell.isEmpty())
        return;
    const char first = cell.front();
    const bool neutralise
        = first == '=' || first == '+' || first == '-' || first == '@' || first == '\t' || first == '\r';
    const char *begin = cell.data();
    const char *end = begin + cell.size();
    const char *special = begin;
    while (special != end && *special != '"' && *special != ',' && *special != '\r' && *special != '\n')
        ++special;
    if (special == end && !neutralise) {
        out.append(cell);
        return;
    }
    const bool quote = special != end;
    char *p = out.room(2 * cell.size() + 3);
    if (quote)
        *p++ = '"';
    if (neutralise)
        *p++ = '\'';
    if (quote) {
        std::memcpy(p, begin, size_t(special - begin));
        p += special - begin;
        for (const char *c = special; c != end; ++c) {
            if (*c == '"')
                *p++ = '"';
            *p++ = *c;
        }
        *p++ = '"';
    } else {
        std::memcpy(p, begin, size_t(cell.size()));
        p += cell.size();
    }
    out.advance(p);
}

// Byte order, which for UTF-8 is code point order; transparent so views look up without a copy.
struct KeyLess
{
    using is_transparent = void;
    bool operator()(QByteArrayView a, QByteArrayView b) const
    {
        return std::string_view(a.data(), size_t(a.size())) < std::string_view(b.data(), size_t(b.size()));
    }
};

JsonScan::Value objectToken(const QByteArray &token)
{
    // Stored tokens are compact and validated; only objects have columns.
    if (token.isEmpty() || token.front() != '{')
        return {};
    return { JsonScan::Type::Object, QByteArrayView(token) };
}

void appendDigits(char *&p, int value, int width)
{
    for (int i = width - 1; i >= 0; --i) {
        p[i] = char('0' + value % 10);
        value /= 10;
    }
    p += width;
}

// Writes at most 24 characters to @p text and returns how many; 0 when out of range.
int formatTimestampTo(char *text, qint64 msSinceEpoch)
{
    // QDateTime::toString costs about a microsecond and an allocation or three a row; this is
    // the days-to-civil algorithm of Howard Hinnant's date library.
    const qint64 dayMs = 86400000;
    qint64 days = msSinceEpoch / dayMs;
    qint64 msOfDay = msSinceEpoch % dayMs;
    if (msOfDay < 0) {
        msOfDay += dayMs;
        --days;
    }
    const qint64 z = days + 719468;
    const qint64 era = (z >= 0 ? z : z - 146096) / 146097;
    const qint64 doe = z - era * 146097;
    const qint64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const qint64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const qint64 mp = (5 * doy + 2) / 153;
    const int day = int(doy - (153 * mp + 2) / 5 + 1);
    const int month = int(mp < 10 ? mp + 3 : mp - 9);
    const qint64 year = yoe + era * 400 + (month <= 2 ? 1 : 0);
    if (year < 0 || year > 9999)
        return 0;

    char *p = text;
    appendDigits(p, int(year), 4);
    *p++ = '-';
    appendDigits(p, month, 2);
    *p++ = '-';
    appendDigits(p, day, 2);
    *p++ = 'T';
    appendDigits(p, int(msOfDay / 3600000), 2);
    *p++ = ':';
    appendDigits(p, int(msOfDay / 60000 % 60), 2);
    *p++ = ':';
    appendDigits(p, int(msOfDay / 1000 % 60), 2);
    *p++ = '.';
    appendDigits(p, int(msOfDay % 1000), 3);
    *p++ = 'Z';
    return int(p - text);
}

} // namespace

class CsvWriter::Private
{
public:
    QIODevice *device = nullptr;
    std::set<QByteArray, KeyLess> keySet;
    std::vector<QByteArray> keys; ///< sorted; rebuilt from keySet lazily
    bool keysDirty = false;
    OutBuffer buffer;
    QString error;
    // gids repeat across rows: convert each once.
    QString lastGid;
    QByteArray lastGidUtf8;

    const std::vector<QByteArray> &sortedKeys()
    {
        if (keysDirty) {
            keys.assign(keySet.begin(), keySet.end());
            keysDirty = false;
        }
        return keys;
    }

    bool flushIfFull() { return buffer.size() < FlushThreshold || flush(); }

    bool flush()
    {
        if (!error.isEmpty())
            return false;
        if (buffer.isEmpty())
            return true;
        const qint64 written = device->write(buffer.data(), buffer.size());
        if (written != buffer.size()) {
            error = device->errorString();
            if (error.isEmpty())
                error = QStringLiteral("short write");
            return false;
        }
        buffer.clear();
        return true;
    }

    // QFile buffers too; its errors (a full disk) would otherwise only show at close.
    bool flushDevice()
    {
        if (!flush())
            return false;
        auto *file = qobject_cast<QFileDevice *>(device);
        if (file && !file->flush()) {
            error = file->errorString();
            return false;
        }
        return true;
    }
};

CsvWriter::CsvWriter(QIODevice *device) : d(std::make_unique<Private>())
{
    d->device = device;
}

CsvWriter::~CsvWriter() = default;

void CsvWriter::addTokenKeys(const Connection &connection)
{
    const JsonScan::Value object = objectToken(connection.token);
    if (!object.isValid())
        return;
    // Keys are nearly always known already: look them up as views, copy only new ones.
    JsonScan::forEachMember(object, [this](QByteArrayView key, JsonScan::Value) {
        if (d->keySet.find(key) == d->keySet.end()) {
            d->keySet.insert(key.toByteArray());
            d->keysDirty = true;
        }
        return true;
    });
}

void CsvWriter::setTokenKeys(const QList<QByteArray> &keys)
{
    d->keySet = std::set<QByteArray, KeyLess>(keys.begin(), keys.end());
    d->keysDirty = true;
}

QList<QByteArray> CsvWriter::tokenKeys() const
{
    const std::vector<QByteArray> &keys = d->sortedKeys();
    return QList<QByteArray>(keys.begin(), keys.end());
}

bool CsvWriter::writeHeader()
{
    d->buffer.append("cid,gid,state,connected_at,token,tid,remote_addr");
    for (const QByteArray &key : d->sortedKeys()) {
        d->buffer.append(',');
        appendCell(d->buffer, QByteArray("token." + key));
    }
    d->buffer.append("\r\n");
    return d->flushIfFull();
}

bool CsvWriter::writeRow(const Connection &connection, QStringView gid)
{
    OutBuffer &out = d->buffer;
    appendCell(out, connection.cid.view());
    out.append(',');
    if (gid != d->lastGid) {
        d->lastGid = gid.toString();
        d->lastGidUtf8 = d->lastGid.toUtf8();
    }
    appendCell(out, d->lastGidUtf8);
    if (connection.state == ConnectionState::Live)
        out.append(",live,");
    else
        out.append(",stale,");
    if (connection.connectedAtMs != 0) {
        char *p = out.room(24);
        out.advance(p + formatTimestampTo(p, connection.connectedAtMs));
    }
    out.append(',');
    if (connection.token != "null")
        appendCell(out, connection.token);
    out.append(',');
    if (connection.details) {
        appendCell(out, connection.details->tid);
        out.append(',');
        appendCell(out, connection.details->remoteAddr);
    } else {
        out.append(',');
    }

    const std::vector<QByteArray> &keys = d->sortedKeys();
    const JsonScan::Value object = keys.empty() ? JsonScan::Value() : objectToken(connection.token);
    for (const QByteArray &key : keys) {
        out.append(',');
        if (!object.isValid())
            continue;
        const QByteArrayView path(key);
        const JsonScan::Value value = JsonScan::find(object, &path, 1);
        if (value.isString()) {
            if (JsonScan::stringHasEscapes(value))
                appendCell(out, JsonScan::decodeString(value));
            else
                appendCell(out, JsonScan::stringContents(value));
        } else if (value.isValid()) {
            appendCell(out, value.raw);
        }
    }
    out.append("\r\n");
    return d->flushIfFull();
}

bool CsvWriter::flush()
{
    return d->flushDevice();
}

QString CsvWriter::errorString() const
{
    return d->error;
}

bool CsvWriter::write(QIODevice *device, const QVector<CsvRow> &rows, QString *errorString)
{
    CsvWriter writer(device);
    for (const CsvRow &row : rows)
        writer.addTokenKeys(*row.connection);
    bool ok = writer.writeHeader();
    for (qsizetype i = 0; ok && i < rows.size(); ++i)
        ok = writer.writeRow(rows[i]);
    ok = ok && writer.flush();
    if (!ok && errorString)
        *errorString = writer.errorString();
    return ok;
}

QByteArray CsvWriter::formatTimestamp(qint64 msSinceEpoch)
{
    char text[24];
    return QByteArray(text, formatTimestampTo(text, msSinceEpoch));
}

} // namespace ResWatch
