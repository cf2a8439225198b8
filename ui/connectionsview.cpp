#include "connectionsview.h"

#include "clock.h"
#include "connectionsmodel.h"
#include "csvwriter.h"
#include "duration.h"
#include "tracker.h"

#include <QAction>
#include <QApplication>
#include <QBuffer>
#include <QClipboard>
#include <QDateTime>
#include <QFontDatabase>
#include <QHeaderView>
#include <QJsonDocument>
#include <QMenu>
#include <QPlainTextEdit>
#include <QSplitter>
#include <QStyledItemDelegate>
#include <QTableView>
#include <QTimer>
#include <QVBoxLayout>

namespace ResWatch {

namespace {

/// Greys and italicises the rows of stale connections, whatever the style.
class StaleRowDelegate : public QStyledItemDelegate
{
public:
    using QStyledItemDelegate::QStyledItemDelegate;

protected:
    void initStyleOption(QStyleOptionViewItem *option, const QModelIndex &index) const override
    {
        QStyledItemDelegate::initStyleOption(option, index);
        if (index.data(ConnectionsModel::StaleRole).toBool()) {
            option->font.setItalic(true);
            option->palette.setColor(QPalette::Text,
                                     option->palette.color(QPalette::Disabled, QPalette::Text));
        }
    }
};

QString time(qint64 ms)
{
    return ms > 0 ? QDateTime::fromMSecsSinceEpoch(ms).toString(QStringLiteral("yyyy-MM-dd HH:mm:ss"))
                  : QString();
}

} // namespace

class ConnectionsView::Private
{
public:
    ConnectionsModel *model = nullptr;
    QTableView *table = nullptr;
    QPlainTextEdit *details = nullptr;
    QTimer durationTicker;

    /// Repaints the duration cells on screen: the model does not signal durations as they
    /// tick, and a dataChanged over a million rows would make every view walk them.
    void repaintDurations()
    {
        if (!table->isVisible() || table->isColumnHidden(ConnectionsModel::DurationColumn))
            return;
        const int x = table->columnViewportPosition(ConnectionsModel::DurationColumn);
        const int width = table->columnWidth(ConnectionsModel::DurationColumn);
        QWidget *viewport = table->viewport();
        if (x + width <= 0 || x >= viewport->width())
            return;
        viewport->update(QRect(x, 0, width, viewport->height()));
    }
};

ConnectionsView::ConnectionsView(ConnectionsModel *model, QWidget *parent)
    : QWidget(parent), d(std::make_unique<Private>())
{
    d->model = model;
    d->table = new QTableView(this);
    d->table->setModel(model);
    d->table->setItemDelegate(new StaleRowDelegate(d->table));
    // The indicator first: enabling sorting sorts by it, and only once (enabling it first
    // sorted a million rows by cid, then again by connect time).
    d->table->horizontalHeader()->setSortIndicator(ConnectionsModel::ConnectedAtColumn,
                                                   Qt::DescendingOrder); // newest first
    d->table->setSortingEnabled(true);
    d->table->setSelectionBehavior(QAbstractItemView::SelectRows);
    d->table->setSelectionMode(QAbstractItemView::ExtendedSelection);
    d->table->setWordWrap(false);
    d->table->setAlternatingRowColors(true);
    d->table->setContextMenuPolicy(Qt::CustomContextMenu);
    // Uniform rows: the view never measures a million rows.
    d->table->verticalHeader()->hide();
    d->table->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    d->table->verticalHeader()->setDefaultSectionSize(d->table->fontMetrics().height() + 6);
    QHeaderView *header = d->table->horizontalHeader();
    header->setSectionsMovable(true);
    header->setHighlightSections(false);
    header->setContextMenuPolicy(Qt::CustomContextMenu);
    header->setDefaultSectionSize(100);
    d->table->setColumnWidth(
        ConnectionsModel::CidColumn,
        d->table->fontMetrics().horizontalAdvance(QStringLiteral("dc9dgu5qmd2ttjddp3dg__")));
    d->table->setColumnWidth(
        ConnectionsModel::ConnectedAtColumn,
        d->table->fontMetrics().horizontalAdvance(QStringLiteral("2026-12-04 15:12:56__")));
    // Short values: narrow columns leave room for the token's claims.
    d->table->setColumnWidth(ConnectionsModel::StateColumn,
                             d->table->fontMetrics().horizontalAdvance(QStringLiteral("stale____")));
    d->table->setColumnWidth(ConnectionsModel::DurationColumn,
                             d->table->fontMetrics().horizontalAdvance(QStringLiteral("59m 59s___")));
    d->table->setColumnWidth(ConnectionsModel::TidColumn,
                             d->table->fontMetrics().horizontalAdvance(tr("unknown since 00:00__")));
    // Technical columns start hidden so the token's claims are in view; the column chooser brings them back.
    for (int column : { ConnectionsModel::TidColumn, ConnectionsModel::HostColumn,
                        ConnectionsModel::SourceColumn, ConnectionsModel::TokenColumn })
        d->table->hideColumn(column);
    connect(header, &QHeaderView::customContextMenuRequested, this, &ConnectionsView::showColumnMenu);
    connect(d->table, &QTableView::customContextMenuRequested, this, &ConnectionsView::showRowMenu);
    connect(d->table->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] {
        updateDetails();
        Q_EMIT selectionChanged();
    });
    connect(model, &QAbstractItemModel::dataChanged, this, &ConnectionsView::updateDetails);
    d->durationTicker.setInterval(1000);
    connect(&d->durationTicker, &QTimer::timeout, this, [this] { d->repaintDurations(); });
    d->durationTicker.start();

