"""Peak memory of one promptseg training step (``sam-tiny``, three decoder rounds, as ``cvkit train`` runs them)
by input size, batch size and focus window, each in its own process (on CPU: the peak resident set size).

    python benchmarks/promptseg_memory.py [--sizes 128 256 512] [--batch 16] [--focus 48 0] [--objects 6]

Every image gets ``--objects`` disc masks (the training samples at most 6 objects per image), so a step decodes
``batch * objects`` prompts. Memory grows with the input's area times the prompts per step.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def step(size: int, focus: int, batch: int, objects: int) -> dict[str, float]:
    """One training step (forward and backward of three rounds) in this process; its peak memory and time."""
    import numpy as np
    import torch

    from cvkit_promptseg.interactive import train_rounds
    from cvkit_promptseg.models.tiny import build_tiny

    torch.set_num_threads(1)
    model = build_tiny(size, {"focus": focus})
    gen = torch.Generator().manual_seed(0)
    images = torch.randn(batch, 3, size, size, generator=gen)
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    targets = []
    for _ in range(batch):
        centres = torch.randint(size // 8, size - size // 8, (objects, 2), generator=gen)
        discs = [(xx - x) ** 2 + (yy - y) ** 2 < (size // 10) ** 2 for x, y in centres.tolist()]
        targets.append({"masks": torch.stack(discs)})
    metas = [{"input_size": (size, size)}] * batch
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    train_rounds(model, images, targets, metas, np.random.default_rng(0), 3)["loss"].backward()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"size": size, "focus": focus, "batch": batch, "prompts": batch * objects, "peak_mb": round(peak),
            "before_step_mb": round(before), "seconds": round(seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--focus", type=int, nargs="+", default=[48, 0])
    parser.add_argument("--objects", type=int, default=6)
    parser.add_argument("--one", type=int, nargs=2, metavar=("SIZE", "FOCUS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(step(args.one[0], args.one[1], args.batch, args.objects)))
        return
    print("size  focus  batch  prompts  peak MB  (before the step)  seconds")
    for size in args.sizes:
        for focus in args.focus:
            out = subprocess.run([sys.executable, __file__, "--one", str(size), str(focus), "--batch",
                                  str(args.batch), "--objects", str(args.objects)],
                                 capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{r['size']:4d}  {r['focus']:5d}  {r['batch']:5d}  {r['prompts']:7d}  {r['peak_mb']:7d}  "
                  f"({r['before_step_mb']})  {r['seconds']:7.1f}")


if __name__ == "__main__":
    main()
