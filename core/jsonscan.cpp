#include "jsonscan_p.h"

#include <QVarLengthArray>

#include <cstring>

namespace ResWatch::JsonScan {

namespace {

static_assert(MaxDepth == 64, "update the error text below");
constexpr const char TooDeep[] = "nesting deeper than 64 levels";

inline bool isSpace(char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

inline bool isDigit(char c)
{
    return c >= '0' && c <= '9';
}

inline int hexValue(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// Reads 4 hex digits at p (the caller checked there are 4 bytes).
inline bool hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
        const int h = hexValue(p[i]);
        if (h < 0)
            return false;
        v = (v << 4) | unsigned(h);
    }
    *out = v;
    return true;
}

inline bool isHighSurrogate(unsigned u)
{
    return u >= 0xD800 && u <= 0xDBFF;
}

inline bool isLowSurrogate(unsigned u)
{
    return u >= 0xDC00 && u <= 0xDFFF;
}

// Bytes that end the fast scan of a string: the quote, the backslash and
// control characters.
struct StringStops
{
    bool stop[256] = {};
    constexpr StringStops()
    {
        for (int c = 0; c < 0x20; ++c)
            stop[c] = true;
        stop[int('"')] = true;
        stop[int('\\')] = true;
    }
};
constexpr StringStops stringStops;

Type typeOf(char c)
{
    switch (c) {
    case '{':
        return Type::Object;
    case '[':
        return Type::Array;
    case '"':
        return Type::String;
    case 't':
    case 'f':
        return Type::Bool;
    case 'n':
        return Type::Null;
    case '-':
        return Type::Number;
    default:
        return isDigit(c) ? Type::Number : Type::Invalid;
    }
}

class Parser
{
public:
    Parser(const char *begin, const char *end) : m_begin(begin), p(begin), m_end(end) { }

    Value parseDocument(Error &error)
    {
        skipSpace();
        const char *start = p;
        if (!value(0)) {
            error.reason = m_reason;
            error.offset = m_at - m_begin;
            return {};
        }
        const char *stop = p;
        skipSpace();
        if (p != m_end) {
            error.reason = "unexpected data after the value";
            error.offset = p - m_begin;
            return {};
        }
        error = Error();
        return Value { typeOf(*start), QByteArrayView(start, stop - start) };
    }

private:
    bool fail(const char *reason, const char *at)
    {
        m_reason = reason;
        m_at = at;
        return false;
    }
    bool failEnd() { return fail("unexpected end of input", m_end); }

    void skipSpace()
    {
        while (p < m_end && isSpace(*p))
            ++p;
    }

    bool value(int depth)
    {
        if (p == m_end)
            return failEnd();
        switch (*p) {
        case '{':
            return object(depth);
        case '[':
            return array(depth);
        case '"':
            return string();
        case 't':
            return literal("true", 4);
        case 'f':
            return literal("false", 5);
        case 'n':
            return literal("null", 4);
        default:
            if (*p == '-' || isDigit(*p))
                return number();
            return fail("unexpected character", p);
        }
    }

    bool object(int depth)
    {
        if (depth >= MaxDepth)
            return fail(TooDeep, p);
        ++p;
        skipSpace();
        if (p < m_end && *p == '}') {
            ++p;
            return true;
        }
        for (;;) {
            skipSpace();
            if (p == m_end)
                return failEnd();
            if (*p != '"')
                return fail("expected a string key", p);
            if (!string())
                return false;
            skipSpace();
            if (p == m_end)
                return failEnd();
            if (*p != ':')
                return fail("expected ':' after the key", p);
            ++p;
            skipSpace();
            if (!value(depth + 1))
                return false;
            skipSpace();
            if (p == m_end)
                return failEnd();
            if (*p == ',') {
                ++p;
                continue;
            }
            if (*p == '}') {
                ++p;
                return true;
            }
            return fail("expected ',' or '}'", p);
        }
    }

    bool array(int depth)
    {
        if (depth >= MaxDepth)
            return fail(TooDeep, p);
        ++p;
        skipSpace();
        if (p < m_end && *p == ']') {
            ++p;
            return true;
        }
        for (;;) {
            skipSpace();
            if (!value(depth + 1))
                return false;
            skipSpace();
            if (p == m_end)
                return failEnd();
            if (*p == ',') {
                ++p;
                continue;
            }
            if (*p == ']') {
                ++p;
                return true;
            }
            return fail("expected ',' or ']'", p);
        }
    }

    bool string()
    {
        const char *open = p++;
        for (;;) {
            while (p < m_end && !stringStops.stop[uchar(*p)])
                ++p;
            if (p == m_end)
                return fail("unterminated string", open);
            const char c = *p;
            if (c == '"') {
                ++p;
                return true;
            }
            if (c != '\\')
                return fail("control character in string", p);
            const char *escape = p++;
            if (p == m_end)
                return fail("unterminated string", open);
            switch (*p) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
                ++p;
                break;
            case 'u': {
                unsigned unit = 0;
                if (m_end - p < 5 || !hex4(p + 1, &unit))
                    return fail("invalid \\u escape", escape);
                p += 5;
                if (isHighSurrogate(unit)) {
                    unsigned low = 0;
                    if (m_end - p < 6 || p[0] != '\\' || p[1] != 'u' || !hex4(p + 2, &low)
                        || !isLowSurrogate(low))
                        return fail("unpaired surrogate in \\u escape", escape);
                    p += 6;
                } else if (isLowSurrogate(unit)) {
                    return fail("unpaired surrogate in \\u escape", escape);
                }
                break;
            }
            default:
                return fail("invalid escape", escape);
            }
        }
    }

