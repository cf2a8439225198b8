#pragma once

#include "connection.h"

#include <QString>

#include <memory>

namespace ResWatch {

/**
 * A compiled filter expression over connections and their tokens, for example
 * `role=admin token.user.id>=42 -state=stale or gid=gw-1`.
 *
 * Terms separated by spaces are ANDed, `or` between terms has the lowest
 * precedence, `-` negates a term. Fields are dotted paths into the token
 * (`token.` prefix optional) or one of `cid`, `gid`, `state`, `tid`,
 * `remoteAddr`, `host`, `source`. Operators: `=`, `!=`, `>`, `<`, `>=`, `<=`,
 * `~` (regular expression), and `has:field`. Numbers compare as numbers.
 * A bare word matches the cid, the gid or the token text.
 *
 * Details: `and` may be written out; parentheses group; values (and bare
 * words) may be double-quoted with `\"` and `\\` escapes. A field that is absent
 * matches no comparison, `!=` included (`-role=admin` keeps tokens without a
 * role). Numbers compare as numbers when the token value is a JSON number and
 * the typed value is an unquoted number, otherwise as UTF-8 strings; booleans
 * and null compare with `true`, `false`, `null`; `~` is case-sensitive unless
 * the pattern starts with `(?i)`. `has:token` is a non-null token and
 * `token=null` its absence. `state` and `source` values are checked when parsed.
 *
 * Matching allocates nothing for plain comparisons: it runs over a million
 * rows on the GUI thread in time slices. Copies are cheap and thread-safe.
 */
class RESWATCH_CORE_EXPORT ConnectionFilter
{
public:
    struct Error
    {
        QString message; ///< what is wrong, for the user
        int position = -1; ///< character index in the text, -1 when none
        bool isError() const { return !message.isEmpty(); }
    };

    /// The empty filter, which matches every connection.
    ConnectionFilter();
    ~ConnectionFilter();
    ConnectionFilter(const ConnectionFilter &);
    ConnectionFilter &operator=(const ConnectionFilter &);

    /// Compiles @p text. On a syntax error returns the empty filter and fills @p error.
    static ConnectionFilter parse(const QString &text, Error *error = nullptr);

    bool isEmpty() const;
    QString text() const;
    /// Whether @p connection (on the gateway with id @p gid) passes the filter.
    bool matches(const Connection &connection, QStringView gid) const;

    /// Short syntax help for the user interface and `--help`.
    static QString syntaxHelp();

private:
    struct Compiled;
    std::shared_ptr<const Compiled> m_compiled;
};

} // namespace ResWatch
