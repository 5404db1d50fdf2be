// SPDX-License-Identifier: AGPL-3.0-or-later
// parseCommand: RFC 9051 / RFC 3501 examples and the extension grammars, each row
// stating the command's meaning in the compact form of imapdump.h; then malformed input.
#include "imapdump.h"

#include <QTest>

using namespace valv::imap;
using namespace valv::imap::test;

class TestImapParser : public QObject {
    Q_OBJECT
private slots:
    void parse_data();
    void parse();
    void malformed_data();
    void malformed();
    void literals();
    void nestingLimit();
    void searchDepthLimit();
    void dateTimeValue();
    void sequenceSetNormalised();
};

void TestImapParser::parse_data()
{
    QTest::addColumn<QByteArray>("wire");
    QTest::addColumn<QByteArray>("tag");
    QTest::addColumn<QString>("expected");

    // `wire` is taken with its full length, so rows may contain NUL bytes.
    auto row = [](const char *name, const auto &wire, const char *tag, const char *expected) {
        QTest::newRow(name) << QByteArray(wire, sizeof(wire) - 1) << QByteArray(tag) << QString::fromUtf8(expected);
    };

    // RFC 9051 §6.1 any state
    row("capability", "abcd CAPABILITY", "abcd", "CAPABILITY");
    row("noop", "a002 NOOP", "a002", "NOOP");
    row("noop lower", "a002 noop", "a002", "NOOP");
    row("logout", "A023 LOGOUT", "A023", "LOGOUT");
    row("starttls", "a001 STARTTLS", "a001", "STARTTLS");
    row("tag with odd chars", "a.b-c_1]x NOOP", "a.b-c_1]x", "NOOP");
    // §6.2 not authenticated
    row("authenticate", "A001 AUTHENTICATE GSSAPI", "A001", "AUTHENTICATE mech=GSSAPI");
    row("authenticate sasl-ir", "a AUTHENTICATE plain AGZyZWQAdGVzdA==", "a",
        "AUTHENTICATE mech=PLAIN ir=AGZyZWQAdGVzdA==");
    row("authenticate empty ir", "a AUTHENTICATE EXTERNAL =", "a", "AUTHENTICATE mech=EXTERNAL ir==");
    row("login", "a001 LOGIN SMITH SESAME", "a001", "LOGIN user=SMITH pass=SESAME");
    row("login quoted", "a001 LOGIN \"fred foo\" \"p\\\"w\\\\d\"", "a001", "LOGIN user=fred foo pass=p\"w\\d");
    row("login literal", "a001 LOGIN {11}\r\nFRED FOOBAR {7}\r\nfat man", "a001", "LOGIN user=FRED FOOBAR pass=fat man");
    row("login literal+", "a001 LOGIN {4+}\r\nfred {3+}\r\npw!", "a001", "LOGIN user=fred pass=pw!");
    row("login utf8 quoted", "a LOGIN \"jöran\" \"pässword\"", "a", "LOGIN user=jöran pass=pässword");
    // §6.3 authenticated
    row("enable", "t2 ENABLE CONDSTORE X-GOOD-IDEA", "t2", "ENABLE caps=[CONDSTORE X-GOOD-IDEA]");
    row("enable utf8", "A ENABLE UTF8=ACCEPT", "A", "ENABLE caps=[UTF8=ACCEPT]");
    row("select", "A142 SELECT INBOX", "A142", "SELECT mailbox=INBOX");
    row("select inbox case", "A142 SELECT iNbOx", "A142", "SELECT mailbox=INBOX");
    row("select quoted inbox", "A142 SELECT \"inbox\"", "A142", "SELECT mailbox=INBOX");
    row("examine", "A932 EXAMINE blurdybloop", "A932", "EXAMINE mailbox=blurdybloop");
    row("select condstore", "a SELECT INBOX (CONDSTORE)", "a", "SELECT mailbox=INBOX condstore");
    row("select qresync", "A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))", "A02",
        "SELECT mailbox=INBOX qresync=(67890007 20050715194045000 41,43:211,214:541)");
    row("select qresync seqmatch", "B04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))",
        "B04", "SELECT mailbox=INBOX qresync=(67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997))");
    row("select qresync minimal", "a SELECT INBOX (QRESYNC (1 2))", "a", "SELECT mailbox=INBOX qresync=(1 2)");
    row("create", "A003 CREATE owatagusiam/", "A003", "CREATE mailbox=owatagusiam/");
    row("create special-use", "t1 CREATE MySpecial (USE (\\Drafts \\Sent))", "t1", "CREATE mailbox=MySpecial use=[\\Drafts \\Sent]");
    row("create utf7", "A CREATE \"~peter/mail/&U,BTFw-/&ZeVnLIqe-\"", "A", "CREATE mailbox=~peter/mail/台北/日本語");
    row("create utf8", "A CREATE \"~peter/mail/台北/日本語\"", "A", "CREATE mailbox=~peter/mail/台北/日本語");
    row("create ampersand", "A CREATE \"Tom &- Jerry\"", "A", "CREATE mailbox=Tom & Jerry");
    row("delete", "A683 DELETE blurdybloop", "A683", "DELETE mailbox=blurdybloop");
    row("rename", "A683 RENAME blurdybloop sarasoop", "A683", "RENAME mailbox=blurdybloop to=sarasoop");
    row("rename inbox", "A684 RENAME inbox \"old-mail\"", "A684", "RENAME mailbox=INBOX to=old-mail");
    row("subscribe", "A002 SUBSCRIBE #news.comp.mail.mime", "A002", "SUBSCRIBE mailbox=#news.comp.mail.mime");
    row("unsubscribe", "A002 UNSUBSCRIBE #news.comp.mail.mime", "A002", "UNSUBSCRIBE mailbox=#news.comp.mail.mime");
    row("list empty", "A101 LIST \"\" \"\"", "A101", "LIST ref=\"\" patterns=[]");
    row("list wildcards", "A102 LIST #news.comp.mail.misc \"\"", "A102", "LIST ref=\"#news.comp.mail.misc\" patterns=[]");
    row("list star", "A202 LIST ~/Mail/ %", "A202", "LIST ref=\"~/Mail/\" patterns=[%]");
    row("list unquoted star", "A LIST \"\" *", "A", "LIST ref=\"\" patterns=[*]");
    row("list extended select", "A02 LIST (SUBSCRIBED) \"\" \"*\"", "A02", "LIST ref=\"\" patterns=[*] select=[SUBSCRIBED]");
    row("list extended return", "A03 LIST () \"\" \"%\" RETURN (CHILDREN)", "A03", "LIST ref=\"\" patterns=[%] return=[CHILDREN]");
    row("list recursivematch", "A04 LIST (REMOTE SUBSCRIBED recursivematch) \"\" \"*\"", "A04",
        "LIST ref=\"\" patterns=[*] select=[REMOTE SUBSCRIBED RECURSIVEMATCH]");
    row("list multiple patterns", "BBB LIST \"\" (\"INBOX\" \"Drafts\" \"Sent/%\")", "BBB", "LIST ref=\"\" patterns=[INBOX Drafts Sent/%]");
    row("list-status", "A01 LIST \"\" % RETURN (STATUS (MESSAGES UNSEEN))", "A01",
        "LIST ref=\"\" patterns=[%] return=[STATUS] status=[MESSAGES UNSEEN]");
    row("list special-use", "t1 LIST (SPECIAL-USE) \"\" \"*\" RETURN (SPECIAL-USE STATUS (SIZE))", "t1",
        "LIST ref=\"\" patterns=[*] select=[SPECIAL-USE] return=[SPECIAL-USE STATUS] status=[SIZE]");
    row("list utf7 pattern", "A LIST \"\" \"&ZeVnLIqe-/*\"", "A", "LIST ref=\"\" patterns=[日本語/*]");
    row("lsub", "A002 LSUB \"#news.\" \"comp.mail.*\"", "A002", "LSUB ref=\"#news.\" patterns=[comp.mail.*]");
    row("namespace", "A001 NAMESPACE", "A001", "NAMESPACE");
    row("status", "A042 STATUS blurdybloop (UIDNEXT MESSAGES)", "A042", "STATUS mailbox=blurdybloop status=[UIDNEXT MESSAGES]");
    row("status all items", "a STATUS INBOX (messages uidnext uidvalidity unseen deleted size recent highestmodseq appendlimit mailboxid)", "a",
        "STATUS mailbox=INBOX status=[MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT HIGHESTMODSEQ APPENDLIMIT MAILBOXID]");
    row("append", "A003 APPEND saved-messages (\\Seen) {23}\r\nDate: Mon, 7 Feb 1994\r\n", "A003",
        "APPEND mailbox=saved-messages flags=[\\Seen] message=23:Date: Mon, 7 Feb");
    row("append date", "A003 APPEND saved-messages (\\Seen $Forwarded) \"17-Jul-1996 02:44:25 -0700\" {5}\r\nhello", "A003",
        "APPEND mailbox=saved-messages flags=[\\Seen $Forwarded] date=1996-07-17T02:44:25-07:00 message=5:hello");
    row("append space day", "a APPEND INBOX \" 7-Feb-1994 21:52:25 +0100\" {1+}\r\nx", "a",
        "APPEND mailbox=INBOX date=1994-02-07T21:52:25+01:00 message=1:x");
    row("append no flags", "a APPEND INBOX {2}\r\nhi", "a", "APPEND mailbox=INBOX message=2:hi");
    row("append empty flags", "a APPEND INBOX () {2}\r\nhi", "a", "APPEND mailbox=INBOX message=2:hi");
    row("append binary", "a APPEND INBOX ~{3}\r\nabc", "a", "APPEND mailbox=INBOX message=3:abc binary");
    row("append utf8", "a APPEND INBOX UTF8 (~{4}\r\nhéj)", "a", "APPEND mailbox=INBOX message=4:héj utf8");
    row("append canonical flags", "a APPEND INBOX (\\seen \\DRAFT) {1}\r\nx", "a", "APPEND mailbox=INBOX flags=[\\Seen \\Draft] message=1:x");
    row("idle", "A002 IDLE", "A002", "IDLE");
    // §6.4 selected
    row("check", "FXXZ CHECK", "FXXZ", "CHECK");
    row("close", "A341 CLOSE", "A341", "CLOSE");
    row("unselect", "A342 UNSELECT", "A342", "UNSELECT");
    row("expunge", "A202 EXPUNGE", "A202", "EXPUNGE");
    row("uid expunge", "A003 UID EXPUNGE 3000:3002", "A003", "UID EXPUNGE seq=3000:3002");
    row("search", "A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"", "A282",
        "SEARCH keys=AND(FLAGGED SINCE(1994-02-01) NOT(FROM(\"Smith\")))");
    row("search return", "A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"", "A282",
        "SEARCH esearch=(MIN COUNT) keys=AND(FLAGGED SINCE(1994-02-01) NOT(FROM(\"Smith\")))");
    row("search return empty", "A283 SEARCH RETURN () FLAGGED", "A283", "SEARCH esearch=() keys=AND(FLAGGED)");
    row("search return save", "A285 SEARCH RETURN (SAVE MIN MAX ALL) SINCE \"1-Feb-1994\"", "A285",
        "SEARCH esearch=(MIN MAX ALL SAVE) keys=AND(SINCE(1994-02-01))");
    row("search charset", "A284 SEARCH CHARSET UTF-8 TEXT {4}\r\nXXXX", "A284", "SEARCH charset=UTF-8 keys=AND(TEXT(\"XXXX\"))");
    row("search or", "A283 SEARCH TEXT \"string not in mailbox\" OR DELETED 1:4", "A283",
        "SEARCH keys=AND(TEXT(\"string not in mailbox\") OR(DELETED SET(1:4)))");
    row("search parens", "A SEARCH (OR SEEN (FLAGGED DELETED)) UNDRAFT", "A",
        "SEARCH keys=AND(AND(OR(SEEN AND(FLAGGED DELETED))) UNDRAFT)");
    row("search saved", "A SEARCH $ SMALLER 4096", "A", "SEARCH keys=AND(SET($) SMALLER(4096))");
    row("search uid", "A UID SEARCH UID 1:* NOT DELETED", "A", "UID SEARCH keys=AND(UID(1:*) NOT(DELETED))");
    row("search header", "A SEARCH HEADER Message-ID \"<x@y>\" LARGER 100", "A",
        "SEARCH keys=AND(HEADER(Message-ID \"<x@y>\") LARGER(100))");
    row("search keyword", "A SEARCH KEYWORD $Junk UNKEYWORD foo", "A", "SEARCH keys=AND(KEYWORD($Junk) UNKEYWORD(foo))");
    row("search dates", "A SEARCH SENTBEFORE 01-Jan-2000 SENTON 2-feb-2001 SENTSINCE 3-MAR-2002 ON 29-Feb-2004 BEFORE 1-Dec-1999", "A",
        "SEARCH keys=AND(SENTBEFORE(2000-01-01) SENTON(2001-02-02) SENTSINCE(2002-03-03) ON(2004-02-29) BEFORE(1999-12-01))");
    row("search flags", "A SEARCH ALL ANSWERED DELETED DRAFT NEW OLD RECENT SEEN UNANSWERED UNDELETED UNFLAGGED UNSEEN", "A",
        "SEARCH keys=AND(ALL ANSWERED DELETED DRAFT NEW OLD RECENT SEEN UNANSWERED UNDELETED UNFLAGGED UNSEEN)");
    row("search addresses", "A SEARCH BCC a CC b TO c SUBJECT \"\" BODY d", "A",
        "SEARCH keys=AND(BCC(\"a\") CC(\"b\") TO(\"c\") SUBJECT(\"\") BODY(\"d\"))");
    row("search modseq", "a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338", "a",
        "SEARCH keys=AND(MODSEQ(/flags/\\draft \"all\" 620162338))");
    row("search modseq plain", "a SEARCH MODSEQ 620162338", "a", "SEARCH keys=AND(MODSEQ(620162338))");
    row("search within", "a UID SEARCH YOUNGER 3600 OLDER 60", "a", "UID SEARCH keys=AND(YOUNGER(3600) OLDER(60))");
    row("search objectid", "a SEARCH EMAILID M6d99ac3275bb4e THREADID T64b478a75b7ea9", "a",
        "SEARCH keys=AND(EMAILID(\"M6d99ac3275bb4e\") THREADID(\"T64b478a75b7ea9\"))");
    row("search savedate", "a SEARCH SAVEDATESUPPORTED SAVEDBEFORE 1-Jan-2020 SAVEDON 2-Jan-2020 SAVEDSINCE 3-Jan-2020", "a",
        "SEARCH keys=AND(SAVEDATESUPPORTED SAVEDBEFORE(2020-01-01) SAVEDON(2020-01-02) SAVEDSINCE(2020-01-03))");
    row("search utf8 string", "a SEARCH SUBJECT \"Grüße\"", "a", "SEARCH keys=AND(SUBJECT(\"Grüße\"))");
    row("search us-ascii", "a SEARCH CHARSET us-ascii SUBJECT x", "a", "SEARCH charset=US-ASCII keys=AND(SUBJECT(\"x\"))");
    row("fetch header fields", "a002 FETCH 12 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])", "a002",
        "FETCH seq=12 atts=[FLAGS BODY[HEADER.FIELDS (DATE FROM)]]");
    row("fetch full", "A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])", "A654",
        "FETCH seq=2:4 atts=[FLAGS BODY[HEADER.FIELDS (DATE FROM)]]");
    row("fetch macro all", "a FETCH 1:* ALL", "a", "FETCH seq=1:* atts=[FLAGS INTERNALDATE RFC822.SIZE ENVELOPE]");
    row("fetch macro fast", "a FETCH 1 fast", "a", "FETCH seq=1 atts=[FLAGS INTERNALDATE RFC822.SIZE]");
    row("fetch macro full", "a FETCH 1 FULL", "a", "FETCH seq=1 atts=[FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY]");
    row("fetch single", "a FETCH 1 BODY[]", "a", "FETCH seq=1 atts=[BODY[]]");
    row("fetch peek partial", "a FETCH 1 (BODY.PEEK[1.2.TEXT]<0.1024> UID)", "a", "FETCH seq=1 atts=[BODY.PEEK[1.2.TEXT]<0.1024> UID]");
    row("fetch mime", "a FETCH 1 (BODY[3.MIME] BODY[4.2.HEADER] BODY[HEADER.FIELDS.NOT (Received)] BODY[2])", "a",
        "FETCH seq=1 atts=[BODY[3.MIME] BODY[4.2.HEADER] BODY[HEADER.FIELDS.NOT (Received)] BODY[2]]");
    row("fetch legacy", "a FETCH 1 (RFC822 RFC822.HEADER RFC822.TEXT RFC822.SIZE ENVELOPE INTERNALDATE BODYSTRUCTURE BODY)", "a",
        "FETCH seq=1 atts=[RFC822 RFC822.HEADER RFC822.TEXT RFC822.SIZE ENVELOPE INTERNALDATE BODYSTRUCTURE BODY]");
    row("fetch binary", "a FETCH 1 (BINARY[1.2] BINARY.PEEK[]<0.100> BINARY.SIZE[3])", "a",
        "FETCH seq=1 atts=[BINARY[1.2] BINARY.PEEK[]<0.100> BINARY.SIZE[3]]");
    row("fetch objectid", "a FETCH 1:* (EMAILID THREADID MODSEQ SAVEDATE)", "a",
        "FETCH seq=1:* atts=[EMAILID THREADID MODSEQ SAVEDATE]");
    row("fetch preview", "a FETCH 1 (UID PREVIEW (LAZY))", "a", "FETCH seq=1 atts=[UID PREVIEW(LAZY)]");
    row("fetch changedsince", "s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)", "s100",
        "UID FETCH seq=1:* atts=[FLAGS] changedsince=12345");
    row("fetch vanished", "A01 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)", "A01",
        "UID FETCH seq=300:500 atts=[FLAGS] changedsince=12345 vanished");
    row("fetch preview changedsince", "a FETCH 1 PREVIEW (CHANGEDSINCE 5)", "a", "FETCH seq=1 atts=[PREVIEW] changedsince=5");
    row("fetch saved set", "a FETCH $ (UID)", "a", "FETCH seq=$ atts=[UID]");
    row("fetch complex set", "a UID FETCH 1,3:5,7:*,10 FLAGS", "a", "UID FETCH seq=1,3:5,7:*,10 atts=[FLAGS]");
    row("store", "A003 STORE 2:4 +FLAGS (\\Deleted)", "A003", "STORE seq=2:4 store=+FLAGS[\\Deleted]");
    row("store silent", "A003 STORE 2:4 -FLAGS.SILENT \\Seen $Junk", "A003", "STORE seq=2:4 store=-FLAGS.SILENT[\\Seen $Junk]");
    row("store replace empty", "A STORE 1 FLAGS ()", "A", "STORE seq=1 store=FLAGS[]");
    row("store unchangedsince", "d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)", "d105",
        "STORE seq=7,5,9 store=+FLAGS.SILENT[\\Deleted] unchangedsince=320162338");
    row("uid store", "A UID STORE 4827313:4828442 FLAGS.SILENT (\\Seen)", "A", "UID STORE seq=4827313:4828442 store=FLAGS.SILENT[\\Seen]");
    row("copy", "A003 COPY 2:4 MEETING", "A003", "COPY mailbox=MEETING seq=2:4");
    row("uid copy", "A004 UID COPY 4827313:4828442 meeting", "A004", "UID COPY mailbox=meeting seq=4827313:4828442");
    row("move", "a MOVE 1:3 Trash", "a", "MOVE mailbox=Trash seq=1:3");
    row("uid move", "a UID MOVE 42:69 foo", "a", "UID MOVE mailbox=foo seq=42:69");
    // Extensions
    row("id", "a023 ID (\"name\" \"sodr\" \"version\" \"19.34\" \"vendor\" \"Pink Floyd Music Limited\")", "a023",
        "ID id=[name:sodr version:19.34 vendor:Pink Floyd Music Limited]");
    row("id nil", "a023 ID NIL", "a023", "ID");
    row("id nil value", "a ID (\"os\" NIL)", "a", "ID id=[os:NIL]");
    row("getquota", "G0001 GETQUOTA \"!partition/sda4\"", "G0001", "GETQUOTA root=\"!partition/sda4\"");
    row("getquotaroot", "G0002 GETQUOTAROOT INBOX", "G0002", "GETQUOTAROOT mailbox=INBOX");
    row("setquota", "S0000 SETQUOTA \"#user/alice\" (STORAGE 510)", "S0000", "SETQUOTA root=\"#user/alice\" limits=[STORAGE:510]");
    row("setquota empty", "S SETQUOTA \"\" ()", "S", "SETQUOTA root=\"\"");
    row("sort", "A282 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994", "A282", "SORT charset=UTF-8 sort=[SUBJECT] keys=AND(SINCE(1994-02-01))");
    row("sort reverse", "A283 SORT (SUBJECT REVERSE DATE) UTF-8 ALL", "A283", "SORT charset=UTF-8 sort=[SUBJECT REVERSE DATE] keys=AND(ALL)");
    row("uid sort", "A284 UID SORT (REVERSE ARRIVAL) US-ASCII UNSEEN", "A284", "UID SORT charset=US-ASCII sort=[REVERSE ARRIVAL] keys=AND(UNSEEN)");
    row("esort", "A SORT RETURN (MIN) (DATE) UTF-8 ALL", "A", "SORT charset=UTF-8 esearch=(MIN) sort=[DATE] keys=AND(ALL)");
    row("thread", "A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000", "A283",
        "THREAD charset=UTF-8 thread=ORDEREDSUBJECT keys=AND(SINCE(2000-03-05))");
    row("uid thread", "A284 UID THREAD references US-ASCII TEXT \"gewp\"", "A284",
        "UID THREAD charset=US-ASCII thread=REFERENCES keys=AND(TEXT(\"gewp\"))");
    row("compress", "a COMPRESS deflate", "a", "COMPRESS compress=DEFLATE");
    row("getmetadata", "a GETMETADATA \"\" /shared/comment", "a", "GETMETADATA entries=[/shared/comment]");
    row("getmetadata options", "a GETMETADATA (MAXSIZE 1024 DEPTH infinity) INBOX (/private/comment /shared/comment)", "a",
        "GETMETADATA mailbox=INBOX entries=[/private/comment /shared/comment] maxsize=1024 depth=INFINITY");
    row("setmetadata", "a SETMETADATA INBOX (/private/comment \"My comment\" /shared/x NIL)", "a",
        "SETMETADATA mailbox=INBOX values=[/private/comment:My comment /shared/x:NIL]");
}

