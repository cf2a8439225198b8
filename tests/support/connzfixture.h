#pragma once

// Writes nats-server monitoring JSON (/connz?subs=detail pages, $SYS answers) for parser and
// tracker tests, in the layout of tests/data/resgate-v1.8.0/connz-*.json.

#include <QByteArray>
#include <QFile>
#include <QList>
#include <QString>

#include <vector>

namespace ConnzFixture {

struct Client
{
    quint64 cid = 0;
    QByteArray name;
    QByteArray ip = "127.0.0.1";
    int port = 40000;
    QByteArray start = "2026-12-04T15:12:21.141659595Z";
    QList<QByteArray> subjects;
};

/// A stock gateway's NATS client: system.* plus conn.<cid>.* for each of @p cids.
inline Client gateway(quint64 cid, const QList<QByteArray> &cids, int port = 40000)
{
    Client c;
    c.cid = cid;
    c.port = port;
    c.subjects.append("system.*");
    for (const QByteArray &id : cids)
        c.subjects.append("conn." + id + ".*");
    return c;
}

inline QByteArray clientJson(const Client &c)
{
    QByteArray out;
    out += "{\"cid\":" + QByteArray::number(c.cid) + ",\"kind\":\"Client\",\"type\":\"nats\",\"ip\":\"" + c.ip
        + "\",\"port\":" + QByteArray::number(c.port) + ",\"start\":\"" + c.start
        + "\",\"last_activity\":\"2026-12-04T15:13:04.019285029Z\",\"rtt\":\"268\\u00b5s\",\"uptime\":"
          "\"44s\","
          "\"idle\":\"1s\",\"pending_bytes\":0,\"in_msgs\":8,\"out_msgs\":12,\"in_bytes\":1025,\"out_bytes\":"
          "481,"
          "\"subscriptions\":"
        + QByteArray::number(c.subjects.size());
    if (!c.name.isEmpty())
        out += ",\"name\":\"" + c.name + "\"";
    out += ",\"lang\":\"go\",\"version\":\"1.22.1\"";
    if (!c.subjects.isEmpty()) {
        out += ",\"subscriptions_list_detail\":[";
        for (int i = 0; i < c.subjects.size(); ++i) {
            QByteArray subject = c.subjects[i];
            subject.replace(">", "\\u003e");
            if (i)
                out += ',';
            out += "{\"subject\":\"" + subject + "\",\"sid\":\"" + QByteArray::number(i + 1)
                + "\",\"msgs\":0,\"cid\":" + QByteArray::number(c.cid) + "}";
        }
        out += ']';
    }
    out += '}';
    return out;
}

/// The page of @p clients at @p offset (at most @p limit of them), as nats-server sorts by cid.
inline QByteArray page(const std::vector<Client> &clients, qint64 offset = 0, qint64 limit = 1024,
                       const QByteArray &serverId
                       = "NCCOVSOGOQ3LNLBMADXGZB3TH7RUF4L5MZ2KBUXHNTGPWP4QXTVP26G4")
{
    QByteArray out = "{\n  \"server_id\": \"" + serverId
        + "\",\n  \"now\": \"2026-12-04T15:13:05.242360561Z\",\n  \"num_connections\": "
        + QByteArray::number(qint64(clients.size())) + ",\n  \"total\": "
        + QByteArray::number(qint64(clients.size())) + ",\n  \"offset\": " + QByteArray::number(offset)
        + ",\n  \"limit\": " + QByteArray::number(limit) + ",\n  \"connections\": [";
    bool first = true;
    for (qint64 i = offset; i < qint64(clients.size()) && i < offset + limit; ++i) {
        if (!first)
            out += ',';
        first = false;
        out += "\n    " + clientJson(clients[size_t(i)]);
    }
    out += "\n  ]\n}";
    return out;
}

/// A $SYS.REQ.SERVER.PING.CONNZ answer of server @p name wrapping @p connz.
inline QByteArray systemAnswer(const QByteArray &name, const QByteArray &id, const QByteArray &connz)
{
    return "{\"server\":{\"name\":\"" + name + "\",\"host\":\"0.0.0.0\",\"id\":\"" + id
        + "\",\"ver\":\"2.9.10\",\"jetstream\":false,\"flags\":0,\"seq\":7,\"time\":\"2026-12-04T15:13:05Z\"}"
          ","
          "\"data\":"
        + connz + "}";
}

inline QByteArray capture(const QString &name)
{
    QFile file(QStringLiteral(RESWATCH_SOURCE_DIR "/tests/data/resgate-v1.8.0/") + name);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

} // namespace ConnzFixture
