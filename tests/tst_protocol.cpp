#include "jsonscan_p.h"
#include "protocol.h"

#include <QRandomGenerator>
#include <QRegularExpression>
#include <QTest>

using namespace ResWatch;
using Protocol::ConnectionEntry;
using Protocol::Kind;

Q_DECLARE_METATYPE(ResWatch::Protocol::Kind)

namespace ResWatch::Protocol {
// For QCOMPARE of whole entry lists.
bool operator==(const ConnectionEntry &a, const ConnectionEntry &b)
{
    return a.cid == b.cid && a.token == b.token && a.tid == b.tid && a.remoteAddr == b.remoteAddr
        && a.host == b.host;
}
} // namespace ResWatch::Protocol

namespace {

// "cid|token|tid|remoteAddr|host;..." so that one QCOMPARE checks a whole reply.
QByteArray flatten(const std::vector<ConnectionEntry> &entries)
{
    QByteArrayList rows;
    for (const ConnectionEntry &e : entries)
        rows << QByteArrayList({ e.cid, e.token, e.tid, e.remoteAddr, e.host }).join('|');
    return rows.join(';');
}

std::vector<ConnectionEntry> makeEntries(int count, int tokenSize)
{
    std::vector<ConnectionEntry> entries;
    entries.reserve(count);
    for (int i = 0; i < count; ++i) {
        ConnectionEntry e;
        e.cid = "c" + QByteArray::number(i).rightJustified(19, '0');
        if (tokenSize > 0) {
            QByteArray token = "{\"userId\":" + QByteArray::number(i) + ",\"role\":\"";
            token += QByteArray(qMax(0, tokenSize - int(token.size()) - 2), 'x') + "\"}";
            e.token = token;
        }
        if (i % 3 == 0)
            e.tid = "tid-" + QByteArray::number(i);
        if (i % 5 == 0) {
            e.remoteAddr = "10.0.0." + QByteArray::number(i % 256) + ":5555";
            e.host = "gateway.example";
        }
        entries.push_back(e);
    }
    return entries;
}

QByteArray repeatedNesting(int depth)
{
    return QByteArray(depth, '[') + QByteArray(depth, ']');
}

} // namespace

class TestProtocol : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void parseEvent_data();
    void parseEvent();
    void rejectEvent_data();
    void rejectEvent();
    void isEventSubject_data();
    void isEventSubject();
    void describeError();
    void parseConnectionsReply_data();
    void parseConnectionsReply();
    void rejectConnectionsReply_data();
    void rejectConnectionsReply();
    void eventWritersRoundTrip_data();
    void eventWritersRoundTrip();
    void tokenPayloadRoundTrip_data();
    void tokenPayloadRoundTrip();
    void connectionsReplyRoundTrip_data();
    void connectionsReplyRoundTrip();
    void capturedResgateToken();
    void mutatedRepliesAreHandled();
};

