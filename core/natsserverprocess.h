#pragma once

#include "reswatchcore_export.h"

#include <QByteArray>
#include <QProcess>
#include <QString>
#include <QTemporaryDir>

namespace ResWatch {

/**
 * A nats-server child process on a free loopback port (`--ports_file_dir`
 * tells which), for the demo, the tests and the benchmarks. Stopped when
 * destroyed, and killed by the kernel if this process dies first, so no
 * server is ever left behind.
 */
class RESWATCH_CORE_EXPORT NatsServerProcess
{
public:
    struct Options
    {
        bool monitoring = false; ///< also serve /connz on a free port
        qint64 maxPayload = 0; ///< 0: the server's default (1 MiB)
        QStringList extraArguments;
        QByteArray extraConfig; ///< appended to the generated config file
    };

    NatsServerProcess();
    explicit NatsServerProcess(const Options &options);
    ~NatsServerProcess();
    NatsServerProcess(const NatsServerProcess &) = delete;
    NatsServerProcess &operator=(const NatsServerProcess &) = delete;

    /// Starts and waits until the server accepts clients. False with error() on failure.
    bool start();
    void stop(); ///< SIGTERM, then waits
    void kill(); ///< SIGKILL
    /// Starts again on the same client port (for reconnect tests).
    bool restart();

    bool isRunning() const;
    int port() const;
    int monitorPort() const; ///< 0 unless Options::monitoring
    QString url() const; ///< nats://127.0.0.1:<port>
    QString monitorUrl() const; ///< http://127.0.0.1:<monitorPort>
    QString error() const;

private:
    bool launch(int fixedPort);
    Options m_options;
    QTemporaryDir m_dir;
    QProcess m_process;
    int m_port = 0;
    int m_monitorPort = 0;
    QString m_error;
};

} // namespace ResWatch
