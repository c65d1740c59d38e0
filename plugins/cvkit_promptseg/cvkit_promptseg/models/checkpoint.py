"""An official Segment Anything file presented to the core as a checkpoint of the promptseg task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvkit.task import DatasetInfo, ModelConfig
from cvkit_promptseg.models.official import SAM_IMG_SIZE, SAM_MEAN, SAM_STD, detect_variant, read_state_dict


def official_checkpoint(path: Path, task: str) -> Any:
    """``cvkit.checkpoint.Checkpoint`` of model ``sam_vit_b|l|h`` (1024 px, SAM's normalisation) holding the
    file's state dict; None when ``path`` is not an official SAM state dict."""
    from cvkit.checkpoint import Checkpoint

    state = read_state_dict(Path(path))
    if state is None:
        return None
    kind = detect_variant(state)
    info = DatasetInfo(name="SA-1B", format="sam", spec="", split="", classes=["object"],
                       extra={"official": True, "variant": kind})
    model = ModelConfig(f"sam_{kind}", SAM_IMG_SIZE, {}, SAM_MEAN, SAM_STD)
    return Checkpoint(task=task, model=model, info=info, state_dict=state, config={"official": True},
                      path=Path(path))
