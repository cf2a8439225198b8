#include "jsonscan_p.h"

#include <QJsonDocument>
#include <QRandomGenerator>
#include <QTest>

using namespace ResWatch;
using JsonScan::Type;
using JsonScan::Value;

Q_DECLARE_METATYPE(ResWatch::JsonScan::Type)

namespace {

QByteArray nested(int depth, char open = '[', char close = ']')
{
    return QByteArray(depth, open) + QByteArray(depth, close);
}

// "key=raw" for each member, joined by '|', so one QCOMPARE checks a whole object.
QByteArray members(Value object)
{
    QByteArrayList parts;
    JsonScan::forEachMember(object, [&](QByteArrayView key, Value value) {
        parts << key.toByteArray() + '=' + value.raw.toByteArray();
        return true;
    });
    return parts.join('|');
}

} // namespace

class TestJsonScan : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void parse_data();
    void parse();
    void agreesWithQJsonDocument_data();
    void agreesWithQJsonDocument();
    void decodeString_data();
    void decodeString();
    void forEachMember_data();
    void forEachMember();
    void forEachMemberStopsEarly();
    void forEachMemberWithByteArrayKeys();
    void find_data();
    void find();
    void compact_data();
    void compact();
    void truncationsAreRejected();
    void mutationsAreHandled();
};

