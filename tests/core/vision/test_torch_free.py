"""Reading annotations and scoring predictions never imports torch: the readers and evaluators stay light."""

from __future__ import annotations

import subprocess
import sys

MODULES = ("schema", "coco", "cocoparse", "voc", "vocxml", "masks", "results", "evaluate", "shapes", "digits")


def test_vision_layer_imports_no_torch():
    code = (
        "import sys\n"
        + "".join(f"import cvkit.vision.{m}\n" for m in MODULES)
        + "import cvkit.metrics.cocoeval\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"
