#include "connectionsmodel.h"

#include "clock.h"
#include "duration.h"
#include "jsonscan_p.h"
#include "models_p.h"
#include "tracker.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QHash>
#include <QJsonDocument>
#include <QPointer>
#include <QTimer>

#include <algorithm>
#include <cstring>
#include <thread>

namespace ResWatch {

Q_LOGGING_CATEGORY(lcModels, "reswatch.models", QtInfoMsg)

namespace {

// Per-slot state, one byte pair per tracker slot.
enum SlotFlag : quint16 {
    InAll = 0x001, ///< the model knows this connection (it is in `all`)
    Visible = 0x002, ///< passes the filters that are shown
    Removed = 0x004, ///< leaves `all` in the refresh under way
    Verdict = 0x008, ///< passes the filters being evaluated
    PendingAdd = 0x010, ///< appeared while paused
    PendingMatch = 0x020, ///< appeared while paused and passes the filters
    Touched = 0x040, ///< added or updated in the refresh under way
    Frozen = 0x080, ///< ended while paused: read from the frozen copy
    Moved = 0x100, ///< its sort key changed: leaves `all` and comes back in sorted position
    Gone = 0x200, ///< came and went within one change set
};

// Beyond this many removal (or insertion) ranges in one refresh, one layout
// change is cheaper for views than a signal per range.
constexpr int MaxRangeSignals = 32;
// How far the sorted-order check walks past neighbours that leave in the same refresh.
constexpr int MaxNeighbourWalk = 64;

struct FilterSpec
{
    ConnectionFilter filter;
    QSet<quint32> gateways;
    std::vector<bool> gatewayMask;

    void setGateways(const QSet<quint32> &set)
    {
        gateways = set;
        gatewayMask.clear();
        for (quint32 g : set) {
            if (g >= gatewayMask.size())
                gatewayMask.resize(size_t(g) + 1, false);
            gatewayMask[g] = true;
        }
    }
    bool matches(const Connection &c, const QVector<Gateway> &gws) const
    {
        if (!gateways.isEmpty() && (c.gateway >= gatewayMask.size() || !gatewayMask[c.gateway]))
            return false;
        if (filter.isEmpty())
            return true;
        return filter.matches(
            c, c.gateway < quint32(gws.size()) ? QStringView(gws[int(c.gateway)].gid) : QStringView());
    }
};

// One sort key, computed once per row for a bulk sort. Strings are views into
// the tracker's connections, which do not change during the sort.
struct SortKey
{
    double d = 0;
    /// The first 16 bytes of s, big-endian: most comparisons stop here. Claims often share
    /// a long head ("user-1000…"), so 8 bytes were not enough.
    quint64 prefix[2] = { 0, 0 };
    QByteArrayView s;
    quint32 slot = 0;
    quint8 rank = 0;
    bool isBytes = false; ///< compared by s, not by d

    void setBytes(QByteArrayView bytes)
    {
        isBytes = true;
        s = bytes;
        prefix[0] = prefix[1] = 0;
        const qsizetype n = std::min<qsizetype>(16, bytes.size());
        for (qsizetype i = 0; i < n; ++i)
            prefix[i / 8] |= quint64(quint8(bytes[i])) << (56 - 8 * (i % 8));
    }
};

int compareBytes(QByteArrayView a, QByteArrayView b)
{
    const qsizetype n = std::min(a.size(), b.size());
    if (n > 0) {
        if (int c = std::memcmp(a.data(), b.data(), size_t(n)))
            return c;
    }
    return a.size() == b.size() ? 0 : (a.size() < b.size() ? -1 : 1);
}

int compareKeys(const SortKey &a, const SortKey &b)
{
    if (a.rank != b.rank)
        return a.rank < b.rank ? -1 : 1;
    if (a.d != b.d)
        return a.d < b.d ? -1 : 1;
    // Strings from the tokens are scattered in memory; the inline prefix saves most visits
    // (sorting a million rows by a string claim took 1.6 s without it). Bytes past the end
    // count as 0, so a tie here is settled by the full comparison.
    if (a.prefix[0] != b.prefix[0])
        return a.prefix[0] < b.prefix[0] ? -1 : 1;
    if (a.prefix[1] != b.prefix[1])
        return a.prefix[1] < b.prefix[1] ? -1 : 1;
    if (a.s.size() <= 16 && b.s.size() <= 16)
        return a.s.size() == b.s.size() ? 0 : (a.s.size() < b.s.size() ? -1 : 1);
    return compareBytes(a.s, b.s);
}

// A sort key as the model keeps it per slot while sorted: 24 bytes, so placing rows
// and checking neighbours reads one small record instead of parsing a token from
// scattered memory (about 0.7 us a read at a million rows, which made a refresh
// sorted by a claim fall behind 50,000 events/s).
struct CachedKey
{
    /// Numbers as order-preserving bits in hi; bytes as their first 16, big-endian.
    quint64 hi = 0;
    quint64 lo = 0;
    /// rank << 28 | length of the bytes (saturated): lengths up to 16 settle prefix ties.
    quint32 meta = 0;
    /// Fills what would be padding: lets a bulk sort move keys with their slot.
    quint32 slot = 0;

    static constexpr quint32 LengthMask = (1u << 28) - 1;
    int rank() const { return int(meta >> 28); }
    quint32 length() const { return meta & LengthMask; }
};

quint64 orderedBits(double d)
{
    if (d == 0)
        d = 0; // -0 and 0 compare equal
    quint64 bits;
    std::memcpy(&bits, &d, sizeof bits);
    return (bits & (quint64(1) << 63)) ? ~bits : bits | (quint64(1) << 63);
}

CachedKey compactKey(const SortKey &k)
{
    CachedKey c;
    c.slot = k.slot;
    if (k.isBytes) {
        c.hi = k.prefix[0];
        c.lo = k.prefix[1];
    } else {
        c.hi = orderedBits(k.d);
    }
    c.meta = quint32(k.rank) << 28 | quint32(std::min<qsizetype>(k.s.size(), CachedKey::LengthMask));
    return c;
}

// 0 when the full bytes must decide (both longer than the prefix and the prefixes equal).
int compareCached(const CachedKey &a, const CachedKey &b, bool *needBytes)
{
    *needBytes = false;
    if (a.rank() != b.rank())
        return a.rank() < b.rank() ? -1 : 1;
    if (a.hi != b.hi)
        return a.hi < b.hi ? -1 : 1;
    if (a.lo != b.lo)
        return a.lo < b.lo ? -1 : 1;
    const quint32 la = a.length();
    const quint32 lb = b.length();
    if (la <= 16 || lb <= 16)
        return la == lb ? 0 : (la < lb ? -1 : 1);
    *needBytes = true;
    return 0;
}

static_assert(sizeof(CachedKey) == 24);

JsonScan::Value tokenObject(const QByteArray &token)
{
    // The tracker stores tokens as compact JSON it has already validated.
    JsonScan::Value v;
    if (token.size() >= 2 && token.front() == '{' && token.back() == '}') {
        v.type = JsonScan::Type::Object;
        v.raw = token;
    }
    return v;
}

JsonScan::Value claimValue(const Connection &c, const QByteArray &claim)
{
    const JsonScan::Value object = tokenObject(c.token);
    if (!object.isValid())
        return {};
    const QByteArrayView path(claim);
    return JsonScan::find(object, &path, 1);
}

QByteArrayView stringInside(JsonScan::Value v)
{
    return v.raw.size() >= 2 ? v.raw.sliced(1, v.raw.size() - 2) : QByteArrayView();
}

QByteArrayView detailView(const Connection &c, int which)
{
    if (!c.details)
        return {};
    switch (which) {
    case ConnectionsModel::TidColumn:
        return c.details->tid;
    case ConnectionsModel::RemoteAddrColumn:
        return c.details->remoteAddr;
    case ConnectionsModel::HostColumn:
        return c.details->host;
    }
    return {};
}

QString text(QByteArrayView bytes)
{
    return QString::fromUtf8(bytes.data(), bytes.size());
}

} // namespace

class ConnectionsModel::Private
{
public:
    explicit Private(ConnectionsModel *q) : q(q) { }

