#!/usr/bin/env bash
# A fake contestant for the bench tests (not a test itself: ctest runs *.sh).
# bench_fake_contestant.bash MODE EVENTS SEED EPOCHS
#   fast, broken: log the events of a training that burns CPU for 0.25 s an epoch;
#                 broken fails (exit 1) when SEED is 2
#   absent:       exit 3 with an install hint (framework not installed)
#   plain:        sleep 0.3 s, log nothing
#   blink:        a whole run in a few ms, over before the monitor's first sample
#                 (0.1 s): reports its own peak RSS
mode=$1 events=$2 seed=$3 epochs=$4
ms() { date +%s%3N; }
ev() { printf ':::MLLOG {"namespace": "", "time_ms": %s, "event_type": "%s", "key": "%s", "value": %s, "metadata": %s}\n' "$(ms)" "$1" "$2" "$3" "$4" >> "$events"; }
case $mode in
  absent) echo "skipped: FakeFW is not installed; install with: apt-get install fakefw" >&2; exit 3 ;;
  plain) sleep 0.3; exit 0 ;;
  blink)
    ev INTERVAL_START run_start null '{}'
    ev INTERVAL_START epoch_start null '{"epoch_num": 1}'
    ev INTERVAL_END epoch_stop null '{"epoch_num": 1, "samples": 10}'
    ev POINT_IN_TIME eval_accuracy 0.5 '{"epoch_num": 1}'
    ev INTERVAL_END run_stop null '{"status": "success"}'
    echo '{"framework": "fake", "framework_version": "1.0-blink", "peak_rss_mib": 12.5, "test_accuracy": [0.5]}'
    exit 0 ;;
esac
ev INTERVAL_START init_start null '{}'
sleep 0.1
ev INTERVAL_START run_start null '{}'
ev POINT_IN_TIME data_loaded null '{}'
for e in $(seq 1 "$epochs"); do
  ev INTERVAL_START epoch_start null "{\"epoch_num\": $e}"
  end=$(( $(ms) + 250 )); while [ "$(ms)" -lt $end ]; do :; done
  ev INTERVAL_END epoch_stop null "{\"epoch_num\": $e, \"samples\": 100}"
  ev POINT_IN_TIME eval_accuracy "0.$((80 + e))" "{\"epoch_num\": $e}"
done
if [ "$mode" = broken ] && [ "$seed" = 2 ]; then
  echo "fake crash on purpose" >&2
  ev INTERVAL_END run_stop null '{"status": "aborted"}'
  exit 1
fi
ev INTERVAL_END run_stop null '{"status": "success"}'
echo "{\"framework\": \"fake\", \"framework_version\": \"1.0-$mode\", \"samples_per_second\": 400, \"test_accuracy\": [0.81, 0.82]}"
