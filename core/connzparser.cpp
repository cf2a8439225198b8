#include "connzparser.h"

#include "jsonscan_p.h"

#include <algorithm>

namespace ResWatch::ConnzParser {

using JsonScan::Type;
using JsonScan::Value;

namespace {

bool digits(QByteArrayView text, qsizetype at, int count, int *out)
{
    if (at + count > text.size())
        return false;
    int v = 0;
    for (int i = 0; i < count; ++i) {
        const char c = text[at + i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *out = v;
    return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
qint64 daysFromCivil(int y, int m, int d)
{
    y -= m <= 2;
    const qint64 era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = unsigned(y - era * 400);
    const unsigned doy = (153 * unsigned(m + (m > 2 ? -3 : 9)) + 2) / 5 + unsigned(d) - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + qint64(doe) - 719468;
}

qint64 toInteger(Value value, qint64 fallback = 0)
{
    if (value.type != Type::Number)
        return fallback;
    bool ok = false;
    const qint64 v = value.raw.toLongLong(&ok);
    return ok ? v : fallback;
}

QByteArray toBytes(Value value)
{
    return value.type == Type::String ? JsonScan::decodeString(value) : QByteArray();
}

bool parseClient(Value object, MonitorClient *client)
{
    bool haveCid = false;
    JsonScan::forEachMember(object, [&](QByteArrayView key, Value value) {
        // Keys by length first: a page holds thousands of these objects.
        switch (key.size()) {
        case 2:
            if (key == "ip")
                client->ip = toBytes(value);
            break;
        case 3:
            if (key == "cid" && value.type == Type::Number) {
                bool ok = false;
                client->cid = value.raw.toULongLong(&ok);
                haveCid = ok;
            }
            break;
        case 4:
            if (key == "port")
                client->port = int(toInteger(value));
            else if (key == "name")
                client->name = toBytes(value);
            break;
        case 5:
            if (key == "start" && value.type == Type::String)
                client->startMs = std::max<qint64>(0, parseTimeMs(JsonScan::stringContents(value)));
            break;
        case 13:
            if (key == "subscriptions")
                client->subscriptionCount = int(toInteger(value));
            break;
        case 25:
            if (key == "subscriptions_list_detail") {
                JsonScan::forEachElement(value, [&](Value sub) {
                    const Value subject = JsonScan::find(sub, "subject");
                    QByteArrayView cid;
                    if (!JsonScan::stringHasEscapes(subject)) {
                        cid = connectionIdOfSubject(JsonScan::stringContents(subject));
                        if (!cid.isEmpty())
                            client->connectionIds.emplace_back(cid);
                    } else {
                        // nats-server escapes '>' and '<' as \u003e and \u003c; rare for conn subjects.
                        const QByteArray decoded = JsonScan::decodeString(subject);
                        cid = connectionIdOfSubject(decoded);
                        if (!cid.isEmpty())
                            client->connectionIds.emplace_back(cid);
                    }
                });
            }
            break;
        case 18:
            // Without subs=detail the server lists bare subjects; accept them too.
            if (key == "subscriptions_list") {
                JsonScan::forEachElement(value, [&](Value subject) {
                    const QByteArray decoded = JsonScan::stringHasEscapes(subject)
                        ? JsonScan::decodeString(subject)
                        : JsonScan::stringContents(subject).toByteArray();
                    const QByteArrayView cid = connectionIdOfSubject(decoded);
                    if (!cid.isEmpty())
                        client->connectionIds.emplace_back(cid);
                });
            }
            break;
        default:
            break;
        }
    });
    return haveCid;
}

bool parseConnz(Value root, ConnzPage *page, QString *error)
{
    bool haveConnections = false;
    bool badClient = false;
    JsonScan::forEachMember(root, [&](QByteArrayView key, Value value) {
        if (key == "server_id") {
            page->serverId = toBytes(value);
        } else if (key == "server_name") {
            if (page->serverName.isEmpty())
                page->serverName = toBytes(value);
        } else if (key == "now") {
            if (value.type == Type::String)
                page->nowMs = std::max<qint64>(0, parseTimeMs(JsonScan::stringContents(value)));
        } else if (key == "total") {
            page->total = toInteger(value);
        } else if (key == "offset") {
            page->offset = toInteger(value);
        } else if (key == "limit") {
            page->limit = toInteger(value);
        } else if (key == "connections") {
            if (value.type == Type::Null) {
                haveConnections = true; // Go encodes an empty slice as null in some versions
                return true;
            }
            if (value.type != Type::Array)
                return true;
            haveConnections = true;
            JsonScan::forEachElement(value, [&](Value element) {
                if (element.type != Type::Object) {
                    badClient = true;
                    return false;
                }
                page->clients.emplace_back();
                if (!parseClient(element, &page->clients.back())) {
                    badClient = true;
                    return false;
                }
                return true;
            });
        }
        return true;
    });
    if (badClient) {
        *error = QStringLiteral("a connection without a numeric cid");
        return false;
    }
    if (!haveConnections) {
        *error = QStringLiteral("not a connz page: no \"connections\" list");
        return false;
    }
    if (page->serverId.isEmpty()) {
        *error = QStringLiteral("not a connz page: no \"server_id\"");
        return false;
    }
    if (page->total < 0 || page->offset < 0) {
        *error = QStringLiteral("negative total or offset");
        return false;
    }
    return true;
}

} // namespace

bool parse(QByteArrayView json, ConnzPage *page, QString *errorText)
{
    *page = ConnzPage();
    QString ignored;
    QString *error = errorText ? errorText : &ignored;
    error->clear();
    JsonScan::Error jsonError;
    const Value root = JsonScan::parse(json, jsonError);
    if (!root.isValid()) {
        *error = QStringLiteral("not JSON: %1").arg(QString::fromUtf8(jsonError.toString()));
        return false;
    }
    if (root.type != Type::Object) {
        *error = QStringLiteral("not a connz page: not a JSON object");
        return false;
    }
    // A $SYS.REQ.SERVER.PING.CONNZ answer wraps the page: {"server": {...}, "data": {...}} or
    // {"server": {...}, "error": {"code": 500, "description": "..."}}.
    const Value server = JsonScan::find(root, "server");
    if (server.isObject()) {
        const Value failure = JsonScan::find(root, "error");
        if (failure.isObject()) {
            *error = QStringLiteral("server %1 answered: %2")
                         .arg(QString::fromUtf8(toBytes(JsonScan::find(server, "name"))),
                              QString::fromUtf8(toBytes(JsonScan::find(failure, "description"))));
            return false;
        }
        const Value data = JsonScan::find(root, "data");
        if (!data.isObject()) {
            *error = QStringLiteral("a server answer without \"data\"");
            return false;
        }
        page->serverName = toBytes(JsonScan::find(server, "name"));
        if (!parseConnz(data, page, error))
            return false;
        if (page->serverId.isEmpty())
            page->serverId = toBytes(JsonScan::find(server, "id"));
        return true;
    }
    return parseConnz(root, page, error);
}

QByteArray parseServerName(QByteArrayView varzJson)
{
    const Value root = JsonScan::parse(varzJson);
    return root.isObject() ? toBytes(JsonScan::find(root, "server_name")) : QByteArray();
}

QByteArrayView connectionIdOfSubject(QByteArrayView subject)
{
    if (subject.size() < 8 || !subject.startsWith("conn.") || !subject.endsWith(".*"))
        return {};
    const QByteArrayView cid = subject.sliced(5, subject.size() - 7);
    if (cid.isEmpty() || cid.contains('.') || cid == "*" || cid == ">")
        return {};
    return cid;
}

qint64 parseTimeMs(QByteArrayView t)
{
    int year, month, day, hour, minute, second;
    if (t.size() < 20 || !digits(t, 0, 4, &year) || t[4] != '-' || !digits(t, 5, 2, &month) || t[7] != '-'
        || !digits(t, 8, 2, &day) || (t[10] != 'T' && t[10] != 't' && t[10] != ' ')
        || !digits(t, 11, 2, &hour) || t[13] != ':' || !digits(t, 14, 2, &minute) || t[16] != ':'
        || !digits(t, 17, 2, &second))
        return -1;
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
        return -1;
    qsizetype at = 19;
    int millis = 0;
    if (at < t.size() && t[at] == '.') {
        ++at;
        int scale = 100;
        const qsizetype start = at;
        while (at < t.size() && t[at] >= '0' && t[at] <= '9') {
            millis += (t[at] - '0') * scale;
            scale /= 10;
            ++at;
        }
        if (at == start)
            return -1;
    }
    int offsetMinutes = 0;
    if (at < t.size() && (t[at] == 'Z' || t[at] == 'z')) {
        ++at;
    } else if (at < t.size() && (t[at] == '+' || t[at] == '-')) {
        int oh, om;
        if (!digits(t, at + 1, 2, &oh) || at + 3 >= t.size() || t[at + 3] != ':'
            || !digits(t, at + 4, 2, &om))
            return -1;
        offsetMinutes = (oh * 60 + om) * (t[at] == '-' ? -1 : 1);
        at += 6;
    } else {
        return -1;
    }
    if (at != t.size())
        return -1;
    const qint64 seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
        - qint64(offsetMinutes) * 60;
    return seconds * 1000 + millis;
}

} // namespace ResWatch::ConnzParser
