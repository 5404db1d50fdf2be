#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
# Converts the RFC 7208 test suite (YAML, several documents, as shipped by python3-spf)
# into one JSON file for tst_spf_suite. A plain format change: each document keeps its
# description, zone data and tests (as a list, in file order); what the zone data means
# is the test's business. Non-ASCII and NUL characters survive as JSON \u escapes.
# Usage: spf_suite_to_json.py rfc7208-tests.yml.gz out.json
import gzip
import json
import sys

import yaml


def main():
    src, dst = sys.argv[1], sys.argv[2]
    opener = gzip.open if src.endswith('.gz') else open
    with opener(src, 'rb') as f:
        documents = list(yaml.safe_load_all(f))
    out = []
    for doc in documents:
        if not doc:
            continue
        tests = [dict(name=name, **fields) for name, fields in doc.get('tests', {}).items()]
        out.append({
            'description': doc.get('description', ''),
            'zonedata': doc.get('zonedata', {}),
            'tests': tests,
        })
    with open(dst, 'w', encoding='ascii') as f:
        json.dump(out, f, indent=1, ensure_ascii=True, default=str)


if __name__ == '__main__':
    main()
