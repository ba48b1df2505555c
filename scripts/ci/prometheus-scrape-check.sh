#!/usr/bin/env bash
# Starts Prometheus from monitoring/prometheus.yml (rules included) on loopback and waits until it
# has scraped the gateway: up{job="llm-gateway"} == 1. Start the gateway first (npm start).
#   scripts/ci/prometheus-scrape-check.sh [GATEWAY_ADDR]   (default 127.0.0.1:8000)
# Env: PROMETHEUS_BIN (default: prometheus in PATH, else the copy ops-checks.sh extracted),
#      PROM_PORT (default 9090), METRICS_BEARER_TOKEN (sent when set), TIMEOUT_S (default 60).
# Exit 0 when up == 1, 1 otherwise. Prometheus is stopped on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ADDR=${1:-127.0.0.1:8000}
PROM_PORT=${PROM_PORT:-9090}
TIMEOUT_S=${TIMEOUT_S:-60}
TOOLS=${OPS_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/llm-ops-tools}
PROM=${PROMETHEUS_BIN:-$(command -v prometheus || echo "$TOOLS/usr/bin/prometheus")}
[ -x "$PROM" ] || { echo "prometheus binary not found (run scripts/ci/ops-checks.sh once, or set PROMETHEUS_BIN)" >&2; exit 1; }

WORK=$(mktemp -d)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

# The same configuration and rules; only the target address (and the optional token) differ.
cp -r "$ROOT/monitoring/prometheus.yml" "$ROOT/monitoring/rules" "$WORK/"
mkdir -p "$WORK/targets"
printf '[{"targets":["%s"],"labels":{"env":"check"}}]\n' "$ADDR" > "$WORK/targets/gateway.json"
echo '[]' > "$WORK/targets/engine.json"
sed -i "s/127.0.0.1:9090/127.0.0.1:$PROM_PORT/" "$WORK/prometheus.yml"
if [ -n "${METRICS_BEARER_TOKEN:-}" ]; then
  printf '%s' "$METRICS_BEARER_TOKEN" > "$WORK/token"
  sed -i "s|^    # authorization:|    authorization:|; s|^    #   type: Bearer|      type: Bearer|; s|^    #   credentials_file: .*|      credentials_file: $WORK/token|" "$WORK/prometheus.yml"
fi
# Scrape every second so the check is quick.
sed -i 's/^  scrape_interval: 15s/  scrape_interval: 1s/; s/^    scrape_interval: 10s/    scrape_interval: 1s/; s/^  scrape_timeout: 10s/  scrape_timeout: 1s/' "$WORK/prometheus.yml"

"$PROM" --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >"$WORK/prometheus.log" 2>&1 &
PID=$!

query() {
  node -e '
    const [port, q] = process.argv.slice(1);
    fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`)
      .then((r) => r.json())
      .then((j) => { const r = j.data?.result ?? []; console.log(r.length ? r[0].value[1] : "none"); })
      .catch(() => console.log("unreachable"));' "$PROM_PORT" "$1"
}
deadline=$((SECONDS + TIMEOUT_S))
value=none
while [ $SECONDS -lt $deadline ]; do
  kill -0 "$PID" 2>/dev/null || { echo "prometheus exited:"; cat "$WORK/prometheus.log"; exit 1; }
  value=$(query 'up{job="llm-gateway"}')
  if [ "$value" = "1" ]; then
    series=$(query 'count({job="llm-gateway"})')
    echo "up{job=\"llm-gateway\",instance=\"$ADDR\"} = 1 ($series series scraped)"
    exit 0
  fi
  sleep 1
done
echo "up{job=\"llm-gateway\"} = $value after ${TIMEOUT_S}s (is the gateway running on $ADDR?)" >&2
tail -5 "$WORK/prometheus.log" >&2
exit 1
