#!/usr/bin/env bash
# One `docker login`-like login against a registry, with curl only (for hyperfine):
#   GET /v2/ → 401 with its WWW-Authenticate challenge, then
#   Bearer challenge: GET <realm>?account=USER&service=<service> with Basic credentials → a token,
#                     GET /v2/ with `Authorization: Bearer <token>` → 200
#   Basic challenge:  GET /v2/ with Basic credentials → 200
# Exits non-zero (so hyperfine stops) on any other answer.
# Usage: benchmarks/_registry_login.sh HOST:PORT USER PASSWORD
set -euo pipefail
host=$1 user=$2 pass=$3
headers=$(curl -sS -o /dev/null -D - "http://$host/v2/")
status=$(printf '%s\n' "$headers" | awk 'NR == 1 {print $2}')
challenge=$(printf '%s\n' "$headers" | tr -d '\r' | grep -i '^www-authenticate:' | cut -d' ' -f2-)
if [ "$status" != 401 ] || [ -z "$challenge" ]; then
  echo "GET /v2/ on $host answered $status (challenge: ${challenge:-none}), expected 401" >&2
  exit 1
fi
param() { printf '%s\n' "$challenge" | sed -n "s/.*$1=\"\([^\"]*\)\".*/\1/p"; }
case "$challenge" in
  Bearer\ *)
    realm=$(param realm) service=$(param service)
    body=$(curl -fsS -G -u "$user:$pass" --data-urlencode "account=$user" \
      --data-urlencode "service=$service" "$realm")
    token=$(printf '%s' "$body" | sed -n 's/.*"token" *: *"\([^"]*\)".*/\1/p')
    [ -n "$token" ] || { echo "no token from $realm: $body" >&2; exit 1; }
    curl -fsS -o /dev/null -H "Authorization: Bearer $token" "http://$host/v2/"
    ;;
  Basic\ *)
    curl -fsS -o /dev/null -u "$user:$pass" "http://$host/v2/"
    ;;
  *)
    echo "unknown challenge from $host: $challenge" >&2
    exit 1
    ;;
esac
