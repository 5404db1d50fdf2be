// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 9051 §6.4.5 FETCH and §6.4.6 STORE, with RFC 3516 BINARY, RFC 7162
// CONDSTORE/QRESYNC modifiers, RFC 8474 OBJECTID, RFC 8514 SAVEDATE, RFC 8970 PREVIEW.
//
// Implementation notes:
// - Macros ALL/FAST/FULL expand to their attribute lists (RFC 9051 §6.4.5).
// - VANISHED needs UID FETCH and CHANGEDSINCE (RFC 7162 §3.2.6); otherwise it is BAD.
#include "imap/parser_commands.h"

#include <limits>

namespace valv::imap::detail {

namespace {

bool isDigit(int c) { return c >= '0' && c <= '9'; }

FetchAtt att(FetchAtt::Kind kind)
{
    FetchAtt a;
    a.kind = kind;
    return a;
}

// header-list = "(" header-fld-name *(SP header-fld-name) ")"
bool parseHeaderList(Lexer &lx, QList<QByteArray> &fields)
{
    if (!lx.sp("header list") || !lx.expect('(', "'(' opening header list") || !lx.enter())
        return false;
    do {
        auto f = lx.astring("header field name");
        if (!f)
            return false;
        fields.append(*f);
    } while (lx.eat(' '));
    lx.leave();
    return lx.expect(')', "')' closing header list");
}

// section-part = nz-number *("." nz-number); returns true when followed by a '.' that
// introduces a section-text.
bool parseSectionPart(Lexer &lx, QList<uint32_t> &part, bool &dotText)
{
    dotText = false;
    while (isDigit(lx.peek())) {
        auto n = lx.nzNumber("section part number");
        if (!n)
            return false;
        part.append(*n);
        if (lx.peek() != '.')
            break;
        lx.eat('.');
        if (!isDigit(lx.peek())) {
            dotText = true;
            break;
        }
    }
    return true;
}

// section = "[" [section-spec] "]"
bool parseSection(Lexer &lx, Section &section)
{
    if (!lx.expect('[', "'[' opening section"))
        return false;
    if (lx.eat(']'))
        return true;
    bool dotText = false;
    if (!parseSectionPart(lx, section.part, dotText))
        return false;
    if (section.part.isEmpty() || dotText) {
        auto word = lx.keyword("section text");
        if (!word)
            return false;
        if (*word == "HEADER") {
            section.text = Section::Text::Header;
        } else if (*word == "HEADER.FIELDS") {
            section.text = Section::Text::HeaderFields;
        } else if (*word == "HEADER.FIELDS.NOT") {
            section.text = Section::Text::HeaderFieldsNot;
        } else if (*word == "TEXT") {
            section.text = Section::Text::Text;
        } else if (*word == "MIME" && !section.part.isEmpty()) {
            section.text = Section::Text::Mime;
        } else {
            return lx.fail(QStringLiteral("invalid section text %1").arg(QString::fromLatin1(*word)));
        }
        if (section.text == Section::Text::HeaderFields || section.text == Section::Text::HeaderFieldsNot) {
            if (!parseHeaderList(lx, section.fields))
                return false;
        }
    }
    return lx.expect(']', "']' closing section");
}

// section-binary = "[" [section-part] "]"
bool parseBinarySection(Lexer &lx, Section &section)
{
    if (!lx.expect('[', "'[' opening binary section"))
        return false;
    bool dotText = false;
    if (!parseSectionPart(lx, section.part, dotText))
        return false;
    if (dotText)
        return lx.fail(QStringLiteral("binary section takes part numbers only"));
    return lx.expect(']', "']' closing binary section");
}

// partial = "<" number64 "." nz-number64 ">"
bool parsePartial(Lexer &lx, std::optional<Partial> &partial)
{
    if (!lx.eat('<'))
        return true;
    auto offset = lx.number("partial offset");
    if (!offset || !lx.expect('.', "'.' in partial"))
        return false;
    auto length = lx.nzNumber("partial length");
    if (!length || !lx.expect('>', "'>' closing partial"))
        return false;
    partial = Partial{*offset, *length};
    return true;
}

bool parseFetchAtt(Lexer &lx, QList<FetchAtt> &atts, bool allowMacro)
{
    using K = FetchAtt::Kind;
    auto word = lx.keyword("fetch attribute");
    if (!word)
        return false;
    const QByteArray &w = *word;
    if (allowMacro && (w == "ALL" || w == "FAST" || w == "FULL")) {
        atts.append(att(K::Flags));
        atts.append(att(K::InternalDate));
        atts.append(att(K::Rfc822Size));
        if (w != "FAST")
            atts.append(att(K::Envelope));
        if (w == "FULL")
            atts.append(att(K::Body));
        return true;
    }
    static const std::pair<const char *, K> simple[] = {
        {"ENVELOPE", K::Envelope}, {"FLAGS", K::Flags}, {"INTERNALDATE", K::InternalDate},
        {"RFC822", K::Rfc822}, {"RFC822.HEADER", K::Rfc822Header}, {"RFC822.SIZE", K::Rfc822Size},
        {"RFC822.TEXT", K::Rfc822Text}, {"BODYSTRUCTURE", K::BodyStructure}, {"UID", K::Uid},
        {"MODSEQ", K::ModSeq}, {"EMAILID", K::EmailId}, {"THREADID", K::ThreadId},
        {"SAVEDATE", K::SaveDate},
    };
    for (const auto &[name, kind] : simple) {
        if (w == name) {
            atts.append(att(kind));
            return true;
        }
    }
    FetchAtt a;
    if (w == "BODY" || w == "BODY.PEEK") {
        if (w == "BODY" && lx.peek() != '[') {
            atts.append(att(K::Body));
            return true;
        }
        a.kind = K::BodySection;
        a.peek = w == "BODY.PEEK";
        if (!parseSection(lx, a.section) || !parsePartial(lx, a.partial))
            return false;
    } else if (w == "BINARY" || w == "BINARY.PEEK") {
        a.kind = K::Binary;
        a.peek = w == "BINARY.PEEK";
        if (!parseBinarySection(lx, a.section) || !parsePartial(lx, a.partial))
            return false;
    } else if (w == "BINARY.SIZE") {
        a.kind = K::BinarySize;
        if (!parseBinarySection(lx, a.section))
            return false;
    } else if (w == "PREVIEW") {
        a.kind = K::Preview;
        // RFC 8970: "PREVIEW" [SP "(" "LAZY" ")"]; look ahead so "PREVIEW (CHANGEDSINCE 1)"
        // still parses as a modifier list.
        if (lx.peek() == ' ' && lx.peek(1) == '(' && lx.peekWord("LAZY", 2)) {
            lx.eat(' ');
            lx.eat('(');
            lx.eatWord("LAZY");
            a.lazy = true;
            if (!lx.expect(')', "')' closing PREVIEW modifiers"))
                return false;
        }
    } else {
        return lx.fail(QStringLiteral("unknown fetch attribute %1").arg(QString::fromLatin1(w)));
    }
    atts.append(a);
    return true;
}

// fetch-modifiers = SP "(" fetch-modifier *(SP fetch-modifier) ")"
bool parseFetchModifiers(Lexer &lx, Command &cmd)
{
    if (!lx.expect('(', "'(' opening fetch modifiers") || !lx.enter())
        return false;
    do {
        auto word = lx.upperAtom("fetch modifier");
        if (!word)
            return false;
        if (*word == "CHANGEDSINCE" && !cmd.changedSince) {
            if (!lx.sp("mod-sequence"))
                return false;
            auto n = lx.number64("mod-sequence");
            if (!n)
                return false;
            cmd.changedSince = *n;
        } else if (*word == "VANISHED" && !cmd.vanished) {
            cmd.vanished = true;
        } else {
            return lx.fail(QStringLiteral("unknown or repeated fetch modifier %1").arg(QString::fromLatin1(*word)));
        }
    } while (lx.eat(' '));
    lx.leave();
    if (!lx.expect(')', "')' closing fetch modifiers"))
        return false;
    if (cmd.vanished && !cmd.uid)
        return lx.fail(QStringLiteral("VANISHED requires UID FETCH"));
    if (cmd.vanished && !cmd.changedSince)
        return lx.fail(QStringLiteral("VANISHED requires CHANGEDSINCE"));
    return true;
}

} // namespace

bool parseFetch(Lexer &lx, Command &cmd)
{
    if (!lx.sp("sequence set"))
        return false;
    auto set = lx.sequenceSet("sequence set");
    if (!set || !lx.sp("fetch attributes"))
        return false;
    cmd.sequence = *set;
    if (lx.eat('(')) {
        if (!lx.enter())
            return false;
        do {
            if (!parseFetchAtt(lx, cmd.fetchAtts, false))
                return false;
        } while (lx.eat(' '));
        lx.leave();
        if (!lx.expect(')', "')' closing fetch attribute list"))
            return false;
    } else if (!parseFetchAtt(lx, cmd.fetchAtts, true)) {
        return false;
    }
    if (lx.eat(' '))
        return parseFetchModifiers(lx, cmd);
    return true;
}

bool parseStore(Lexer &lx, Command &cmd)
{
    if (!lx.sp("sequence set"))
        return false;
    auto set = lx.sequenceSet("sequence set");
    if (!set || !lx.sp("store attribute"))
        return false;
    cmd.sequence = *set;
    // RFC 7162 §3.1.3: store-modifiers = SP "(" "UNCHANGEDSINCE" SP mod-sequence-valzer ")"
    if (lx.eat('(')) {
        if (!lx.enter())
            return false;
        auto word = lx.upperAtom("store modifier");
        if (!word)
            return false;
        if (*word != "UNCHANGEDSINCE")
            return lx.fail(QStringLiteral("unknown store modifier %1").arg(QString::fromLatin1(*word)));
        if (!lx.sp("mod-sequence"))
            return false;
        auto n = lx.number64("mod-sequence");
        if (!n)
            return false;
        cmd.store.unchangedSince = *n;
        lx.leave();
        if (!lx.expect(')', "')' closing store modifiers") || !lx.sp("store attribute"))
            return false;
    }
    if (lx.eat('+'))
        cmd.store.mode = StoreArgs::Mode::Add;
    else if (lx.eat('-'))
        cmd.store.mode = StoreArgs::Mode::Remove;
    auto word = lx.keyword("FLAGS or FLAGS.SILENT");
    if (!word)
        return false;
    if (*word == "FLAGS.SILENT")
        cmd.store.silent = true;
    else if (*word != "FLAGS")
        return lx.fail(QStringLiteral("expected FLAGS or FLAGS.SILENT, got %1").arg(QString::fromLatin1(*word)));
    if (!lx.sp("flags"))
        return false;
    if (lx.peek() == '(') {
        auto flags = lx.flagList("flag list");
        if (!flags)
            return false;
        cmd.store.flags = *flags;
        return true;
    }
    do {
        auto f = lx.flag("flag");
        if (!f)
            return false;
        cmd.store.flags.append(*f);
    } while (lx.eat(' '));
    return true;
}

} // namespace valv::imap::detail
