// SPDX-License-Identifier: AGPL-3.0-or-later
#include "outbound/smtpreply.h"

namespace valv::outbound {

namespace {
// "d.ddd.ddd" followed by a space or the end: its length, else 0.
qsizetype enhancedLength(const QByteArray &t)
{
    if (t.size() < 5 || (t[0] != '2' && t[0] != '4' && t[0] != '5') || t[1] != '.')
        return 0;
    qsizetype i = 2;
    for (int part = 0; part < 2; ++part) {
        const qsizetype start = i;
        while (i < t.size() && i - start < 3 && t[i] >= '0' && t[i] <= '9')
            ++i;
        if (i == start)
            return 0;
        if (part == 0) {
            if (i >= t.size() || t[i] != '.')
                return 0;
            ++i;
        }
    }
    return (i == t.size() || t[i] == ' ') ? i : 0;
}
} // namespace

QString SmtpReply::toString() const
{
    if (code == 0)
        return text;
    QString s = QString::number(code);
    if (!enhanced.isEmpty())
        s += u' ' + enhanced;
    if (!text.isEmpty())
        s += u' ' + text;
    return s;
}

void ReplyParser::feed(const QByteArray &bytes)
{
    if (m_broken)
        return;
    if (m_pos > 0 && m_pos == m_buf.size()) {
        m_buf.clear();
        m_pos = 0;
    }
    m_buf += bytes;
}

ReplyParser::Event ReplyParser::next()
{
    auto malformed = [this](const QString &why) {
        m_broken = true;
        m_error = why;
        m_buf.clear();
        m_pos = 0;
        Event e;
        e.type = Event::Type::Malformed;
        e.error = why;
        return e;
    };
    if (m_broken) {
        Event e;
        e.type = Event::Type::Malformed;
        e.error = m_error;
        return e;
    }
    while (true) {
        const qsizetype nl = m_buf.indexOf('\n', m_pos);
        if (nl < 0) {
            if (m_buf.size() - m_pos > kMaxReplyLine + 1) // + the CR of a line still arriving
                return malformed(QStringLiteral("reply line too long"));
            if (m_pos > 0) {
                m_buf.remove(0, m_pos);
                m_pos = 0;
            }
            return {};
        }
        QByteArray line = m_buf.mid(m_pos, nl - m_pos);
        m_pos = nl + 1;
        if (line.endsWith('\r'))
            line.chop(1);
        if (line.size() > kMaxReplyLine)
            return malformed(QStringLiteral("reply line too long"));
        bool ok = line.size() >= 3;
        int code = 0;
        for (qsizetype i = 0; ok && i < 3; ++i) {
            ok = line[i] >= '0' && line[i] <= '9';
            code = code * 10 + (line[i] - '0');
        }
        ok = ok && code >= 200 && code <= 599 && (line.size() == 3 || line[3] == '-' || line[3] == ' ');
        if (!ok)
            return malformed(QStringLiteral("malformed reply line: %1").arg(QString::fromUtf8(line.left(200))));
        if (!m_lines.isEmpty() && code != m_code)
            return malformed(QStringLiteral("reply lines with different codes"));
        m_code = code;
        m_lines.append(line.mid(4));
        if (m_lines.size() > kMaxReplyLines)
            return malformed(QStringLiteral("reply with too many lines"));
        if (line.size() > 3 && line[3] == '-')
            continue;
        Event e;
        e.type = Event::Type::Reply;
        e.reply.code = code;
        QStringList texts;
        for (QByteArray t : std::exchange(m_lines, {})) {
            e.lines.append(QString::fromUtf8(t));
            const qsizetype n = enhancedLength(t);
            if (n > 0) {
                const QString found = QString::fromLatin1(t.left(n));
                if (e.reply.enhanced.isEmpty())
                    e.reply.enhanced = found;
                if (found == e.reply.enhanced)
                    t = t.mid(n + (n < t.size() ? 1 : 0));
            }
            if (!t.isEmpty())
                texts.append(QString::fromUtf8(t));
        }
        e.reply.text = texts.join(u' ');
        return e;
    }
}

} // namespace valv::outbound
