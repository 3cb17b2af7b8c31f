#!/usr/bin/env bash
# Install the build into a temporary prefix, then build a project outside
# the tree against it twice - with find_package(handoff) and with
# pkg-config - and run both. Usage: install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null

# find_package(handoff)
cmake -S "$src/tests/consumer" -B "$tmp/cmake-build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cmake-build" >/dev/null
out=$(LD_LIBRARY_PATH="$tmp/prefix/lib:$tmp/prefix/lib64" "$tmp/cmake-build/consumer" "$src/agents")
grep -q "entry Triage agent" <<<"$out"
grep -q "Spanish agent transfer_to_spanish_agent" <<<"$out"
"$tmp/cmake-build/consumer_static" "$src/agents" | grep -q "entry Triage agent"

# pkg-config
libdir=$(ls -d "$tmp"/prefix/lib*/pkgconfig | head -1)
cc -std=c11 -Wall -Wextra -Werror -o "$tmp/pc-consumer" "$src/tests/consumer/main.c" \
  $(PKG_CONFIG_PATH="$libdir" pkg-config --cflags --libs handoff)
LD_LIBRARY_PATH="$(dirname "$libdir")" "$tmp/pc-consumer" "$src/agents" | grep -q "entry Triage agent"

# The examples, built from the installed package.
if [ -f "$src/examples/CMakeLists.txt" ]; then
  cmake -S "$src/examples" -B "$tmp/examples" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
  cmake --build "$tmp/examples" >/dev/null
fi
echo "install test: ok"