    bool number()
    {
        const char *start = p;
        if (*p == '-')
            ++p;
        if (p == m_end || !isDigit(*p))
            return fail("invalid number", start);
        if (*p == '0') {
            ++p;
            if (p < m_end && isDigit(*p))
                return fail("leading zero in number", start);
        } else {
            while (p < m_end && isDigit(*p))
                ++p;
        }
        if (p < m_end && *p == '.') {
            ++p;
            if (p == m_end || !isDigit(*p))
                return fail("invalid number: digit expected after '.'", start);
            while (p < m_end && isDigit(*p))
                ++p;
        }
        if (p < m_end && (*p == 'e' || *p == 'E')) {
            ++p;
            if (p < m_end && (*p == '+' || *p == '-'))
                ++p;
            if (p == m_end || !isDigit(*p))
                return fail("invalid number: digit expected in exponent", start);
            while (p < m_end && isDigit(*p))
                ++p;
        }
        return true;
    }

    bool literal(const char *word, int length)
    {
        if (m_end - p < length || std::memcmp(p, word, length) != 0)
            return fail("invalid literal", p);
        p += length;
        return true;
    }

    const char *m_begin;
    const char *p;
    const char *m_end;
    const char *m_reason = nullptr;
    const char *m_at = nullptr;
};

// The skipping functions below trust their input to be valid JSON but stay
// inside [p, end) whatever it holds.

const char *skipString(const char *p, const char *end)
{
    ++p;
    while (p < end) {
        const char c = *p;
        if (c == '"')
            return p + 1;
        if (c == '\\') {
            if (end - p < 2)
                return end;
            p += 2;
        } else {
            ++p;
        }
    }
    return end;
}

const char *skipValue(const char *p, const char *end)
{
    if (p >= end)
        return end;
    switch (*p) {
    case '"':
        return skipString(p, end);
    case '{':
    case '[': {
        int depth = 0;
        while (p < end) {
            const char c = *p;
            if (c == '"') {
                p = skipString(p, end);
                continue;
            }
            if (c == '{' || c == '[') {
                ++depth;
            } else if (c == '}' || c == ']') {
                if (--depth == 0)
                    return p + 1;
            }
            ++p;
        }
        return end;
    }
    default:
        while (p < end && !isSpace(*p) && *p != ',' && *p != '}' && *p != ']')
            ++p;
        return p;
    }
}

const char *skipSpace(const char *p, const char *end)
{
    while (p < end && isSpace(*p))
        ++p;
    return p;
}

void appendUtf8(char *&out, unsigned cp)
{
    if (cp < 0x80) {
        *out++ = char(cp);
    } else if (cp < 0x800) {
        *out++ = char(0xC0 | (cp >> 6));
        *out++ = char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *out++ = char(0xE0 | (cp >> 12));
        *out++ = char(0x80 | ((cp >> 6) & 0x3F));
        *out++ = char(0x80 | (cp & 0x3F));
    } else {
        *out++ = char(0xF0 | (cp >> 18));
        *out++ = char(0x80 | ((cp >> 12) & 0x3F));
        *out++ = char(0x80 | ((cp >> 6) & 0x3F));
        *out++ = char(0x80 | (cp & 0x3F));
    }
}

// Decodes the text between a string's quotes into @p out, which must hold
// contents.size() bytes: no escape decodes to more bytes than it is written with.
qsizetype decodeInto(QByteArrayView contents, char *out)
{
    const char *p = contents.data();
    const char *end = p + contents.size();
    char *o = out;
    while (p < end) {
        const char *backslash = static_cast<const char *>(std::memchr(p, '\\', end - p));
        const char *stop = backslash ? backslash : end;
        std::memcpy(o, p, stop - p);
        o += stop - p;
        p = stop;
        if (p == end || end - p < 2)
            break;
        const char kind = p[1];
        p += 2;
        switch (kind) {
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'u': {
            unsigned cp = 0;
            if (end - p < 4 || !hex4(p, &cp))
                break;
            p += 4;
            if (isHighSurrogate(cp)) {
                unsigned low = 0;
                if (end - p >= 6 && p[0] == '\\' && p[1] == 'u' && hex4(p + 2, &low) && isLowSurrogate(low)) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    p += 6;
                } else {
                    cp = 0xFFFD;
                }
            } else if (isLowSurrogate(cp)) {
                cp = 0xFFFD;
            }
            appendUtf8(o, cp);
            break;
        }
        default: // '"', '\\', '/'
            *o++ = kind;
            break;
        }
    }
    return o - out;
}

