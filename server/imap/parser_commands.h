// SPDX-License-Identifier: AGPL-3.0-or-later
// Per-command-group grammar functions of the IMAP parser. Private to valv_imap_parser.
// Each is called with the lexer just after the command name (and "UID " where given)
// and returns false with the lexer's error set on a syntax error. None of them checks
// for the end of the command; parseCommand does.
#pragma once

#include "imap/parser_lexer.h"

namespace valv::imap::detail {

// parser_fetch.cpp
bool parseFetch(Lexer &lx, Command &cmd);
bool parseStore(Lexer &lx, Command &cmd);

// parser_search.cpp
bool parseSearch(Lexer &lx, Command &cmd);
bool parseSort(Lexer &lx, Command &cmd);
bool parseThread(Lexer &lx, Command &cmd);

// parser_list.cpp
bool parseList(Lexer &lx, Command &cmd);
bool parseLsub(Lexer &lx, Command &cmd);
bool parseStatus(Lexer &lx, Command &cmd);
bool parseStatusAtts(Lexer &lx, QList<QByteArray> &out);
bool parseSelect(Lexer &lx, Command &cmd);
bool parseCreate(Lexer &lx, Command &cmd);

// parser_misc.cpp
bool parseAppend(Lexer &lx, Command &cmd);
bool parseId(Lexer &lx, Command &cmd);
bool parseGetMetadata(Lexer &lx, Command &cmd);
bool parseSetMetadata(Lexer &lx, Command &cmd);
bool parseSetQuota(Lexer &lx, Command &cmd);

} // namespace valv::imap::detail
