#include "tracker.h"

#include "connzparser.h"

#include "clock.h"
#include "jsonscan_p.h"
#include "protocol.h"
#include "xid.h"

#include <QElapsedTimer>
#include <QHash>
#include <QLoggingCategory>
#include <QSet>
#include <QTimer>

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

namespace ResWatch {

Q_LOGGING_CATEGORY(lcTracker, "reswatch.tracker", QtInfoMsg)

namespace {

// Connections live in fixed-size chunks so that a million of them never move
// (connectionAt() pointers stay valid while slots are added) and growing never
// needs a second copy of the whole array.
constexpr quint32 ChunkBits = 12;
constexpr quint32 ChunkSize = 1u << ChunkBits;
constexpr quint32 ChunkMask = ChunkSize - 1;

// One byte of bookkeeping per slot, beside the Connection itself.
enum SlotFlag : quint8 {
    Live = 0x01, ///< tracked: in the cid hash and counted
    Occupied = 0x02, ///< holds a connection (live, or removed and not yet announced)
    ChangeAdded = 0x04,
    ChangeUpdated = 0x08,
    ChangeRemoved = 0x10,
    PollConnected = 0x20, ///< a connect event arrived after beginPoll()
    PollSeen = 0x40, ///< listed by a reply to the poll in flight
    PollToken = 0x80, ///< a token event arrived after beginPoll()
};
constexpr quint8 ChangeMask = ChangeAdded | ChangeUpdated | ChangeRemoved;
constexpr quint8 PollMask = PollConnected | PollSeen | PollToken;

const QString PollSubject = QStringLiteral("system.connections");

// At most this many rejected messages are logged per window; a flood of bad
// payloads is summarised instead of drowning the log.
constexpr int WarningsPerWindow = 10;
constexpr qint64 WarningWindowMs = 10000;

/**
 * The key of the cid hashes. QHash hashes byte strings with SipHash, which costs
 * as much as the rest of a connect event; a seeded multiply-xorshift hash over
 * 8-byte words does for ids published by our own fleet (the seed still differs
 * per process, as QHash's does).
 */
struct CidKey
{
    CompactId id;
    CidKey() = default;
    explicit CidKey(QByteArrayView bytes) : id(bytes) { }
    explicit CidKey(const CompactId &id) : id(id) { }
    friend bool operator==(const CidKey &a, const CidKey &b) { return a.id == b.id; }
};

inline quint64 mix(quint64 h)
{
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    h ^= h >> 32;
    return h;
}

size_t qHash(const CidKey &key, size_t seed)
{
    const QByteArrayView bytes = key.id.view();
    const char *p = bytes.data();
    qsizetype n = bytes.size();
    quint64 h = quint64(seed) ^ (quint64(n) * 0x9e3779b97f4a7c15ull);
    for (; n >= 8; n -= 8, p += 8) {
        quint64 word;
        std::memcpy(&word, p, 8);
        h = mix(h ^ word) + 0x9e3779b97f4a7c15ull;
    }
    quint64 tail = 0;
    std::memcpy(&tail, p, size_t(n));
    return size_t(mix(h ^ tail));
}

// Most fleets have a handful of gateways: comparing a few gids beats hashing one.
constexpr int LinearGidSearchLimit = 16;

struct PendingToken
{
    QByteArray token;
    QByteArray tid;
    qint64 receivedAtMs = 0;
    quint64 poll = 0; ///< the poll in flight when it arrived, 0 when none: then it is newer than its replies
};

struct PollReplyState
{
    int parts = 0;
    std::vector<bool> seen;
    int seenCount = 0;
    bool inconsistent = false;
    bool complete() const { return !inconsistent && parts > 0 && seenCount == parts; }
};

std::shared_ptr<const ConnectionDetails> makeDetails(const QByteArray &tid, const QByteArray &remoteAddr,
                                                     const QByteArray &host)
{
    if (tid.isEmpty() && remoteAddr.isEmpty() && host.isEmpty())
        return {};
    auto details = std::make_shared<ConnectionDetails>();
    details->tid = tid;
    details->remoteAddr = remoteAddr;
    details->host = host;
    return details;
}

} // namespace

class Tracker::Private
{
public:
    Private(Tracker *q, const TrackerSettings &settings, const Clock *clock)
        : q(q), settings(settings), clock(clock ? clock : Clock::system())
    {
        flushTimer.setSingleShot(true);
        flushTimer.setInterval(std::max(0, settings.changeIntervalMs));
        QObject::connect(&flushTimer, &QTimer::timeout, q, &Tracker::flushChanges);
    }

    Connection &at(quint32 slot) { return chunks[slot >> ChunkBits][slot & ChunkMask]; }
    const Connection &at(quint32 slot) const { return chunks[slot >> ChunkBits][slot & ChunkMask]; }

    // Events.
    void handle(const NatsMessage &message);
    void connect(Protocol::Message &message);
    void disconnect(const Protocol::Message &message);
    void token(Protocol::Message &message);
    void start(const Protocol::Message &message);
    void stop(const Protocol::Message &message);
    void pollReply(Protocol::Message &message);

    // Connections.
    quint32 allocateSlot();
    /// @p slotInHash: the cid's entry in slotByCid when the caller inserted it already.
    quint32 addConnection(QByteArrayView cid, quint32 gateway, Source source, quint32 *slotInHash = nullptr);
    /// @p inHash false when the caller already erased the cid from slotByCid.
    void removeConnection(quint32 slot, EndReason reason, bool inHash = true);
    void moveConnection(quint32 slot, quint32 gateway);
    bool attachPendingToken(quint32 slot);
    void setToken(Connection &connection, QByteArray token, const QByteArray &tid);
    /// Calls @p visit(slot) for each live connection whose gateway is set in @p gatewayMask.
    template<typename Visit> void forEachConnectionOf(const std::vector<bool> &gatewayMask, Visit visit);
    void endConnectionsOf(quint32 gateway, EndReason reason);
    void setConnectionsState(quint32 gateway, ConnectionState state);

    // Gateways.
    quint32 gatewayFor(const QByteArray &gid, Source source);
    void bringUp(quint32 gateway);
    void removeGateway(quint32 gateway);

