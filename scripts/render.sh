#!/usr/bin/env bash
# `npm run render -- --stack <name> [--existing-secret <secret>] [--namespace <ns>] <dir>`:
# writes the stack's manifests as YAML into <dir> (the Kubernetes provider's render-to-directory
# mode) for teams on Argo CD or Flux. The stack's state and cluster are not touched: the program
# runs in a scratch copy with a throw-away backend. Rendered files never hold a secret value:
# the Secret must come from Sealed Secrets / External Secrets / Vault (`existingSecret`), and
# the stack's encrypted config values are left out.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

stack="" out="" overrides=()
while (($#)); do
  case "$1" in
    --stack | -s) stack="${2:?--stack needs a name}"; shift ;;
    --existing-secret) overrides+=("existingSecret=${2:?--existing-secret needs a name}"); shift ;;
    --namespace) overrides+=("namespace=${2:?--namespace needs a name}"); shift ;;
    -h | --help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) out="$1" ;;
  esac
  shift
done
[[ -n "$stack" && -n "$out" ]] || die "usage: npm run render -- --stack <name> [--existing-secret <secret>] <dir>"
[[ -f "$PROJECT_ROOT/Pulumi.$stack.yaml" ]] || die "no Pulumi.$stack.yaml in $PROJECT_ROOT"
mkdir -p "$out"
out=$(cd "$out" && pwd)

bash "$PROJECT_ROOT/scripts/install-node-modules.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
files=$(program_files) || die "cannot list the program's files (scripts/programFiles.ts)"
for f in $files; do
  mkdir -p "$work/$(dirname "$f")"
  cp "$PROJECT_ROOT/$f" "$work/$f"
done
ln -s "$PROJECT_ROOT/node_modules" "$work/node_modules"

# The stack's plain config, without encrypted values or its secrets provider settings.
node_dir=$(node_bin_dir)
"$node_dir/node" -e '
  const yaml = require(process.argv[1] + "/node_modules/js-yaml");
  const fs = require("fs");
  const doc = yaml.load(fs.readFileSync(process.argv[2], "utf8")) || {};
  const config = Object.fromEntries(Object.entries(doc.config || {})
    .filter(([, v]) => !(v && typeof v === "object" && "secure" in v)));
  fs.writeFileSync(process.argv[3], yaml.dump({ config }));
' "$PROJECT_ROOT" "$PROJECT_ROOT/Pulumi.$stack.yaml" "$work/Pulumi.$stack.yaml"

export PULUMI_BACKEND_URL="file://$work/.state" PULUMI_CONFIG_PASSPHRASE="render-only"
mkdir -p "$work/.state"
pulumi() { bash "$PROJECT_ROOT/scripts/pulumi.sh" "$@" --cwd "$work"; }
pulumi stack init "$stack" --non-interactive >/dev/null
pulumi config set --plaintext "trading-bot:renderYamlToDirectory" "$out" --stack "$stack" --non-interactive
for kv in "${overrides[@]}"; do
  pulumi config set --plaintext "trading-bot:${kv%%=*}" "${kv#*=}" --stack "$stack" --non-interactive
done
step "Rendering stack $stack into $out"
pulumi up --stack "$stack" --yes --skip-preview --non-interactive --suppress-progress >"$work/up.log" 2>&1 || {
  cat "$work/up.log" >&2
  die "rendering failed"
}
find "$out" -type f -name '*.yaml' | sort | sed "s#^$out/#    #" >&2
info "apply with: kubectl apply -R -f $out"