    ConnectionsModel *q;
    QPointer<Tracker> tracker;
    QMetaObject::Connection changedConnection;
    QMetaObject::Connection destroyedConnection;

    std::vector<quint32> all; ///< every known slot, in display order
    std::vector<quint32> rows; ///< the shown subsequence of `all`
    std::vector<qint32> rowOf; ///< slot -> row, or -1
    std::vector<qint32> posInAll; ///< slot -> index in `all`, valid below posDirtyFrom
    size_t posDirtyFrom = 0;
    std::vector<quint16> flags; ///< slot -> SlotFlag bits

    QByteArrayList claims;
    QHash<QByteArray, int> claimIndex;

    int sortColumn = -1;
    Qt::SortOrder sortOrder = Qt::AscendingOrder;
    std::vector<int> gatewayRank; ///< gateway index -> rank of its gid
    std::vector<CachedKey> keyCache; ///< slot -> its sort key, kept for the slots in `all` while sorted

    FilterSpec applied;
    struct Job
    {
        FilterSpec spec;
        quint32 cursor = 0;
        int slices = 0;
        qint64 longestSliceNs = 0;
        QElapsedTimer elapsed;
        bool running = false;
        bool resultPending = false; ///< finished while paused
    } job;
    QTimer sliceTimer;
    int sliceMs = 15;

    bool paused = false;
    std::vector<quint32> pendingAdds; ///< arrival order; valid entries carry PendingAdd
    std::vector<quint32> pendingRemovedSlots;
    std::vector<quint32> pendingUpdated;
    struct FrozenRow
    {
        Connection connection;
        QString gid;
    };
    QHash<quint32, FrozenRow> frozen;
    int pendingAddedMatching = 0;
    int pendingRemovedShown = 0;

    const QVector<Gateway> &gateways() const
    {
        static const QVector<Gateway> none;
        return tracker ? tracker->gateways() : none;
    }
    const Connection *connection(quint32 slot) const
    {
        if (slot < flags.size() && (flags[slot] & Frozen)) {
            auto it = frozen.constFind(slot);
            if (it != frozen.constEnd())
                return &it->connection;
        }
        return tracker ? tracker->connectionAt(slot) : nullptr;
    }
    QString gidOf(quint32 slot, const Connection &c) const
    {
        if (slot < flags.size() && (flags[slot] & Frozen)) {
            auto it = frozen.constFind(slot);
            if (it != frozen.constEnd())
                return it->gid;
        }
        const auto &gws = gateways();
        return c.gateway < quint32(gws.size()) ? gws[int(c.gateway)].gid : QString();
    }

    bool isSorted() const { return sortColumn >= 0; }
    bool sortKeyCanChange() const
    {
        switch (sortColumn) {
        case CidColumn:
        case ConnectedAtColumn:
        case DurationColumn:
            return false;
        default:
            return sortColumn >= 0;
        }
    }

    void ensureSize();
    void ensurePositions();
    void markPositionsDirty(size_t from) { posDirtyFrom = std::min(posDirtyFrom, from); }
    void updateRowOfFrom(size_t from);
    void computeGatewayRank();
    void onGatewaysChanged();
    SortKey keyOf(quint32 slot) const;
    void cacheKey(quint32 slot) { keyCache[slot] = compactKey(keyOf(slot)); }
    bool less(const CachedKey &a, const CachedKey &b) const
    {
        bool needBytes = false;
        int c = compareCached(a, b, &needBytes);
        if (needBytes)
            c = compareBytes(keyOf(a.slot).s, keyOf(b.slot).s);
        if (c == 0)
            return a.slot < b.slot;
        return sortOrder == Qt::AscendingOrder ? c < 0 : c > 0;
    }
    bool less(const SortKey &a, const SortKey &b) const
    {
        const int c = compareKeys(a, b);
        if (c == 0)
            return a.slot < b.slot;
        return sortOrder == Qt::AscendingOrder ? c < 0 : c > 0;
    }
    bool lessSlot(quint32 a, quint32 b) const { return less(keyCache[a], keyCache[b]); }
    qint64 sortAll();

    void populate();
    void onChanged(const ChangeSet &changes);
    void accumulatePaused(const ChangeSet &changes);
    void apply(const QVector<quint32> &removed, const QVector<quint32> &added,
               const QVector<quint32> &updated, bool forceLayout);
    void findMoves(const std::vector<quint32> &updated, std::vector<quint32> *moved);
    void mergeIntoAll(std::vector<quint32> incoming);
    void rebuildRowsWithLayoutChange(const std::vector<int> &goneRows,
                                     QAbstractItemModel::LayoutChangeHint hint);
    void discoverClaims(const QVector<quint32> &a, const QVector<quint32> &b);
    void collectNewClaims(const QByteArray &token, QByteArrayList *fresh) const;
    void emitCountsIfChanged(int oldShown, int oldTotal);

    void startJob(const FilterSpec &spec);
    void runSlice();
    void finishJob();
    void takeJobResult();
    void resume();