void TestProtocol::parseEvent_data()
{
    QTest::addColumn<QByteArray>("subject");
    QTest::addColumn<QByteArray>("payload");
    QTest::addColumn<Kind>("kind");
    QTest::addColumn<QByteArray>("cid");
    QTest::addColumn<QByteArray>("gid");
    QTest::addColumn<QByteArray>("token");
    QTest::addColumn<QByteArray>("tid");
    QTest::addColumn<QByteArray>("remoteAddr");
    QTest::addColumn<QByteArray>("host");

    const QByteArray cid = "dc9dgu5qmd2ttjddp3dg";
    QTest::newRow("connect") << "conn." + cid + ".connect" << QByteArray(R"({"gid":"gw-1"})") << Kind::Connect
                             << cid << QByteArray("gw-1") << QByteArray() << QByteArray() << QByteArray()
                             << QByteArray();
    QTest::newRow("connect with address and host")
        << "conn." + cid + ".connect"
        << QByteArray(R"({"gid":"gw-1","remoteAddr":"127.0.0.1:5555","host":"localhost"})") << Kind::Connect
        << cid << QByteArray("gw-1") << QByteArray() << QByteArray() << QByteArray("127.0.0.1:5555")
        << QByteArray("localhost");
    QTest::newRow("connect with null host")
        << "conn." + cid + ".connect" << QByteArray(R"({"gid":"gw-1","host":null})") << Kind::Connect << cid
        << QByteArray("gw-1") << QByteArray() << QByteArray() << QByteArray() << QByteArray();
    QTest::newRow("unknown fields ignored")
        << "conn." + cid + ".connect"
        << QByteArray(R"({"x":[1,{"gid":5}],"gid":"gw-1","version":"1.8.0","n":null})") << Kind::Connect
        << cid << QByteArray("gw-1") << QByteArray() << QByteArray() << QByteArray() << QByteArray();
    QTest::newRow("whitespace around and inside")
        << "conn." + cid + ".connect" << QByteArray(" {\n \"gid\" : \"gw-1\" \n} \r\n") << Kind::Connect
        << cid << QByteArray("gw-1") << QByteArray() << QByteArray() << QByteArray() << QByteArray();
    QTest::newRow("escaped gid") << "conn." + cid + ".connect" << QByteArray(R"({"gid":"gw\"1\u00e9"})")
                                 << Kind::Connect << cid << QByteArray("gw\"1\xc3\xa9") << QByteArray()
                                 << QByteArray() << QByteArray() << QByteArray();
    QTest::newRow("disconnect") << "conn." + cid + ".disconnect" << QByteArray(R"({"gid":"gw-2"})")
                                << Kind::Disconnect << cid << QByteArray("gw-2") << QByteArray()
                                << QByteArray() << QByteArray() << QByteArray();
    QTest::newRow("non-xid cid") << QByteArray("conn.some-client_1.disconnect")
                                 << QByteArray(R"({"gid":"g"})") << Kind::Disconnect
                                 << QByteArray("some-client_1") << QByteArray("g") << QByteArray()
                                 << QByteArray() << QByteArray() << QByteArray();
    QTest::newRow("start") << QByteArray("system.start") << QByteArray(R"({"gid":"gw-3"})") << Kind::Start
                           << QByteArray() << QByteArray("gw-3") << QByteArray() << QByteArray()
                           << QByteArray() << QByteArray();
    QTest::newRow("stop") << QByteArray("system.stop") << QByteArray(R"({"gid":"gw-3","reason":"SIGTERM"})")
                          << Kind::Stop << QByteArray() << QByteArray("gw-3") << QByteArray() << QByteArray()
                          << QByteArray() << QByteArray();
    QTest::newRow("object token with tid")
        << "conn." + cid + ".token" << QByteArray(R"({"token":{"userId":42,"role":"guest"},"tid":"tid-42"})")
        << Kind::Token << cid << QByteArray() << QByteArray(R"({"userId":42,"role":"guest"})")
        << QByteArray("tid-42") << QByteArray() << QByteArray();
    QTest::newRow("token stored compact")
        << "conn." + cid + ".token" << QByteArray("{\"token\": { \"a\" : [ 1, \"x y\" ] } }") << Kind::Token
        << cid << QByteArray() << QByteArray(R"({"a":[1,"x y"]})") << QByteArray() << QByteArray()
        << QByteArray();
    QTest::newRow("null token clears")
        << "conn." + cid + ".token" << QByteArray(R"({"token":null})") << Kind::Token << cid << QByteArray()
        << QByteArray() << QByteArray() << QByteArray() << QByteArray();
    QTest::newRow("missing token clears")
        << "conn." + cid + ".token" << QByteArray(R"({"tid":"t"})") << Kind::Token << cid << QByteArray()
        << QByteArray() << QByteArray("t") << QByteArray() << QByteArray();
    QTest::newRow("string token") << "conn." + cid + ".token" << QByteArray(R"({"token":"opaque"})")
                                  << Kind::Token << cid << QByteArray() << QByteArray("\"opaque\"")
                                  << QByteArray() << QByteArray() << QByteArray();
    QTest::newRow("number token") << "conn." + cid + ".token" << QByteArray(R"({"token":7})") << Kind::Token
                                  << cid << QByteArray() << QByteArray("7") << QByteArray() << QByteArray()
                                  << QByteArray();
    QTest::newRow("token event ignores gid")
        << "conn." + cid + ".token" << QByteArray(R"({"gid":5,"token":{}})") << Kind::Token << cid
        << QByteArray() << QByteArray("{}") << QByteArray() << QByteArray() << QByteArray();
    QTest::newRow("last duplicate wins")
        << "conn." + cid + ".connect" << QByteArray(R"({"gid":"a","gid":"b"})") << Kind::Connect << cid
        << QByteArray("b") << QByteArray() << QByteArray() << QByteArray() << QByteArray();
}

