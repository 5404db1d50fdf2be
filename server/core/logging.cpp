// SPDX-License-Identifier: AGPL-3.0-or-later
#include "core/logging.h"

#include "core/context.h"

#include <QDateTime>
#include <QLoggingCategory>
#include <QMutex>

#include <atomic>
#include <cstdio>

namespace valv::core {

namespace {
QMutex g_writeMutex;

void handler(QtMsgType type, const QMessageLogContext &ctx, const QString &msg)
{
    const char *level = "INFO ";
    switch (type) {
    case QtDebugMsg: level = "DEBUG"; break;
    case QtInfoMsg: level = "INFO "; break;
    case QtWarningMsg: level = "WARN "; break;
    case QtCriticalMsg: level = "ERROR"; break;
    case QtFatalMsg: level = "FATAL"; break;
    }
    const QByteArray line = QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs).toUtf8() + ' ' + level
        + ' ' + (ctx.category ? ctx.category : "default") + ' ' + msg.toUtf8() + '\n';
    QMutexLocker lock(&g_writeMutex);
    fwrite(line.constData(), 1, size_t(line.size()), stderr);
    fflush(stderr);
}
} // namespace

void setLogLevel(const QString &level)
{
    QString rules = QStringLiteral("qt.*.debug=false\n");
    if (level == QLatin1String("debug"))
        rules += QStringLiteral("valv.*.debug=true\n");
    else
        rules += QStringLiteral("*.debug=false\n");
    if (level == QLatin1String("warning") || level == QLatin1String("error"))
        rules += QStringLiteral("*.info=false\n");
    if (level == QLatin1String("error"))
        rules += QStringLiteral("*.warning=false\n");
    QLoggingCategory::setFilterRules(rules);
}

void installLogHandler(const QString &level)
{
    qInstallMessageHandler(handler);
    setLogLevel(level);
}

QString nextSessionId()
{
    static std::atomic<quint32> counter{0};
    // A multiplicative hash spreads consecutive ids so they are easy to tell apart.
    const quint32 n = (counter.fetch_add(1) + 1) * 2654435761u;
    return QString::number(n >> 12, 36).rightJustified(4, u'0').right(4);
}

} // namespace valv::core
