#!/usr/bin/env bash
# Runs each unit-test binary (one per tests/unit/test_*.c), then prints one
# closing line with the totals so CI can read the result of the whole suite.
set -u
pass=0; fail=0; bad=""
for t in "$@"; do
  out=$("$t" 2>&1); rc=$?
  echo "$out"
  p=$(echo "$out" | sed -n 's/.*\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
  f=$(echo "$out" | sed -n 's/.*\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
  pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0}))
  if [ $rc -ne 0 ]; then bad="$bad $(basename "$t")"; [ -z "$f" ] && fail=$((fail + 1)); fi
done
echo "unit: $pass passed, $fail failed"
[ -z "$bad" ] || { echo "failing:$bad"; exit 1; }
