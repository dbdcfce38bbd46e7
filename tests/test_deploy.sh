#!/usr/bin/env bash
# test_deploy.sh - deploy/ without a container engine:
#  1. the Dockerfile builds the way CI does (scripts/deps.sh, scripts/setup)
#     and its runtime stage gets the libraries the binary links;
#  2. docker-compose.yml renders with a real compose (Debian's docker-compose)
#     and describes the intended topology;
#  3. the Kubernetes manifests parse and their probes, ports and settings
#     match the service;
#  4. the same topology without containers: the model job, one real
#     redis-server, two `mixrec serve` replicas configured by the compose and
#     Kubernetes environments, Debian's nginx in front with deploy/nginx's
#     server block: sessions written through one replica are read through
#     the other, killing a replica under load loses no request, a model
#     version rolls across both replicas;
#  5. Redis Sentinel: replicas follow a real failover (when supported).
#   tests/test_deploy.sh BUILD/mixrec SOURCE_ROOT
set -uo pipefail
MIXREC=$(realpath "$1")
ROOT=$(realpath "${2:-$(dirname "$0")/..}")
source "$(dirname "$0")/lib.sh"
PY=${PYTHON:-/usr/bin/python3}
COMPOSE_ENV=()
TRAINER_ARGS=()
K8S_ENV=()
cd "$ROOT"

# ---- 1. Dockerfile ----------------------------------------------------------
DF=deploy/Dockerfile
# RUN lines of a stage (continuations joined)
stage_runs() {
  awk -v s="$1" '
    /^FROM / { cur = $NF; next }
    cur == s && /^RUN / { line = $0; while (line ~ /\\$/ && (getline nxt) > 0) { sub(/\\$/, "", line); line = line " " nxt }; print line }' "$DF"
}
check "Dockerfile: build stage on Debian 12" grep -q '^FROM debian:bookworm AS build$' "$DF"
check "Dockerfile: runtime stage on Debian 12 slim, the last one (default target)" \
  test "$(grep '^FROM ' "$DF" | tail -1)" = "FROM debian:bookworm-slim AS runtime"
build_runs=$(stage_runs build)
check "Dockerfile: build stage runs scripts/deps.sh" grep -q 'bash scripts/deps.sh' <<<"$build_runs"
check "Dockerfile: build stage runs scripts/setup (CI: .ci/run -> scripts/test -> scripts/setup)" \
  grep -qx 'RUN bash scripts/setup' <<<"$build_runs"
check "CI runs scripts/test" grep -q '^exec scripts/test' .ci/run
check "scripts/test runs scripts/setup" grep -q '^bash scripts/setup' scripts/test
# what setup does is what the image does: deps.sh, meson setup, ninja, all on build/
check "scripts/setup: deps.sh, meson setup build, ninja -C build" \
  bash -c 'grep -qx "bash scripts/deps.sh" scripts/setup && grep -q "^  meson setup build --buildtype=release" scripts/setup && grep -qx "ninja -C build" scripts/setup'
check "Dockerfile: the binary copied is setup's build/mixrec" grep -q '^COPY --from=build /src/build/mixrec ' "$DF"
missing_src=
# the subdirectories, and the folders a meson.build reads files from by
# meson.project_source_root() (proto/openapi.json is built into the binary)
root_dirs=$(grep -rhoE "project_source_root\(\) / '[^']+'" --include=meson.build --exclude-dir='build*' --exclude-dir=.git . | sed "s/.*'\(.*\)'/\1/")
for d in $(sed -n "s/^subdir('\([^/']*\).*/\1/p" meson.build | sort -u) scripts config $root_dirs; do
  grep -Eq "^COPY $d( |/)" "$DF" || missing_src+=" $d"
done
for f in meson.build meson_options.txt meson.options; do # top-level meson files
  [ -e "$f" ] || continue
  grep -Eq "^COPY (.* )?(meson\*|$f)( |$)" "$DF" || missing_src+=" $f"
done
check "Dockerfile: copies every source folder meson needs (missing:${missing_src:- none})" test -z "$missing_src"
for f in $(awk '/^COPY / && !/--from/ { for (i = 2; i < NF; i++) print $i }' "$DF"); do
  compgen -G "$f" >/dev/null || missing_src+=" $f"
done
check "Dockerfile: every COPY source exists" test -z "$missing_src"
if [ -d service/ui ]; then
  check "Dockerfile: the inspector page lands where server.ui_dir=auto looks (../share/mixrec/ui)" \
    grep -q '^COPY --from=build /src/service/ui /usr/local/share/mixrec/ui$' "$DF"
fi
runtime_runs=$(stage_runs runtime)
check "Dockerfile: no compiler or -dev package in the runtime stage" \
  bash -c '! grep -Eq "(gcc|g\+\+|-dev|meson|deps\.sh|setup)" <<<"$1"' _ "$runtime_runs"
