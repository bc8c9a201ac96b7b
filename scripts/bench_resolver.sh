#!/usr/bin/env bash
# Resolver load, side by side with nginx, in one run and with one load generator:
#   1. `exoskin serve` (release build, SQLite) on 127.0.0.1 with the example certificates
#      published by `exoskin batch publish`;
#   2. one resolver page (HTML, and the JSON with `Accept: application/json`) fetched to files;
#   3. nginx serving those files on another 127.0.0.1 port, at the same path, chosen by the
#      same Accept header, with the same security headers;
#   4. `wrk -t2 -c8 -d10s --latency` against both, for HTML and for JSON; one table.
# Loopback only; bounded: four wrk runs of EXOSKIN_BENCH_SECONDS (default 10) each; every
# process started here is stopped on exit. Needs `wrk` and `nginx-light` (installed from
# Debian with apt-get when missing; run as root then). Not part of scripts/test.sh.
set -euo pipefail

cd "$(dirname "$0")/.."
SECONDS_PER_RUN="${EXOSKIN_BENCH_SECONDS:-10}"
REG_PORT="${EXOSKIN_BENCH_REGISTRY_PORT:-18080}"
NGX_PORT="${EXOSKIN_BENCH_NGINX_PORT:-18081}"

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
if [ "${#need[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "error: ${need[*]} missing; install them (apt-get install ${need[*]}) or run as root" >&2
        exit 2
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

cargo build --release -q -p exoskin --bin exoskin
EXO="${CARGO_TARGET_DIR:-target}/release/exoskin"

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "error: $BASH_COMMAND failed (line $LINENO)" >&2' ERR

wait_port() { # wait until 127.0.0.1:$1 answers, at most 10 s
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
        sleep 0.1
    done
    echo "error: nothing answers on 127.0.0.1:$1" >&2
    exit 1
}

# Registry with the passing example certificates (one issuer; no per-client limits, since the
# one load generator is one client address and would otherwise measure those limits).
"$EXO" batch keygen --out "$WORK/lab.key" >/dev/null
printf 'bench-token-0123456789abcdef\n' >"$WORK/lab.token"
"$EXO" serve --db "$WORK/registry.sqlite3" --listen "127.0.0.1:$REG_PORT" \
    --issuer-pubkey "$WORK/lab.key.pub" --token-file "$WORK/lab.token" \
    --max-conns-per-client 0 --rate-per-client 0 >"$WORK/serve.log" 2>&1 &
PIDS+=($!)
wait_port "$REG_PORT"
LINK=""
for rec in examples/qc/pass_*; do
    out="$WORK/cert-$(basename "$rec")"
    "$EXO" batch issue "$rec" --key "$WORK/lab.key" --out "$out" --resolver id.example.com >/dev/null
    "$EXO" batch publish "$out/certificate.json" --registry "http://127.0.0.1:$REG_PORT" \
        --token-file "$WORK/lab.token" >/dev/null
    [ -n "$LINK" ] || LINK="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["credentialSubject"]["id"])' "$out/certificate.json")"
done
# The path and query of the Digital Link (https://id.example.com/01/<gtin>/10/<lot>?17=...).
PATHQ="/${LINK#https://*/}"
PATH_ONLY="${PATHQ%%\?*}"

# The page and the JSON, byte for byte, and the registry's security headers.
SITE="$WORK/site"
mkdir -p "$SITE$(dirname "$PATH_ONLY")"
curl -sf -D "$WORK/headers" -o "$SITE$PATH_ONLY.html" "http://127.0.0.1:$REG_PORT$PATHQ"
curl -sf -H 'Accept: application/json' -o "$SITE$PATH_ONLY.json" "http://127.0.0.1:$REG_PORT$PATHQ"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["status"]; sys.exit(0 if s=="valid" else "status "+s)' "$SITE$PATH_ONLY.json"
ADD_HEADERS="$(tr -d '\r' <"$WORK/headers" | grep -iE '^(content-security-policy|x-frame-options|referrer-policy|x-content-type-options|cache-control):' |
    sed -E "s/^([^:]+): (.*)$/add_header \1 \"\2\" always;/")"