void TestProtocol::parseEvent()
{
    QFETCH(QByteArray, subject);
    QFETCH(QByteArray, payload);
    QFETCH(Kind, kind);

    const Protocol::ParseResult result = Protocol::parseEvent(subject, payload);
    QCOMPARE(result.error, QString());
    QVERIFY(result.ok());
    QCOMPARE(result.subject, subject);
    QCOMPARE(result.message.kind, kind);
    QTEST(result.message.cid, "cid");
    QTEST(result.message.gid, "gid");
    QTEST(result.message.token, "token");
    QTEST(result.message.tid, "tid");
    QTEST(result.message.remoteAddr, "remoteAddr");
    QTEST(result.message.host, "host");
}

void TestProtocol::rejectEvent_data()
{
    QTest::addColumn<QByteArray>("subject");
    QTest::addColumn<QByteArray>("payload");
    QTest::addColumn<QString>("error");

    const QByteArray connect = "conn.dc9dgu5qmd2ttjddp3dg.connect";
    const QByteArray token = "conn.dc9dgu5qmd2ttjddp3dg.token";
    const QByteArray gid = R"({"gid":"gw-1"})";
    const auto row
        = [](const char *name, const QByteArray &subject, const QByteArray &payload, const QString &error) {
              QTest::newRow(name) << subject << payload << error;
          };

    // Payloads
    row("empty payload", connect, "", "payload is empty");
    row("whitespace payload", connect, "  ", "payload is not valid JSON: unexpected end of input at byte 2");
    row("not JSON", connect, "hello", "payload is not valid JSON: unexpected character at byte 0");
    row("JSON array", connect, R"([{"gid":"gw-1"}])", "payload is not a JSON object but an array");
    row("JSON string", connect, R"("gw-1")", "payload is not a JSON object but a string");
    row("JSON number", connect, "42", "payload is not a JSON object but a number");
    row("JSON null", connect, "null", "payload is not a JSON object but null");
    row("truncated", connect, R"({"gid":"gw-1")",
        "payload is not valid JSON: unexpected end of input at byte 13");
    row("truncated string", connect, R"({"gid":"gw-)",
        "payload is not valid JSON: unterminated string at byte 7");
    row("trailing garbage", connect, R"({"gid":"gw-1"}x)",
        "payload is not valid JSON: unexpected data after the value at byte 14");
    row("two objects", connect, R"({"gid":"a"}{"gid":"b"})",
        "payload is not valid JSON: unexpected data after the value at byte 11");
    row("trailing comma", connect, R"({"gid":"gw-1",})",
        "payload is not valid JSON: expected a string key at byte 14");
    row("invalid escape", connect, R"({"gid":"gw\x"})",
        "payload is not valid JSON: invalid escape at byte 10");
    row("lone surrogate", connect, R"({"gid":"\ud800"})",
        "payload is not valid JSON: unpaired surrogate in \\u escape at byte 8");
    row("control character in string", connect, "{\"gid\":\"gw\n1\"}",
        "payload is not valid JSON: control character in string at byte 10");
    row("NUL byte", connect, QByteArray("{\"gid\":\"g\0\"}", 12),
        "payload is not valid JSON: control character in string at byte 9");
    row("deep nesting", connect, R"({"gid":"gw-1","x":)" + repeatedNesting(70) + "}",
        "payload is not valid JSON: nesting deeper than 64 levels at byte 81");
    row("oversized payload", connect, QByteArray(Protocol::MaxPayloadSize + 1, ' '),
        QStringLiteral("payload is too large (%1 bytes, the limit is %2)")
            .arg(Protocol::MaxPayloadSize + 1)
            .arg(Protocol::MaxPayloadSize));

    // gid
    row("gid missing", connect, "{}", "gid is missing");
    row("gid missing, other fields", connect, R"({"remoteAddr":"1.2.3.4:5","GID":"x"})", "gid is missing");
    row("gid null", connect, R"({"gid":null})", "gid is not a string but null");
    row("gid number", connect, R"({"gid":1})", "gid is not a string but a number");
    row("gid object", connect, R"({"gid":{"id":"gw-1"}})", "gid is not a string but an object");
    row("gid empty", connect, R"({"gid":""})", "gid is empty");
    row("gid missing on disconnect", "conn.x.disconnect", "{}", "gid is missing");
    row("gid missing on start", "system.start", R"({"id":"gw-1"})", "gid is missing");
    row("gid empty on stop", "system.stop", R"({"gid":""})", "gid is empty");
    row("remoteAddr number", connect, R"({"gid":"g","remoteAddr":5555})",
        "remoteAddr is not a string but a number");
    row("host array", connect, R"({"gid":"g","host":["a"]})", "host is not a string but an array");
    row("tid number", token, R"({"token":null,"tid":42})", "tid is not a string but a number");
    row("token event not an object", token, "null", "payload is not a JSON object but null");

    // Subjects
    row("cid of two tokens", "conn.a.b.connect", gid, "cid is not a single subject token");
    row("empty cid", "conn..connect", gid, "cid is empty");
    row("star cid", "conn.*.connect", gid, "cid contains a wildcard");
    row("greater-than cid", "conn.>.connect", gid, "cid contains a wildcard");
    row("cid with a wildcard inside", "conn.ab*.token", gid, "cid contains a wildcard");
    row("cid with a space", "conn.a b.connect", gid, "cid contains whitespace or a control character");
    row("unknown connection event", "conn.x.unknown", gid, "unknown connection event \"unknown\"");
    row("extra token", "conn.x.connect.extra", gid, "unknown connection event \"extra\"");
    row("conn event without cid", "conn.connect", gid, "subject is not conn.<cid>.connect|disconnect|token");
    row("unknown system event", "system.other", gid, "unknown system event \"other\"");
    row("system.connections is no event", "system.connections", gid, "unknown system event \"connections\"");
    row("system.start.extra", "system.start.x", gid, "unknown system event \"start.x\"");
    row("other subject", "access.example.model", gid, "not a connection-tracking subject");
    row("empty subject", "", gid, "not a connection-tracking subject");
    row("subject checked before payload", "conn..token", "", "cid is empty");
}

