#!/usr/bin/env bash
# report.html in a real browser: headless Chromium (Debian package chromium) opens the
# report of a small bench and the test checks that the page renders Table 1 and every
# figure (each <img> decoded: naturalWidth > 0), and that a screenshot is not blank.
# The bench uses fake contestants (bench_fake_contestant.bash), so no training is needed.
# Chromium is not installed by this test; without it the test fails (CI installs it).
. "$(dirname "$0")/testlib.bash"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
  echo "FAIL: chromium not found: this test needs headless Chromium (Debian: apt-get install chromium)" >&2
  exit 1
fi
command -v gnuplot >/dev/null || { echo "FAIL: gnuplot not installed (Debian: gnuplot-nox)" >&2; exit 1; }
FAKE="$(cd "$(dirname "$0")" && pwd)/bench_fake_contestant.bash"
DATA=$TMP/data
mkdir -p "$DATA/mnist" && : > "$DATA/mnist/train-images-idx3-ubyte"
cat > "$TMP/contestants.txt" <<EOF2
fast     Shell  bash $FAKE fast {events} {seed} {epochs}
broken   Shell  bash $FAKE broken {events} {seed} {epochs}
absent   Shell  bash $FAKE absent {events} {seed} {epochs}
EOF2
OUT=$TMP/bench
expect_status 0 "$NNLAB" bench --contestants-file "$TMP/contestants.txt" \
  --contestants fast,broken,absent --workloads mnist --runs 2 --epochs 2 --threads 1 \
  --data "$DATA" --out "$OUT"
[ -s "$OUT/report.html" ] || { bad "no report.html"; finish; exit 1; }

chrome() { # ARGS... : one headless Chromium, its own throw-away profile
  local prof; prof=$(mktemp -d "$TMP/chrome-XXXXXX")
  timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --disable-extensions \
    --user-data-dir="$prof" "$@" 2>>"$TMP/chrome.err"
}
chrome --virtual-time-budget=10000 --dump-dom "file://$OUT/report.html" > "$TMP/dom.html"
[ -s "$TMP/dom.html" ] && ok || { bad "Chromium dumped no DOM"; tail -5 "$TMP/chrome.err" >&2; }
chrome --window-size=1280,1800 --hide-scrollbars --screenshot="$TMP/shot.png" \
  "file://$OUT/report.html" > /dev/null
[ -s "$TMP/shot.png" ] && ok || { bad "Chromium took no screenshot"; tail -5 "$TMP/chrome.err" >&2; }

python3 - "$TMP/dom.html" "$OUT" "$TMP/shot.png" <<'PY' && ok || bad "report as rendered by Chromium"
import os, re, struct, sys, zlib
from html.parser import HTMLParser
dom, out, shot = sys.argv[1:4]

class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.body = {}; self.imgs = []; self.rows = []; self.in_t1 = False; self.tr = None
    def handle_starttag(self, tag, a):
        a = dict(a)
        if tag == "body": self.body = a
        if tag == "img": self.imgs.append(a)
        if tag == "table" and a.get("id") == "table1": self.in_t1 = True
        if self.in_t1 and tag == "tr": self.tr = []
    def handle_endtag(self, tag):
        if tag == "table": self.in_t1 = False
        if tag == "tr" and self.tr is not None:
            self.rows.append(" ".join(self.tr).split()); self.tr = None
    def handle_data(self, d):
        if self.tr is not None: self.tr.append(d)

p = P(); p.feed(open(dom, encoding="utf-8").read())
figs = [l.split("\t")[1] for l in open(os.path.join(out, "figures/index.txt")) if l.strip()]
assert len(figs) >= 5, figs
imgs = [i for i in p.imgs if "figure" in i.get("class", "")]
# the page's own check ran in the browser: every figure decoded
assert p.body.get("data-figures") == str(len(figs)), (p.body, len(figs))
assert p.body.get("data-figures-rendered") == str(len(figs)), p.body
assert len(imgs) == len(figs) and all(i.get("data-rendered") == "1" for i in imgs), imgs
# Table 1 rendered: header + the three contestants (absent shown as skipped)
body = [r for r in p.rows[1:]]
names = [r[1] for r in body]
assert names[:3] == ["mnist", "mnist", "mnist"] or [r[0] for r in body] == ["mnist"] * 3, body
text = " ".join(" ".join(r) for r in body)
for want in ["fast", "broken", "absent", "1/2", "2/2", "skipped", "install with: apt-get install fakefw"]:
    assert want in text, (want, text)

# the screenshot: a PNG of the requested width, not a blank page
png = open(shot, "rb").read()
assert png[:8] == b"\x89PNG\r\n\x1a\n"
w, h, depth, ctype = struct.unpack(">IIBB", png[16:26])
assert w == 1280 and h >= 1000, (w, h)
data, i = b"", 8
while i < len(png):
    n, typ = struct.unpack(">I4s", png[i:i + 8])
    if typ == b"IDAT": data += png[i + 8:i + 8 + n]
    i += 12 + n
raw = zlib.decompress(data)
bpp = {2: 3, 6: 4}[ctype]
assert depth == 8, depth
stride = w * bpp
prev = bytearray(stride)
colours, dark, seen = set(), 0, 0
for y in range(h):  # undo the PNG row filters
    f = raw[y * (stride + 1)]
    cur = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for x in range(stride):
        a_ = cur[x - bpp] if x >= bpp else 0
        b_ = prev[x]
        c_ = prev[x - bpp] if x >= bpp else 0
        if f == 1: cur[x] = (cur[x] + a_) & 255
        elif f == 2: cur[x] = (cur[x] + b_) & 255
        elif f == 3: cur[x] = (cur[x] + (a_ + b_) // 2) & 255
        elif f == 4:
            pp = a_ + b_ - c_; pa, pb, pc = abs(pp - a_), abs(pp - b_), abs(pp - c_)
            cur[x] = (cur[x] + (a_ if pa <= pb and pa <= pc else b_ if pb <= pc else c_)) & 255
    if y % 9 == 0:
        for x in range(0, stride - bpp + 1, bpp * 7):
            px = bytes(cur[x:x + 3]); colours.add(px); seen += 1
            dark += sum(px) < 600
    prev = cur
# a page with text, a table and figures: many colours, a fair share of non-white pixels
assert len(colours) > 50 and dark > seen * 0.03, (len(colours), dark, seen)
print("figures rendered: %d of %d; table rows: %d; screenshot %dx%d, %d colours, %.0f%% non-white"
      % (len(imgs), len(figs), len(body), w, h, len(colours), 100.0 * dark / seen))
PY
finish
