#pragma once

#include <QString>

/**
 * Raises this process's open-file limit as far as it may go, towards
 * @p wanted descriptors. Every WebSocket connection costs a descriptor, and the
 * usual soft limit of 1024 would cap a gateway, a load test or the demo far
 * below what they are asked to hold. Returns a warning for the user, naming
 * @p what ("clients can connect"), when the limit stays below @p wanted;
 * otherwise an empty string.
 */
QString raiseOpenFileLimit(const QString &what, quint64 wanted = 65536);
