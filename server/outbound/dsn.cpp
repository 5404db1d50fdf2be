// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 3464 delivery status notifications in an RFC 6522 multipart/report; RFC 3461 §4
// xtext; RFC 6533 §3 utf-8 addresses.
#include "outbound/dsn.h"

#include "rfc5322date.h"

#include <QCryptographicHash>

#include <algorithm>

namespace valv::outbound {

namespace {

constexpr qsizetype kMaxLine = 998;    // RFC 5322 §2.1.1, without CRLF
constexpr qsizetype kFoldWidth = 78;   // the SHOULD of the same section
constexpr qsizetype kMaxDiagnostic = 3000;
constexpr qsizetype kMaxBoundary = 70; // RFC 2046 §5.1.1

using Action = DsnRecipient::Action;

// The shared RFC 5322 date-time, as bytes; an invalid time reads as the epoch.
QByteArray dateField(const QDateTime &t)
{
    return valv::rfc5322Date(t.isValid() ? t : QDateTime::fromSecsSinceEpoch(0, Qt::UTC)).toLatin1();
}

// Control characters (CR and LF above all) become spaces, runs of white space one space.
QString clean(const QString &s)
{
    QString out = s;
    for (QChar &c : out) {
        if (c.unicode() < 0x20 || c.unicode() == 0x7f)
            c = u' ';
    }
    return out.simplified();
}

bool isAscii(const QString &s)
{
    return std::all_of(s.begin(), s.end(), [](QChar c) { return c.unicode() < 0x80; });
}

// For delivery-status fields, which are US-ASCII: anything else becomes '?'.
QByteArray ascii(const QString &s)
{
    QByteArray out;
    out.reserve(s.size());
    for (QChar c : clean(s))
        out += c.unicode() < 0x80 ? char(c.unicode()) : '?';
    return out;
}

// RFC 6533 §3 utf-8-addr-xtext: non-ASCII code points, '+' and '=' as \x{HHHH}.
QByteArray utf8AddrXtext(const QString &addr)
{
    QByteArray out;
    for (char32_t cp : addr.toUcs4()) {
        if (cp < 0x80 && cp != '+' && cp != '=' && cp > 0x20 && cp != 0x7f)
            out += char(cp);
        else
            out += "\\x{" + QByteArray::number(uint(cp), 16).toUpper() + '}';
    }
    return out;
}

// "rfc822;bob@b.test", or "utf-8;b\x{F8}b@b.test" for a non-ASCII address.
QByteArray typedAddress(const QString &type, const QString &addr)
{
    const QString a = clean(addr);
    if (isAscii(a))
        return ascii(type) + ';' + ascii(a);
    return "utf-8;" + utf8AddrXtext(a);
}

// An ORCPT value as received: "type;address". Without a type, rfc822 is assumed.
QByteArray originalRecipientValue(const QString &orcpt)
{
    const qsizetype semi = orcpt.indexOf(u';');
    if (semi < 0)
        return typedAddress(QStringLiteral("rfc822"), orcpt);
    const QString type = clean(orcpt.left(semi));
    return typedAddress(type.isEmpty() ? QStringLiteral("rfc822") : type, orcpt.mid(semi + 1));
}

// "Name: value\r\n", folded at spaces to kFoldWidth where it can be and never over kMaxLine.
QByteArray field(const QByteArray &name, const QByteArray &value)
{
    QByteArray rest = name + ": " + value;
    QByteArray out;
    qsizetype minBreak = name.size() + 2; // never fold right after the colon
    while (rest.size() > kFoldWidth) {
        qsizetype at = rest.lastIndexOf(' ', kFoldWidth);
        if (at <= minBreak - 1 || at == 0) {
            at = rest.indexOf(' ', kFoldWidth);
            if (at < 0 || at > kMaxLine)
                at = rest.size() > kMaxLine ? kMaxLine - 1 : -1;
        }
        if (at <= 0)
            break;
        out += rest.first(at) + "\r\n";
        rest = rest.sliced(at);
        if (!rest.startsWith(' '))
            rest.prepend(' '); // a hard break inside a word
        minBreak = 1;
    }
    return out + rest + "\r\n";
}

QByteArray statusFor(const DsnRecipient &r)
{
    // status-code = DIGIT "." 1*3DIGIT "." 1*3DIGIT (RFC 3463)
    const QByteArray s = ascii(r.status);
    const QList<QByteArray> parts = s.split('.');
    bool valid = parts.size() == 3 && (parts[0] == "2" || parts[0] == "4" || parts[0] == "5");
    for (qsizetype i = 1; valid && i < 3; ++i) {
        valid = !parts[i].isEmpty() && parts[i].size() <= 3
                && std::all_of(parts[i].begin(), parts[i].end(), [](char c) { return c >= '0' && c <= '9'; });
    }
    if (valid)
        return s;
    switch (r.action) {
    case Action::Failed:
        return "5.0.0";
    case Action::Delayed:
        return "4.0.0";
    default:
        return "2.0.0";
    }
}

QByteArray actionName(Action a)
{
    switch (a) {
    case Action::Failed:
        return "failed";
    case Action::Delayed:
        return "delayed";
    case Action::Delivered:
        return "delivered";
    case Action::Relayed:
        return "relayed";
    case Action::Expanded:
        return "expanded";
    }
    return "failed";
}

QString diagnosticText(const DsnRecipient &r)
{
    QString d = clean(r.diagnostic);
    if (d.size() > kMaxDiagnostic)
        d = d.left(kMaxDiagnostic) + QStringLiteral(" ...");
    return d;
}

// RFC 3464 §2.2 and §2.3: the message/delivery-status content.
QByteArray deliveryStatus(const DsnInput &in)
{
    QByteArray out = field("Reporting-MTA", "dns; " + ascii(in.reportingMta));
    if (!clean(in.envelopeId).isEmpty())
        out += field("Original-Envelope-Id", ascii(in.envelopeId));
    if (in.arrivalDate.isValid())
        out += field("Arrival-Date", dateField(in.arrivalDate));
    for (const DsnRecipient &r : in.recipients) {
        out += "\r\n";
        if (!clean(r.originalRecipient).isEmpty())
            out += field("Original-Recipient", originalRecipientValue(r.originalRecipient));
        out += field("Final-Recipient", typedAddress(QStringLiteral("rfc822"), r.finalRecipient));
        out += field("Action", actionName(r.action));
        out += field("Status", statusFor(r));
        if (!clean(r.remoteMta).isEmpty())
            out += field("Remote-MTA", "dns; " + ascii(r.remoteMta));
        const QString diag = diagnosticText(r);
        if (!diag.isEmpty())
            out += field("Diagnostic-Code", "smtp; " + ascii(diag));
        if (r.lastAttempt.isValid())
            out += field("Last-Attempt-Date", dateField(r.lastAttempt));
        if (r.action == Action::Delayed && r.willRetryUntil.isValid())
            out += field("Will-Retry-Until", dateField(r.willRetryUntil));
    }
    return out;
}

QString reasonText(const DsnRecipient &r)
{
    const QString diag = diagnosticText(r);
    const QString problem = clean(r.problem);
    const QString mta = clean(r.remoteMta);
    QStringList lines;
    if (!problem.isEmpty())
        lines << problem;
    if (!diag.isEmpty()) {
        lines << (mta.isEmpty() ? QStringLiteral("The receiving mail server answered: %1").arg(diag)
                                : QStringLiteral("The receiving mail server (%1) answered: %2").arg(mta, diag));
    }
    if (lines.isEmpty())
        lines << QStringLiteral("No further details (status %1).").arg(QString::fromLatin1(statusFor(r)));
    return lines.join(QStringLiteral("\n    "));
}

QString sectionIntro(Action a)
{
    switch (a) {
    case Action::Failed:
        return QStringLiteral("Your message could not be delivered to these recipients. The mail system\n"
                              "has stopped trying:");
    case Action::Delayed:
        return QStringLiteral("Your message has not been delivered to these recipients yet. The mail\n"
                              "system keeps trying and will tell you if it gives up; you do not need to\n"
                              "send the message again:");
    case Action::Delivered:
        return QStringLiteral("Your message was delivered to these recipients:");
    case Action::Relayed:
        return QStringLiteral("Your message was passed on to the mail systems of these recipients, which\n"
                              "do not report delivery back:");
    case Action::Expanded:
        return QStringLiteral("Your message was delivered to these addresses, which passed it on to\n"
                              "further recipients:");
    }
    return {};
}

enum class Returned { Whole, Headers, HeadersTooLarge };

QString humanText(const DsnInput &in, Returned returned)
{
    QString text = QStringLiteral("This is the mail system at %1.\n").arg(clean(in.reportingMta));
    for (Action a : {Action::Failed, Action::Delayed, Action::Delivered, Action::Relayed, Action::Expanded}) {
        bool any = false;
        for (const DsnRecipient &r : in.recipients) {
            if (r.action != a)
                continue;
            if (!any)
                text += u'\n' + sectionIntro(a) + u'\n';
            any = true;
            text += QStringLiteral("\n  %1\n").arg(clean(r.finalRecipient));
            if (a == Action::Failed || a == Action::Delayed)
                text += QStringLiteral("    %1\n").arg(reasonText(r));
            if (a == Action::Delayed && r.willRetryUntil.isValid())
                text += QStringLiteral("    The mail system will keep trying until %1.\n")
                            .arg(QString::fromLatin1(dateField(r.willRetryUntil)));
        }
    }
    switch (returned) {
    case Returned::Whole:
        text += QStringLiteral("\nYour original message is attached.\n");
        break;
    case Returned::Headers:
        text += QStringLiteral("\nThe header of your original message is attached.\n");
        break;
    case Returned::HeadersTooLarge:
        text += QStringLiteral("\nThe header of your original message is attached; the message itself\n"
                               "is not returned in full.\n");
        break;
    }
    return text;
}

// RFC 2045 §6.7, for text with LF line ends; output lines end in CRLF and are <= 76 octets.
QByteArray quotedPrintable(const QByteArray &text)
{
    static const char hex[] = "0123456789ABCDEF";
    QByteArray out;
    QList<QByteArray> lines = text.split('\n');
    if (text.endsWith('\n'))
        lines.removeLast();
    out.reserve(text.size() + text.size() / 4);
    for (const QByteArray &line : lines) {
        qsizetype lineLen = 0;
        for (qsizetype i = 0; i < line.size(); ++i) {
            const uchar c = uchar(line[i]);
            const bool last = i + 1 == line.size();
            const bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last);
            const qsizetype len = literal ? 1 : 3;
            if (lineLen + len > 75) {
                out += "=\r\n";
                lineLen = 0;
            }
            if (literal) {
                out += char(c);
            } else {
                out += '=';
                out += hex[c >> 4];
                out += hex[c & 15];
            }
            lineLen += len;
        }
        out += "\r\n";
    }
    return out;
}

// Every line end becomes CRLF: a lone LF or a lone CR.
QByteArray toCrlf(const QByteArray &in)
{
    QByteArray out;
    out.reserve(in.size() + in.size() / 32);
    for (qsizetype i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (c == '\r') {
            out += "\r\n";
            if (i + 1 < in.size() && in[i + 1] == '\n')
                ++i;
        } else if (c == '\n') {
            out += "\r\n";
        } else {
            out += c;
        }
    }
    return out;
}

// The lines of CRLF text, without their CRLF; no empty last line for a final CRLF.
QList<QByteArrayView> crlfLines(const QByteArray &text)
{
    QList<QByteArrayView> out;
    qsizetype from = 0;
    while (from < text.size()) {
        qsizetype end = text.indexOf("\r\n", from);
        if (end < 0)
            end = text.size();
        out << QByteArrayView(text).sliced(from, end - from);
        from = end + 2;
    }
    return out;
}

qsizetype longestLine(const QByteArray &crlfText)
{
    qsizetype longest = 0;
    for (QByteArrayView line : crlfLines(crlfText))
        longest = std::max(longest, line.size());
    return longest;
}

bool has8bit(const QByteArray &s)
{
    return std::any_of(s.begin(), s.end(), [](char c) { return uchar(c) >= 0x80; });
}

// A header section that text/rfc822-headers can carry: no NUL, lines hard-folded at kMaxLine.
QByteArray safeHeaders(const QByteArray &headers)
{
    QByteArray out;
    for (QByteArrayView line : crlfLines(headers)) {
        QByteArray l = line.toByteArray();
        l.replace('\0', ' ');
        while (l.size() > kMaxLine) {
            out += l.first(kMaxLine - 1) + "\r\n";
            l = ' ' + l.sliced(kMaxLine - 1);
        }
        if (!l.isEmpty())
            out += l + "\r\n";
    }
    return out;
}

// RFC 2046 §5.1.1 bchars only, at most 70; extended with a hash while a part holds it.
QByteArray pickBoundary(const QByteArray &wanted, const QList<QByteArray> &contents)
{
    static const QByteArray allowed("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=?");
    QByteArray b;
    for (char c : wanted) {
        if (allowed.contains(c))
            b += c;
    }
    b.truncate(kMaxBoundary);
    if (b.isEmpty())
        b = "valv-report";
    const QByteArray base = b.left(kMaxBoundary - 21);
    for (int round = 0;; ++round) {
        const bool clash = std::any_of(contents.begin(), contents.end(),
                                       [&](const QByteArray &c) { return c.contains("--" + b); });
        if (!clash)
            return b;
        QCryptographicHash h(QCryptographicHash::Sha256);
        for (const QByteArray &c : contents)
            h.addData(c);
        h.addData(QByteArray::number(round));
        b = base + "=_" + h.result().toHex().left(19);
    }
}

QByteArray subjectFor(const QList<DsnRecipient> &rs)
{
    const auto any = [&](Action a) {
        return std::any_of(rs.begin(), rs.end(), [a](const DsnRecipient &r) { return r.action == a; });
    };
    if (any(Action::Failed))
        return "Undelivered Mail Returned to Sender";
    if (any(Action::Delayed))
        return "Delayed Mail (still being retried)";
    return "Successful Mail Delivery Report";
}

} // namespace

