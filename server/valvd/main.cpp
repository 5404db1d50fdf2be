// SPDX-License-Identifier: AGPL-3.0-or-later
// valvd: thin entry point; the daemon's wiring lives in daemon.cpp.
#include "valvd/daemon.h"

#include <QCoreApplication>

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("valvd"));
    return valv::runDaemon(app);
}
