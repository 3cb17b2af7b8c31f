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

# pkg-config --cflags: handoff's own include directory and nothing else
# (handoff.h includes only standard headers; no dependency's flags leak).
cflags=$(PKG_CONFIG_PATH="$libdir" pkg-config --cflags handoff)
read -r -a words <<<"$cflags"
[ ${#words[@]} -eq 1 ] && [ "${words[0]#-I}" != "${words[0]}" ] || {
  echo "pkg-config --cflags handoff: '$cflags' (want only -I<prefix>/include)"; exit 1; }
[ "$(cd "${words[0]#-I}" && pwd -P)" = "$(cd "$tmp/prefix/include" && pwd -P)" ]
# Run without LD_LIBRARY_PATH from a prefix outside the standard paths: an
# rpath, as docs/embedding.md shows.
cc -std=c11 -Wall -Wextra -Werror -o "$tmp/pc-rpath" "$src/tests/consumer/main.c" \
  $(PKG_CONFIG_PATH="$libdir" pkg-config --cflags --libs handoff) \
  -Wl,-rpath,"$(PKG_CONFIG_PATH="$libdir" pkg-config --variable=libdir handoff)"
env -u LD_LIBRARY_PATH "$tmp/pc-rpath" "$src/agents" | grep -q "entry Triage agent"

# find_package(handoff) fails at configure time, naming the package, when a
# dependency of the static target is absent (here: no pkg-config module at all).
mkdir "$tmp/no-modules"
if PKG_CONFIG_LIBDIR="$tmp/no-modules" PKG_CONFIG_PATH= cmake -S "$src/tests/consumer" \
     -B "$tmp/cmake-missing" -DCMAKE_PREFIX_PATH="$tmp/prefix" >"$tmp/missing.log" 2>&1; then
  echo "find_package(handoff) succeeded without libcurl"; exit 1
fi
grep -q "handoff needs the pkg-config module libcurl" "$tmp/missing.log" || {
  cat "$tmp/missing.log"; exit 1; }

# The test helper <handoff/mock.h>: libhandoff-mock, built from the installed
# package with pkg-config and with find_package, runs the default graph
# against an in-process mock. libhandoff itself does not load libmicrohttpd.
cc -std=c11 -Wall -Wextra -Werror -o "$tmp/mock-consumer" "$src/tests/mock_consumer/main.c" \
  $(PKG_CONFIG_PATH="$libdir" pkg-config --cflags --libs handoff-mock)
LD_LIBRARY_PATH="$(dirname "$libdir")" "$tmp/mock-consumer" "$src/agents" | grep -q "^Spanish agent: "
cmake -S "$src/tests/mock_consumer" -B "$tmp/mock-cmake" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/mock-cmake" >/dev/null
"$tmp/mock-cmake/mock_consumer" "$src/agents" | grep -q "^Spanish agent: "
! readelf -d "$(dirname "$libdir")/libhandoff.so" | grep -q microhttpd

# The examples, built from the installed package, run against the installed
# `handoff mock` (on 127.0.0.1, a free port).
cmake -S "$src/examples" -B "$tmp/examples" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/examples" >/dev/null
"$tmp/prefix/bin/handoff" mock --port 0 2>"$tmp/mock.log" &
mock=$!
trap 'kill $mock 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do
  url=$(grep -o 'http://127.0.0.1:[0-9]*' "$tmp/mock.log" | head -1) && [ -n "$url" ] && break
  sleep 0.05
done
[ -n "$url" ]
export HANDOFF_BASE_URL=$url/v1 LD_LIBRARY_PATH="$tmp/prefix/lib:$tmp/prefix/lib64"
out=$("$tmp/examples/minimal" "$src/agents" "Hola, ¿qué tal?")
grep -q "^Spanish agent: " <<<"$out"
out=$("$tmp/examples/streaming" "$src/agents" "Hello there" 2>&1)
grep -q "English agent" <<<"$out"
out=$("$tmp/examples/engine_multi_turn" -n 4 -t 3 "$src/agents")
grep -q "^conversations=4 turns=3 ok=12 failed=0 stayed=4$" <<<"$out"

# A program run twice on the same database and session id continues the
# conversation the second time (hf_store_open_session: load or start).
cc -std=c11 -Wall -Wextra -Werror -o "$tmp/resume" "$src/tests/consumer/resume.c" \
  $(PKG_CONFIG_PATH="$libdir" pkg-config --cflags --libs handoff)
out=$("$tmp/resume" "$src/agents" "$tmp/resume.db" user-42 "Hola")
grep -q "^before 0$" <<<"$out"
[ "$(grep -c "^first" <<<"$out")" = 0 ]
out=$("$tmp/resume" "$src/agents" "$tmp/resume.db" user-42 "Hello again")
grep -q "^before [1-9]" <<<"$out"
grep -q "^first user: Hola$" <<<"$out"
echo "install test: ok"
