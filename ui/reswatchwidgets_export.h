#pragma once

#include <QtCore/qglobal.h>

#if defined(RESWATCH_WIDGETS_BUILD)
#    define RESWATCH_WIDGETS_EXPORT Q_DECL_EXPORT
#else
#    define RESWATCH_WIDGETS_EXPORT Q_DECL_IMPORT
#endif
