"""cvkit image-captioning plugin. This module stays light: cvkit imports it to list tasks."""

from cvkit.plugin import TaskSpec

spec = TaskSpec(
    name="caption",
    summary="Image captioning: Show and Tell, soft attention, Transformer decoder; BLEU, ROUGE-L, CIDEr-D",
    implementation="cvkit_caption.task:CaptionTask",
    scoring="cvkit_caption.scoring:CaptionScoring",
    models=("attention-lstm", "show-tell", "transformer", "nn-pixels", "nn-cnn"),
    dataset_formats=("coco", "karpathy"),
    builtin_datasets=("scenes",),
    default_data="builtin:scenes",
)
