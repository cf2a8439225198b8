#include "duration.h"

#include <QRegularExpression>

namespace ResWatch {

qint64 parseDurationMs(QStringView text)
{
    static const QRegularExpression pattern(QStringLiteral("^\\s*(\\d+(?:\\.\\d+)?)\\s*(ms|s|m|h)?\\s*$"));
    const QRegularExpressionMatch match = pattern.match(text.toString());
    if (!match.hasMatch())
        return -1;
    const double value = match.capturedView(1).toDouble();
    const QStringView unit = match.capturedView(2);
    const double factor = unit == u"ms" ? 1 : unit == u"m" ? 60'000 : unit == u"h" ? 3'600'000 : 1000;
    // Beyond a year is a typo, and beyond qint64 the conversion would be undefined.
    constexpr double MaxMs = 366.0 * 24 * 3'600'000;
    return value * factor > MaxMs ? -1 : qint64(value * factor);
}

QString formatDuration(qint64 ms)
{
    if (ms < 0)
        ms = 0;
    if (ms < 1000)
        return QStringLiteral("%1ms").arg(ms);
    const qint64 seconds = ms / 1000;
    if (seconds < 60)
        return QStringLiteral("%1s").arg(seconds);
    if (seconds < 3600)
        return QStringLiteral("%1m %2s").arg(seconds / 60).arg(seconds % 60, 2, 10, QLatin1Char('0'));
    if (seconds < 86400)
        return QStringLiteral("%1h %2m")
            .arg(seconds / 3600)
            .arg((seconds / 60) % 60, 2, 10, QLatin1Char('0'));
    return QStringLiteral("%1d %2h").arg(seconds / 86400).arg((seconds / 3600) % 24, 2, 10, QLatin1Char('0'));
}

} // namespace ResWatch
