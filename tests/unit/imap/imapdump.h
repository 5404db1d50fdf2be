// SPDX-License-Identifier: AGPL-3.0-or-later
// Test helper: a compact, readable text form of a parsed Command, so table rows can
// state what a command means ("FETCH seq=12 atts=[FLAGS BODY[HEADER.FIELDS (DATE FROM)]]").
// Only fields that differ from their defaults are printed.
#pragma once

#include "imap/imapreceiver.h"

#include <QStringList>

namespace valv::imap::test {

inline QString bytes(const QByteArray &b) { return QString::fromUtf8(b); }

inline QString list(const QList<QByteArray> &l)
{
    QStringList out;
    for (const auto &b : l)
        out << bytes(b);
    return QLatin1Char('[') + out.join(QLatin1Char(' ')) + QLatin1Char(']');
}

inline QString seq(const SequenceSet &s)
{
    if (s.saved)
        return QStringLiteral("$");
    QStringList parts;
    auto num = [](uint32_t n) { return n == 0 ? QStringLiteral("*") : QString::number(n); };
    for (const auto &r : s.ranges)
        parts << (r.first == r.last ? num(r.first) : num(r.first) + QLatin1Char(':') + num(r.last));
    return parts.join(QLatin1Char(','));
}

inline QString section(const Section &s)
{
    QStringList parts;
    for (uint32_t p : s.part)
        parts << QString::number(p);
    static const char *const texts[] = {"", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME"};
    if (s.text != Section::Text::None)
        parts << QLatin1String(texts[int(s.text)]);
    QString out = parts.join(QLatin1Char('.'));
    if (!s.fields.isEmpty())
        out += QLatin1Char(' ') + list(s.fields).replace(QLatin1Char('['), QLatin1Char('(')).replace(QLatin1Char(']'), QLatin1Char(')'));
    return QLatin1Char('[') + out + QLatin1Char(']');
}

inline QString fetchAtt(const FetchAtt &a)
{
    using K = FetchAtt::Kind;
    static const char *const names[] = {"ENVELOPE", "FLAGS", "INTERNALDATE", "RFC822", "RFC822.HEADER",
                                        "RFC822.SIZE", "RFC822.TEXT", "BODY", "BODYSTRUCTURE", "UID",
                                        "BODY", "BINARY", "BINARY.SIZE", "MODSEQ", "EMAILID", "THREADID",
                                        "SAVEDATE", "PREVIEW"};
    QString out = QLatin1String(names[int(a.kind)]);
    if (a.peek)
        out += QStringLiteral(".PEEK");
    if (a.kind == K::BodySection || a.kind == K::Binary || a.kind == K::BinarySize)
        out += section(a.section);
    if (a.partial)
        out += QStringLiteral("<%1.%2>").arg(a.partial->offset).arg(a.partial->length);
    if (a.lazy)
        out += QStringLiteral("(LAZY)");
    return out;
}

inline QString searchKey(const SearchKey &k)
{
    using K = SearchKey::Kind;
    static const char *const names[] = {
        "ALL", "ANSWERED", "BCC", "BEFORE", "BODY", "CC", "DELETED", "DRAFT", "FLAGGED", "FROM", "HEADER",
        "KEYWORD", "LARGER", "NEW", "NOT", "OLD", "ON", "OR", "RECENT", "SEEN", "SENTBEFORE", "SENTON",
        "SENTSINCE", "SINCE", "SMALLER", "SUBJECT", "TEXT", "TO", "UID", "UNANSWERED", "UNDELETED",
        "UNDRAFT", "UNFLAGGED", "UNKEYWORD", "UNSEEN", "SET", "AND", "MODSEQ", "YOUNGER", "OLDER",
        "EMAILID", "THREADID", "SAVEDATESUPPORTED", "SAVEDBEFORE", "SAVEDON", "SAVEDSINCE"};
    QStringList args;
    if (!k.field.isEmpty())
        args << bytes(k.field);
    if (!k.string.isEmpty() || k.kind == K::Subject || k.kind == K::From || k.kind == K::Body
        || k.kind == K::Text || k.kind == K::To || k.kind == K::Header)
        args << QLatin1Char('"') + k.string + QLatin1Char('"');
    if (k.date.isValid())
        args << k.date.toString(Qt::ISODate);
    if (k.number)
        args << QString::number(k.number);
    if (k.kind == K::Uid || k.kind == K::SequenceSet)
        args << seq(k.set);
    for (const auto &c : k.children)
        args << searchKey(c);
    QString out = QLatin1String(names[int(k.kind)]);
    if (!args.isEmpty())
        out += QLatin1Char('(') + args.join(QLatin1Char(' ')) + QLatin1Char(')');
    return out;
}

inline QString dump(const Command &c)
{
    static const char *const names[] = {
        "CAPABILITY", "NOOP", "LOGOUT", "STARTTLS", "AUTHENTICATE", "LOGIN", "ENABLE", "SELECT",
        "EXAMINE", "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE", "LIST", "LSUB",
        "NAMESPACE", "STATUS", "APPEND", "IDLE", "CHECK", "CLOSE", "UNSELECT", "EXPUNGE", "SEARCH",
        "FETCH", "STORE", "COPY", "MOVE", "ID", "GETQUOTA", "GETQUOTAROOT", "SETQUOTA", "SORT",
        "THREAD", "COMPRESS", "DONE", "GETMETADATA", "SETMETADATA"};
    QStringList out;
    out << (c.uid ? QStringLiteral("UID ") : QString()) + QLatin1String(names[int(c.name)]);
    auto add = [&](const char *key, const QString &value) { out << QLatin1String(key) + QLatin1Char('=') + value; };
    if (!c.mailbox.isEmpty())
        add("mailbox", c.mailbox);
    if (!c.newMailbox.isEmpty())
        add("to", c.newMailbox);
    if (c.name == CommandName::List || c.name == CommandName::Lsub) {
        add("ref", QLatin1Char('"') + c.reference + QLatin1Char('"'));
        add("patterns", QLatin1Char('[') + QStringList(c.patterns).join(QLatin1Char(' ')) + QLatin1Char(']'));
    }
    if (!c.listSelectOptions.isEmpty())
        add("select", list(c.listSelectOptions));
    if (!c.listReturnOptions.isEmpty())
        add("return", list(c.listReturnOptions));
    if (!c.statusItems.isEmpty())
        add("status", list(c.statusItems));
    if (!c.createSpecialUse.isEmpty())
        add("use", list(c.createSpecialUse));
    if (c.condstore)
        out << QStringLiteral("condstore");
    if (c.qresync) {
        QString q = QStringLiteral("%1 %2").arg(c.qresync->uidValidity).arg(c.qresync->modSeq);
        if (c.qresync->knownUids)
            q += QLatin1Char(' ') + seq(*c.qresync->knownUids);
        if (c.qresync->seqMatch)
            q += QStringLiteral(" (%1 %2)").arg(seq(c.qresync->seqMatch->first), seq(c.qresync->seqMatch->second));
        add("qresync", QLatin1Char('(') + q + QLatin1Char(')'));
    }
    if (!c.userName.isEmpty() || c.name == CommandName::Login) {
        add("user", bytes(c.userName));
        add("pass", bytes(c.password));
    }
    if (!c.saslMechanism.isEmpty())
        add("mech", bytes(c.saslMechanism));
    if (c.saslInitialResponse)
        add("ir", bytes(*c.saslInitialResponse));
    if (!c.capabilities.isEmpty())
        add("caps", list(c.capabilities));
    if (!c.appendFlags.isEmpty())
        add("flags", list(c.appendFlags));
    if (c.appendDate)
        add("date", c.appendDate->toString(Qt::ISODate));
    if (c.name == CommandName::Append)
        add("message", QString::number(c.appendMessage.size()) + QLatin1Char(':') + bytes(c.appendMessage.left(16)));
    if (c.appendBinary)
        out << QStringLiteral("binary");
    if (c.appendUtf8)
        out << QStringLiteral("utf8");
    if (!c.sequence.ranges.isEmpty() || c.sequence.saved)
        add("seq", seq(c.sequence));
    if (!c.fetchAtts.isEmpty()) {
        QStringList atts;
        for (const auto &a : c.fetchAtts)
            atts << fetchAtt(a);
        add("atts", QLatin1Char('[') + atts.join(QLatin1Char(' ')) + QLatin1Char(']'));
    }
    if (c.changedSince)
        add("changedsince", QString::number(*c.changedSince));
    if (c.vanished)
        out << QStringLiteral("vanished");
    if (c.name == CommandName::Store) {
        QString s = c.store.mode == StoreArgs::Mode::Add ? QStringLiteral("+") : c.store.mode == StoreArgs::Mode::Remove ? QStringLiteral("-") : QString();
        s += c.store.silent ? QStringLiteral("FLAGS.SILENT") : QStringLiteral("FLAGS");
        add("store", s + list(c.store.flags));
        if (c.store.unchangedSince)
            add("unchangedsince", QString::number(*c.store.unchangedSince));
    }
    if (!c.charset.isEmpty())
        add("charset", bytes(c.charset));
    if (c.esearch) {
        QStringList r;
        const char *const bits[] = {"MIN", "MAX", "ALL", "COUNT", "SAVE"};
        for (int i = 0; i < 5; ++i) {
            if (c.searchReturn & (1 << i))
                r << QLatin1String(bits[i]);
        }
        add("esearch", QLatin1Char('(') + r.join(QLatin1Char(' ')) + QLatin1Char(')'));
    }
    if (!c.sortCriteria.isEmpty())
        add("sort", list(c.sortCriteria));
    if (!c.threadAlgorithm.isEmpty())
        add("thread", bytes(c.threadAlgorithm));
    if (c.name == CommandName::Search || c.name == CommandName::Sort || c.name == CommandName::Thread)
        add("keys", searchKey(c.searchKey));
    if (!c.idParams.isEmpty()) {
        QStringList p;
        for (const auto &[k, v] : c.idParams)
            p << bytes(k) + QLatin1Char(':') + (v ? bytes(*v) : QStringLiteral("NIL"));
        add("id", QLatin1Char('[') + p.join(QLatin1Char(' ')) + QLatin1Char(']'));
    }
    if (!c.quotaRoot.isEmpty() || c.name == CommandName::GetQuota || c.name == CommandName::SetQuota)
        add("root", QLatin1Char('"') + bytes(c.quotaRoot) + QLatin1Char('"'));
    if (!c.quotaLimits.isEmpty()) {
        QStringList p;
        for (const auto &[k, v] : c.quotaLimits)
            p << bytes(k) + QLatin1Char(':') + QString::number(v);
        add("limits", QLatin1Char('[') + p.join(QLatin1Char(' ')) + QLatin1Char(']'));
    }
    if (!c.compressMechanism.isEmpty())
        add("compress", bytes(c.compressMechanism));
    if (!c.metadataEntries.isEmpty())
        add("entries", list(c.metadataEntries));
    if (!c.metadataValues.isEmpty()) {
        QStringList p;
        for (const auto &[k, v] : c.metadataValues)
            p << bytes(k) + QLatin1Char(':') + (v ? bytes(*v) : QStringLiteral("NIL"));
        add("values", QLatin1Char('[') + p.join(QLatin1Char(' ')) + QLatin1Char(']'));
    }
    if (c.metadataMaxSize)
        add("maxsize", QString::number(*c.metadataMaxSize));
    if (!c.metadataDepth.isEmpty())
        add("depth", bytes(c.metadataDepth));
    return out.join(QLatin1Char(' '));
}

// Builds a ParseInput from wire text: each line ending in {N}, {N+} or ~{N} is followed
// (after its CRLF) by N literal bytes, as the receiver would splice them.
inline ParseInput fromWire(const QByteArray &wire)
{
    ParseInput in;
    qsizetype pos = 0;
    while (pos < wire.size()) {
        qsizetype lf = wire.indexOf("\r\n", pos);
        if (lf < 0)
            lf = wire.size();
        const QByteArray line = wire.mid(pos, lf - pos);
        in.bytes += line;
        pos = lf + 2;
        if (line.endsWith('}')) {
            const qsizetype open = line.lastIndexOf('{');
            QByteArray digits = line.mid(open + 1, line.size() - open - 2);
            if (digits.endsWith('+'))
                digits.chop(1);
            bool ok = false;
            const qsizetype n = digits.toLongLong(&ok);
            if (ok && pos <= wire.size()) {
                in.literals.append({in.bytes.size(), n});
                in.bytes += wire.mid(pos, n);
                pos += n;
            }
        }
    }
    return in;
}

} // namespace valv::imap::test
