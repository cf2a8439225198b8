#pragma once

// Shared by the item models of ResWatch::Core. Not installed; not public API.

#include "reswatchcore_export.h"

#include <QByteArrayView>
#include <QLoggingCategory>
#include <QVector>

#include <algorithm>
#include <vector>

namespace ResWatch {

Q_DECLARE_LOGGING_CATEGORY(lcModels)

namespace ModelRanges {

struct Range
{
    int first;
    int last;
};

/// Sorts @p rows and merges neighbours into ranges (duplicates allowed).
inline std::vector<Range> coalesce(std::vector<int> rows)
{
    std::sort(rows.begin(), rows.end());
    std::vector<Range> ranges;
    for (int row : rows) {
        if (!ranges.empty() && row <= ranges.back().last + 1)
            ranges.back().last = std::max(ranges.back().last, row);
        else
            ranges.push_back({ row, row });
    }
    return ranges;
}

} // namespace ModelRanges
} // namespace ResWatch
