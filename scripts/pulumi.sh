#!/usr/bin/env bash
# `npm run pulumi -- <args>`: the real Pulumi CLI, built locally, with no network and local state.
#   - builds what is missing of the toolchain (local/toolchain/build-pulumi.sh; silent when
#     everything is there);
#   - Node >= 22 and $TOOLCHAIN_BIN first on PATH, so the engine starts our language host
#     and the language host starts the right node;
#   - plugins come only from $TRADING_BOT_CACHE/pulumi-home: never downloaded;
#   - state goes to .local/pulumi-state unless PULUMI_BACKEND_URL says otherwise;
#   - the dev stack gets its passphrase automatically (see below).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bash "$PROJECT_ROOT/local/toolchain/build-pulumi.sh"

PATH="$(node_bin_dir):$TOOLCHAIN_BIN:$PATH"
export PATH
export PULUMI_HOME="$TRADING_BOT_CACHE/pulumi-home"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
if [[ -z "${PULUMI_BACKEND_URL:-}" ]]; then
  mkdir -p "$LOCAL_STATE/pulumi-state"
  export PULUMI_BACKEND_URL="file://$LOCAL_STATE/pulumi-state"
fi

# target_stack ARGS...: the stack the command acts on: --stack/-s, the name given to
# `stack init`, or else the stack selected in the workspace. Prints nothing when there is none.
target_stack() {
  local args=("$@") i dir="$PROJECT_ROOT"
  for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[i]}" in
      --) break ;;
      --stack | -s) echo "${args[i + 1]:-}"; return ;;
      --stack=*) echo "${args[i]#--stack=}"; return ;;
      -s=*) echo "${args[i]#-s=}"; return ;;
      --cwd | -C) dir="${args[i + 1]:-}" ;;
      --cwd=*) dir="${args[i]#--cwd=}" ;;
    esac
  done
  if [[ "${args[0]:-}" == stack && "${args[1]:-}" == init && -n "${args[2]:-}" && "${args[2]}" != -* ]]; then
    echo "${args[2]}"
    return
  fi
  (cd "$PROJECT_ROOT" && cd "$dir" && pulumi stack --show-name --non-interactive 2>/dev/null) || true
}

# The dev stack's secrets are encrypted with a fixed, documented passphrase: dev holds only
# generated or test values, and every developer and CI run must open the same stack without
# setup. It is not a secret. Every other stack needs PULUMI_CONFIG_PASSPHRASE(_FILE) from
# the caller, and an explicitly set one always wins.
if [[ -z "${PULUMI_CONFIG_PASSPHRASE+set}" && -z "${PULUMI_CONFIG_PASSPHRASE_FILE+set}" ]]; then
  stack=$(target_stack "$@")
  if [[ "${stack##*/}" == dev ]]; then
    export PULUMI_CONFIG_PASSPHRASE=local-dev-only
  fi
fi

cd "$PROJECT_ROOT"
exec pulumi "$@"