    QVariant display(const Connection &c, quint32 slot, int column) const;
    QVariant sortValue(const Connection &c, quint32 slot, int column) const;
};

void ConnectionsModel::Private::ensureSize()
{
    const size_t n = tracker ? tracker->slotCount() : 0;
    if (flags.size() < n) {
        flags.resize(n, 0);
        rowOf.resize(n, -1);
        posInAll.resize(n, -1);
    }
    if (isSorted() && keyCache.size() < n)
        keyCache.resize(n);
}

void ConnectionsModel::Private::ensurePositions()
{
    for (size_t i = posDirtyFrom; i < all.size(); ++i)
        posInAll[all[i]] = qint32(i);
    posDirtyFrom = all.size();
}

void ConnectionsModel::Private::updateRowOfFrom(size_t from)
{
    for (size_t i = from; i < rows.size(); ++i)
        rowOf[rows[i]] = qint32(i);
}

void ConnectionsModel::Private::computeGatewayRank()
{
    const auto &gws = gateways();
    std::vector<int> order(size_t(gws.size()));
    for (int i = 0; i < gws.size(); ++i)
        order[size_t(i)] = i;
    std::sort(order.begin(), order.end(), [&](int a, int b) {
        const int c = gws[a].gid.compare(gws[b].gid);
        return c != 0 ? c < 0 : a < b;
    });
    gatewayRank.assign(order.size(), 0);
    for (size_t r = 0; r < order.size(); ++r)
        gatewayRank[size_t(order[r])] = int(r);
}

void ConnectionsModel::Private::onGatewaysChanged()
{
    computeGatewayRank();
    // A new gateway shifts the ranks but not the order of the others: `all` stays sorted.
    if (sortColumn == GatewayColumn) {
        for (quint32 s : all)
            cacheKey(s);
    }
}

// Sorts `all` by the sort column and fills the key cache; returns the ns spent reading keys.
qint64 ConnectionsModel::Private::sortAll()
{
    QElapsedTimer timer;
    timer.start();
    computeGatewayRank();
    keyCache.assign(flags.size(), CachedKey());
    // The full keys, with views of the bytes: ids share their first 16 bytes (an xid's
    // time, machine and process), and going back to the tracker for every such tie made
    // sorting by cid twice as slow.
    //
    // Reading a million claims out of their tokens is most of a sort (about 0.6 s), so
    // both halves are read, and sorted, on two threads. That is safe: the tracker and this
    // model only change on this thread, which waits here; keyOf() and less() only read.
    std::vector<SortKey> keys(all.size());
    const auto readKeys = [this, &keys](size_t from, size_t to) {
        for (size_t i = from; i < to; ++i) {
            keys[i] = keyOf(all[i]);
            keyCache[all[i]] = compactKey(keys[i]);
        }
    };
    const auto byKey = [this](const SortKey &a, const SortKey &b) {
        return less(a, b);
    };
    const size_t half = keys.size() / 2;
    std::thread secondHalf([&] {
        readKeys(half, keys.size());
        std::sort(keys.begin() + qptrdiff(half), keys.end(), byKey);
    });
    readKeys(0, half);
    const qint64 keysNs = timer.nsecsElapsed();
    std::sort(keys.begin(), keys.begin() + qptrdiff(half), byKey);
    secondHalf.join();
    std::inplace_merge(keys.begin(), keys.begin() + qptrdiff(half), keys.end(), byKey);
    for (size_t i = 0; i < keys.size(); ++i)
        all[i] = keys[i].slot;
    markPositionsDirty(0);
    return keysNs;
}

SortKey ConnectionsModel::Private::keyOf(quint32 slot) const
{
    SortKey k;
    k.slot = slot;
    const Connection *c = connection(slot);
    if (!c)
        return k;
    switch (sortColumn) {
    case CidColumn:
        k.setBytes(c->cid.view());
        break;
    case GatewayColumn:
        k.d = c->gateway < gatewayRank.size() ? gatewayRank[c->gateway] : double(c->gateway) + 1e9;
        break;
    case StateColumn:
        k.d = int(c->state);
        break;
    case ConnectedAtColumn:
        k.d = double(c->connectedAtMs);
        break;
    case DurationColumn:
        // All durations grow together: the order is that of the connect times, reversed.
        k.d = -double(c->connectedAtMs);
        break;
    case TidColumn:
    case RemoteAddrColumn:
    case HostColumn:
        k.setBytes(detailView(*c, sortColumn));
        break;
    case SourceColumn:
        k.d = int(c->source);
        break;
    case TokenColumn:
        k.setBytes(c->token);
        break;
    default: {
        // A claim: missing < null < booleans < numbers < strings < objects and arrays.
        const int i = sortColumn - FirstClaimColumn;
        if (i < 0 || i >= claims.size())
            break;
        const JsonScan::Value v = claimValue(*c, claims.at(i));
        switch (v.type) {
        case JsonScan::Type::Invalid:
            break;
        case JsonScan::Type::Null:
            k.rank = 1;
            break;
        case JsonScan::Type::Bool:
            k.rank = 2;
            k.d = v.raw == "true" ? 1 : 0;
            break;
        case JsonScan::Type::Number:
            k.rank = 3;
            k.d = v.raw.toDouble();
            break;
        case JsonScan::Type::String:
            // Escapes are compared as written; exact for the ASCII claims tokens carry.
            k.rank = 4;
            k.setBytes(stringInside(v));
            break;
        case JsonScan::Type::Object:
        case JsonScan::Type::Array:
            k.rank = 5;
            k.setBytes(v.raw);
            break;
        }
        break;
    }
    }
    return k;
}

void ConnectionsModel::Private::populate()
{
    q->beginResetModel();
    all.clear();
    rows.clear();
    flags.clear();
    rowOf.clear();
    posInAll.clear();
    posDirtyFrom = 0;
    frozen.clear();
    pendingAdds.clear();
    pendingRemovedSlots.clear();
    pendingUpdated.clear();
    pendingAddedMatching = 0;
    pendingRemovedShown = 0;
    if (!claims.isEmpty()) {
        claims.clear();
        claimIndex.clear();
    }
    keyCache = {};
    ensureSize();
    if (tracker) {
        const auto &gws = gateways();
        const quint32 n = tracker->slotCount();
        all.reserve(size_t(tracker->connectionCount()));
        QVector<quint32> withToken;
        for (quint32 s = 0; s < n; ++s) {
            const Connection *c = tracker->connectionAt(s);
            if (!c)
                continue;
            all.push_back(s);
            flags[s] = InAll | (applied.matches(*c, gws) ? Visible : 0);
            if (c->hasToken())
                withToken.append(s);
        }
        // No view is attached during a reset: the columns can be appended silently.
        QByteArrayList fresh;
        for (quint32 s : std::as_const(withToken))
            collectNewClaims(tracker->connectionAt(s)->token, &fresh);
        for (const QByteArray &key : std::as_const(fresh)) {
            claimIndex.insert(key, int(claims.size()));
            claims.append(key);
        }
        if (isSorted())
            sortAll();
        for (quint32 s : all) {
            if (flags[s] & Visible) {
                rowOf[s] = qint32(rows.size());
                rows.push_back(s);
            }
        }
    }
    q->endResetModel();
    emit q->claimsChanged(claims);
    emit q->countsChanged(int(rows.size()), int(all.size()));
    if (job.running || job.resultPending) {
        // The verdicts were for the previous slots.
        job.resultPending = false;
        startJob(job.spec);
    }
}

void ConnectionsModel::Private::onChanged(const ChangeSet &changes)
{
    if (!tracker)
        return;
    ensureSize();
    if (job.running || job.resultPending) {
        // Keep the filter under evaluation exact for the slots it has already passed.
        const auto &gws = gateways();
        auto evaluate = [&](quint32 s) {
            if (s >= job.cursor || s >= flags.size())
                return;
            const Connection *c = tracker->connectionAt(s);
            if (c && job.spec.matches(*c, gws))
                flags[s] |= Verdict;
            else
                flags[s] &= ~Verdict;
        };
        for (quint32 s : changes.added)
            evaluate(s);
        for (quint32 s : changes.updated)
            evaluate(s);
        for (quint32 s : changes.removed) {
            if (s < flags.size())
                flags[s] &= ~Verdict;
        }
    }
    if (paused) {
        accumulatePaused(changes);
        return;
    }
    if (changes.gatewaysChanged && isSorted())
        onGatewaysChanged();
    if (changes.added.isEmpty() && changes.removed.isEmpty() && changes.updated.isEmpty())
        return;
    apply(changes.removed, changes.added, changes.updated, false);
}

void ConnectionsModel::Private::accumulatePaused(const ChangeSet &changes)
{
    const auto &gws = gateways();
    const int oldAdded = pendingAddedMatching;
    const int oldRemoved = pendingRemovedShown;
    // Added before removed: a connection that came and went within the set cancels out.
    for (quint32 s : changes.added) {
        if (s >= flags.size() || (flags[s] & PendingAdd))
            continue;
        if ((flags[s] & InAll) && !(flags[s] & Frozen))
            continue;
        const Connection *c = tracker->connectionAt(s);
        if (!c)
            continue;
        flags[s] |= PendingAdd;
        pendingAdds.push_back(s);
        if (applied.matches(*c, gws)) {
            flags[s] |= PendingMatch;
            ++pendingAddedMatching;
        }
    }
    for (quint32 s : changes.updated) {
        if (s >= flags.size())
            continue;
        if (flags[s] & PendingAdd) {
            const Connection *c = tracker->connectionAt(s);
            const bool match = c && applied.matches(*c, gws);
            if (match != bool(flags[s] & PendingMatch)) {
                flags[s] ^= PendingMatch;
                pendingAddedMatching += match ? 1 : -1;
            }
        } else if ((flags[s] & InAll) && !(flags[s] & Frozen)) {
            pendingUpdated.push_back(s);
        }
    }
    for (quint32 s : changes.removed) {
        if (s >= flags.size())
            continue;
        if (flags[s] & PendingAdd) {
            if (flags[s] & PendingMatch)
                --pendingAddedMatching;
            flags[s] &= ~(PendingAdd | PendingMatch);
        } else if ((flags[s] & InAll) && !(flags[s] & Frozen)) {
            const Connection *c = tracker->connectionAt(s);
            if (!c)
                continue;
            // Removed slots are readable until the signal returns: keep a copy for the frozen view.
            frozen.insert(s, FrozenRow { *c, gidOf(s, *c) });
            flags[s] |= Frozen;
            pendingRemovedSlots.push_back(s);
            if (rowOf[s] >= 0)
                ++pendingRemovedShown;
        }
    }
    if (oldAdded != pendingAddedMatching || oldRemoved != pendingRemovedShown)
        emit q->pendingChanged(pendingAddedMatching, pendingRemovedShown);
}

void ConnectionsModel::Private::collectNewClaims(const QByteArray &token, QByteArrayList *fresh) const
{
    // Views, not copies: this runs for every token that arrives.
    auto known = [](const QByteArrayList &list, QByteArrayView key) {
        return std::any_of(list.begin(), list.end(),
                           [key](const QByteArray &k) { return QByteArrayView(k) == key; });
    };
    JsonScan::forEachMember(tokenObject(token), [&](QByteArrayView key, JsonScan::Value) {
        if (claims.size() + fresh->size() >= MaxClaimColumns)
            return false;
        if (!known(claims, key) && !known(*fresh, key))
            fresh->append(key.toByteArray());
        return true;
    });
}

void ConnectionsModel::Private::discoverClaims(const QVector<quint32> &a, const QVector<quint32> &b)
{
    if (claims.size() >= MaxClaimColumns)
        return;
    QByteArrayList fresh;
    auto scan = [&](quint32 s) {
        const Connection *c = tracker->connectionAt(s);
        if (c && c->hasToken())
            collectNewClaims(c->token, &fresh);
    };
    for (quint32 s : a)
        scan(s);
    for (quint32 s : b)
        scan(s);
    if (fresh.isEmpty())
        return;
    const int first = FirstClaimColumn + int(claims.size());
    q->beginInsertColumns({}, first, first + int(fresh.size()) - 1);
    for (const QByteArray &key : std::as_const(fresh)) {
        claimIndex.insert(key, int(claims.size()));
        claims.append(key);
    }
    q->endInsertColumns();
    if (claims.size() >= MaxClaimColumns)
        qCWarning(lcModels) << "Token claim columns capped at" << MaxClaimColumns;
    emit q->claimsChanged(claims);
}

void ConnectionsModel::Private::findMoves(const std::vector<quint32> &updated, std::vector<quint32> *moved)
{
    // A key that changed may leave its row out of order. Check each updated row against
    // its nearest neighbours that stay; repeat, because a row that leaves brings its
    // neighbours together.
    if (updated.size() > 4096 && updated.size() * 8 > all.size()) {
        // A burst (after the event loop stalled): checking would read more keys than
        // placing every updated row again with the linear merge.
        for (quint32 s : updated) {
            flags[s] |= Moved;
            moved->push_back(s);
        }
        return;
    }
    ensurePositions();
    auto neighbour = [&](qint64 p, int step) -> qint64 {
        for (int walked = 0; walked < MaxNeighbourWalk; ++walked) {
            p += step;
            if (p < 0 || p >= qint64(all.size()))
                return -1; // no neighbour: in order on that side
            if (!(flags[all[size_t(p)]] & (Removed | Moved)))
                return p;
        }
        return -2; // too far to tell: treat as out of order
    };
    bool again = true;
    while (again) {
        again = false;
        for (quint32 s : updated) {
            if (flags[s] & Moved)
                continue;
            const qint64 p = posInAll[s];
            const qint64 prev = neighbour(p, -1);
            const qint64 next = neighbour(p, +1);
            const bool inOrder = prev != -2 && next != -2 && (prev < 0 || lessSlot(all[size_t(prev)], s))
                && (next < 0 || lessSlot(s, all[size_t(next)]));
            if (!inOrder) {
                flags[s] |= Moved;
                moved->push_back(s);
                again = true;
            }
        }
    }
}

void ConnectionsModel::Private::mergeIntoAll(std::vector<quint32> incoming)
{
    if (incoming.empty())
        return;
    if (!isSorted()) {
        const size_t from = all.size();
        all.insert(all.end(), incoming.begin(), incoming.end());
        if (posDirtyFrom == from)
            ensurePositions();
        return;
    }
    // The keys of incoming rows are already in the cache (see apply()).
    std::vector<CachedKey> keys;
    keys.reserve(incoming.size());
    for (quint32 s : incoming)
        keys.push_back(keyCache[s]);
    std::sort(keys.begin(), keys.end(),
              [this](const CachedKey &a, const CachedKey &b) { return less(a, b); });
    // Reading a key from the tokens cost about 0.7 us at a million rows (scattered in
    // memory): a burst after a stall took 1.4 s to place. The cache makes a read one
    // small record, so a search is cheap; a walk still wins for large batches.
    std::vector<size_t> at(keys.size());
    const size_t n = all.size();
    size_t depth = 1;
    while ((size_t(1) << depth) < n)
        ++depth;
    if (keys.size() * depth > n) {
        size_t lo = 0;
        for (size_t i = 0; i < keys.size(); ++i) {
            while (lo < n && less(keyCache[all[lo]], keys[i]))
                ++lo;
            at[i] = lo;
        }
    } else {
        for (size_t i = 0; i < keys.size(); ++i) {
            at[i] = size_t(
                std::lower_bound(all.begin(), all.end(), keys[i],
                                 [this](quint32 s, const CachedKey &k) { return less(keyCache[s], k); })
                - all.begin());
        }
    }
    const size_t oldSize = all.size();
    if (at.front() == oldSize) {
        for (const CachedKey &k : keys)
            all.push_back(k.slot);
        if (posDirtyFrom == oldSize)
            ensurePositions();
        return;
    }
    // In place, from the back: each run of rows moves once, with no second million-row
    // array to allocate and fill on every refresh.
    all.resize(oldSize + keys.size());
    size_t src = oldSize;
    size_t dst = all.size();
    for (size_t i = keys.size(); i-- > 0;) {
        const size_t run = src - at[i];
        dst -= run;
        if (run > 0)
            std::memmove(all.data() + dst, all.data() + at[i], run * sizeof(quint32));
        all[--dst] = keys[i].slot;
        src = at[i];
    }
    Q_ASSERT(dst == at.front());
    markPositionsDirty(at.front());
}

void ConnectionsModel::Private::rebuildRowsWithLayoutChange(const std::vector<int> &goneRows,
                                                            QAbstractItemModel::LayoutChangeHint hint)
{
    emit q->layoutAboutToBeChanged({}, hint);
    const QModelIndexList from = q->persistentIndexList();
    std::vector<qint64> fromSlots;
    fromSlots.reserve(size_t(from.size()));
    for (const QModelIndex &index : from) {
        const int r = index.row();
        const bool gone = std::binary_search(goneRows.begin(), goneRows.end(), r);
        fromSlots.push_back(gone || r < 0 || size_t(r) >= rows.size() ? -1 : qint64(rows[size_t(r)]));
    }
    for (quint32 s : rows)
        rowOf[s] = -1;
    rows.clear();
    for (quint32 s : all) {
        if (flags[s] & Visible) {
            rowOf[s] = qint32(rows.size());
            rows.push_back(s);
        }
    }
    QModelIndexList to;
    to.reserve(from.size());
    for (qsizetype i = 0; i < from.size(); ++i) {
        const qint64 s = fromSlots[size_t(i)];
        const int r = s >= 0 ? rowOf[size_t(s)] : -1;
        to.append(r >= 0 ? q->createIndex(r, from[i].column()) : QModelIndex());
    }
    q->changePersistentIndexList(from, to);
    emit q->layoutChanged({}, hint);
}

void ConnectionsModel::Private::apply(const QVector<quint32> &removed, const QVector<quint32> &added,
                                      const QVector<quint32> &updated, bool forceLayout)
{
    ensureSize();
    QElapsedTimer timer;
    timer.start();
    const int oldShown = int(rows.size());
    const int oldTotal = int(all.size());
    const auto &gws = gateways();
    discoverClaims(added, updated);

    std::vector<int> goneRows;
    std::vector<quint32> scratch;
    size_t leaving = 0;
    for (quint32 s : removed) {
        if (s >= flags.size())
            continue;
        if ((flags[s] & (InAll | Removed)) == InAll) {
            flags[s] |= Removed;
            ++leaving;
            if (rowOf[s] >= 0)
                goneRows.push_back(rowOf[s]);
        } else if (!(flags[s] & InAll)) {
            flags[s] |= Gone;
            scratch.push_back(s);
        }
    }

    std::vector<quint32> touched; // updated rows that stay in `all`
    std::vector<quint32> stayShown;
    std::vector<quint32> show;
    for (quint32 s : updated) {
        if (s >= flags.size() || (flags[s] & (Removed | Touched | Gone | Frozen)) || !(flags[s] & InAll))
            continue;
        const Connection *c = tracker->connectionAt(s);
        if (!c)
            continue;
        flags[s] |= Touched;
        touched.push_back(s);
        const bool visible = applied.matches(*c, gws);
        const bool shown = rowOf[s] >= 0;
        flags[s] = visible ? (flags[s] | Visible) : (flags[s] & ~Visible);
        if (shown && !visible)
            goneRows.push_back(rowOf[s]);
        else if (!shown && visible)
            show.push_back(s);
        else if (shown)
            stayShown.push_back(s);
    }

    std::vector<quint32> moved;
    if (sortKeyCanChange() && !touched.empty()) {
        for (quint32 s : touched)
            cacheKey(s);
        findMoves(touched, &moved);
    }
    bool layout = forceLayout || !moved.empty();
    const qint64 movesNs = timer.nsecsElapsed();

    // Compact `all` in one pass: a removal never shifts the array once per row.
    if (leaving > 0 || !moved.empty()) {
        ensurePositions();
        size_t first = all.size();
        for (quint32 s : removed) {
            if (s < flags.size() && (flags[s] & Removed))
                first = std::min(first, size_t(posInAll[s]));
        }
        for (quint32 s : moved)
            first = std::min(first, size_t(posInAll[s]));
        auto end = std::remove_if(all.begin() + qsizetype(first), all.end(),
                                  [this](quint32 s) { return flags[s] & (Removed | Moved); });
        all.erase(end, all.end());
        markPositionsDirty(first);
        for (quint32 s : removed) {
            if (s < flags.size() && (flags[s] & Removed))
                flags[s] &= ~(InAll | Visible | Removed | Frozen);
        }
    }

    std::vector<quint32> fresh;
    for (quint32 s : added) {
        if (s >= flags.size() || (flags[s] & (InAll | Gone)))
            continue;
        const Connection *c = tracker->connectionAt(s);
        if (!c)
            continue;
        flags[s] |= InAll | Touched;
        flags[s] = applied.matches(*c, gws) ? (flags[s] | Visible) : (flags[s] & ~Visible);
        if (isSorted())
            cacheKey(s);
        fresh.push_back(s);
    }
    if (!isSorted()) {
        // The change set lists slots in slot order; connect time is the better arrival order.
        std::sort(fresh.begin(), fresh.end(), [this](quint32 a, quint32 b) {
            const qint64 ta = tracker->connectionAt(a)->connectedAtMs;
            const qint64 tb = tracker->connectionAt(b)->connectedAtMs;
            return ta != tb ? ta < tb : a < b;
        });
    }
    {
        std::vector<quint32> incoming = fresh;
        incoming.insert(incoming.end(), moved.begin(), moved.end());
        mergeIntoAll(std::move(incoming));
    }

    std::sort(goneRows.begin(), goneRows.end());
    const std::vector<ModelRanges::Range> removals = ModelRanges::coalesce(goneRows);
    if (removals.size() > size_t(MaxRangeSignals))
        layout = true;
    const qint64 mergedNs = timer.nsecsElapsed();

    if (layout) {
        rebuildRowsWithLayoutChange(goneRows, QAbstractItemModel::NoLayoutChangeHint);
    } else {
        size_t rowOfDirtyFrom = rows.size();
        for (auto it = removals.rbegin(); it != removals.rend(); ++it) {
            q->beginRemoveRows({}, it->first, it->last);
            for (int r = it->first; r <= it->last; ++r)
                rowOf[rows[size_t(r)]] = -1;
            rows.erase(rows.begin() + it->first, rows.begin() + it->last + 1);
            q->endRemoveRows();
            rowOfDirtyFrom = size_t(it->first);
        }
        // Rows are a subsequence of `all`, so a new row goes before the first shown row
        // that comes after it in `all`.
        std::vector<quint32> entering = show;
        for (quint32 s : fresh) {
            if (flags[s] & Visible)
                entering.push_back(s);
        }
        if (!entering.empty()) {
            ensurePositions();
            std::sort(entering.begin(), entering.end(),
                      [this](quint32 a, quint32 b) { return posInAll[a] < posInAll[b]; });
            struct Group
            {
                size_t at;
                size_t begin;
                size_t end;
            };
            std::vector<Group> groups;
            auto lo = rows.begin();
            for (size_t i = 0; i < entering.size(); ++i) {
                const qint32 p = posInAll[entering[i]];
                lo = std::lower_bound(lo, rows.end(), p,
                                      [this](quint32 s, qint32 v) { return posInAll[s] < v; });
                const size_t at = size_t(lo - rows.begin());
                if (!groups.empty() && groups.back().at == at)
                    groups.back().end = i + 1;
                else
                    groups.push_back({ at, i, i + 1 });
            }
            if (groups.size() > size_t(MaxRangeSignals)) {
                updateRowOfFrom(rowOfDirtyFrom);
                rebuildRowsWithLayoutChange({}, QAbstractItemModel::NoLayoutChangeHint);
                layout = true;
            } else {
                for (auto it = groups.rbegin(); it != groups.rend(); ++it) {
                    const int first = int(it->at);
                    const int count = int(it->end - it->begin);
                    q->beginInsertRows({}, first, first + count - 1);
                    rows.insert(rows.begin() + first, entering.begin() + qsizetype(it->begin),
                                entering.begin() + qsizetype(it->end));
                    q->endInsertRows();
                    rowOfDirtyFrom = std::min(rowOfDirtyFrom, it->at);
                }
            }
        }
        if (!layout)
            updateRowOfFrom(rowOfDirtyFrom);
    }

    if (!layout && !stayShown.empty()) {
        std::vector<int> changedRows;
        changedRows.reserve(stayShown.size());
        for (quint32 s : stayShown) {
            if (rowOf[s] >= 0)
                changedRows.push_back(rowOf[s]);
        }
        const int lastColumn = q->columnCount() - 1;
        for (const auto &range : ModelRanges::coalesce(std::move(changedRows)))
            // A connection can move to another gateway (a poll, or a stock connection adopted by its native
            // gateway).
            emit q->dataChanged(q->index(range.first, GatewayColumn), q->index(range.last, lastColumn));
    }

    for (quint32 s : touched)
        flags[s] &= ~(Touched | Moved);
    for (quint32 s : fresh)
        flags[s] &= ~Touched;
    for (quint32 s : scratch)
        flags[s] &= ~Gone;
    emitCountsIfChanged(oldShown, oldTotal);
    qCDebug(lcModels).nospace() << "Refresh +" << added.size() << " -" << removed.size() << " ~"
                                << updated.size() << " (" << moved.size() << " moved) in "
                                << timer.nsecsElapsed() / 1000 << " us: moves " << movesNs / 1000
                                << " us, merge " << (mergedNs - movesNs) / 1000 << " us, "
                                << (layout ? "layout change " : "range signals ")
                                << (timer.nsecsElapsed() - mergedNs) / 1000 << " us";
}

void ConnectionsModel::Private::emitCountsIfChanged(int oldShown, int oldTotal)
{
    if (oldShown != int(rows.size()) || oldTotal != int(all.size()))
        emit q->countsChanged(int(rows.size()), int(all.size()));
}

void ConnectionsModel::Private::startJob(const FilterSpec &spec)
{
    const bool wasBusy = job.running;
    job.spec = spec;
    job.cursor = 0;
    job.slices = 0;
    job.longestSliceNs = 0;
    job.elapsed.start();
    job.running = true;
    job.resultPending = false;
    if (!wasBusy) {
        emit q->filteringStarted();
        emit q->filteringChanged(true);
    }
    sliceTimer.start();
}

void ConnectionsModel::Private::runSlice()
{
    if (!job.running)
        return;
    if (!tracker) {
        finishJob();
        return;
    }
    ensureSize();
    QElapsedTimer timer;
    timer.start();
    const auto &gws = gateways();
    const quint32 n = tracker->slotCount();
    // Checking the clock every 256 rows keeps its cost out of the measurement.
    while (job.cursor < n) {
        const quint32 end = std::min(n, job.cursor + 256);
        for (quint32 s = job.cursor; s < end; ++s) {
            const Connection *c = tracker->connectionAt(s);
            if (c && job.spec.matches(*c, gws))
                flags[s] |= Verdict;
            else
                flags[s] &= ~Verdict;
        }
        job.cursor = end;
        if (timer.elapsed() >= sliceMs)
            break;
    }
    ++job.slices;
    job.longestSliceNs = std::max(job.longestSliceNs, timer.nsecsElapsed());
    if (job.cursor >= tracker->slotCount())
        finishJob();
    else
        sliceTimer.start();
}

void ConnectionsModel::Private::finishJob()
{
    sliceTimer.stop();
    job.running = false;
    qCDebug(lcModels).nospace() << "Filter evaluated over " << job.cursor << " slots in "
                                << job.elapsed.elapsed() << " ms, " << job.slices << " slices, the longest "
                                << job.longestSliceNs / 1000 << " us";
    if (paused) {
        job.resultPending = true;
    } else {
        takeJobResult();
    }
    emit q->filteringChanged(false);
    emit q->filteringFinished();
}

void ConnectionsModel::Private::takeJobResult()
{
    const int oldShown = int(rows.size());
    const int oldTotal = int(all.size());
    job.resultPending = false;
    applied = job.spec;
    for (quint32 s : all)
        flags[s] = (flags[s] & Verdict) ? (flags[s] | Visible) : (flags[s] & ~Visible);
    rebuildRowsWithLayoutChange({}, QAbstractItemModel::NoLayoutChangeHint);
    emitCountsIfChanged(oldShown, oldTotal);
}

void ConnectionsModel::Private::resume()
{
    paused = false;
    QVector<quint32> removed;
    removed.reserve(qsizetype(pendingRemovedSlots.size()));
    for (quint32 s : pendingRemovedSlots)
        removed.append(s);
    QVector<quint32> added;
    for (quint32 s : pendingAdds) {
        if (flags[s] & PendingAdd) {
            flags[s] &= ~(PendingAdd | PendingMatch);
            added.append(s);
        }
    }
    QVector<quint32> updated;
    for (quint32 s : pendingUpdated) {
        if (!(flags[s] & Frozen))
            updated.append(s);
    }
    pendingAdds.clear();
    pendingRemovedSlots.clear();
    pendingUpdated.clear();
    pendingAddedMatching = 0;
    pendingRemovedShown = 0;
    if (isSorted())
        onGatewaysChanged();

    if (job.resultPending) {
        job.resultPending = false;
        applied = job.spec;
        for (quint32 s : all) {
            if (!(flags[s] & Frozen))
                flags[s] = (flags[s] & Verdict) ? (flags[s] | Visible) : (flags[s] & ~Visible);
        }
        apply(removed, added, updated, true);
    } else if (!removed.isEmpty() || !added.isEmpty() || !updated.isEmpty()) {
        apply(removed, added, updated, true);
    }
    frozen.clear();
    emit q->pendingChanged(0, 0);
}

/// Not the same as no token: the connection may well have one that nobody saw being set.
static QString unknownTokenText(const Connection &c)
{
    return ConnectionsModel::tr("unknown since %1")
        .arg(QDateTime::fromMSecsSinceEpoch(c.tokenUnknownSinceMs).toString(QStringLiteral("HH:mm")));
}

QVariant ConnectionsModel::Private::display(const Connection &c, quint32 slot, int column) const
{
    switch (column) {
    case CidColumn:
        return c.cid.toString();
    case GatewayColumn:
        return gidOf(slot, c);
    case StateColumn:
        return toString(c.state);
    case ConnectedAtColumn:
        return formatTime(c.connectedAtMs);
    case DurationColumn: {
        const Clock *clock = tracker ? tracker->clock() : nullptr;
        const qint64 now = clock ? clock->nowMs() : QDateTime::currentMSecsSinceEpoch();
        return formatDuration(now - c.connectedAtMs);
    }
    case TidColumn:
        if (!c.isTokenKnown())
            return unknownTokenText(c);
        return text(detailView(c, column));
    case RemoteAddrColumn:
    case HostColumn:
        return text(detailView(c, column));
    case SourceColumn:
        return toString(c.source);
    case TokenColumn:
        if (!c.isTokenKnown())
            return unknownTokenText(c);
        return text(c.token);
    default: {
        const int i = column - FirstClaimColumn;
        if (i < 0 || i >= claims.size())
            return {};
        if (!c.isTokenKnown())
            return QStringLiteral("?");
        const JsonScan::Value v = claimValue(c, claims.at(i));
        if (!v.isValid())
            return QString();
        if (v.type == JsonScan::Type::String)
            return QString::fromUtf8(JsonScan::decodeString(v));
        return text(v.raw);
    }
    }
}

QVariant ConnectionsModel::Private::sortValue(const Connection &c, quint32 slot, int column) const
{
    switch (column) {
    case StateColumn:
        return int(c.state);
    case ConnectedAtColumn:
        return c.connectedAtMs;
    case DurationColumn: {
        const Clock *clock = tracker ? tracker->clock() : nullptr;
        return (clock ? clock->nowMs() : QDateTime::currentMSecsSinceEpoch()) - c.connectedAtMs;
    }
    case SourceColumn:
        return int(c.source);
    default:
        if (column >= FirstClaimColumn && column - FirstClaimColumn < claims.size()) {
            const JsonScan::Value v = claimValue(c, claims.at(column - FirstClaimColumn));
            if (v.type == JsonScan::Type::Number)
                return v.raw.toDouble();
            if (v.type == JsonScan::Type::Bool)
                return v.raw == "true";
        }
        return display(c, slot, column);
    }
}

ConnectionsModel::ConnectionsModel(QObject *parent) : ConnectionsModel(nullptr, parent) { }

ConnectionsModel::ConnectionsModel(Tracker *tracker, QObject *parent)
    : QAbstractTableModel(parent), d(std::make_unique<Private>(this))
{
    d->sliceTimer.setSingleShot(true);
    d->sliceTimer.setInterval(0);
    connect(&d->sliceTimer, &QTimer::timeout, this, [this] { d->runSlice(); });
    setTracker(tracker);
}

ConnectionsModel::~ConnectionsModel() = default;

void ConnectionsModel::setTracker(Tracker *tracker)
{
    if (d->tracker == tracker && tracker)
        return;
    if (d->changedConnection)
        disconnect(d->changedConnection);
    if (d->destroyedConnection)
        disconnect(d->destroyedConnection);
    d->tracker = tracker;
    if (tracker) {
        d->changedConnection = connect(tracker, &Tracker::changed, this,
                                       [this](const ChangeSet &changes) { d->onChanged(changes); });
        d->destroyedConnection = connect(tracker, &QObject::destroyed, this, [this] { setTracker(nullptr); });
    }
    const bool wasPaused = d->paused;
    d->paused = false;
    d->populate();
    if (wasPaused) {
        d->paused = true;
        emit pendingChanged(0, 0);
    }
}

Tracker *ConnectionsModel::tracker() const
{
    return d->tracker;
}

int ConnectionsModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(d->rows.size());
}

int ConnectionsModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : FirstClaimColumn + int(d->claims.size());
}

QVariant ConnectionsModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const quint32 slot = d->rows[size_t(index.row())];
    const Connection *c = d->connection(slot);
    if (!c)
        return {};
    const int column = index.column();
    switch (role) {
    case Qt::DisplayRole:
        return d->display(*c, slot, column);
    case Qt::ToolTipRole:
        if (!c->isTokenKnown()
            && (column == TokenColumn || column == TidColumn || column >= FirstClaimColumn))
            return tr("A stock gateway's connection that was open before ResWatch started watching: its "
                      "token is unknown since %1, until the gateway sends a request or a token event for it.")
                .arg(formatTime(c->tokenUnknownSinceMs));
        if (column == TokenColumn || column >= FirstClaimColumn) {
            if (!c->hasToken())
                return {};
            const QJsonDocument doc = QJsonDocument::fromJson(c->token);
            return doc.isNull() ? text(c->token) : QString::fromUtf8(doc.toJson(QJsonDocument::Indented));
        }
        if (column == StateColumn && c->state == ConnectionState::Stale)
            return tr("Its gateway stopped answering polls; removed after the grace period");
        if (column == DurationColumn || column == CidColumn)
            return tr("Connected at %1").arg(formatTime(c->connectedAtMs));
        return {};
    case SortRole:
        return d->sortValue(*c, slot, column);
    case CidRole:
        return c->cid.toString();
    case SlotRole:
        return slot;
    case TokenRole:
        return c->token;
    case ConnectedAtRole:
        return c->connectedAtMs;
    case StateRole:
        return int(c->state);
    case StaleRole:
        return c->state == ConnectionState::Stale;
    case GatewayIndexRole:
        return c->gateway;
    case GidRole:
        return d->gidOf(slot, *c);
    }
    return {};
}

