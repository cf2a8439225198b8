#include "connectionfilter.h"

#include "jsonscan_p.h"

#include <QRegularExpression>
#include <QVarLengthArray>

#include <charconv>
#include <cmath>
#include <cstring>
#include <string_view>
#include <vector>

namespace ResWatch {

namespace {

enum class FieldKind : quint8 { Token, Cid, Gid, State, Tid, RemoteAddr, Host, Source };

enum class Op : quint8 { Equal, NotEqual, Greater, Less, GreaterEqual, LessEqual, Match };

struct ReservedField
{
    const char *name;
    FieldKind kind;
};

constexpr ReservedField reservedFields[] = {
    { "cid", FieldKind::Cid },
    { "gid", FieldKind::Gid },
    { "state", FieldKind::State },
    { "tid", FieldKind::Tid },
    { "remoteAddr", FieldKind::RemoteAddr },
    { "host", FieldKind::Host },
    { "source", FieldKind::Source },
};

std::string_view sv(QByteArrayView bytes)
{
    return std::string_view(bytes.data(), size_t(bytes.size()));
}

// Locale-independent (Qt applications call setlocale(), which strtod obeys) and allocation-free.
bool parseNumber(QByteArrayView text, double *number)
{
    if (text.isEmpty())
        return false;
    const char *begin = text.data();
    const char *end = begin + text.size();
    if (*begin == '+')
        ++begin;
    const auto result = std::from_chars(begin, end, *number);
    return result.ec == std::errc() && result.ptr == end && std::isfinite(*number);
}

char asciiLower(char c)
{
    return (c >= 'A' && c <= 'Z') ? char(c + ('a' - 'A')) : c;
}

// Case-insensitive (ASCII) substring search; @p needle is already lowercase.
bool containsAsciiCi(QByteArrayView haystack, QByteArrayView needle)
{
    const qsizetype n = needle.size();
    if (n == 0)
        return true;
    const char first = needle[0];
    const char firstUpper = (first >= 'a' && first <= 'z') ? char(first - ('a' - 'A')) : first;
    const char *data = haystack.data();
    for (qsizetype i = 0, last = haystack.size() - n; i <= last; ++i) {
        if (data[i] != first && data[i] != firstUpper)
            continue;
        qsizetype j = 1;
        while (j < n && asciiLower(data[i + j]) == needle[j])
            ++j;
        if (j == n)
            return true;
    }
    return false;
}

// What a field resolved to for one connection. Views point into the connection or static text.
struct Subject
{
    enum Kind : quint8 { Absent, Null, Bool, Number, String, Composite } kind = Absent;
    QByteArrayView bytes; ///< strings without their quotes, other values as raw JSON
    bool escaped = false; ///< a JSON string with escapes: bytes must be decoded
};

struct Node
{
    enum Kind : quint8 { And, Or, Not, Compare, Has, Word } kind = And;
    std::vector<Node> children;

    FieldKind field = FieldKind::Token;
    Op op = Op::Equal;
    std::vector<QByteArray> pathStorage;
    std::vector<QByteArrayView> path; ///< views into pathStorage; empty means the whole token

