#pragma once

#include <QString>
#include <QStringList>

#include <optional>

class QCommandLineParser;

// What every `reswatch` subcommand does with its command line before its own work.
namespace Cli {

/// Prints "<command>: <message>" on standard error (the command is the first of the
/// arguments, "reswatch snapshot") and returns @p exitCode.
int fail(const QString &command, const QString &message, int exitCode = 1);

/**
 * Parses @p arguments. Returns an exit code when the command is done: 0 after printing
 * --help (followed by @p moreHelp), 2 after a one-line usage error (an unknown option,
 * or a positional argument when @p refusePositional). Returns nullopt to go on.
 */
std::optional<int> parse(QCommandLineParser &parser, const QStringList &arguments,
                         const QString &moreHelp = {}, bool refusePositional = true);

} // namespace Cli
