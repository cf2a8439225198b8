#include "mainwindow.h"

#include "connectionfilter.h"
#include "dashboardwidget.h"
#include "natsconnection.h"

#include <QApplication>
#include <QCloseEvent>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QStatusBar>

using namespace ResWatch;

MainWindow::MainWindow(QWidget *parent) : QMainWindow(parent)
{
    setWindowTitle(tr("ResWatch"));
    // The icon is installed into the icon theme with the desktop entry.
    setWindowIcon(QIcon::fromTheme(QStringLiteral("io.github.reswatch.ResWatch")));
    m_dashboard = new DashboardWidget(this);
    setCentralWidget(m_dashboard);
    connect(m_dashboard, &DashboardWidget::statusMessage, this,
            [this](const QString &text) { statusBar()->showMessage(text, 10000); });
    createMenus();

    QSettings settings;
    if (!restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray()))
        resize(1400, 900);
    m_dashboard->restoreState(settings);
}

MainWindow::~MainWindow() = default;

void MainWindow::connectTo(const NatsOptions &options)
{
    m_dashboard->connectTo(options);
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    QSettings settings;
    settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
    m_dashboard->saveState(settings);
    event->accept();
}

void MainWindow::createMenus()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    file->addAction(m_dashboard->exportAction());
    file->addSeparator();
    QAction *quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    QMenu *view = menuBar()->addMenu(tr("&View"));
    view->addAction(m_dashboard->findAction());
    view->addAction(m_dashboard->pauseAction());

    QMenu *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("Filter &syntax"), this, [this] {
        QMessageBox::information(this, tr("Filter syntax"), ConnectionFilter::syntaxHelp());
    });
    help->addAction(tr("&About ResWatch"), this, [this] {
        QMessageBox::about(this, tr("About ResWatch"),
                           tr("<h3>ResWatch %1</h3><p>Shows, live, which clients are connected to a fleet of "
                              "Resgate gateways.</p>")
                               .arg(QApplication::applicationVersion()));
    });
}
