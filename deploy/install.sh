#!/usr/bin/env bash
# Installs edgecloud as a systemd service: the binary built by compile.sh, the unit, the
# `edgecloud` system user, its directories, and a default cloudcore.yaml if none exists.
#
#   sudo deploy/install.sh                    # dist/edgecloud-<this machine's target>
#   sudo deploy/install.sh --binary ./edgecloud-x86_64-unknown-linux-gnu
#   deploy/install.sh --dry-run               # print what would be done, change nothing
#   DESTDIR=/tmp/root deploy/install.sh       # stage into a tree: no user, no chown, no systemctl
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
DESTDIR="${DESTDIR:-}"
BIN_PATH=/usr/local/bin/edgecloud
UNIT_PATH=/etc/systemd/system/edgecloud.service
CONFIG_DIR=/etc/kubeedge/config
CONFIG_PATH=$CONFIG_DIR/cloudcore.yaml
USER_NAME=edgecloud

usage() {
  cat <<EOF
usage: install.sh [--binary PATH] [--no-start] [--dry-run] [--help]
  --binary PATH  edgecloud executable (default: dist/edgecloud-<target of this machine>)
  --no-start     install and enable, but do not start the service
  --dry-run      print the commands instead of running them
  --help         this text
Environment: DESTDIR stages the files under a root directory instead of / (no user creation,
no ownership changes, no systemctl).
EOF
}

binary=""
start=1
dry_run=0
while [ $# -gt 0 ]; do
  case "$1" in
  --binary)
    [ $# -ge 2 ] && [ -n "$2" ] || { echo "install.sh: --binary needs a path" >&2; usage >&2; exit 2; }
    binary="$2"
    shift 2
    ;;
  --no-start) start=0; shift ;;
  --dry-run) dry_run=1; shift ;;
  -h | --help) usage; exit 0 ;;
  *) echo "install.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done

if [ -z "$binary" ]; then
  case "$(uname -m)" in
  x86_64 | amd64) target=x86_64-unknown-linux-gnu ;;
  aarch64 | arm64) target=aarch64-unknown-linux-gnu ;;
  *) echo "install.sh: no edgecloud build for $(uname -m); pass --binary" >&2; exit 2 ;;
  esac
  binary="$repo/dist/edgecloud-$target"
fi
if [ ! -f "$binary" ]; then
  echo "install.sh: $binary not found; build it with ./compile.sh or pass --binary" >&2
  exit 1
fi
if [ -f "$binary.sha256" ]; then
  (cd "$(dirname "$binary")" && sha256sum --quiet -c "$(basename "$binary").sha256") || {
    echo "install.sh: $binary does not match $binary.sha256" >&2
    exit 1
  }
fi

# Prints the command (dry run) or runs it.
run() {
  if [ "$dry_run" -eq 1 ]; then
    echo "+$(printf ' %q' "$@")"
  else
    "$@"
  fi
}

staged=0
[ -n "$DESTDIR" ] && staged=1
if [ "$staged" -eq 0 ] && [ "$dry_run" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: must run as root (or set DESTDIR, or use --dry-run)" >&2
  exit 1
fi

# 1. binary and unit
run install -D -m 0755 "$binary" "$DESTDIR$BIN_PATH"
run install -D -m 0644 "$here/edgecloud.service" "$DESTDIR$UNIT_PATH"

# 2. the service user (system account, no shell, no home of its own)
if [ "$staged" -eq 0 ]; then
  if ! getent passwd "$USER_NAME" >/dev/null; then
    run useradd --system --user-group --home-dir /var/lib/edgecloud --no-create-home \
      --shell /usr/sbin/nologin --comment "edgecloud service" "$USER_NAME"
  fi
fi

# 3. directories: config and certs readable by the service (group), CSI socket dir writable.
# /var/lib/edgecloud itself is made by systemd (StateDirectory=).
owner=()
if [ "$staged" -eq 0 ]; then owner=(-o root -g "$USER_NAME"); fi
run install -d -m 0750 "${owner[@]}" "$DESTDIR$CONFIG_DIR" "$DESTDIR/etc/kubeedge/ca" \
  "$DESTDIR/etc/kubeedge/certs"
if [ "$staged" -eq 0 ]; then owner=(-o "$USER_NAME" -g "$USER_NAME"); fi
run install -d -m 0750 "${owner[@]}" "$DESTDIR/var/lib/kubeedge"

# 4. a default config (cloudcore's --defaultconfig) unless one exists
if [ ! -e "$DESTDIR$CONFIG_PATH" ]; then
  if [ "$dry_run" -eq 1 ]; then
    echo "+ $DESTDIR$BIN_PATH --defaultconfig > $DESTDIR$CONFIG_PATH"
  else
    tmp="$(mktemp)"
    if "$binary" --defaultconfig >"$tmp"; then
      install -m 0640 "$tmp" "$DESTDIR$CONFIG_PATH"
      if [ "$staged" -eq 0 ]; then chown "root:$USER_NAME" "$CONFIG_PATH"; fi
    else
      echo "install.sh: could not write a default $CONFIG_PATH; create it with: edgecloud --defaultconfig" >&2
    fi
    rm -f "$tmp"
  fi
fi

# 5. systemd
if [ "$staged" -eq 0 ]; then
  run systemctl daemon-reload
  if [ "$start" -eq 1 ]; then
    run systemctl enable --now edgecloud.service
  else
    run systemctl enable edgecloud.service
  fi
fi
echo "install.sh: installed $BIN_PATH and $UNIT_PATH${DESTDIR:+ under $DESTDIR}"
