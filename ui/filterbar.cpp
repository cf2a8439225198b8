#include "filterbar.h"

#include "connectionfilter.h"

#include <QAction>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QTimer>
#include <QToolButton>
#include <QToolTip>
#include <QVBoxLayout>

namespace ResWatch {

namespace {
constexpr int MaxRecentFilters = 15;
// Typing pauses shorter than this do not re-filter a million rows on every key.
constexpr int ApplyDelayMs = 250;
} // namespace

class FilterBar::Private
{
public:
    QComboBox *input = nullptr; // editable: the line edit plus the recent filters
    QLabel *error = nullptr;
    QLabel *counts = nullptr;
    QToolButton *help = nullptr;
    QTimer apply;
    QString appliedText;
    QStringList recent;
    int shown = 0;
    int total = 0;
    bool busy = false;

    QLineEdit *edit() const { return input->lineEdit(); }
};

FilterBar::FilterBar(QWidget *parent) : QWidget(parent), d(std::make_unique<Private>())
{
    d->input = new QComboBox(this);
    d->input->setEditable(true);
    d->input->setInsertPolicy(QComboBox::NoInsert);
    d->input->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    d->input->setMinimumContentsLength(30);
    d->edit()->setPlaceholderText(
        tr("Filter: role=admin  gid=gw-1  user.id>=42  -state=stale  alice or bob"));
    d->edit()->setClearButtonEnabled(true);
    d->input->setToolTip(ConnectionFilter::syntaxHelp());

    d->help = new QToolButton(this);
    d->help->setText(QStringLiteral("?"));
    d->help->setToolTip(tr("Filter syntax"));
    connect(d->help, &QToolButton::clicked, this, [this] {
        QToolTip::showText(d->help->mapToGlobal(QPoint(0, d->help->height())), ConnectionFilter::syntaxHelp(),
                           d->help);
    });

    d->error = new QLabel(this);
    d->error->setStyleSheet(QStringLiteral("color:#c62828;"));
    d->error->setTextInteractionFlags(Qt::TextSelectableByMouse);
    d->error->hide();

    d->counts = new QLabel(this);
    d->counts->setMinimumWidth(
        d->counts->fontMetrics().horizontalAdvance(QStringLiteral("1,000,000 of 1,000,000 connections")));
    d->counts->setAlignment(Qt::AlignRight | Qt::AlignVCenter);

    d->apply.setSingleShot(true);
    d->apply.setInterval(ApplyDelayMs);
    connect(&d->apply, &QTimer::timeout, this, &FilterBar::validate);
    connect(d->edit(), &QLineEdit::textEdited, &d->apply, qOverload<>(&QTimer::start));
    connect(d->edit(), &QLineEdit::returnPressed, this, [this] {
        d->apply.stop();
        validate();
        remember();
    });
    connect(d->input, &QComboBox::activated, this, [this] {
        d->apply.stop();
        validate();
    });

    auto *row = new QHBoxLayout;
    row->setContentsMargins(0, 0, 0, 0);
    row->addWidget(d->input, 1);
    row->addWidget(d->help);
    row->addWidget(d->counts);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    layout->addLayout(row);
    layout->addWidget(d->error);
    setCounts(0, 0);
}

FilterBar::~FilterBar() = default;

QString FilterBar::text() const
{
    return d->edit()->text();
}

void FilterBar::setText(const QString &text)
{
    d->edit()->setText(text);
    validate();
}

QString FilterBar::errorText() const
{
    return d->error->text();
}

QStringList FilterBar::recentFilters() const
{
    return d->recent;
}

void FilterBar::setRecentFilters(const QStringList &filters)
{
    d->recent = filters.mid(0, MaxRecentFilters);
    const QString current = d->edit()->text();
    d->input->clear();
    d->input->addItems(d->recent);
    d->edit()->setText(current);
}

void FilterBar::setCounts(int shown, int total)
{
    d->shown = shown;
    d->total = total;
    const QLocale locale;
    QString text = tr("%1 of %2 connections").arg(locale.toString(shown), locale.toString(total));
    if (d->busy)
        text = tr("filtering… ") + text;
    d->counts->setText(text);
}

void FilterBar::setBusy(bool filtering)
{
    d->busy = filtering;
    setCounts(d->shown, d->total);
}

void FilterBar::focusInput()
{
    d->edit()->setFocus(Qt::ShortcutFocusReason);
    d->edit()->selectAll();
}

void FilterBar::validate()
{
    const QString text = d->edit()->text();
    ConnectionFilter::Error error;
    const ConnectionFilter filter = ConnectionFilter::parse(text, &error);
    if (error.isError()) {
        // Keep the last good filter in force; show where the text goes wrong.
        QString message = error.message;
        if (error.position >= 0) {
            const QString marked = text.left(error.position) + QStringLiteral("▸") + text.mid(error.position);
            message = tr("%1 (at %2: %3); still showing the previous filter")
                          .arg(error.message)
                          .arg(error.position + 1)
                          .arg(marked);
        }
        d->error->setText(message);
        d->error->show();
        d->input->setStyleSheet(QStringLiteral("QComboBox { border: 1px solid #c62828; }"));
        return;
    }
    d->error->clear();
    d->error->hide();
    d->input->setStyleSheet(QString());
    if (text == d->appliedText)
        return;
    d->appliedText = text;
    Q_EMIT filterChanged(filter);
}

void FilterBar::remember()
{
    const QString text = d->edit()->text().trimmed();
    if (text.isEmpty() || !d->error->text().isEmpty())
        return;
    QStringList recent = d->recent;
    recent.removeAll(text);
    recent.prepend(text);
    setRecentFilters(recent);
    Q_EMIT recentFiltersChanged(d->recent);
}

} // namespace ResWatch
