# SPDX-License-Identifier: AGPL-3.0-or-later
add_library(valv_imap STATIC
    imapsession.cpp
    commands/auth.cpp
    commands/mailbox.cpp
    commands/mailboxes.cpp
    commands/fetch.cpp
    commands/store.cpp
    commands/search.cpp
    searchengine.cpp
    sortthread.cpp
    commands/append.cpp
    commands/copymove.cpp
    commands/idle.cpp
    commands/misc.cpp
    commands/condstore.cpp
)
target_link_libraries(valv_imap PUBLIC valv_imap_parser valv_core valv_store valv_mime valv_delivery)
