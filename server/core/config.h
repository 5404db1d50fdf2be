// SPDX-License-Identifier: AGPL-3.0-or-later
// valvd configuration: one table of options, each settable (in rising precedence) by its
// default, the config file (`key = value` lines, # comments), the environment
// (VALV_<KEY> with dots/dashes as underscores) and the command line (--key-with-dashes).
#pragma once

#include "result.h"

#include <QHash>
#include <QList>
#include <QString>
#include <QStringList>

namespace valv::core {

struct OptionSpec {
    QString key;          // e.g. "smtp_port"
    QString defaultValue;
    QString help;
    bool isFlag = false;  // boolean: "--x" alone means true
};

class Config {
public:
    // The options valvd knows, with defaults and help, in --help order.
    [[nodiscard]] static const QList<OptionSpec> &specs();

    // Builds the configuration from argv (without argv[0]) and the environment.
    // --config FILE (or VALV_CONFIG) names the file; a missing named file is an error.
    [[nodiscard]] static Result<Config> load(const QStringList &args, const QHash<QString, QString> &env);
    [[nodiscard]] static QString helpText();
    [[nodiscard]] static QString sampleFile(); // the documented default config file

    [[nodiscard]] QString value(const QString &key) const;
    [[nodiscard]] qint64 integer(const QString &key) const;
    [[nodiscard]] bool flag(const QString &key) const;
    [[nodiscard]] QString configFile() const { return m_file; }
    [[nodiscard]] bool helpRequested() const { return m_help; }
    [[nodiscard]] bool versionRequested() const { return m_version; }
    [[nodiscard]] bool sampleRequested() const { return m_sample; }

    // Re-reads the file (SIGHUP), keeping command-line and environment overrides on top.
    [[nodiscard]] Result<Config> reloaded() const;

private:
    [[nodiscard]] Result<void> validate() const;
    QHash<QString, QString> m_values;
    QHash<QString, QString> m_overrides; // from env and args
    QString m_file;
    bool m_help = false;
    bool m_version = false;
    bool m_sample = false;
};

} // namespace valv::core
