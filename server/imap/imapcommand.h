// SPDX-License-Identifier: AGPL-3.0-or-later
// The IMAP command model: what ImapParser produces from one complete command.
// RFC 3501 §9 and RFC 9051 §9 (formal syntax), plus the extension grammars listed in
// imapparser.h. Pure data; Qt Core only.
#pragma once

#include <QByteArray>
#include <QDateTime>
#include <QList>
#include <QString>

#include <cstdint>
#include <memory>
#include <optional>

namespace valv::imap {

// One range of a sequence set. 0 stands for '*' (the largest number in use).
struct SeqRange {
    uint32_t first = 0;
    uint32_t last = 0;
    bool operator==(const SeqRange &) const = default;
};

struct SequenceSet {
    QList<SeqRange> ranges;
    bool saved = false; // "$" (RFC 5182 SEARCHRES): the saved search result
    bool operator==(const SequenceSet &) const = default;
};

// A BODY[...] / BINARY[...] section specifier (RFC 9051 §6.4.5).
struct Section {
    QList<uint32_t> part;          // "1.2.3" -> {1,2,3}; empty = whole message
    enum class Text { None, Header, HeaderFields, HeaderFieldsNot, Text, Mime };
    Text text = Text::None;
    QList<QByteArray> fields;      // for HEADER.FIELDS[.NOT], as given (case kept)
    bool operator==(const Section &) const = default;
};

struct Partial {
    uint32_t offset = 0;
    uint32_t length = 0;
    bool operator==(const Partial &) const = default;
};

struct FetchAtt {
    enum class Kind {
        Envelope, Flags, InternalDate, Rfc822, Rfc822Header, Rfc822Size, Rfc822Text,
        Body,          // "BODY" without section: non-extensible BODYSTRUCTURE
        BodyStructure, Uid,
        BodySection,   // BODY[...] / BODY.PEEK[...]
        Binary,        // BINARY[...] / BINARY.PEEK[...] (RFC 3516)
        BinarySize,    // BINARY.SIZE[...]
        ModSeq,        // RFC 7162
        EmailId, ThreadId, // RFC 8474
        SaveDate,      // RFC 8514
        Preview,       // RFC 8970
    };
    Kind kind = Kind::Flags;
    bool peek = false;
    Section section;
    std::optional<Partial> partial;
    bool lazy = false;             // PREVIEW (LAZY) (RFC 8970)
    bool operator==(const FetchAtt &) const = default;
};

// A SEARCH key tree (RFC 9051 §6.4.4, RFC 7162 MODSEQ, RFC 5032 WITHIN, RFC 8474).
struct SearchKey {
    enum class Kind {
        All, Answered, Bcc, Before, Body, Cc, Deleted, Draft, Flagged, From, Header,
        Keyword, Larger, New, Not, Old, On, Or, Recent, Seen, SentBefore, SentOn,
        SentSince, Since, Smaller, Subject, Text, To, Uid, Unanswered, Undeleted,
        Undraft, Unflagged, Unkeyword, Unseen, SequenceSet, And /* parenthesised list */,
        ModSeq, Younger, Older, EmailId, ThreadId, SaveDateSupported, SaveDateBefore,
        SaveDateOn, SaveDateSince,
    };
    Kind kind = Kind::All;
    QString string;            // astring argument, decoded as UTF-8 (charset checked by parser)
    QByteArray field;          // HEADER field name; KEYWORD flag; MODSEQ entry name (string = entry type)
    QDate date;                // date arguments
    uint64_t number = 0;       // LARGER/SMALLER size, MODSEQ value, YOUNGER/OLDER seconds
    SequenceSet set;           // SequenceSet and Uid
    QList<SearchKey> children; // Not: 1, Or: 2, And: n
    bool operator==(const SearchKey &) const = default;
};

enum class SearchReturn { Min = 1, Max = 2, All = 4, Count = 8, Save = 16 };


// STORE (RFC 9051 §6.4.6, RFC 7162 UNCHANGEDSINCE)
struct StoreArgs {
    enum class Mode { Replace, Add, Remove };
    Mode mode = Mode::Replace;
    bool silent = false;
    QList<QByteArray> flags;
    std::optional<uint64_t> unchangedSince;
};

enum class CommandName {
    Capability, Noop, Logout, StartTls, Authenticate, Login, Enable, Select, Examine,
    Create, Delete, Rename, Subscribe, Unsubscribe, List, Lsub, Namespace, Status, Append,
    Idle, Check, Close, Unselect, Expunge, Search, Fetch, Store, Copy, Move, Id,
    GetQuota, GetQuotaRoot, SetQuota, Sort, Thread, Compress, Done /* IDLE terminator */,
    GetMetadata, SetMetadata,
};

// One parsed command. Only the fields of its CommandName are set.
struct Command {
    QByteArray tag;
    CommandName name = CommandName::Noop;
    bool uid = false;                 // UID FETCH/STORE/COPY/MOVE/SEARCH/EXPUNGE/SORT/THREAD