    QString text; ///< the value as typed (unescaped)
    QByteArray utf8; ///< the value in UTF-8; for Word, lowercased when ascii
    bool valueIsNumber = false;
    double number = 0;
    bool ascii = true; ///< Word: the needle is ASCII, so the byte search applies
    QRegularExpression regex;
};

Subject::Kind kindOf(JsonScan::Type type)
{
    switch (type) {
    case JsonScan::Type::Invalid:
        return Subject::Absent;
    case JsonScan::Type::Null:
        return Subject::Null;
    case JsonScan::Type::Bool:
        return Subject::Bool;
    case JsonScan::Type::Number:
        return Subject::Number;
    case JsonScan::Type::String:
        return Subject::String;
    case JsonScan::Type::Object:
    case JsonScan::Type::Array:
        return Subject::Composite;
    }
    return Subject::Absent;
}

// Tokens are stored compact and were validated on the way in, so the first byte gives the type
// and the row does not pay for a second validation pass.
JsonScan::Value tokenValue(const QByteArray &token)
{
    if (token.isEmpty())
        return {};
    JsonScan::Type type = JsonScan::Type::Number;
    switch (token.front()) {
    case '{':
        type = JsonScan::Type::Object;
        break;
    case '[':
        type = JsonScan::Type::Array;
        break;
    case '"':
        type = JsonScan::Type::String;
        break;
    case 'n':
        type = JsonScan::Type::Null;
        break;
    case 't':
    case 'f':
        type = JsonScan::Type::Bool;
        break;
    default:
        break;
    }
    return { type, QByteArrayView(token) };
}

Subject subjectOf(JsonScan::Value value)
{
    Subject s;
    s.kind = kindOf(value.type);
    if (s.kind == Subject::String) {
        s.bytes = value.raw.sliced(1, value.raw.size() - 2);
        s.escaped = std::memchr(s.bytes.data(), '\\', size_t(s.bytes.size())) != nullptr;
    } else {
        s.bytes = value.raw;
    }
    return s;
}

Subject stringSubject(QByteArrayView bytes, bool absentWhenEmpty)
{
    Subject s;
    if (absentWhenEmpty && bytes.isEmpty())
        return s;
    s.kind = Subject::String;
    s.bytes = bytes;
    return s;
}

QByteArrayView stateName(ConnectionState state)
{
    return state == ConnectionState::Live ? QByteArrayView("live") : QByteArrayView("stale");
}

QByteArrayView sourceName(Source source)
{
    switch (source) {
    case Source::Event:
        return "event";
    case Source::Poll:
        return "poll";
    case Source::Monitor:
        return "monitor";
    }
    return {};
}

class Evaluator
{
public:
    Evaluator(const Connection &connection, QStringView gid) : m_connection(connection), m_gid(gid) { }

    bool eval(const Node &node)
    {
        switch (node.kind) {
        case Node::And:
            for (const Node &child : node.children) {
                if (!eval(child))
                    return false;
            }
            return true;
        case Node::Or:
            for (const Node &child : node.children) {
                if (eval(child))
                    return true;
            }
            return false;
        case Node::Not:
            return !eval(node.children.front());
        case Node::Has:
            return has(node);
        case Node::Compare:
            return compare(node, resolve(node));
        case Node::Word:
            return word(node);
        }
        return false;
    }

private:
    QByteArrayView gidUtf8()
    {
        if (!m_gidConverted) {
            m_gidConverted = true;
            bool ascii = true;
            for (QChar c : m_gid) {
                if (c.unicode() >= 0x80) {
                    ascii = false;
                    break;
                }
            }
            if (ascii) {
                m_gidBuffer.resize(m_gid.size());
                for (qsizetype i = 0; i < m_gid.size(); ++i)
                    m_gidBuffer[i] = char(m_gid[i].unicode());
                m_gidView = QByteArrayView(m_gidBuffer.constData(), m_gidBuffer.size());
            } else {
                m_gidSlow = m_gid.toUtf8();
                m_gidView = m_gidSlow;
            }
        }
        return m_gidView;
    }

    Subject resolve(const Node &node)
    {
        switch (node.field) {
        case FieldKind::Token: {
            const JsonScan::Value root = tokenValue(m_connection.token);
            if (!root.isValid())
                return node.path.empty() ? Subject { Subject::Null, "null", false } : Subject {};
            if (node.path.empty())
                return subjectOf(root);
            if (root.type != JsonScan::Type::Object)
                return {};
            return subjectOf(JsonScan::find(root, node.path.data(), int(node.path.size())));
        }
        case FieldKind::Cid:
            return stringSubject(m_connection.cid.view(), false);
        case FieldKind::Gid:
            return stringSubject(gidUtf8(), false);
        case FieldKind::State:
            return stringSubject(stateName(m_connection.state), false);
        case FieldKind::Source:
            return stringSubject(sourceName(m_connection.source), false);
        case FieldKind::Tid:
            return m_connection.details ? stringSubject(m_connection.details->tid, true) : Subject {};
        case FieldKind::RemoteAddr:
            return m_connection.details ? stringSubject(m_connection.details->remoteAddr, true) : Subject {};
        case FieldKind::Host:
            return m_connection.details ? stringSubject(m_connection.details->host, true) : Subject {};
        }
        return {};
    }