cat >"$WORK/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $WORK/tmp; proxy_temp_path $WORK/tmp; fastcgi_temp_path $WORK/tmp;
    uwsgi_temp_path $WORK/tmp; scgi_temp_path $WORK/tmp;
    map \$http_accept \$variant { default html; "~application/json" json; }
    types { text/html html; application/json json; }
    server {
        listen 127.0.0.1:$NGX_PORT;
        root $SITE;
        $ADD_HEADERS
        location / { try_files \$uri.\$variant =404; }
    }
}
EOF
mkdir -p "$WORK/tmp"
# nginx's worker runs as an unprivileged user when started as root: it must reach the files.
chmod 711 "$WORK"
chmod -R a+rX "$SITE"
"$NGINX" -c "$WORK/nginx.conf" -p "$WORK" &
PIDS+=($!)
wait_port "$NGX_PORT"
for v in html json; do
    accept=$([ "$v" = json ] && echo 'application/json' || echo 'text/html')
    a="$(curl -sf -H "Accept: $accept" "http://127.0.0.1:$REG_PORT$PATHQ" | sha256sum)"
    b="$(curl -sf -H "Accept: $accept" "http://127.0.0.1:$NGX_PORT$PATHQ" | sha256sum)"
    [ "$a" = "$b" ] || { echo "error: nginx does not serve the registry's $v bytes" >&2; exit 1; }
done

# wrk's latency distribution prints "50%  1.23ms"; normalize to milliseconds.
ms() { awk -v p="$1" '$1==p { v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; printf "%.2f", v }'; }
run() { # name port accept -> "req/s p50 p99"
    local out
    out="$(wrk -t2 -c8 -d"${SECONDS_PER_RUN}s" --latency -H "Accept: $3" "http://127.0.0.1:$2$PATHQ")"
    echo "$out" >"$WORK/wrk-$1.txt"
    if grep -q 'Non-2xx' <<<"$out"; then echo "error: $1 answered non-2xx:" >&2; echo "$out" >&2; exit 1; fi
    printf '%s %s %s' "$(awk '/^Requests\/sec/ {printf "%.0f", $2}' <<<"$out")" "$(ms 50% <<<"$out")" "$(ms 99% <<<"$out")"
}

echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'); path $PATHQ"
echo "wrk -t2 -c8 -d${SECONDS_PER_RUN}s --latency, loopback"
printf '| %-8s | %-5s | %6s | %10s | %8s | %8s |\n' response bytes server 'requests/s' 'p50 ms' 'p99 ms'
printf '|---|---|---|---|---|---|\n'
for v in html json; do
    accept=$([ "$v" = json ] && echo 'application/json' || echo 'text/html')
    bytes=$(stat -c %s "$SITE$PATH_ONLY.$v")
    read -r rr r50 r99 <<<"$(run "registry-$v" "$REG_PORT" "$accept")"
    read -r nr n50 n99 <<<"$(run "nginx-$v" "$NGX_PORT" "$accept")"
    printf '| %-8s | %5s | %-8s | %10s | %8s | %8s |\n' "$v" "$bytes" exoskin "$rr" "$r50" "$r99"
    printf '| %-8s | %5s | %-8s | %10s | %8s | %8s |\n' "$v" "$bytes" nginx "$nr" "$n50" "$n99"
    echo "ratio $v (exoskin / nginx): requests/s $(awk -v a="$rr" -v b="$nr" 'BEGIN{printf "%.2f", a/b}'), p99 $(awk -v a="$r99" -v b="$n99" 'BEGIN{printf "%.2f", a/b}')" >>"$WORK/ratios"
done
cat "$WORK/ratios"
