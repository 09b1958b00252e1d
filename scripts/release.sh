#!/usr/bin/env bash
# The Windows release artifact: target/dist/portq-VERSION-windows-x86_64.zip with
# portq.exe (release build, x86_64-pc-windows-gnu), the PowerShell completion script,
# README.md and the licences (portq's and its dependencies'), and a .sha256 file next to
# it in `sha256sum` format. Prints the two paths.
#
# Needs the rustup target x86_64-pc-windows-gnu and mingw-w64. The completion script is
# printed by the host build of portq (it is the same on every platform).
# Usage: scripts/release.sh [--check]   (--check: also verify the zip's contents and checksum)
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-pc-windows-gnu
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
name=portq-$version-windows-x86_64
dist=$PWD/target/dist
stage=$dist/$name

# PORTQ_RELEASE_PROFILE=dev packs the test build instead (CI checks the packaging that way
# without a second, optimised build); a release is always made with the default.
profile=${PORTQ_RELEASE_PROFILE:-release}
case "$profile" in
    release) dir=release ;;
    dev) dir=debug ;;
    *) echo "release.sh: PORTQ_RELEASE_PROFILE must be release or dev" >&2; exit 2 ;;
esac
cargo build --profile "$profile" --locked --target "$target" -p portq
cargo build --locked -p portq
rm -rf "$stage" "$dist/$name.zip" "$dist/$name.zip.sha256"
mkdir -p "$stage"
cp "target/$target/$dir/portq.exe" "$stage/"
target/debug/portq completions powershell > "$stage/portq-completion.ps1"
cp README.md LICENSE-MIT LICENSE-APACHE "$stage/"
# Every crate linked into portq.exe, with its licence, from Cargo's own metadata.
cargo metadata --locked --format-version 1 --filter-platform "$target" > "$dist/metadata.json"
python3 - "$dist/metadata.json" > "$stage/THIRD-PARTY.txt" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
pkgs = {p["id"]: p for p in m["packages"]}
nodes = {n["id"]: n for n in m["resolve"]["nodes"]}
root = next(p["id"] for p in m["packages"] if p["name"] == "portq")
seen, todo = set(), [root]
while todo:
    i = todo.pop()
    if i in seen:
        continue
    seen.add(i)
    for d in nodes[i]["deps"]:
        if any(k["kind"] in (None, "build") for k in d["dep_kinds"]):
            todo.append(d["pkg"])
print("portq.exe is built from these crates (name, version, licence, source):\n")
for p in sorted((pkgs[i] for i in seen), key=lambda p: (p["name"], p["version"])):
    lic = p.get("license") or "see its source"
    print("%s %s  %s  %s" % (p["name"], p["version"], lic, p.get("repository") or ""))
PY
rm -f "$dist/metadata.json"
(cd "$dist" && python3 -m zipfile -c "$name.zip" "$name" && sha256sum "$name.zip" > "$name.zip.sha256")
echo "$dist/$name.zip"
echo "$dist/$name.zip.sha256"

if [ "${1:-}" = --check ]; then
    (cd "$dist" && sha256sum -c "$name.zip.sha256")
    python3 - "$dist/$name.zip" "$name" <<'PY'
import sys, zipfile
path, name = sys.argv[1], sys.argv[2]
z = zipfile.ZipFile(path)
files = {n.removeprefix(name + "/") for n in z.namelist() if not n.endswith("/")}
want = {"portq.exe", "portq-completion.ps1", "README.md", "LICENSE-MIT", "LICENSE-APACHE", "THIRD-PARTY.txt"}
assert files == want, f"zip holds {sorted(files)}, want {sorted(want)}"
exe = z.read(f"{name}/portq.exe")
assert exe[:2] == b"MZ" and len(exe) > 1_000_000, "portq.exe is not a Windows executable"
assert b"Register-ArgumentCompleter" in z.read(f"{name}/portq-completion.ps1")
assert b"windows-sys" in z.read(f"{name}/THIRD-PARTY.txt")
print(f"release: {path}: {len(files)} files, portq.exe {len(exe)} bytes, checksum verified")
PY
    # The zipped portq.exe itself runs, where Wine and the test shim are there
    # (scripts/windows-test.sh builds the shim).
    shim=$PWD/target/$target/wine-shim
    if command -v wine >/dev/null && [ -f "$shim/bcryptprimitives.dll" ]; then
        check=$dist/check && rm -rf "$check" && mkdir -p "$check"
        (cd "$check" && python3 -m zipfile -e "$dist/$name.zip" .)
        if ! WINEPREFIX=${WINEPREFIX:-$PWD/target/$target/wineprefix} WINEDEBUG=-all \
            WINEDLLOVERRIDES="mscoree,mshtml=" WINEPATH="Z:${shim//\//\\}" \
            wine "$check/$name/portq.exe" lookup 445 | grep -q 'SMB'; then
            echo "release: FAILED: the zipped portq.exe does not answer 'lookup 445' under Wine" >&2
            exit 1
        fi
        echo "release: the zipped portq.exe answers 'lookup 445' under Wine"
        rm -rf "$check"
    fi
fi
