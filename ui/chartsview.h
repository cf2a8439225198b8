#pragma once

#include "reswatchwidgets_export.h"

#include <QWidget>

#include <memory>

namespace ResWatch {

class Tracker;

/**
 * Connection counts per gateway over time (one line per gateway), and connects
 * and disconnects per second, for the last 5 minutes, 15 minutes or hour.
 *
 * Samples once per second. Each series keeps its points in a list that is
 * trimmed in place and pushed with one QXYSeries::replace() per sample, as the
 * Qt Charts examples do for live data; there is never a series per connection.
 */
class RESWATCH_WIDGETS_EXPORT ChartsView : public QWidget
{
    Q_OBJECT
public:
    explicit ChartsView(Tracker *tracker, QWidget *parent = nullptr);
    ~ChartsView() override;

    /// How much history is shown, in seconds (300, 900 or 3600).
    int windowSeconds() const;
    void setWindowSeconds(int seconds);

    /// Points currently in the gateway series named @p gid (for tests).
    int pointCount(const QString &gid) const;
    /// Points currently in the connects-per-second series.
    int ratePointCount() const;

public Q_SLOTS:
    /// Takes one sample now (the view also samples once a second by itself).
    void sample();

private:
    class Private;
    std::unique_ptr<Private> d;
};

} // namespace ResWatch
