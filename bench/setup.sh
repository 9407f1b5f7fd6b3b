#!/usr/bin/env bash
# Install what `python -m bench` needs and does not find: the load generators
# (wrk, redis-benchmark), the ceilings (nginx, redis-server) and a C compiler;
# for the TLS scenarios openssl (the throwaway certificates), OpenSSL's headers
# (the load generator's TLS mode links -lssl -lcrypto) and nginx's stream
# module (nginx's TLS echo).
# Debian/Ubuntu only; the Python peers (uvloop, twisted, tornado, matplotlib)
# come from the tox bench environment or `pip install uvloop twisted tornado matplotlib`.
set -euo pipefail

declare -A package_of=(
    [wrk]=wrk
    [redis-server]=redis-server
    [redis-benchmark]=redis-tools
    [nginx]=nginx-light
    [gcc]=gcc
    [taskset]=util-linux
    [openssl]=openssl
)
# files rather than programs: a header and an nginx module
declare -A package_of_file=(
    [/usr/include/openssl/ssl.h]=libssl-dev
    [/usr/lib/nginx/modules/ngx_stream_module.so]=libnginx-mod-stream
)

missing=()
for program in "${!package_of[@]}"; do
    if ! command -v "$program" > /dev/null 2>&1 && [ ! -x "/usr/sbin/$program" ]; then
        missing+=("${package_of[$program]}")
    fi
done
for file in "${!package_of_file[@]}"; do
    if [ ! -e "$file" ]; then
        missing+=("${package_of_file[$file]}")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "bench/setup.sh: wrk, redis, nginx (with its stream module), gcc, taskset, openssl and libssl-dev are installed"
    exit 0
fi

if ! command -v apt-get > /dev/null 2>&1; then
    echo "bench/setup.sh: missing ${missing[*]} and no apt-get: install them by hand" >&2
    exit 1
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
echo "bench/setup.sh: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The Debian packages start system services; the benchmark runs its own
# instances on free ports, so the system ones are not needed.
for service in nginx redis-server; do
    if command -v systemctl > /dev/null 2>&1 && systemctl is-active --quiet "$service" 2>/dev/null; then
        $sudo systemctl stop "$service" || true
    fi
done
