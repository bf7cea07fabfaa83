# bench/auth.sh - sourced by the benchmark scripts: authentication is always
# on, so the benchmarks use an account of their own (made with the CLI in the
# benchmark's data directory) and send its bearer token with every request.
BENCH_PASSWORD=${BENCH_PASSWORD:-bench-local-password}

# bench_account DATA [NAME ROLE ORG]: create the account NAME (default 'bench', a
# platform-admin) unless it exists; ORG binds it to an organisation.
bench_account() {
    data=$1
    name=${2:-bench}
    role=${3:-platform-admin}
    if [ -n "${4:-}" ]; then set -- --org "$4"; else set --; fi
    printf '%s\n' "$BENCH_PASSWORD" | "$BIN" user add "$name" "$role" "$@" --data "$data" \
        > /dev/null 2>&1 || true
}

# bench_token URL [NAME]: print an access token of NAME (default 'bench') from the server at URL.
bench_token() {
    curl -sf -d "grant_type=password&username=${2:-bench}&password=$BENCH_PASSWORD" "$1/auth/token" |
        sed 's/.*"access_token":"\([^"]*\)".*/\1/'
}

# The load generator is one client at one address: the per-address and
# per-account limits (docs/security.md) would measure themselves, so the
# benchmark servers run without them.
UNLIMITED="--rate-per-address 0 --rate-per-user 0 --max-connections-per-address 0"
