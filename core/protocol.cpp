#include "protocol.h"

#include "jsonscan_p.h"

#include <QLoggingCategory>

Q_LOGGING_CATEGORY(lcProtocol, "reswatch.protocol", QtWarningMsg)

namespace ResWatch::Protocol {

using JsonScan::Type;
using JsonScan::Value;

namespace {

constexpr QByteArrayView ConnPrefix("conn.");
constexpr QByteArrayView SystemPrefix("system.");
constexpr char ConnectionsSubject[] = "system.connections";

const char *typeName(Type type)
{
    switch (type) {
    case Type::Null:
        return "null";
    case Type::Bool:
        return "a boolean";
    case Type::Number:
        return "a number";
    case Type::String:
        return "a string";
    case Type::Object:
        return "an object";
    case Type::Array:
        return "an array";
    case Type::Invalid:
        break;
    }
    return "invalid";
}

// Why @p cid cannot be one NATS subject token, or null when it can.
const char *cidProblem(QByteArrayView cid)
{
    if (cid.isEmpty())
        return "cid is empty";
    for (const char c : cid) {
        if (c == '.')
            return "cid is not a single subject token";
        if (c == '*' || c == '>')
            return "cid contains a wildcard";
        if (uchar(c) <= ' ' || c == 0x7f)
            return "cid contains whitespace or a control character";
    }
    return nullptr;
}

bool eventKind(QByteArrayView name, Kind *kind)
{
    if (name == "connect")
        *kind = Kind::Connect;
    else if (name == "disconnect")
        *kind = Kind::Disconnect;
    else if (name == "token")
        *kind = Kind::Token;
    else
        return false;
    return true;
}

// Splits an event subject; returns an error text, or an empty one when it is an event subject.
QString parseSubject(QByteArrayView subject, Kind *kind, QByteArrayView *cid)
{
    if (subject.startsWith(ConnPrefix)) {
        const QByteArrayView rest = subject.sliced(ConnPrefix.size());
        const qsizetype dot = rest.lastIndexOf('.');
        if (dot < 0)
            return QStringLiteral("subject is not conn.<cid>.connect|disconnect|token");
        const QByteArrayView event = rest.sliced(dot + 1);
        if (!eventKind(event, kind))
            return QStringLiteral("unknown connection event \"%1\"").arg(QString::fromUtf8(event));
        *cid = rest.first(dot);
        if (const char *problem = cidProblem(*cid))
            return QString::fromLatin1(problem);
        return {};
    }
    if (subject.startsWith(SystemPrefix)) {
        const QByteArrayView event = subject.sliced(SystemPrefix.size());
        if (event == "start")
            *kind = Kind::Start;
        else if (event == "stop")
            *kind = Kind::Stop;
        else
            return QStringLiteral("unknown system event \"%1\"").arg(QString::fromUtf8(event));
        return {};
    }
    return QStringLiteral("not a connection-tracking subject");
}

// Parses the payload down to its top-level object; an error text otherwise.
QString parseRoot(QByteArrayView payload, Value *root)
{
    if (payload.isEmpty())
        return QStringLiteral("payload is empty");
    if (payload.size() > MaxPayloadSize)
        return QStringLiteral("payload is too large (%1 bytes, the limit is %2)")
            .arg(payload.size())
            .arg(MaxPayloadSize);
    JsonScan::Error error;
    *root = JsonScan::parse(payload, error);
    if (!root->isValid())
        return QStringLiteral("payload is not valid JSON: %1").arg(QString::fromLatin1(error.toString()));
    if (root->type != Type::Object)
        return QStringLiteral("payload is not a JSON object but %1").arg(QLatin1String(typeName(root->type)));
    return {};
}

QString notA(const char *what, QByteArrayView name, Type type)
{
    return QStringLiteral("%1 is not %2 but %3")
        .arg(QString::fromUtf8(name), QLatin1String(what), QLatin1String(typeName(type)));
}

// A required, non-empty string member.
bool requiredString(Value value, QByteArrayView name, QByteArray *out, QString *error)
{
    if (!value.isValid()) {
        *error = QStringLiteral("%1 is missing").arg(QString::fromUtf8(name));
        return false;
    }
    if (value.type != Type::String) {
        *error = notA("a string", name, value.type);
        return false;
    }
    *out = JsonScan::decodeString(value);
    if (out->isEmpty()) {
        *error = QStringLiteral("%1 is empty").arg(QString::fromUtf8(name));
        return false;
    }
    return true;
}

// An optional string member: absent and null leave @p out empty.
bool optionalString(Value value, QByteArrayView name, QByteArray *out, QString *error)
{
    if (!value.isValid() || value.type == Type::Null)
        return true;
    if (value.type != Type::String) {
        *error = notA("a string", name, value.type);
        return false;
    }
    *out = JsonScan::decodeString(value);
    return true;
}

// A token member: any JSON, stored compact; absent or null is no token.
QByteArray tokenOf(Value value)
{
    if (!value.isValid() || value.type == Type::Null)
        return {};
    return JsonScan::compact(value);
}

bool integerMember(Value value, QByteArrayView name, int *out, QString *error)
{
    bool ok = value.type == Type::Number;
    if (ok) {
        for (const char c : value.raw) {
            if (c == '.' || c == 'e' || c == 'E') {
                ok = false;
                break;
            }
        }
    }
    if (ok)
        *out = value.raw.toInt(&ok);
    if (!ok)
        *error = value.type == Type::Number
            ? QStringLiteral("%1 is not an integer").arg(QString::fromUtf8(name))
            : notA("an integer", name, value.type);
    return ok;
}

QString entryError(QByteArrayView cid, const QString &reason)
{
    return QStringLiteral("connection \"%1\": %2").arg(QString::fromUtf8(cid), reason);
}

bool parseEntry(QByteArrayView cid, Value value, ConnectionEntry *entry, QString *error)
{
    if (const char *problem = cidProblem(cid)) {
        *error = entryError(cid, QString::fromLatin1(problem));
        return false;
    }
    if (value.type != Type::Object) {
        *error = entryError(
            cid, QStringLiteral("entry is not an object but %1").arg(QLatin1String(typeName(value.type))));
        return false;
    }
    Value token, tid, remoteAddr, host;
    JsonScan::forEachMember(value, [&](QByteArrayView key, Value member) {
        if (key == "token")
            token = member;
        else if (key == "tid")
            tid = member;
        else if (key == "remoteAddr")
            remoteAddr = member;
        else if (key == "host")
            host = member;
    });
    entry->cid = cid.toByteArray();
    entry->token = tokenOf(token);
    QString reason;
    if (!optionalString(tid, "tid", &entry->tid, &reason)
        || !optionalString(remoteAddr, "remoteAddr", &entry->remoteAddr, &reason)
        || !optionalString(host, "host", &entry->host, &reason)) {
        *error = entryError(cid, reason);
        return false;
    }
    return true;
}

// Writers

void appendString(QByteArray &out, QByteArrayView text)
{
    static const char hex[] = "0123456789abcdef";
    out += '"';
    const char *p = text.data();
    const char *end = p + text.size();
    while (p < end) {
        const char *run = p;
        while (p < end && uchar(*p) >= 0x20 && *p != '"' && *p != '\\')
            ++p;
        out.append(run, p - run);
        if (p == end)
            break;
        const char c = *p++;
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\b':
            out += "\\b";
            break;
        case '\f':
            out += "\\f";
            break;
        default: {
            const char escape[] = { '\\', 'u', '0', '0', hex[(uchar(c) >> 4) & 0xF], hex[uchar(c) & 0xF] };
            out.append(escape, sizeof escape);
            break;
        }
        }
    }
    out += '"';
}

void appendMember(QByteArray &out, const char *name, QByteArrayView value)
{
    out += ",\"";
    out += name;
    out += "\":";
    appendString(out, value);
}

// Tokens are written compact; one that is not valid JSON would make the whole
// payload invalid, so it is written as null instead.
void appendToken(QByteArray &out, QByteArrayView tokenJson)
{
    if (tokenJson.isEmpty()) {
        out += "null";
        return;
    }
    QByteArray error;
    const Value value = JsonScan::parse(tokenJson, &error);
    if (!value.isValid()) {
        qCWarning(lcProtocol) << "not writing a token that is not valid JSON:" << error;
        out += "null";
        return;
    }
    out += JsonScan::compact(value);
}

QByteArray gidObjectStart(QByteArrayView gid)
{
    QByteArray out;
    out.reserve(gid.size() + 64);
    out += "{\"gid\":";
    appendString(out, gid);
    return out;
}

int decimalDigits(qsizetype n)
{
    int digits = 1;
    while (n >= 10) {
        n /= 10;
        ++digits;
    }
    return digits;
}

} // namespace

