#!/usr/bin/env bash
# `cmake --install` into a temp prefix, then use what is installed as a user
# would, with no LD_LIBRARY_PATH:
# - both libraries (static, shared), all headers, nnlab.pc + nnlab-tools.pc and
#   the CMake package are there; the installed nnlab runs on the installed
#   libraries (its run path is relative to the prefix);
# - examples/mnist_mlp.c built with `pkg-config nnlab` (shared, and static
#   with --static) trains on real data;
# - examples/data_verify.c built with `pkg-config nnlab-tools` verifies MNIST;
# - examples/ as a CMake project with find_package(nnlab) (nnlab::nnlab,
#   nnlab::tools, and the static targets) builds, and its programs run.
. "$(dirname "$0")/testlib.bash"
: "${NNLAB_BUILD:?}" "${NNLAB_SRC:?}"
unset LD_LIBRARY_PATH
CC=${NNLAB_CC:-cc}
P="$TMP/prefix"
S="${NNLAB_SHARED_DATA:-}"
have_data=0
[ -n "$S" ] && [ -d "$S/mnist" ] && have_data=1

expect_status 0 cmake --install "$NNLAB_BUILD" --prefix "$P"
[ -x "$P/bin/nnlab" ] && ok || bad "nnlab not installed"
for h in export error core data model optim train fetch stats bench; do
  [ -f "$P/include/nnlab/$h.h" ] && ok || bad "include/nnlab/$h.h not installed"
done
lib=$(dirname "$(find "$P" -name libnnlab.so | head -1)")
for f in libnnlab.a libnnlab.so libnnlab-tools.a libnnlab-tools.so \
         pkgconfig/nnlab.pc pkgconfig/nnlab-tools.pc \
         cmake/nnlab/nnlabConfig.cmake cmake/nnlab/nnlabConfigVersion.cmake; do
  [ -e "$lib/$f" ] && ok || bad "$f not installed in $lib"
done

# The installed program finds the installed libraries, not the build's.
expect_status 0 "$P/bin/nnlab" models
expect_grep mnist "$TMP/out"
ldd "$P/bin/nnlab" >"$TMP/ldd"
expect_grep "libnnlab\.so\.0 => $P/" "$TMP/ldd"
expect_grep "libnnlab-tools\.so\.0 => $P/" "$TMP/ldd"
if readelf -d "$P/bin/nnlab" "$lib/libnnlab.so" "$lib/libnnlab-tools.so" | grep -F "$NNLAB_BUILD"; then
  bad "an installed file keeps a run path into the build directory"
else ok; fi

export PKG_CONFIG_PATH="$lib/pkgconfig"
expect_status 0 pkg-config --exists --print-errors nnlab nnlab-tools
expect_status 0 pkg-config --libs nnlab-tools
expect_grep '-lnnlab-tools .*-lnnlab( |$)' "$TMP/out"
if pkg-config --libs nnlab | grep -qE 'curl|crypto|jansson'; then
  bad "pkg-config --libs nnlab names a dependency of the tools"
else ok; fi

# mnist_mlp against libnnlab.so (the run path comes from nnlab.pc)
expect_status 0 "$CC" -std=c11 -Wall -Wextra -Werror "$NNLAB_SRC/examples/mnist_mlp.c" \
  -o "$TMP/mnist_mlp" $(pkg-config --cflags --libs nnlab)
# ... and against libnnlab.a
static_libs() { # the .a files in place of -lnnlab / -lnnlab-tools
  pkg-config --libs --static "$@" |
    sed -E "s#(^| )-lnnlab-tools( |\$)# $lib/libnnlab-tools.a #; s#(^| )-lnnlab( |\$)# $lib/libnnlab.a #"
}
expect_status 0 "$CC" -std=c11 -Wall -Wextra -Werror "$NNLAB_SRC/examples/mnist_mlp.c" \
  -o "$TMP/mnist_mlp_static" $(pkg-config --cflags nnlab) $(static_libs nnlab)
if readelf -d "$TMP/mnist_mlp_static" | grep -q 'libnnlab'; then
  bad "mnist_mlp_static needs a shared libnnlab"
else ok; fi
# data_verify against libnnlab-tools.so and .a
expect_status 0 "$CC" -std=c11 -Wall -Wextra -Werror "$NNLAB_SRC/examples/data_verify.c" \
  -o "$TMP/data_verify" $(pkg-config --cflags --libs nnlab-tools)
expect_status 0 "$CC" -std=c11 -Wall -Wextra -Werror "$NNLAB_SRC/examples/data_verify.c" \
  -o "$TMP/data_verify_static" $(pkg-config --cflags nnlab-tools) $(static_libs nnlab-tools)
if [ "$have_data" = 1 ]; then
  expect_status 0 "$TMP/mnist_mlp" "$S" 5000
  expect_grep 'trained on 5000 samples.*test accuracy 0\.[89]' "$TMP/out"
  expect_status 0 "$TMP/mnist_mlp_static" "$S" 2000
  expect_grep 'trained on 2000 samples' "$TMP/out"
  for prog in data_verify data_verify_static; do
    expect_status 0 "$TMP/$prog" "$S" mnist
    expect_grep '^mnist: every file matches its pinned hash' "$TMP/out"
  done
else
  expect_status 2 "$TMP/mnist_mlp"
  expect_status 1 "$TMP/data_verify" "$TMP/nodata" mnist
fi

# examples/ as a CMake project on the installed package
expect_status 0 cmake -S "$NNLAB_SRC/examples" -B "$TMP/ex" -DCMAKE_PREFIX_PATH="$P" \
  -DCMAKE_C_COMPILER="$CC" -DNNLAB_EXAMPLES_STATIC=ON
expect_status 0 cmake --build "$TMP/ex" -j2
for prog in mnist_mlp data_verify mnist_mlp_static data_verify_static; do
  [ -x "$TMP/ex/$prog" ] && ok || bad "find_package(nnlab): $prog not built"
done
ldd "$TMP/ex/data_verify" >"$TMP/ldd"
expect_grep "libnnlab-tools\.so\.0 => $P/" "$TMP/ldd"
expect_grep "libnnlab\.so\.0 => $P/" "$TMP/ldd"
if [ "$have_data" = 1 ]; then
  expect_status 0 "$TMP/ex/mnist_mlp" "$S" 2000
  expect_grep 'trained on 2000 samples' "$TMP/out"
  expect_status 0 "$TMP/ex/data_verify_static" "$S" mnist
  expect_grep '^mnist: every file matches its pinned hash' "$TMP/out"
fi
finish
