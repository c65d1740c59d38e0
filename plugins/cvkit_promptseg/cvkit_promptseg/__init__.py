"""cvkit promptable-segmentation plugin. This module stays light: cvkit imports it to list tasks."""

from cvkit.plugin import TaskSpec

spec = TaskSpec(
    name="promptseg",
    summary="Promptable segmentation: points and boxes as prompts; official Segment Anything checkpoints and a "
            "small SAM-style model trained from scratch; mIoU at 1 and k simulated clicks",
    implementation="cvkit_promptseg.task:PromptSegTask",
    scoring="cvkit_promptseg.scoring:PromptSegScoring",
    models=("sam-tiny", "sam_vit_b", "sam_vit_l", "sam_vit_h"),
    dataset_formats=("coco", "voc"),
    builtin_datasets=("shapes",),
    default_data="builtin:shapes",
)