void TestProtocol::rejectEvent()
{
    QFETCH(QByteArray, subject);
    QFETCH(QByteArray, payload);
    QFETCH(QString, error);

    const Protocol::ParseResult result = Protocol::parseEvent(subject, payload);
    QVERIFY(!result.ok());
    QCOMPARE(result.error, error);
    QCOMPARE(result.subject, subject);
    QCOMPARE(result.describeError(), QString::fromUtf8(subject) + QStringLiteral(": ") + error);
}

void TestProtocol::isEventSubject_data()
{
    QTest::addColumn<QByteArray>("subject");
    QTest::addColumn<bool>("isEvent");

    QTest::newRow("connect") << QByteArray("conn.dc9dgu5qmd2ttjddp3dg.connect") << true;
    QTest::newRow("disconnect") << QByteArray("conn.x.disconnect") << true;
    QTest::newRow("token") << QByteArray("conn.x.token") << true;
    QTest::newRow("start") << QByteArray("system.start") << true;
    QTest::newRow("stop") << QByteArray("system.stop") << true;
    QTest::newRow("connections") << QByteArray("system.connections") << false;
    QTest::newRow("reset") << QByteArray("system.reset") << false;
    QTest::newRow("two-token cid") << QByteArray("conn.a.b.token") << false;
    QTest::newRow("wildcard") << QByteArray("conn.*.token") << false;
    QTest::newRow("access") << QByteArray("access.example.model") << false;
    QTest::newRow("prefix only") << QByteArray("conn.") << false;
}

void TestProtocol::isEventSubject()
{
    QFETCH(QByteArray, subject);
    QFETCH(bool, isEvent);
    QCOMPARE(Protocol::isEventSubject(subject), isEvent);
}