    auto *copy = new QAction(tr("Copy rows as CSV"), this);
    copy->setShortcut(QKeySequence::Copy);
    copy->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    connect(copy, &QAction::triggered, this, &ConnectionsView::copySelection);
    d->table->addAction(copy);

    d->details = new QPlainTextEdit(this);
    d->details->setReadOnly(true);
    d->details->setPlaceholderText(tr("Select a connection to see its token and timeline."));
    QFont mono = QFontDatabase::systemFont(QFontDatabase::FixedFont);
    d->details->setFont(mono);

    auto *splitter = new QSplitter(Qt::Horizontal, this);
    splitter->addWidget(d->table);
    splitter->addWidget(d->details);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 1);
    splitter->setSizes({ 800, 240 });
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(splitter);
}

ConnectionsView::~ConnectionsView() = default;

ConnectionsModel *ConnectionsView::model() const
{
    return d->model;
}

QTableView *ConnectionsView::table() const
{
    return d->table;
}

QVector<quint32> ConnectionsView::selectedSlots() const
{
    QModelIndexList rows = d->table->selectionModel()->selectedRows();
    std::sort(rows.begin(), rows.end(),
              [](const QModelIndex &a, const QModelIndex &b) { return a.row() < b.row(); });
    QVector<quint32> slotList;
    slotList.reserve(rows.size());
    for (const QModelIndex &row : std::as_const(rows)) {
        const qint64 slot = d->model->slotAt(row.row());
        if (slot >= 0)
            slotList.append(quint32(slot));
    }
    return slotList;
}

QByteArray ConnectionsView::selectedRowsCsv() const
{
    const Tracker *tracker = d->model->tracker();
    if (!tracker)
        return {};
    QVector<CsvRow> rows;
    for (quint32 slot : selectedSlots()) {
        if (const Connection *connection = tracker->connectionAt(slot))
            rows.append({ connection, tracker->gateways().value(int(connection->gateway)).gid });
    }
    if (rows.isEmpty())
        return {};
    QByteArray csv;
    QBuffer buffer(&csv);
    buffer.open(QIODevice::WriteOnly);
    CsvWriter::write(&buffer, rows);
    return csv;
}

void ConnectionsView::copySelection()
{
    const QByteArray csv = selectedRowsCsv();
    if (!csv.isEmpty())
        QGuiApplication::clipboard()->setText(QString::fromUtf8(csv));
}

QByteArray ConnectionsView::saveLayout() const
{
    return d->table->horizontalHeader()->saveState();
}

