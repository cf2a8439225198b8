#pragma once

#include "natsconnection.h"

#include <QCommandLineParser>
#include <QString>

// The NATS options every `reswatch` command shares: --nats, --user, --password,
// --token, --creds, --tls-ca, --tls-cert, --tls-key, with NATS_URL (and
// NATS_USER, NATS_PASSWORD, NATS_TOKEN, NATS_CREDS) as defaults.
namespace ResWatch::NatsCli {

/// @p passwordOption names the NATS password option: a command whose own
/// --password means something else (demo-auth) passes "nats-password".
void addOptions(QCommandLineParser &parser, const QString &passwordOption = QStringLiteral("password"));

/// Fills @p options from the parsed command line and the environment. Returns
/// false with a one-line @p error when an option is unusable (a bad URL, a file
/// that cannot be read).
bool readOptions(const QCommandLineParser &parser, NatsOptions *options, QString *error,
                 const QString &passwordOption = QStringLiteral("password"));

/// "nats://a:4222, nats://b:4222" for messages (without credentials).
QString describeUrls(const NatsOptions &options);

} // namespace ResWatch::NatsCli
