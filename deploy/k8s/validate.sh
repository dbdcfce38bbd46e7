#!/usr/bin/env bash
# validate.sh - checks every Kubernetes object in deploy/k8s/*.yaml against
# the API's schemas with a real validator: the npm package kubernetes-models
# (its validators are generated from the Kubernetes OpenAPI definitions,
# compiled with ajv), installed into a temporary directory at run time and
# removed at the end (nothing downloaded is kept). Node.js and npm come from
# Debian (nodejs, npm) when missing.
#   deploy/k8s/validate.sh            exit 0 valid, 1 invalid, 77 no validator
# A broken copy of the Deployment must be refused too, so a validator that
# accepts anything fails the check.
set -uo pipefail
cd "$(dirname "$0")"
PKG=${K8S_VALIDATOR:-kubernetes-models@5.1.0}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else return 1; fi; }
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "# k8s: installing nodejs and npm (Debian)"
  { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends nodejs npm; } >/dev/null 2>&1
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "SKIP: k8s schema check: no node/npm and they could not be installed"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! (cd "$work" && timeout 180 npm install --no-audit --no-fund --loglevel=error --no-save \
      "$PKG" yaml@2 >npm.log 2>&1); then
  echo "SKIP: k8s schema check: npm install $PKG failed:"; tail -5 "$work/npm.log"
  exit 77
fi
ver=$(node -p 'require(process.argv[1]).version' "$work/node_modules/kubernetes-models/package.json")
echo "# k8s: validator kubernetes-models $ver (npm), node $(node --version)"
cp ./*.yaml "$work/"
cat >"$work/validate.mjs" <<'EOF'
import { readFileSync, readdirSync } from "node:fs";
import { parseAllDocuments } from "yaml";
const dir = process.argv[2];
let bad = 0, n = 0;
async function check(name, obj) {
  const [group, version] = obj.apiVersion.includes("/") ? obj.apiVersion.split("/") : ["", obj.apiVersion];
  let mod;
  try {
    mod = await import(group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`);
  } catch (e) { return `no schema for ${obj.apiVersion}`; }
  const Kind = mod[obj.kind];
  if (!Kind) return `no schema for ${obj.apiVersion} ${obj.kind}`;
  try { new Kind(obj).validate(); return null; } catch (e) { return e.message; }
}
for (const f of readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort()) {
  for (const doc of parseAllDocuments(readFileSync(`${dir}/${f}`, "utf8"))) {
    const obj = doc.toJS();
    if (!obj) continue;
    const what = `${f}: ${obj.kind} ${obj.metadata?.name ?? ""}`.trim();
    if (obj.apiVersion?.startsWith("kustomize.config.k8s.io/")) {
      console.log(`ok - k8s schema: ${what} (kustomize's own file, not an API object: not checked)`);
      continue;
    }
    n++;
    const err = await check(f, obj);
    if (err) { bad++; console.log(`not ok - k8s schema: ${what}: ${err}`); }
    else console.log(`ok - k8s schema: ${what} (${obj.apiVersion})`);
    if (obj.kind === "Deployment") { // the control: a broken copy is refused
      const broken = structuredClone(obj);
      broken.spec.replicas = "two";
      delete broken.spec.template.spec.containers[0].name;
      const e2 = await check(f, broken);
      if (e2) console.log(`ok - k8s schema: a broken copy of ${what} is refused (${e2})`);
      else { bad++; console.log(`not ok - k8s schema: a broken copy of ${what} was accepted`); }
    }
  }
}
console.log(`# k8s: ${n} objects checked, ${bad} problems`);
process.exit(bad ? 1 : 0);
EOF
(cd "$work" && node validate.mjs "$work")
