#include "gatewaysview.h"

#include "connection.h"
#include "gatewaysmodel.h"

#include <QHeaderView>
#include <QLabel>
#include <QPainter>
#include <QStyledItemDelegate>
#include <QTableView>
#include <QTimer>
#include <QVBoxLayout>

namespace ResWatch {

namespace {

QColor stateColour(GatewayState state)
{
    switch (state) {
    case GatewayState::Up:
        return QColor(0x2e, 0x9d, 0x4f);
    case GatewayState::Stale:
        return QColor(0xe0, 0x8e, 0x0b);
    case GatewayState::Stopped:
        return QColor(0x9e, 0x9e, 0x9e);
    }
    return {};
}

/// Draws the state as a coloured dot before its word, so it reads at a glance and without colour.
class StateDelegate : public QStyledItemDelegate
{
public:
    using QStyledItemDelegate::QStyledItemDelegate;

    void paint(QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index) const override
    {
        QStyleOptionViewItem shifted = option;
        const int dot = option.fontMetrics.height() / 2 + 2;
        shifted.rect.adjust(dot + 8, 0, 0, 0);
        QStyledItemDelegate::paint(painter, shifted, index);
        const QVariant state = index.data(GatewaysModel::StateRole);
        if (!state.isValid())
            return;
        painter->save();
        painter->setRenderHint(QPainter::Antialiasing);
        painter->setPen(Qt::NoPen);
        painter->setBrush(stateColour(GatewayState(state.toInt())));
        const QRect r = option.rect;
        painter->drawEllipse(QRect(r.left() + 4, r.center().y() - dot / 2, dot, dot));
        painter->restore();
    }

    QSize sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const override
    {
        QSize size = QStyledItemDelegate::sizeHint(option, index);
        size.rwidth() += option.fontMetrics.height() / 2 + 10;
        return size;
    }
};

} // namespace

class GatewaysView::Private
{
public:
    GatewaysModel *model = nullptr;
    QTableView *table = nullptr;
};

GatewaysView::GatewaysView(GatewaysModel *model, QWidget *parent)
    : QWidget(parent), d(std::make_unique<Private>())
{
    d->model = model;
    d->table = new QTableView(this);
    d->table->setModel(model);
    d->table->setItemDelegateForColumn(GatewaysModel::StateColumn, new StateDelegate(d->table));
    d->table->setSelectionBehavior(QAbstractItemView::SelectRows);
    d->table->setSelectionMode(QAbstractItemView::ExtendedSelection);
    d->table->setSortingEnabled(false);
    d->table->setWordWrap(false);
    d->table->verticalHeader()->hide();
    d->table->horizontalHeader()->setStretchLastSection(true);
    d->table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    // Native or stock is the first thing to know about a gateway in a mixed fleet: keep it in
    // view in a narrow panel. The NATS client of stock gateways comes last (and in tooltips).
    d->table->horizontalHeader()->moveSection(GatewaysModel::SourceColumn, GatewaysModel::StateColumn + 1);
    d->table->setToolTip(
        tr("Select gateways to show only their connections; click an empty area to show all."));

    auto *title = new QLabel(tr("<b>Gateways</b>"), this);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(title);
    layout->addWidget(d->table);

    // The header sizes its sections to what was there when it last laid out; rows arriving later
    // (a fleet found after connecting) would stay elided. Once per event loop pass is enough.
    auto *resize = new QTimer(this);
    resize->setSingleShot(true);
    resize->setInterval(0);
    connect(resize, &QTimer::timeout, this,
            [this] { d->table->horizontalHeader()->resizeSections(QHeaderView::ResizeToContents); });
    connect(model, &QAbstractItemModel::rowsInserted, resize, qOverload<>(&QTimer::start));
    connect(model, &QAbstractItemModel::modelReset, resize, qOverload<>(&QTimer::start));
    connect(model, &QAbstractItemModel::dataChanged, resize, qOverload<>(&QTimer::start));

    connect(d->table->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            [this] { Q_EMIT selectedGatewaysChanged(selectedGateways()); });
    // Rows that leave the model leave the selection without a selectionChanged for them.
    connect(model, &QAbstractItemModel::rowsRemoved, this,
            [this] { Q_EMIT selectedGatewaysChanged(selectedGateways()); });
}

GatewaysView::~GatewaysView() = default;

QTableView *GatewaysView::table() const
{
    return d->table;
}

QSet<quint32> GatewaysView::selectedGateways() const
{
    QSet<quint32> gateways;
    for (const QModelIndex &row : d->table->selectionModel()->selectedRows())
        gateways.insert(row.data(GatewaysModel::GatewayIndexRole).toUInt());
    return gateways;
}

} // namespace ResWatch
