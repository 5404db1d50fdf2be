// SPDX-License-Identifier: AGPL-3.0-or-later
#include "store/searchindex.h"

#include <sqlite3.h>

#include <cstring>
#include <new>

namespace valv::store::searchindex {

namespace {

// SQLite's fts3_tokenizer.h (public interface, version 0).
struct sqlite3_tokenizer;
struct sqlite3_tokenizer_cursor;
struct sqlite3_tokenizer_module {
    int iVersion;
    int (*xCreate)(int argc, const char *const *argv, sqlite3_tokenizer **ppTokenizer);
    int (*xDestroy)(sqlite3_tokenizer *pTokenizer);
    int (*xOpen)(sqlite3_tokenizer *pTokenizer, const char *pInput, int nBytes, sqlite3_tokenizer_cursor **ppCursor);
    int (*xClose)(sqlite3_tokenizer_cursor *pCursor);
    int (*xNext)(sqlite3_tokenizer_cursor *pCursor, const char **ppToken, int *pnBytes, int *piStartOffset,
                 int *piEndOffset, int *piPosition);
};
struct sqlite3_tokenizer {
    const sqlite3_tokenizer_module *pModule; // set by FTS
};
struct sqlite3_tokenizer_cursor {
    sqlite3_tokenizer *pTokenizer; // set by FTS
};

struct Cursor {
    sqlite3_tokenizer_cursor base;
    const char *input;
    int size;
    int bounds[4]; // byte offsets of the characters at position..position+3 (or size)
    int position;
    bool single;   // fewer than three characters in all: one short token
    bool done;
};

// Byte offset of the character after the one starting at `at` (UTF-8 from QString).
int nextChar(const char *s, int size, int at)
{
    if (at >= size)
        return size;
    ++at;
    while (at < size && (static_cast<unsigned char>(s[at]) & 0xC0) == 0x80)
        ++at;
    return at;
}

int create(int, const char *const *, sqlite3_tokenizer **out)
{
    auto *t = new (std::nothrow) sqlite3_tokenizer{};
    if (!t)
        return SQLITE_NOMEM;
    *out = t;
    return SQLITE_OK;
}

int destroy(sqlite3_tokenizer *t)
{
    delete t;
    return SQLITE_OK;
}

int open(sqlite3_tokenizer *, const char *input, int size, sqlite3_tokenizer_cursor **out)
{
    auto *c = new (std::nothrow) Cursor{};
    if (!c)
        return SQLITE_NOMEM;
    c->input = input ? input : "";
    c->size = size < 0 ? int(std::strlen(c->input)) : size;
    c->bounds[0] = 0;
    for (int i = 1; i < 4; ++i)
        c->bounds[i] = nextChar(c->input, c->size, c->bounds[i - 1]);
    c->single = c->bounds[2] >= c->size; // fewer than three characters
    c->done = c->size == 0;
    *out = &c->base;
    return SQLITE_OK;
}

int close(sqlite3_tokenizer_cursor *base)
{
    delete reinterpret_cast<Cursor *>(base);
    return SQLITE_OK;
}

int next(sqlite3_tokenizer_cursor *base, const char **token, int *bytes, int *start, int *end, int *position)
{
    auto *c = reinterpret_cast<Cursor *>(base);
    if (c->done)
        return SQLITE_DONE;
    if (c->single) {
        // One or two characters in all: a single short token (it can never equal a trigram).
        c->done = true;
        *token = c->input;
        *bytes = c->size;
        *start = 0;
        *end = c->size;
        *position = 0;
        return SQLITE_OK;
    }
    // bounds[3] is past the third character of this trigram; there is one while the
    // third character exists, i.e. bounds[2] < size.
    if (c->bounds[2] >= c->size) {
        c->done = true;
        return SQLITE_DONE;
    }
    *token = c->input + c->bounds[0];
    *bytes = c->bounds[3] - c->bounds[0];
    *start = c->bounds[0];
    *end = c->bounds[3];
    *position = c->position++;
    for (int i = 0; i < 3; ++i)
        c->bounds[i] = c->bounds[i + 1];
    c->bounds[3] = nextChar(c->input, c->size, c->bounds[3]);
    return SQLITE_OK;
}

const sqlite3_tokenizer_module kModule{0, create, destroy, open, close, next};

} // namespace

const void *tokenizerModule() { return &kModule; }

QString fold(const QString &text, FoldFor what)
{
    QString out = text.toCaseFolded();
    for (QChar &c : out) {
        switch (c.unicode()) {
        case 0xFFFE:
            if (what == FoldFor::Document)
                break; // the value separator
            c = QChar(0xFFFD);
            break;
        case 0xFFFC:
        case 0xFFFF: c = QChar(0xFFFD); break;
        case u'"': c = QChar(0xFFFF); break;
        case u'*': c = QChar(0xFFFC); break;
        default: break;
        }
    }
    return out;
}

bool indexable(const QString &needle)
{
    // Three characters (code points, not UTF-16 units) after folding.
    const QString f = needle.toCaseFolded();
    int chars = 0;
    for (qsizetype i = 0; i < f.size() && chars < 3; ++i) {
        if (!f[i].isLowSurrogate())
            ++chars;
    }
    return chars >= 3;
}

QString phrase(const QString &needle) { return u'"' + fold(needle, FoldFor::Needle) + u'"'; }

} // namespace valv::store::searchindex
