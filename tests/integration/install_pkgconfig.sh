#!/usr/bin/env bash
# `cmake --install` into a temp prefix, then build examples/mnist_mlp.c against
# the installed library with pkg-config only, and run it on real data.
. "$(dirname "$0")/testlib.bash"
: "${NNLAB_BUILD:?}" "${NNLAB_SRC:?}"
expect_status 0 cmake --install "$NNLAB_BUILD" --prefix "$TMP/prefix"
[ -x "$TMP/prefix/bin/nnlab" ] && ok || bad "nnlab not installed"
[ -f "$TMP/prefix/include/nnlab/model.h" ] && ok || bad "headers not installed"
pcdir=$(dirname "$(find "$TMP/prefix" -name nnlab.pc | head -1)")
[ -f "$pcdir/nnlab.pc" ] && ok || bad "nnlab.pc not installed"
export PKG_CONFIG_PATH="$pcdir"
flags=$(pkg-config --cflags --libs --static nnlab) && ok || bad "pkg-config nnlab failed"
# static link against the installed archive
expect_status 0 cc -std=c11 -Wall -Wextra -Werror "$NNLAB_SRC/examples/mnist_mlp.c" \
  -o "$TMP/mnist_mlp" $(pkg-config --cflags nnlab) "$TMP/prefix/lib/libnnlab.a" \
  $(pkg-config --libs --static nnlab | sed 's/-lnnlab//')
# shared link
expect_status 0 cc -std=c11 -Wall -Wextra -Werror "$NNLAB_SRC/examples/mnist_mlp.c" \
  -o "$TMP/mnist_mlp_so" $flags -Wl,-rpath,"$TMP/prefix/lib"
if [ -n "${NNLAB_SHARED_DATA:-}" ] && [ -d "$NNLAB_SHARED_DATA/mnist" ]; then
  expect_status 0 "$TMP/mnist_mlp_so" "$NNLAB_SHARED_DATA" 5000
  expect_grep 'test accuracy 0\.[89]' "$TMP/out"
fi
finish