void TestProtocol::describeError()
{
    const Protocol::ParseResult result = Protocol::parseEvent("conn.x.connect", "{}");
    QCOMPARE(result.describeError(), QStringLiteral("conn.x.connect: gid is missing"));
    const Protocol::ParseResult reply = Protocol::parseConnectionsReply("[]");
    QCOMPARE(reply.describeError(),
             QStringLiteral("system.connections: payload is not a JSON object but an array"));
}

void TestProtocol::parseConnectionsReply_data()
{
    QTest::addColumn<QByteArray>("payload");
    QTest::addColumn<QByteArray>("gid");
    QTest::addColumn<QByteArray>("entries");
    QTest::addColumn<int>("part");
    QTest::addColumn<int>("parts");

    QTest::newRow("empty") << QByteArray(R"({"gid":"gw-1","connections":{}})") << QByteArray("gw-1")
                           << QByteArray() << 1 << 1;
    QTest::newRow("spec example") << QByteArray(
        R"({"gid":"gw-1","connections":{"a1":{"token":{"userId":42}},"b2":{"token":null}}})")
                                  << QByteArray("gw-1") << QByteArray(R"(a1|{"userId":42}|||;b2||||)") << 1
                                  << 1;
    QTest::newRow("all fields") << QByteArray(
        R"({"gid":"g","connections":{"a1":{"token":"t","tid":"x","remoteAddr":"1.2.3.4:5","host":"h"}}})")
                                << QByteArray("g") << QByteArray(R"(a1|"t"|x|1.2.3.4:5|h)") << 1 << 1;
    QTest::newRow("token missing and null strings")
        << QByteArray(R"({"gid":"g","connections":{"a1":{"tid":null,"host":null}}})") << QByteArray("g")
        << QByteArray("a1||||") << 1 << 1;
    QTest::newRow("unknown fields") << QByteArray(
        R"({"v":2,"gid":"g","connections":{"a1":{"since":123,"token":{ "k" : 1 }}},"extra":[]})")
                                    << QByteArray("g") << QByteArray(R"(a1|{"k":1}|||)") << 1 << 1;
    QTest::newRow("escaped cid key") << QByteArray(R"({"gid":"g","connections":{"\u0061bc":{}}})")
                                     << QByteArray("g") << QByteArray("abc||||") << 1 << 1;
    QTest::newRow("part 2 of 3") << QByteArray(R"({"gid":"g","connections":{"a1":{}},"part":2,"parts":3})")
                                 << QByteArray("g") << QByteArray("a1||||") << 2 << 3;
    QTest::newRow("part 1 of 1") << QByteArray(R"({"part":1,"parts":1,"gid":"g","connections":{}})")
                                 << QByteArray("g") << QByteArray() << 1 << 1;
}

void TestProtocol::parseConnectionsReply()
{
    QFETCH(QByteArray, payload);
    const Protocol::ParseResult result = Protocol::parseConnectionsReply(payload);
    QCOMPARE(result.error, QString());
    QCOMPARE(result.message.kind, Kind::ConnectionsReply);
    QTEST(result.message.gid, "gid");
    QTEST(flatten(result.message.connections), "entries");
    QTEST(result.message.part, "part");
    QTEST(result.message.parts, "parts");
}

