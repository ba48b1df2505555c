#!/usr/bin/env bash
# Ops checks: monitoring, alerting, dashboards, deployment files. Each check is one test; the last
# line is exactly "N passed, N failed" and the exit status is non-zero when a check failed.
#   scripts/ci/ops-checks.sh
# Installs what it needs when missing (Debian 12, root, apt reachable):
#   - promtool/prometheus: `apt-get download prometheus` and unpack into $OPS_TOOLS_DIR
#     (default ~/.cache/llm-ops-tools); the package is never installed, so no daemon runs or is
#     enabled;
#   - nginx: apt-get install with a policy-rc.d guard, so the service is not started;
#   - a YAML parser: the `yaml` devDependency, else python3 + PyYAML (apt python3-yaml).
# terraform (/usr/local/bin) and systemd-analyze are optional: absent means skipped, not failed.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
TOOLS=${OPS_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/llm-ops-tools}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PASSED=0
FAILED=0
SKIPPED=0

pass() { PASSED=$((PASSED + 1)); echo "PASS $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1"; }
skip() { SKIPPED=$((SKIPPED + 1)); echo "SKIP $1"; }
# run NAME CMD...: one test; output shown only on failure.
run() {
  local name=$1; shift
  if "$@" >"$WORK/out" 2>&1; then pass "$name"; else fail "$name"; sed 's/^/    /' "$WORK/out" | tail -40; fi
}

# ------------------------------------------------------------------ tools
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }
APT_UPDATED=0
apt_update() { [ $APT_UPDATED = 1 ] || { as_root apt-get update -qq >/dev/null 2>&1; APT_UPDATED=1; }; }
# Never start services during installs: policy-rc.d exit 101 (kept if it already exists).
apt_install() {
  apt_update
  local guard=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null && as_root chmod +x /usr/sbin/policy-rc.d && guard=1
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >"$WORK/apt.log" 2>&1
  local rc=$?
  [ $guard = 1 ] && as_root rm -f /usr/sbin/policy-rc.d
  [ $rc = 0 ] || tail -5 "$WORK/apt.log"
  return $rc
}

PROMTOOL=$(command -v promtool || true)
if [ -z "$PROMTOOL" ] && [ -x "$TOOLS/usr/bin/promtool" ]; then PROMTOOL=$TOOLS/usr/bin/promtool; fi
if [ -z "$PROMTOOL" ] && command -v apt-get >/dev/null; then
  echo "installing promtool (unpacking Debian's prometheus package into $TOOLS)"
  apt_update
  mkdir -p "$TOOLS" "$WORK/deb"
  if (cd "$WORK/deb" && apt-get download -qq prometheus >/dev/null 2>&1) && dpkg-deb -x "$WORK"/deb/prometheus_*.deb "$TOOLS"; then
    PROMTOOL=$TOOLS/usr/bin/promtool
  fi
fi
NGINX=$(command -v nginx || ls /usr/sbin/nginx 2>/dev/null || true)
if [ -z "$NGINX" ] && command -v apt-get >/dev/null; then
  echo "installing nginx (service not started)"
  apt_install nginx && NGINX=/usr/sbin/nginx
fi
if ! node -e "require.resolve('yaml', { paths: [process.cwd()] })" 2>/dev/null; then
  if ! python3 -c 'import yaml' 2>/dev/null && command -v apt-get >/dev/null; then
    echo "installing python3-yaml (no yaml package in node_modules)"
    apt_install python3-yaml
  fi
fi