    bool has(const Node &node)
    {
        if (node.field == FieldKind::Token && node.path.empty())
            return m_connection.hasToken() && m_connection.token != "null";
        if (node.field == FieldKind::Gid)
            return !m_gid.isEmpty();
        return resolve(node).kind != Subject::Absent;
    }

    static bool compare(const Node &node, const Subject &s)
    {
        if (s.kind == Subject::Absent)
            return false;
        QByteArray decoded;
        QByteArrayView bytes = s.bytes;
        if (s.escaped) {
            const JsonScan::Value string { JsonScan::Type::String,
                                           QByteArrayView(s.bytes.data() - 1, s.bytes.size() + 2) };
            if (node.op == Op::Equal || node.op == Op::NotEqual)
                return JsonScan::stringEquals(string, node.utf8) == (node.op == Op::Equal);
            decoded = JsonScan::decodeString(string);
            bytes = decoded;
        }

        switch (node.op) {
        case Op::Equal:
        case Op::NotEqual: {
            bool equal = bytes == QByteArrayView(node.utf8);
            if (!equal && s.kind == Subject::Number && node.valueIsNumber) {
                double number = 0;
                equal = parseNumber(bytes, &number) && number == node.number;
            }
            return equal == (node.op == Op::Equal);
        }
        case Op::Greater:
        case Op::Less:
        case Op::GreaterEqual:
        case Op::LessEqual: {
            int order = 0;
            double number = 0;
            if (s.kind == Subject::Number && node.valueIsNumber && parseNumber(bytes, &number))
                order = number < node.number ? -1 : (number > node.number ? 1 : 0);
            else if (s.kind == Subject::String || s.kind == Subject::Number)
                order = sv(bytes).compare(sv(node.utf8));
            else
                return false;
            switch (node.op) {
            case Op::Greater:
                return order > 0;
            case Op::Less:
                return order < 0;
            case Op::GreaterEqual:
                return order >= 0;
            case Op::LessEqual:
                return order <= 0;
            default:
                return false;
            }
        }
        case Op::Match:
            return node.regex.match(QString::fromUtf8(bytes)).hasMatch();
        }
        return false;
    }

    bool word(const Node &node)
    {
        if (node.ascii) {
            const QByteArrayView needle(node.utf8);
            return containsAsciiCi(m_connection.cid.view(), needle) || containsAsciiCi(gidUtf8(), needle)
                || containsAsciiCi(m_connection.token, needle);
        }
        return m_gid.contains(node.text, Qt::CaseInsensitive)
            || QString::fromUtf8(m_connection.token).contains(node.text, Qt::CaseInsensitive);
    }

    const Connection &m_connection;
    QStringView m_gid;
    bool m_gidConverted = false;
    QVarLengthArray<char, 128> m_gidBuffer;
    QByteArray m_gidSlow;
    QByteArrayView m_gidView;
};

// ---- Parsing --------------------------------------------------------------------------------

struct ParseError
{
    QString message;
    int position;
};

bool isSpace(QChar c)
{
    return c.isSpace();
}

bool isOperatorChar(QChar c)
{
    return c == u'=' || c == u'!' || c == u'<' || c == u'>' || c == u'~';
}

class Parser
{
public:
    explicit Parser(const QString &text) : m_text(text) { }

    Node parse()
    {
        skipSpaces();
        Node root = parseOr();
        skipSpaces();
        if (m_pos < m_text.size()) {
            // parseOr() only stops early at a ')'.
            fail(QStringLiteral("unmatched ')'"), m_pos);
        }
        return root;
    }

private:
    [[noreturn]] void fail(const QString &message, int position)
    {
        throw ParseError { QStringLiteral("%1 at %2").arg(message).arg(position), position };
    }

    bool atEnd() const { return m_pos >= m_text.size(); }
    QChar peek(int offset = 0) const
    {
        return m_pos + offset < m_text.size() ? m_text[m_pos + offset] : QChar();
    }
    void skipSpaces()
    {
        while (!atEnd() && isSpace(peek()))
            ++m_pos;
    }

    // `or` / `and` standing alone (a quoted "or" is a word).
    bool atKeyword(QLatin1StringView keyword) const
    {
        const int n = int(keyword.size());
        if (m_pos + n > m_text.size())
            return false;
        if (QStringView(m_text).mid(m_pos, n).compare(keyword, Qt::CaseInsensitive) != 0)
            return false;
        const QChar after = m_pos + n < m_text.size() ? m_text[m_pos + n] : QChar(u' ');
        return isSpace(after) || after == u'(' || after == u')';
    }

