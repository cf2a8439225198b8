#include "natsserverprocess.h"

#include <QDeadlineTimer>
#include <QDir>
#include <QFile>
#include <QStandardPaths>
#include <QTcpSocket>
#include <QThread>

#include <cctype>
#include <csignal>
#include <sys/prctl.h>

namespace ResWatch {

NatsServerProcess::NatsServerProcess() : NatsServerProcess(Options {}) { }

NatsServerProcess::NatsServerProcess(const Options &options) : m_options(options)
{
    m_process.setProcessChannelMode(QProcess::MergedChannels);
    // If this process dies without stopping the server, the kernel stops it.
    m_process.setChildProcessModifier([] { ::prctl(PR_SET_PDEATHSIG, SIGTERM); });
}

NatsServerProcess::~NatsServerProcess()
{
    stop();
}

bool NatsServerProcess::start()
{
    return launch(-1);
}

bool NatsServerProcess::restart()
{
    stop();
    return launch(m_port);
}

bool NatsServerProcess::launch(int fixedPort)
{
    const QString executable = QStandardPaths::findExecutable(QStringLiteral("nats-server"));
    if (executable.isEmpty()) {
        m_error = QStringLiteral("nats-server is not installed (apt-get install nats-server)");
        return false;
    }
    if (!m_dir.isValid()) {
        m_error = QStringLiteral("cannot create a temporary directory");
        return false;
    }
    QByteArray config = "listen: 127.0.0.1:" + QByteArray::number(fixedPort) + "\n";
    if (m_options.monitoring)
        config += "http: 127.0.0.1:" + QByteArray::number(m_monitorPort > 0 ? m_monitorPort : -1) + "\n";
    if (m_options.maxPayload > 0)
        config += "max_payload: " + QByteArray::number(m_options.maxPayload) + "\n";
    config += m_options.extraConfig;
    const QString configPath = m_dir.filePath(QStringLiteral("nats.conf"));
    QFile configFile(configPath);
    if (!configFile.open(QIODevice::WriteOnly) || configFile.write(config) != config.size()) {
        m_error = QStringLiteral("cannot write %1").arg(configPath);
        return false;
    }
    configFile.close();

    // The ports file is named after the server's pid; remove old ones first.
    QDir dir(m_dir.path());
    for (const QString &old : dir.entryList({ QStringLiteral("*.ports") }))
        dir.remove(old);

    QStringList arguments { QStringLiteral("-c"), configPath, QStringLiteral("--ports_file_dir"),
                            m_dir.path() };
    arguments += m_options.extraArguments;
    // The server's log goes to a file: quiet for the demo and the benchmarks, at hand when it fails.
    m_process.setStandardOutputFile(logPath(), QIODevice::Append);
    m_process.start(executable, arguments);
    if (!m_process.waitForStarted(5000)) {
        m_error = QStringLiteral("cannot start nats-server: %1").arg(m_process.errorString());
        return false;
    }

    // nats-server writes <name>_<pid>.ports, JSON with "nats" and "monitoring" URL lists.
    const QDeadlineTimer deadline(10000);
    while (!deadline.hasExpired()) {
        if (m_process.state() != QProcess::Running) {
            m_error = QStringLiteral("nats-server exited with code %1: %2")
                          .arg(m_process.exitCode())
                          .arg(logTail());
            return false;
        }
        const QStringList files = dir.entryList({ QStringLiteral("*.ports") });
        if (!files.isEmpty()) {
            QFile ports(dir.filePath(files.first()));
            if (ports.open(QIODevice::ReadOnly)) {
                const QByteArray text = ports.readAll();
                auto portAfter = [&](const QByteArray &key) {
                    const int at = text.indexOf(key);
                    if (at < 0)
                        return 0;
                    const int colon = text.indexOf("127.0.0.1:", at);
                    if (colon < 0)
                        return 0;
                    int end = colon + 10;
                    while (end < text.size() && std::isdigit(uchar(text.at(end))))
                        ++end;
                    return text.mid(colon + 10, end - colon - 10).toInt();
                };
                m_port = portAfter("\"nats\"");
                if (m_options.monitoring)
                    m_monitorPort = portAfter("\"monitoring\"");
                if (m_port > 0 && (!m_options.monitoring || m_monitorPort > 0)) {
                    QTcpSocket probe;
                    probe.connectToHost(QStringLiteral("127.0.0.1"), quint16(m_port));
                    if (probe.waitForConnected(1000))
                        return true;
                }
            }
        }
        QThread::msleep(20);
    }
    m_error = QStringLiteral("nats-server did not report its ports in time");
    kill();
    return false;
}

void NatsServerProcess::stop()
{
    if (m_process.state() == QProcess::NotRunning)
        return;
    m_process.terminate();
    if (!m_process.waitForFinished(5000))
        kill();
}

void NatsServerProcess::kill()
{
    if (m_process.state() == QProcess::NotRunning)
        return;
    m_process.kill();
    m_process.waitForFinished(5000);
}

bool NatsServerProcess::isRunning() const
{
    return m_process.state() == QProcess::Running;
}
int NatsServerProcess::port() const
{
    return m_port;
}
int NatsServerProcess::monitorPort() const
{
    return m_monitorPort;
}
QString NatsServerProcess::url() const
{
    return QStringLiteral("nats://127.0.0.1:%1").arg(m_port);
}
QString NatsServerProcess::monitorUrl() const
{
    return QStringLiteral("http://127.0.0.1:%1").arg(m_monitorPort);
}
QString NatsServerProcess::logPath() const
{
    return m_dir.filePath(QStringLiteral("nats-server.log"));
}

QString NatsServerProcess::logTail() const
{
    QFile log(logPath());
    if (!log.open(QIODevice::ReadOnly))
        return {};
    const QList<QByteArray> lines = log.readAll().trimmed().split('\n');
    return QString::fromUtf8(lines.mid(qMax(0, int(lines.size()) - 3)).join(" / "));
}

QString NatsServerProcess::error() const
{
    return m_error;
}

} // namespace ResWatch