# ------------------------------------------------------------------ Prometheus
if [ -n "$PROMTOOL" ]; then
  run "promtool check config monitoring/prometheus.yml" "$PROMTOOL" check config monitoring/prometheus.yml
  run "promtool check rules monitoring/rules/*.yml" "$PROMTOOL" check rules monitoring/rules/*.yml
  for t in monitoring/tests/*.test.yml; do
    run "promtool test rules $t" "$PROMTOOL" test rules "$t"
  done
else
  fail "promtool not available (apt-get download prometheus failed)"
fi

# ------------------------------------------------------------------ structure (node)
node scripts/ci/ops-validate.mjs --promql-out "$WORK/dashboard-queries.json" >"$WORK/validate" 2>&1
while IFS= read -r line; do
  case "$line" in
    PASS\ *) pass "${line#PASS }" ;;
    FAIL\ *) fail "${line#FAIL }" ;;
    *) echo "    $line" ;;
  esac
done <"$WORK/validate"
if ! grep -q '^PASS\|^FAIL' "$WORK/validate"; then fail "ops-validate.mjs produced no results"; fi
if [ -n "$PROMTOOL" ] && [ -s "$WORK/dashboard-queries.json" ]; then
  run "dashboard queries parse as PromQL" "$PROMTOOL" check rules "$WORK/dashboard-queries.json"
fi
run "dashboards are up to date with build-dashboards.mjs" node monitoring/grafana/build-dashboards.mjs --check

# ------------------------------------------------------------------ nginx
nginx_test() {
  local t=$WORK/nginx
  mkdir -p "$t/conf" "$t/logs"
  sed "s#/var/log/nginx/#$t/logs/#g" infrastructure/nginx/llm-api.conf >"$t/conf/llm-api.conf"
  cat >"$t/conf/nginx.conf" <<EOF
worker_processes 1;
pid $t/nginx.pid;
error_log $t/logs/error.log;
events { worker_connections 64; }
http {
    client_body_temp_path $t/body; proxy_temp_path $t/proxy; fastcgi_temp_path $t/fastcgi;
    uwsgi_temp_path $t/uwsgi; scgi_temp_path $t/scgi;
    access_log $t/logs/access.log;
    include $t/conf/llm-api.conf;
}
EOF
  "$NGINX" -t -q -p "$t" -c "$t/conf/nginx.conf" -g "user $(id -un);"
}
nginx_sse_settings() {
  local f=infrastructure/nginx/llm-api.conf missing=0
  for d in 'proxy_buffering off;' 'proxy_read_timeout 3600s;' 'client_max_body_size' 'proxy_set_header X-Request-Id' 'add_header X-Request-Id' 'proxy_http_version 1.1;'; do
    grep -q "$d" "$f" || { echo "missing: $d"; missing=1; }
  done
  return $missing
}
if [ -n "$NGINX" ]; then
  run "nginx -t infrastructure/nginx/llm-api.conf" nginx_test
  run "nginx proxies SSE unbuffered, passes X-Request-Id, enforces body limit" timeout 60 node scripts/ci/nginx-sse-check.mjs "$NGINX"
else
  fail "nginx not available"
fi
run "nginx config has the SSE settings" nginx_sse_settings

# ------------------------------------------------------------------ Terraform
if command -v terraform >/dev/null; then
  run "terraform fmt -check -recursive infrastructure/terraform" env TF_CLI_CONFIG_FILE=/dev/null terraform fmt -check -recursive -diff infrastructure/terraform
  user_data_renders() {
    local d=$WORK/tf
    mkdir -p "$d"
    echo "templatefile(\"$ROOT/infrastructure/terraform/user_data.sh.tftpl\", {models_volume_id=\"vol-0123\", nvidia_driver_version=\"550\", node_major_version=20, app_repo_url=\"https://example.com/r.git\", app_git_ref=\"main\", model_dir_name=\"m\", gpu_memory_utilization=0.9, max_model_length=4096, max_num_seqs=128})" \
      | (cd "$d" && TF_CLI_CONFIG_FILE=/dev/null timeout 60 terraform console) >"$d/out" || return 1
    sed '1d;$d' "$d/out" >"$d/user_data.sh"
    grep -q 'vol-0123' "$d/user_data.sh" && bash -n "$d/user_data.sh"
  }
  run "terraform user_data template renders to valid bash" user_data_renders
else
  skip "terraform fmt -check (terraform not installed)"
fi
tfvars_example_covers_required() {
  # Every variable without a default must appear in terraform.tfvars.example.
  local v missing=0
  for v in $(awk '/^variable "/ { gsub(/"/, "", $2); name = $2; has = 0 } /^  default/ { has = 1 } /^}/ && name != "" { if (!has) print name; name = "" }' infrastructure/terraform/variables.tf); do
    grep -q "^$v *=" infrastructure/terraform/terraform.tfvars.example || { echo "terraform.tfvars.example lacks required $v"; missing=1; }
  done
  grep -q 'default *= *"g5.xlarge"' infrastructure/terraform/variables.tf || { echo "instance_type default is not g5.xlarge"; missing=1; }
  return $missing
}
run "terraform variables: required ones in tfvars.example, g5.xlarge default" tfvars_example_covers_required

# ------------------------------------------------------------------ systemd and shell
if command -v systemd-analyze >/dev/null; then
  systemd_verify() {
    # ExecStart's binary may be absent on a CI machine: verify a copy that runs /bin/sh instead.
    sed 's#^ExecStart=[^ ]*#ExecStart=/bin/sh#' infrastructure/systemd/llm-api.service >"$WORK/llm-api.service"
    local out
    out=$(systemd-analyze verify "$WORK/llm-api.service" 2>&1) || { echo "$out"; return 1; }
    # Unknown keys and bad values are only warnings for systemd: treat them as failures.
    if echo "$out" | grep -v -e 'Failed to .* cgroup' -e 'Cannot find unit for' | grep -q .; then echo "$out"; return 1; fi
  }
  run "systemd-analyze verify llm-api.service" systemd_verify
else
  skip "systemd-analyze verify (not installed)"
fi
run "bash -n on the ops scripts" bash -c 'for f in scripts/ci/ops-checks.sh scripts/ci/prometheus-scrape-check.sh; do bash -n "$f" || exit 1; done'

echo "${SKIPPED} skipped"
echo "${PASSED} passed, ${FAILED} failed"
[ "$FAILED" = 0 ]
