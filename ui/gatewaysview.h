#pragma once

#include "reswatchwidgets_export.h"

#include <QSet>
#include <QWidget>

#include <memory>

class QTableView;

namespace ResWatch {

class GatewaysModel;

/**
 * The gateways panel: one row per gateway with its state as a colour and a
 * word (up, stale, stopped), its source (native or stock), connection count,
 * start time, last reply, missed polls and, for stock gateways, their NATS
 * client (with uptime and server in the tooltip). Selecting gateways narrows the connections table to them.
 * The model is not owned.
 */
class RESWATCH_WIDGETS_EXPORT GatewaysView : public QWidget
{
    Q_OBJECT
public:
    explicit GatewaysView(GatewaysModel *model, QWidget *parent = nullptr);
    ~GatewaysView() override;

    QTableView *table() const;
    /// Gateway indices (Connection::gateway) of the selected rows; empty when none is selected.
    QSet<quint32> selectedGateways() const;

Q_SIGNALS:
    void selectedGatewaysChanged(const QSet<quint32> &gateways);

private:
    class Private;
    std::unique_ptr<Private> d;
};

} // namespace ResWatch
