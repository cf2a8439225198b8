#pragma once

#include <QStringList>

// Each subcommand of `reswatch`: takes its arguments (argv[0] is "reswatch <name>"),
// runs to completion and returns the process exit code. QCoreApplication exists.
int runSnapshot(const QStringList &arguments);
int runGateway(const QStringList &arguments);
int runDemoAuth(const QStringList &arguments);
