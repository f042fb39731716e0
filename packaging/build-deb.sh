#!/usr/bin/env bash
# Builds the Debian package: `npm run package` (after npm ci and npm run build).
#   usage: packaging/build-deb.sh [OUTDIR]     (default dist/; prints the .deb's path last)
# What goes where (docs/operating.md, "Install"):
#   /usr/lib/kickstand/             the compiled app (dist/src), bin/kickstand, package.json,
#                                   the production node_modules (package-lock.json's non-dev
#                                   packages, as npm ci built them) and the native addon
#   /usr/lib/kickstand/node/        the Node.js runtime it was built and tested with (better-sqlite3
#                                   is compiled for exactly that ABI; Debian 12's own nodejs is 18)
#   /usr/bin/kickstand              runs the app with that runtime
#   /lib/systemd/system/kickstand.service   systemd/kickstand.service (hardened; not enabled)
#   /etc/kickstand/kickstand.yaml   conffile: the idle production template (config/production.ts)
#   /usr/share/kickstand/kickstarts the shipped kickstart templates
#   /usr/share/doc/kickstand/       README.md, docs/, copyright
# The maintainer scripts (packaging/debian/) create the `kickstand` system user and
# /var/lib/kickstand (0700); purge removes /etc/kickstand and /var/lib/kickstand.
# KICKSTAND_NODE=PATH bundles another node binary (it must be the one node_modules was built with).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
OUT=${1:-$REPO/dist}
NODE=${KICKSTAND_NODE:-$(command -v node)}
NODE=$(readlink -f "$NODE")

VERSION=$(node -p 'require("./package.json").version')
ARCH=$(dpkg --print-architecture)
NODE_VERSION=$("$NODE" --version)
[ -f dist/src/cli/main.js ] || { echo "build-deb: dist/src is missing; run npm run build first" >&2; exit 1; }
[ -f build/Release/kickstand_native.node ] || {
  echo "build-deb: the native addon is not built (build/Release/kickstand_native.node); run npm ci with a C toolchain" >&2
  exit 1
}

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/kickstand-deb.XXXXXX")
trap 'rm -rf -- "$STAGE"' EXIT
ROOT=$STAGE/root
APP=$ROOT/usr/lib/kickstand
mkdir -p "$APP/bin" "$APP/build/Release" "$APP/node/bin" "$ROOT/usr/bin" "$ROOT/lib/systemd/system" \
  "$ROOT/etc/kickstand" "$ROOT/usr/share/kickstand" "$ROOT/usr/share/doc/kickstand" "$ROOT/DEBIAN"

# The app: compiled JavaScript only (no declaration files or source maps), the launcher, the addon.
(cd dist && find src -name '*.js' -print0 | cpio --quiet -0 -pdm "$APP/dist")
install -m 0755 bin/kickstand "$APP/bin/kickstand"
# The web console's static files (served by dist/src/http/console/routes.ts from ../../../../console).
cp -r console "$APP/console"
install -m 0644 build/Release/kickstand_native.node "$APP/build/Release/"
node -e '
  const p = require("./package.json");
  const keep = { name: p.name, version: p.version, description: p.description, license: p.license,
    private: true, type: p.type, bin: p.bin, engines: p.engines, dependencies: p.dependencies };
  process.stdout.write(JSON.stringify(keep, null, 2) + "\n");' >"$APP/package.json"

# Production dependencies: every package-lock entry not marked dev, copied as npm ci built it,
# without what only building needed (sources, object files, static libraries, tests).
node -e '
  const l = require("./package-lock.json");
  for (const [k, v] of Object.entries(l.packages)) if (k && !v.dev) console.log(k);' |
  while read -r dir; do
    [ -d "$dir" ] || continue # an optional dependency npm did not install on this platform
    mkdir -p "$APP/$dir"
    (cd "$dir" && find . -path ./node_modules -prune -o \( -type f -o -type l \) -print0 |
      cpio --quiet -0 -pdm "$APP/$dir")
  done