    bool atTermEnd() const { return atEnd() || isSpace(peek()) || peek() == u')'; }

    Node parseOr()
    {
        Node first = parseAnd();
        if (!atKeyword(QLatin1StringView("or")))
            return first;
        Node node;
        node.kind = Node::Or;
        node.children.push_back(std::move(first));
        while (atKeyword(QLatin1StringView("or"))) {
            const int orPos = m_pos;
            m_pos += 2;
            skipSpaces();
            if (atEnd() || peek() == u')' || atKeyword(QLatin1StringView("or")))
                fail(QStringLiteral("expected a term after 'or'"), orPos + 2);
            node.children.push_back(parseAnd());
        }
        return node;
    }

    Node parseAnd()
    {
        Node node;
        node.kind = Node::And;
        for (;;) {
            skipSpaces();
            if (atEnd() || peek() == u')')
                break;
            if (atKeyword(QLatin1StringView("or"))) {
                if (node.children.empty())
                    fail(QStringLiteral("expected a term before 'or'"), m_pos);
                break;
            }
            if (atKeyword(QLatin1StringView("and"))) {
                if (node.children.empty())
                    fail(QStringLiteral("expected a term before 'and'"), m_pos);
                const int andPos = m_pos;
                m_pos += 3;
                skipSpaces();
                if (atEnd() || peek() == u')' || atKeyword(QLatin1StringView("or"))
                    || atKeyword(QLatin1StringView("and")))
                    fail(QStringLiteral("expected a term after 'and'"), andPos + 3);
                continue;
            }
            node.children.push_back(parseUnary());
        }
        if (node.children.size() == 1) {
            Node only = std::move(node.children.front());
            return only;
        }
        return node;
    }

    Node parseUnary()
    {
        if (peek() == u'-') {
            const int minusPos = m_pos;
            ++m_pos;
            if (atTermEnd())
                fail(QStringLiteral("expected a term after '-'"), minusPos + 1);
            Node node;
            node.kind = Node::Not;
            node.children.push_back(parseUnary());
            return node;
        }
        return parsePrimary();
    }

    Node parsePrimary()
    {
        const QChar c = peek();
        if (c == u'(') {
            const int open = m_pos;
            ++m_pos;
            skipSpaces();
            if (peek() == u')')
                fail(QStringLiteral("empty parentheses"), open);
            Node inner = parseOr();
            skipSpaces();
            if (peek() != u')')
                fail(QStringLiteral("missing ')' for '('"), open);
            ++m_pos;
            expectTermEnd();
            return inner;
        }
        if (c == u')')
            fail(QStringLiteral("unmatched ')'"), m_pos);
        if (c == u'"') {
            Node node;
            node.kind = Node::Word;
            setWord(node, readQuoted());
            expectTermEnd();
            return node;
        }
        if (isOperatorChar(c))
            fail(QStringLiteral("expected a field name before '%1'").arg(c), m_pos);

        const int start = m_pos;
        const QString run = readRun(true);
        if (run.startsWith(QLatin1StringView("has:"))) {
            const QString field = run.mid(4);
            if (field.isEmpty())
                fail(QStringLiteral("expected a field name after 'has:'"), start + 4);
            if (!atEnd() && (isOperatorChar(peek()) || peek() == u'"'))
                fail(QStringLiteral("unexpected '%1' after has:%2").arg(peek()).arg(field), m_pos);
            Node node;
            node.kind = Node::Has;
            setField(node, field, start + 4);
            return node;
        }

        // Spaces around the operator are allowed: `role = admin`.
        const int afterRun = m_pos;
        skipSpaces();
        if (atEnd() || !isOperatorChar(peek())) {
            m_pos = afterRun;
            if (!atTermEnd())
                fail(QStringLiteral("unexpected '%1'").arg(peek()), m_pos);
            Node node;
            node.kind = Node::Word;
            setWord(node, run);
            return node;
        }

        Node node;
        node.kind = Node::Compare;
        setField(node, run, start);
        const int opPos = m_pos;
        node.op = readOperator();
        const QString opText = m_text.mid(opPos, m_pos - opPos);
        skipSpaces();
        if (atEnd() || peek() == u')')
            fail(QStringLiteral("expected a value after '%1'").arg(opText), m_pos);
        if (isOperatorChar(peek()))
            fail(QStringLiteral("unexpected '%1' after '%2' (quote the value if it starts with it)")
                     .arg(peek())
                     .arg(opText),
                 m_pos);
        const int valuePos = m_pos;
        const bool quoted = peek() == u'"';
        const QString value = quoted ? readQuoted() : readRun(false);
        if (quoted)
            expectTermEnd();
        setValue(node, value, quoted, quoted ? valuePos + 1 : valuePos);
        return node;
    }