void TestProtocol::rejectConnectionsReply_data()
{
    QTest::addColumn<QByteArray>("payload");
    QTest::addColumn<QString>("error");

    const auto row = [](const char *name, const QByteArray &payload, const QString &error) {
        QTest::newRow(name) << payload << error;
    };
    row("empty", "", "payload is empty");
    row("not JSON", "{gid}", "payload is not valid JSON: expected a string key at byte 1");
    row("array", "[]", "payload is not a JSON object but an array");
    row("gid missing", R"({"connections":{}})", "gid is missing");
    row("gid number", R"({"gid":7,"connections":{}})", "gid is not a string but a number");
    row("connections missing", R"({"gid":"g"})", "connections is missing");
    row("connections null", R"({"gid":"g","connections":null})", "connections is not an object but null");
    row("connections array", R"({"gid":"g","connections":["a1"]})",
        "connections is not an object but an array");
    row("entry string", R"({"gid":"g","connections":{"a1":"x"}})",
        "connection \"a1\": entry is not an object but a string");
    row("entry null", R"({"gid":"g","connections":{"a1":{},"b2":null}})",
        "connection \"b2\": entry is not an object but null");
    row("empty cid", R"({"gid":"g","connections":{"":{}}})", "connection \"\": cid is empty");
    row("dotted cid", R"({"gid":"g","connections":{"a.b":{}}})",
        "connection \"a.b\": cid is not a single subject token");
    row("wildcard cid", R"({"gid":"g","connections":{"*":{}}})", "connection \"*\": cid contains a wildcard");
    row("cid with space", R"({"gid":"g","connections":{"a b":{}}})",
        "connection \"a b\": cid contains whitespace or a control character");
    row("entry tid number", R"({"gid":"g","connections":{"a1":{"tid":1}}})",
        "connection \"a1\": tid is not a string but a number");
    row("entry host object", R"({"gid":"g","connections":{"a1":{"host":{}}}})",
        "connection \"a1\": host is not a string but an object");
    row("part without parts", R"({"gid":"g","connections":{},"part":1})", "part is given without parts");
    row("parts without part", R"({"gid":"g","connections":{},"parts":2})", "parts is given without part");
    row("part zero", R"({"gid":"g","connections":{},"part":0,"parts":2})", "part 0 of 2 is out of range");
    row("absurd parts", R"({"gid":"g","connections":{},"part":1,"parts":2147483647})",
        "2147483647 parts is more than the 10000 a reply may have");
    row("part beyond parts", R"({"gid":"g","connections":{},"part":3,"parts":2})",
        "part 3 of 2 is out of range");
    row("negative part", R"({"gid":"g","connections":{},"part":-1,"parts":2})",
        "part -1 of 2 is out of range");
    row("parts zero", R"({"gid":"g","connections":{},"part":0,"parts":0})", "part 0 of 0 is out of range");
    row("fractional part", R"({"gid":"g","connections":{},"part":1.5,"parts":2})", "part is not an integer");
    row("exponent parts", R"({"gid":"g","connections":{},"part":1,"parts":1e1})", "parts is not an integer");
    row("huge parts", R"({"gid":"g","connections":{},"part":1,"parts":99999999999})",
        "parts is not an integer");
    row("string part", R"({"gid":"g","connections":{},"part":"1","parts":2})",
        "part is not an integer but a string");
    row("null parts", R"({"gid":"g","connections":{},"part":1,"parts":null})",
        "parts is not an integer but null");
    row("trailing garbage", R"({"gid":"g","connections":{}}])",
        "payload is not valid JSON: unexpected data after the value at byte 28");
}

void TestProtocol::rejectConnectionsReply()
{
    QFETCH(QByteArray, payload);
    QFETCH(QString, error);
    const Protocol::ParseResult result = Protocol::parseConnectionsReply(payload);
    QVERIFY(!result.ok());
    QCOMPARE(result.error, error);
    QVERIFY(result.message.connections.empty());
}

void TestProtocol::eventWritersRoundTrip_data()
{
    QTest::addColumn<QByteArray>("gid");
    QTest::addColumn<QByteArray>("remoteAddr");
    QTest::addColumn<QByteArray>("host");

    QTest::newRow("plain") << QByteArray("gw-1") << QByteArray() << QByteArray();
    QTest::newRow("address and host")
        << QByteArray("gw-1") << QByteArray("[::1]:5555") << QByteArray("localhost");
    QTest::newRow("characters to escape")
        << QByteArray("g\"w\\1\n\t\x01/") << QByteArray("a\"b") << QByteArray("h\xc3\xa9\x7f");
}

