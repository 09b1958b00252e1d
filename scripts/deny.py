#!/usr/bin/env python3
"""Release hygiene without network access, in the spirit of `cargo deny check`:

- licences: every dependency's SPDX expression must be satisfiable from ALLOWED;
- sources: every package comes from crates.io or from this workspace (no git, no other registry);
- duplicates: crates present in more than one version are listed (a warning, as cargo-deny does);
- advisories: checked against a local RustSec advisory database when one exists
  (~/.cargo/advisory-db or $PORTQ_ADVISORY_DB); otherwise a loud SKIPPED line, never a silent pass.

Exit 0 when licences and sources are clean, 1 otherwise.
"""
import json
import os
import re
import subprocess
import sys

ALLOWED = {
    "MIT", "Apache-2.0", "Apache-2.0 WITH LLVM-exception", "BSD-2-Clause", "BSD-3-Clause", "ISC",
    "Unicode-3.0", "Unicode-DFS-2016", "Zlib", "CC0-1.0", "0BSD", "BSL-1.0", "MPL-2.0", "Unlicense",
    "CDLA-Permissive-2.0",
}


def satisfiable(expr):
    """Very small SPDX evaluator: OR of AND-groups, parentheses flattened."""
    expr = expr.replace("/", " OR ")
    expr = re.sub(r"[()]", " ", expr)
    for alt in re.split(r"\s+OR\s+", expr):
        parts = [p.strip() for p in re.split(r"\s+AND\s+", alt) if p.strip()]
        parts = [re.sub(r"\s+", " ", p) for p in parts]
        if parts and all(p in ALLOWED for p in parts):
            return True
    return False


def main():
    meta = json.loads(subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked"],
        check=True, capture_output=True, text=True).stdout)
    workspace = set(meta["workspace_members"])
    bad = []
    versions = {}
    for p in meta["packages"]:
        if p["id"] in workspace:
            continue
        src = p.get("source") or ""
        if not src.startswith("registry+https://github.com/rust-lang/crates.io-index") and \
           not src.startswith("sparse+https://index.crates.io/"):
            bad.append(f"source: {p['name']} {p['version']} comes from {src or 'a path outside the workspace'}")
        lic = p.get("license")
        if not lic:
            bad.append(f"licence: {p['name']} {p['version']} declares no SPDX licence")
        elif not satisfiable(lic):
            bad.append(f"licence: {p['name']} {p['version']} is {lic!r}, not in the allowed set")
        versions.setdefault(p["name"], set()).add(p["version"])
    dups = {n: sorted(v) for n, v in versions.items() if len(v) > 1}
    print(f"deny: {len(meta['packages']) - len(workspace)} dependencies checked for licence and source")
    for n, v in sorted(dups.items()):
        print(f"deny: warning: {n} in {len(v)} versions: {', '.join(v)}")
    db = os.environ.get("PORTQ_ADVISORY_DB") or os.path.expanduser("~/.cargo/advisory-db")
    if os.path.isdir(os.path.join(db, "crates")):
        hits = []
        for p in meta["packages"]:
            d = os.path.join(db, "crates", p["name"])
            if os.path.isdir(d):
                hits.append(f"{p['name']} {p['version']}: advisories exist in {d}; review them")
        for h in hits:
            print(f"deny: advisory: {h}")
    else:
        print("deny: SKIPPED advisories: no local RustSec advisory database "
              f"({db}); this machine cannot fetch one")
    for b in bad:
        print(f"deny: error: {b}")
    print(f"deny: {'FAILED' if bad else 'ok'}: {len(bad)} error(s), {len(dups)} duplicate-version warning(s)")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
