#!/usr/bin/env bash
# A contestant that does not play by the rules, for bench_hostile.sh (not a test
# itself: ctest runs *.sh). bench_hostile_contestant.bash MODE EVENTS DIR THREADS
#   good       a short, well-formed run; writes DIR/threads.good with {threads}
#   future     run_stop 30 years after run_start
#   past       run_start a day before its launch
#   backwards  run_stop 1 s before run_start
#   nostop     run_start only, exit 0
#   badlog     only malformed event lines, exit 0
#   badresult  no events, a result line that is no JSON, exit 0
#   sleeper    a child that sleeps (its PID in DIR/sleeper.pid), then sleeps itself
#   daemon     leaves 'setsid sleep 300' behind (its PID in DIR/daemon.pid), exit 0
#   daemon2    the same from a subshell that exits at once (a double fork)
mode=$1 events=$2 dir=$3 threads=$4
ms() { date +%s%3N; }
ev() { printf ':::MLLOG {"namespace": "", "time_ms": %s, "event_type": "%s", "key": "%s", "value": null, "metadata": %s}\n' "$1" "$2" "$3" "$4" >> "$events"; }
now=$(ms)
case $mode in
  good)
    echo "$threads" > "$dir/threads.good"
    ev "$now" INTERVAL_START run_start '{}'
    sleep 0.3
    ev "$(ms)" INTERVAL_END run_stop '{"status": "success"}'
    echo '{"framework": "hostile", "framework_version": "1.0"}' ;;
  future)
    ev "$now" INTERVAL_START run_start '{}'
    ev $((now + 946080000000)) INTERVAL_END run_stop '{"status": "success"}' ;;
  past)
    ev $((now - 86400000)) INTERVAL_START run_start '{}'
    sleep 0.2
    ev "$(ms)" INTERVAL_END run_stop '{"status": "success"}' ;;
  backwards)
    ev "$now" INTERVAL_START run_start '{}'
    ev $((now - 1000)) INTERVAL_END run_stop '{"status": "success"}' ;;
  nostop)
    ev "$now" INTERVAL_START run_start '{}'
    sleep 0.2 ;;
  badlog)
    echo ':::MLLOG {"time_ms": oops' >> "$events"
    echo ':::MLLOG not even braces' >> "$events"
    sleep 0.2 ;;
  badresult)
    sleep 0.2
    echo '{"framework": "hostile", "test_accuracy": [0.5' ;;
  sleeper)
    sleep 300 &
    echo $! > "$dir/sleeper.pid"
    exec sleep 300 ;;
  daemon)
    setsid sleep 300 &
    echo $! > "$dir/daemon.pid"
    sleep 0.5
    exit 0 ;;
  daemon2)
    (setsid sleep 300 & echo $! > "$dir/daemon2.pid")
    sleep 0.3
    exit 0 ;;
esac
exit 0
