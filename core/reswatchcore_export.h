#pragma once

#include <QtCore/qglobal.h>

#if defined(RESWATCH_CORE_BUILD)
#    define RESWATCH_CORE_EXPORT Q_DECL_EXPORT
#else
#    define RESWATCH_CORE_EXPORT Q_DECL_IMPORT
#endif

// For symbols of private headers (_p.h) that the tests and benchmarks use.
#define RESWATCH_CORE_PRIVATE_EXPORT RESWATCH_CORE_EXPORT
