#pragma once

#include "reswatchwidgets_export.h"

#include <QWidget>

#include <memory>

namespace ResWatch {

class EventLogModel;

/// The event log, newest first, with a text filter. The model is not owned.
class RESWATCH_WIDGETS_EXPORT EventLogView : public QWidget
{
    Q_OBJECT
public:
    explicit EventLogView(EventLogModel *model, QWidget *parent = nullptr);
    ~EventLogView() override;

    void setFilterText(const QString &text);
    /// Rows shown after the text filter.
    int visibleRowCount() const;

private:
    class Private;
    std::unique_ptr<Private> d;
};

} // namespace ResWatch
