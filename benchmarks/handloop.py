"""A minimal hand-written PyTorch training loop: the baseline ``cvkit train`` is measured against.

    python benchmarks/handloop.py DATA_ROOT MODEL IMG_SIZE EPOCHS BATCH_SIZE OUT.pt [foreach]

It trains the same torchvision/cvkit classify model on the same ImageFolder files with the same preprocessing
(resize, normalise; no augmentation), AdamW with cosine decay, one validation pass per epoch, and one checkpoint
save at the end: what a person writes by hand, without cvkit's per-sample seeding, resumable sampling, logging,
run folder and checkpoints per epoch. With ``foreach`` it builds AdamW as cvkit does (PyTorch's multi-tensor
implementation, the same updates to the bit; without it PyTorch picks its one-tensor-at-a-time loop on CPU), so
that the comparison measures the engine alone.
"""

from __future__ import annotations

import sys
import time

import torch
from torch.utils.data import DataLoader
from torchvision import datasets
from torchvision.transforms import v2


def main() -> None:
    root, model_name, img_size, epochs, batch_size, out = sys.argv[1:7]
    foreach = sys.argv[7:8] == ["foreach"]
    img_size, epochs, batch_size = int(img_size), int(epochs), int(batch_size)
    torch.manual_seed(0)
    tf = v2.Compose([v2.PILToTensor(), v2.Resize((img_size, img_size), antialias=True),
                     v2.ToDtype(torch.float32, scale=True),
                     v2.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
    train = datasets.ImageFolder(f"{root}/train", tf)
    val = datasets.ImageFolder(f"{root}/val", tf)
    from cvkit.plugin import get_task
    from cvkit.task import DatasetInfo, ModelConfig

    task = get_task("classify")  # the same model builder cvkit uses
    model = task.build_model(ModelConfig(model_name, img_size), DatasetInfo("d", "imagefolder", root, "train",
                                                                            train.classes))
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4, foreach=True if foreach else None)
    loader = DataLoader(train, batch_size=batch_size, shuffle=True)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * len(loader))
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for x, y in loader:
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in DataLoader(val, batch_size=batch_size):
                correct += int((model(x).argmax(1) == y).sum())
        print(f"val top1 {correct / len(val):.4f}", file=sys.stderr)
    torch.save(model.state_dict(), out)
    took = time.perf_counter() - start
    print(f"{took:.3f}")
    print(f"loop seconds {took:.3f}", file=sys.stderr)  # what cvkit's summary.json calls "seconds"


if __name__ == "__main__":
    main()