    void expectTermEnd()
    {
        if (!atTermEnd())
            fail(QStringLiteral("expected a space before '%1'").arg(peek()), m_pos);
    }

    Op readOperator()
    {
        const QChar c = peek();
        const QChar next = peek(1);
        switch (c.unicode()) {
        case u'=':
            ++m_pos;
            return Op::Equal;
        case u'~':
            ++m_pos;
            return Op::Match;
        case u'!':
            if (next == u'=') {
                m_pos += 2;
                return Op::NotEqual;
            }
            fail(QStringLiteral("unknown operator '!' (use '!=', or '-' before a term to negate it)"), m_pos);
        case u'<':
            if (next == u'=') {
                m_pos += 2;
                return Op::LessEqual;
            }
            ++m_pos;
            return Op::Less;
        case u'>':
            if (next == u'=') {
                m_pos += 2;
                return Op::GreaterEqual;
            }
            ++m_pos;
            return Op::Greater;
        }
        fail(QStringLiteral("expected an operator"), m_pos);
    }

    // A field name or bare word (stops at operators and quotes), or an unquoted value (stops only
    // at spaces). A ')' that closes nothing opened inside the run ends it, so `(role=admin)` and
    // `name~(a|b)` both read as meant.
    QString readRun(bool stopAtOperators)
    {
        const int start = m_pos;
        int balance = 0;
        while (!atEnd()) {
            const QChar c = peek();
            if (isSpace(c))
                break;
            if (stopAtOperators && (isOperatorChar(c) || c == u'"'))
                break;
            if (c == u'(')
                ++balance;
            else if (c == u')' && balance-- == 0)
                break;
            ++m_pos;
        }
        return m_text.mid(start, m_pos - start);
    }

    // A double-quoted string; \" and \\ are escapes, any other backslash stays (regexes need it).
    QString readQuoted()
    {
        const int open = m_pos;
        ++m_pos;
        QString out;
        while (!atEnd()) {
            const QChar c = peek();
            if (c == u'"') {
                ++m_pos;
                return out;
            }
            if (c == u'\\' && (peek(1) == u'"' || peek(1) == u'\\')) {
                out += peek(1);
                m_pos += 2;
                continue;
            }
            out += c;
            ++m_pos;
        }
        fail(QStringLiteral("unterminated quoted text starting"), open);
    }

    void setWord(Node &node, const QString &word)
    {
        if (word.isEmpty())
            fail(QStringLiteral("empty quoted text"), m_pos - 2);
        node.text = word;
        node.ascii = true;
        for (QChar c : word) {
            if (c.unicode() >= 0x80) {
                node.ascii = false;
                break;
            }
        }
        node.utf8 = node.ascii ? word.toLower().toUtf8() : word.toUtf8();
    }

    void setField(Node &node, const QString &name, int position)
    {
        for (const ReservedField &reserved : reservedFields) {
            if (name == QLatin1StringView(reserved.name)) {
                node.field = reserved.kind;
                return;
            }
        }
        node.field = FieldKind::Token;
        QString path = name;
        int offset = 0;
        if (path == QLatin1StringView("token")) {
            return; // the whole token
        }
        if (path.startsWith(QLatin1StringView("token."))) {
            path = path.mid(6);
            offset = 6;
        }
        int segmentStart = 0;
        const QStringList segments = path.split(u'.');
        for (const QString &segment : segments) {
            if (segment.isEmpty())
                fail(QStringLiteral("empty name in the field path '%1'").arg(name),
                     position + offset + segmentStart);
            if (segment.contains(u'(') || segment.contains(u')'))
                fail(QStringLiteral("unexpected parenthesis in the field name '%1'").arg(name), position);
            node.pathStorage.push_back(segment.toUtf8());
            segmentStart += int(segment.size()) + 1;
        }
        for (const QByteArray &segment : node.pathStorage)
            node.path.push_back(QByteArrayView(segment));
    }

