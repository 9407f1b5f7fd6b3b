#!/usr/bin/env bash
# Run Redis 7.0.15's own Tcl tests against `python -m reactor serve resp`.
#
#   bench/redis_suite.sh [UNIT ...] [-- EXTRA RUNTEST OPTIONS]
#
# UNIT defaults to the four units the resp plugin aims to pass:
# unit/type/incr unit/type/string unit/expire unit/protocol.
#
# The tests are not in the repository.  They come from Debian's source
# package of redis (the same release as the redis-server binary package),
# fetched once with `apt-get source` into a cache outside the repository:
# $REDIS_TESTS_CACHE, default ${XDG_CACHE_HOME:-~/.cache}/selreactor/redis-7.0.15.
# That needs a deb-src line in the apt sources; the script says which when
# it is missing.  Needs tclsh 8.5+ (Debian's tcl) and redis-cli.
#
# The server is started on a free port of 127.0.0.1 from this checkout (or
# from $SERVER_PYTHONPATH, to measure another checkout) and stopped at the
# end.  runtest runs in external-server mode with --durable, so every failing
# test is counted on its own instead of ending its unit; needs:debug tests are
# skipped (the plugin has no DEBUG), as are needs:repl tests (no replication),
# needs:config-maxmemory tests (no maxmemory) and OBJECT ENCODING checks.  Set SINGLEDB=1 to add --singledb.
# The per-unit summary is printed at the end; the full log stays in
# $REDIS_TESTS_CACHE/last-run.log.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${REDIS_TESTS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/selreactor/redis-7.0.15}"
python="${PYTHON:-python3}"
server_path="${SERVER_PYTHONPATH:-$here}"

units=()
extra=()
while [ $# -gt 0 ]; do
    if [ "$1" = "--" ]; then
        shift
        extra=("$@")
        break
    fi
    units+=("$1")
    shift
done
if [ ${#units[@]} -eq 0 ]; then
    units=(unit/type/incr unit/type/string unit/expire unit/protocol)
fi

for program in tclsh redis-cli; do
    if ! command -v "$program" > /dev/null 2>&1; then
        echo "redis_suite: $program is missing (Debian: apt-get install tcl redis-tools)" >&2
        exit 1
    fi
done

# -- the tests: Debian's source package, once ---------------------------------
src="$cache/src"
if [ ! -x "$src/runtest" ]; then
    mkdir -p "$cache"
    (
        cd "$cache"
        if ! apt-get source --download-only redis=5:7.0.15-1~deb12u10 > fetch.log 2>&1 &&
            ! apt-get source --download-only redis > fetch.log 2>&1; then
            cat fetch.log >&2
            echo "redis_suite: apt-get source failed; add a deb-src line mirroring the deb" \
                "line of /etc/apt/sources.list(.d) (Types: deb-src), run apt-get update," \
                "and try again" >&2
            exit 1
        fi
        rm -rf src
        dpkg-source -x --no-check redis_*.dsc src > /dev/null
    )
fi
version="$(sed -n 's/^#define REDIS_VERSION "\(.*\)"/\1/p' "$src/src/version.h")"
if [ "$version" != "7.0.15" ]; then
    echo "redis_suite: the cached tests are Redis $version, not 7.0.15;" \
        "remove $cache to fetch again" >&2
fi
# A few helpers call src/redis-cli; the source tree is not built.
if [ ! -e "$src/src/redis-cli" ]; then
    ln -s "$(command -v redis-cli)" "$src/src/redis-cli"
fi

# -- the server ------------------------------------------------------------------
port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
PYTHONPATH="$server_path" "$python" -m reactor serve resp --host 127.0.0.1 --port "$port" \
    --log-level WARNING > "$cache/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2> /dev/null || true; wait "$server" 2> /dev/null || true' EXIT
for _ in $(seq 100); do
    if redis-cli -p "$port" ping > /dev/null 2>&1; then
        break
    fi
    sleep 0.1
done

# -- the run ---------------------------------------------------------------------
# --ignore-encoding: OBJECT ENCODING reports Redis's internal representations
# (int, embstr, listpack), which a Python server does not have.
# needs:repl: those tests read the replication stream (SYNC); a key-value server
# has no replication.  needs:config-maxmemory: the plugin has no maxmemory, and
# such a test failing inside MULTI would leave the shared client in MULTI.
args=(--host 127.0.0.1 --port "$port" --clients 1 --durable --timeout 600 --tags -needs:debug
    --tags -needs:repl --tags -needs:config-maxmemory --ignore-encoding)
if [ "${SINGLEDB:-0}" = "1" ]; then
    args+=(--singledb)
fi
for unit in "${units[@]}"; do
    args+=(--single "$unit")
done
log="$cache/last-run.log"
status=0
(cd "$src" && ./runtest "${args[@]}" "${extra[@]}") > "$log" 2>&1 || status=$?

# -- the summary: passed / run per unit, then each failure -------------------------
plain="$cache/last-run.txt"
sed 's/\x1b\[[0-9;]*m//g' "$log" > "$plain"
echo "Redis $version tests against reactor serve resp (port $port, log $plain)"
for unit in "${units[@]}"; do
    # "Testing unit/expire" opens a unit; then "[ok]: name (2 ms)", "[err]: name in
    # tests/unit/expire.tcl" or "[exception]: ..." per test.
    counts=$(awk -v u="$unit" '/^Testing /{cur=$2} cur==u && /^\[ok\]/ {ok++}
        cur==u && /^\[(err|exception)\]/ {bad++} END {print ok+0, bad+0}' "$plain")
    read -r ok bad <<< "$counts"
    echo "  $unit: $ok passed of $((ok + bad))"
done
grep -E "^\[(err|exception)\]" "$plain" | sed 's/^/    /' || true
exit "$status"
