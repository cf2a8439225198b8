#include "testclientpanel.h"

#include "testclient.h"

#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QSpinBox>

namespace ResWatch {

class TestClientPanel::Private
{
public:
    TestClient client;
    QLineEdit *urls = nullptr;
    QSpinBox *count = nullptr;
    QDoubleSpinBox *rate = nullptr;
    QLineEdit *authMethod = nullptr;
    QLineEdit *authParams = nullptr;
    QLineEdit *roles = nullptr;
    QCheckBox *churn = nullptr;
    QLineEdit *churnRange = nullptr;
    QPushButton *startStop = nullptr;
    QLabel *stats = nullptr;
    QLabel *error = nullptr;
};

TestClientPanel::TestClientPanel(QWidget *parent) : QWidget(parent), d(std::make_unique<Private>())
{
    d->urls = new QLineEdit(QStringLiteral("ws://127.0.0.1:8080"), this);
    d->urls->setToolTip(tr("Gateway WebSocket URLs (ws:// or wss://), separated by commas; used in turn"));
    d->count = new QSpinBox(this);
    d->count->setRange(1, 1'000'000);
    d->count->setValue(100);
    d->rate = new QDoubleSpinBox(this);
    d->rate->setRange(0.1, 100'000);
    d->rate->setValue(100);
    d->rate->setSuffix(tr(" /s"));
    d->authMethod = new QLineEdit(QStringLiteral("auth.demo.login"), this);
    d->authMethod->setPlaceholderText(tr("none: connect without authenticating"));
    d->authParams = new QLineEdit(QString::fromUtf8(TestClientSettings().authParams), this);
    d->authParams->setToolTip(tr("{n} is the connection's number, {role} a role drawn from the mix"));
    d->roles = new QLineEdit(QStringLiteral("admin:1,guest:9"), this);
    d->churn = new QCheckBox(tr("Churn: each connection lives"), this);
    d->churnRange = new QLineEdit(QStringLiteral("5s..30s"), this);
    d->churnRange->setEnabled(false);
    connect(d->churn, &QCheckBox::toggled, d->churnRange, &QWidget::setEnabled);
    d->startStop = new QPushButton(tr("Start"), this);
    connect(d->startStop, &QPushButton::clicked, this, [this] {
        if (d->client.isRunning())
            stop();
        else
            start();
    });
    d->stats = new QLabel(tr("Not running."), this);
    d->stats->setWordWrap(true);
    d->stats->setTextInteractionFlags(Qt::TextSelectableByMouse);
    d->error = new QLabel(this);
    d->error->setStyleSheet(QStringLiteral("color:#c62828;"));
    d->error->setWordWrap(true);

    auto *churnRow = new QHBoxLayout;
    churnRow->addWidget(d->churn);
    churnRow->addWidget(d->churnRange);
    auto *form = new QFormLayout;
    form->addRow(tr("Gateway URLs:"), d->urls);
    form->addRow(tr("Connections:"), d->count);
    form->addRow(tr("Ramp rate:"), d->rate);
    form->addRow(tr("Auth request:"), d->authMethod);
    form->addRow(tr("Auth params:"), d->authParams);
    form->addRow(tr("Role mix:"), d->roles);
    form->addRow(churnRow);
    auto *layout = new QHBoxLayout(this);
    layout->addLayout(form, 1);
    auto *right = new QVBoxLayout;
    right->addWidget(d->startStop);
    right->addWidget(d->stats);
    right->addWidget(d->error);
    right->addStretch();
    layout->addLayout(right, 1);

    connect(&d->client, &TestClient::statsChanged, this, &TestClientPanel::showStats);
    connect(&d->client, &TestClient::runningChanged, this, [this](bool running) {
        d->startStop->setText(running ? tr("Stop") : tr("Start"));
        for (QWidget *field : std::initializer_list<QWidget *> { d->urls, d->count, d->rate, d->authMethod,
                                                                 d->authParams, d->roles, d->churn })
            field->setEnabled(!running);
        d->churnRange->setEnabled(!running && d->churn->isChecked());
    });
}

TestClientPanel::~TestClientPanel() = default;

TestClient *TestClientPanel::client() const
{
    return &d->client;
}

bool TestClientPanel::readSettings(TestClientSettings *settings, QString *error) const
{
    *settings = TestClientSettings();
    for (const QString &url :
         d->urls->text().split(QRegularExpression(QStringLiteral("[,\\s]+")), Qt::SkipEmptyParts))
        settings->urls << QUrl(url);
    settings->connections = d->count->value();
    settings->ratePerSecond = d->rate->value();
    settings->authMethod = d->authMethod->text().trimmed();
    settings->authParams = d->authParams->text().toUtf8();
    if (!settings->authMethod.isEmpty()
        && !TestClientSettings::parseRoles(d->roles->text(), &settings->roles, error))
        return false;
    if (d->churn->isChecked()
        && !TestClientSettings::parseChurn(d->churnRange->text(), &settings->churnMinMs,
                                           &settings->churnMaxMs, error))
        return false;
    *error = settings->validate();
    return error->isEmpty();
}

void TestClientPanel::setSettings(const TestClientSettings &settings)
{
    QStringList urls;
    for (const QUrl &url : settings.urls)
        urls << url.toString();
    d->urls->setText(urls.join(QStringLiteral(", ")));
    d->count->setValue(settings.connections);
    d->rate->setValue(settings.ratePerSecond);
    d->authMethod->setText(settings.authMethod);
    d->authParams->setText(QString::fromUtf8(settings.authParams));
    QStringList roles;
    for (const TestClientSettings::Role &role : settings.roles)
        roles << QStringLiteral("%1:%2").arg(role.name).arg(role.weight);
    d->roles->setText(roles.join(QLatin1Char(',')));
    d->churn->setChecked(settings.churnMaxMs > 0);
    if (settings.churnMaxMs > 0)
        d->churnRange->setText(
            QStringLiteral("%1ms..%2ms").arg(settings.churnMinMs).arg(settings.churnMaxMs));
}

bool TestClientPanel::start(QString *error)
{
    TestClientSettings settings;
    QString problem;
    const bool ok = readSettings(&settings, &problem) && d->client.start(settings, &problem);
    d->error->setText(ok ? QString() : problem);
    if (error)
        *error = problem;
    return ok;
}

void TestClientPanel::stop()
{
    d->client.stop();
}

void TestClientPanel::showStats()
{
    const TestClientStats stats = d->client.stats();
    QString text = tr("<b>%1</b> open, %2 opening, %3 opened in total, %4 failed, %5 dropped")
                       .arg(stats.open)
                       .arg(stats.opening)
                       .arg(stats.opened)
                       .arg(stats.failed)
                       .arg(stats.dropped);
    if (stats.authAccepted + stats.authRefused > 0)
        text += tr("<br>auth: %1 accepted, %2 refused").arg(stats.authAccepted).arg(stats.authRefused);
    text += tr("<br>handshake p50/p90/p99: %1 / %2 / %3 ms")
                .arg(stats.handshakeP50Ms, 0, 'f', 1)
                .arg(stats.handshakeP90Ms, 0, 'f', 1)
                .arg(stats.handshakeP99Ms, 0, 'f', 1);
    if (stats.authAccepted + stats.authRefused > 0)
        text += tr("<br>auth p50/p90/p99: %1 / %2 / %3 ms")
                    .arg(stats.authP50Ms, 0, 'f', 1)
                    .arg(stats.authP90Ms, 0, 'f', 1)
                    .arg(stats.authP99Ms, 0, 'f', 1);
    for (auto it = stats.failureReasons.cbegin(); it != stats.failureReasons.cend(); ++it)
        text += tr("<br>failed %1×: %2").arg(it.value()).arg(it.key().toHtmlEscaped());
    d->stats->setText(text);
}

} // namespace ResWatch