QString ParseResult::describeError() const
{
    return QString::fromUtf8(subject) + QLatin1String(": ") + error;
}

bool isEventSubject(QByteArrayView subject)
{
    Kind kind;
    QByteArrayView cid;
    return parseSubject(subject, &kind, &cid).isEmpty();
}

ParseResult parseEvent(QByteArrayView subject, QByteArrayView payload)
{
    ParseResult result;
    result.subject = subject.toByteArray();
    Message &message = result.message;
    QByteArrayView cid;
    result.error = parseSubject(subject, &message.kind, &cid);
    if (!result.ok())
        return result;
    Value root;
    result.error = parseRoot(payload, &root);
    if (!result.ok())
        return result;

    Value gid, remoteAddr, host, token, tid;
    JsonScan::forEachMember(root, [&](QByteArrayView key, Value value) {
        if (key == "gid")
            gid = value;
        else if (key == "remoteAddr")
            remoteAddr = value;
        else if (key == "host")
            host = value;
        else if (key == "token")
            token = value;
        else if (key == "tid")
            tid = value;
    });

    message.cid = cid.toByteArray();
    switch (message.kind) {
    case Kind::Connect:
        if (requiredString(gid, "gid", &message.gid, &result.error)
            && optionalString(remoteAddr, "remoteAddr", &message.remoteAddr, &result.error))
            optionalString(host, "host", &message.host, &result.error);
        break;
    case Kind::Disconnect:
    case Kind::Start:
    case Kind::Stop:
        requiredString(gid, "gid", &message.gid, &result.error);
        break;
    case Kind::Token:
        // As in Resgate, a missing token is the same as null: it clears the token.
        message.token = tokenOf(token);
        optionalString(tid, "tid", &message.tid, &result.error);
        break;
    case Kind::ConnectionsReply:
        Q_UNREACHABLE();
    }
    return result;
}