void ConnectionsView::restoreLayout(const QByteArray &state)
{
    if (!state.isEmpty())
        d->table->horizontalHeader()->restoreState(state);
}

void ConnectionsView::showColumnMenu(const QPoint &position)
{
    QMenu menu(this);
    menu.addSection(tr("Columns"));
    for (int column = 0; column < d->model->columnCount(); ++column) {
        QAction *action = menu.addAction(d->model->headerData(column, Qt::Horizontal).toString());
        action->setCheckable(true);
        action->setChecked(!d->table->isColumnHidden(column));
        connect(action, &QAction::toggled, d->table,
                [this, column](bool shown) { d->table->setColumnHidden(column, !shown); });
    }
    menu.exec(d->table->horizontalHeader()->mapToGlobal(position));
}

void ConnectionsView::showRowMenu(const QPoint &position)
{
    const QModelIndex index = d->table->indexAt(position);
    if (!index.isValid())
        return;
    QMenu menu(this);
    const QString cid = index.data(ConnectionsModel::CidRole).toString();
    const QByteArray token = index.data(ConnectionsModel::TokenRole).toByteArray();
    menu.addAction(tr("Copy cid"), this, [cid] { QGuiApplication::clipboard()->setText(cid); });
    QAction *copyToken = menu.addAction(tr("Copy token JSON"), this, [token] {
        QGuiApplication::clipboard()->setText(QString::fromUtf8(token));
    });
    copyToken->setEnabled(!token.isEmpty());
    menu.addAction(tr("Copy selected rows as CSV"), QKeySequence::Copy, this,
                   &ConnectionsView::copySelection);
    menu.exec(d->table->viewport()->mapToGlobal(position));
}

void ConnectionsView::updateDetails()
{
    const QModelIndex current = d->table->selectionModel()->currentIndex();
    const Tracker *tracker = d->model->tracker();
    const qint64 slot = current.isValid() ? d->model->slotAt(current.row()) : -1;
    const Connection *connection = tracker && slot >= 0 ? tracker->connectionAt(quint32(slot)) : nullptr;
    if (!connection || !d->table->selectionModel()->isRowSelected(current.row(), {})) {
        d->details->clear();
        return;
    }
    const QString gid = tracker->gateways().value(int(connection->gateway)).gid;
    QString text = tr("cid        %1\ngateway    %2\nstate      %3\n")
                       .arg(connection->cid.toString(), gid, toString(connection->state));
    if (!connection->remoteAddr().isEmpty())
        text += tr("remote     %1\n").arg(QString::fromUtf8(connection->remoteAddr()));
    if (!connection->host().isEmpty())
        text += tr("host       %1\n").arg(QString::fromUtf8(connection->host()));
    text += tr("\nTimeline\n");
    text += tr("  %1  connected (%2)\n").arg(time(connection->connectedAtMs), toString(connection->source));
    if (connection->tokenSetAtMs > 0)
        text += tr("  %1  token %2%3\n")
                    .arg(time(connection->tokenSetAtMs), connection->hasToken() ? tr("set") : tr("cleared"),
                         connection->tid().isEmpty()
                             ? QString()
                             : tr(" (tid %1)").arg(QString::fromUtf8(connection->tid())));
    text += tr("  now                  connected for %1\n")
                .arg(formatDuration(tracker->clock()->nowMs() - connection->connectedAtMs));
    text += tr("\nToken\n");
    if (connection->hasToken()) {
        // Tokens may be any JSON; QJsonDocument only pretty-prints objects and arrays.
        const QJsonDocument document = QJsonDocument::fromJson(connection->token);
        text += document.isNull() ? QString::fromUtf8(connection->token) + QLatin1Char('\n')
                                  : QString::fromUtf8(document.toJson(QJsonDocument::Indented));
    } else if (!connection->isTokenKnown()) {
        text += tr("  (unknown since %1: not seen since ResWatch started watching)\n")
                    .arg(time(connection->tokenUnknownSinceMs));
    } else
        text += tr("  (none)\n");
    d->details->setPlainText(text);
}

} // namespace ResWatch