void TestImapParser::parse()
{
    QFETCH(QByteArray, wire);
    QFETCH(QByteArray, tag);
    QFETCH(QString, expected);
    const ParseResult r = parseCommand(fromWire(wire));
    QVERIFY2(r.ok, qPrintable(r.error));
    QCOMPARE(r.tag, tag);
    QCOMPARE(r.command.tag, tag);
    QCOMPARE(dump(r.command), expected);
}

void TestImapParser::malformed_data()
{
    QTest::addColumn<QByteArray>("wire");
    QTest::addColumn<QByteArray>("tag");
    QTest::addColumn<QString>("error");
    QTest::addColumn<bool>("unknown");

    auto row = [](const char *name, const auto &wire, const char *tag, const char *error, bool unknown = false) {
        QTest::newRow(name) << QByteArray(wire, sizeof(wire) - 1) << QByteArray(tag) << QString::fromUtf8(error) << unknown;
    };
    // tags
    row("empty", "", "", "expected tag");
    row("no tag", " NOOP", "", "expected tag");
    row("plus tag", "+ NOOP", "", "expected tag");
    row("tag with plus", "a+b NOOP", "a", "expected SP");
    row("star tag", "* NOOP", "", "expected tag");
    row("paren tag", "a(b NOOP", "a", "expected SP");
    row("tag only", "a001", "a001", "expected SP before command name");
    row("two spaces", "a001  NOOP", "a001", "expected command name");
    // commands
    row("unknown", "a001 FROBNICATE", "a001", "unknown command FROBNICATE", true);
    row("unknown uid", "a UID FROB 1", "a", "unknown command UID FROB", true);
    row("uid without form", "a UID LOGIN a b", "a", "LOGIN has no UID form");
    row("trailing args", "a NOOP x", "a", "unexpected arguments after NOOP");
    row("trailing space", "a NOOP ", "a", "unexpected arguments");
    row("login one arg", "a LOGIN fred", "a", "expected SP before password");
    row("bad escape", "a LOGIN \"a\\b\" c", "a", "invalid escape");
    row("unterminated quote", "a LOGIN \"abc", "a", "unterminated quoted string");
    row("bad ir", "a AUTHENTICATE PLAIN ab$c", "a", "initial response is not base64");
    // parentheses
    row("unbalanced open", "a FETCH 1 (FLAGS UID", "a", "expected ')' closing fetch attribute list");
    row("unbalanced close", "a FETCH 1 FLAGS)", "a", "unexpected character");
    row("empty fetch list", "a FETCH 1 ()", "a", "expected fetch attribute");
    row("search unbalanced", "a SEARCH (SEEN (DELETED)", "a", "expected ')'");
    row("search empty", "a SEARCH", "a", "expected SP before search key");
    // sequence sets
    row("seq zero", "a FETCH 0 FLAGS", "a", "0 is not a valid sequence number");
    row("seq zero range", "a FETCH 1:0 FLAGS", "a", "0 is not a valid sequence number");
    row("seq open range", "a FETCH 1: FLAGS", "a", "expected sequence set");
    row("seq letter", "a FETCH a FLAGS", "a", "expected sequence set");
    row("seq trailing comma", "a FETCH 1, FLAGS", "a", "expected sequence set");
    row("seq overflow", "a FETCH 4294967296 FLAGS", "a", "number too large");
    row("seq dollar mixed", "a FETCH $,1 FLAGS", "a", "expected SP before fetch attributes");
    row("copy no mailbox", "a COPY 1:2", "a", "expected SP before mailbox name");
    row("uid expunge no set", "a UID EXPUNGE", "a", "expected SP before UID set");
    // mailbox names
    row("utf7 unterminated", "a SELECT &AOk", "a", "invalid modified UTF-7");
    row("utf7 ascii encoded", "a SELECT &AGE-", "a", "invalid modified UTF-7");
    row("utf7 bad base64", "a SELECT &Jjo!-", "a", "invalid modified UTF-7");
    row("utf7 slash", "a SELECT \"&Jj/-\"", "a", "invalid modified UTF-7");
    row("bad utf8 mailbox", "a SELECT \"\xff\xfe\"", "a", "invalid UTF-8");
    row("control in mailbox", "a SELECT {3}\r\na\tb", "a", "control character");
    // fetch / store
    row("unknown att", "a FETCH 1 (FLAGS FOO)", "a", "unknown fetch attribute FOO");
    row("bad section", "a FETCH 1 BODY[FOO]", "a", "invalid section text FOO");
    row("mime without part", "a FETCH 1 BODY[MIME]", "a", "invalid section text MIME");
    row("section unclosed", "a FETCH 1 BODY[1", "a", "expected ']' closing section");
    row("bad partial", "a FETCH 1 BODY[]<0.0>", "a", "partial length must not be 0");
    row("binary text section", "a FETCH 1 BINARY[1.TEXT]", "a", "binary section takes part numbers only");
    row("body.peek no section", "a FETCH 1 BODY.PEEK", "a", "expected '[' opening section");
    row("vanished without uid", "a FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)", "a", "VANISHED requires UID FETCH");
    row("vanished without changedsince", "a UID FETCH 1:* (FLAGS) (VANISHED)", "a", "VANISHED requires CHANGEDSINCE");
    row("macro in list", "a FETCH 1 (ALL)", "a", "unknown fetch attribute ALL");
    row("store bad item", "a STORE 1 +FLOGS (\\Seen)", "a", "expected FLAGS or FLAGS.SILENT");
    row("store star flag", "a STORE 1 +FLAGS (\\*)", "a", "expected flag");
    row("store no flags", "a STORE 1 FLAGS", "a", "expected SP before flags");
    // search
    row("badcharset", "A284 SEARCH CHARSET KOI8-R TEXT x", "A284", "[BADCHARSET] charset KOI8-R is not supported");
    row("badcharset sort", "A SORT (DATE) ISO-8859-1 ALL", "A", "[BADCHARSET]");
    row("unknown search key", "a SEARCH FOO", "a", "unknown search key FOO");
    row("bad date", "a SEARCH SINCE 31-Feb-2020", "a", "invalid date");
    row("bad month", "a SEARCH SINCE 1-Foo-2020", "a", "expected date");
    row("short year", "a SEARCH SINCE 1-Feb-94", "a", "expected date");
    row("or one arg", "a SEARCH OR SEEN", "a", "expected SP before second OR key");
    row("bad return opt", "a SEARCH RETURN (FOO) ALL", "a", "unknown return option FOO");
    row("search bad utf8", "a SEARCH SUBJECT \"\xc3\x28\"", "a", "invalid UTF-8");
    row("younger zero", "a SEARCH YOUNGER 0", "a", "interval must not be 0");
    row("sort unknown key", "a SORT (COLOUR) UTF-8 ALL", "a", "unknown sort key COLOUR");
    row("sort no charset", "a SORT (DATE) ALL", "a", "[BADCHARSET]");
    // select / list / status / create
    row("select bad param", "a SELECT INBOX (FOO)", "a", "unknown or repeated select parameter FOO");
    row("qresync zero modseq", "a SELECT INBOX (QRESYNC (1 0))", "a", "must not be 0");
    row("qresync star", "a SELECT INBOX (QRESYNC (1 2 1:*))", "a", "'*' not allowed");
    row("status unknown", "a STATUS INBOX (FOO)", "a", "unknown status item FOO");
    row("status empty", "a STATUS INBOX ()", "a", "expected status item");
    row("list recursivematch alone", "a LIST (RECURSIVEMATCH) \"\" *", "a", "RECURSIVEMATCH needs another selection option");
    row("list no pattern", "a LIST \"\"", "a", "expected SP before mailbox pattern");
    row("create bad param", "a CREATE foo (BAR)", "a", "unknown or repeated create parameter BAR");
    // append
    row("append no literal", "a APPEND INBOX hello", "a", "expected message literal");
    row("append bad date", "a APPEND INBOX \"17-Jul-1996 25:44:25 -0700\" {1}\r\nx", "a", "invalid time");
    row("append multiappend", "a APPEND INBOX {1}\r\nx {1}\r\ny", "a", "only one message per APPEND");
    row("append nul in literal", "a APPEND INBOX {3}\r\na\0b", "a", "NUL in literal");
    // id / enable / quota
    row("id odd", "a ID (\"name\")", "a", "expected SP before ID value");
    row("id long key", "a ID (\"0123456789012345678901234567890\" \"x\")", "a", "ID field name longer than 30 octets");
    row("enable nothing", "a ENABLE", "a", "expected SP before capability");
    row("setquota bad", "a SETQUOTA root (STORAGE x)", "a", "expected quota limit");
    // literals
    row("literal without data", "a LOGIN {5}", "a", "literal data missing");
    row("literal bad length", "a LOGIN {x}", "a", "expected literal length");
    row("literal huge length", "a LOGIN {99999999999999999999}", "a", "literal length too large");
    row("literal8 as astring", "a LOGIN ~{3}\r\nabc x", "a", "expected SP before password");
}