for m in "$APP"/node_modules/better-sqlite3 "$APP"/node_modules/cpu-features; do
  [ -d "$m" ] || continue
  rm -rf "$m/deps" "$m/src" "$m/build/Release/obj" "$m/build/Release/obj.target" "$m/build/Release/.deps" \
    "$m/build/Release/test_extension.node" "$m"/build/Release/*.a "$m/build/deps" "$m"/build/*.mk \
    "$m/build/Makefile" "$m/build/config.gypi"
done

# The runtime.
install -m 0755 "$NODE" "$APP/node/bin/node"
NODE_PREFIX=$(dirname "$(dirname "$NODE")")
for f in LICENSE share/doc/node/LICENSE; do
  if [ -f "$NODE_PREFIX/$f" ]; then install -m 0644 "$NODE_PREFIX/$f" "$APP/node/LICENSE"; break; fi
done
cat >"$ROOT/usr/bin/kickstand" <<'SH'
#!/bin/sh
# The kickstand package's launcher: its own Node.js runtime (/usr/lib/kickstand/node).
exec /usr/lib/kickstand/node/bin/node /usr/lib/kickstand/bin/kickstand "$@"
SH
chmod 0755 "$ROOT/usr/bin/kickstand"

# The packaged app must load with the packaged runtime: SQLite and the addon included.
"$APP/node/bin/node" -e '
  const Database = require(process.argv[1] + "/node_modules/better-sqlite3");
  new Database(":memory:").prepare("select 1").get();
  const n = require(process.argv[1] + "/dist/src/native");
  if (n.native() === null) throw new Error("native addon: " + n.nativeStatus().reason);' "$APP"

install -m 0644 systemd/kickstand.service "$ROOT/lib/systemd/system/kickstand.service"

# The conffile: the idle production template, from the same code kickstand init compares it with.
node -e 'process.stdout.write(require("./dist/src/config/production").packagedConfig())' \
  >"$ROOT/etc/kickstand/kickstand.yaml"
chmod 0644 "$ROOT/etc/kickstand/kickstand.yaml"

cp -r kickstarts "$ROOT/usr/share/kickstand/kickstarts"
install -m 0644 README.md "$ROOT/usr/share/doc/kickstand/README.md"
cp -r docs "$ROOT/usr/share/doc/kickstand/docs"
cat >"$ROOT/usr/share/doc/kickstand/copyright" <<COPY
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: kickstand

Files: *
License: Apache-2.0
 On Debian systems the full text is in /usr/share/common-licenses/Apache-2.0.

Files: usr/lib/kickstand/node/*
License: MIT and others
 The Node.js runtime $NODE_VERSION; its license is /usr/lib/kickstand/node/LICENSE.

Files: usr/lib/kickstand/node_modules/*
License: various (MIT, ISC, BSD, Apache-2.0)
 Each package's license is in its folder.
COPY
find "$ROOT" -type d -exec chmod 0755 {} +

# Control files.
for s in postinst prerm postrm; do install -m 0755 "packaging/debian/$s" "$ROOT/DEBIAN/$s"; done
echo /etc/kickstand/kickstand.yaml >"$ROOT/DEBIAN/conffiles"
SIZE=$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
cat >"$ROOT/DEBIAN/control" <<CONTROL
Package: kickstand
Version: $VERSION
Architecture: $ARCH
Maintainer: Kickstand <kickstand@example.invalid>
Installed-Size: $SIZE
Depends: libc6 (>= 2.28), libgcc-s1, libstdc++6, passwd
Recommends: ipxe, xorriso
Suggests: ipmitool
Section: admin
Priority: optional
Homepage: https://example.invalid/kickstand
Description: bare-metal provisioning daemon (PXE DHCP, TFTP, HTTP boot, kickstarts)
 Kickstand boots registered machines over the network, serves each its kickstart behind a
 one-time token, pins its SSH host key when the install reports back and joins it to a
 WireGuard mesh and a k3s cluster. Includes its Node.js runtime ($NODE_VERSION).
 .
 After installing: kickstand init --interface IF, then systemctl enable --now kickstand.
CONTROL
(cd "$ROOT" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | xargs -0 md5sum >DEBIAN/md5sums)

mkdir -p "$OUT"
DEB=$OUT/kickstand_${VERSION}_${ARCH}.deb
# zstd (dpkg >= 1.21.18, Debian 12): far quicker to build than xz at about the same size.
dpkg-deb --root-owner-group -Zzstd -z12 --build "$ROOT" "$DEB" >/dev/null
echo "$DEB"
