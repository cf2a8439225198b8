#include "clock.h"

#include <QDateTime>

namespace ResWatch {

Clock::~Clock() = default;

namespace {
class SystemClock final : public Clock
{
public:
    qint64 nowMs() const override { return QDateTime::currentMSecsSinceEpoch(); }
};
} // namespace

const Clock *Clock::system()
{
    static const SystemClock clock;
    return &clock;
}

} // namespace ResWatch
