#include "eventlogview.h"

#include "eventlogmodel.h"

#include <QHeaderView>
#include <QLineEdit>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QVBoxLayout>

namespace ResWatch {

class EventLogView::Private
{
public:
    QLineEdit *filter = nullptr;
    QSortFilterProxyModel *proxy = nullptr; // the log is capped, so the generic proxy is cheap here
    QTableView *table = nullptr;
};

EventLogView::EventLogView(EventLogModel *model, QWidget *parent)
    : QWidget(parent), d(std::make_unique<Private>())
{
    d->filter = new QLineEdit(this);
    d->filter->setPlaceholderText(tr("Filter the log"));
    d->filter->setClearButtonEnabled(true);

    d->proxy = new QSortFilterProxyModel(this);
    d->proxy->setSourceModel(model);
    d->proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
    d->proxy->setFilterKeyColumn(-1);
    connect(d->filter, &QLineEdit::textChanged, d->proxy, &QSortFilterProxyModel::setFilterFixedString);

    d->table = new QTableView(this);
    d->table->setModel(d->proxy);
    d->table->setSelectionBehavior(QAbstractItemView::SelectRows);
    d->table->setWordWrap(false);
    d->table->verticalHeader()->hide();
    d->table->verticalHeader()->setDefaultSectionSize(d->table->fontMetrics().height() + 6);
    d->table->horizontalHeader()->setStretchLastSection(true);
    d->table->setColumnWidth(EventLogModel::TimeColumn,
                             d->table->fontMetrics().horizontalAdvance(QStringLiteral("00:00:00.000__")));

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(d->filter);
    layout->addWidget(d->table);
}

EventLogView::~EventLogView() = default;

void EventLogView::setFilterText(const QString &text)
{
    d->filter->setText(text);
}

int EventLogView::visibleRowCount() const
{
    return d->proxy->rowCount();
}

} // namespace ResWatch