    // Changes.
    void markAdded(quint32 slot);
    void markUpdated(quint32 slot);
    void markRemoved(quint32 slot);
    void markGatewaysChanged();
    void markDirty();
    void flush();

    void resetPollState();
    void reject(const QString &subject, const QString &reason);

    Tracker *q;
    TrackerSettings settings;
    const Clock *clock;

    // Connection slots.
    std::vector<std::unique_ptr<Connection[]>> chunks;
    std::vector<quint8> flags;
    quint32 slotCount = 0;
    std::vector<quint32> freeSlots; ///< free and announced: reusable
    std::vector<quint32> releasedSlots; ///< removed: free once changed() announced it
    QHash<CidKey, quint32> slotByCid;

    // Gateways; indices are never reused, so a removed one can still be read.
    QVector<Gateway> gateways;
    QHash<QByteArray, quint32> gatewayByGid;
    std::vector<std::pair<QByteArray, quint32>> activeGids; ///< the same, for a linear search
    QByteArray lastGid; ///< the gid of the previous event: most events repeat it
    quint32 lastGateway = 0;
    bool lastGidValid = false;

    QHash<CidKey, PendingToken> pendingTokens;
    std::deque<ClosedConnection> closed;

    // The poll in flight.
    bool pollInFlight = false;
    quint64 pollNumber = 0; // counts polls, so pending tokens know which poll they are newer than
    QSet<CidKey> disconnectedSincePoll;
    QSet<quint32> restartedSincePoll; ///< gateways that sent start or stop after beginPoll()
    QHash<quint32, PollReplyState> pollReplies; ///< by gateway index
    std::vector<quint32> pollMarkedSlots; ///< slots whose Poll* flags must be cleared
    int pollConnectionsListed = 0;

    // The period since the previous changed().
    QVector<quint32> addedSlots;
    QVector<quint32> updatedSlots;
    QVector<quint32> removedSlots;
    bool gatewaysChanged = false;
    int connects = 0;
    int disconnects = 0;
    int closedAnnounced = 0; ///< closed.size() at the previous signal
    int closedPopped = 0;
    int closedPushed = 0;
    QTimer flushTimer;
    bool flushing = false;

    TrackerStats stats;

    QElapsedTimer warningWindow;
    int warningsInWindow = 0;
    int warningsSuppressed = 0;