ParseResult parseConnectionsReply(QByteArrayView payload)
{
    ParseResult result;
    result.subject = ConnectionsSubject;
    Message &message = result.message;
    message.kind = Kind::ConnectionsReply;
    Value root;
    result.error = parseRoot(payload, &root);
    if (!result.ok())
        return result;

    Value gid, connections, part, parts;
    JsonScan::forEachMember(root, [&](QByteArrayView key, Value value) {
        if (key == "gid")
            gid = value;
        else if (key == "connections")
            connections = value;
        else if (key == "part")
            part = value;
        else if (key == "parts")
            parts = value;
    });

    if (!requiredString(gid, "gid", &message.gid, &result.error))
        return result;
    if (part.isValid() != parts.isValid()) {
        result.error = part.isValid() ? QStringLiteral("part is given without parts")
                                      : QStringLiteral("parts is given without part");
        return result;
    }
    if (part.isValid()) {
        if (!integerMember(part, "part", &message.part, &result.error)
            || !integerMember(parts, "parts", &message.parts, &result.error))
            return result;
        if (message.parts < 1 || message.part < 1 || message.part > message.parts) {
            result.error
                = QStringLiteral("part %1 of %2 is out of range").arg(message.part).arg(message.parts);
            return result;
        }
        // The tracker keeps a flag per announced part: a tiny reply must not make it allocate gigabytes.
        if (message.parts > MaxParts) {
            result.error = QStringLiteral("%1 parts is more than the %2 a reply may have")
                               .arg(message.parts)
                               .arg(MaxParts);
            return result;
        }
    }
    if (!connections.isValid()) {
        result.error = QStringLiteral("connections is missing");
        return result;
    }
    if (connections.type != Type::Object) {
        result.error = notA("an object", "connections", connections.type);
        return result;
    }
    JsonScan::forEachMember(connections, [&](QByteArrayView cid, Value value) {
        ConnectionEntry entry;
        if (!parseEntry(cid, value, &entry, &result.error))
            return false;
        message.connections.push_back(std::move(entry));
        return true;
    });
    if (!result.ok())
        message.connections.clear();
    return result;
}

QByteArray gatewayEventPayload(QByteArrayView gid)
{
    QByteArray out = gidObjectStart(gid);
    out += '}';
    return out;
}

