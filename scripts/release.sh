#!/usr/bin/env bash
# Release artefacts in target/dist/, each with a .sha256 file, and SHA256SUMS over all:
#
#   windows  portq-VERSION-windows-x86_64.zip: portq.exe (x86_64-pc-windows-gnu), the
#            PowerShell completion script, README.md, the licences and THIRD-PARTY.txt.
#   linux    portq-VERSION-linux-x86_64.tar.gz: a static portq (x86_64-unknown-linux-musl),
#            man pages, bash/zsh/fish completions, the exporter's systemd unit and example
#            configs, README.md, the licences and THIRD-PARTY.txt;
#            portq_VERSION-1_amd64.deb: the same binary as /usr/bin/portq, the man pages,
#            completions, portq-exporter.service and /etc/portq/exporter.yml (a conffile),
#            built with Debian's dpkg-deb;
#            portq-VERSION.cdx.json: a CycloneDX SBOM of the crates linked into portq.
#
# Needs: windows — the rustup target x86_64-pc-windows-gnu and mingw-w64; linux — the
# rustup target x86_64-unknown-linux-musl, musl-tools (musl-gcc, for ring's C code) and
# dpkg-deb. Completions and man pages are printed by the host build of portq.
#
# Usage: scripts/release.sh [linux|windows|all] [--check]   (default all; --check also
#        verifies every artefact's contents and checksum)
# Env:   PORTQ_RELEASE_PROFILE=dev packs the test build instead (CI checks the packaging
#        that way without a second, optimised build); a release uses the default.
set -euo pipefail
cd "$(dirname "$0")/.."
what=all
check=0
for a in "$@"; do
    case "$a" in
        linux|windows|all) what=$a ;;
        --check) check=1 ;;
        *) echo "release.sh: unknown argument '$a' (linux, windows, all, --check)" >&2; exit 2 ;;
    esac
done
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
dist=$PWD/target/dist
mkdir -p "$dist"
profile=${PORTQ_RELEASE_PROFILE:-release}
case "$profile" in
    release) dir=release ;;
    dev) dir=debug ;;
    *) echo "release.sh: PORTQ_RELEASE_PROFILE must be release or dev" >&2; exit 2 ;;
esac
cargo build --locked -p portq
host=target/debug/portq

# Every crate linked into portq for TARGET (normal dependencies, transitively), as
# THIRD-PARTY.txt (FORMAT=text) or a CycloneDX 1.5 SBOM (FORMAT=cyclonedx).
third_party() {
    local target=$1 format=$2
    cargo metadata --locked --format-version 1 --filter-platform "$target" > "$dist/metadata.json"
    python3 - "$dist/metadata.json" "$format" "$target" <<'PY'
import json, sys, uuid
m = json.load(open(sys.argv[1]))
fmt, target = sys.argv[2], sys.argv[3]
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
        if any(k["kind"] is None for k in d["dep_kinds"]):
            todo.append(d["pkg"])
linked = sorted((pkgs[i] for i in seen), key=lambda p: (p["name"], p["version"]))
if fmt == "text":
    print(f"portq ({target}) is built from these crates (name, version, licence, source):\n")
    for p in linked:
        print("%s %s  %s  %s" % (p["name"], p["version"], p.get("license") or "see its source", p.get("repository") or ""))
    sys.exit(0)
def component(p):
    c = {"type": "application" if p["id"] == root else "library", "bom-ref": p["id"],
         "name": p["name"], "version": p["version"],
         "purl": f"pkg:cargo/{p['name']}@{p['version']}"}
    if p.get("license"):
        c["licenses"] = [{"expression": p["license"]}]
    if p.get("repository"):
        c["externalReferences"] = [{"type": "vcs", "url": p["repository"]}]
    return c
main = next(p for p in linked if p["id"] == root)
bom = {
    "bomFormat": "CycloneDX", "specVersion": "1.5",
    "serialNumber": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'portq/' + main['version'] + '/' + target)}",
    "version": 1,
    "metadata": {"component": component(main), "properties": [{"name": "target", "value": target}]},
    "components": [component(p) for p in linked if p["id"] != root],
    "dependencies": [{"ref": i, "dependsOn": sorted(d["pkg"] for d in nodes[i]["deps"]
                      if d["pkg"] in seen and any(k["kind"] is None for k in d["dep_kinds"]))}
                     for i in sorted(seen)],
}
json.dump(bom, sys.stdout, indent=1)
print()
PY
    rm -f "$dist/metadata.json"
}

