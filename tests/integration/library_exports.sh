#!/usr/bin/env bash
# The shared libraries export exactly their API, and libnnlab needs none of the
# tools' dependencies:
# - nm -D --defined-only of libnnlab.so and libnnlab-tools.so: only nl_ names;
#   every NL_API declaration of the library's installed headers is exported; an
#   exported name not in those headers must be an NL_API declaration in a src/
#   header of that library's folders (an internal helper the other library calls);
# - libnnlab.so has no undefined nl_ name (it calls nothing of the tools), and
#   every nl_ name libnnlab-tools.so imports is exported by libnnlab.so;
# - NEEDED (readelf -d) and ldd of libnnlab.so: no curl, libcrypto/libssl,
#   jansson or libnnlab-tools (in ldd, libcrypto only as libzip's own).
. "$(dirname "$0")/testlib.bash"
: "${NNLAB_SRC:?}" "${NNLAB_CORE_SO:?}" "${NNLAB_TOOLS_SO:?}"
tools_headers=${NNLAB_TOOLS_HEADERS:-fetch.h stats.h bench.h}
core_dirs="core layers model optim train data"
tools_dirs="store stats harness"

# NL_API names declared in the given headers, one a line.
declared() {
  python3 - "$@" <<'PY'
import re, sys
for path in sys.argv[1:]:
    text = re.sub(r'/\*.*?\*/|//[^\n]*', ' ', open(path).read(), flags=re.S)
    text = re.sub(r'^[ \t]*#.*$', ' ', text, flags=re.M)  # #define NL_API ...
    for decl in re.findall(r'\bNL_API\b([^;{(\[]*)', text):
        names = re.findall(r'[A-Za-z_]\w*', decl)
        if names:
            print(names[-1])
PY
}

check_library() { # NAME SO "PUBLIC HEADERS" "SRC DIRS"
  local name=$1 so=$2 headers=$3 dirs=$4 h d
  [ -f "$so" ] && ok || { bad "$name: $so not built"; return; }
  nm -D --defined-only "$so" | awk '{print $NF}' |
    grep -vxE '_init|_fini|_edata|_end|__bss_start' | sort -u >"$TMP/$name.exports"
  [ -s "$TMP/$name.exports" ] && ok || bad "$name: exports nothing"
  if grep -v '^nl_' "$TMP/$name.exports" >"$TMP/$name.unprefixed"; then
    bad "$name exports names without the nl_ prefix: $(tr '\n' ' ' <"$TMP/$name.unprefixed")"
  else ok; fi

  local pub=()
  for h in $headers; do pub+=("$NNLAB_SRC/include/nnlab/$h"); done
  declared "${pub[@]}" | sort -u >"$TMP/$name.public"
  [ -s "$TMP/$name.public" ] && ok || bad "$name: no NL_API declaration found in $headers"
  comm -23 "$TMP/$name.public" "$TMP/$name.exports" >"$TMP/$name.missing"
  if [ -s "$TMP/$name.missing" ]; then
    bad "$name does not export its public API: $(tr '\n' ' ' <"$TMP/$name.missing")"
  else ok; fi

  local internal=()
  for d in $dirs; do
    while IFS= read -r h; do internal+=("$h"); done < <(find "$NNLAB_SRC/src/$d" -name '*.h' | sort)
  done
  : >"$TMP/$name.internal"
  [ ${#internal[@]} -gt 0 ] && declared "${internal[@]}" | sort -u >"$TMP/$name.internal"
  comm -23 "$TMP/$name.exports" "$TMP/$name.public" >"$TMP/$name.extra"
  comm -23 "$TMP/$name.extra" "$TMP/$name.internal" >"$TMP/$name.undeclared"
  if [ -s "$TMP/$name.undeclared" ]; then
    bad "$name exports names no NL_API declaration of its own declares: $(tr '\n' ' ' <"$TMP/$name.undeclared")"
  else ok; fi
  echo "$name: $(wc -l <"$TMP/$name.exports") exports ($(wc -l <"$TMP/$name.public") public API," \
    "internal for the other library: $(comm -12 "$TMP/$name.extra" "$TMP/$name.internal" | tr '\n' ' '))"
}

core_headers=""
for h in "$NNLAB_SRC"/include/nnlab/*.h; do
  case " $tools_headers " in *" $(basename "$h") "*) ;; *) core_headers+=" $(basename "$h")" ;; esac
done
check_library libnnlab "$NNLAB_CORE_SO" "$core_headers" "$core_dirs"
check_library libnnlab-tools "$NNLAB_TOOLS_SO" "$tools_headers" "$tools_dirs"

# The core calls nothing of the tools; the tools find all they call in the core.
nm -D --undefined-only "$NNLAB_CORE_SO" | awk '{print $NF}' | grep '^nl_' >"$TMP/core.undef"
if [ -s "$TMP/core.undef" ]; then
  bad "libnnlab.so calls nl_ functions it does not define: $(tr '\n' ' ' <"$TMP/core.undef")"
else ok; fi
nm -D --undefined-only "$NNLAB_TOOLS_SO" | awk '{print $NF}' | grep '^nl_' | sort -u >"$TMP/tools.undef"
comm -23 "$TMP/tools.undef" "$TMP/libnnlab.exports" >"$TMP/tools.unresolved"
if [ -s "$TMP/tools.unresolved" ]; then
  bad "libnnlab-tools.so calls nl_ functions libnnlab.so does not export: $(tr '\n' ' ' <"$TMP/tools.unresolved")"
else ok; fi

# What each library needs at run time.
readelf -d "$NNLAB_CORE_SO" | grep NEEDED >"$TMP/core.needed"
[ -s "$TMP/core.needed" ] && ok || bad "readelf -d shows no NEEDED for libnnlab.so"
if grep -iE 'curl|crypto|ssl|jansson|nnlab-tools' "$TMP/core.needed"; then
  bad "libnnlab.so NEEDED has a dependency of the tools"
else ok; fi
grep -q 'libopenblas' "$TMP/core.needed" && ok || bad "libnnlab.so does not need OpenBLAS"
ldd "$NNLAB_CORE_SO" >"$TMP/core.ldd" && ok || bad "ldd libnnlab.so failed"
# libzip (the .npz loader) may bring libcrypto itself (for encrypted archives):
# that one is not a dependency of the tools
tools_deps='curl|crypto|ssl|jansson|nnlab-tools'
zip_so=$(awk '$1 ~ /^libzip\./ {print $3}' "$TMP/core.ldd")
if [ -n "$zip_so" ] && ldd "$zip_so" | grep -q 'libcrypto'; then
  tools_deps='curl|libssl|jansson|nnlab-tools'
fi
if grep -iE "$tools_deps" "$TMP/core.ldd"; then
  bad "libnnlab.so loads a dependency of the tools (ldd)"
else ok; fi
readelf -d "$NNLAB_TOOLS_SO" | grep NEEDED >"$TMP/tools.needed"
grep -q '\[libnnlab\.so' "$TMP/tools.needed" && ok || bad "libnnlab-tools.so does not need libnnlab.so"
finish
