#!/usr/bin/env bash
# The README's "Using the Sahara Model Hub" section, run as written against
# `handoff mock` (which serves the Model Hub's routes): its YAML block is
# applied to a copy of the default graph, then every line of its shell
# block runs in a directory holding that `agents/`, with MODEL_BASE_URL
# pointing at the mock's /compute. The mock refuses any key but the one in
# SAHARA_DEVPORTAL_API_KEY, so each command must read the key through
# api_key_env (HANDOFF_API_KEY holds another one).
# Usage: model_hub_readme.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd) src=$(cd "$2" && pwd)
tmp=$(mktemp -d)
mock=
trap '[ -z "$mock" ] || kill "$mock" 2>/dev/null; rm -rf "$tmp"' EXIT

# The section, and its first yaml and sh blocks.
section=$(awk '/^## Using the Sahara Model Hub/ {on=1; next} on && /^## / {exit} on' "$src/README.md")
block() { awk -v lang="$1" '$0 == "```" lang {on=1; next} on && /^```/ {exit} on' <<<"$section"; }
yaml=$(block yaml)
cmds=$(block sh)
[ -n "$yaml" ] && [ -n "$cmds" ] || { echo "README: the Model Hub section lost its blocks"; exit 1; }

cp -r "$src/agents" "$tmp/agents"
while read -r line; do
  key=${line%%:*}
  case $key in ''|'#'*) continue ;; esac
  sed -i "/^$key:/d" "$tmp/agents/handoff.yaml"
  printf '%s\n' "$line" >>"$tmp/agents/handoff.yaml"
done <<<"$yaml"

export SAHARA_DEVPORTAL_API_KEY=sk-hub-readme-test-5e1f
export HANDOFF_DB=$tmp/sessions.db NO_COLOR=1
"$build/handoff" mock --port 0 --require-key SAHARA_DEVPORTAL_API_KEY --log "$tmp/mock.jsonl" \
  2>"$tmp/mock.err" &
mock=$!
url=
for _ in $(seq 200); do
  url=$(grep -o 'http://127.0.0.1:[0-9]*' "$tmp/mock.err" | head -1) && [ -n "$url" ] && break
  kill -0 "$mock" || break
  sleep 0.05
done
[ -n "$url" ] || { cat "$tmp/mock.err"; exit 1; }
export MODEL_BASE_URL=$url/compute

n=0
while IFS= read -r cmd; do
  n=$((n + 1))
  if ! (cd "$tmp" && PATH="$build:$PATH" bash -euo pipefail -c "$cmd" >"$tmp/out.$n" 2>"$tmp/err.$n"); then
    echo "README command failed: $cmd"; cat "$tmp/out.$n" "$tmp/err.$n"; exit 1
  fi
  # variables the line exported stay set for the next lines
  if [[ $cmd == export\ * ]]; then eval "$cmd"; fi
done <<<"$cmds"

out=$(cat "$tmp"/out.*)
for want in "gpt-4o-mini" "OpenAI's hosted GPT models" "requirements.headers.OpenAI-Organization" \
            "¡Hola! Con gusto te ayudo en español." "Hello! I'm happy to help you in English."; do
  grep -qF "$want" <<<"$out" || { echo "missing from the README commands' output: $want"; echo "$out"; exit 1; }
done
# Every chat request carried the provider as OpenAI-Organization.
chats=$(grep -c '"path":"/compute/chat/completions"' "$tmp/mock.jsonl")
orgs=$(grep '"path":"/compute/chat/completions"' "$tmp/mock.jsonl" | grep -c '"openai-organization":"openai"')
[ "$chats" -ge 4 ] && [ "$chats" -eq "$orgs" ] || { echo "chat requests $chats, with the provider $orgs"; exit 1; }
! grep -q '"status":401' "$tmp/mock.jsonl"
echo "model hub README: $n commands ok"
