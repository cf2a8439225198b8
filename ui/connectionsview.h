#pragma once

#include "reswatchwidgets_export.h"

#include <QWidget>

#include <memory>

class QTableView;

namespace ResWatch {

class ConnectionsModel;

/**
 * The connections table and the details of the selected connection: its
 * pretty-printed token and its timeline. Columns are sortable and can be
 * hidden from the header's context menu; stale rows are greyed. The model is
 * not owned.
 */
class RESWATCH_WIDGETS_EXPORT ConnectionsView : public QWidget
{
    Q_OBJECT
public:
    explicit ConnectionsView(ConnectionsModel *model, QWidget *parent = nullptr);
    ~ConnectionsView() override;

    ConnectionsModel *model() const;
    QTableView *table() const;

    /// Tracker slots of the selected rows, in row order.
    QVector<quint32> selectedSlots() const;
    /// The selected rows as CSV (header included), as Ctrl+C copies them.
    QByteArray selectedRowsCsv() const;

    /// Column widths, order and visibility, for QSettings.
    QByteArray saveLayout() const;
    void restoreLayout(const QByteArray &state);

public Q_SLOTS:
    void copySelection();

Q_SIGNALS:
    void selectionChanged();

private:
    void showColumnMenu(const QPoint &position);
    void showRowMenu(const QPoint &position);
    void updateDetails();

    class Private;
    std::unique_ptr<Private> d;
};

} // namespace ResWatch
