#!/usr/bin/env bash
# Runs one registration of a cohort: the INDEX-th pair (0-based) of PAIRS, into OUT_ROOT/NAME.
#   run-pair.sh PAIRS INDEX OUT_ROOT [extra thb register options…]
# INDEX comes from the scheduler: $SLURM_ARRAY_TASK_ID (Slurm job array) or $JOB_COMPLETION_INDEX
# (Kubernetes indexed Job). Runs are independent and deterministic, so a task that fails can simply be
# rerun; a pair whose folder already holds a summary.json is skipped. thb register writes its folder all or
# nothing, so a killed task leaves no half-written result. THB names the command (default: thb);
# THB_REGISTER_OPTIONS adds options to every run (e.g. "--levels 4 --write-jacobian").
set -euo pipefail

if [[ $# -lt 3 ]]; then
  echo "usage: run-pair.sh PAIRS INDEX OUT_ROOT [thb register options…]" >&2
  exit 2
fi
pairs=$1
index=$2
out_root=$3
shift 3

if [[ ! -r $pairs ]]; then
  echo "run-pair.sh: $pairs: cannot read the pairs list" >&2
  exit 1
fi
if ! [[ $index =~ ^[0-9]+$ ]]; then
  echo "run-pair.sh: INDEX '$index' is not a non-negative integer" >&2
  exit 1
fi

# the INDEX-th line that is neither blank nor a comment
line=$(grep -v -E '^[[:space:]]*(#|$)' "$pairs" | sed -n "$((index + 1))p" || true)
if [[ -z $line ]]; then
  count=$(grep -c -v -E '^[[:space:]]*(#|$)' "$pairs" || true)
  echo "run-pair.sh: $pairs has $count pairs, no pair with index $index (0-based)" >&2
  exit 1
fi
read -r fixed moving name extra <<<"$line"
if [[ -z ${name:-} || -n ${extra:-} ]]; then
  echo "run-pair.sh: $pairs, pair $index: expected FIXED MOVING NAME, got: $line" >&2
  exit 1
fi

out=$out_root/$name
if [[ -f $out/summary.json ]]; then
  echo "run-pair.sh: pair $index ($name) already done: $out"
  exit 0
fi
mkdir -p "$out_root"
read -r -a thb <<<"${THB:-thb}"
read -r -a options <<<"${THB_REGISTER_OPTIONS:-}"
echo "run-pair.sh: pair $index: $moving onto $fixed -> $out"
exec "${thb[@]}" register "$fixed" "$moving" --out "$out" --quiet ${options[@]+"${options[@]}"} "$@"
