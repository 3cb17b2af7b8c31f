#!/bin/sh
# Messages from the library name hf_client_options fields and environment
# variables, never a command's flags: a C program has no --base-url. The
# CLI adds its flags when it reports (src/cli/common.c, cli_hint).
# Fails when a string literal in the library's sources (src/*.c, the
# installed mock library src/mock/*.c) contains a "--flag".
# Usage: library_messages.sh SOURCE_DIR
src=${1:?usage: library_messages.sh SOURCE_DIR}
hits=$(grep -nE '"([^"\\]|\\.)*--[A-Za-z]' "$src"/src/*.c "$src"/src/*.h "$src"/src/mock/*.c \
         "$src"/src/mock/*.h | grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*|//)')
if [ -n "$hits" ]; then
  echo "library strings that name a command-line flag (name the hf_client_options field or the variable):"
  echo "$hits"
  exit 1
fi
echo "library messages: no command-line flags"
