// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 9051 §6.4.5 FETCH and §6.4.9 UID FETCH; §7.5.2 FETCH response; RFC 3516 BINARY.
#include "imap/imapsession.h"

#include "mime/messageindex.h"

#include <QLocale>

namespace valv::imap {

namespace {
QByteArray internalDate(const QDateTime &t)
{
    // RFC 9051 date-time: "17-Jul-1996 02:44:25 -0700"; stored in UTC.
    return '"' + QLocale::c().toString(t.toUTC(), QStringLiteral("dd-MMM-yyyy HH:mm:ss")).toLatin1() + " +0000\"";
}

QByteArray literal(const QByteArray &data, bool binary = false)
{
    return (binary ? "~{" : "{") + QByteArray::number(data.size()) + "}\r\n" + data;
}

QByteArray sectionSpec(const Section &s)
{
    QList<QByteArray> parts;
    for (uint32_t p : s.part)
        parts << QByteArray::number(p);
    QByteArray spec = parts.join('.');
    QByteArray text;
    switch (s.text) {
    case Section::Text::None: break;
    case Section::Text::Header: text = "HEADER"; break;
    case Section::Text::HeaderFields: text = "HEADER.FIELDS"; break;
    case Section::Text::HeaderFieldsNot: text = "HEADER.FIELDS.NOT"; break;
    case Section::Text::Text: text = "TEXT"; break;
    case Section::Text::Mime: text = "MIME"; break;
    }
    if (!text.isEmpty())
        spec += (spec.isEmpty() ? "" : ".") + text;
    if (s.text == Section::Text::HeaderFields || s.text == Section::Text::HeaderFieldsNot)
        spec += " (" + s.fields.join(' ') + ")";
    return spec;
}

mime::SectionText toMime(Section::Text t)
{
    switch (t) {
    case Section::Text::None: return mime::SectionText::None;
    case Section::Text::Header: return mime::SectionText::Header;
    case Section::Text::HeaderFields: return mime::SectionText::HeaderFields;
    case Section::Text::HeaderFieldsNot: return mime::SectionText::HeaderFieldsNot;
    case Section::Text::Text: return mime::SectionText::Text;
    case Section::Text::Mime: return mime::SectionText::Mime;
    }
    return mime::SectionText::None;
}

QByteArray applyPartial(const QByteArray &data, const std::optional<Partial> &p)
{
    if (!p)
        return data;
    if (p->offset >= uint32_t(data.size()))
        return QByteArray();
    return data.mid(p->offset, p->length);
}

bool hasFlag(const QList<QByteArray> &flags, const QByteArray &flag)
{
    return std::any_of(flags.begin(), flags.end(), [&](const QByteArray &f) { return f.compare(flag, Qt::CaseInsensitive) == 0; });
}

bool setsSeen(const FetchAtt &a)
{
    using K = FetchAtt::Kind;
    return ((a.kind == K::BodySection || a.kind == K::Binary) && !a.peek) || a.kind == K::Rfc822 || a.kind == K::Rfc822Text;
}
} // namespace

void ImapSession::cmdFetch(const Command &cmd)
{
    if (cmd.vanished && (!m_qresync || !cmd.uid || !cmd.changedSince))
        return bad(cmd.tag, "VANISHED needs QRESYNC enabled, UID FETCH and CHANGEDSINCE (RFC 7162 §3.2.6)");
    for (const FetchAtt &a : cmd.fetchAtts) {
        using K = FetchAtt::Kind;
        if (a.kind == K::SaveDate || a.kind == K::Preview)
            return bad(cmd.tag, "FETCH item not offered by this server");
        if (a.kind == K::ModSeq)
            enableCondstore();
    }
    if (cmd.changedSince)
        enableCondstore();
    const auto indexes = resolve(cmd.sequence, cmd.uid);
    if (!indexes)
        return bad(cmd.tag, "Invalid message sequence set");
    if (cmd.vanished)
        fetchVanished(cmd);
    // A FETCH that sets no \Seen only reads: one snapshot for all its messages.
    const store::ReadSnapshot snapshot = m_mail->readSnapshot(
        m_readOnly || std::none_of(cmd.fetchAtts.begin(), cmd.fetchAtts.end(), setsSeen));
    bool expungedMeanwhile = false;
    for (int i : *indexes) {
        if (cmd.changedSince && std::as_const(m_messages)[i].modSeq <= *cmd.changedSince)
            continue; // RFC 7162 §3.1.4.1
        QByteArray out;
        QString error;
        if (!fetchOne(i, cmd, out, error)) {
            if (error == QLatin1String("UNKNOWN-CTE"))
                return no(cmd.tag, "[UNKNOWN-CTE] The part's content-transfer-encoding cannot be decoded");
            if (error == QLatin1String("EXPUNGED")) {
                expungedMeanwhile = true;
                continue;
            }
            return serverBug(cmd.tag, error);
        }
        sink()->write(out);
    }
    if (expungedMeanwhile) {
        // RFC 9051 §7.1 EXPUNGEISSUED: another session expunged some of these; the
        // client learns which at its next NOOP, and may fetch the rest again.
        m_folderDirty = true;
        return no(cmd.tag, "[EXPUNGEISSUED] Some of the requested messages were expunged meanwhile");
    }
    if (std::exchange(m_changedBySelf, false))
        announceChange(m_folder.name); // \Seen was set
    ok(cmd.tag, cmd.uid ? "UID FETCH completed" : "FETCH completed");
}

bool ImapSession::fetchOne(int index, const Command &cmd, QByteArray &out, QString &error)
{
    using K = FetchAtt::Kind;
    // Read through a const view: a view shared with other sessions detaches only on change.
    const store::MessageMeta *meta = &std::as_const(m_messages)[index];
    bool flagsChanged = false;
    if (!m_readOnly && !hasFlag(meta->flags, "\\Seen")
        && std::any_of(cmd.fetchAtts.begin(), cmd.fetchAtts.end(), setsSeen)) {
        QList<QByteArray> flags = meta->flags;
        flags.append("\\Seen");
        auto modseq = m_mail->setFlags(m_folder.id, meta->uid, flags);
        if (!modseq) {
            error = modseq.error().code == int(store::MailError::NoSuchMessage) ? QStringLiteral("EXPUNGED")
                                                                                : modseq.error().message;
            return false;
        }
        store::MessageMeta &changed = m_messages[index];
        changed.flags = flags;
        changed.modSeq = *modseq;
        meta = &changed;
        flagsChanged = true;
        m_changedBySelf = true;
    }

    std::optional<QByteArray> raw;
    std::optional<store::MailStore::Structure> structure;
    auto loadRaw = [&]() -> bool {
        if (raw)
            return true;
        auto r = m_mail->raw(m_folder.id, meta->uid);
        if (!r) {
            error = r.error().code == int(store::MailError::NoSuchMessage) ? QStringLiteral("EXPUNGED") : r.error().message;
            return false;
        }
        raw = std::move(*r);
        return true;
    };
    // The header section alone (or the whole message when already read): what
    // RFC822.HEADER and BODY[HEADER...] of the top level need, without the body's pages.
    std::optional<QByteArray> header;
    auto loadHeader = [&]() -> const QByteArray * {
        if (raw)
            return &*raw;
        if (!header) {
            auto h = m_mail->header(m_folder.id, meta->uid);
            if (!h) {
                error = h.error().code == int(store::MailError::NoSuchMessage) ? QStringLiteral("EXPUNGED")
                                                                                : h.error().message;
                return nullptr;
            }
            header = std::move(*h);
        }
        return &*header;
    };
    auto loadStructure = [&]() -> bool {
        if (structure)
            return true;
        auto s = m_mail->structure(m_folder.id, meta->uid);
        if (!s) {
            error = s.error().code == int(store::MailError::NoSuchMessage) ? QStringLiteral("EXPUNGED") : s.error().message;
            return false;
        }
        structure = std::move(*s);
        return true;
    };

    QList<QByteArray> items;
    const bool askedUid = std::any_of(cmd.fetchAtts.begin(), cmd.fetchAtts.end(), [](const FetchAtt &a) { return a.kind == K::Uid; });
    bool askedFlags = false;
    if (cmd.uid && !askedUid)
        items << "UID " + QByteArray::number(meta->uid);
    for (const FetchAtt &a : cmd.fetchAtts) {
        switch (a.kind) {
        case K::Uid: items << "UID " + QByteArray::number(meta->uid); break;
        case K::Flags:
            askedFlags = true;
            items << "FLAGS (" + meta->flags.join(' ') + ")";
            break;
        case K::ModSeq: break; // added once, below
        case K::EmailId: items << "EMAILID (" + meta->emailId.toLatin1() + ")"; break;
        case K::ThreadId: items << "THREADID NIL"; break; // RFC 8474 §5.2: no thread ids here
        case K::InternalDate: items << "INTERNALDATE " + internalDate(meta->internalDate); break;
        case K::Rfc822Size: items << "RFC822.SIZE " + QByteArray::number(meta->size); break;
        case K::Envelope:
            if (!loadStructure())
                return false;
            items << "ENVELOPE " + structure->envelope;
            break;
        case K::BodyStructure:
            if (!loadStructure())
                return false;
            items << "BODYSTRUCTURE " + structure->bodyStructure;
            break;
        case K::Body:
            if (!loadStructure())
                return false;
            items << "BODY " + structure->body;
            break;
        case K::Rfc822:
            if (!loadRaw())
                return false;
            items << "RFC822 " + literal(*raw);
            break;
        case K::Rfc822Header: {
            const QByteArray *h = loadHeader();
            if (!h)
                return false;
            items << "RFC822.HEADER " + literal(mime::extractSection(*h, {}, mime::SectionText::Header).value_or(QByteArray()));
            break;
        }
        case K::Rfc822Text:
            if (!loadRaw())
                return false;
            items << "RFC822.TEXT " + literal(mime::extractSection(*raw, {}, mime::SectionText::Text).value_or(QByteArray()));
            break;
        case K::BodySection: {
            const mime::SectionText text = toMime(a.section.text);
            const bool headerOnly = a.section.part.isEmpty()
                && (text == mime::SectionText::Header || text == mime::SectionText::HeaderFields
                    || text == mime::SectionText::HeaderFieldsNot);
            const QByteArray *source = headerOnly ? loadHeader() : (loadRaw() ? &*raw : nullptr);
            if (!source)
                return false;
            const auto data = mime::extractSection(*source, a.section.part, text, a.section.fields);
            QByteArray name = "BODY[" + sectionSpec(a.section) + "]";
            if (a.partial)
                name += "<" + QByteArray::number(a.partial->offset) + ">";
            // A part that does not exist reads as empty (RFC 9051 §6.4.5 leaves it to the server).
            items << name + " " + literal(applyPartial(data.value_or(QByteArray()), a.partial));
            break;
        }
        case K::Binary:
        case K::BinarySize: {
            if (!loadRaw())
                return false;
            bool unknownCte = false;
            const auto data = mime::extractBinary(*raw, a.section.part, &unknownCte);
            if (unknownCte) {
                // RFC 3516 §4.3: the caller answers NO [UNKNOWN-CTE].
                error = QStringLiteral("UNKNOWN-CTE");
                return false;
            }
            QList<QByteArray> parts;
            for (uint32_t p : a.section.part)
                parts << QByteArray::number(p);
            if (a.kind == K::BinarySize) {
                items << "BINARY.SIZE[" + parts.join('.') + "] " + QByteArray::number(data.value_or(QByteArray()).size());
            } else {
                QByteArray name = "BINARY[" + parts.join('.') + "]";
                if (a.partial)
                    name += "<" + QByteArray::number(a.partial->offset) + ">";
                const QByteArray body = applyPartial(data.value_or(QByteArray()), a.partial);
                items << name + " " + literal(body, body.contains('\0'));
            }
            break;
        }
        default: break;
        }
    }
    if (flagsChanged && !askedFlags)
        items << "FLAGS (" + meta->flags.join(' ') + ")";
    // RFC 7162 §3.1.4.1/§3.1.5: MODSEQ when asked, with CHANGEDSINCE, or with flag changes.
    const bool askedModSeq = std::any_of(cmd.fetchAtts.begin(), cmd.fetchAtts.end(), [](const FetchAtt &a) { return a.kind == K::ModSeq; });
    if (m_condstore && (askedModSeq || cmd.changedSince || flagsChanged))
        items << "MODSEQ (" + QByteArray::number(meta->modSeq) + ")";
    out = "* " + QByteArray::number(index + 1) + " FETCH (" + items.join(' ') + ")\r\n";
    return true;
}

} // namespace valv::imap
