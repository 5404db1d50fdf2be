// SPDX-License-Identifier: AGPL-3.0-or-later
// valvctl: set up a data dir and manage domains, users and aliases.
// For now it works on the data dir directly (config.db is safe to change while valvd
// runs: SQLite WAL with a busy timeout); the admin API moves these onto the network.
#include "valvctl/commands.h"

#include <QCoreApplication>

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("valvctl"));
    QStringList args = app.arguments();
    args.removeFirst();
    return valv::ctl::run(args);
}
