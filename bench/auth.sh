# bench/auth.sh - sourced by the benchmark scripts: authentication is always
# on, so the benchmarks use an account of their own (made with the CLI in the
# benchmark's data directory) and send its bearer token with every request.
BENCH_PASSWORD=${BENCH_PASSWORD:-bench-local-password}

# bench_account DATA: create the account 'bench' (platform-admin) unless it exists.
bench_account() {
    printf '%s\n' "$BENCH_PASSWORD" | "$BIN" user add bench platform-admin --data "$1" \
        > /dev/null 2>&1 || true
}

# bench_token URL: print an access token of 'bench' from the server at URL.
bench_token() {
    curl -sf -d "grant_type=password&username=bench&password=$BENCH_PASSWORD" "$1/auth/token" |
        sed 's/.*"access_token":"\([^"]*\)".*/\1/'
}
