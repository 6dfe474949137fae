#!/usr/bin/env bash
# disparo benchmarks: `make bench` (or DISPARO_BIN=build/rel/disparo bench/run.sh [NAME...]).
#
# Runs each benchmark in turn; each one starts its own fresh server(s) on a free
# 127.0.0.1 port with a private temp data dir (--log-level warn) and stops them.
# Every benchmark has a hard time cap (coreutils `timeout`, caps sum to 1250 s);
# a normal run takes about 6 minutes on 2 cores. Prints one summary table at the end.
#
# NAMEs (default: all, in this order): fsync latency pacing throughput import import_xlsx reports
# Targets are informational: the exit status is 0 unless a benchmark could not run.
set -u

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$HERE")"
export DISPARO_BIN="${DISPARO_BIN:-$REPO/build/rel/disparo}"
PY="${PYTHON:-python3}"

if [ ! -x "$DISPARO_BIN" ]; then
    echo "bench: $DISPARO_BIN is not executable; run 'make build/rel/disparo' (or 'make bench')" >&2
    exit 2
fi

# name | script and arguments | hard cap in seconds
BENCHES=(
    "fsync|fsync_probe.py|20"
    "latency|bench_latency.py --campaigns 200 --runs 3|90"
    "pacing|bench_pacing.py --campaigns 1000 --contacts 70 --window 60|180"
    "throughput|bench_throughput.py --messages 1000000 --cap 90|240"
    "import|bench_import.py --contacts 1000000 --runs 3|120"
    "import_xlsx|bench_import.py --format xlsx --contacts 1000000 --runs 3|180"
    "reports|bench_reports.py --messages 1000000 --runs 3|420"
)

want=("$@")
selected() {
    [ ${#want[@]} -eq 0 ] && return 0
    local w
    for w in "${want[@]}"; do [ "$w" = "$1" ] && return 0; done
    return 1
}

RESULTS="$(mktemp -t disparo-bench-results.XXXXXX)"
trap 'rm -f "$RESULTS"' EXIT
failed_to_run=0
t_all=$SECONDS

echo "disparo bench: $("$DISPARO_BIN" version 2>/dev/null | head -1), $(nproc) cores," \
     "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews every number)"

for entry in "${BENCHES[@]}"; do
    IFS='|' read -r name cmd cap <<<"$entry"
    selected "$name" || continue
    echo "== $name: $cmd (cap ${cap} s)"
    t0=$SECONDS
    out="$(mktemp -t disparo-bench-out.XXXXXX)"
    # stdout (RESULT lines) to a file and the terminal; stderr (progress) to the terminal
    # shellcheck disable=SC2086
    ( cd "$HERE" && timeout -k 15 "$cap" "$PY" $cmd ) >"$out"
    rc=$?
    cat "$out"
    grep '^RESULT' "$out" >>"$RESULTS"
    if [ $rc -ne 0 ] || ! grep -q '^RESULT' "$out"; then
        why="exit status $rc"
        [ $rc -eq 124 ] && why="killed after the ${cap} s cap"
        printf 'RESULT\t%s\t-\t-\t-\tERROR\tcould not run: %s\n' "$name" "$why" >>"$RESULTS"
        failed_to_run=1
    fi
    rm -f "$out"
    echo "== $name: $((SECONDS - t0)) s"
done

echo
echo "Summary ($((SECONDS - t_all)) s; load average now $(cut -d' ' -f1-3 /proc/loadavg))"
awk -F'\t' '
    { n++; name[n]=$2; val[n]=$3 " " $4; tgt[n]=$5; ver[n]=$6; note[n]=$7
      if (length(name[n]) > w1) w1 = length(name[n]); if (length(val[n]) > w2) w2 = length(val[n]) }
    END {
      if (w1 < 9) w1 = 9; if (w2 < 8) w2 = 8
      printf "%-" w1 "s  %-" w2 "s  %-11s  %s\n", "benchmark", "measured", "target", "result"
      for (i = 1; i <= n; i++) {
        sep = ""; for (j = 0; j < w1 + w2 + 26; j++) sep = sep "-"
        if (i == 1) print sep
        printf "%-" w1 "s  %-" w2 "s  %-11s  %s\n", name[i], val[i], tgt[i], ver[i]
      }
    }' "$RESULTS"
echo
echo "Notes:"
awk -F'\t' '$7 != "" { printf "  %s: %s\n", $2, $7 }' "$RESULTS"

exit $failed_to_run
