#include "connectionbar.h"

#include <QCheckBox>
#include <QDateTime>
#include <QDialog>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPointer>
#include <QPushButton>
#include <QRegularExpression>
#include <QToolButton>
#include <QUrl>

namespace ResWatch {

class ConnectionBar::Private
{
public:
    QLineEdit *urls = nullptr;
    QToolButton *credentials = nullptr;
    QPushButton *connectButton = nullptr;
    QLabel *statusDot = nullptr;
    QLabel *status = nullptr;
    QLineEdit *monitors = nullptr;
    QCheckBox *systemAccount = nullptr;
    QLabel *monitorDot = nullptr;
    QLabel *monitorStatus = nullptr;
    NatsOptions options; // credentials live here; the URL field is the source of the URLs
    QPointer<NatsConnection> connection;
    QList<QMetaObject::Connection> connections;
    QString lastError;
};

ConnectionBar::ConnectionBar(QWidget *parent) : QWidget(parent), d(std::make_unique<Private>())
{
    d->urls = new QLineEdit(this);
    d->urls->setPlaceholderText(tr("nats://host:4222, nats://other:4222"));
    d->urls->setToolTip(tr("NATS server URLs of one cluster, separated by commas"));
    d->urls->setClearButtonEnabled(true);

    d->credentials = new QToolButton(this);
    d->credentials->setText(tr("Credentials…"));
    d->credentials->setToolTip(tr("User and password, token, credentials file, TLS certificates"));
    connect(d->credentials, &QToolButton::clicked, this, &ConnectionBar::editCredentials);

    d->connectButton = new QPushButton(tr("Connect"), this);
    connect(d->connectButton, &QPushButton::clicked, this, [this] {
        if (d->connection && d->connection->status() != NatsConnection::Status::Closed)
            Q_EMIT disconnectRequested();
        else
            Q_EMIT connectRequested(options());
    });
    connect(d->urls, &QLineEdit::returnPressed, d->connectButton, &QPushButton::click);

    d->statusDot = new QLabel(this);
    d->statusDot->setFixedSize(12, 12);
    d->status = new QLabel(this);
    d->status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    d->status->setMinimumWidth(160);

    d->monitors = new QLineEdit(this);
    d->monitors->setObjectName(QStringLiteral("monitorUrls"));
    d->monitors->setPlaceholderText(tr("http://host:8222 — stock Resgate gateways (optional)"));
    d->monitors->setToolTip(
        tr("nats-server monitoring URLs, one per cluster node, separated by commas. Stock Resgate "
           "gateways are found there (through their conn.<cid>.* subscriptions) and shown next to "
           "the gateways that speak the tracking protocol."));
    d->monitors->setClearButtonEnabled(true);
    connect(d->monitors, &QLineEdit::returnPressed, d->connectButton, &QPushButton::click);
    d->systemAccount = new QCheckBox(tr("System account"), this);
    d->systemAccount->setObjectName(QStringLiteral("systemAccount"));
    d->systemAccount->setToolTip(
        tr("Ask every server of the cluster at once through $SYS.REQ.SERVER.PING.CONNZ on the NATS "
           "connection above (its credentials must be those of the system account)"));
    d->monitorDot = new QLabel(this);
    d->monitorDot->setFixedSize(12, 12);
    d->monitorStatus = new QLabel(this);
    d->monitorStatus->setObjectName(QStringLiteral("monitorStatus"));
    d->monitorStatus->setTextInteractionFlags(Qt::TextSelectableByMouse);
    // A long error must not widen the window: the tooltip has the whole text.
    d->monitorStatus->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    d->status->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);

    auto *layout = new QGridLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setVerticalSpacing(4);
    layout->addWidget(new QLabel(tr("NATS:"), this), 0, 0);
    layout->addWidget(d->urls, 0, 1);
    layout->addWidget(d->credentials, 0, 2);
    layout->addWidget(d->connectButton, 0, 3, 2, 1);
    layout->addWidget(d->statusDot, 0, 4);
    layout->addWidget(d->status, 0, 5);
    layout->addWidget(new QLabel(tr("Monitoring:"), this), 1, 0);
    layout->addWidget(d->monitors, 1, 1);
    layout->addWidget(d->systemAccount, 1, 2);
    layout->addWidget(d->monitorDot, 1, 4);
    layout->addWidget(d->monitorStatus, 1, 5);
    layout->setColumnStretch(1, 3);
    layout->setColumnStretch(5, 2);
    layout->setColumnMinimumWidth(5, 160);

    setOptions(NatsOptions::fromEnvironment());
    showStatus(NatsConnection::Status::Closed);
    setMonitorStatuses({});
}

ConnectionBar::~ConnectionBar() = default;

QStringList ConnectionBar::monitorUrls() const
{
    return d->monitors->text().split(QRegularExpression(QStringLiteral("[,\\s]+")), Qt::SkipEmptyParts);
}

void ConnectionBar::setMonitorUrls(const QStringList &urls)
{
    d->monitors->setText(urls.join(QStringLiteral(", ")));
}

