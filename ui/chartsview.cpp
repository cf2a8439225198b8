#include "chartsview.h"

#include "clock.h"
#include "tracker.h"

#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QDateTime>
#include <QDateTimeAxis>
#include <QHBoxLayout>
#include <QHash>
#include <QLabel>
#include <QLineSeries>
#include <QPointer>
#include <QTimer>
#include <QVBoxLayout>
#include <QValueAxis>

namespace ResWatch {

namespace {

// One hour of one-second samples: the longest window.
constexpr int MaxHistorySeconds = 3600;

/// A line whose points are trimmed in place and pushed with one replace().
struct Track
{
    QLineSeries *series = nullptr;
    QList<QPointF> points;

    void append(qreal x, qreal y, qreal oldestX)
    {
        points.append(QPointF(x, y));
        qsizetype drop = 0;
        while (drop < points.size() && points.at(drop).x() < oldestX)
            ++drop;
        if (drop > 0)
            points.remove(0, drop);
        series->replace(points);
    }
};

QChart *makeChart(const QString &title, QDateTimeAxis **timeAxis, QValueAxis **valueAxis)
{
    auto *chart = new QChart;
    chart->setTitle(title);
    chart->legend()->setAlignment(Qt::AlignBottom);
    chart->setMargins(QMargins(4, 4, 4, 4));
    *timeAxis = new QDateTimeAxis;
    (*timeAxis)->setFormat(QStringLiteral("HH:mm:ss"));
    (*timeAxis)->setTickCount(6);
    *valueAxis = new QValueAxis;
    (*valueAxis)->setLabelFormat(QStringLiteral("%d"));
    (*valueAxis)->setMin(0);
    chart->addAxis(*timeAxis, Qt::AlignBottom);
    chart->addAxis(*valueAxis, Qt::AlignLeft);
    return chart;
}

} // namespace

class ChartsView::Private
{
public:
    QPointer<Tracker> tracker;
    int windowSeconds = 300;
    QChart *gatewaysChart = nullptr;
    QDateTimeAxis *gatewaysTime = nullptr;
    QValueAxis *gatewaysValue = nullptr;
    QChart *ratesChart = nullptr;
    QDateTimeAxis *ratesTime = nullptr;
    QValueAxis *ratesValue = nullptr;
    QHash<QString, Track> gatewayTracks;
    Track connects;
    Track disconnects;
    int pendingConnects = 0;
    int pendingDisconnects = 0;
    qint64 lastSampleMs = 0;

    Track newTrack(QChart *chart, QDateTimeAxis *time, QValueAxis *value, const QString &name)
    {
        Track track;
        track.series = new QLineSeries(chart);
        track.series->setName(name);
        chart->addSeries(track.series);
        track.series->attachAxis(time);
        track.series->attachAxis(value);
        return track;
    }