check "Dockerfile: runtime runs as a non-root user" \
  bash -c "sed -n '/AS runtime/,\$p' $DF | grep -Eq '^USER [1-9][0-9]*(:[0-9]+)?$'"
listen_port=$(sed -n 's/.*MIXREC_LISTEN=[^ ]*:\([0-9]*\).*/\1/p' "$DF" | head -1)
check "Dockerfile: EXPOSE = the port of MIXREC_LISTEN ($listen_port)" \
  grep -qx "EXPOSE $listen_port" <(sed -n '/AS runtime/,$p' "$DF")
check "Dockerfile: HEALTHCHECK on /healthz" \
  bash -c "sed -n '/AS runtime/,\$p' $DF | grep -A1 '^HEALTHCHECK' | grep -q '/healthz'"
check "Dockerfile: configured by MIXREC_* environment variables" \
  bash -c "grep -q '^ENV MIXREC_LISTEN=0.0.0.0:' $DF"
# The runtime packages: what deploy/runtime-packages.sh derives from the binary.
if deploy/runtime-packages.sh "$MIXREC" >"$TMP/runtime-packages" 2>"$TMP/rp.err"; then
  ok "runtime-packages.sh lists $(wc -l <"$TMP/runtime-packages") packages: $(tr '\n' ' ' <"$TMP/runtime-packages")"
else
  fail "runtime-packages.sh: $(cat "$TMP/rp.err")"
fi
check "runtime packages: no -dev package" bash -c "! grep -q -- '-dev$' $TMP/runtime-packages"
check "runtime packages: libhiredis, libmicrohttpd, libuv, libjansson, OpenBLAS, libgomp" \
  bash -c "for p in libhiredis libmicrohttpd libuv1 libjansson libopenblas libgomp1; do grep -q \"^\$p\" $TMP/runtime-packages || exit 1; done"
if readelf -d "$MIXREC" | grep -q 'NEEDED.*libxgboost'; then
  check "runtime packages: the binary links XGBoost, so libxgboost0 is in" grep -qx 'libxgboost0' "$TMP/runtime-packages"
fi
no_candidate=
while read -r p; do
  apt-cache policy "$p" 2>/dev/null </dev/null | grep 'Candidate: [0-9]' >/dev/null || no_candidate+=" $p"
done <"$TMP/runtime-packages"
check "runtime packages: all installable from Debian (not:${no_candidate:- none})" test -z "$no_candidate"
check "the binary resolves every library (ldd)" bash -c "! ldd '$MIXREC' | grep -q 'not found'"

# ---- 2. docker-compose.yml ----------------------------------------------------
COMPOSE=deploy/docker-compose.yml
if docker-compose -f "$COMPOSE" --profile loadtest config >"$TMP/compose.yml" 2>"$TMP/compose.err"; then
  ok "docker-compose config renders $COMPOSE ($(docker-compose version --short))"
else
  fail "docker-compose config: $(cat "$TMP/compose.err")"
fi
"$PY" - "$TMP/compose.yml" deploy/nginx/upstream.conf "$listen_port" >"$TMP/compose.checks" 2>&1 <<'EOF'
import re, sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
upstream = open(sys.argv[2]).read()
port = sys.argv[3]
s = c["services"]
def check(name, cond):
    print(("ok - " if cond else "not ok - ") + "compose: " + name)
check("services redis, model, mixrec, trainer, lb, wrk", set(s) == {"redis", "model", "mixrec", "trainer", "lb", "wrk"})
published = sorted(n for n, v in s.items() if v.get("ports"))
check("lb is the only service publishing a port (%s)" % published, published == ["lb"])
check("mixrec has no container_name and no fixed host port (scalable)",
      "container_name" not in s["mixrec"] and "ports" not in s["mixrec"])
r = s["redis"]
check("redis: healthcheck runs redis-cli ping", "ping" in r.get("healthcheck", {}).get("test", []))
check("redis: append-only persistence", "--appendonly" in r.get("command", []))
check("redis: /data on a named volume", any(v.split(":")[0] in c["volumes"] and v.split(":")[1] == "/data" for v in r["volumes"]))
dep = s["mixrec"]["depends_on"]
check("mixrec waits for redis healthy and the model job completed",
      dep.get("redis", {}).get("condition") == "service_healthy" and
      dep.get("model", {}).get("condition") == "service_completed_successfully")
check("model job: mixrec-init-model, not restarted",
      s["model"].get("entrypoint") == ["mixrec-init-model"] and s["model"].get("restart") == "no")
mv = lambda svc: [v for v in s[svc].get("volumes", []) if v.split(":")[1] == "/models"]
check("model job writes and replicas read-only mount the same volume",
      mv("model") and mv("mixrec") and mv("model")[0].split(":")[0] == mv("mixrec")[0].split(":")[0]
      and mv("mixrec")[0].endswith(":ro"))