QVariant ConnectionsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case CidColumn:
        return tr("Connection");
    case GatewayColumn:
        return tr("Gateway");
    case StateColumn:
        return tr("State");
    case ConnectedAtColumn:
        return tr("Connected at");
    case DurationColumn:
        return tr("Duration");
    case TidColumn:
        return tr("Token id");
    case RemoteAddrColumn:
        return tr("Remote address");
    case HostColumn:
        return tr("Host");
    case SourceColumn:
        return tr("Source");
    case TokenColumn:
        return tr("Token");
    default:
        if (section >= FirstClaimColumn && section - FirstClaimColumn < d->claims.size())
            return QString::fromUtf8(d->claims.at(section - FirstClaimColumn));
        return {};
    }
}

QHash<int, QByteArray> ConnectionsModel::roleNames() const
{
    QHash<int, QByteArray> names = QAbstractTableModel::roleNames();
    names.insert(SortRole, "sortValue");
    names.insert(CidRole, "cid");
    names.insert(SlotRole, "slot");
    names.insert(TokenRole, "token");
    names.insert(ConnectedAtRole, "connectedAt");
    names.insert(StateRole, "state");
    names.insert(StaleRole, "stale");
    names.insert(GatewayIndexRole, "gatewayIndex");
    names.insert(GidRole, "gid");
    return names;
}