void TestImapParser::malformed()
{
    QFETCH(QByteArray, wire);
    QFETCH(QByteArray, tag);
    QFETCH(QString, error);
    QFETCH(bool, unknown);
    ParseInput in = fromWire(wire);
    const ParseResult r = parseCommand(in);
    QVERIFY2(!r.ok, qPrintable(dump(r.command)));
    QCOMPARE(r.tag, tag);
    QVERIFY2(r.error.contains(error), qPrintable(QStringLiteral("error was: ") + r.error));
    if (error.startsWith(QLatin1String("[BADCHARSET]")))
        QVERIFY(r.error.startsWith(QLatin1String("[BADCHARSET]")));
    QCOMPARE(r.unknownCommand, unknown);
}

void TestImapParser::literals()
{
    // Literal data is opaque: parentheses, quotes and CRLF inside it are not syntax.
    ParseInput in = fromWire("a APPEND INBOX (\\Seen) {11}\r\n) \"x\r\n{3}\r\n");
    ParseResult r = parseCommand(in);
    QVERIFY2(r.ok, qPrintable(r.error));
    QCOMPARE(r.command.appendMessage, QByteArray(") \"x\r\n{3}\r\n"));

    // NUL bytes are fine in literal8.
    in = ParseInput{};
    in.bytes = QByteArray("a APPEND INBOX ~{3}") + QByteArray("a\0b", 3);
    in.literals = {{19, 3}};
    r = parseCommand(in);
    QVERIFY2(r.ok, qPrintable(r.error));
    QCOMPARE(r.command.appendMessage, QByteArray("a\0b", 3));
    QVERIFY(r.command.appendBinary);

    // ... but not in a plain literal.
    in.bytes = QByteArray("a APPEND INBOX {3}") + QByteArray("a\0b", 3);
    in.literals = {{18, 3}};
    r = parseCommand(in);
    QVERIFY(!r.ok);
    QVERIFY(r.error.contains(QLatin1String("NUL")));

    // A literal map that does not match the announcement is an error, not a crash.
    in.bytes = "a LOGIN {3}abc {3}def";
    in.literals = {{11, 3}, {18, 4}};
    QVERIFY(!parseCommand(in).ok);
    in.literals = {{11, 30}};
    QCOMPARE(parseCommand(in).error, QStringLiteral("invalid literal map"));
    in.literals = {{18, 3}, {11, 3}};
    QCOMPARE(parseCommand(in).error, QStringLiteral("invalid literal map"));

    // Literal data is never scanned as syntax even if the map points into a quoted string.
    in.bytes = "a LOGIN \"ab{3}xyz\" b";
    in.literals = {{14, 3}};
    QVERIFY(!parseCommand(in).ok);
}

