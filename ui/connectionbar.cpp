#include "connectionbar.h"

#include <QDialog>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPointer>
#include <QPushButton>
#include <QRegularExpression>
#include <QToolButton>

namespace ResWatch {

class ConnectionBar::Private
{
public:
    QLineEdit *urls = nullptr;
    QToolButton *credentials = nullptr;
    QPushButton *connectButton = nullptr;
    QLabel *statusDot = nullptr;
    QLabel *status = nullptr;
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

    auto *layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(new QLabel(tr("NATS:"), this));
    layout->addWidget(d->urls, 3);
    layout->addWidget(d->credentials);
    layout->addWidget(d->connectButton);
    layout->addSpacing(8);
    layout->addWidget(d->statusDot);
    layout->addWidget(d->status, 2);

    setOptions(NatsOptions::fromEnvironment());
    showStatus(NatsConnection::Status::Closed);
}

ConnectionBar::~ConnectionBar() = default;

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