    // Mailbox names are decoded: modified UTF-7 (RFC 3501 §5.1.3) or UTF-8 (RFC 9051).
    // "INBOX" in any case is normalised to "INBOX".
    QString mailbox;                  // SELECT EXAMINE CREATE DELETE SUBSCRIBE UNSUBSCRIBE STATUS APPEND COPY MOVE GETQUOTAROOT
    QString newMailbox;               // RENAME target
    QString reference;                // LIST/LSUB reference
    QList<QString> patterns;          // LIST/LSUB patterns (one or more with LIST-EXTENDED)
    QList<QByteArray> listSelectOptions; // LIST-EXTENDED selection options, upper-cased
    QList<QByteArray> listReturnOptions; // RETURN (...) options, upper-cased; STATUS (...) kept in statusItems
    QList<QByteArray> statusItems;    // STATUS items / LIST RETURN STATUS items, upper-cased
    QList<QByteArray> createSpecialUse; // CREATE ... (USE (\Drafts))

    // SELECT/EXAMINE parameters (RFC 7162): (CONDSTORE) and (QRESYNC (uidvalidity modseq [known-uids [seq-match]]))
    bool condstore = false;
    struct Qresync {
        uint32_t uidValidity = 0;
        uint64_t modSeq = 0;
        std::optional<SequenceSet> knownUids;
        std::optional<std::pair<SequenceSet, SequenceSet>> seqMatch;
    };
    std::optional<Qresync> qresync;

    QByteArray userName;              // LOGIN (raw bytes)
    QByteArray password;              // LOGIN (raw bytes)
    QByteArray saslMechanism;         // AUTHENTICATE, upper-cased
    std::optional<QByteArray> saslInitialResponse; // SASL-IR, still base64; "=" stays "="

    QList<QByteArray> capabilities;   // ENABLE, upper-cased

    // APPEND (single message; MULTIAPPEND not required)
    QList<QByteArray> appendFlags;
    std::optional<QDateTime> appendDate;
    QByteArray appendMessage;         // literal bytes (literal8 for BINARY's ~{N} too)
    bool appendBinary = false;
    bool appendUtf8 = false;          // APPEND ... UTF8 (literal8) (RFC 6855)

    SequenceSet sequence;             // FETCH STORE COPY MOVE UID EXPUNGE
    QList<FetchAtt> fetchAtts;        // macros ALL/FAST/FULL expanded
    std::optional<uint64_t> changedSince; // FETCH (CHANGEDSINCE n)
    bool vanished = false;            // FETCH (VANISHED)
    StoreArgs store;

    // SEARCH / SORT / THREAD
    QByteArray charset;               // upper-cased; empty when absent
    SearchKey searchKey;              // Kind::And of the top-level keys
    bool esearch = false;             // RETURN (...) given
    int searchReturn = 0;             // SearchReturn bits; 0 with esearch => ALL
    QList<QByteArray> sortCriteria;   // e.g. "REVERSE", "DATE", upper-cased, in order
    QByteArray threadAlgorithm;       // upper-cased

    QList<std::pair<QByteArray, std::optional<QByteArray>>> idParams; // ID (NIL -> empty list)

    QByteArray quotaRoot;             // GETQUOTA / SETQUOTA
    QList<std::pair<QByteArray, uint64_t>> quotaLimits; // SETQUOTA
    QByteArray compressMechanism;     // COMPRESS DEFLATE

    // GETMETADATA / SETMETADATA (RFC 5464); mailbox "" is the server.
    QList<QByteArray> metadataEntries; // GETMETADATA entry names, as given
    QList<std::pair<QByteArray, std::optional<QByteArray>>> metadataValues; // SETMETADATA (NIL -> nullopt)
    std::optional<uint32_t> metadataMaxSize; // GETMETADATA (MAXSIZE n)
    QByteArray metadataDepth;         // GETMETADATA (DEPTH 0|1|INFINITY), upper-cased; empty when absent
};

} // namespace valv::imap