void TestJsonScan::parse_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<Type>("type");
    QTest::addColumn<QByteArray>("raw"); // the value's text, when valid
    QTest::addColumn<QByteArray>("error"); // the full error text, when invalid

    QTest::newRow("null") << QByteArray("null") << Type::Null << QByteArray("null") << QByteArray();
    QTest::newRow("true") << QByteArray("true") << Type::Bool << QByteArray("true") << QByteArray();
    QTest::newRow("false") << QByteArray("false") << Type::Bool << QByteArray("false") << QByteArray();
    QTest::newRow("zero") << QByteArray("0") << Type::Number << QByteArray("0") << QByteArray();
    QTest::newRow("negative zero") << QByteArray("-0") << Type::Number << QByteArray("-0") << QByteArray();
    QTest::newRow("integer") << QByteArray("12345") << Type::Number << QByteArray("12345") << QByteArray();
    QTest::newRow("fraction and exponent")
        << QByteArray("-1.5e+10") << Type::Number << QByteArray("-1.5e+10") << QByteArray();
    QTest::newRow("capital exponent")
        << QByteArray("2E-3") << Type::Number << QByteArray("2E-3") << QByteArray();
    QTest::newRow("string") << QByteArray("\"abc\"") << Type::String << QByteArray("\"abc\"") << QByteArray();
    QTest::newRow("all escapes") << QByteArray(R"("\"\\\/\b\f\n\r\t\u00e9")") << Type::String
                                 << QByteArray(R"("\"\\\/\b\f\n\r\t\u00e9")") << QByteArray();
    QTest::newRow("surrogate pair") << QByteArray(R"("\ud83d\ude00")") << Type::String
                                    << QByteArray(R"("\ud83d\ude00")") << QByteArray();
    QTest::newRow("raw utf-8") << QByteArray("\"h\xc3\xa9\"") << Type::String << QByteArray("\"h\xc3\xa9\"")
                               << QByteArray();
    QTest::newRow("invalid utf-8 passes")
        << QByteArray("\"\xff\xfe\"") << Type::String << QByteArray("\"\xff\xfe\"") << QByteArray();
    QTest::newRow("surrounding whitespace") << QByteArray(" \t\r\n{ \"a\" : [ 1 , 2 ] }\n ") << Type::Object
                                            << QByteArray("{ \"a\" : [ 1 , 2 ] }") << QByteArray();
    QTest::newRow("empty object") << QByteArray("{}") << Type::Object << QByteArray("{}") << QByteArray();
    QTest::newRow("empty array") << QByteArray("[]") << Type::Array << QByteArray("[]") << QByteArray();
    QTest::newRow("64 levels") << nested(64) << Type::Array << nested(64) << QByteArray();

    const auto bad = [](const char *name, const QByteArray &text, const char *error) {
        QTest::newRow(name) << text << Type::Invalid << QByteArray() << QByteArray(error);
    };
    bad("empty", "", "unexpected end of input at byte 0");
    bad("whitespace only", "  ", "unexpected end of input at byte 2");
    bad("65 levels", nested(65), "nesting deeper than 64 levels at byte 64");
    bad("65 levels of objects", QByteArray("{\"a\":").repeated(65) + "1" + QByteArray(65, '}'),
        "nesting deeper than 64 levels at byte 320");
    bad("leading zero", "01", "leading zero in number at byte 0");
    bad("plus sign", "+1", "unexpected character at byte 0");
    bad("lone minus", "-", "invalid number at byte 0");
    bad("dot without digits", "1.", "invalid number: digit expected after '.' at byte 0");
    bad("leading dot", ".5", "unexpected character at byte 0");
    bad("empty exponent", "1e+", "invalid number: digit expected in exponent at byte 0");
    bad("NaN", "NaN", "unexpected character at byte 0");
    bad("truncated literal", "tru", "invalid literal at byte 0");
    bad("capitalised literal", "True", "unexpected character at byte 0");
    bad("trailing comma in array", "[1,]", "unexpected character at byte 3");
    bad("trailing comma in object", "{\"a\":1,}", "expected a string key at byte 7");
    bad("unquoted key", "{a:1}", "expected a string key at byte 1");
    bad("single quotes", "{'a':1}", "expected a string key at byte 1");
    bad("missing colon", "{\"a\" 1}", "expected ':' after the key at byte 5");
    bad("missing comma", "[1 2]", "expected ',' or ']' at byte 3");
    bad("missing comma in object", "{\"a\":1 \"b\":2}", "expected ',' or '}' at byte 7");
    bad("truncated object", "{\"gid\":\"gw", "unterminated string at byte 7");
    bad("truncated after value", "{\"gid\":1", "unexpected end of input at byte 8");
    bad("unterminated string", "\"abc", "unterminated string at byte 0");
    bad("unknown escape", "\"a\\x\"", "invalid escape at byte 2");
    bad("short \\u escape", "\"\\u12\"", "invalid \\u escape at byte 1");
    bad("non-hex \\u escape", "\"\\u12g4\"", "invalid \\u escape at byte 1");
    bad("lone high surrogate", "\"\\ud800\"", "unpaired surrogate in \\u escape at byte 1");
    bad("high surrogate then letter", "\"\\ud800\\u0041\"", "unpaired surrogate in \\u escape at byte 1");
    bad("lone low surrogate", "\"\\udc00\"", "unpaired surrogate in \\u escape at byte 1");
    bad("raw newline in string", "\"a\nb\"", "control character in string at byte 2");
    bad("raw tab in string", "\"a\tb\"", "control character in string at byte 2");
    bad("NUL in string", QByteArray("\"a\0b\"", 5), "control character in string at byte 2");
    bad("trailing garbage", "{} x", "unexpected data after the value at byte 3");
    bad("two values", "{}{}", "unexpected data after the value at byte 2");
    bad("NUL after value", QByteArray("{}\0", 3), "unexpected data after the value at byte 2");
}

void TestJsonScan::parse()
{
    QFETCH(QByteArray, text);
    QFETCH(Type, type);
    QFETCH(QByteArray, raw);
    QFETCH(QByteArray, error);

    QByteArray actualError = "not set";
    const Value value = JsonScan::parse(text, &actualError);
    QCOMPARE(value.type, type);
    QCOMPARE(value.raw.toByteArray(), raw);
    QCOMPARE(actualError, error);

    JsonScan::Error structured;
    QCOMPARE(JsonScan::parse(text, structured).type, type);
    QCOMPARE(structured.toString(), error);
}