    void setValue(Node &node, const QString &value, bool quoted, int position)
    {
        node.text = value;
        if (node.field == FieldKind::State || node.field == FieldKind::Source) {
            // Enumerations: catch typos instead of silently matching nothing.
            const QString lower = value.toLower();
            const QStringList allowed = node.field == FieldKind::State
                ? QStringList { QStringLiteral("live"), QStringLiteral("stale") }
                : QStringList { QStringLiteral("event"), QStringLiteral("poll"), QStringLiteral("monitor") };
            if ((node.op == Op::Equal || node.op == Op::NotEqual) && !allowed.contains(lower))
                fail(QStringLiteral("unknown %1 '%2' (expected %3)")
                         .arg(node.field == FieldKind::State ? QStringLiteral("state")
                                                             : QStringLiteral("source"),
                              value, allowed.join(QLatin1StringView(" or "))),
                     position);
            if (node.op == Op::Equal || node.op == Op::NotEqual)
                node.text = lower;
        }
        node.utf8 = node.text.toUtf8();
        node.valueIsNumber = !quoted && parseNumber(node.utf8, &node.number);
        if (node.op == Op::Match) {
            node.regex.setPattern(node.text);
            if (!node.regex.isValid())
                fail(QStringLiteral("invalid regular expression (%1)").arg(node.regex.errorString()),
                     position + int(node.regex.patternErrorOffset()));
            node.regex.optimize();
        }
    }

    const QString &m_text;
    int m_pos = 0;
};

} // namespace

struct ConnectionFilter::Compiled
{
    QString text;
    Node root;
};

ConnectionFilter::ConnectionFilter() = default;
ConnectionFilter::~ConnectionFilter() = default;
ConnectionFilter::ConnectionFilter(const ConnectionFilter &) = default;
ConnectionFilter &ConnectionFilter::operator=(const ConnectionFilter &) = default;

ConnectionFilter ConnectionFilter::parse(const QString &text, Error *error)
{
    if (error)
        *error = {};
    ConnectionFilter filter;
    if (text.trimmed().isEmpty())
        return filter;
    try {
        auto compiled = std::make_shared<Compiled>();
        compiled->text = text;
        compiled->root = Parser(text).parse();
        filter.m_compiled = std::move(compiled);
    } catch (const ParseError &parseError) {
        if (error) {
            error->message = parseError.message;
            error->position = parseError.position;
        }
    }
    return filter;
}

bool ConnectionFilter::isEmpty() const
{
    return !m_compiled;
}

QString ConnectionFilter::text() const
{
    return m_compiled ? m_compiled->text : QString();
}

bool ConnectionFilter::matches(const Connection &connection, QStringView gid) const
{
    if (!m_compiled)
        return true;
    return Evaluator(connection, gid).eval(m_compiled->root);
}

QString ConnectionFilter::syntaxHelp()
{
    return QStringLiteral(
        "Filter syntax (terms separated by spaces must all match):\n"
        "  admin                 a word found in the cid, the gid or the token (any case)\n"
        "  role=admin            a token field; dotted paths reach nested ones: user.id=42\n"
        "  token.cid=x           the token. prefix reaches token keys named like the fields below\n"
        "  cid gid state tid remoteAddr host source\n"
        "                        connection fields: state=live|stale, source=event|poll|monitor\n"
        "  = != > < >= <=        numbers compare as numbers: token.user.id>=42; != needs the field\n"
        "  ~                     regular expression: host~\"^10\\.\"  name~(?i)^jo\n"
        "  has:field             the field is present: has:tid  has:token  has:user.email\n"
        "  -term                 negation: -state=stale  -has:token\n"
        "  a or b                either side; binds looser than spaces: role=admin or role=ops\n"
        "  ( )                   grouping: (role=admin or role=ops) state=live\n"
        "  \"...\"                 quotes a value with spaces: name=\"John Smith\" (\\\" inside)\n"
        "  true false null       compare booleans and null: verified=true  token=null");
}

} // namespace ResWatch
