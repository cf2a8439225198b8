#include "cli.h"

#include <QCommandLineParser>
#include <QCoreApplication>

#include <cstdio>

namespace Cli {

int fail(const QString &command, const QString &message, int exitCode)
{
    std::fprintf(stderr, "%s: %s\n", qPrintable(command), qPrintable(message));
    std::fflush(stderr);
    return exitCode;
}

std::optional<int> parse(QCommandLineParser &parser, const QStringList &arguments, const QString &moreHelp,
                         bool refusePositional)
{
    const QString command = arguments.value(0, QStringLiteral("reswatch"));
    if (!parser.parse(arguments))
        return fail(command, parser.errorText(), 2);
    if (parser.isSet(QStringLiteral("help"))) {
        // Qt's usage line names the program as it was started ("build/app/reswatch"); say the command.
        QString help = parser.helpText();
        help.replace(QStringLiteral("Usage: %1").arg(QCoreApplication::arguments().value(0)),
                     QStringLiteral("Usage: %1").arg(command));
        std::fputs(qPrintable(help + moreHelp), stdout);
        return 0;
    }
    if (refusePositional && !parser.positionalArguments().isEmpty())
        return fail(command,
                    QStringLiteral("unexpected argument '%1'").arg(parser.positionalArguments().first()), 2);
    return std::nullopt;
}

} // namespace Cli
