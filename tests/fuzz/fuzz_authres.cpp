// SPDX-License-Identifier: AGPL-3.0-or-later
// libFuzzer target for the RFC 8601 Authentication-Results parser and builder.
// Oracles besides "no crash, no sanitizer report":
// - a field that parses has the same authserv-id under parseAuthservId;
// - build(parse(x)) parses again, to the same authserv-id and results;
// - whatever the builder is given (here: texts cut from the input, control characters
//   and all), its output is one header field: "Authentication-Results: " first, CRLF
//   line ends only, every continuation line starting with a blank, and it parses.
#include "auth/authresults.h"

#include <QByteArray>
#include <QList>
#include <QString>

#include <cstdint>
#include <cstdlib>

using namespace valv::auth;

namespace {

void check(bool ok)
{
    if (!ok)
        std::abort();
}

void checkOneField(const QByteArray &field)
{
    check(field.startsWith("Authentication-Results: "));
    check(field.endsWith("\r\n"));
    for (qsizetype i = 0; i < field.size(); ++i) {
        if (field[i] == '\r') {
            check(i + 1 < field.size() && field[i + 1] == '\n');
        } else if (field[i] == '\n') {
            check(i > 0 && field[i - 1] == '\r');
            check(i + 1 == field.size() || field[i + 1] == ' ' || field[i + 1] == '\t');
        }
    }
}

void checkParse(const QByteArray &input)
{
    const auto ar = parseAuthenticationResults(input);
    if (!ar.ok()) {
        check(!ar.error().message.isEmpty());
        return;
    }
    const auto id = parseAuthservId(input);
    check(id.ok() && *id == ar->authservId);
    const QByteArray built = buildAuthenticationResults(ar->authservId, ar->entries);
    checkOneField(built);
    const auto again = parseAuthenticationResults(built);
    check(again.ok());
    check(again->authservId == ar->authservId);
    check(again->entries == ar->entries);
}

// Texts for the builder taken from the input: fields split at '|'.
void checkBuild(const QByteArray &input)
{
    const QList<QByteArray> parts = input.split('|');
    auto part = [&](qsizetype i) { return QString::fromUtf8(parts.value(i % parts.size())); };
    QList<AuthResultEntry> entries;
    for (qsizetype i = 1; i + 4 < parts.size() && entries.size() < 8; i += 5) {
        AuthResultEntry e;
        e.method = part(i);
        e.result = part(i + 1);
        e.comment = part(i + 2);
        e.reason = part(i + 3);
        e.methodVersion = int(parts[i].size() % 3);
        e.properties << AuthResultProperty{QStringLiteral("header"), QStringLiteral("d"), part(i + 4)}
                     << AuthResultProperty{part(i), part(i + 1), part(i + 2)};
        entries << e;
    }
    // Keyword-valid entries so that the hostile texts reach the output.
    entries << AuthResultEntry{QStringLiteral("dkim"), 1, QStringLiteral("pass"), part(0), part(1),
        {AuthResultProperty{QStringLiteral("header"), QStringLiteral("b"), part(2)}}};
    const QByteArray built = buildAuthenticationResults(part(0), entries);
    checkOneField(built);
    const auto parsed = parseAuthenticationResults(built);
    check(parsed.ok());
    check(!parsed->entries.isEmpty());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 80 * 1024)
        return 0;
    const QByteArray input(reinterpret_cast<const char *>(data), qsizetype(size));
    checkParse(input);
    checkBuild(input);
    return 0;
}
