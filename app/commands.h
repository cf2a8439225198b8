#pragma once

#include <QStringList>

// Each subcommand of `reswatch`: takes its arguments (the first is "reswatch <name>"),
// runs to completion and returns the process exit code. The application object
// exists already: a QApplication for the window and the demo, else a QCoreApplication.
int runWindow(const QStringList &arguments);
int runDemo(const QStringList &arguments);
int runSnapshot(const QStringList &arguments);
int runGateway(const QStringList &arguments);
int runDemoAuth(const QStringList &arguments);
int runLoad(const QStringList &arguments);