    static void fitValueAxis(QValueAxis *axis, const QList<const Track *> &tracks)
    {
        qreal top = 0;
        for (const Track *track : tracks)
            for (const QPointF &point : track->points)
                top = qMax(top, point.y());
        // Qt picks a range and tick count on round numbers, so the axis neither jitters every
        // second nor labels ticks at 12.5.
        axis->setRange(0, qMax<qreal>(5, top * 1.1));
        axis->applyNiceNumbers();
    }
};

ChartsView::ChartsView(Tracker *tracker, QWidget *parent) : QWidget(parent), d(std::make_unique<Private>())
{
    d->tracker = tracker;

    auto *window = new QComboBox(this);
    window->addItem(tr("5 minutes"), 300);
    window->addItem(tr("15 minutes"), 900);
    window->addItem(tr("1 hour"), 3600);
    connect(window, &QComboBox::currentIndexChanged, this,
            [this, window](int index) { setWindowSeconds(window->itemData(index).toInt()); });

    d->gatewaysChart = makeChart(tr("Connections per gateway"), &d->gatewaysTime, &d->gatewaysValue);
    d->ratesChart = makeChart(tr("Connects and disconnects per second"), &d->ratesTime, &d->ratesValue);
    d->connects = d->newTrack(d->ratesChart, d->ratesTime, d->ratesValue, tr("connects/s"));
    d->disconnects = d->newTrack(d->ratesChart, d->ratesTime, d->ratesValue, tr("disconnects/s"));

    auto *gatewaysView = new QChartView(d->gatewaysChart, this);
    gatewaysView->setRenderHint(QPainter::Antialiasing);
    auto *ratesView = new QChartView(d->ratesChart, this);
    ratesView->setRenderHint(QPainter::Antialiasing);

    auto *header = new QHBoxLayout;
    header->addWidget(new QLabel(tr("Show the last"), this));
    header->addWidget(window);
    header->addStretch();
    // Side by side: the dashboard gives the charts a wide, short strip.
    auto *charts = new QHBoxLayout;
    charts->addWidget(gatewaysView, 3);
    charts->addWidget(ratesView, 2);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(header);
    layout->addLayout(charts, 1);

    if (tracker) {
        connect(tracker, &Tracker::changed, this, [this](const ChangeSet &changes) {
            d->pendingConnects += changes.connects;
            d->pendingDisconnects += changes.disconnects;
        });
    }
    auto *timer = new QTimer(this);
    timer->setInterval(1000);
    connect(timer, &QTimer::timeout, this, &ChartsView::sample);
    timer->start();
    setWindowSeconds(300);
}

ChartsView::~ChartsView() = default;

int ChartsView::windowSeconds() const
{
    return d->windowSeconds;
}

void ChartsView::setWindowSeconds(int seconds)
{
    d->windowSeconds = qBound(60, seconds, MaxHistorySeconds);
    if (d->tracker) {
        const qint64 now = d->tracker->clock()->nowMs();
        const QDateTime from = QDateTime::fromMSecsSinceEpoch(now - qint64(d->windowSeconds) * 1000);
        const QDateTime to = QDateTime::fromMSecsSinceEpoch(now);
        d->gatewaysTime->setRange(from, to);
        d->ratesTime->setRange(from, to);
    }
}

void ChartsView::sample()
{
    if (!d->tracker)
        return;
    const qint64 now = d->tracker->clock()->nowMs();
    const qreal x = qreal(now);
    // Points are kept for the longest window, so switching windows shows history at once.
    const qreal oldest = qreal(now - qint64(MaxHistorySeconds) * 1000);

    for (const Gateway &gateway : d->tracker->gateways()) {
        auto it = d->gatewayTracks.find(gateway.gid);
        if (gateway.removed) {
            if (it != d->gatewayTracks.end()) {
                d->gatewaysChart->removeSeries(it->series);
                delete it->series;
                d->gatewayTracks.erase(it);
            }
            continue;
        }
        if (it == d->gatewayTracks.end())
            it = d->gatewayTracks.insert(
                gateway.gid, d->newTrack(d->gatewaysChart, d->gatewaysTime, d->gatewaysValue, gateway.gid));
        it->append(x, gateway.connectionCount, oldest);
    }

    const qreal seconds = d->lastSampleMs > 0 ? qMax<qreal>(0.001, (now - d->lastSampleMs) / 1000.0) : 1.0;
    d->connects.append(x, d->pendingConnects / seconds, oldest);
    d->disconnects.append(x, d->pendingDisconnects / seconds, oldest);
    d->pendingConnects = d->pendingDisconnects = 0;
    d->lastSampleMs = now;

    QList<const Track *> gatewayTracks;
    for (const Track &track : std::as_const(d->gatewayTracks))
        gatewayTracks << &track;
    Private::fitValueAxis(d->gatewaysValue, gatewayTracks);
    Private::fitValueAxis(d->ratesValue, { &d->connects, &d->disconnects });
    setWindowSeconds(d->windowSeconds);
}

int ChartsView::pointCount(const QString &gid) const
{
    const auto it = d->gatewayTracks.constFind(gid);
    return it == d->gatewayTracks.cend() ? 0 : int(it->series->count());
}

int ChartsView::ratePointCount() const
{
    return int(d->connects.series->count());
}

} // namespace ResWatch
