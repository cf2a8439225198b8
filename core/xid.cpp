#include "xid.h"

#include <QCoreApplication>
#include <QCryptographicHash>
#include <QDateTime>
#include <QFile>
#include <QRandomGenerator>
#include <QSysInfo>

#include <array>

namespace ResWatch {

namespace {

constexpr char Alphabet[] = "0123456789abcdefghijklmnopqrstuv";
constexpr int EncodedLength = 20;
constexpr int RawLength = 12;

struct DecodeTable
{
    qint8 value[256] = {};
    constexpr DecodeTable()
    {
        for (int i = 0; i < 256; ++i)
            value[i] = -1;
        for (int i = 0; i < 32; ++i)
            value[uchar(Alphabet[i])] = qint8(i);
    }
};
constexpr DecodeTable decodeTable;

using Raw = std::array<uchar, RawLength>;

Raw toRaw(const Xid &id)
{
    return { uchar(id.seconds >> 24), uchar(id.seconds >> 16), uchar(id.seconds >> 8), uchar(id.seconds),
             uchar(id.machine >> 16), uchar(id.machine >> 8),  uchar(id.machine),      uchar(id.pid >> 8),
             uchar(id.pid),           uchar(id.counter >> 16), uchar(id.counter >> 8), uchar(id.counter) };
}

quint32 crc32Ieee(const QByteArray &data)
{
    quint32 crc = 0xFFFFFFFFu;
    for (const char c : data) {
        crc ^= uchar(c);
        for (int bit = 0; bit < 8; ++bit)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

QByteArray readFile(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return file.readAll();
}

quint32 machineId()
{
    bool ok = false;
    const int fromEnvironment = qEnvironmentVariableIntValue("XID_MACHINE_ID", &ok);
    if (ok && fromEnvironment >= 0 && fromEnvironment <= 0xFFFFFF)
        return quint32(fromEnvironment);

    // Hashed as read, trailing newline included, to give the same id as rs/xid on this host.
    QByteArray source = readFile(QStringLiteral("/etc/machine-id"));
    if (source.isEmpty())
        source = readFile(QStringLiteral("/sys/class/dmi/id/product_uuid"));
    if (source.isEmpty())
        source = QSysInfo::machineHostName().toUtf8();
    if (source.isEmpty())
        return QRandomGenerator::system()->bounded(1u << 24);
    const QByteArray hash = QCryptographicHash::hash(source, QCryptographicHash::Sha256);
    return (quint32(uchar(hash[0])) << 16) | (quint32(uchar(hash[1])) << 8) | uchar(hash[2]);
}

quint16 processId()
{
    quint32 pid = quint32(QCoreApplication::applicationPid());
    const QByteArray cpuset = readFile(QStringLiteral("/proc/self/cpuset"));
    if (cpuset.size() > 1)
        pid ^= crc32Ieee(cpuset);
    return quint16(pid);
}

} // namespace

QByteArray Xid::toString() const
{
    const Raw raw = toRaw(*this);
    QByteArray out(EncodedLength, Qt::Uninitialized);
    quint32 buffer = 0;
    int bits = 0;
    int o = 0;
    for (const uchar byte : raw) {
        buffer = (buffer << 8) | byte;
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[o++] = Alphabet[(buffer >> bits) & 0x1F];
        }
    }
    // 96 bits leave one, written in the high bit of the last character.
    out[o] = Alphabet[(buffer << (5 - bits)) & 0x1F];
    return out;
}

std::optional<Xid> Xid::parse(QByteArrayView text)
{
    if (text.size() != EncodedLength)
        return std::nullopt;
    Raw raw {};
    quint32 buffer = 0;
    int bits = 0;
    int o = 0;
    for (const char c : text) {
        const int value = decodeTable.value[uchar(c)];
        if (value < 0)
            return std::nullopt;
        buffer = (buffer << 5) | quint32(value);
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            if (o < RawLength)
                raw[o++] = uchar(buffer >> bits);
        }
    }
    // The last character carries one bit of the id; the other four must be zero
    // or the text would not be the encoding of any id (rs/xid rejects it too).
    if ((buffer & ((1u << bits) - 1)) != 0)
        return std::nullopt;

    Xid id;
    id.seconds = (quint32(raw[0]) << 24) | (quint32(raw[1]) << 16) | (quint32(raw[2]) << 8) | raw[3];
    id.machine = (quint32(raw[4]) << 16) | (quint32(raw[5]) << 8) | raw[6];
    id.pid = quint16((raw[7] << 8) | raw[8]);
    id.counter = (quint32(raw[9]) << 16) | (quint32(raw[10]) << 8) | raw[11];
    return id;
}

XidGenerator::XidGenerator()
    : m_machine(machineId()), m_pid(processId()), m_counter(QRandomGenerator::system()->bounded(1u << 24))
{ }

Xid XidGenerator::nextId(qint64 seconds)
{
    Xid id;
    id.seconds = quint32(seconds < 0 ? QDateTime::currentSecsSinceEpoch() : seconds);
    id.machine = m_machine;
    id.pid = m_pid;
    id.counter = (m_counter.fetch_add(1, std::memory_order_relaxed) + 1) & 0xFFFFFF;
    return id;
}

QByteArray XidGenerator::next()
{
    return nextId().toString();
}

} // namespace ResWatch
