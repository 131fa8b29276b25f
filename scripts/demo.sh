#!/usr/bin/env bash
# README command 1: create the environment, make the synthetic dataset, train the demo and watch it.
#   bash scripts/demo.sh             # opens epam-tui on the demo run (needs a terminal)
#   bash scripts/demo.sh --headless  # no TUI: prints progress, then the checklist verdict
set -euo pipefail
cd "$(dirname "$0")/.."
headless=0
for arg in "$@"; do
  case "$arg" in
    --headless) headless=1 ;;
    -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
    *) echo "demo: unknown option $arg (use --headless)" >&2; exit 2 ;;
  esac
done
[ -t 1 ] || headless=1

bash scripts/setup_env.sh
export PATH="$PWD/.venv/bin:$PATH"
CONFIG=configs/epam_synthetic_demo.yaml

if [ ! -f data/synthetic_demo/synthetic_2d.pkl ]; then
  echo "demo: making the synthetic NTU60-format dataset"
  epam make-synthetic --config "$CONFIG"
fi

name="demo-$(date +%Y%m%d-%H%M%S)"
if [ "$headless" = 1 ]; then
  rc=0
  epam-tui launch "$CONFIG" --headless --yes --name "$name" || rc=$?
  echo
  epam-tui checklist "work_dirs/$name" || true
  exit $rc
fi
# The run is detached from this terminal: quitting the TUI (q) leaves it training; `epam-tui` finds it again.
epam-tui launch "$CONFIG" --headless --yes --name "$name" > /dev/null 2>&1 &
for _ in $(seq 1 50); do [ -f "work_dirs/$name/run.json" ] && break; sleep 0.1; done
exec epam-tui monitor work_dirs
