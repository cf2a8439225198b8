#pragma once

#include "reswatchcore_export.h"

#include <QtGlobal>

namespace ResWatch {

/// Where the tracker reads the time from, so tests can drive it.
class RESWATCH_CORE_EXPORT Clock
{
public:
    virtual ~Clock();
    /// Unix time in milliseconds.
    virtual qint64 nowMs() const = 0;

    /// The wall clock.
    static const Clock *system();
};

/// A clock that only moves when told to.
class RESWATCH_CORE_EXPORT ManualClock : public Clock
{
public:
    explicit ManualClock(qint64 nowMs = 1'764'000'000'000) : m_now(nowMs) { }
    qint64 nowMs() const override { return m_now; }
    void set(qint64 nowMs) { m_now = nowMs; }
    void advance(qint64 ms) { m_now += ms; }

private:
    qint64 m_now;
};

} // namespace ResWatch
