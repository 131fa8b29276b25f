"""`epam verify CONFIG`: the interface check (builds EPAM-Net, counts, one forward + backward).

Exit 0 with a one-screen summary, 1 naming the first failing check, 2 for a bad config. The checks
themselves are ``epam.model.verify.run_verify``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from epam.model.verify import REFERENCE_GMACS, VerifyResult, run_verify


def print_result(result: VerifyResult, config: str) -> None:
    p = result.params
    print(f"epam verify {config}")
    if p:
        print(f"  parameters  RGB {p['rgb_stream']:>10,}  (backbone {p['rgb_backbone']:,} + head {p['rgb_cls_head']:,})")
        print(f"              pose {p['pose_stream']:>9,}  (backbone {p['pose_backbone']:,} + head {p['pose_cls_head']:,})")
        print(f"              attention {p['attention_module']:>4,}")
        print(f"              total {p['total']:>9,}")
    if result.gmacs:
        g = result.gmacs
        print(f"  GMACs/clip  RGB {g['rgb']:.2f} + pose {g['pose']:.2f} (+ attention {g['attention']:.4f}) = {g['total']:.2f}"
              f"   [reference at full size: {REFERENCE_GMACS['rgb']} + {REFERENCE_GMACS['pose']} = {REFERENCE_GMACS['total']}]")
    print(f"  input       {result.input_source}")
    for name, ok, message in result.checks:
        print(f"  [{'ok' if ok else 'FAIL'}] {name:<17} {message}")
    print(f"  {'PASSED' if result.ok else 'FAILED: ' + str(result.failed_check)} in {result.seconds:.1f} s")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="epam verify", description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--set", dest="overrides", nargs="+", default=[], metavar="KEY=VALUE")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--no-macs", action="store_true", help="skip counting multiply-adds")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)

    from epam.config import ConfigError, load_config

    try:
        cfg = load_config(args.config, args.overrides)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        print("epam verify: --device cuda but no CUDA device is visible (use --device cpu)", file=sys.stderr)
        return 2
    result = run_verify(cfg, batch=args.batch, device=args.device, macs=not args.no_macs)
    if args.json:
        print(json.dumps(asdict(result)))
    else:
        print_result(result, args.config)
    return 0 if result.ok else 1
