#include "openfilelimit.h"

#include <cerrno>
#include <cstring>
#include <sys/resource.h>

QString raiseOpenFileLimit(const QString &what, quint64 wanted)
{
    // Descriptors the process needs besides the connections (NATS, X11, files, pipes).
    constexpr quint64 Reserve = 64;
    rlimit limit {};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return {};
    if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < wanted) {
        // Only a privileged process may raise the hard limit; try, quietly.
        const rlimit higher { rlim_t(wanted), rlim_t(wanted) };
        if (setrlimit(RLIMIT_NOFILE, &higher) == 0)
            return {};
    }
    if (limit.rlim_cur < limit.rlim_max) {
        const rlim_t old = limit.rlim_cur;
        limit.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &limit) != 0)
            return QStringLiteral("cannot raise the open-file limit from %1 (%2), so at most about %3 %4")
                .arg(quint64(old))
                .arg(QString::fromLocal8Bit(std::strerror(errno)))
                .arg(quint64(old) > Reserve ? quint64(old) - Reserve : 0)
                .arg(what);
    }
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < wanted)
        return QStringLiteral("the open-file limit is %1 (hard limit), so at most about %2 %3; "
                              "raise it with ulimit -Hn as root")
            .arg(quint64(limit.rlim_cur))
            .arg(quint64(limit.rlim_cur) > Reserve ? quint64(limit.rlim_cur) - Reserve : 0)
            .arg(what);
    return {};
}
