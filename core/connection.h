#pragma once

#include "reswatchcore_export.h"

#include "compactid.h"

#include <QByteArray>
#include <QString>
#include <QtGlobal>

#include <memory>

namespace ResWatch {

/// Whether a connection is known to be open, or belongs to a gateway that stopped answering.
enum class ConnectionState : quint8 { Live, Stale };

/// How the tracker learnt about a connection.
enum class Source : quint8 { Event, Poll, Monitor };

enum class GatewayState : quint8 { Up, Stale, Stopped };

/// Why a tracked connection ended.
enum class EndReason : quint8 {
    Disconnected, ///< conn.<cid>.disconnect
    GatewayStopped, ///< system.stop from its gateway
    GatewayRestarted, ///< system.start from its gateway while it was recorded
    GatewayLost, ///< its gateway missed polls for longer than the grace period
    AbsentFromPoll, ///< its gateway's complete system.connections reply did not list it
};

RESWATCH_CORE_EXPORT QString toString(ConnectionState state);
RESWATCH_CORE_EXPORT QString toString(Source source);
RESWATCH_CORE_EXPORT QString toString(GatewayState state);
RESWATCH_CORE_EXPORT QString toString(EndReason reason);

/// The rarely-present fields of a connection, shared and immutable once set.
struct ConnectionDetails
{
    QByteArray tid;
    QByteArray remoteAddr;
    QByteArray host;
};

/**
 * One tracked WebSocket connection. Kept compact (a million of them must fit in
 * 250 bytes each): the cid is stored inline, the token stays as its compact JSON
 * text and is parsed on demand, and the optional fields share one allocation.
 */
struct Connection
{
    CompactId cid;
    QByteArray token; ///< compact JSON; empty when the connection has no token
    std::shared_ptr<const ConnectionDetails> details; ///< null when none is known
    qint64 connectedAtMs = 0; ///< Unix ms: decoded from the xid, or first seen
    qint64 tokenSetAtMs = 0; ///< Unix ms; 0 when no token event was seen
    /// Source::Monitor only: the token is not known yet ("unknown since"), which is different from
    /// no token; Unix ms since when. 0 when the token is known, which it always is for other sources.
    qint64 tokenUnknownSinceMs = 0;
    quint32 gateway = 0; ///< index in Tracker::gateways()
    ConnectionState state = ConnectionState::Live;
    Source source = Source::Event;

    bool hasToken() const { return !token.isEmpty(); }
    bool isTokenKnown() const { return tokenUnknownSinceMs == 0; }
    QByteArray tid() const { return details ? details->tid : QByteArray(); }
    QByteArray remoteAddr() const { return details ? details->remoteAddr : QByteArray(); }
    QByteArray host() const { return details ? details->host : QByteArray(); }
};

struct Gateway
{
    QString gid;
    GatewayState state = GatewayState::Up;
    Source source = Source::Event;
    qint64 startedAtMs = 0; ///< 0 when no system.start was seen
    qint64 lastReplyMs = 0; ///< 0 when it never answered a poll
    qint64 staleSinceMs = 0; ///< when it became stale or stopped
    int missedPolls = 0;
    int connectionCount = 0;
    bool removed = false; ///< its slot is free; hidden by models

    // Source::Monitor (a stock Resgate seen through nats-server's monitoring, SPEC section 4):
    // its NATS client. startedAtMs is then when that NATS connection was accepted (for uptime).
    QString natsName; ///< the NATS connection name; often empty (stock Resgate sets none)
    QString natsAddress; ///< "ip:port" of the NATS client
    QString server; ///< the NATS server it is connected to (name, else id)
    QString monitor; ///< the monitoring endpoint it was read through
};

struct ClosedConnection
{
    Connection connection;
    QString gid;
    qint64 endedAtMs = 0;
    EndReason reason = EndReason::Disconnected;
};

} // namespace ResWatch