void TestProtocol::eventWritersRoundTrip()
{
    QFETCH(QByteArray, gid);
    QFETCH(QByteArray, remoteAddr);
    QFETCH(QByteArray, host);

    const QByteArray connect = Protocol::connectPayload(gid, remoteAddr, host);
    QVERIFY(!connect.contains(' ') || gid.contains(' '));
    Protocol::ParseResult result = Protocol::parseEvent("conn.abc.connect", connect);
    QCOMPARE(result.error, QString());
    QCOMPARE(result.message.gid, gid);
    QCOMPARE(result.message.remoteAddr, remoteAddr);
    QCOMPARE(result.message.host, host);
    // Absent fields are left out, not written empty.
    QCOMPARE(connect.contains("remoteAddr"), !remoteAddr.isEmpty());

    for (const char *subject : { "conn.abc.disconnect", "system.start", "system.stop" }) {
        result = Protocol::parseEvent(subject, Protocol::gatewayEventPayload(gid));
        QCOMPARE(result.error, QString());
        QCOMPARE(result.message.gid, gid);
    }
}

void TestProtocol::tokenPayloadRoundTrip_data()
{
    QTest::addColumn<QByteArray>("tokenJson");
    QTest::addColumn<QByteArray>("tid");
    QTest::addColumn<QByteArray>("payload");
    QTest::addColumn<QByteArray>("parsedToken");

    QTest::newRow("object") << QByteArray(R"({"userId":42,"role":"guest"})") << QByteArray("tid-42")
                            << QByteArray(R"({"token":{"userId":42,"role":"guest"},"tid":"tid-42"})")
                            << QByteArray(R"({"userId":42,"role":"guest"})");
    QTest::newRow("spaced object is compacted")
        << QByteArray(" { \"a\" : [ 1 , 2 ] } ") << QByteArray() << QByteArray(R"({"token":{"a":[1,2]}})")
        << QByteArray(R"({"a":[1,2]})");
    QTest::newRow("cleared") << QByteArray() << QByteArray() << QByteArray(R"({"token":null})")
                             << QByteArray();
    QTest::newRow("string token, escaped tid")
        << QByteArray(R"("s\"t")") << QByteArray("t\"1") << QByteArray(R"({"token":"s\"t","tid":"t\"1"})")
        << QByteArray(R"("s\"t")");
    QTest::newRow("invalid JSON is not written")
        << QByteArray("{oops") << QByteArray() << QByteArray(R"({"token":null})") << QByteArray();
}

void TestProtocol::tokenPayloadRoundTrip()
{
    QFETCH(QByteArray, tokenJson);
    QFETCH(QByteArray, tid);
    QFETCH(QByteArray, payload);
    QFETCH(QByteArray, parsedToken);

    if (QByteArray(QTest::currentDataTag()).startsWith("invalid"))
        QTest::ignoreMessage(QtWarningMsg, QRegularExpression("not writing a token"));
    const QByteArray written = Protocol::tokenPayload(tokenJson, tid);
    QCOMPARE(written, payload);
    const Protocol::ParseResult result = Protocol::parseEvent("conn.abc.token", written);
    QCOMPARE(result.error, QString());
    QCOMPARE(result.message.token, parsedToken);
    QCOMPARE(result.message.tid, tid);
}

void TestProtocol::connectionsReplyRoundTrip_data()
{
    QTest::addColumn<int>("count");
    QTest::addColumn<int>("tokenSize");
    QTest::addColumn<qsizetype>("maxPayload");
    QTest::addColumn<int>("expectedParts"); // -1: more than one, any number
    QTest::addColumn<int>("oversized"); // index of an entry with a token too big for any part, or -1

    QTest::newRow("no connections") << 0 << 0 << qsizetype(1024 * 1024) << 1 << -1;
    QTest::newRow("fits in one") << 100 << 60 << qsizetype(1024 * 1024) << 1 << -1;
    QTest::newRow("one too big stays whole") << 1 << 500 << qsizetype(100) << 1 << -1;
    QTest::newRow("each in its own part") << 5 << 200 << qsizetype(100) << 5 << -1;
    QTest::newRow("one oversized among small ones") << 12 << 60 << qsizetype(400) << -1 << 6;
    QTest::newRow("50,000 at 1 MiB") << 50000 << 60 << qsizetype(1024 * 1024) << -1 << -1;
    QTest::newRow("50,000 at 64 KiB") << 50000 << 60 << qsizetype(64 * 1024) << -1 << -1;
}

