#pragma once

#include "reswatchcore_export.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QtGlobal>

#include <atomic>
#include <optional>

namespace ResWatch {

/**
 * A globally unique id as Resgate issues for connections (github.com/rs/xid):
 * 12 bytes (4 bytes Unix seconds, 3 bytes machine id, 2 bytes pid, 3 bytes
 * counter) written as 20 characters of lowercase base32hex.
 */
struct RESWATCH_CORE_EXPORT Xid
{
    quint32 seconds = 0;
    quint32 machine = 0; ///< 24 bits
    quint16 pid = 0;
    quint32 counter = 0; ///< 24 bits

    qint64 timeMs() const { return qint64(seconds) * 1000; }
    QByteArray toString() const;

    /// Decodes a 20-character xid; nullopt when @p text is not one.
    static std::optional<Xid> parse(QByteArrayView text);
};

/**
 * Issues xids for one process, like rs/xid: the machine id (XID_MACHINE_ID, or
 * the first 3 bytes of the SHA-256 of /etc/machine-id, else of the host name),
 * the pid (xor the CRC-32 of /proc/self/cpuset in a container), a counter that
 * starts at a random value, and the current time. next() is thread-safe.
 */
class RESWATCH_CORE_EXPORT XidGenerator
{
public:
    XidGenerator();
    XidGenerator(const XidGenerator &) = delete;
    XidGenerator &operator=(const XidGenerator &) = delete;

    QByteArray next();
    /// The next id as a value, with @p seconds as its time (now when negative).
    Xid nextId(qint64 seconds = -1);

    quint32 machine() const { return m_machine; }
    quint16 pid() const { return m_pid; }

private:
    quint32 m_machine;
    quint16 m_pid;
    std::atomic<quint32> m_counter;
};

} // namespace ResWatch
