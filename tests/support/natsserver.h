#pragma once

#include "natsserverprocess.h"

/// Every NATS test starts its own server on a free loopback port.
using NatsServer = ResWatch::NatsServerProcess;