// A check against an independent strict reader: the two must agree on validity.
void TestJsonScan::agreesWithQJsonDocument_data()
{
    QTest::addColumn<QByteArray>("text");
    const char *texts[] = {
        R"({"token":{"userId":42,"role":"guest"},"tid":"tid-42"})",
        R"({"a":[1,2.5,-3e2,true,false,null,"x"],"b":{"c":{}}})",
        R"({"a":01})",
        R"({"a":1,})",
        R"({"a":[1,2)",
        R"({"a":"x"}])",
        R"({"a":-})",
        R"({"a":"\u00"})",
    };
    for (const char *text : texts)
        QTest::newRow(text) << QByteArray(text);
}

void TestJsonScan::agreesWithQJsonDocument()
{
    QFETCH(QByteArray, text);
    QJsonParseError qtError;
    QJsonDocument::fromJson(text, &qtError);
    QCOMPARE(JsonScan::parse(text).isValid(), qtError.error == QJsonParseError::NoError);
}

void TestJsonScan::decodeString_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QByteArray>("decoded");

    QTest::newRow("plain") << QByteArray("\"abc\"") << QByteArray("abc");
    QTest::newRow("empty") << QByteArray("\"\"") << QByteArray();
    QTest::newRow("simple escapes") << QByteArray(R"("a\"b\\c\/d\be\ff\ng\rh\ti")")
                                    << QByteArray("a\"b\\c/d\be\ff\ng\rh\ti");
    QTest::newRow("\\u ascii") << QByteArray(R"("\u0041\u0062")") << QByteArray("Ab");
    QTest::newRow("\\u NUL") << QByteArray(R"("a\u0000b")") << QByteArray("a\0b", 3);
    QTest::newRow("\\u two bytes") << QByteArray(R"("\u00e9")") << QByteArray("\xc3\xa9");
    QTest::newRow("\\u three bytes") << QByteArray(R"("\u20AC")") << QByteArray("\xe2\x82\xac");
    QTest::newRow("surrogate pair") << QByteArray(R"("\ud83d\ude00")") << QByteArray("\xf0\x9f\x98\x80");
    QTest::newRow("raw utf-8 kept") << QByteArray("\"\xe2\x82\xac\"") << QByteArray("\xe2\x82\xac");
    QTest::newRow("invalid utf-8 kept") << QByteArray("\"\xff\"") << QByteArray("\xff");
}

void TestJsonScan::decodeString()
{
    QFETCH(QByteArray, json);
    QFETCH(QByteArray, decoded);
    const Value value = JsonScan::parse(json);
    QCOMPARE(value.type, Type::String);
    QCOMPARE(JsonScan::decodeString(value), decoded);
    QVERIFY(JsonScan::stringEquals(value, decoded));
    QVERIFY(!JsonScan::stringEquals(value, decoded + 'x'));
    QCOMPARE(JsonScan::stringHasEscapes(value), json.contains('\\'));
}

void TestJsonScan::forEachMember_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<bool>("isObject");
    QTest::addColumn<QByteArray>("members");

    QTest::newRow("empty") << QByteArray("{}") << true << QByteArray();
    QTest::newRow("spaced empty") << QByteArray("{ \n }") << true << QByteArray();
    QTest::newRow("all types") << QByteArray(
        R"({"n":null,"b":true,"x":-1.5,"s":"a,}b","o":{"p":[1,{"q":"]"}]},"a":[]})")
                               << true
                               << QByteArray(R"(n=null|b=true|x=-1.5|s="a,}b"|o={"p":[1,{"q":"]"}]}|a=[])");
    QTest::newRow("whitespace") << QByteArray("{ \"a\" :\t1 ,\n\"b\" : \"2\" }") << true
                                << QByteArray("a=1|b=\"2\"");
    QTest::newRow("escaped key") << QByteArray(R"({"a\"b\u00e9":1})") << true << QByteArray("a\"b\xc3\xa9=1");
    QTest::newRow("escaped quote in value")
        << QByteArray(R"({"a":"x\"}","b":2})") << true << QByteArray(R"(a="x\"}"|b=2)");
    QTest::newRow("duplicate keys in order")
        << QByteArray(R"({"a":1,"a":2})") << true << QByteArray("a=1|a=2");
    QTest::newRow("array") << QByteArray("[1]") << false << QByteArray();
    QTest::newRow("string") << QByteArray("\"{}\"") << false << QByteArray();
}

