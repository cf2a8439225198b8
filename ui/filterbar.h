#pragma once

#include "reswatchwidgets_export.h"

#include <QWidget>

#include <memory>

namespace ResWatch {

class ConnectionFilter;

/**
 * The filter language's input line: validates as the user types, shows a
 * syntax error and its position inline while the last good filter stays in
 * force, offers a short syntax help and the recent filters, and always shows
 * "N of M connections".
 */
class RESWATCH_WIDGETS_EXPORT FilterBar : public QWidget
{
    Q_OBJECT
public:
    explicit FilterBar(QWidget *parent = nullptr);
    ~FilterBar() override;

    QString text() const;
    void setText(const QString &text);
    /// The error shown for the current text, or an empty string.
    QString errorText() const;

    QStringList recentFilters() const;
    void setRecentFilters(const QStringList &filters);

public Q_SLOTS:
    void setCounts(int shown, int total);
    void setBusy(bool filtering);
    /// Moves the keyboard focus to the input (Ctrl+F).
    void focusInput();

Q_SIGNALS:
    /// A new filter that parsed; the previous one stays in force while the text does not parse.
    void filterChanged(const ResWatch::ConnectionFilter &filter);
    void recentFiltersChanged(const QStringList &filters);

private:
    void validate();
    void remember();

    class Private;
    std::unique_ptr<Private> d;
};

} // namespace ResWatch
