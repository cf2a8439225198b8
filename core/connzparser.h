#pragma once

#include "reswatchcore_export.h"

#include "compactid.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

#include <vector>

namespace ResWatch {

/// One NATS client as a nats-server's `/connz?subs=detail` lists it.
struct MonitorClient
{
    quint64 cid = 0; ///< the NATS client id, unique per server until it restarts
    QByteArray name; ///< the client's NATS connection name, often empty (stock Resgate sets none)
    QByteArray ip;
    int port = 0;
    qint64 startMs = 0; ///< Unix ms when the NATS connection was accepted
    int subscriptionCount = 0; ///< all of its subscriptions
    /// The cids of its `conn.<cid>.*` subscriptions: the WebSocket connections of a stock
    /// Resgate (SPEC section 4). Other subjects are not kept.
    std::vector<CompactId> connectionIds;

    bool isGateway() const { return !connectionIds.empty(); }
};

/// One page of `/connz`, or one server's answer to `$SYS.REQ.SERVER.PING.CONNZ`.
struct ConnzPage
{
    QByteArray serverId;
    QByteArray serverName; ///< only in $SYS answers (the HTTP page has none; see /varz)
    qint64 nowMs = 0;
    qint64 total = 0; ///< connections on the server, all pages together
    qint64 offset = 0;
    qint64 limit = 0;
    std::vector<MonitorClient> clients;

    /// Whether pages after this one remain (offset + limit < total, and this page was full).
    bool hasMore() const { return !clients.empty() && offset + qint64(clients.size()) < total; }
};

/**
 * One complete read of a monitoring endpoint: every NATS client of the servers
 * it covers. Tracker::applyMonitorSnapshot() diffs it against the previous one.
 */
struct MonitorSnapshot
{
    struct Server
    {
        QByteArray id;
        QByteArray name; ///< empty when unknown; the id is used then
        std::vector<MonitorClient> clients;
    };
    /// The endpoint read ("http://n1:8222" or "$SYS"): only gateways read through it are reconciled.
    QString scope;
    std::vector<Server> servers;
    /// False when paging was inconsistent (clients came and went between pages): gateways
    /// absent from it may still exist, so they are not taken as stopped.
    bool complete = true;
};

/**
 * Parses nats-server monitoring JSON. Pure and fast: built on JsonScan, it
 * allocates per client and per connection id (inline, no heap) only, so a page
 * with 100,000 subscriptions parses in milliseconds. Bad input (truncated,
 * not JSON, not a connz page) gives false and a reason, never a crash.
 */
namespace ConnzParser {

/// Parses a `/connz` page, or a `$SYS.REQ.SERVER.PING.CONNZ` answer (`{"server": {...}, "data": {...}}`).
RESWATCH_CORE_EXPORT bool parse(QByteArrayView json, ConnzPage *page, QString *error);

/// The `server_name` of a `/varz` page (empty when absent or on bad input).
RESWATCH_CORE_EXPORT QByteArray parseServerName(QByteArrayView varzJson);

/// The cid of a `conn.<cid>.*` subject, or an empty view when @p subject is not one.
RESWATCH_CORE_EXPORT QByteArrayView connectionIdOfSubject(QByteArrayView subject);

/// An RFC 3339 time as nats-server writes it ("2026-12-04T15:12:19.133252503Z") in Unix ms; -1 when not one.
RESWATCH_CORE_EXPORT qint64 parseTimeMs(QByteArrayView text);

} // namespace ConnzParser
} // namespace ResWatch