qint64 ConnectionsModel::slotAt(int row) const
{
    return row >= 0 && size_t(row) < d->rows.size() ? qint64(d->rows[size_t(row)]) : -1;
}

int ConnectionsModel::rowOfSlot(quint32 slot) const
{
    if (slot >= d->rowOf.size())
        return -1;
    const qint32 r = d->rowOf[slot];
    // Between the range signals of one refresh the reverse index may lag; never lie.
    return r >= 0 && size_t(r) < d->rows.size() && d->rows[size_t(r)] == slot ? r : -1;
}

int ConnectionsModel::totalCount() const
{
    return int(d->all.size());
}

QByteArrayList ConnectionsModel::claims() const
{
    return d->claims;
}

int ConnectionsModel::claimColumn(QByteArrayView claim) const
{
    const int i = d->claimIndex.value(claim.toByteArray(), -1);
    return i < 0 ? -1 : FirstClaimColumn + i;
}

void ConnectionsModel::sort(int column, Qt::SortOrder order)
{
    if (column >= columnCount())
        return;
    // Rows stay in sorted order as they change, so sorting again by the same key changes
    // nothing; Qt 6.4's QTableView::sortByColumn() asks twice (setSortIndicator() already
    // sorts), which cost a second full sort of a million rows.
    if (column >= 0 && column == d->sortColumn && order == d->sortOrder)
        return;
    d->sortOrder = order;
    if (column < 0) {
        // Arrival order is not kept once sorted: rows stay as they are and new ones go last.
        d->sortColumn = -1;
        d->keyCache = {};
        return;
    }
    d->sortColumn = column;
    QElapsedTimer timer;
    timer.start();
    const qint64 keysMs = d->sortAll() / 1000000;
    const qint64 sortedMs = timer.elapsed();
    d->rebuildRowsWithLayoutChange({}, QAbstractItemModel::VerticalSortHint);
    qCDebug(lcModels).nospace() << "Sorted " << d->all.size() << " rows by column " << column << " in "
                                << timer.elapsed() << " ms (keys " << keysMs << " ms, sort "
                                << sortedMs - keysMs << " ms, layout change " << timer.elapsed() - sortedMs
                                << " ms)";
}

