// Embeds DashboardWidget in a host window, feeds its tracker one gateway and
// two connections, and checks that the table shows them.

#include <ResWatch/ConnectionsModel>
#include <ResWatch/DashboardWidget>
#include <ResWatch/Tracker>

#include <QApplication>
#include <QMainWindow>
#include <QTimer>

#include <cstdio>

int main(int argc, char *argv[])
{
    QApplication app(argc, argv);
    QMainWindow host;
    ResWatch::Tracker tracker;
    auto *dashboard = new ResWatch::DashboardWidget(&tracker, &host);
    host.setCentralWidget(dashboard);
    host.resize(1000, 700);
    host.show();

    const QByteArray gateway = R"({"gid":"gw-embedded"})";
    tracker.handleEvents({ { "conn.c1.connect", {}, gateway }, { "conn.c2.connect", {}, gateway } });
    tracker.flushChanges();

    int exitCode = 1;
    QTimer::singleShot(200, &app, [&] {
        const int rows = dashboard->connectionsModel()->rowCount();
        std::printf("embedded dashboard shows %d connections\n", rows);
        exitCode = rows == 2 ? 0 : 1;
        app.quit();
    });
    app.exec();
    return exitCode;
}
