#include "connectionfilter.h"

#include <QTest>

#include <vector>

using namespace ResWatch;

namespace {

struct Fixture
{
    const char *name;
    const char *gid;
    const char *token; // compact JSON, empty for none
    ConnectionState state;
    Source source;
    const char *tid;
    const char *remoteAddr;
    const char *host;
};

// The cid of each connection is "c<n><name>", so cid terms and bare words can target one.
const Fixture fixtures[] = {
    { "alice", "gw-1", "{\"role\":\"admin\",\"user\":{\"id\":42,\"name\":\"Alice Smith\"},\"verified\":true}",
      ConnectionState::Live, Source::Event, "t-1", "10.0.0.5:5123", "example.com" },
    { "bob", "gw-1",
      "{\"role\":\"user\",\"user\":{\"id\":7,\"name\":\"Bob\"},\"verified\":false,\"score\":9.5}",
      ConnectionState::Stale, Source::Poll, "", "", "" },
    { "carol", "gw-2",
      "{\"role\":\"admin\",\"user\":{\"id\":100,\"name\":\"Carol \\\"CJ\\\" Jones\"},\"note\":null}",
      ConnectionState::Live, Source::Monitor, "", "192.168.1.9:80", "" },
    { "dave", "gw-2", "", ConnectionState::Live, Source::Event, "", "", "" },
    { "erin", "gw-3",
      "{\"role\":\"R\\u00e9gis\",\"cid\":\"inner\",\"state\":\"x\",\"age\":\"30\",\"tags\":[\"a\",\"b\"]}",
      ConnectionState::Live, Source::Event, "", "", "" },
    { "frank", "gw-3", "\"just-a-string\"", ConnectionState::Stale, Source::Poll, "", "", "" },
    { "grace", "gw-4", "{\"role\":\"ops\",\"user\":{\"id\":\"42\"}}", ConnectionState::Live, Source::Event,
      "", "", "" },
};

struct Row
{
    Connection connection;
    QString gid;
};

std::vector<Row> rows()
{
    std::vector<Row> result;
    int n = 0;
    for (const Fixture &f : fixtures) {
        Row row;
        row.connection.cid = CompactId(QByteArray("c") + QByteArray::number(++n) + f.name);
        row.connection.token = f.token;
        row.connection.state = f.state;
        row.connection.source = f.source;
        if (*f.tid || *f.remoteAddr || *f.host) {
            auto details = std::make_shared<ConnectionDetails>();
            details->tid = f.tid;
            details->remoteAddr = f.remoteAddr;
            details->host = f.host;
            row.connection.details = details;
        }
        row.gid = QString::fromLatin1(f.gid);
        result.push_back(std::move(row));
    }
    return result;
}

// The names of the fixture connections that pass, in fixture order: one QCOMPARE per case.
QString matching(const ConnectionFilter &filter)
{
    QStringList names;
    const std::vector<Row> all = rows();
    for (size_t i = 0; i < all.size(); ++i) {
        if (filter.matches(all[i].connection, all[i].gid))
            names << QString::fromLatin1(fixtures[i].name);
    }
    return names.join(u' ');
}

} // namespace

