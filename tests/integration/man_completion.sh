#!/usr/bin/env bash
# The manual page docs/nnlab.1 renders (man, else groff) and names every
# command of `nnlab --help`, every option of each command's --help and every
# environment variable the top-level help names; the bash completion
# completes commands, options (also without a runnable nnlab), workloads,
# datasets and values; `cmake --install` puts both where man and
# bash-completion look.
. "$(dirname "$0")/testlib.bash"
SRC=${NNLAB_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
PAGE="$SRC/docs/nnlab.1"

# ---- the manual page
if command -v man >/dev/null && MANWIDTH=100 man -l "$PAGE" >"$TMP/man.raw" 2>"$TMP/man.err"; then
    :
elif command -v groff >/dev/null && groff -man -Tutf8 "$PAGE" >"$TMP/man.raw" 2>"$TMP/man.err"; then
    :
else
    echo "SKIP: neither man nor groff can render $PAGE: $(head -2 "$TMP/man.err" 2>/dev/null)"
    : >"$TMP/man.raw"
fi
if [ -s "$TMP/man.raw" ]; then
    # plain text: no overstrike (bold, underline), no escape sequences, one
    # dash kind (groff may render \- as a Unicode minus)
    sed -e 's/.\x08//g' -e 's/\x1b\[[0-9;]*m//g' -e 's/\xe2\x88\x92/-/g' -e 's/\xe2\x80\x90/-/g' \
        "$TMP/man.raw" >"$TMP/man"
    # words hyphenated at a line's end are joined again
    tr '\n' ' ' <"$TMP/man" | sed -E 's/([a-z])[-‐] +([a-z])/\1\2/g; s/  +/ /g' >"$TMP/man.flat"
    grep -q "^NAME" "$TMP/man" && ok || bad "no NAME section in the rendered page"
    for s in SYNOPSIS DESCRIPTION COMMANDS OPTIONS ENVIRONMENT "EXIT STATUS"; do
        grep -q "^$s" "$TMP/man" && ok || bad "no $s section"
    done
    [ ! -s "$TMP/man.err" ] && ok || bad "rendering warnings: $(head -3 "$TMP/man.err")"
    expect_status 0 "$NNLAB" --help
    cp "$TMP/out" "$TMP/help"
    cmds=$(sed -n '/^Commands:/,/^$/p' "$TMP/help" | awk 'NR > 1 && NF {print $1}')
    [ -n "$cmds" ] && ok || bad "no commands in nnlab --help"
    for c in $cmds; do
        grep -qE "^ +$c( |$)" "$TMP/man" && ok || bad "command $c is not described in the manual page"
        # every option of the command's --help (its option column)
        "$NNLAB" "$c" --help 2>/dev/null | sed -nE 's/^ +((-[a-zA-Z], )?--[^ ].*)$/\1/p' | sed -E 's/  .*//' |
            grep -oE -- '--[a-z][a-z0-9-]*' | sort -u >"$TMP/opts.$c"
        while read -r o; do
            grep -qF -- "$o" "$TMP/man.flat" && ok || bad "option $o of 'nnlab $c' is not in the manual page"
        done <"$TMP/opts.$c"
    done
    for v in $(grep -oE '\b(NNLAB|OMP|GOMP|OPENBLAS)_[A-Z_]+' "$TMP/help" | sort -u); do
        grep -qF "$v" "$TMP/man.flat" && ok || bad "environment variable $v is not in the manual page"
    done
    for st in 0 1 2; do grep -qE "^ +$st( |$)" "$TMP/man" && ok || bad "exit status $st not described"; done
fi

# ---- the bash completion
cat >"$TMP/comp.bash" <<'SH'
source "$1"
comp() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _nnlab; echo "${COMPREPLY[*]}"; }
SH
c() { bash -c 'source "$0"; shift; "$@"' "$TMP/comp.bash" "$SRC/completion/nnlab.bash" comp "$@"; }
[ "$(c "$NNLAB" tr)" = train ] && ok || bad "'nnlab tr' completes to '$(c "$NNLAB" tr)', not train"
[ "$(c nnlab tr)" = train ] && ok || bad "'nnlab tr' (no nnlab on PATH) completes to '$(c nnlab tr)'"
[ "$(c "$NNLAB" ev)" = eval ] && ok || bad "'nnlab ev' does not complete to eval"
[ "$(c "$NNLAB" train --sa)" = "--save --save-init --save-every-epoch --save-steps" ] && ok || bad "train --sa: '$(c "$NNLAB" train --sa)'"
[ "$(c "$NNLAB" train mnist-k)" = "mnist-keras-paper" ] && ok || bad "workload: '$(c "$NNLAB" train mnist-k)'"
[ "$(c "$NNLAB" train --dataset fash)" = "fashion-mnist" ] && ok || bad "dataset: '$(c "$NNLAB" train --dataset fash)'"
[ "$(c "$NNLAB" train --optimizer adamw)" = "adamw" ] && ok || bad "optimizer"
[ "$(c "$NNLAB" data "")" = "list fetch verify path" ] && ok || bad "data subcommands: '$(c "$NNLAB" data "")'"
[ "$(c "$NNLAB" stats --format unixstats-p)" = "unixstats-pretty" ] && ok || bad "stats --format"
[ "$(c "$NNLAB" eval --mo)" = "--model" ] && ok || bad "eval --mo: '$(c "$NNLAB" eval --mo)'"
# every option each command's --help lists completes, from --help and from the built-in lists
for cmd in train eval data stats bench; do
    got=$(c "$NNLAB" "$cmd" -- | tr ' ' '\n' | sort -u)
    builtin=$(c /nonexistent/nnlab "$cmd" -- | tr ' ' '\n' | sort -u)
    while read -r o; do
        grep -qxF -- "$o" <<<"$got" && ok || bad "'nnlab $cmd $o' does not complete"
        grep -qxF -- "$o" <<<"$builtin" && ok || bad "the completion's built-in list for $cmd lacks $o"
    done < <("$NNLAB" "$cmd" --help 2>/dev/null | sed -nE 's/^ +((-[a-zA-Z], )?--[^ ].*)$/\1/p' |
        sed -E 's/  .*//' | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
done

# ---- installed where man and bash-completion look
if [ -n "${NNLAB_BUILD:-}" ]; then
    expect_status 0 cmake --install "$NNLAB_BUILD" --prefix "$TMP/prefix"
    [ -f "$TMP/prefix/share/man/man1/nnlab.1" ] && ok || bad "nnlab.1 not installed in share/man/man1"
    [ -f "$TMP/prefix/share/bash-completion/completions/nnlab" ] && ok || bad "completion not installed"
    [ -f "$TMP/prefix/share/nnlab/mlperf/nnlab.yaml" ] && ok || bad "mlperf/nnlab.yaml not installed"
    if command -v man >/dev/null; then
        MANPATH="$TMP/prefix/share/man" man -w nnlab >"$TMP/where" 2>&1 && ok || bad "man -w nnlab: $(cat "$TMP/where")"
    fi
fi
finish
