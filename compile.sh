#!/usr/bin/env bash
# Builds one self-contained edgecloud executable per target with `deno compile`, with the
# permission flags of permissions.ts (profile "system": the paths of deploy/edgecloud.service)
# baked in, and a sha256sum-format checksum file beside each.
#
# `deno compile` needs Deno's runtime (`denort`) for each target: downloaded from dl.deno.land
# on first use, or taken from $DENORT_BIN (a denort binary of the same Deno version, for the one
# target being built). Without either, this script says so in one line and exits 3.
set -euo pipefail
cd "$(dirname "$0")"

# Deno the way the README runs it: $DENO if set, else `deno` on PATH, else Deno 2.9.6 from npm.
if [ -n "${DENO:-}" ]; then
  deno_cmd=("$DENO")
elif command -v deno >/dev/null 2>&1; then
  deno_cmd=(deno)
elif command -v npx >/dev/null 2>&1; then
  deno_cmd=(npx -y deno@2.9.6)
else
  echo "compile.sh: needs Deno: install Node.js/npm (npx -y deno@2.9.6) or set DENO" >&2
  exit 3
fi
ALL_TARGETS=(x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu)

usage() {
  cat <<EOF
usage: compile.sh [--target T]... [--out DIR] [--api-server HOST:PORT]... [--dry-run] [--help]
  --target T              build for T (repeatable; default: ${ALL_TARGETS[*]})
  --out DIR               output directory (default: dist)
  --api-server HOST:PORT  also allow connecting to this Kubernetes API server (repeatable);
                          the binary's permissions are fixed at compile time
  --dry-run               print the exact deno commands without running them
  --help                  this text
Output: DIR/edgecloud-<target> and DIR/edgecloud-<target>.sha256
Environment: DENO (deno executable; default: deno on PATH, else npx -y deno@2.9.6), DENORT_BIN (denort to use instead of
downloading it; same Deno version, one target per run)
EOF
}

# Prints a command so it can be pasted into a shell; only words that need it are quoted.
print_cmd() {
  local word line=""
  for word in "$@"; do
    if [[ "$word" =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then
      line+="$word "
    else
      line+="$(printf '%q' "$word") "
    fi
  done
  echo "${line% }"
}

targets=()
out=dist
dry_run=0
perm_args=(--profile system)
while [ $# -gt 0 ]; do
  case "$1" in
  --target)
    [ $# -ge 2 ] || { echo "compile.sh: --target needs a value" >&2; usage >&2; exit 2; }
    case " ${ALL_TARGETS[*]} " in
    *" $2 "*) targets+=("$2") ;;
    *) echo "compile.sh: unsupported target: $2 (supported: ${ALL_TARGETS[*]})" >&2; exit 2 ;;
    esac
    shift 2
    ;;
  --out)
    [ $# -ge 2 ] && [ -n "$2" ] || { echo "compile.sh: --out needs a value" >&2; usage >&2; exit 2; }
    out="$2"
    shift 2
    ;;
  --api-server)
    [ $# -ge 2 ] && [ -n "$2" ] || { echo "compile.sh: --api-server needs HOST:PORT" >&2; usage >&2; exit 2; }
    perm_args+=(--api-server "$2")
    shift 2
    ;;
  --dry-run) dry_run=1; shift ;;
  -h | --help) usage; exit 0 ;;
  *) echo "compile.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${ALL_TARGETS[@]}")

# The one source of the flags; permissions.ts imports nothing and needs no permissions.
flags_out=$("${deno_cmd[@]}" run --quiet permissions.ts "${perm_args[@]}") || {
  echo "compile.sh: permissions.ts failed" >&2
  exit 1
}
mapfile -t flags <<<"$flags_out"
includes_out=$("${deno_cmd[@]}" run --quiet permissions.ts --compile-includes)
includes=()
while IFS= read -r inc; do
  [ -n "$inc" ] && includes+=(--include "$inc")
done <<<"$includes_out"

# What not to embed. --exclude-unused-npm: only npm packages the program imports (not fast-check
# and other test-only packages in deno.lock). bintrees' test data (a 2 MB number list, pulled in
# via prom-client -> tdigest) makes deno 2.9.6's compile overflow its stack ("thread
# 'tokio-runtime-worker' has overflowed its stack"), and is not needed at run time.
excludes=(--exclude-unused-npm)
npm_cache=$("${deno_cmd[@]}" info --json 2>/dev/null | sed -n 's/^ *"npmCache": *"\(.*\)",\{0,1\}$/\1/p')
if [ -n "$npm_cache" ]; then
  for dir in "$npm_cache"/registry.npmjs.org/bintrees/*/test; do
    [ -d "$dir" ] && excludes+=(--exclude "$dir")
  done
fi

if [ "$dry_run" -eq 0 ] && [ -n "${DENORT_BIN:-}" ] && [ ! -f "$DENORT_BIN" ]; then
  echo "compile.sh: DENORT_BIN=$DENORT_BIN is not a file; point it at a denort binary of the same Deno version" >&2
  exit 3
fi

case "$(uname -m)" in
x86_64 | amd64) host_target=x86_64-unknown-linux-gnu ;;
aarch64 | arm64) host_target=aarch64-unknown-linux-gnu ;;
*) host_target="" ;;
esac

for target in "${targets[@]}"; do
  output="$out/edgecloud-$target"
  cmd=("${deno_cmd[@]}" compile "${flags[@]}" "${includes[@]}" "${excludes[@]}" --target "$target"
    --output "$output" main.ts)
  if [ "$dry_run" -eq 1 ]; then
    print_cmd "${cmd[@]}"
    continue
  fi
  mkdir -p "$out"
  log=$(mktemp)
  if ! NO_COLOR=1 "${cmd[@]}" >"$log" 2>&1; then
    if [ -z "${DENORT_BIN:-}" ] && grep -qE 'denort|dl\.deno\.land|Setting up base binary' "$log"; then
      rm -f "$log"
      echo "compile.sh: deno compile needs the Deno runtime (denort) for $target: dl.deno.land is unreachable and DENORT_BIN is not set" >&2
      exit 3
    fi
    cat "$log" >&2
    rm -f "$log"
    echo "compile.sh: deno compile failed for $target" >&2
    exit 1
  fi
  rm -f "$log"
  # Smoke test where the target runs here: a wrong DENORT_BIN (e.g. the deno CLI itself) yields
  # a binary that ignores the embedded program.
  if [ "$target" = "$host_target" ]; then
    smoke=$(NO_COLOR=1 "$output" version </dev/null 2>&1 | head -n 1) || true
    case "$smoke" in
    "edgecloud "*) ;;
    *)
      rm -f "$output"
      echo "compile.sh: $output does not run edgecloud (\"$smoke\"); DENORT_BIN must be a denort of this Deno version" >&2
      exit 4
      ;;
    esac
  fi
  (cd "$out" && sha256sum "edgecloud-$target" >"edgecloud-$target.sha256")
  echo "compile.sh: built $output ($(cut -d' ' -f1 "$output.sha256"))"
done
