#pragma once

#include "reswatchcore_export.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

#include <vector>

namespace ResWatch {

/// The connection-tracking protocol of SPEC section 2: parsing and writing its payloads.
namespace Protocol {

enum class Kind { Connect, Disconnect, Token, Start, Stop, ConnectionsReply };

/// One entry of a system.connections reply.
struct ConnectionEntry
{
    QByteArray cid;
    QByteArray token; ///< compact JSON; empty when null or absent
    QByteArray tid;
    QByteArray remoteAddr;
    QByteArray host;
};

/// A well-formed tracking message. Fields a kind does not use stay empty.
struct Message
{
    Kind kind = Kind::Connect;
    QByteArray cid; ///< Connect, Disconnect, Token
    QByteArray gid; ///< all but Token
    QByteArray token; ///< Token: compact JSON; empty when the token is null (cleared)
    QByteArray tid; ///< Token
    QByteArray remoteAddr; ///< Connect, when the gateway sent it
    QByteArray host; ///< Connect, when the gateway sent it
    std::vector<ConnectionEntry> connections; ///< ConnectionsReply
    int part = 1; ///< ConnectionsReply: 1..parts
    int parts = 1;
};

/// A message, or why it could not be used: never an exception.
struct ParseResult
{
    Message message;
    QByteArray subject;
    QString error; ///< empty when the message is good
    bool ok() const { return error.isEmpty(); }
    /// "conn.x.connect: gid is missing", for logs and the event log.
    RESWATCH_CORE_EXPORT QString describeError() const;
};

/// Payloads larger than this are rejected without being parsed.
constexpr qsizetype MaxPayloadSize = 64 * 1024 * 1024;
/// A multipart reply with more parts than this is rejected (a million connections at 1 MiB take ~100).
constexpr int MaxParts = 10000;

/// Parses an event published on conn.<cid>.connect|disconnect|token or system.start|stop.
RESWATCH_CORE_EXPORT ParseResult parseEvent(QByteArrayView subject, QByteArrayView payload);
/// Parses one reply (or one part of a reply) to a system.connections request.
RESWATCH_CORE_EXPORT ParseResult parseConnectionsReply(QByteArrayView payload);

/// Whether @p subject is an event subject this protocol defines (conn.*.connect, ...).
RESWATCH_CORE_EXPORT bool isEventSubject(QByteArrayView subject);

// Writers, used by the emulated gateway, the demo auth service and the tests.
RESWATCH_CORE_EXPORT QByteArray gatewayEventPayload(QByteArrayView gid); // start, stop, disconnect
RESWATCH_CORE_EXPORT QByteArray connectPayload(QByteArrayView gid, QByteArrayView remoteAddr = {},
                                               QByteArrayView host = {});
RESWATCH_CORE_EXPORT QByteArray tokenPayload(QByteArrayView tokenJson, QByteArrayView tid = {});
/**
 * The system.connections reply of one gateway. Returns one payload when it fits
 * in @p maxPayload bytes, else several, each with "part" and "parts".
 */
RESWATCH_CORE_EXPORT std::vector<QByteArray>
connectionsReplyPayloads(QByteArrayView gid, const std::vector<ConnectionEntry> &connections,
                         qsizetype maxPayload);

} // namespace Protocol
} // namespace ResWatch