bool ConnectionBar::useSystemAccount() const
{
    return d->systemAccount->isChecked();
}

void ConnectionBar::setUseSystemAccount(bool use)
{
    d->systemAccount->setChecked(use);
}

QString ConnectionBar::monitorStatusText() const
{
    return d->monitorStatus->text();
}

namespace {

/// "127.0.0.1:8222" for a URL, the scope itself otherwise ("$SYS nats://…").
QString shortScope(const QString &scope)
{
    if (scope.startsWith(QLatin1String("$SYS")))
        return QObject::tr("system account");
    const QUrl url(scope);
    if (url.isValid() && !url.host().isEmpty() && url.scheme().startsWith(QLatin1String("http")))
        return url.port() > 0 ? QStringLiteral("%1:%2").arg(url.host()).arg(url.port()) : url.host();
    return scope;
}

/// "1 stock gateway, 2 connections" (tr()'s plural forms need a translation loaded to drop "(s)").
QString fleetCounts(int gateways, int connections)
{
    return (gateways == 1 ? QObject::tr("1 stock gateway") : QObject::tr("%1 stock gateways").arg(gateways))
        + QStringLiteral(", ")
        + (connections == 1 ? QObject::tr("1 connection") : QObject::tr("%1 connections").arg(connections));
}

QString clockTime(qint64 ms)
{
    return QDateTime::fromMSecsSinceEpoch(ms).toString(QStringLiteral("HH:mm:ss"));
}

} // namespace

void ConnectionBar::setMonitorStatuses(const QVector<MonitorSource::Status> &statuses)
{
    if (statuses.isEmpty()) {
        d->monitorStatus->setText(tr("no monitoring: native gateways only"));
        d->monitorStatus->setToolTip(
            tr("Enter nats-server monitoring URLs to see stock Resgate gateways too."));
        d->monitorDot->setStyleSheet(QStringLiteral("background:#909090;border-radius:6px;"));
        return;
    }
    int ok = 0, failing = 0, pending = 0, gateways = 0, connections = 0;
    QStringList problems;
    QString tip = QStringLiteral("<table>");
    for (const MonitorSource::Status &s : statuses) {
        QString state;
        switch (s.state) {
        case MonitorSource::State::Ok:
            ++ok;
            gateways += s.gateways;
            connections += s.connections;
            state = tr("ok at %1: %2 on %3")
                        .arg(clockTime(s.lastSuccessMs), fleetCounts(s.gateways, s.connections),
                             s.servers == 1 ? tr("1 server") : tr("%1 servers").arg(s.servers));
            break;
        case MonitorSource::State::Pending:
            ++pending;
            state = tr("reading…");
            break;
        case MonitorSource::State::Error:
            ++failing;
            // "http://host:8222/varz: Connection refused": the bar names the endpoint once.
            problems << QStringLiteral("%1: %2").arg(shortScope(s.scope),
                                                     s.error.startsWith(s.scope + QLatin1Char('/'))
                                                         ? s.error.section(QStringLiteral(": "), 1)
                                                         : s.error);
            state = tr("<b>error</b>: %1").arg(s.error.toHtmlEscaped());
            if (s.stale)
                state += tr("<br>showing its gateways as last read at %1 (stale)")
                             .arg(clockTime(s.lastSuccessMs));
            break;
        }
        if (s.state != MonitorSource::State::Error)
            state = state.toHtmlEscaped();
        tip += QStringLiteral("<tr><td><nobr>%1</nobr></td><td>%2</td></tr>")
                   .arg(s.scope.toHtmlEscaped(), state);
    }
    tip += QStringLiteral("</table>");

    QString text;
    QColor colour;
    if (failing > 0) {
        text = problems.join(QStringLiteral("; "));
        if (ok > 0)
            text = tr("%1 ok; ").arg(ok) + text;
        colour = QColor(0xc6, 0x28, 0x28);
    } else if (pending > 0) {
        text = tr("reading…");
        colour = QColor(0xe0, 0xa0, 0x20);
    } else {
        text = statuses.size() == 1 ? tr("%1 ok").arg(shortScope(statuses.first().scope))
                                    : tr("%1 endpoints ok").arg(ok);
        text += QStringLiteral(": ") + fleetCounts(gateways, connections);
        colour = QColor(0x2e, 0x9d, 0x4f);
    }
    d->monitorStatus->setText(text);
    d->monitorStatus->setToolTip(tip);
    d->monitorDot->setToolTip(tip);
    d->monitorDot->setStyleSheet(QStringLiteral("background:%1;border-radius:6px;").arg(colour.name()));
}

NatsOptions ConnectionBar::options() const
{
    NatsOptions options = d->options;
    options.urls = d->urls->text().split(QRegularExpression(QStringLiteral("[,\\s]+")), Qt::SkipEmptyParts);
    if (options.urls.isEmpty())
        options.urls = NatsOptions::defaultUrls();
    return options;
}

void ConnectionBar::setOptions(const NatsOptions &options)
{
    d->options = options;
    d->urls->setText(options.urls.join(QStringLiteral(", ")));
}

