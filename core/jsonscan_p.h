#pragma once

// A small, allocation-free reader for compact JSON payloads. The tracker parses
// millions of tiny payloads a second and tokens are matched against filters for
// a million rows; QJsonDocument allocates a tree for each, which is several
// times too slow for both. Not installed; not public API.

#include "reswatchcore_export.h"

#include <QByteArray>
#include <QByteArrayView>

#include <functional>

namespace ResWatch::JsonScan {

enum class Type { Invalid, Null, Bool, Number, String, Object, Array };

/// One JSON value as a view into the source text.
struct Value
{
    Type type = Type::Invalid;
    QByteArrayView raw; ///< the value's text, strings with their quotes
    bool isValid() const { return type != Type::Invalid; }
};

/// Parses @p text as exactly one JSON value (surrounding whitespace allowed).
/// Returns an Invalid value and sets @p error (if given) to the reason otherwise.
RESWATCH_CORE_PRIVATE_EXPORT Value parse(QByteArrayView text, QByteArray *error = nullptr);

/// Calls @p visit(key (decoded), value) for each member of an object value, in order.
/// Returns false if @p object is not an object. @p visit returns false to stop early.
RESWATCH_CORE_PRIVATE_EXPORT bool
forEachMember(Value object, const std::function<bool(const QByteArray &key, Value value)> &visit);

/// The member at a dotted path (already split), or an Invalid value.
RESWATCH_CORE_PRIVATE_EXPORT Value find(Value object, const QByteArrayView *path, int depth);

/// Decodes a String value (escapes, \u sequences) to UTF-8.
RESWATCH_CORE_PRIVATE_EXPORT QByteArray decodeString(Value string);

/// The value with insignificant whitespace removed (tokens are stored compact).
RESWATCH_CORE_PRIVATE_EXPORT QByteArray compact(Value value);

} // namespace ResWatch::JsonScan