void TestImapParser::nestingLimit()
{
    QByteArray deep = "a SEARCH ";
    for (int i = 0; i < 10; ++i)
        deep += '(';
    deep += "SEEN";
    for (int i = 0; i < 10; ++i)
        deep += ')';
    ParseInput in;
    in.bytes = deep;
    QVERIFY(parseCommand(in, 10).ok);
    const ParseResult r = parseCommand(in, 9);
    QVERIFY(!r.ok);
    QVERIFY2(r.error.contains(QLatin1String("nested too deeply")), qPrintable(r.error));

    // Huge nesting must fail cleanly, not overflow the stack.
    in.bytes = "a SEARCH " + QByteArray(200000, '(');
    QVERIFY(!parseCommand(in).ok);
}

void TestImapParser::searchDepthLimit()
{
    ParseInput in;
    QByteArray notChain;
    for (int i = 0; i < 100000; ++i)
        notChain += "NOT ";
    in.bytes = "a SEARCH " + notChain + "SEEN";
    ParseResult r = parseCommand(in);
    QVERIFY(!r.ok);
    QVERIFY2(r.error.contains(QLatin1String("nested too deeply")), qPrintable(r.error));

    // A realistic OR chain a client builds for a UID list is accepted.
    QByteArray ors = "a UID SEARCH ";
    for (int i = 0; i < 40; ++i)
        ors += "OR UID " + QByteArray::number(i + 1) + ' ';
    ors += "UID 999";
    in.bytes = ors;
    r = parseCommand(in);
    QVERIFY2(r.ok, qPrintable(r.error));
}

void TestImapParser::dateTimeValue()
{
    const ParseResult r = parseCommand(fromWire("a APPEND INBOX \"17-Jul-1996 02:44:25 -0700\" {1}\r\nx"));
    QVERIFY2(r.ok, qPrintable(r.error));
    QVERIFY(r.command.appendDate);
    QCOMPARE(r.command.appendDate->toUTC(), QDateTime(QDate(1996, 7, 17), QTime(9, 44, 25), Qt::UTC));
    QCOMPARE(r.command.appendDate->offsetFromUtc(), -7 * 3600);
}

void TestImapParser::sequenceSetNormalised()
{
    // Documented choice: ranges are normalised to first <= last, '*' (0) always last.
    const ParseResult r = parseCommand(fromWire("a FETCH 5:3,*:4,7:*,*,9 UID"));
    QVERIFY2(r.ok, qPrintable(r.error));
    const QList<SeqRange> expected{{3, 5}, {4, 0}, {7, 0}, {0, 0}, {9, 9}};
    QCOMPARE(r.command.sequence.ranges, expected);
    QVERIFY(!r.command.sequence.saved);
}

QTEST_GUILESS_MAIN(TestImapParser)
#include "tst_imapparser.moc"
