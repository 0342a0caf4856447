#!/usr/bin/env bash
# What a new user meets first (issue 16, "Training output"): the progress bar
# fits the terminal, step times in s/ms/us, --json keeps stdout to one JSON
# object, output paths are checked before training, Ctrl-C ends the bar's line,
# plurals, --threads above the cores warns, `data path` of a missing dataset,
# `eval --help`, the top-level help names the environment, `data verify` has no
# developer notes, and the library's messages leave the CLI's options to it.
. "$(dirname "$0")/testlib.bash"
DATA=${NNLAB_SHARED_DATA:?}
SRC=${NNLAB_SRC:-$(dirname "$0")/../..}
if [ ! -e "$DATA/mnist/train-images-idx3-ubyte" ] && [ ! -e "$DATA/mnist/train-images-idx3-ubyte.gz" ]; then
    echo "SKIP: no MNIST in $DATA"
    finish
    exit 0
fi
T=(train mnist --data "$DATA" --offline)

# ---- the progress bar fits the terminal (a pty of a given width, script(1))
if command -v script >/dev/null; then
    for cols in 100 80 40 24; do
        script -qec "stty cols $cols; $(printf '%q ' "$NNLAB" "${T[@]}" --epochs 1 --limit 4000) 2>&1 >/dev/null" \
            /dev/null >"$TMP/tty" 2>&1 || bad "train under a pty ($cols columns) failed"
        # every redraw of the bar, without the erase-to-end-of-line sequence
        tr '\r' '\n' <"$TMP/tty" | sed 's/\x1b\[K//g' | grep -E '^ *[0-9]+/125( |$)' >"$TMP/bars"
        [ -s "$TMP/bars" ] && ok || bad "$cols columns: no bar drawn: $(head -c 300 "$TMP/tty")"
        long=$(awk -v c="$cols" 'length($0) > c - 1' "$TMP/bars" | head -1)
        [ -z "$long" ] && ok || bad "$cols columns: a bar line of ${#long} characters: $long"
        grep -qE '^125/125' "$TMP/bars" && ok || bad "$cols columns: no final bar"
    done
    # wide enough for everything: the whole line as before
    script -qec "stty cols 200; $(printf '%q ' "$NNLAB" "${T[@]}" --epochs 1 --limit 4000) 2>&1 >/dev/null" /dev/null |
        tr '\r' '\n' | sed 's/\x1b\[K//g' >"$TMP/wide"
    expect_grep '^125/125 \[=+\] - [0-9]+s [0-9]+(s|ms|us)/step - loss: [0-9.]+ - accuracy: [0-9.]+ - [0-9]+ samples/s$' "$TMP/wide"
    # step time as Keras writes it: never 4 digits of us or ms
    step=$(grep -oE '[0-9]+(s|ms|us)/step' "$TMP/wide" | tail -1)
    [[ "$step" =~ ^([0-9]+)(s|ms|us)/step$ ]] && { [ "${BASH_REMATCH[2]}" = s ] || [ "${BASH_REMATCH[1]}" -lt 1000 ]; } &&
        ok || bad "step time '$step' not in s/ms/us"

    # ---- Ctrl-C: the error message starts a line of its own, not glued to the bar
    script -qec "stty cols 100; $(printf '%q ' "$NNLAB" "${T[@]}" --epochs 20 --threads 1) 2>&1 >/dev/null & p=\$!; sleep 2.5; kill -INT \$p; wait \$p; echo rc=\$?" \
        /dev/null >"$TMP/int" 2>&1
    grep -qE '^rc=130' <(tr -d '\r' <"$TMP/int") && ok || bad "interrupted run: exit status $(grep -a rc= "$TMP/int")"
    grep -qaE '(^|\r)nnlab train: error: training interrupted' "$TMP/int" && ok ||
        bad "the interrupt message is glued to the bar: $(grep -a 'interrupted' "$TMP/int" | tail -c 200)"
else
    echo "SKIP: script(1) not installed (bsdutils): no pseudo-terminal for the bar"
fi

# ---- --json: stdout is one JSON object, so events cannot go to stdout
expect_status 2 "$NNLAB" "${T[@]}" --json --events -
[ ! -s "$TMP/out" ] && ok || bad "--json --events - wrote to stdout"
expect_grep "one JSON object" "$TMP/err"
expect_status 2 env NNLAB_EVENTS=- "$NNLAB" "${T[@]}" --json
expect_status 0 "$NNLAB" "${T[@]}" --epochs 1 --limit 64 --json --quiet --events "$TMP/ev"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$TMP/out" && ok || bad "--json output is not one JSON object"