class TestConnectionFilter : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void matches_data()
    {
        QTest::addColumn<QString>("filter");
        QTest::addColumn<QString>("expected");

        const QString everyone = QStringLiteral("alice bob carol dave erin frank grace");
        QTest::newRow("empty") << "" << everyone;
        QTest::newRow("only spaces") << "   " << everyone;

        // Equality on token fields.
        QTest::newRow("=") << "role=admin"
                           << "alice carol";
        QTest::newRow("= is case-sensitive") << "role=Admin"
                                             << "";
        QTest::newRow("spaces around operator") << "role = admin"
                                                << "alice carol";
        QTest::newRow("!= needs the field") << "role!=admin"
                                            << "bob erin grace";
        QTest::newRow("-term keeps absent") << "-role=admin"
                                            << "bob dave erin frank grace";
        QTest::newRow("escaped JSON string decoded") << "role=Régis"
                                                     << "erin";
        QTest::newRow("quoted value") << "user.name=\"Alice Smith\""
                                      << "alice";
        QTest::newRow("quoted value with escapes") << "user.name=\"Carol \\\"CJ\\\" Jones\""
                                                   << "carol";
        QTest::newRow("unquoted value stops at space") << "user.name=Alice Smith"
                                                       << "";
        QTest::newRow("bool true") << "verified=true"
                                   << "alice";
        QTest::newRow("bool false") << "verified=false"
                                    << "bob";
        QTest::newRow("null") << "note=null"
                              << "carol";
        QTest::newRow("array raw text") << "tags=[\"a\",\"b\"]"
                                        << "erin";

        // Numbers vs strings.
        QTest::newRow("nested number =") << "user.id=42"
                                         << "alice grace";
        QTest::newRow("token. prefix") << "token.user.id=42"
                                       << "alice grace";
        QTest::newRow("number = other spelling") << "score=9.50"
                                                 << "bob";
        QTest::newRow("> numeric (100 > 9)") << "user.id>9"
                                             << "alice carol";
        QTest::newRow("<") << "user.id<42"
                           << "bob";
        QTest::newRow(">= string side compares as string") << "user.id>=42"
                                                           << "alice carol grace";
        QTest::newRow("<= string \"42\" < \"7\"") << "user.id<=7"
                                                  << "bob grace";
        QTest::newRow("> fractional") << "score>9.25"
                                      << "bob";
        QTest::newRow("string vs number compares as strings") << "age>4"
                                                              << "";
        QTest::newRow("string ordering") << "age>29"
                                         << "erin";
        QTest::newRow("string = digits") << "age=30"
                                         << "erin";
        QTest::newRow("quoted number is a string") << "score=\"9.50\""
                                                   << "";
        QTest::newRow("ordering on missing field") << "score<100"
                                                   << "bob";

        // Regular expressions.
        QTest::newRow("~ alternation") << "role~^(admin|ops)$"
                                       << "alice carol grace";
        QTest::newRow("~ case-insensitive option") << "user.name~(?i)^b"
                                                   << "bob";
        QTest::newRow("~ quoted with backslash") << "remoteAddr~\"^10\\.\""
                                                 << "alice";
        QTest::newRow("~ on decoded string") << "role~é"
                                             << "erin";
        QTest::newRow("~ on array text") << "tags~\"a\""
                                         << "erin";
        QTest::newRow("~ on gid") << "gid~^gw-[12]$"
                                  << "alice bob carol dave";

        // Presence.
        QTest::newRow("has: null counts") << "has:note"
                                          << "carol";
        QTest::newRow("has: nested") << "has:user.id"
                                     << "alice bob carol grace";
        QTest::newRow("has:token") << "has:token"
                                   << "alice bob carol erin frank grace";
        QTest::newRow("-has:token") << "-has:token"
                                    << "dave";
        QTest::newRow("token=null") << "token=null"
                                    << "dave";
        QTest::newRow("has:tid") << "has:tid"
                                 << "alice";
        QTest::newRow("has:host") << "has:host"
                                  << "alice";

        // Reserved fields.
        QTest::newRow("cid") << "cid=c2bob"
                             << "bob";
        QTest::newRow("cid is not the token's cid") << "cid=inner"
                                                    << "";
        QTest::newRow("token.cid reaches the token key") << "token.cid=inner"
                                                         << "erin";
        QTest::newRow("token.state") << "token.state=x"
                                     << "erin";
        QTest::newRow("gid") << "gid=gw-2"
                             << "carol dave";
        QTest::newRow("state") << "state=stale"
                               << "bob frank";
        QTest::newRow("state any case") << "state=LIVE"
                                        << "alice carol dave erin grace";
        QTest::newRow("source poll") << "source=poll"
                                     << "bob frank";
        QTest::newRow("source monitor") << "source=monitor"
                                        << "carol";
        QTest::newRow("tid") << "tid=t-1"
                             << "alice";
        QTest::newRow("remoteAddr") << "remoteAddr=192.168.1.9:80"
                                    << "carol";
        QTest::newRow("host") << "host=example.com"
                              << "alice";
        QTest::newRow("non-object token has no fields") << "role=just-a-string"
                                                        << "";

        // Combinations.
        QTest::newRow("implicit and") << "role=admin state=live gid=gw-2"
                                      << "carol";
        QTest::newRow("explicit and") << "role=admin and gid=gw-1"
                                      << "alice";
        QTest::newRow("or") << "role=admin or role=ops"
                            << "alice carol grace";
        QTest::newRow("OR") << "role=admin OR role=ops"
                            << "alice carol grace";
        QTest::newRow("and binds tighter than or") << "role=admin state=live or gid=gw-3"
                                                   << "alice carol erin frank";
        QTest::newRow("parentheses") << "role=admin (state=stale or gid=gw-2)"
                                     << "carol";
        QTest::newRow("closing paren after value") << "(role=admin)"
                                                   << "alice carol";
        QTest::newRow("negated group") << "-(role=admin or role=user)"
                                       << "dave erin frank grace";
        QTest::newRow("double negation") << "--role=admin"
                                         << "alice carol";
        QTest::newRow("negation and number") << "user.id=42 -cid=c7grace"
                                             << "alice";

        // Bare words.
        QTest::newRow("word in token") << "smith"
                                       << "alice";
        QTest::newRow("word in gid, any case") << "GW-2"
                                               << "carol dave";
        QTest::newRow("word in cid") << "c2b"
                                     << "bob";
        QTest::newRow("quoted word with space") << "\"Alice Smith\""
                                                << "alice";
        QTest::newRow("quoted or is a word") << "\"or\""
                                             << "bob"; // in "score"
        QTest::newRow("word in string token") << "just-a"
                                              << "frank";
        QTest::newRow("word and term") << "admin gw-2"
                                       << "carol";
        QTest::newRow("negated word") << "-admin"
                                      << "bob dave erin frank grace";
        QTest::newRow("word in token keys") << "verified"
                                            << "alice bob";
    }

    void matches()
    {
        QFETCH(QString, filter);
        QFETCH(QString, expected);

        ConnectionFilter::Error error;
        error.message = QStringLiteral("stale");
        const ConnectionFilter compiled = ConnectionFilter::parse(filter, &error);
        QVERIFY2(!error.isError(), qPrintable(error.message));
        QCOMPARE(error.position, -1);
        QCOMPARE(compiled.isEmpty(), filter.trimmed().isEmpty());
        QCOMPARE(compiled.text(), filter.trimmed().isEmpty() ? QString() : filter);
        QCOMPARE(matching(compiled), expected);

        // Copies share the compiled form and behave the same.
        const ConnectionFilter copy = compiled;
        QCOMPARE(matching(copy), expected);
    }

    void syntaxErrors_data()
    {
        QTest::addColumn<QString>("filter");
        QTest::addColumn<QString>("message");
        QTest::addColumn<int>("position");

        QTest::newRow("missing value") << "role="
                                       << "expected a value after '=' at 5" << 5;
        QTest::newRow("missing value >=") << "role>="
                                          << "expected a value after '>=' at 6" << 6;
        QTest::newRow("missing value before paren") << "(role=)"
                                                    << "expected a value after '=' at 6" << 6;
        QTest::newRow("missing field") << "=admin"
                                       << "expected a field name before '=' at 0" << 0;
        QTest::newRow("double =") << "role==admin"
                                  << "unexpected '=' after '=' (quote the value if it starts with it) at 5"
                                  << 5;
        QTest::newRow("lone !") << "role!admin"
                                << "unknown operator '!' (use '!=', or '-' before a term to negate it) at 4"
                                << 4;
        QTest::newRow("unclosed paren") << "(role=admin"
                                        << "missing ')' for '(' at 0" << 0;
        QTest::newRow("stray paren") << "role=admin)"
                                     << "unmatched ')' at 10" << 10;
        QTest::newRow("leading paren") << ") role=admin"
                                       << "unmatched ')' at 0" << 0;
        QTest::newRow("empty parens") << "()"
                                      << "empty parentheses at 0" << 0;
        QTest::newRow("leading or") << "or role=admin"
                                    << "expected a term before 'or' at 0" << 0;
        QTest::newRow("trailing or") << "role=admin or"
                                     << "expected a term after 'or' at 13" << 13;
        QTest::newRow("double or") << "role=admin or or x"
                                   << "expected a term after 'or' at 13" << 13;
        QTest::newRow("trailing and") << "role=admin and"
                                      << "expected a term after 'and' at 14" << 14;
        QTest::newRow("lone minus") << "-"
                                    << "expected a term after '-' at 1" << 1;
        QTest::newRow("minus then space") << "- role=admin"
                                          << "expected a term after '-' at 1" << 1;
        QTest::newRow("unterminated quote") << "role=\"admin"
                                            << "unterminated quoted text starting at 5" << 5;
        QTest::newRow("unterminated word") << "x \"abc"
                                           << "unterminated quoted text starting at 2" << 2;
        QTest::newRow("text after quote") << "role=\"admin\"x"
                                          << "expected a space before 'x' at 12" << 12;
        QTest::newRow("quote after word") << "foo\"bar\""
                                          << "unexpected '\"' at 3" << 3;
        QTest::newRow("empty quoted word") << "\"\""
                                           << "empty quoted text at 0" << 0;
        QTest::newRow("regex unclosed group")
            << "name~("
            << "invalid regular expression (missing closing parenthesis) at 6" << 6;
        QTest::newRow("regex quoted bad class")
            << "x name~\"[a\""
            << "invalid regular expression (missing terminating ] for character class) at 10" << 10;
        QTest::newRow("has: without field") << "has:"
                                            << "expected a field name after 'has:' at 4" << 4;
        QTest::newRow("has: with operator") << "has:role=admin"
                                            << "unexpected '=' after has:role at 8" << 8;
        QTest::newRow("empty path segment") << "user..id=1"
                                            << "empty name in the field path 'user..id' at 5" << 5;
        QTest::newRow("empty path after token.") << "token.=x"
                                                 << "empty name in the field path 'token.' at 6" << 6;
        QTest::newRow("unknown state") << "state=gone"
                                       << "unknown state 'gone' (expected live or stale) at 6" << 6;
        QTest::newRow("unknown source")
            << "source!=nats"
            << "unknown source 'nats' (expected event or poll or monitor) at 8" << 8;
    }

    void syntaxErrors()
    {
        QFETCH(QString, filter);
        QFETCH(QString, message);
        QFETCH(int, position);

        ConnectionFilter::Error error;
        const ConnectionFilter compiled = ConnectionFilter::parse(filter, &error);
        QVERIFY(error.isError());
        QCOMPARE(error.message, message);
        QCOMPARE(error.position, position);
        QVERIFY(position <= filter.size());
        // A failed parse is the empty filter: it keeps everything, it does not half-apply.
        QVERIFY(compiled.isEmpty());
        QCOMPARE(compiled.text(), QString());
        QCOMPARE(matching(compiled), QStringLiteral("alice bob carol dave erin frank grace"));

        // A later good parse clears the error.
        ConnectionFilter::parse(QStringLiteral("role=admin"), &error);
        QVERIFY(!error.isError());
        QCOMPARE(error.position, -1);
    }

    void parseWithoutErrorOutput()
    {
        QVERIFY(ConnectionFilter::parse(QStringLiteral("role~("), nullptr).isEmpty());
        QVERIFY(!ConnectionFilter::parse(QStringLiteral("role=admin")).isEmpty());
    }

    void syntaxHelpMentionsEveryConstruct()
    {
        const QString help = ConnectionFilter::syntaxHelp();
        for (const char *construct : { "has:", " or ", "-state=stale", "~", ">=", "\"John Smith\"",
                                       "remoteAddr", "source=event|poll|monitor", "token." })
            QVERIFY2(help.contains(QLatin1String(construct)), construct);
    }
};

QTEST_GUILESS_MAIN(TestConnectionFilter)
#include "tst_connectionfilter.moc"