QByteArray headerSection(const QByteArray &message)
{
    qsizetype pos = 0;
    while (pos < message.size()) {
        qsizetype nl = message.indexOf('\n', pos);
        const qsizetype lineEnd = nl < 0 ? message.size() : nl;
        const qsizetype contentEnd = lineEnd > pos && message[lineEnd - 1] == '\r' ? lineEnd - 1 : lineEnd;
        if (contentEnd == pos && nl >= 0)
            return message.first(pos); // the empty line
        if (nl < 0)
            break;
        pos = nl + 1;
    }
    return message;
}

QByteArray buildDsn(const DsnInput &in)
{
    // Part 3 first: what it is decides words in part 1.
    const QByteArray original = toCrlf(in.original);
    Returned returned = Returned::Whole;
    if (in.headersOnly)
        returned = Returned::Headers;
    else if (in.original.size() > in.maxReturnedSize || original.contains('\0') || longestLine(original) > kMaxLine)
        returned = Returned::HeadersTooLarge;
    const QByteArray returnedContent = returned == Returned::Whole ? original : safeHeaders(headerSection(original));
    const bool eightBit = has8bit(returnedContent);

    const QByteArray text = quotedPrintable(humanText(in, returned).toUtf8());
    const QByteArray status = deliveryStatus(in);
    const QByteArray boundary = pickBoundary(in.boundary, {text, status, returnedContent});

    QByteArray out;
    out += field("From", "Mail Delivery System <MAILER-DAEMON@" + ascii(in.reportingMta) + '>');
    out += field("To", '<' + clean(in.sender).toUtf8() + '>');
    out += field("Subject", subjectFor(in.recipients));
    out += field("Date", dateField(in.now));
    const QByteArray messageId = ascii(QString::fromLatin1(in.messageId));
    if (!messageId.isEmpty())
        out += field("Message-ID", messageId);
    out += field("MIME-Version", "1.0");
    out += field("Auto-Submitted", "auto-replied");
    out += field("Content-Type", "multipart/report; report-type=delivery-status; boundary=\"" + boundary + '"');
    if (eightBit)
        out += field("Content-Transfer-Encoding", "8bit");
    out += "\r\nThis is a MIME-encapsulated message.\r\n";

    const QByteArray dash = "\r\n--" + boundary + "\r\n";
    out += dash;
    out += "Content-Description: Notification\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n"
           "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
    out += text;
    out += dash;
    out += "Content-Description: Delivery report\r\n"
           "Content-Type: message/delivery-status\r\n\r\n";
    out += status;
    out += dash;
    if (returned == Returned::Whole)
        out += "Content-Description: Undelivered message\r\nContent-Type: message/rfc822\r\n";
    else
        out += "Content-Description: Undelivered message header\r\nContent-Type: text/rfc822-headers\r\n";
    out += eightBit ? "Content-Transfer-Encoding: 8bit\r\n\r\n" : "Content-Transfer-Encoding: 7bit\r\n\r\n";
    out += returnedContent;
    out += "\r\n--" + boundary + "--\r\n";
    return out;
}

// RFC 3461 §4: xchar = "!".."~" except "+" and "="; hexchar = "+" 2(uppercase HEXDIG).
QByteArray xtextEncode(const QByteArray &raw)
{
    static const char hex[] = "0123456789ABCDEF";
    QByteArray out;
    out.reserve(raw.size());
    for (char ch : raw) {
        const uchar c = uchar(ch);
        if (c >= 33 && c <= 126 && c != '+' && c != '=')
            out += ch;
        else
            out += QByteArray("+") + hex[c >> 4] + hex[c & 15];
    }
    return out;
}

QByteArray xtextDecode(const QByteArray &xtext)
{
    const auto hexValue = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        return -1;
    };
    QByteArray out;
    out.reserve(xtext.size());
    for (qsizetype i = 0; i < xtext.size(); ++i) {
        if (xtext[i] == '+' && i + 2 < xtext.size()) {
            const int hi = hexValue(xtext[i + 1]);
            const int lo = hexValue(xtext[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out += char(hi * 16 + lo);
                i += 2;
                continue;
            }
        }
        out += xtext[i];
    }
    return out;
}

} // namespace valv::outbound