# ---- output paths are checked before training (exit 1 at once, no epoch run)
for o in "--save $TMP/no/such/dir/m.nnlab" "--save $TMP" "--save-init $TMP/no/dir/i.nnlab" \
    "--step-log $TMP/no/dir/s.csv" "--save-steps $TMP/no/dir" "--save-steps $TMP/ev"; do
    # shellcheck disable=SC2086
    expect_status 1 "$NNLAB" "${T[@]}" --epochs 1 --limit 20000 $o
    expect_grep "^nnlab train: error: ${o%% *} " "$TMP/err"
    grep -q "epoch 1/1" "$TMP/err" && bad "$o: trained before refusing: $(cat "$TMP/err")" || ok
done
mkfifo "$TMP/fifo"
expect_status 1 timeout 60 "$NNLAB" "${T[@]}" --epochs 1 --limit 20000 --save "$TMP/fifo"
expect_grep "is a FIFO" "$TMP/err"
grep -q "epoch 1/1" "$TMP/err" && bad "FIFO: trained before refusing" || ok

# ---- plurals, and --threads above the cores warns but runs
expect_status 0 "$NNLAB" "${T[@]}" --epochs 1 --limit 64 --threads 1
expect_grep "^mnist on mnist, 1 epoch, batch 32, 1 thread, seed 0$" "$TMP/out"
expect_grep ", 1 thread$" "$TMP/err"
expect_status 0 "$NNLAB" "${T[@]}" --epochs 2 --limit 64 --threads 2
expect_grep "^mnist on mnist, 2 epochs, batch 32, 2 threads, seed 0$" "$TMP/out"
cores=$(nproc)
expect_status 0 "$NNLAB" "${T[@]}" --epochs 1 --limit 64 --threads $((cores + 1))
expect_grep "warning: --threads $((cores + 1)) is more than the $cores core" "$TMP/err"
expect_status 0 "$NNLAB" "${T[@]}" --epochs 1 --limit 64 --threads 1
grep -q "warning" "$TMP/err" && bad "warning without cause: $(cat "$TMP/err")" || ok

# ---- data path of a missing dataset says so (and prints no path)
mkdir "$TMP/empty"
expect_status 1 "$NNLAB" data path mnist --data "$TMP/empty"
[ ! -s "$TMP/out" ] && ok || bad "data path of a missing dataset printed: $(cat "$TMP/out")"
expect_grep "mnist is missing" "$TMP/err"
expect_grep "nnlab data fetch mnist" "$TMP/err"

# ---- eval --help lists its options; the top-level help names the environment
expect_status 0 "$NNLAB" eval --help
for o in --model --data --dataset --threads --json; do expect_grep "^  $o " "$TMP/out"; done
expect_grep "^  -h, --help " "$TMP/out"
expect_status 0 "$NNLAB" --help
for v in $(grep -rhoE '"NNLAB_[A-Z_]+"' "$SRC"/src/cli "$SRC"/src/store "$SRC"/src/stats "$SRC"/src/harness |
    tr -d '"' | sort -u | grep -v '^NNLAB_OMP_TUNED$'); do
    grep -q "$v" "$TMP/out" && ok || bad "nnlab --help does not name $v"
done
expect_grep "Exit status" "$TMP/out"

# ---- data verify speaks to users, not to the developers
expect_status 0 "$NNLAB" data verify mnist --data "$DATA"
if grep -E "README|nnlab had no network" "$TMP/out" "$TMP/err" >"$TMP/notes"; then
    bad "developer notes in data verify: $(cat "$TMP/notes")"
else ok; fi

# ---- the library's messages do not name the CLI's --data / NNLAB_DATA; the CLI adds them
if [ -n "${NNLAB_CORE_SO:-}" ] && command -v strings >/dev/null; then
    strings "$NNLAB_CORE_SO" | grep -E 'NNLAB_DATA|--data' >"$TMP/lib" && bad "libnnlab names the CLI: $(cat "$TMP/lib")" || ok
fi
expect_status 1 env NNLAB_DATA="$TMP/nowhere" "$NNLAB" train mnist --offline
expect_grep "'$TMP/nowhere' is not a directory \(from NNLAB_DATA\)" "$TMP/err"
expect_status 1 "$NNLAB" train mnist --offline --data "$TMP/nowhere"
expect_grep "\(from --data\)" "$TMP/err"
expect_status 1 env -u HOME -u XDG_CACHE_HOME -u NNLAB_DATA "$NNLAB" data path mnist
expect_grep "pass --data DIR or set NNLAB_DATA" "$TMP/err"
expect_status 0 env NNLAB_DATA="$DATA" "$NNLAB" data path mnist
expect_grep "^$DATA/mnist$" "$TMP/out"
# a loader's "not found" gets the CLI's hints (eval fetches nothing)
expect_status 0 "$NNLAB" "${T[@]}" --epochs 1 --limit 64 --quiet --save "$TMP/m.nnlab"
expect_status 1 "$NNLAB" eval --model "$TMP/m.nnlab" --data "$TMP/empty"
expect_grep "mnist dataset not found: looked for $TMP/empty/mnist/" "$TMP/err"
expect_grep "Get it with 'nnlab data fetch mnist', or point --data DIR \(or NNLAB_DATA\)" "$TMP/err"
finish
