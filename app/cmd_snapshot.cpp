#include "commands.h"

#include <cstdio>

int runSnapshot(const QStringList &)
{
    std::fputs("reswatch snapshot: not available in this build\n", stderr);
    return 2;
}
