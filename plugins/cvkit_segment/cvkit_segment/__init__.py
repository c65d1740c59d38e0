"""cvkit semantic-segmentation plugin. This module stays light: cvkit imports it to list tasks."""

from cvkit.plugin import TaskSpec

spec = TaskSpec(
    name="segment",
    summary="Semantic segmentation: FCN, encoder-decoder, U-Net, DeepLabV3, LR-ASPP, HRNet-style; mIoU",
    implementation="cvkit_segment.task:SegmentTask",
    scoring="cvkit_segment.scoring:SegmentScoring",
    models=(
        "unet",
        "fcn",
        "encoder-decoder",
        "hrnet-small",
        "fcn_resnet50",
        "fcn_resnet101",
        "deeplabv3_resnet50",
        "deeplabv3_resnet101",
        "deeplabv3_mobilenet_v3_large",
        "lraspp_mobilenet_v3_large",
    ),
    dataset_formats=("voc", "sbd", "coco", "coco-voc"),
    builtin_datasets=("shapes",),
    default_data="builtin:shapes",
)
