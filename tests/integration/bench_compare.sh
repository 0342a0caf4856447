#!/usr/bin/env bash
# nnlab bench compare DIR_A DIR_B [--threshold PCT]: rows paired by contestant and
# workload from two table.json files, the change against the runs' noise, and the
# exit status of a regression beyond the threshold.
. "$(dirname "$0")/testlib.bash"
mk() { # DIR then rows "contestant workload n mean sd" ...
    local dir=$1; shift
    mkdir -p "$dir"
    python3 - "$dir" "$@" <<'PY'
import json, sys
rows = []
for spec in sys.argv[2:]:
    c, w, n, mean, sd = spec.split()
    n = int(n)
    st = {"n": n, "mean": float(mean), "sd": float(sd) if n > 1 else None,
          "median": float(mean), "min": float(mean), "max": float(mean)}
    rows.append({"workload": w, "contestant": c, "time_to_train_s": st,
                 "samples_per_second": {"n": n, "mean": 1000.0 / float(mean)},
                 "peak_rss_mib": {"n": n, "mean": 50.0}})
json.dump({"rows": rows}, open(sys.argv[1] + "/table.json", "w"))
PY
}
mk "$TMP/a" "nnlab mnist 5 1.00 0.01" "torch mnist 5 4.00 0.50" "gone mnist 2 3.0 0.1"
mk "$TMP/b" "nnlab mnist 5 1.20 0.01" "torch mnist 5 4.20 0.50" "new mnist 2 3.0 0.1"

# no threshold: a table, exit 0
expect_status 0 "$NNLAB" bench compare "$TMP/a" "$TMP/b"
expect_grep '^\| mnist \| nnlab \| 1\.000 ± 0\.010 \(5\) \| 1\.200 ± 0\.010 \(5\) \| \+20\.0 % \| ± 1\.3 % \| slower \| 1000 → 833 \| 50 → 50 \|$' "$TMP/out"
expect_grep '^\| mnist \| torch \| .* \| \+5\.0 % \| ± [0-9.]+ % \| within the noise \|' "$TMP/out"
expect_grep '^\| mnist \| gone \| .* \| only in A \|' "$TMP/out"
expect_grep '^\| mnist \| new \| .* \| only in B \|' "$TMP/out"
# a regression beyond the threshold and the noise: exit 1; the noisy one is not one
expect_status 1 "$NNLAB" bench compare "$TMP/a" "$TMP/b" --threshold 5
expect_grep '\| nnlab \| .* \| REGRESSION \|' "$TMP/out"
grep -q '| torch | .* | REGRESSION |' "$TMP/out" && bad "a change within the noise was called a regression" || ok
expect_grep '^1 regression beyond 5\.0 % and the noise\.$' "$TMP/out"
expect_status 0 "$NNLAB" bench compare "$TMP/a" "$TMP/b" --threshold 25
# B faster than A: no regression whatever the threshold
expect_status 0 "$NNLAB" bench compare "$TMP/b" "$TMP/a" --threshold 0
expect_grep '\| nnlab \| .* \| -16\.7 % \| .* \| faster \|' "$TMP/out"
# errors and usage
expect_status 1 "$NNLAB" bench compare "$TMP/a" "$TMP/none"
expect_grep "compare: .*$TMP/none/table.json" "$TMP/err"
echo '{"rows": 3}' > "$TMP/bad.json"; mkdir -p "$TMP/bad"; mv "$TMP/bad.json" "$TMP/bad/table.json"
expect_status 1 "$NNLAB" bench compare "$TMP/a" "$TMP/bad"
expect_grep 'no "rows" array' "$TMP/err"
expect_status 2 "$NNLAB" bench compare "$TMP/a"
expect_grep 'two result directories' "$TMP/err"
expect_status 2 "$NNLAB" bench compare "$TMP/a" "$TMP/b" --threshold abc
expect_status 2 "$NNLAB" bench compare "$TMP/a" "$TMP/b" "$TMP/a"
finish
