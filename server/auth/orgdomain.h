// SPDX-License-Identifier: AGPL-3.0-or-later
// RFC 7489 §3.2 Organizational Domain, from the Public Suffix List built into libpsl.
//
// Implementation notes
// - Domains go in and come out as lower-case A-labels without a trailing dot; a U-label
//   input is converted first (QUrl::toAce). Whatever cannot be converted comes back
//   lower-cased, unchanged otherwise: the caller's comparison then simply fails.
// - A domain that is itself a public suffix ("co.uk", "test") is its own organizational
//   domain; so is a name libpsl cannot place (its "*" rule covers unknown TLDs).
// - libpsl's built-in list is immutable data: concurrent calls are safe.
#pragma once

#include <QString>

namespace valv::auth {

// Lower-case A-label form of a domain name, no trailing dot; empty when empty.
[[nodiscard]] QString normalizedDomain(const QString &domain);

// "mail.example.co.uk" -> "example.co.uk"; "example.com" -> "example.com".
[[nodiscard]] QString organizationalDomain(const QString &domain);

} // namespace valv::auth