# SHA256SUMS over this version's artefacts in target/dist (older ones left there are not
# this release's).
sums() {
    (cd "$dist" && shopt -s nullglob &&
        files=(portq-"$version"-*.zip portq-"$version"-*.tar.gz portq_"$version"-*.deb portq-"$version".cdx.json) &&
        sha256sum -- "${files[@]}" > SHA256SUMS)
    echo "$dist/SHA256SUMS"
}

checksum() {
    (cd "$dist" && sha256sum "$1" > "$1.sha256")
    echo "$dist/$1"
}

windows() {
    local target=x86_64-pc-windows-gnu name=portq-$version-windows-x86_64
    local stage=$dist/$name
    cargo build --profile "$profile" --locked --target "$target" -p portq
    rm -rf "$stage" "$dist/$name.zip" "$dist/$name.zip.sha256"
    mkdir -p "$stage"
    cp "target/$target/$dir/portq.exe" "$stage/"
    "$host" completions powershell > "$stage/portq-completion.ps1"
    cp README.md LICENSE-MIT LICENSE-APACHE "$stage/"
    third_party "$target" text > "$stage/THIRD-PARTY.txt"
    (cd "$dist" && rm -f "$name.zip" && python3 -m zipfile -c "$name.zip" "$name")
    rm -rf "$stage"
    checksum "$name.zip"
}

# The man pages: portq.1 and portq-COMMAND.1 for every subcommand.
man_pages() {
    local out=$1
    mkdir -p "$out"
    "$host" man > "$out/portq.1"
    for c in $("$host" --help | sed -n '/^Commands:/,/^Options:/p' | awk '/^  [a-z]/ {print $1}'); do
        [ "$c" = help ] && continue
        "$host" man "$c" > "$out/portq-$c.1"
    done
}

