#pragma once

#include <QStringList>

// Each subcommand of `reswatch`: takes its arguments (argv[0] is "reswatch <name>"),
// runs to completion and returns the process exit code. QCoreApplication exists.
int runSnapshot(const QStringList &arguments);
int runGateway(const QStringList &arguments);
int runDemoAuth(const QStringList &arguments);
int runTrack(const QStringList &arguments);

namespace ResWatch {
struct NatsOptions;
}
/// `snapshot --monitor`: reads the stock fleet behind @p monitors (http(s):// monitoring URLs,
/// or nats://user:pass@host with system-account credentials) once and writes its connections as
/// CSV to @p csvPath ("-" or empty: stdout). With @p observeOn, native gateways on that NATS
/// server are polled too (a mixed fleet). A one-shot read sees no requests, so the tokens of
/// stock connections stay unknown (empty). Errors go to stderr; returns the exit code.
int runMonitorSnapshot(const QStringList &monitors, const QString &csvPath, const QString &filter,
                       const ResWatch::NatsOptions *observeOn = nullptr, int timeoutMs = 5000);
