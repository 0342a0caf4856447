#!/usr/bin/env bash
# The tiny bench of issue 5: 1 run, --limit 512, mnist, nnlab and the PyTorch peer
# (CI installs Debian's python3-torch). Every result file exists, Table 1 parses,
# the aligned timelines start at 0, the figures are valid PNG and SVG.
. "$(dirname "$0")/testlib.bash"
DATA=${NNLAB_SHARED_DATA:?}
[ -f "$DATA/mnist/train-images-idx3-ubyte" ] || { echo "FAIL: no MNIST in $DATA" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "FAIL: gnuplot not installed (Debian: gnuplot-nox)" >&2; exit 1; }
OUT=$TMP/bench

# usage errors first (cheap)
expect_status 2 "$NNLAB" bench --runs 0
expect_status 2 "$NNLAB" bench --contestants nnlab,nosuch --data "$DATA"
expect_grep "unknown contestant 'nosuch'" "$TMP/err"
expect_status 2 "$NNLAB" bench --workloads mnist,nosuch --data "$DATA"
mkdir -p "$TMP/nodata"
expect_status 1 "$NNLAB" bench --workloads mnist --data "$TMP/nodata" --out "$TMP/x"
expect_grep "nnlab data fetch mnist" "$TMP/err"
expect_status 0 "$NNLAB" bench --list
expect_grep '^pytorch +Python' "$TMP/out"

start=$(date +%s)
expect_status 0 "$NNLAB" bench --runs 1 --workloads mnist --contestants nnlab,pytorch --limit 512 \
  --epochs 2 --threads 2 --data "$DATA" --out "$OUT"
echo "tiny bench: $(( $(date +%s) - start )) s"
cp "$TMP/out" "$TMP/stdout"; cp "$TMP/err" "$TMP/stderr"
grep -q 'pytorch on mnist: SKIPPED' "$TMP/stderr" && bad "the PyTorch peer was skipped: CI must install python3-torch"
expect_grep '^\| mnist \| nnlab \| C \| 1/1 \|' "$TMP/stdout"
expect_grep '^\| mnist \| pytorch \| Python \| 1/1 \|' "$TMP/stdout"
expect_grep '\[2/2\] pytorch on mnist, run 1 of 1: [0-9.]+ s to train' "$TMP/stderr"

for f in table.md table.csv table.json report.html report.md figures/index.txt; do
  [ -s "$OUT/$f" ] && ok || bad "missing or empty $OUT/$f"
done
for c in nnlab pytorch; do
  for f in run1.csv run1.events run1.out run1.log aligned.csv mean.csv; do
    [ -e "$OUT/${c}_mnist_$f" ] && ok || bad "missing $OUT/${c}_mnist_$f"
  done
done

python3 - "$OUT" <<'PY' && ok || bad "result files"
import csv, json, os, re, struct, sys, xml.etree.ElementTree as ET
out = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(out, "table.csv"))))
assert [r["contestant"] for r in rows] == ["nnlab", "pytorch"], rows
ttt = {}
for r in rows:
    assert r["workload"] == "mnist" and r["status"] == "ok", r
    assert r["runs"] == "1" and r["runs_ok"] == "1" and r["runs_failed"] == "0", r
    t = float(r["time_to_train_mean_s"]); ttt[r["contestant"]] = t
    assert 0 < t < 120, r
    assert float(r["time_to_train_min_s"]) == t == float(r["time_to_train_max_s"]), r
    assert 0.1 < float(r["test_accuracy_mean"]) <= 1, r
    assert float(r["samples_per_s_mean"]) > 0 and float(r["peak_rss_mib_mean"]) > 1, r
    assert float(r["cpu_mean_pct"]) > 0 and float(r["startup_mean_s"]) >= 0, r
    assert r["baseline"] == "nnlab" and r["framework_version"], r
assert float(rows[0]["pct_vs_baseline"]) == 0
assert abs(float(rows[1]["pct_vs_baseline"]) - 100 * (ttt["pytorch"] / ttt["nnlab"] - 1)) < 0.1

j = json.load(open(os.path.join(out, "table.json")))
assert j["config"]["runs"] == 1 and j["config"]["limit"] == 512 and j["config"]["epochs"] == 2
assert j["machine"]["cpus"] >= 1 and j["machine"]["cpu"], j["machine"]
assert len(j["rows"]) == 2 and all(len(r["runs"]) == 1 for r in j["rows"])
for r in j["rows"]:
    assert r["runs"][0]["aligned_on_events"] is True and r["runs"][0]["samples"] >= 1, r["runs"]
    assert len(r["test_accuracy_per_epoch_mean"]) == 2, r

# Markdown table: header, separator, two rows, all with the same number of cells
md = [l for l in open(os.path.join(out, "table.md")) if l.startswith("|")]
assert len(md) == 4 and len({l.count("|") for l in md}) == 1, md

hdr = ("t_s,cpu_pct,rss_mib,sys_cpu_pct,sys_ram_pct,gpu_pct,vram_mib,vram_pct,threads,read_mib,write_mib,"
       "user_pct,system_pct,minflt_s,majflt_s,vcsw_s,ivcsw_s,read_mib_s,write_mib_s")
for c in ["nnlab", "pytorch"]:
    # per run: the monitor's CSV, t_s on the run_start clock
    lines = open(os.path.join(out, c + "_mnist_run1.csv")).read().splitlines()
    assert lines[0] == hdr, lines[0]
    ts = [float(l.split(",")[0]) for l in lines[1:]]
    assert ts == sorted(ts) and ts[-1] > 0, ts
    ev = open(os.path.join(out, c + "_mnist_run1.events")).read()
    assert '"run_start"' in ev and '"run_stop"' in ev
    # aligned timelines start at 0 and stay within the run's time-to-train
    for kind in ["aligned", "mean"]:
        rr = list(csv.DictReader(open(os.path.join(out, "%s_mnist_%s.csv" % (c, kind)))))
        t = [float(x["t_s"]) for x in rr]
        assert t[0] == 0.0, (c, kind, t[:3])
        assert all(abs(b - a - 0.1) < 1e-6 for a, b in zip(t, t[1:])), (c, kind)
        assert t[-1] <= ttt[c] + 1e-6, (c, kind, t[-1], ttt[c])
        assert all(x["cpu_pct" if kind == "aligned" else "cpu_pct_mean"] != "" for x in rr)

# figures: every one listed exists as a valid PNG and SVG
figs = [l.split("\t")[1] for l in open(os.path.join(out, "figures/index.txt")) if l.strip()]
for want in ["time", "accuracy", "compare_mnist_cpu_pct", "compare_mnist_rss_mib",
             "usage_nnlab_mnist", "usage_pytorch_mnist"]:
    assert want in figs, (want, figs)
for f in figs:
    png = open(os.path.join(out, "figures", f + ".png"), "rb").read()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR", f
    w, h = struct.unpack(">II", png[16:24])
    assert w >= 400 and h >= 300, (f, w, h)
    root = ET.parse(os.path.join(out, "figures", f + ".svg")).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg", (f, root.tag)
    assert len(root.findall(".//{http://www.w3.org/2000/svg}path")) > 3, f

html = open(os.path.join(out, "report.html")).read()
assert html.count("data:image/svg+xml;base64,") == len(figs)
assert 'id="table1"' in html and "pytorch" in html
assert not re.search(r'(src|href)="(?!data:|#)', html), "report.html refers to outside files"
md = open(os.path.join(out, "report.md")).read()
for f in figs:
    assert "(figures/%s.png)" % f in md, f
PY
finish
