#include "connection.h"

namespace ResWatch {

QString toString(ConnectionState state)
{
    switch (state) {
    case ConnectionState::Live:
        return QStringLiteral("live");
    case ConnectionState::Stale:
        return QStringLiteral("stale");
    }
    return {};
}

QString toString(Source source)
{
    switch (source) {
    case Source::Event:
        return QStringLiteral("event");
    case Source::Poll:
        return QStringLiteral("poll");
    case Source::Monitor:
        return QStringLiteral("monitor");
    }
    return {};
}

QString toString(GatewayState state)
{
    switch (state) {
    case GatewayState::Up:
        return QStringLiteral("up");
    case GatewayState::Stale:
        return QStringLiteral("stale");
    case GatewayState::Stopped:
        return QStringLiteral("stopped");
    }
    return {};
}

QString toString(EndReason reason)
{
    switch (reason) {
    case EndReason::Disconnected:
        return QStringLiteral("disconnected");
    case EndReason::GatewayStopped:
        return QStringLiteral("gateway stopped");
    case EndReason::GatewayRestarted:
        return QStringLiteral("gateway restarted");
    case EndReason::GatewayLost:
        return QStringLiteral("gateway lost");
    case EndReason::AbsentFromPoll:
        return QStringLiteral("absent from poll");
    }
    return {};
}

} // namespace ResWatch