env = s["mixrec"]["environment"]
check("mixrec listens on 0.0.0.0:%s" % port, env.get("MIXREC_LISTEN") == "0.0.0.0:" + port)
check("mixrec reaches redis by its service name", env.get("MIXREC_REDIS", "").startswith("redis://redis:"))
check("model and mixrec are the same image, built from deploy/Dockerfile (runtime)",
      s["model"]["image"] == s["mixrec"]["image"] and s["mixrec"]["build"]["dockerfile"] == "deploy/Dockerfile"
      and s["mixrec"]["build"].get("target") == "runtime")
check("lb waits for healthy replicas", s["lb"]["depends_on"].get("mixrec", {}).get("condition") == "service_healthy")
m = re.search(r"\$mixrec_upstream\s*\{\s*default\s+mixrec:(\d+);", upstream)
check("nginx upstream: every replica of the mixrec service (resolved per request), on port %s" % port,
      bool(m) and m.group(1) == port and re.search(r"^resolver 127\.0\.0\.11 ", upstream, re.M) is not None)
check("nginx upstream: no `resolve` parameter (needs nginx >= 1.27.3; the stand-in image is Debian's 1.22)",
      re.search(r"\bresolve\b", re.sub(r"#.*", "", upstream)) is None)
mounts = [v.split(":")[0] for v in s["lb"]["volumes"]]
check("lb mounts nginx.conf, upstream.conf and server.conf",
      sorted(p.rsplit("/", 1)[1] for p in mounts) == ["nginx.conf", "server.conf", "upstream.conf"])
check("wrk: only under the loadtest profile, built from the loadtest stage",
      s["wrk"].get("profiles") == ["loadtest"] and s["wrk"]["build"].get("target") == "loadtest")
t = s["trainer"]
tcmd = (t.get("entrypoint") or []) + (t.get("command") or [])
targ = lambda o: tcmd[tcmd.index(o) + 1] if o in tcmd and tcmd.index(o) + 1 < len(tcmd) else None
check("trainer runs `mixrec retrain --every` on /models", tcmd[:2] == ["mixrec", "retrain"]
      and targ("--every") and targ("--model") == "/models" and targ("--base"))
check("trainer reaches the replicas' Redis", targ("--redis") == env.get("MIXREC_REDIS"))
check("trainer writes the model volume the replicas read",
      mv("trainer") and mv("trainer")[0].split(":")[0] == mv("mixrec")[0].split(":")[0]
      and not mv("trainer")[0].endswith(":ro"))
check("trainer waits for redis healthy and the model job, same image, restarted, no /healthz check",
      t["depends_on"].get("redis", {}).get("condition") == "service_healthy"
      and t["depends_on"].get("model", {}).get("condition") == "service_completed_successfully"
      and t["image"] == s["mixrec"]["image"] and t.get("restart") == "unless-stopped"
      and (t.get("healthcheck", {}).get("disable") is True or t.get("healthcheck", {}).get("test") == ["NONE"]))
