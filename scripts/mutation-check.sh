#!/usr/bin/env bash
# The mutation check (README, "The simulator"): plants each known Raft safety bug of
# scripts/mutants/mutants.toml in a scratch copy of src/, runs tests/core and the simulator at
# its CI budget (300 seeds x 2,000 steps, --jobs 2) against that copy, and prints the kill
# matrix. Run it whenever the core or the simulator changes. Exit 0 only if every mutant is
# killed by both; 1 if one survives (or a run failed); 2 if a mutant no longer applies.
#
#   scripts/mutation-check.sh                       # every mutant, CI budget
#   scripts/mutation-check.sh --mutant read-no-round --seeds 100
#   scripts/mutation-check.sh --list
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 scripts/mutation_check.py "$@"