void TestJsonScan::forEachMember()
{
    QFETCH(QByteArray, json);
    QFETCH(bool, isObject);
    QFETCH(QByteArray, members);
    const Value value = JsonScan::parse(json);
    QVERIFY(value.isValid());
    QCOMPARE(JsonScan::forEachMember(value, [](QByteArrayView, Value) { return true; }), isObject);
    QCOMPARE(::members(value), members);
}

void TestJsonScan::forEachMemberStopsEarly()
{
    const Value value = JsonScan::parse(R"({"a":1,"b":2,"c":3})");
    QByteArrayList seen;
    JsonScan::forEachMember(value, [&](QByteArrayView key, Value) {
        seen << key.toByteArray();
        return key != "b";
    });
    QCOMPARE(seen, QByteArrayList({ "a", "b" }));
}

void TestJsonScan::forEachMemberWithByteArrayKeys()
{
    const Value value = JsonScan::parse(R"({"a":1,"b\n":2})");
    QByteArrayList seen;
    JsonScan::forEachMember(value, [&](const QByteArray &key, Value) { seen << key; });
    QCOMPARE(seen, QByteArrayList({ "a", "b\n" }));
}

void TestJsonScan::find_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QByteArray>("path"); // dotted
    QTest::addColumn<QByteArray>("raw"); // empty when not found

    const QByteArray token
        = R"({"user":{"id":42,"roles":["a","b"],"name":"Ann","x.y":1},"role":"admin","n":null})";
    QTest::newRow("top level") << token << QByteArray("role") << QByteArray("\"admin\"");
    QTest::newRow("nested") << token << QByteArray("user.id") << QByteArray("42");
    QTest::newRow("nested array value") << token << QByteArray("user.roles") << QByteArray(R"(["a","b"])");
    QTest::newRow("object value") << token << QByteArray("user")
                                  << QByteArray(R"({"id":42,"roles":["a","b"],"name":"Ann","x.y":1})");
    QTest::newRow("null value") << token << QByteArray("n") << QByteArray("null");
    QTest::newRow("missing") << token << QByteArray("nope") << QByteArray();
    QTest::newRow("missing nested") << token << QByteArray("user.nope") << QByteArray();
    QTest::newRow("through a string") << token << QByteArray("role.x") << QByteArray();
    QTest::newRow("no descent into arrays") << token << QByteArray("user.roles.0") << QByteArray();
    QTest::newRow("key prefix is not a match") << token << QByteArray("us") << QByteArray();
    QTest::newRow("escaped key") << QByteArray(R"({"r\u006fle":"x"})") << QByteArray("role")
                                 << QByteArray("\"x\"");
    QTest::newRow("last duplicate wins")
        << QByteArray(R"({"a":1,"a":2})") << QByteArray("a") << QByteArray("2");
    QTest::newRow("key inside a string value")
        << QByteArray(R"({"s":"\"a\":1","a":2})") << QByteArray("a") << QByteArray("2");
    QTest::newRow("spaced") << QByteArray("{ \"a\" : { \"b\" : [ 1 ] } }") << QByteArray("a.b")
                            << QByteArray("[ 1 ]");
    QTest::newRow("not an object") << QByteArray("[1]") << QByteArray("a") << QByteArray();
}

void TestJsonScan::find()
{
    QFETCH(QByteArray, json);
    QFETCH(QByteArray, path);
    QFETCH(QByteArray, raw);
    const Value root = JsonScan::parse(json);
    QVERIFY(root.isValid());
    const QByteArrayList parts = path.split('.');
    std::vector<QByteArrayView> components(parts.cbegin(), parts.cend());
    const Value found = JsonScan::find(root, components.data(), int(components.size()));
    QCOMPARE(found.isValid(), !raw.isEmpty());
    QCOMPARE(found.raw.toByteArray(), raw);
}