void TestProtocol::connectionsReplyRoundTrip()
{
    QFETCH(int, count);
    QFETCH(int, tokenSize);
    QFETCH(qsizetype, maxPayload);
    QFETCH(int, expectedParts);
    QFETCH(int, oversized);

    const QByteArray gid = "gw-\"east\"-1";
    std::vector<ConnectionEntry> input = makeEntries(count, tokenSize);
    if (oversized >= 0)
        input[size_t(oversized)].token = "\"" + QByteArray(int(maxPayload), 'x') + "\"";
    const std::vector<QByteArray> payloads = Protocol::connectionsReplyPayloads(gid, input, maxPayload);
    if (expectedParts > 0)
        QCOMPARE(int(payloads.size()), expectedParts);
    else
        QVERIFY(payloads.size() > 1);

    std::vector<ConnectionEntry> merged;
    const int n = int(payloads.size());
    for (int i = 0; i < n; ++i) {
        const QByteArray &payload = payloads[size_t(i)];
        const Protocol::ParseResult result = Protocol::parseConnectionsReply(payload);
        QCOMPARE(result.error, QString());
        QCOMPARE(result.message.gid, gid);
        QCOMPARE(result.message.part, i + 1);
        QCOMPARE(result.message.parts, n);
        // Only a part with a single entry that cannot fit on its own may exceed the limit.
        if (payload.size() > maxPayload)
            QCOMPARE(result.message.connections.size(), size_t(1));
        QCOMPARE(JsonScan::find(JsonScan::parse(payload), "parts").isValid(), n > 1);
        QVERIFY(!payload.contains(' '));
        merged.insert(merged.end(), result.message.connections.begin(), result.message.connections.end());
    }
    QCOMPARE(merged.size(), input.size());
    QVERIFY(merged == input);
    if (n > 1 && tokenSize == 60 && oversized < 0) {
        // Parts are filled, not just under the limit: all but the last within one entry of it.
        for (int i = 0; i + 1 < n; ++i)
            QVERIFY(payloads[size_t(i)].size() > maxPayload - 200);
    }
}

// The token event stock Resgate forwarded in the v1.8.0 capture.
void TestProtocol::capturedResgateToken()
{
    const Protocol::ParseResult result = Protocol::parseEvent(
        "conn.dc9dgu5qmd2ttjddp3dg.token", R"({"token":{"userId":42,"role":"guest"},"tid":"tid-42"})");
    QVERIFY(result.ok());
    QCOMPARE(result.message.kind, Kind::Token);
    QCOMPARE(result.message.cid, QByteArray("dc9dgu5qmd2ttjddp3dg"));
    QCOMPARE(result.message.token, QByteArray(R"({"userId":42,"role":"guest"})"));
    QCOMPARE(result.message.tid, QByteArray("tid-42"));
}

// Damaged replies: never a crash, and what is accepted still holds only valid cids.
void TestProtocol::mutatedRepliesAreHandled()
{
    const std::vector<QByteArray> payloads
        = Protocol::connectionsReplyPayloads("gw-1", makeEntries(20, 40), 1200);
    QCOMPARE(payloads.size(), size_t(2));
    QRandomGenerator random(42);
    const char alphabet[] = "{}[]\":,.-0123456789 \\nul*>";
    int accepted = 0;
    for (int round = 0; round < 5000; ++round) {
        QByteArray payload = payloads[size_t(round % 2)];
        const int at = int(random.bounded(int(payload.size())));
        if (random.bounded(2))
            payload[at] = alphabet[random.bounded(int(sizeof alphabet - 1))];
        else
            payload.remove(at, 1);
        const Protocol::ParseResult result = Protocol::parseConnectionsReply(payload);
        if (!result.ok()) {
            QVERIFY(result.message.connections.empty());
            continue;
        }
        ++accepted;
        QVERIFY(!result.message.gid.isEmpty());
        QVERIFY(result.message.part >= 1 && result.message.part <= result.message.parts);
        for (const ConnectionEntry &entry : result.message.connections)
            QVERIFY2(Protocol::isEventSubject("conn." + entry.cid + ".connect"), entry.cid.constData());
    }
    QVERIFY(accepted > 100);
}

QTEST_GUILESS_MAIN(TestProtocol)
#include "tst_protocol.moc"
