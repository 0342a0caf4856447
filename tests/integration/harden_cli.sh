#!/usr/bin/env bash
# Issue 15 through the CLI: special files never hang or get replaced (F6, F10),
# lost events fail the run (F14), a model file that claims more than it holds
# is refused at once (F4), a temp file of a killed save is cleaned up (F15).
source "$(dirname "$0")/data_common.bash"
DATA=${NNLAB_SHARED_DATA:?}
if [ ! -f "$DATA/mnist/train-images-idx3-ubyte" ] && [ ! -f "$DATA/mnist/train-images-idx3-ubyte.gz" ]; then
    echo "SKIP: no MNIST in $DATA"
    finish
    exit 0
fi
T=(train mnist --data "$DATA" --offline --epochs 1 --limit 256 --threads 2 --quiet)

# F10: --save onto a FIFO (and a link to one) is refused, the FIFO stays
mkfifo "$TMP/out.fifo"
ln -s "$TMP/out.fifo" "$TMP/link.nnlab"
run 1 timeout 120 "$NNLAB" "${T[@]}" --save "$TMP/out.fifo"
check "F10 FIFO: refused" err_has "is a FIFO; a model is saved only as a regular file"
check "F10 FIFO: still a FIFO" test -p "$TMP/out.fifo"
run 1 timeout 120 "$NNLAB" "${T[@]}" --save "$TMP/link.nnlab"
check "F10 link to a FIFO: still a link to a FIFO" test -L "$TMP/link.nnlab" -a -p "$TMP/out.fifo"
check "F10: no temp file left" test -z "$(ls "$TMP" | grep '\.tmp\.')"

# F15: a temp file of a save that was killed (its process is gone) is removed
# by the next save to the same target; a live process's temp file is not
sh -c 'exit 0' &
dead=$!
wait "$dead"
: >"$TMP/m.nnlab.tmp.$dead.Xy12Ab"
: >"$TMP/m.nnlab.tmp.$$.Xy12Ab"
run 0 timeout 120 "$NNLAB" "${T[@]}" --save "$TMP/m.nnlab"
check "F15: the dead save's temp file is gone" test ! -e "$TMP/m.nnlab.tmp.$dead.Xy12Ab"
check "F15: a live one stays" test -e "$TMP/m.nnlab.tmp.$$.Xy12Ab"
check "F15: saved" test -s "$TMP/m.nnlab"

# F14: every event lost on /dev/full: exit 1 and the reason
run 1 timeout 120 "$NNLAB" "${T[@]}" --events /dev/full
check "F14: events lost reported" err_has "/dev/full: writing the events failed"
check "F14: the count" grep -q "[0-9]* events lost" "$TMP/err"

# F6: a FIFO without a reader as events file, and as model file: no hang
mkfifo "$TMP/ev.fifo" "$TMP/model.fifo"
run 1 timeout 20 "$NNLAB" "${T[@]}" --events "$TMP/ev.fifo"
check "F6 events FIFO: refused at once" err_has "a FIFO with no reader"
run 1 timeout 20 "$NNLAB" eval --model "$TMP/model.fifo" --data "$DATA"
check "F6 eval FIFO: refused at once" err_has "is a FIFO, not a regular file"
# a FIFO with a reader is fine: the events arrive there
cat "$TMP/ev.fifo" >"$TMP/ev.got" &
reader=$!
sleep 0.2
run 0 timeout 120 "$NNLAB" "${T[@]}" --events "$TMP/ev.fifo"
wait "$reader"
check "F6 events FIFO with a reader: events arrive" grep -q '"key": "run_stop"' "$TMP/ev.got"

# F4: input 8192x8192x1 -> flatten -> dense 10 claimed in 269 bytes (format version 2)
python3 - "$TMP/m.nnlab" "$TMP/claims.nnlab" <<'PY'
import struct, sys, zlib
version = open(sys.argv[1], "rb").read()[8:12]  # the format version of this nnlab
assert struct.unpack("<I", version)[0] == 2, "this file writes format version 2"
b = bytearray(b"NNLABMDL" + version + struct.pack("<I", 244))
b += struct.pack("<iiiI", 8192, 8192, 1, 2)
b += struct.pack("<6i4f", 4, 0, 0, 0, 0, 0, 0, 0, 0, 0)   # flatten
b += struct.pack("<6i4f", 1, 10, 2, 0, 0, 0, 0, 0, 0, 0)  # dense 10, softmax
b += struct.pack("<I", 0)                                 # no workload name
b += struct.pack("<I", 0)                                 # loss: crossentropy
b += struct.pack("<QQ", 8192 * 8192 * 10 + 10, 0)         # the parameters it needs
b += struct.pack("<I6fQI", 0, 0, 0, 0, 0, 0, 0, 0, 0)     # no optimizer
b += bytes(84)                                            # no training state
b += bytes(5)
b += struct.pack("<I", zlib.crc32(bytes(b)))
open(sys.argv[2], "wb").write(bytes(b))
PY
check "F4: the file is 269 bytes" test "$(size_of "$TMP/claims.nnlab")" = 269
start=$(date +%s)
run 1 timeout 60 "$NNLAB" eval --model "$TMP/claims.nnlab" --data "$DATA"
check "F4: refused for its size" err_has "bytes of tensors follow offset"
check "F4: quick" test $(($(date +%s) - start)) -lt 10
finish