int ConnectionsModel::sortColumn() const
{
    return d->sortColumn;
}

Qt::SortOrder ConnectionsModel::sortOrder() const
{
    return d->sortOrder;
}

void ConnectionsModel::setFilter(const ConnectionFilter &filter)
{
    setFilters(filter, gatewayFilter());
}

ConnectionFilter ConnectionsModel::filter() const
{
    return (d->job.running || d->job.resultPending) ? d->job.spec.filter : d->applied.filter;
}

void ConnectionsModel::setGatewayFilter(const QSet<quint32> &gateways)
{
    setFilters(filter(), gateways);
}

QSet<quint32> ConnectionsModel::gatewayFilter() const
{
    return (d->job.running || d->job.resultPending) ? d->job.spec.gateways : d->applied.gateways;
}

void ConnectionsModel::setFilters(const ConnectionFilter &filter, const QSet<quint32> &gateways)
{
    FilterSpec spec;
    spec.filter = filter;
    spec.setGateways(gateways);
    d->startJob(spec);
}

bool ConnectionsModel::isFiltering() const
{
    return d->job.running;
}

void ConnectionsModel::setSliceDuration(int ms)
{
    d->sliceMs = std::max(1, ms);
}

int ConnectionsModel::sliceDuration() const
{
    return d->sliceMs;
}

void ConnectionsModel::setPaused(bool paused)
{
    if (paused == d->paused)
        return;
    if (paused) {
        d->paused = true;
        d->pendingAddedMatching = 0;
        d->pendingRemovedShown = 0;
    } else {
        d->resume();
    }
    emit pausedChanged(paused);
}

bool ConnectionsModel::isPaused() const
{
    return d->paused;
}

int ConnectionsModel::pendingAdded() const
{
    return d->pendingAddedMatching;
}

int ConnectionsModel::pendingRemoved() const
{
    return d->pendingRemovedShown;
}

QString ConnectionsModel::formatTime(qint64 unixMs)
{
    if (unixMs <= 0)
        return QString();
    return QDateTime::fromMSecsSinceEpoch(unixMs).toString(QStringLiteral("yyyy-MM-dd HH:mm:ss"));
}

} // namespace ResWatch
