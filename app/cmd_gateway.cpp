#include "commands.h"

#include <cstdio>

// Placeholder until the emulated gateway lands (issue 3).
int runGateway(const QStringList &)
{
    std::fputs("reswatch gateway: not available in this build\n", stderr);
    return 2;
}

int runDemoAuth(const QStringList &)
{
    std::fputs("reswatch demo-auth: not available in this build\n", stderr);
    return 2;
}