// Compares raw key text (between the quotes) with a decoded name. Escapes only
// ever shorten the text, which settles most keys by their length alone.
bool keyEquals(QByteArrayView rawKey, QByteArrayView name)
{
    if (rawKey.size() < name.size())
        return false;
    if (rawKey.size() == name.size())
        return rawKey == name && !rawKey.contains('\\');
    if (!rawKey.contains('\\'))
        return false;
    QVarLengthArray<char, 256> buffer(rawKey.size());
    const qsizetype length = decodeInto(rawKey, buffer.data());
    return QByteArrayView(buffer.data(), length) == name;
}

// Iterates the members of an object given as raw text; @p visit(rawKey, value)
// gets the key text between the quotes, undecoded.
template<typename Visit> void scanMembers(QByteArrayView raw, Visit &&visit)
{
    const char *p = raw.data() + 1;
    const char *end = raw.data() + raw.size();
    for (;;) {
        p = skipSpace(p, end);
        if (p >= end || *p == '}')
            return;
        if (*p == ',') {
            ++p;
            continue;
        }
        if (*p != '"')
            return;
        const char *keyStart = p;
        p = skipString(p, end);
        const qsizetype keyLength = p - keyStart - 2;
        const QByteArrayView rawKey(keyStart + 1, keyLength < 0 ? 0 : keyLength);
        p = skipSpace(p, end);
        if (p < end && *p == ':')
            ++p;
        p = skipSpace(p, end);
        if (p >= end)
            return;
        const char *valueStart = p;
        p = skipValue(p, end);
        if (!visit(rawKey, Value { typeOf(*valueStart), QByteArrayView(valueStart, p - valueStart) }))
            return;
    }
}

} // namespace

QByteArray Error::toString() const
{
    if (!reason)
        return {};
    return QByteArray(reason) + " at byte " + QByteArray::number(offset);
}

Value parse(QByteArrayView text, Error &error)
{
    Parser parser(text.data(), text.data() + text.size());
    return parser.parseDocument(error);
}

Value parse(QByteArrayView text, QByteArray *error)
{
    Error e;
    const Value value = parse(text, e);
    if (error)
        *error = e.toString();
    return value;
}

namespace Detail {

bool forEachMember(Value object, void *context, MemberVisitor visit)
{
    if (object.type != Type::Object || object.raw.size() < 2)
        return false;
    scanMembers(object.raw, [&](QByteArrayView rawKey, Value value) {
        if (!rawKey.contains('\\'))
            return visit(context, rawKey, value);
        QVarLengthArray<char, 256> buffer(rawKey.size());
        const qsizetype length = decodeInto(rawKey, buffer.data());
        return visit(context, QByteArrayView(buffer.data(), length), value);
    });
    return true;
}

bool forEachElement(Value array, void *context, ElementVisitor visit)
{
    if (array.type != Type::Array || array.raw.size() < 2)
        return false;
    const char *p = array.raw.data() + 1;
    const char *end = array.raw.data() + array.raw.size();
    for (;;) {
        p = skipSpace(p, end);
        if (p >= end || *p == ']')
            return true;
        if (*p == ',') {
            ++p;
            continue;
        }
        const char *valueStart = p;
        p = skipValue(p, end);
        if (p == valueStart) // not a value: only possible with text that did not come from parse()
            return true;
        if (!visit(context, Value { typeOf(*valueStart), QByteArrayView(valueStart, p - valueStart) }))
            return true;
    }
}

} // namespace Detail

Value find(Value object, const QByteArrayView *path, int depth)
{
    Value current = object;
    for (int i = 0; i < depth; ++i) {
        if (current.type != Type::Object || current.raw.size() < 2)
            return {};
        Value found;
        const QByteArrayView name = path[i];
        scanMembers(current.raw, [&](QByteArrayView rawKey, Value value) {
            if (keyEquals(rawKey, name))
                found = value;
            return true;
        });
        if (!found.isValid())
            return {};
        current = found;
    }
    return current;
}

QByteArray decodeString(Value string)
{
    const QByteArrayView contents = stringContents(string);
    if (!contents.contains('\\'))
        return contents.toByteArray();
    QByteArray out(contents.size(), Qt::Uninitialized);
    out.truncate(decodeInto(contents, out.data()));
    return out;
}

bool stringEquals(Value string, QByteArrayView utf8)
{
    if (string.type != Type::String)
        return false;
    return keyEquals(stringContents(string), utf8);
}

QByteArray compact(Value value)
{
    if (value.type != Type::Object && value.type != Type::Array)
        return value.raw.toByteArray();
    const char *p = value.raw.data();
    const char *end = p + value.raw.size();
    QByteArray out(value.raw.size(), Qt::Uninitialized);
    char *o = out.data();
    while (p < end) {
        const char c = *p;
        if (c == '"') {
            const char *stop = skipString(p, end);
            std::memcpy(o, p, stop - p);
            o += stop - p;
            p = stop;
        } else {
            if (!isSpace(c))
                *o++ = c;
            ++p;
        }
    }
    out.truncate(o - out.data());
    return out;
}

} // namespace ResWatch::JsonScan