linux() {
    local target=x86_64-unknown-linux-musl name=portq-$version-linux-x86_64
    local stage=$dist/$name deb=portq_${version}-1_amd64
    command -v musl-gcc >/dev/null || { echo "release.sh: musl-gcc is missing (apt-get install musl-tools)" >&2; exit 2; }
    CC_x86_64_unknown_linux_musl=musl-gcc cargo build --profile "$profile" --locked --target "$target" -p portq
    local bin=target/$target/$dir/portq
    rm -rf "$stage" "$dist/$deb"
    mkdir -p "$stage/completions" "$stage/contrib"
    if [ "$profile" = dev ]; then
        # The test build carries debug information: packed without it.
        strip -o "$stage/portq" "$bin"
    else
        cp "$bin" "$stage/portq"
    fi
    man_pages "$stage/man"
    "$host" completions bash > "$stage/completions/portq.bash"
    "$host" completions zsh > "$stage/completions/_portq"
    "$host" completions fish > "$stage/completions/portq.fish"
    cp contrib/systemd/portq-exporter.service contrib/debian/exporter.yml \
        contrib/debian/portq-exporter.default contrib/prometheus/web-config.yml "$stage/contrib/"
    cp README.md LICENSE-MIT LICENSE-APACHE "$stage/"
    third_party "$target" text > "$stage/THIRD-PARTY.txt"
    tar -C "$dist" --owner=0 --group=0 --sort=name -czf "$dist/$name.tar.gz" "$name"
    checksum "$name.tar.gz"

    # The Debian package, laid out by hand and built by dpkg-deb.
    local root=$dist/$deb
    install -D -m 0755 "$stage/portq" "$root/usr/bin/portq"
    for page in "$stage"/man/*.1; do
        install -D -m 0644 "$page" "$root/usr/share/man/man1/$(basename "$page")"
        gzip -9n "$root/usr/share/man/man1/$(basename "$page")"
    done
    install -D -m 0644 "$stage/completions/portq.bash" "$root/usr/share/bash-completion/completions/portq"
    install -D -m 0644 "$stage/completions/_portq" "$root/usr/share/zsh/vendor-completions/_portq"
    install -D -m 0644 "$stage/completions/portq.fish" "$root/usr/share/fish/vendor_completions.d/portq.fish"
    install -D -m 0644 contrib/systemd/portq-exporter.service "$root/lib/systemd/system/portq-exporter.service"
    install -D -m 0644 contrib/debian/exporter.yml "$root/etc/portq/exporter.yml"
    install -D -m 0644 contrib/debian/portq-exporter.default "$root/etc/default/portq-exporter"
    install -D -m 0644 contrib/prometheus/web-config.yml "$root/usr/share/doc/portq/examples/web-config.yml"
    install -D -m 0644 "$stage/THIRD-PARTY.txt" "$root/usr/share/doc/portq/THIRD-PARTY.txt"
    { printf 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: portq\n\nFiles: *\nCopyright: the portq authors\nLicense: MIT or Apache-2.0\n\n'
      sed 's/^$/./; s/^/ /' LICENSE-MIT; } > "$root/usr/share/doc/portq/copyright"
    mkdir -p "$root/DEBIAN"
    local size
    size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
    cat > "$root/DEBIAN/control" <<EOF
Package: portq
Version: ${version}-1
Architecture: amd64
Maintainer: portq developers <portq@localhost>
Installed-Size: $size
Section: net
Priority: optional
Homepage: https://github.com/portq/portq
Description: which ports Windows server roles need, and whether they listen
 portq answers what uses a port, what a service or server role needs (with the
 sentence of Microsoft's documentation that says so), whether it really listens
 on a host (PortQry's probes, many hosts at once), which service sits on an RPC
 port, and which firewall rules open exactly that. It includes a web console and
 a Prometheus exporter (portq-exporter.service, not enabled by default).
EOF
    printf '/etc/portq/exporter.yml\n/etc/default/portq-exporter\n' > "$root/DEBIAN/conffiles"
    cat > "$root/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
# The unit is installed, not enabled: `systemctl enable --now portq-exporter` starts it.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null || true
    if [ "$1" = configure ] && systemctl is-active --quiet portq-exporter.service; then
        systemctl restart portq-exporter.service || true
    fi
fi
EOF
    cat > "$root/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
    systemctl stop portq-exporter.service >/dev/null 2>&1 || true
    systemctl disable portq-exporter.service >/dev/null 2>&1 || true
fi
EOF
    cat > "$root/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = purge ]; then
    rmdir /etc/portq 2>/dev/null || true
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null || true
fi
EOF
    chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"
    (cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum > DEBIAN/md5sums)
    dpkg-deb --root-owner-group -Zxz --build "$root" "$dist/$deb.deb" >/dev/null
    rm -rf "$root" "$stage"
    checksum "$deb.deb"
    third_party "$target" cyclonedx > "$dist/portq-$version.cdx.json"
    checksum "portq-$version.cdx.json"
}

verify() {
    (cd "$dist" && for f in *.sha256; do sha256sum --quiet -c "$f"; done)
    python3 - "$dist" "$version" "$what" <<'PY'
import json, os, subprocess, sys, tarfile, zipfile
dist, version, what = sys.argv[1], sys.argv[2], sys.argv[3]
if what in ("windows", "all"):
    name = f"portq-{version}-windows-x86_64"
    z = zipfile.ZipFile(f"{dist}/{name}.zip")
    files = {n.removeprefix(name + "/") for n in z.namelist() if not n.endswith("/")}
    want = {"portq.exe", "portq-completion.ps1", "README.md", "LICENSE-MIT", "LICENSE-APACHE", "THIRD-PARTY.txt"}
    assert files == want, f"zip holds {sorted(files)}, want {sorted(want)}"
    exe = z.read(f"{name}/portq.exe")
    assert exe[:2] == b"MZ" and len(exe) > 1_000_000, "portq.exe is not a Windows executable"
    assert b"Register-ArgumentCompleter" in z.read(f"{name}/portq-completion.ps1")
    assert b"windows-sys" in z.read(f"{name}/THIRD-PARTY.txt")
    print(f"release: {name}.zip: {len(files)} files, portq.exe {len(exe)} bytes, checksum verified")
if what in ("linux", "all"):
    name = f"portq-{version}-linux-x86_64"
    t = tarfile.open(f"{dist}/{name}.tar.gz")
    files = {m.name.removeprefix(name + "/") for m in t.getmembers() if m.isfile()}
    for want in ["portq", "README.md", "LICENSE-MIT", "LICENSE-APACHE", "THIRD-PARTY.txt",
                 "man/portq.1", "man/portq-check.1", "man/portq-exporter.1",
                 "completions/portq.bash", "completions/_portq", "completions/portq.fish",
                 "contrib/portq-exporter.service", "contrib/exporter.yml", "contrib/web-config.yml"]:
        assert want in files, f"{name}.tar.gz lacks {want}"
    binary = t.extractfile(f"{name}/portq").read()
    assert binary[:4] == b"\x7fELF", "portq is not an ELF executable"
    # Static: no program interpreter (PT_INTERP) and no dynamic libraries needed.
    probe = os.path.join(dist, "static-check")
    with open(probe, "wb") as f:
        f.write(binary)
    out = subprocess.run(["readelf", "-l", "-d", probe], capture_output=True, text=True, check=True).stdout
    os.remove(probe)
    assert "INTERP" not in out and "(NEEDED)" not in out, "the Linux binary is not static"
    print(f"release: {name}.tar.gz: {len(files)} files, static portq {len(binary)} bytes, checksum verified")
    deb = f"{dist}/portq_{version}-1_amd64.deb"
    listing = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True, check=True).stdout
    for want in ["./usr/bin/portq", "./usr/share/man/man1/portq.1.gz", "./usr/share/man/man1/portq-check.1.gz",
                 "./usr/share/bash-completion/completions/portq", "./usr/share/zsh/vendor-completions/_portq",
                 "./usr/share/fish/vendor_completions.d/portq.fish", "./lib/systemd/system/portq-exporter.service",
                 "./etc/portq/exporter.yml", "./usr/share/doc/portq/copyright"]:
        assert want in listing, f"the .deb lacks {want}"
    conffiles = subprocess.run(["dpkg-deb", "-I", deb, "conffiles"], capture_output=True, text=True, check=True).stdout
    assert "/etc/portq/exporter.yml" in conffiles, conffiles
    sbom = json.load(open(f"{dist}/portq-{version}.cdx.json"))
    names = {c["name"] for c in sbom["components"]}
    assert sbom["bomFormat"] == "CycloneDX" and {"rustls", "tokio", "portq-probe"} <= names, names
    print(f"release: portq_{version}-1_amd64.deb and the SBOM ({len(names)} crates): contents and checksums verified")
PY
    (cd "$dist" && sha256sum --quiet -c SHA256SUMS)
    echo "release: $dist/SHA256SUMS verified"
    # The zipped portq.exe itself runs, where Wine and the test shim are there
    # (scripts/windows-test.sh builds the shim).
    local target=x86_64-pc-windows-gnu name=portq-$version-windows-x86_64
    local shim=$PWD/target/$target/wine-shim
    if [ "$what" != linux ] && command -v wine >/dev/null && [ -f "$shim/bcryptprimitives.dll" ]; then
        local scratch=$dist/check && rm -rf "$scratch" && mkdir -p "$scratch"
        (cd "$scratch" && python3 -m zipfile -e "$dist/$name.zip" .)
        if ! WINEPREFIX=${WINEPREFIX:-$PWD/target/$target/wineprefix} WINEDEBUG=-all \
            WINEDLLOVERRIDES="mscoree,mshtml=" WINEPATH="Z:${shim//\//\\}" \
            wine "$scratch/$name/portq.exe" lookup 445 | grep -q 'SMB'; then
            echo "release: FAILED: the zipped portq.exe does not answer 'lookup 445' under Wine" >&2
            exit 1
        fi
        echo "release: the zipped portq.exe answers 'lookup 445' under Wine"
        rm -rf "$scratch"
    fi
}

case "$what" in
    windows) windows ;;
    linux) linux ;;
    all) windows; linux ;;
esac
sums
if [ "$check" = 1 ]; then
    verify
fi