void ConnectionBar::setConnection(NatsConnection *connection)
{
    for (const QMetaObject::Connection &c : std::as_const(d->connections))
        disconnect(c);
    d->connections.clear();
    d->connection = connection;
    d->lastError.clear();
    if (!connection) {
        showStatus(NatsConnection::Status::Closed);
        return;
    }
    d->connections << connect(connection, &NatsConnection::statusChanged, this,
                              [this](NatsConnection::Status status) { showStatus(status, d->lastError); });
    d->connections << connect(connection, &NatsConnection::errorOccurred, this, [this](const QString &error) {
        d->lastError = error;
        showStatus(d->connection ? d->connection->status() : NatsConnection::Status::Closed, error);
    });
    d->connections << connect(connection, &NatsConnection::connected, this, [this] { d->lastError.clear(); });
    d->connections << connect(connection, &NatsConnection::reconnected, this,
                              [this] { d->lastError.clear(); });
    showStatus(connection->status(), connection->lastError());
}

void ConnectionBar::showStatus(NatsConnection::Status status, const QString &error)
{
    QString text;
    QColor colour;
    switch (status) {
    case NatsConnection::Status::Connected:
        text = tr("connected to %1").arg(d->connection ? d->connection->connectedUrl() : QString());
        colour = QColor(0x2e, 0x9d, 0x4f);
        break;
    case NatsConnection::Status::Connecting:
        text = tr("connecting…");
        colour = QColor(0xe0, 0xa0, 0x20);
        break;
    case NatsConnection::Status::Reconnecting:
        text = tr("reconnecting…");
        colour = QColor(0xe0, 0xa0, 0x20);
        break;
    case NatsConnection::Status::Closed:
        text = tr("not connected");
        colour = QColor(0x90, 0x90, 0x90);
        break;
    }
    if (!error.isEmpty() && status != NatsConnection::Status::Connected) {
        text += QStringLiteral(": ") + error;
        colour = status == NatsConnection::Status::Closed ? QColor(0xc6, 0x28, 0x28) : colour;
    }
    d->status->setText(text);
    d->status->setToolTip(text);
    d->statusDot->setStyleSheet(QStringLiteral("background:%1;border-radius:6px;").arg(colour.name()));
    const bool active = d->connection && status != NatsConnection::Status::Closed;
    d->connectButton->setText(active ? tr("Disconnect") : tr("Connect"));
    d->urls->setEnabled(!active);
    d->credentials->setEnabled(!active);
    d->monitors->setEnabled(!active);
    d->systemAccount->setEnabled(!active);
}

void ConnectionBar::editCredentials()
{
    QDialog dialog(this);
    dialog.setWindowTitle(tr("NATS credentials"));
    auto *form = new QFormLayout;
    auto addField = [&](const QString &label, const QString &value, bool secret = false) {
        auto *edit = new QLineEdit(value, &dialog);
        if (secret)
            edit->setEchoMode(QLineEdit::Password);
        form->addRow(label, edit);
        return edit;
    };
    auto addFile = [&](const QString &label, const QString &value, const QString &filter) {
        auto *edit = new QLineEdit(value, &dialog);
        auto *browse = new QToolButton(&dialog);
        browse->setText(QStringLiteral("…"));
        connect(browse, &QToolButton::clicked, &dialog, [&dialog, edit, label, filter] {
            const QString file = QFileDialog::getOpenFileName(&dialog, label, edit->text(), filter);
            if (!file.isEmpty())
                edit->setText(file);
        });
        auto *row = new QHBoxLayout;
        row->addWidget(edit);
        row->addWidget(browse);
        form->addRow(label, row);
        return edit;
    };
    QLineEdit *user = addField(tr("User:"), d->options.user);
    QLineEdit *password = addField(tr("Password:"), d->options.password, true);
    QLineEdit *token = addField(tr("Token:"), d->options.token, true);
    QLineEdit *creds = addFile(tr("Credentials file:"), d->options.credentialsFile,
                               tr("NATS credentials (*.creds);;All files (*)"));
    QLineEdit *ca = addFile(tr("TLS CA certificate:"), d->options.caFile,
                            tr("Certificates (*.pem *.crt);;All files (*)"));
    QLineEdit *cert = addFile(tr("TLS client certificate:"), d->options.certFile,
                              tr("Certificates (*.pem *.crt);;All files (*)"));
    QLineEdit *key
        = addFile(tr("TLS client key:"), d->options.keyFile, tr("Keys (*.pem *.key);;All files (*)"));
    auto *note = new QLabel(tr("Passwords and tokens are kept in memory only."), &dialog);
    note->setEnabled(false);
    form->addRow(note);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, &dialog);
    connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
    auto *layout = new QVBoxLayout(&dialog);
    layout->addLayout(form);
    layout->addWidget(buttons);
    if (dialog.exec() != QDialog::Accepted)
        return;
    d->options.user = user->text();
    d->options.password = password->text();
    d->options.token = token->text();
    d->options.credentialsFile = creds->text();
    d->options.caFile = ca->text();
    d->options.certFile = cert->text();
    d->options.keyFile = key->text();
}

} // namespace ResWatch
