#pragma once

#include "reswatchcore_export.h"

#include <QString>

namespace ResWatch {

/// Parses a duration such as "250ms", "5s", "1.5m", "2h" or a bare number of
/// seconds, as the command line and the settings take them. Returns -1 when
/// @p text is not a duration, or one longer than a year.
RESWATCH_CORE_EXPORT qint64 parseDurationMs(QStringView text);

/// "3m 12s", "2h 05m", "850ms": short, for tables and logs.
RESWATCH_CORE_EXPORT QString formatDuration(qint64 ms);

} // namespace ResWatch