print("TRAINER " + " ".join(tcmd[1:]))
print("ENV " + " ".join("%s=%s" % kv for kv in env.items() if kv[1] != ""))
EOF
while read -r line; do
  case $line in "ok - "*) ok "${line#ok - }" ;; "not ok - "*) fail "${line#not ok - }" ;;
    ENV*) COMPOSE_ENV=(${line#ENV }) ;; TRAINER*) TRAINER_ARGS=(${line#TRAINER }) ;;
    *) fail "compose checks: $line" ;; esac
done <"$TMP/compose.checks"

# ---- 3. Kubernetes manifests -------------------------------------------------
"$PY" - deploy/k8s "$listen_port" >"$TMP/k8s.checks" 2>&1 <<'EOF'
import glob, os, sys, yaml
d, port = sys.argv[1], int(sys.argv[2])
docs = {}
for f in sorted(glob.glob(os.path.join(d, "*.yaml"))):
    for x in yaml.safe_load_all(open(f)):
        if x: docs.setdefault(x["kind"], []).append(x)
def check(name, cond):
    print(("ok - " if cond else "not ok - ") + "k8s: " + name)
def one(kind, name=None):
    xs = [x for x in docs.get(kind, []) if name is None or x["metadata"]["name"] == name]
    return xs[0] if len(xs) == 1 else None
kust = one("Kustomization")
listed = set(kust["resources"]) if kust else set()
files = {os.path.basename(f) for f in glob.glob(os.path.join(d, "*.yaml"))} - {"kustomization.yaml"}
check("kustomization lists every manifest", listed == files)
dep = one("Deployment", "mixrec")
check("a Deployment named mixrec", dep is not None)
spec = dep["spec"]["template"]["spec"]
c = [x for x in spec["containers"] if x["name"] == "mixrec"][0]
ports = {p["name"]: p["containerPort"] for p in c["ports"]}
check("container port http = %d" % port, ports.get("http") == port)
rp, lp = c["readinessProbe"]["httpGet"], c["livenessProbe"]["httpGet"]
check("readiness probe GET /readyz on the http port", rp["path"] == "/readyz" and rp["port"] in ("http", port))
check("liveness probe GET /healthz on the http port", lp["path"] == "/healthz" and lp["port"] in ("http", port))
req = c["resources"]["requests"]
check("cpu and memory requests; memory limit = request",
      "cpu" in req and "memory" in req and c["resources"]["limits"]["memory"] == req["memory"])
check("enableServiceLinks false (no stray MIXREC_* variables from the mixrec Service)",
      spec.get("enableServiceLinks") is False)
check("runs as non-root", spec["securityContext"].get("runAsNonRoot") is True)
cm = one("ConfigMap", "mixrec-config")
check("the Deployment takes its environment from the ConfigMap",
      cm is not None and {"configMapRef": {"name": "mixrec-config"}} in c.get("envFrom", []))
check("ConfigMap MIXREC_LISTEN port = container port", cm["data"]["MIXREC_LISTEN"].rsplit(":", 1)[1] == str(port))
cpu = req["cpu"]
cores = float(cpu[:-1]) / 1000 if cpu.endswith("m") else float(cpu)
check("MIXREC_WORKERS = the cpu request (%s)" % cpu, int(cm["data"]["MIXREC_WORKERS"]) == max(1, int(cores)))
svc = one("Service", "mixrec")
sel = dep["spec"]["template"]["metadata"]["labels"]
check("Service selects the Deployment's pods", svc and all(sel.get(k) == v for k, v in svc["spec"]["selector"].items()))
check("Service targets the http port", svc and svc["spec"]["ports"][0]["targetPort"] in ("http", port))
check("Deployment selector matches its pod labels",
      all(sel.get(k) == v for k, v in dep["spec"]["selector"]["matchLabels"].items()))
hpa = one("HorizontalPodAutoscaler", "mixrec")
check("HPA scales the Deployment on CPU",
      hpa and hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment" and hpa["spec"]["scaleTargetRef"]["name"] == "mixrec"
      and hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu" and hpa["spec"]["minReplicas"] >= 2)
ss = one("StatefulSet", "redis")
check("Redis StatefulSet with a volume claim and append-only persistence",
      ss and ss["spec"].get("volumeClaimTemplates") and "--appendonly" in ss["spec"]["template"]["spec"]["containers"][0]["args"])
rsvc = one("Service", "redis")
check("the Redis URL names the StatefulSet's pod through its headless Service",
      rsvc and rsvc["spec"].get("clusterIP") == "None" and
      cm["data"]["MIXREC_REDIS"].startswith("redis://%s-0.%s:" % (ss["metadata"]["name"], rsvc["metadata"]["name"])))
mounts = {v["name"]: v for v in c["volumeMounts"]}
vols = {v["name"]: v for v in spec["volumes"]}
mdir = cm["data"]["MIXREC_MODEL"]
mm = [m for m in c["volumeMounts"] if m["mountPath"] == mdir]
check("the model root is mounted read-only from the models claim",
      mm and mm[0].get("readOnly") and vols[mm[0]["name"]]["persistentVolumeClaim"]["claimName"] == "mixrec-models")
job = one("Job", "mixrec-model")
jc = job["spec"]["template"]["spec"]["containers"][0] if job else {}
check("model Job runs mixrec-init-model on the same claim", job and jc.get("command") == ["mixrec-init-model"] and
      job["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == "mixrec-models")
cj = one("CronJob", "mixrec-retrain")
cjs = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"] if cj else {}
cjc = cjs["containers"][0] if cj else {}
script = " ".join(cjc.get("command", []))
check("retrain CronJob: one-shot `mixrec retrain` (no --every), one at a time",
      cj and "mixrec retrain" in script and "--every" not in script and cj["spec"].get("concurrencyPolicy") == "Forbid")
check("retrain CronJob: exit 3 (kept) is a success, others fail the Job",
      'if [ "$rc" -eq 3 ]; then exit 0; fi; exit "$rc"' in script and cjs.get("restartPolicy") == "Never")
check("retrain CronJob: the models claim, writable, and the ConfigMap's Redis and model root",
      cj and cjs["volumes"][0]["persistentVolumeClaim"]["claimName"] == "mixrec-models"
      and not cjc["volumeMounts"][0].get("readOnly") and cjc["volumeMounts"][0]["mountPath"] == mdir
      and {"configMapRef": {"name": "mixrec-config"}} in cjc.get("envFrom", [])
      and '"$MIXREC_REDIS"' in script and '"$MIXREC_MODEL"' in script)
check("retrain CronJob runs as non-root", cj and cjs["securityContext"].get("runAsNonRoot") is True)
print("ENV " + " ".join("%s=%s" % kv for kv in cm["data"].items()))
EOF
while read -r line; do
  case $line in "ok - "*) ok "${line#ok - }" ;; "not ok - "*) fail "${line#not ok - }" ;;
    ENV*) K8S_ENV=(${line#ENV }) ;; *) fail "k8s checks: $line" ;; esac
done <"$TMP/k8s.checks"
# every option of the trainer's command line is one this mixrec accepts
# (--help last: the options before it are parsed and checked, nothing runs)
check "compose: this mixrec accepts the trainer's arguments (${TRAINER_ARGS[*]:-none})" \
  bash -c '[ $# -gt 0 ] && "$0" "$@" --help >/dev/null' "$MIXREC" "${TRAINER_ARGS[@]}"
check "probe paths are routes of the API contract" \
  jqt '.paths | has("/readyz") and has("/healthz")' proto/openapi.json

# ---- 4. the topology without containers ----------------------------------------
# the model job: builds the bundled data once, then leaves the model alone
init_model() {
  MIXREC_BIN=$MIXREC MIXREC_MODEL=$TMP/model MODEL_DATA=data/movietweetings-100k \
    MODEL_CONFIG=config/mixrec.json deploy/init-model.sh
}
init_model >"$TMP/init1.log" 2>&1
check "model job builds the demo model" test -s "$TMP/model/CURRENT"
v1=$(cat "$TMP/model/CURRENT" 2>/dev/null)
init_model >"$TMP/init2.log" 2>&1
check "model job skips when a model is present" \
  bash -c "grep -q 'nothing to build' $TMP/init2.log && [ \"\$(ls $TMP/model | wc -l)\" = 2 ]"
[ -n "$v1" ] || finish

free_port() { lib_free_port; }
# redis_on PORT LOG [redis-server args...]: a redis-server on PORT that
# answers as itself (its process id), not another test's that held the port;
# sets REDIS_ON_PID. Returns 1 when it did not start.
redis_on() {
  local port=$1 log=$2 pid; shift 2
  redis-server "$@" --port "$port" --bind 127.0.0.1 >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 50); do
    redis-cli -p "$port" info server 2>/dev/null | grep -q "^process_id:$pid" && {
      REDIS_ON_PID=$pid
      LIB_PIDS+=("$pid")
      return 0
    }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  { kill -9 "$pid"; wait "$pid"; } 2>/dev/null
  echo "redis-server on $port did not start:"; cat "$log"
  return 1
}
# redis_new VAR LOG [args...]: redis_on a free port (another on failure);
# sets VAR to the port.
redis_new() {
  local var=$1 port; shift
  for _ in 1 2 3 4 5; do
    port=$(free_port)
    redis_on "$port" "$@" && { printf -v "$var" '%s' "$port"; return 0; }
  done
  return 1
}
# one redis-server over TCP, as the replicas reach it in compose
redis_new REDIS_PORT "$TMP/redis.log" --save "" --appendonly no --dir "$TMP" || finish
REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
KEY=deploy-test-key

# replica NAME PORT VAR=VALUE...: `mixrec serve` with that environment (the
# flags give the local addresses); waits until it answers /healthz
replica() {
  local name=$1 port=$2 pid; shift 2
  env "$@" MIXREC_API_KEYS=$KEY "$MIXREC" serve --model "$TMP/model" --listen "127.0.0.1:$port" \
    --redis "$REDIS_URL" --workers 2 >>"$TMP/$name.access.log" 2>>"$TMP/$name.err" &
  pid=$!
  LIB_PIDS+=("$pid")
  printf -v "PID_$name" '%s' "$pid"
  for _ in $(seq 100); do
    curl -fs -o /dev/null "http://127.0.0.1:$port/healthz" && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "replica $name did not start:"; cat "$TMP/$name.err"
  return 1
}
# replica A with the compose environment, B with the Kubernetes ConfigMap's:
# `mixrec serve` must accept both
PORT_A=$(free_port)
check "replica A starts with the compose environment (${COMPOSE_ENV[*]})" replica A "$PORT_A" "${COMPOSE_ENV[@]}"
PORT_B=$(free_port)
check "replica B starts with the Kubernetes ConfigMap's environment" replica B "$PORT_B" "${K8S_ENV[@]}"
BASE_A=http://127.0.0.1:$PORT_A
BASE_B=http://127.0.0.1:$PORT_B

# Debian's nginx, as this user, with deploy/nginx/server.conf (its listen
# port changed) and an upstream of the two replicas
LB_PORT=$(free_port)
NG=$TMP/nginx
mkdir -p "$NG/logs" "$NG/tmp"
sed "s/^    listen 8080;$/    listen 127.0.0.1:$LB_PORT;/; s#access_log /dev/stdout#access_log $NG/logs/access.log#" \
  deploy/nginx/server.conf >"$NG/server.conf"
check "server.conf: only the listen port and log path differ" \
  test "$(diff deploy/nginx/server.conf "$NG/server.conf" | grep -c '^>')" = 2
# (workers run as this user too, so they can use the temp paths in $TMP;
# nginx ignores `user` when not started as root)
cat >"$NG/nginx.conf" <<EOF
user $(id -un);
worker_processes 1;
pid $NG/nginx.pid;
error_log $NG/logs/error.log warn;
events { worker_connections 1024; }
http {
    client_body_temp_path $NG/tmp/body;
    proxy_temp_path $NG/tmp/proxy;
    fastcgi_temp_path $NG/tmp/fastcgi;
    uwsgi_temp_path $NG/tmp/uwsgi;
    scgi_temp_path $NG/tmp/scgi;
    # server.conf proxies to \$mixrec_upstream: here the upstream block
    map \$host \$mixrec_upstream { default mixrec; }
    upstream mixrec {
        server 127.0.0.1:$PORT_A max_fails=1 fail_timeout=5s;
        server 127.0.0.1:$PORT_B max_fails=1 fail_timeout=5s;
        keepalive 64;
    }
    include $NG/server.conf;
}
EOF
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
check "nginx -t accepts the configuration" "$NGINX" -t -q -p "$NG" -e "$NG/logs/error.log" -c "$NG/nginx.conf"
"$NGINX" -p "$NG" -e "$NG/logs/error.log" -c "$NG/nginx.conf" -g 'daemon off;' 2>"$NG/stderr" &
NGINX_PID=$!
LIB_PIDS+=("$NGINX_PID")
LB=http://127.0.0.1:$LB_PORT
for _ in $(seq 50); do curl -fs -o /dev/null "$LB/lb-healthz" && break; sleep 0.1; done
check "nginx answers on its own health route" curl -fs -o /dev/null "$LB/lb-healthz"

for _ in $(seq 20); do curl -fs -o /dev/null "$LB/v1/users/42/recommendations?k=5"; done
spread=$(jq -r 'select(.uri | startswith("/v1/users/42/")) | .upstream' "$NG/logs/access.log" | sort | uniq -c)
check "nginx spreads requests over both replicas ($(echo $spread))" \
  bash -c "grep -q ':$PORT_A\$' <<<'$spread' && grep -q ':$PORT_B\$' <<<'$spread'"
check "the caller's X-Request-Id crosses the balancer" \
  bash -c "curl -fs -D - -o /dev/null -H 'X-Request-Id: lb-trace-1' '$LB/healthz' | grep -qi '^X-Request-Id: lb-trace-1'"

# sessions are shared: write through A, read through B (and through the LB)
user=42
mapfile -t items < <(curl -fs "$BASE_B/v1/users/$user/recommendations?k=3" | jq -r '.items[].item')
events=$(printf '%s\n' "${items[@]}" | jq -R --arg u "$user" '{user: $u, item: ., type: "like"}' | jq -s .)
code=$(curl -s -o "$TMP/ev" -w '%{http_code}' -H "X-API-Key: $KEY" -H 'Content-Type: application/json' \
  -d "$events" "$BASE_A/v1/events")
check "3 events posted to replica A" bash -c "[ $code = 200 ] && jq -e '.accepted == 3' $TMP/ev >/dev/null"
curl -fs "$BASE_B/v1/users/$user/interests" >"$TMP/int"
check "replica B sees the session written through A" jqt '.session_events == 3 and .session_share > 0' "$TMP/int"
curl -fs "$BASE_B/v1/users/$user/recommendations?k=20&explain=true" >"$TMP/recB"
check "replica B excludes the items liked through A" \
  jqt --argjson l "$(printf '%s\n' "${items[@]}" | jq -R . | jq -s .)" '([.items[].item] - $l | length) == 20' "$TMP/recB"
check "replica B explains items by the session" jqt '[.items[].reason] | index("session") != null' "$TMP/recB"
same=1
for _ in 1 2 3 4; do
  curl -fs "$LB/v1/users/$user/interests" | jqt '.session_events == 3' || same=0
done
check "every replica behind the balancer answers with the same session" test "$same" = 1

# a new model version rolls across the replicas: build, then reload each
sleep 1 # versions are named by the second
"$MIXREC" build --interactions data/movietweetings-100k/ratings.dat --items data/movietweetings-100k/movies.dat \
  --config config/mixrec.json --set embed.seed=7 --out "$TMP/model" >"$TMP/build2.log" 2>&1
v2=$(cat "$TMP/model/CURRENT")
check "a second model version is current ($v1 -> $v2)" test "$v2" != "$v1"
# The replicas watch CURRENT (server.model_poll_s, 5 s by default): each
# one moves to v2 by itself; the reload route then answers with v2 too.
on_v2() {
  local b
  for b in "$BASE_A" "$BASE_B"; do
    curl -fs "$b/readyz" | jqt --arg v "$v2" '.model_version == $v and .status == "ready"' || return 1
  done
}
rolled=0
for _ in $(seq 75); do on_v2 && { rolled=1; break; }; sleep 0.2; done
check "both replicas serve $v2 by themselves within 15 s (CURRENT watched)" test "$rolled" = 1
rolled=1
for b in "$BASE_A" "$BASE_B"; do
  curl -fs -X POST -H "X-API-Key: $KEY" "$b/v1/admin/reload" | jqt --arg v "$v2" '.model_version == $v' || rolled=0
  curl -fs "$b/readyz" | jqt --arg v "$v2" '.model_version == $v and .status == "ready"' || rolled=0
done
check "POST /v1/admin/reload on each replica: /readyz reports $v2 on both" test "$rolled" = 1

# kill -9 one replica under load: nginx retries its requests on the other
scripts/loadtest --model "$TMP/model" --url "$LB" -d 6s -c 8 -t 1 -q --timeout 3s >"$TMP/load1" 2>&1 &
LOAD=$!
sleep 2
kill -9 "$PID_A"
wait "$PID_A" 2>/dev/null
wait "$LOAD"
lt=$(grep '^LOADTEST' "$TMP/load1")
errors=$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' <<<"$lt")
requests=$(sed -n 's/.* requests=\([0-9]*\).*/\1/p' <<<"$lt")
check "load through nginx while replica A is killed: $requests requests, ${errors:-?} errors" \
  bash -c "[ '${errors:-x}' = 0 ] && [ '${requests:-0}' -gt 100 ]"
retried=$(jq -r --arg a "127.0.0.1:$PORT_A" 'select((.upstream | startswith($a + ", ")) and .status == 200) | .uri' \
  "$NG/logs/access.log" | wc -l)
check "requests that hit the dead replica were retried on the other ($retried)" test "$retried" -ge 1
code=$(curl -s -o "$TMP/ev" -w '%{http_code}' -H "X-API-Key: $KEY" -H 'Content-Type: application/json' \
  -d '[{"user":"42","item":"1300854","type":"click"}]' "$LB/v1/events")
check "events through the balancer with one replica left" test "$code" = 200

# A comes back on its port; then B stops gracefully (SIGTERM) under load
replica A "$PORT_A" "${COMPOSE_ENV[@]}"
check "replica A restarts and reads the new version" \
  bash -c "curl -fs $BASE_A/readyz | jq -e '.model_version == \"$v2\"' >/dev/null"
check "replica A restarted sees the sessions" \
  bash -c "curl -fs $BASE_A/v1/users/$user/interests | jq -e '.session_events == 4' >/dev/null"
# nginx sends to A again once its fail_timeout has passed: wait for that,
# as a rolling restart does, before stopping B
back=0
for _ in $(seq 40); do
  curl -fs -o /dev/null "$LB/healthz"
  grep -q "\"upstream\":\"127.0.0.1:$PORT_A\"" <(tail -n 3 "$NG/logs/access.log") && { back=1; break; }
  sleep 0.25
done
check "nginx routes to replica A again after its fail_timeout" test "$back" = 1
scripts/loadtest --model "$TMP/model" --url "$LB" -d 4s -c 8 -t 1 -q --timeout 3s >"$TMP/load2" 2>&1 &
LOAD=$!
sleep 1.5
kill -TERM "$PID_B"
wait "$LOAD"
lt=$(grep '^LOADTEST' "$TMP/load2")
errors=$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' <<<"$lt")
requests=$(sed -n 's/.* requests=\([0-9]*\).*/\1/p' <<<"$lt")
check "load through nginx while replica B stops gracefully: $requests requests, ${errors:-?} errors" \
  bash -c "[ '${errors:-x}' = 0 ] && [ '${requests:-0}' -gt 100 ]"
wait "$PID_B" 2>/dev/null
check "replica B exited 0 on SIGTERM" test $? = 0
{ kill "$NGINX_PID"; wait "$NGINX_PID"; } 2>/dev/null
# ---- 5. Redis Sentinel: the replicas follow a failover ---------------------------
# a master, a replica and one Sentinel (quorum 1), all real redis-servers
PIDS_REDIS=()
redis_node() { # VAR (set to the port) or a port to restart on; [args...]
  local where=$1 port; shift
  local args=(--save "" --appendonly no --dir "$TMP/r" --dbfilename "$where.rdb" "$@")
  mkdir -p "$TMP/r"
  if [[ $where =~ ^[0-9]+$ ]]; then
    port=$where
    redis_on "$port" "$TMP/r$where.log" "${args[@]}" || return 1
  else
    redis_new "$where" "$TMP/r$where.log" "${args[@]}" || return 1
    port=${!where}
  fi
  PIDS_REDIS[$port]=$REDIS_ON_PID
}
redis_node SM
redis_node SR --replicaof 127.0.0.1 "$SM"
# the Sentinel rewrites its configuration file: one per attempt
for attempt in 1 2 3 4 5; do
  SS=$(free_port)
  cat >"$TMP/sentinel$attempt.conf" <<EOF
dir $TMP
sentinel monitor mixmaster 127.0.0.1 $SM 1
sentinel down-after-milliseconds mixmaster 1000
sentinel failover-timeout mixmaster 4000
EOF
  redis_on "$SS" "$TMP/sentinel$attempt.log" "$TMP/sentinel$attempt.conf" --sentinel && break
done
master_port() { redis-cli -p "$SS" sentinel get-master-addr-by-name mixmaster 2>/dev/null | sed -n 2p; }
known=0
for _ in $(seq 200); do
  [ "$(master_port)" = "$SM" ] && redis-cli -p "$SS" sentinel replicas mixmaster 2>/dev/null | grep -qx "$SR" &&
    { known=1; break; }
  sleep 0.1
done
check "Sentinel monitors the master ($SM) and its replica ($SR)" test "$known" = 1
check "redis.sentinels is checked at start-up (exit 2)" \
  bash -c "'$MIXREC' serve --model '$TMP/model' --set redis.sentinels=nohost >/dev/null 2>&1; [ \$? = 2 ]"
PORT_S=$(free_port)
BASE_S=http://127.0.0.1:$PORT_S
# redis.url gives only the database: the master comes from the Sentinel
REDIS_URL=redis://127.0.0.1:1/0
check "a replica starts with MIXREC_REDIS_SENTINELS" replica S "$PORT_S" \
  MIXREC_REDIS_SENTINELS="127.0.0.1:$(free_port),127.0.0.1:$SS" MIXREC_REDIS_SENTINEL_MASTER=mixmaster
ready() { curl -fs "$BASE_S/readyz" | jqt '.redis == "ok"'; }
post_event() { # item; sets CODE
  CODE=$(curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $KEY" -H 'Content-Type: application/json' \
    -d "[{\"user\":\"sentinel-user\",\"item\":\"$1\",\"type\":\"click\"}]" "$BASE_S/v1/events")
}
for _ in $(seq 50); do ready && break; sleep 0.1; done
check "it finds the master through the Sentinels (the first one is down)" ready
post_event 1300854
check "events go to the master" \
  bash -c "[ $CODE = 200 ] && [ \"\$(redis-cli -p $SM llen mixrec:session:sentinel-user)\" = 1 ]"
for _ in $(seq 50); do [ "$(redis-cli -p "$SR" llen mixrec:session:sentinel-user)" = 1 ] && break; sleep 0.1; done

# the master dies: the Sentinel promotes the replica, the server follows
kill -9 "${PIDS_REDIS[$SM]}"
wait "${PIDS_REDIS[$SM]}" 2>/dev/null
t0=$(date +%s.%N)
for _ in $(seq 150); do [ "$(master_port)" = "$SR" ] && break; sleep 0.1; done
check "Sentinel promotes the replica ($SR)" test "$(master_port)" = "$SR"
CODE=0
for _ in $(seq 100); do post_event 1288558; [ "$CODE" = 200 ] && break; sleep 0.1; done
t1=$(date +%s.%N)
check "events are accepted again after the failover ($(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s after the kill)" \
  test "$CODE" = 200
check "they land on the new master, with the replicated session" \
  test "$(redis-cli -p "$SR" llen mixrec:session:sentinel-user)" = 2
check "readyz: redis ok on the new master" ready
check "recommendations read the session from the new master" \
  bash -c "curl -fs '$BASE_S/v1/users/sentinel-user/interests' | jq -e '.session_events == 2' >/dev/null"

# the old master returns as a replica; a manual failover moves the master
# back while the server is connected: it is dropped and finds the new one
redis_node "$SM"
# the Sentinel converts it when it next looks at it: seconds, longer on a
# busy machine
for _ in $(seq 300); do
  redis-cli -p "$SM" info replication 2>/dev/null | grep -q '^role:slave' &&
    redis-cli -p "$SM" info replication 2>/dev/null | grep -q '^master_link_status:up' && break
  sleep 0.1
done
check "the old master rejoins as a replica" \
  bash -c "redis-cli -p $SM info replication | grep -q '^role:slave'"
# (the Sentinel may not count the returning node as a good replica yet:
# it answers NOGOODSLAVE until its next look at it)
for _ in $(seq 40); do
  [ "$(redis-cli -p "$SS" sentinel failover mixmaster 2>/dev/null)" = OK ] && break
  sleep 0.5
done
for _ in $(seq 100); do [ "$(master_port)" = "$SM" ] && break; sleep 0.1; done
CODE=0
for _ in $(seq 100); do
  post_event 1454468
  [ "$CODE" = 200 ] && [ "$(redis-cli -p "$SM" llen mixrec:session:sentinel-user)" = 3 ] && break
  sleep 0.1
done
check "after a manual failover, events land on the new master ($SM)" \
  test "$(redis-cli -p "$SM" llen mixrec:session:sentinel-user)" = 3
check "the demoted master is a replica now" \
  bash -c "[ \"\$(redis-cli -p $SR role | head -1)\" = slave ]"

[ -n "${KEEP:-}" ] && cp -r "$TMP" "$KEEP"

finish
