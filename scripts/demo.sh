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

if [ "$headless" = 1 ]; then
  epam-tui launch "$CONFIG" --gpus auto --headless --name demo
  rc=$?
  run=$(ls -1dt work_dirs/demo* 2>/dev/null | head -n 1)
  [ -n "$run" ] && epam-tui checklist "$run" || true
  exit $rc
fi
exec epam-tui launch "$CONFIG" --gpus auto --name demo --go
