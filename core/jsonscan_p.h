#pragma once

// A small, allocation-free reader for compact JSON payloads. The tracker parses
// millions of tiny payloads a second and tokens are matched against filters for
// a million rows; QJsonDocument allocates a tree for each, which is several
// times too slow for both. Not installed; not public API.
//
// parse() validates strictly (RFC 8259, nesting limited to MaxDepth); the other
// functions trust that their Value came from parse() (or from a member of one)
// and only skip over it. They never read outside the view, whatever it holds.
// Bytes >= 0x80 in strings are passed through without UTF-8 validation.

#include "reswatchcore_export.h"

#include <QByteArray>
#include <QByteArrayView>

#include <type_traits>

namespace ResWatch::JsonScan {

enum class Type { Invalid, Null, Bool, Number, String, Object, Array };

/// Containers nested deeper than this are rejected by parse().
constexpr int MaxDepth = 64;

/// One JSON value as a view into the source text.
struct Value
{
    Type type = Type::Invalid;
    QByteArrayView raw; ///< the value's text, strings with their quotes
    bool isValid() const { return type != Type::Invalid; }
    bool isNull() const { return type == Type::Null; }
    bool isString() const { return type == Type::String; }
    bool isObject() const { return type == Type::Object; }
};

/// Why parse() failed: a reason and the byte offset where it was noticed.
struct Error
{
    const char *reason = nullptr; ///< static text, null when there was no error
    qsizetype offset = -1;
    /// "unexpected character at byte 12"
    RESWATCH_CORE_PRIVATE_EXPORT QByteArray toString() const;
};

/// Parses @p text as exactly one JSON value (surrounding whitespace allowed).
/// Returns an Invalid value and fills @p error otherwise. Never allocates.
RESWATCH_CORE_PRIVATE_EXPORT Value parse(QByteArrayView text, Error &error);
/// As above, with the error as text ("<reason> at byte N").
RESWATCH_CORE_PRIVATE_EXPORT Value parse(QByteArrayView text, QByteArray *error = nullptr);

namespace Detail {
using MemberVisitor = bool (*)(void *context, QByteArrayView key, Value value);
RESWATCH_CORE_PRIVATE_EXPORT bool forEachMember(Value object, void *context, MemberVisitor visit);
using ElementVisitor = bool (*)(void *context, Value value);
RESWATCH_CORE_PRIVATE_EXPORT bool forEachElement(Value array, void *context, ElementVisitor visit);
} // namespace Detail

/**
 * Calls @p visit(key, value) for each member of an object value, in order.
 * The key is decoded; when @p visit takes a QByteArrayView it points into the
 * source (or, for keys with escapes, into a buffer valid during the call), so
 * nothing is allocated. A visitor taking `const QByteArray &` still works but
 * pays for a copy of each key. @p visit returns false to stop early (a visitor
 * returning void never stops). Returns false if @p object is not an object.
 */
template<typename Visitor> bool forEachMember(Value object, Visitor &&visit)
{
    using V = std::remove_reference_t<Visitor>;
    return Detail::forEachMember(
        object, const_cast<void *>(static_cast<const void *>(&visit)),
        [](void *context, QByteArrayView key, Value value) -> bool {
            V &f = *static_cast<V *>(context);
            if constexpr (std::is_invocable_v<V &, QByteArrayView, Value>) {
                if constexpr (std::is_void_v<std::invoke_result_t<V &, QByteArrayView, Value>>) {
                    f(key, value);
                    return true;
                } else {
                    return f(key, value);
                }
            } else {
                const QByteArray copy = key.toByteArray();
                if constexpr (std::is_void_v<std::invoke_result_t<V &, const QByteArray &, Value>>) {
                    f(copy, value);
                    return true;
                } else {
                    return f(copy, value);
                }
            }
        });
}

/**
 * Calls @p visit(value) for each element of an array value, in order. @p visit
 * returns false to stop early (a visitor returning void never stops). Returns
 * false if @p array is not an array. Never allocates.
 */
template<typename Visitor> bool forEachElement(Value array, Visitor &&visit)
{
    using V = std::remove_reference_t<Visitor>;
    return Detail::forEachElement(array, const_cast<void *>(static_cast<const void *>(&visit)),
                                  [](void *context, Value value) -> bool {
                                      V &f = *static_cast<V *>(context);
                                      if constexpr (std::is_void_v<std::invoke_result_t<V &, Value>>) {
                                          f(value);
                                          return true;
                                      } else {
                                          return f(value);
                                      }
                                  });
}

/// The member at a dotted path (already split into @p depth components), or an
/// Invalid value. Descends objects only. With duplicate keys the last one wins,
/// as in QJsonDocument and most other readers. Never allocates.
RESWATCH_CORE_PRIVATE_EXPORT Value find(Value object, const QByteArrayView *path, int depth);
/// The member @p key of @p object, or an Invalid value.
inline Value find(Value object, QByteArrayView key)
{
    return find(object, &key, 1);
}

/// Decodes a String value (escapes, \u sequences) to UTF-8. Empty for other types.
RESWATCH_CORE_PRIVATE_EXPORT QByteArray decodeString(Value string);
/// Whether a String value decodes to exactly @p utf8, without allocating.
RESWATCH_CORE_PRIVATE_EXPORT bool stringEquals(Value string, QByteArrayView utf8);
/// The text between the quotes of a String value; equal to its decoded text
/// when stringHasEscapes() is false.
inline QByteArrayView stringContents(Value string)
{
    return string.type == Type::String && string.raw.size() >= 2 ? string.raw.sliced(1, string.raw.size() - 2)
                                                                 : QByteArrayView();
}
inline bool stringHasEscapes(Value string)
{
    return stringContents(string).contains('\\');
}

/// The value with insignificant whitespace removed (tokens are stored compact).
RESWATCH_CORE_PRIVATE_EXPORT QByteArray compact(Value value);

} // namespace ResWatch::JsonScan
