#!/usr/bin/env bash
# Progress output: a Keras-style bar on a terminal (run under a pseudo-terminal
# with script(1)), one plain line per epoch otherwise, nothing with --quiet.
. "$(dirname "$0")/testlib.bash"
DATA=${NNLAB_SHARED_DATA:?}
args=(train mnist --data "$DATA" --epochs 2 --limit 20000)
# a terminal wide enough for the whole line (cli_newuser.sh: narrower ones)
script -qec "stty cols 200; $(printf '%q ' "$NNLAB" "${args[@]}") 2>&1 >/dev/null" /dev/null > "$TMP/tty" 2>&1 && ok || bad "train under a pty failed"
tr '\r' '\n' < "$TMP/tty" > "$TMP/tty.lines"
expect_grep '^Epoch 1/2' "$TMP/tty.lines"
expect_grep '^Epoch 2/2' "$TMP/tty.lines"
expect_grep '^625/625 \[=+\] - .*loss: [0-9.]+ - accuracy: [0-9.]+ - [0-9]+ samples/s' "$TMP/tty.lines"
expect_grep 'test: accuracy 0\.[0-9]+' "$TMP/tty.lines"
# not a terminal: one line per epoch
expect_status 0 "$NNLAB" "${args[@]}"
[ "$(grep -c '^epoch [12]/2: 20000 samples' "$TMP/err")" = 2 ] && ok || bad "plain progress lines: $(cat "$TMP/err")"
grep -q $'\r' "$TMP/err" && bad "carriage returns in non-terminal output" || ok
expect_status 0 "$NNLAB" "${args[@]}" --quiet
[ ! -s "$TMP/err" ] && ok || bad "--quiet printed: $(head -3 "$TMP/err")"
finish