    // Passive tracking (SPEC section 4); implemented at the end of this file.
    struct Observed
    {
        QByteArray token;
        QByteArray remoteAddr;
        QByteArray host;
        qint64 atMs = 0;
        bool hasToken = false;
    };
    void applyMonitor(const MonitorSnapshot &snapshot);
    void initMonitorConnection(quint32 slot, qint64 now);
    bool applyObserved(Connection &c, const Observed &observed);
    void observeRequest(const NatsMessage &message);
    void expireObserved(qint64 now);
    bool isMonitorStaleKept(const Gateway &g) const
    {
        return g.source == Source::Monitor && g.state == GatewayState::Stale;
    }
    QHash<CidKey, Observed> pendingObserved; ///< seen in requests before the connection
    qint64 observingSinceMs = 0;
};

// --- Events -----------------------------------------------------------------

void Tracker::Private::handle(const NatsMessage &message)
{
    ++stats.messages;
    Protocol::ParseResult result = Protocol::parseEvent(message.subject, message.data);
    if (!result.ok()) {
        reject(QString::fromUtf8(message.subject), result.error);
        return;
    }
    Protocol::Message &m = result.message;
    switch (m.kind) {
    case Protocol::Kind::Connect:
        connect(m);
        break;
    case Protocol::Kind::Disconnect:
        disconnect(m);
        break;
    case Protocol::Kind::Token:
        token(m);
        break;
    case Protocol::Kind::Start:
        start(m);
        break;
    case Protocol::Kind::Stop:
        stop(m);
        break;
    case Protocol::Kind::ConnectionsReply:
        reject(QString::fromUtf8(message.subject), QStringLiteral("a connections reply is not an event"));
        break;
    }
}

void Tracker::Private::connect(Protocol::Message &m)
{
    const quint32 gateway = gatewayFor(m.gid, Source::Event);
    bringUp(gateway);

    const CidKey cid(m.cid);
    if (pollInFlight)
        disconnectedSincePoll.remove(cid);
    quint32 slot;
    // One lookup for both outcomes: operator[] inserts when the cid is new.
    const qsizetype before = slotByCid.size();
    quint32 &slotInHash = slotByCid[cid];
    if (slotByCid.size() != before) {
        slot = addConnection(m.cid, gateway, Source::Event, &slotInHash);
        Connection &c = at(slot);
        if (!m.remoteAddr.isEmpty() || !m.host.isEmpty())
            c.details = makeDetails({}, m.remoteAddr, m.host);
        attachPendingToken(slot);
    } else {
        slot = slotInHash;
        Connection &c = at(slot);
        bool changed = false;
        if (c.gateway != gateway) {
            moveConnection(slot, gateway);
            changed = true;
        }
        if ((!m.remoteAddr.isEmpty() && m.remoteAddr != c.remoteAddr())
            || (!m.host.isEmpty() && m.host != c.host())) {
            c.details = makeDetails(c.tid(), m.remoteAddr.isEmpty() ? c.remoteAddr() : m.remoteAddr,
                                    m.host.isEmpty() ? c.host() : m.host);
            changed = true;
        }
        if (changed)
            markUpdated(slot);
    }
    if (pollInFlight) {
        flags[slot] |= PollConnected;
        pollMarkedSlots.push_back(slot);
    }
}

void Tracker::Private::disconnect(const Protocol::Message &m)
{
    // The gateway is alive: it publishes.
    bringUp(gatewayFor(m.gid, Source::Event));

    const CidKey cid(m.cid);
    if (pollInFlight)
        disconnectedSincePoll.insert(cid);
    pendingTokens.remove(cid);
    const auto it = slotByCid.find(cid);
    if (it != slotByCid.end()) {
        const quint32 slot = it.value();
        slotByCid.erase(it);
        removeConnection(slot, EndReason::Disconnected, false);
    }
}

void Tracker::Private::token(Protocol::Message &m)
{
    const CidKey cid(m.cid);
    const auto it = slotByCid.constFind(cid);
    if (it == slotByCid.cend()) {
        // Tokens come from another publisher than the gateway and can overtake the connect.
        pendingTokens.insert(
            cid, PendingToken { std::move(m.token), m.tid, clock->nowMs(), pollInFlight ? pollNumber : 0 });
        return;
    }
    const quint32 slot = it.value();
    Connection &c = at(slot);
    setToken(c, std::move(m.token), m.tid);
    c.tokenSetAtMs = clock->nowMs();
    if (pollInFlight) {
        flags[slot] |= PollToken;
        pollMarkedSlots.push_back(slot);
    }
    markUpdated(slot);
}

void Tracker::Private::start(const Protocol::Message &m)
{
    const quint32 gateway = gatewayFor(m.gid, Source::Event);
    endConnectionsOf(gateway, EndReason::GatewayRestarted);
    bringUp(gateway);
    gateways[gateway].startedAtMs = clock->nowMs();
    if (pollInFlight)
        restartedSincePoll.insert(gateway);
    markGatewaysChanged();
}

void Tracker::Private::stop(const Protocol::Message &m)
{
    const quint32 gateway = gatewayFor(m.gid, Source::Event);
    endConnectionsOf(gateway, EndReason::GatewayStopped);
    Gateway &g = gateways[gateway];
    g.state = GatewayState::Stopped;
    g.staleSinceMs = clock->nowMs();
    g.missedPolls = 0;
    if (pollInFlight)
        restartedSincePoll.insert(gateway);
    markGatewaysChanged();
}

void Tracker::Private::pollReply(Protocol::Message &m)
{
    const quint32 gateway = gatewayFor(m.gid, Source::Poll);
    PollReplyState &reply = pollReplies[gateway];
    if (restartedSincePoll.contains(gateway)) {
        // It answered, but it may have answered before it restarted or stopped: the
        // connections it listed are not evidence of anything now.
        qCDebug(lcTracker) << "reply of" << m.gid
                           << "ignored: the gateway restarted or stopped since the poll";
        return;
    }
    bringUp(gateway);

    if (reply.parts == 0) {
        reply.parts = std::max(1, m.parts);
        reply.seen.assign(size_t(reply.parts), false);
    }
    if (m.parts != reply.parts || m.part < 1 || m.part > reply.parts) {
        reply.inconsistent = true;
        reject(PollSubject,
               QStringLiteral("reply of %1: part %2 of %3 does not match a reply in %4 parts")
                   .arg(QString::fromUtf8(m.gid))
                   .arg(m.part)
                   .arg(m.parts)
                   .arg(reply.parts));
        // Its connections are still real: they are added below, only removals are withheld.
    } else if (!reply.seen[size_t(m.part - 1)]) {
        reply.seen[size_t(m.part - 1)] = true;
        ++reply.seenCount;
    }

    // Adds, moves and token updates are safe with any part; removals wait for endPoll(),
    // when it is known whether the reply is complete.
    pollConnectionsListed += int(m.connections.size());
    pollMarkedSlots.reserve(pollMarkedSlots.size() + m.connections.size());
    for (Protocol::ConnectionEntry &entry : m.connections) {
        const CidKey cid(entry.cid);
        quint32 slot;
        const auto it = slotByCid.constFind(cid);
        if (it == slotByCid.cend()) {
            // A disconnect received after the poll was sent is newer than this reply.
            if (disconnectedSincePoll.contains(cid))
                continue;
            slot = addConnection(entry.cid, gateway, Source::Poll);
            Connection &c = at(slot);
            c.token = std::move(entry.token);
            c.details = makeDetails(entry.tid, entry.remoteAddr, entry.host);
            // A token event received after the poll was sent is newer than this reply; an older one is not.
            const auto pending = pendingTokens.constFind(cid);
            if (c.token.isEmpty() || (pending != pendingTokens.cend() && pending->poll == pollNumber))
                attachPendingToken(slot);
            else
                pendingTokens.remove(cid);
        } else {
            slot = it.value();
            Connection &c = at(slot);
            bool changed = false;
            // A connect event received after the poll was sent says where it is now.
            if (c.gateway != gateway && !(flags[slot] & PollConnected)) {
                moveConnection(slot, gateway);
                changed = true;
            }
            // A token event received after the poll was sent is newer than this reply.
            if (!(flags[slot] & PollToken) && (c.token != entry.token || c.tid() != entry.tid)) {
                setToken(c, std::move(entry.token), entry.tid);
                changed = true;
            }
            if ((!entry.remoteAddr.isEmpty() && entry.remoteAddr != c.remoteAddr())
                || (!entry.host.isEmpty() && entry.host != c.host())) {
                c.details
                    = makeDetails(c.tid(), entry.remoteAddr.isEmpty() ? c.remoteAddr() : entry.remoteAddr,
                                  entry.host.isEmpty() ? c.host() : entry.host);
                changed = true;
            }
            if (changed)
                markUpdated(slot);
        }
        flags[slot] |= PollSeen;
        pollMarkedSlots.push_back(slot);
    }
}

// --- Connections ------------------------------------------------------------

quint32 Tracker::Private::allocateSlot()
{
    if (!freeSlots.empty()) {
        const quint32 slot = freeSlots.back();
        freeSlots.pop_back();
        return slot;
    }
    const quint32 slot = slotCount++;
    if ((slot >> ChunkBits) >= chunks.size())
        chunks.emplace_back(new Connection[ChunkSize]);
    flags.push_back(0);
    return slot;
}

quint32 Tracker::Private::addConnection(QByteArrayView cid, quint32 gateway, Source source,
                                        quint32 *slotInHash)
{
    const quint32 slot = allocateSlot();
    Connection &c = at(slot);
    c.cid = CompactId(cid);
    const std::optional<Xid> xid = Xid::parse(cid);
    c.connectedAtMs = xid ? xid->timeMs() : clock->nowMs();
    c.tokenSetAtMs = 0;
    c.gateway = gateway;
    c.source = source;
    c.state = gateways[gateway].state == GatewayState::Stale ? ConnectionState::Stale : ConnectionState::Live;
    flags[slot] = Live | Occupied;
    if (slotInHash)
        *slotInHash = slot;
    else
        slotByCid.insert(CidKey(c.cid), slot);
    ++gateways[gateway].connectionCount;
    ++connects;
    markGatewaysChanged();
    markAdded(slot);
    return slot;
}

void Tracker::Private::removeConnection(quint32 slot, EndReason reason, bool inHash)
{
    Connection &c = at(slot);
    flags[slot] &= ~Live;
    if (inHash)
        slotByCid.remove(CidKey(c.cid));
    Gateway &g = gateways[c.gateway];
    --g.connectionCount;
    ++disconnects;
    if (settings.closedHistoryLimit > 0) {
        // Built in place: a connection copy costs more than the rest of a disconnect.
        ClosedConnection &entry = closed.emplace_back();
        entry.connection = c;
        entry.gid = g.gid;
        entry.endedAtMs = clock->nowMs();
        entry.reason = reason;
        ++closedPushed;
        while (closed.size() > size_t(settings.closedHistoryLimit)) {
            closed.pop_front();
            ++closedPopped;
        }
    }
    markGatewaysChanged();
    markRemoved(slot);
    releasedSlots.push_back(slot);
}

void Tracker::Private::moveConnection(quint32 slot, quint32 gateway)
{
    Connection &c = at(slot);
    --gateways[c.gateway].connectionCount;
    ++gateways[gateway].connectionCount;
    c.gateway = gateway;
    c.state = gateways[gateway].state == GatewayState::Stale ? ConnectionState::Stale : ConnectionState::Live;
    markGatewaysChanged();
}

bool Tracker::Private::attachPendingToken(quint32 slot)
{
    if (pendingTokens.isEmpty())
        return false;
    Connection &c = at(slot);
    const auto it = pendingTokens.find(CidKey(c.cid));
    if (it == pendingTokens.end())
        return false;
    setToken(c, std::move(it->token), it->tid);
    c.tokenSetAtMs = it->receivedAtMs;
    pendingTokens.erase(it);
    return true;
}

void Tracker::Private::setToken(Connection &c, QByteArray token, const QByteArray &tid)
{
    c.token = std::move(token);
    c.tokenUnknownSinceMs = 0;
    if (c.token.capacity() > c.token.size() + 16)
        c.token.squeeze(); // a million tokens: slack in each adds up
    // A cleared token takes its tid with it.
    const QByteArray newTid = c.token.isEmpty() ? QByteArray() : tid;
    if (newTid != c.tid())
        c.details = makeDetails(newTid, c.remoteAddr(), c.host());
}

template<typename Visit>
void Tracker::Private::forEachConnectionOf(const std::vector<bool> &gatewayMask, Visit visit)
{
    for (quint32 slot = 0; slot < slotCount; ++slot) {
        if (!(flags[slot] & Live))
            continue;
        const quint32 gateway = at(slot).gateway;
        if (gateway < gatewayMask.size() && gatewayMask[gateway])
            visit(slot);
    }
}

void Tracker::Private::endConnectionsOf(quint32 gateway, EndReason reason)
{
    if (gateways[gateway].connectionCount == 0)
        return;
    std::vector<bool> mask(size_t(gateways.size()), false);
    mask[gateway] = true;
    forEachConnectionOf(mask, [&](quint32 slot) { removeConnection(slot, reason); });
}

void Tracker::Private::setConnectionsState(quint32 gateway, ConnectionState state)
{
    if (gateways[gateway].connectionCount == 0)
        return;
    std::vector<bool> mask(size_t(gateways.size()), false);
    mask[gateway] = true;
    forEachConnectionOf(mask, [&](quint32 slot) {
        Connection &c = at(slot);
        if (c.state != state) {
            c.state = state;
            markUpdated(slot);
        }
    });
}

// --- Gateways ---------------------------------------------------------------

quint32 Tracker::Private::gatewayFor(const QByteArray &gid, Source source)
{
    if (lastGidValid && gid == lastGid)
        return lastGateway;
    quint32 index = quint32(gateways.size());
    if (activeGids.size() <= size_t(LinearGidSearchLimit)) {
        for (const auto &[knownGid, knownIndex] : activeGids) {
            if (knownGid == gid) {
                index = knownIndex;
                break;
            }
        }
    } else {
        index = gatewayByGid.value(gid, index);
    }
    if (index == quint32(gateways.size())) {
        Gateway g;
        g.gid = QString::fromUtf8(gid);
        g.source = source;
        index = quint32(gateways.size());
        gateways.append(g);
        gatewayByGid.insert(gid, index);
        activeGids.emplace_back(gid, index);
        markGatewaysChanged();
        qCDebug(lcTracker) << "new gateway" << g.gid << "from" << toString(source);
    }
    lastGid = gid;
    lastGateway = index;
    lastGidValid = true;
    return index;
}

void Tracker::Private::bringUp(quint32 gateway)
{
    Gateway &g = gateways[gateway];
    if (g.state == GatewayState::Up)
        return;
    qCDebug(lcTracker) << "gateway" << g.gid << "is up again, was" << toString(g.state);
    g.state = GatewayState::Up;
    g.staleSinceMs = 0;
    g.missedPolls = 0;
    markGatewaysChanged();
    setConnectionsState(gateway, ConnectionState::Live);
}

void Tracker::Private::removeGateway(quint32 gateway)
{
    Gateway &g = gateways[gateway];
    g.removed = true;
    gatewayByGid.removeIf([gateway](const auto &it) { return it.value() == gateway; });
    activeGids.erase(std::remove_if(activeGids.begin(), activeGids.end(),
                                    [gateway](const auto &entry) { return entry.second == gateway; }),
                     activeGids.end());
    if (lastGateway == gateway)
        lastGidValid = false;
    pollReplies.remove(gateway);
    markGatewaysChanged();
}

// --- Changes ----------------------------------------------------------------

void Tracker::Private::markAdded(quint32 slot)
{
    flags[slot] |= ChangeAdded;
    addedSlots.append(slot);
    markDirty();
}

void Tracker::Private::markUpdated(quint32 slot)
{
    if (flags[slot] & ChangeMask)
        return; // already announced as added or updated (removed slots are not live)
    flags[slot] |= ChangeUpdated;
    updatedSlots.append(slot);
    markDirty();
}

void Tracker::Private::markRemoved(quint32 slot)
{
    if (flags[slot] & ChangeAdded) {
        // Never announced: the models never saw it.
        flags[slot] &= ~ChangeAdded;
    } else {
        flags[slot] = (flags[slot] & ~ChangeUpdated) | ChangeRemoved;
        removedSlots.append(slot);
    }
    markDirty();
}

void Tracker::Private::markGatewaysChanged()
{
    gatewaysChanged = true;
    markDirty();
}

void Tracker::Private::markDirty()
{
    if (!flushTimer.isActive() && !flushing)
        flushTimer.start();
}

void Tracker::Private::flush()
{
    flushTimer.stop();
    ChangeSet changes;
    auto collect = [this](QVector<quint32> &from, quint8 flag, QVector<quint32> &to) {
        to.reserve(from.size());
        for (quint32 slot : std::as_const(from)) {
            if (flags[slot] & flag)
                to.append(slot);
        }
        from.clear();
        std::sort(to.begin(), to.end());
    };
    collect(addedSlots, ChangeAdded, changes.added);
    collect(updatedSlots, ChangeUpdated, changes.updated);
    collect(removedSlots, ChangeRemoved, changes.removed);
    for (quint32 slot : std::as_const(changes.added))
        flags[slot] &= ~ChangeMask;
    for (quint32 slot : std::as_const(changes.updated))
        flags[slot] &= ~ChangeMask;
    for (quint32 slot : std::as_const(changes.removed))
        flags[slot] &= ~ChangeMask;

    changes.gatewaysChanged = gatewaysChanged;
    changes.connects = connects;
    changes.disconnects = disconnects;
    const int closedNow = int(closed.size());
    changes.closedDropped = std::min(closedPopped, closedAnnounced);
    changes.closedAppended = closedNow - (closedAnnounced - changes.closedDropped);
    gatewaysChanged = false;
    connects = disconnects = 0;
    closedPopped = closedPushed = 0;
    closedAnnounced = closedNow;

    // Slots removed in this period stay readable during the signal; changes made
    // by its receivers go to the next period.
    std::vector<quint32> released;
    released.swap(releasedSlots);
    if (!changes.isEmpty() || changes.connects || changes.disconnects) {
        const bool wasFlushing = std::exchange(flushing, true);
        Q_EMIT q->changed(changes);
        flushing = wasFlushing;
        if (!addedSlots.isEmpty() || !updatedSlots.isEmpty() || !removedSlots.isEmpty() || gatewaysChanged
            || connects || disconnects || closedPushed || closedPopped)
            flushTimer.start();
    }
    for (quint32 slot : released) {
        at(slot) = Connection();
        flags[slot] = 0;
        freeSlots.push_back(slot);
    }
}

void Tracker::Private::resetPollState()
{
    for (quint32 slot : pollMarkedSlots) {
        if (slot < slotCount)
            flags[slot] &= ~PollMask;
    }
    pollMarkedSlots.clear();
    pollMarkedSlots.shrink_to_fit();
    disconnectedSincePoll.clear();
    restartedSincePoll.clear();
    pollReplies.clear();
    pollConnectionsListed = 0;
    pollInFlight = false;
}

void Tracker::Private::reject(const QString &subject, const QString &reason)
{
    ++stats.badMessages;
    if (!warningWindow.isValid() || warningWindow.elapsed() >= WarningWindowMs) {
        if (warningsSuppressed > 0)
            qCWarning(lcTracker) << warningsSuppressed << "more rejected messages were not logged";
        warningWindow.start();
        warningsInWindow = 0;
        warningsSuppressed = 0;
    }
    if (warningsInWindow < WarningsPerWindow) {
        ++warningsInWindow;
        qCWarning(lcTracker).noquote() << "rejected" << subject << "-" << reason;
    } else {
        ++warningsSuppressed;
    }
    Q_EMIT q->messageRejected(subject, reason);
}

// --- Tracker ----------------------------------------------------------------

Tracker::Tracker(const TrackerSettings &settings, const Clock *clock, QObject *parent)
    : QObject(parent), d(std::make_unique<Private>(this, settings, clock))
{
    qRegisterMetaType<ResWatch::ChangeSet>();
}

Tracker::~Tracker() = default;

const TrackerSettings &Tracker::settings() const
{
    return d->settings;
}

const Clock *Tracker::clock() const
{
    return d->clock;
}

TrackerStats Tracker::stats() const
{
    return d->stats;
}

void Tracker::handleEvent(const NatsMessage &message)
{
    d->handle(message);
}

void Tracker::handleEvents(const QList<NatsMessage> &messages)
{
    for (const NatsMessage &message : messages)
        d->handle(message);
}

void Tracker::beginPoll()
{
    if (d->pollInFlight) {
        qCDebug(lcTracker) << "a new poll replaces the one in flight";
        d->resetPollState();
    }
    d->pollInFlight = true;
    ++d->pollNumber;
}

void Tracker::handlePollReply(const QByteArray &payload)
{
    ++d->stats.messages;
    Protocol::ParseResult result = Protocol::parseConnectionsReply(payload);
    if (!result.ok()) {
        d->reject(PollSubject, result.error);
        return;
    }
    if (!d->pollInFlight) {
        // A gateway slower than the poll's window: its next reply will count.
        qCDebug(lcTracker) << "late system.connections reply from" << result.message.gid << "ignored";
        return;
    }
    d->pollReply(result.message);
}

void Tracker::endPoll()
{
    if (!d->pollInFlight)
        return;
    const qint64 now = d->clock->nowMs();
    const size_t gatewayCount = size_t(d->gateways.size());
    std::vector<bool> reconcile(gatewayCount, false); // complete replies: absent means gone
    std::vector<bool> turnedStale(gatewayCount, false);
    bool scan = false;

    for (auto it = d->pollReplies.cbegin(); it != d->pollReplies.cend(); ++it) {
        Gateway &g = d->gateways[it.key()];
        g.missedPolls = 0;
        g.lastReplyMs = now;
        if (d->restartedSincePoll.contains(it.key()))
            continue;
        if (it->complete()) {
            reconcile[it.key()] = true;
            scan = true;
        } else {
            d->reject(PollSubject,
                      QStringLiteral("reply of %1 incomplete: %2 of %3 parts arrived")
                          .arg(g.gid)
                          .arg(it->seenCount)
                          .arg(it->parts));
        }
    }
    for (quint32 index = 0; index < gatewayCount; ++index) {
        Gateway &g = d->gateways[int(index)];
        if (g.removed || g.state == GatewayState::Stopped || d->pollReplies.contains(index)
            || g.source == Source::Monitor) // never answers polls; its monitor endpoint says if it is alive
            continue;
        ++g.missedPolls;
        if (g.state == GatewayState::Up && g.missedPolls >= d->settings.staleAfterMissedPolls) {
            qCInfo(lcTracker) << "gateway" << g.gid << "missed" << g.missedPolls << "polls: stale";
            g.state = GatewayState::Stale;
            g.staleSinceMs = now;
            turnedStale[index] = true;
            scan = true;
        }
    }
    d->markGatewaysChanged();

    if (scan) {
        for (quint32 slot = 0; slot < d->slotCount; ++slot) {
            const quint8 flags = d->flags[slot];
            if (!(flags & Live))
                continue;
            Connection &c = d->at(slot);
            if (reconcile[c.gateway] && !(flags & (PollSeen | PollConnected))) {
                d->removeConnection(slot, EndReason::AbsentFromPoll);
            } else if (turnedStale[c.gateway] && c.state != ConnectionState::Stale) {
                c.state = ConnectionState::Stale;
                d->markUpdated(slot);
            }
        }
    }

    const int replied = int(d->pollReplies.size());
    const int listed = d->pollConnectionsListed;
    d->resetPollState();
    ++d->stats.polls;
    Q_EMIT pollCompleted(replied, listed);
}

void Tracker::cancelPoll()
{
    if (d->pollInFlight)
        d->resetPollState();
}

bool Tracker::isPollInFlight() const
{
    return d->pollInFlight;
}

void Tracker::expire()
{
    const qint64 now = d->clock->nowMs();
    std::vector<bool> lost(size_t(d->gateways.size()), false);
    bool anyLost = false;
    for (int index = 0; index < d->gateways.size(); ++index) {
        Gateway &g = d->gateways[index];
        if (g.removed || g.state == GatewayState::Up || now - g.staleSinceMs < d->settings.gracePeriodMs
            || d->isMonitorStaleKept(g))
            continue;
        if (g.state == GatewayState::Stale) {
            qCInfo(lcTracker) << "gateway" << g.gid << "lost: removing its" << g.connectionCount
                              << "connections";
            lost[size_t(index)] = true;
            anyLost = true;
        } else {
            d->removeGateway(quint32(index));
        }
    }
    if (anyLost) {
        d->forEachConnectionOf(lost,
                               [this](quint32 slot) { d->removeConnection(slot, EndReason::GatewayLost); });
        for (size_t index = 0; index < lost.size(); ++index) {
            if (lost[index])
                d->removeGateway(quint32(index));
        }
    }

    d->expireObserved(now);
    for (auto it = d->pendingTokens.begin(); it != d->pendingTokens.end();) {
        if (now - it->receivedAtMs >= d->settings.pendingTokenTimeoutMs) {
            qCDebug(lcTracker) << "dropping the token of" << it.key().id.toString()
                               << ": its connection never appeared";
            it = d->pendingTokens.erase(it);
        } else {
            ++it;
        }
    }
}

void Tracker::clear()
{
    for (quint32 slot = 0; slot < d->slotCount; ++slot) {
        if (!(d->flags[slot] & Live))
            continue;
        // Not history: these connections did not end, the tracker forgot them.
        Connection &c = d->at(slot);
        d->flags[slot] &= ~Live;
        --d->gateways[c.gateway].connectionCount;
        d->markRemoved(slot);
        d->releasedSlots.push_back(slot);
    }
    d->slotByCid.clear();
    for (int index = 0; index < d->gateways.size(); ++index) {
        if (!d->gateways[index].removed)
            d->removeGateway(quint32(index));
    }
    d->gatewayByGid.clear();
    d->activeGids.clear();
    d->lastGidValid = false;
    d->pendingTokens.clear();
    d->pendingObserved.clear();
    d->closedPopped += int(d->closed.size());
    d->closed.clear();
    d->resetPollState();
    d->markGatewaysChanged();
}

int Tracker::connectionCount() const
{
    return int(d->slotByCid.size());
}

quint32 Tracker::slotCount() const
{
    return d->slotCount;
}

const Connection *Tracker::connectionAt(quint32 slot) const
{
    if (slot >= d->slotCount || !(d->flags[slot] & Occupied))
        return nullptr;
    return &d->at(slot);
}

qint64 Tracker::slotOf(QByteArrayView cid) const
{
    const auto it = d->slotByCid.constFind(CidKey(cid));
    return it == d->slotByCid.cend() ? -1 : qint64(it.value());
}

const QVector<Gateway> &Tracker::gateways() const
{
    return d->gateways;
}

const Gateway *Tracker::gatewayByGid(QStringView gid) const
{
    const auto it = d->gatewayByGid.constFind(gid.toUtf8());
    return it == d->gatewayByGid.cend() ? nullptr : &d->gateways[int(it.value())];
}

const std::deque<ClosedConnection> &Tracker::closedConnections() const
{
    return d->closed;
}

void Tracker::flushChanges()
{
    d->flush();
}

// --- Passive tracking (SPEC section 4) ---------------------------------------

namespace {

// Requests seen before the connz poll that lists their connection wait this long at least.
constexpr int MaxPendingObserved = 200000;

} // namespace

QString Tracker::monitorGid(QByteArrayView serverId, QByteArrayView serverName, quint64 natsCid)
{
    const QByteArrayView server
        = !serverName.isEmpty() ? serverName : serverId.first(std::min<qsizetype>(12, serverId.size()));
    return QString::fromUtf8(server.data(), server.size()) + QLatin1Char('/') + QString::number(natsCid);
}

void Tracker::Private::initMonitorConnection(quint32 slot, qint64 now)
{
    Connection &c = at(slot);
    // A connection that began while every token event and request was being watched has had
    // no token unless one was seen; an older one may have got one before we watched.
    const std::optional<Xid> xid = Xid::parse(c.cid.view());
    const bool watchedSinceConnect = observingSinceMs > 0 && xid && xid->timeMs() >= observingSinceMs;
    c.tokenUnknownSinceMs = watchedSinceConnect ? 0 : now;
    attachPendingToken(slot);
    if (!pendingObserved.isEmpty()) {
        const auto it = pendingObserved.find(CidKey(c.cid));
        if (it != pendingObserved.end()) {
            applyObserved(c, *it);
            pendingObserved.erase(it);
        }
    }
}

bool Tracker::Private::applyObserved(Connection &c, const Observed &observed)
{
    bool changed = false;
    // Token events are the truth; a request only tells a token that is not known yet (it may
    // have been sent before a token event that we already applied).
    if (observed.hasToken && !c.isTokenKnown()) {
        setToken(c, observed.token, c.tid());
        if (c.hasToken())
            c.tokenSetAtMs = observed.atMs;
        changed = true;
    }
    if ((!observed.remoteAddr.isEmpty() && observed.remoteAddr != c.remoteAddr())
        || (!observed.host.isEmpty() && observed.host != c.host())) {
        c.details = makeDetails(c.tid(), observed.remoteAddr.isEmpty() ? c.remoteAddr() : observed.remoteAddr,
                                observed.host.isEmpty() ? c.host() : observed.host);
        changed = true;
    }
    return changed;
}

void Tracker::Private::observeRequest(const NatsMessage &message)
{
    const QByteArrayView subject(message.subject);
    if (!subject.startsWith("access.") && !subject.startsWith("call.") && !subject.startsWith("auth."))
        return;
    if (message.data.size() > Protocol::MaxPayloadSize)
        return;
    const JsonScan::Value root = JsonScan::parse(message.data);
    if (!root.isObject())
        return;
    JsonScan::Value cidValue;
    Observed observed;
    JsonScan::forEachMember(root, [&](QByteArrayView key, JsonScan::Value value) {
        if (key == "cid") {
            cidValue = value;
        } else if (key == "token") {
            observed.hasToken = true;
            observed.token = value.isNull() ? QByteArray() : JsonScan::compact(value);
        } else if (key == "remoteAddr") {
            observed.remoteAddr = JsonScan::decodeString(value);
        } else if (key == "host") {
            observed.host = JsonScan::decodeString(value);
        }
    });
    if (!cidValue.isString() || JsonScan::stringHasEscapes(cidValue))
        return;
    const QByteArrayView cidText = JsonScan::stringContents(cidValue);
    if (cidText.isEmpty() || cidText.contains('.'))
        return;
    observed.atMs = clock->nowMs();
    const CompactId cid(cidText);
    const auto it = slotByCid.constFind(CidKey(cid));
    if (it != slotByCid.cend()) {
        if (applyObserved(at(it.value()), observed))
            markUpdated(it.value());
        return;
    }
    // Requests usually come before the next connz poll lists their connection.
    auto pending = pendingObserved.find(CidKey(cid));
    if (pending == pendingObserved.end()) {
        if (pendingObserved.size() >= MaxPendingObserved)
            return;
        pendingObserved.insert(CidKey(cid), observed);
        return;
    }
    if (observed.hasToken) {
        pending->hasToken = true;
        pending->token = observed.token;
    }
    if (!observed.remoteAddr.isEmpty())
        pending->remoteAddr = observed.remoteAddr;
    if (!observed.host.isEmpty())
        pending->host = observed.host;
    pending->atMs = observed.atMs;
}

void Tracker::Private::expireObserved(qint64 now)
{
    const qint64 timeout
        = std::max<qint64>(settings.pendingTokenTimeoutMs, 3 * qint64(settings.pollIntervalMs));
    pendingObserved.removeIf([&](const auto &it) { return now - it.value().atMs >= timeout; });
}

void Tracker::Private::applyMonitor(const MonitorSnapshot &snapshot)
{
    const qint64 now = clock->nowMs();
    std::vector<bool> inScope(size_t(gateways.size()), false);
    bool anyInScope = false;
    for (int index = 0; index < gateways.size(); ++index) {
        const Gateway &g = gateways[index];
        if (!g.removed && g.source == Source::Monitor && g.monitor == snapshot.scope) {
            inScope[size_t(index)] = true;
            anyInScope = true;
        }
    }
    std::vector<bool> present;
    std::vector<bool> seen(slotCount, false);
    auto markSeen = [&](quint32 slot) {
        if (slot >= seen.size())
            seen.resize(slot + 1, false);
        seen[slot] = true;
    };

    for (const MonitorSnapshot::Server &server : snapshot.servers) {
        const QString serverLabel
            = QString::fromUtf8(server.name.isEmpty() ? server.id.left(12) : server.name);
        for (const MonitorClient &client : server.clients) {
            const QString gid = Tracker::monitorGid(server.id, server.name, client.cid);
            const QByteArray gidUtf8 = gid.toUtf8();
            const auto existing = gatewayByGid.constFind(gidUtf8);
            if (!client.isGateway() && existing == gatewayByGid.cend())
                continue; // an ordinary NATS client (a service, ResWatch itself)

            // A native gateway holds conn.<cid>.* subscriptions too: it is tracked by its events.
            qint64 native = -1;
            for (const CompactId &cid : client.connectionIds) {
                const auto it = slotByCid.constFind(CidKey(cid));
                if (it != slotByCid.cend() && gateways[at(it.value()).gateway].source != Source::Monitor) {
                    native = at(it.value()).gateway;
                    break;
                }
            }
            if (native >= 0) {
                const bool duplicate
                    = existing != gatewayByGid.cend() && gateways[existing.value()].source == Source::Monitor;
                // Seen by the monitor before its events arrived: one gateway, under its own gid,
                // and one connection per cid, whose token its native source knows.
                auto adopt = [&](quint32 slot) {
                    Connection &c = at(slot);
                    if (c.gateway != quint32(native))
                        moveConnection(slot, quint32(native));
                    if (c.source == Source::Monitor) {
                        c.source = Source::Event;
                        c.tokenUnknownSinceMs = 0;
                    }
                    markUpdated(slot);
                };
                for (const CompactId &cid : client.connectionIds) {
                    const auto it = slotByCid.constFind(CidKey(cid));
                    if (it != slotByCid.cend() && at(it.value()).source == Source::Monitor)
                        adopt(it.value());
                }
                if (duplicate) {
                    std::vector<bool> mask(size_t(gateways.size()), false);
                    mask[existing.value()] = true;
                    forEachConnectionOf(mask, adopt);
                    qCInfo(lcTracker)
                        << "gateway" << gid << "is the native gateway" << gateways[int(native)].gid;
                    removeGateway(existing.value());
                }
                continue;
            }

            const quint32 gateway = gatewayFor(gidUtf8, Source::Monitor);
            if (gateways[gateway].source != Source::Monitor)
                continue; // a native gateway chose a gid that looks like ours
            if (gateway >= inScope.size())
                inScope.resize(gateway + 1, false);
            if (present.size() < inScope.size())
                present.resize(inScope.size(), false);
            {
                Gateway &g = gateways[gateway];
                // The same server and client id with another start: the server restarted and
                // handed the id out again. Nothing of the old client survives.
                if (g.startedAtMs != 0 && client.startMs != 0 && g.startedAtMs != client.startMs) {
                    qCInfo(lcTracker) << "gateway" << gid << "is a new NATS client";
                    endConnectionsOf(gateway, EndReason::GatewayRestarted);
                }
                const QString natsName = QString::fromUtf8(client.name);
                const QString address
                    = QString::fromUtf8(client.ip) + QLatin1Char(':') + QString::number(client.port);
                Gateway &h = gateways[gateway];
                if (h.natsName != natsName || h.natsAddress != address || h.server != serverLabel
                    || h.monitor != snapshot.scope || h.startedAtMs != client.startMs) {
                    h.natsName = natsName;
                    h.natsAddress = address;
                    h.server = serverLabel;
                    h.monitor = snapshot.scope;
                    h.startedAtMs = client.startMs;
                    markGatewaysChanged();
                }
                h.lastReplyMs = now;
            }
            bringUp(gateway);
            inScope[gateway] = true;
            anyInScope = true;
            present[gateway] = true;

            for (const CompactId &cid : client.connectionIds) {
                const auto it = slotByCid.constFind(CidKey(cid));
                if (it == slotByCid.cend()) {
                    const quint32 slot = addConnection(cid.view(), gateway, Source::Monitor);
                    initMonitorConnection(slot, now);
                    markSeen(slot);
                } else {
                    const quint32 slot = it.value();
                    if (at(slot).gateway != gateway) {
                        moveConnection(slot, gateway);
                        markUpdated(slot);
                    }
                    markSeen(slot);
                }
            }
        }
    }

    if (!anyInScope)
        return;
    present.resize(inScope.size(), false);
    std::vector<bool> stopped(inScope.size(), false);
    bool anyStopped = false;
    for (size_t index = 0; index < inScope.size(); ++index) {
        if (inScope[index] && !present[index] && snapshot.complete && !gateways[int(index)].removed
            && gateways[int(index)].state != GatewayState::Stopped) {
            stopped[index] = true;
            anyStopped = true;
        }
    }
    forEachConnectionOf(inScope, [&](quint32 slot) {
        if (slot < seen.size() && seen[slot])
            return;
        const quint32 gateway = at(slot).gateway;
        if (present[gateway])
            removeConnection(slot, EndReason::Disconnected);
        else if (stopped[gateway])
            removeConnection(slot, EndReason::GatewayStopped);
    });
    if (anyStopped) {
        for (size_t index = 0; index < stopped.size(); ++index) {
            if (!stopped[index])
                continue;
            Gateway &g = gateways[int(index)];
            qCInfo(lcTracker) << "gateway" << g.gid << "stopped: its NATS client is gone";
            g.state = GatewayState::Stopped;
            g.staleSinceMs = now;
            markGatewaysChanged();
        }
    }
}

void Tracker::applyMonitorSnapshot(const MonitorSnapshot &snapshot)
{
    d->applyMonitor(snapshot);
}

void Tracker::markMonitorStale(const QString &scope)
{
    const qint64 now = d->clock->nowMs();
    for (int index = 0; index < d->gateways.size(); ++index) {
        Gateway &g = d->gateways[index];
        if (g.removed || g.source != Source::Monitor || g.monitor != scope || g.state != GatewayState::Up)
            continue;
        g.state = GatewayState::Stale;
        g.staleSinceMs = now;
        d->markGatewaysChanged();
        d->setConnectionsState(quint32(index), ConnectionState::Stale);
    }
}

void Tracker::forgetMonitorScope(const QString &scope)
{
    for (int index = 0; index < d->gateways.size(); ++index) {
        const Gateway &g = d->gateways[index];
        if (g.removed || g.source != Source::Monitor || g.monitor != scope)
            continue;
        d->endConnectionsOf(quint32(index), EndReason::GatewayLost);
        d->removeGateway(quint32(index));
    }
}

void Tracker::handleObservedRequest(const NatsMessage &message)
{
    d->observeRequest(message);
}

void Tracker::handleObservedRequests(const QList<NatsMessage> &messages)
{
    for (const NatsMessage &message : messages)
        d->observeRequest(message);
}

void Tracker::setObservingSince(qint64 ms)
{
    d->observingSinceMs = ms;
}

qint64 Tracker::observingSince() const
{
    return d->observingSinceMs;
}

} // namespace ResWatch