QByteArray connectPayload(QByteArrayView gid, QByteArrayView remoteAddr, QByteArrayView host)
{
    QByteArray out = gidObjectStart(gid);
    if (!remoteAddr.isEmpty())
        appendMember(out, "remoteAddr", remoteAddr);
    if (!host.isEmpty())
        appendMember(out, "host", host);
    out += '}';
    return out;
}

QByteArray tokenPayload(QByteArrayView tokenJson, QByteArrayView tid)
{
    QByteArray out;
    out.reserve(tokenJson.size() + tid.size() + 32);
    out += "{\"token\":";
    appendToken(out, tokenJson);
    if (!tid.isEmpty())
        appendMember(out, "tid", tid);
    out += '}';
    return out;
}

std::vector<QByteArray> connectionsReplyPayloads(QByteArrayView gid,
                                                 const std::vector<ConnectionEntry> &connections,
                                                 qsizetype maxPayload)
{
    // Every entry is written once into one buffer; parts are cut from it.
    QByteArray entries;
    std::vector<qsizetype> ends;
    ends.reserve(connections.size());
    for (const ConnectionEntry &entry : connections) {
        appendString(entries, entry.cid);
        entries += ":{\"token\":";
        appendToken(entries, entry.token);
        if (!entry.tid.isEmpty())
            appendMember(entries, "tid", entry.tid);
        if (!entry.remoteAddr.isEmpty())
            appendMember(entries, "remoteAddr", entry.remoteAddr);
        if (!entry.host.isEmpty())
            appendMember(entries, "host", entry.host);
        entries += '}';
        ends.push_back(entries.size());
    }

    QByteArray head = gidObjectStart(gid);
    head += ",\"connections\":{";
    const qsizetype count = qsizetype(ends.size());
    const qsizetype commas = count > 0 ? count - 1 : 0;
    if (count <= 1 || head.size() + entries.size() + commas + 2 <= maxPayload) {
        QByteArray out = head;
        out.reserve(head.size() + entries.size() + commas + 2);
        qsizetype start = 0;
        for (qsizetype i = 0; i < count; ++i) {
            if (i > 0)
                out += ',';
            out.append(entries.constData() + start, ends[i] - start);
            start = ends[i];
        }
        out += "}}";
        return { out };
    }

    // Room for the largest part numbers there can be (n <= count), so a part
    // never grows past the limit once its number is written.
    const int digits = decimalDigits(count);
    const qsizetype overhead = head.size() + qsizetype(sizeof("},\"part\":,\"parts\":}") - 1) + 2 * digits;
    std::vector<std::pair<qsizetype, qsizetype>> groups; // [first, last) entry indexes
    qsizetype first = 0;
    qsizetype size = overhead;
    for (qsizetype i = 0; i < count; ++i) {
        const qsizetype entrySize = ends[i] - (i > 0 ? ends[i - 1] : 0);
        const qsizetype added = entrySize + (i > first ? 1 : 0);
        if (i > first && size + added > maxPayload) {
            groups.emplace_back(first, i);
            first = i;
            size = overhead + entrySize;
        } else {
            size += added;
        }
    }
    groups.emplace_back(first, count);

    std::vector<QByteArray> payloads;
    payloads.reserve(groups.size());
    const QByteArray partsText = QByteArray::number(qsizetype(groups.size()));
    for (size_t g = 0; g < groups.size(); ++g) {
        const auto [begin, end] = groups[g];
        const qsizetype from = begin > 0 ? ends[begin - 1] : 0;
        QByteArray out;
        out.reserve(overhead + ends[end - 1] - from + (end - begin));
        out += head;
        for (qsizetype i = begin; i < end; ++i) {
            const qsizetype start = i > 0 ? ends[i - 1] : 0;
            if (i > begin)
                out += ',';
            out.append(entries.constData() + start, ends[i] - start);
        }
        out += "},\"part\":";
        out += QByteArray::number(qsizetype(g + 1));
        out += ",\"parts\":";
        out += partsText;
        out += '}';
        if (out.size() > maxPayload)
            qCDebug(lcProtocol) << "a connection entry alone exceeds the maximum payload:" << out.size();
        payloads.push_back(std::move(out));
    }
    return payloads;
}

} // namespace ResWatch::Protocol