void TestJsonScan::compact_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QByteArray>("compact");

    QTest::newRow("already compact") << QByteArray(R"({"a":[1,2]})") << QByteArray(R"({"a":[1,2]})");
    QTest::newRow("spaces") << QByteArray(" { \"a\" : [ 1 ,\n 2 ] ,\t\"b\" : { } } ")
                            << QByteArray(R"({"a":[1,2],"b":{}})");
    QTest::newRow("spaces in strings kept")
        << QByteArray("{ \"a b\" : \" x \\\" y \" }") << QByteArray("{\"a b\":\" x \\\" y \"}");
    QTest::newRow("string") << QByteArray(" \" s \" ") << QByteArray("\" s \"");
    QTest::newRow("number") << QByteArray(" -1.5 ") << QByteArray("-1.5");
    QTest::newRow("null") << QByteArray("null") << QByteArray("null");
}

void TestJsonScan::compact()
{
    QFETCH(QByteArray, json);
    QFETCH(QByteArray, compact);
    const Value value = JsonScan::parse(json);
    QVERIFY(value.isValid());
    QCOMPARE(JsonScan::compact(value), compact);
}

static const QByteArray sample
    = R"({"gid":"gw-1","connections":{"a1":{"token":{"u":[1,-2.5e3,true,false,null],"s":"x\"\\\u00e9\ud83d\ude00"},"tid":"t"}},"part":1,"parts":2})";

// Every proper prefix of a document that ends with its closing brace is incomplete.
void TestJsonScan::truncationsAreRejected()
{
    QVERIFY(JsonScan::parse(sample).isValid());
    for (qsizetype length = 0; length < sample.size(); ++length) {
        QByteArray error;
        QVERIFY2(!JsonScan::parse(sample.first(length), &error).isValid(), sample.first(length).constData());
        QVERIFY(!error.isEmpty());
    }
}

// Random byte changes: never a crash or a read outside the text (checked under ASan),
// and whatever parse() accepts, the other functions handle and QJsonDocument accepts too.
void TestJsonScan::mutationsAreHandled()
{
    QRandomGenerator random(20261204);
    const char alphabet[] = "{}[]\":,.-+0123456789eE \\ntfalsu\x01\xff";
    int accepted = 0;
    for (int round = 0; round < 20000; ++round) {
        QByteArray text = sample;
        const int changes = 1 + int(random.bounded(3));
        for (int c = 0; c < changes; ++c) {
            const int at = int(random.bounded(int(text.size())));
            switch (random.bounded(3)) {
            case 0:
                text[at] = alphabet[random.bounded(int(sizeof alphabet - 1))];
                break;
            case 1:
                text.remove(at, 1);
                break;
            default:
                text.insert(at, alphabet[random.bounded(int(sizeof alphabet - 1))]);
                break;
            }
        }
        const Value value = JsonScan::parse(text);
        if (!value.isValid())
            continue;
        ++accepted;
        if (!text.contains('\xff')) { // Qt rejects invalid UTF-8, which we pass through
            QJsonParseError qtError;
            QJsonDocument::fromJson(text, &qtError);
            QVERIFY2(qtError.error == QJsonParseError::NoError, text.constData());
        }
        const QByteArray compacted = JsonScan::compact(value);
        QVERIFY2(JsonScan::parse(compacted).isValid(), compacted.constData());
        JsonScan::forEachMember(value, [](QByteArrayView, Value member) {
            JsonScan::forEachMember(member, [](QByteArrayView, Value) {});
            JsonScan::decodeString(member);
        });
        const QByteArrayView path[] = { "connections", "a1", "token", "s" };
        JsonScan::decodeString(JsonScan::find(value, path, 4));
    }
    QVERIFY(accepted > 1000);
}

QTEST_GUILESS_MAIN(TestJsonScan)
#include "tst_jsonscan.moc"
