"""cvkit instance-segmentation plugin. This module stays light: cvkit imports it to list tasks."""

from cvkit.plugin import TaskSpec

spec = TaskSpec(
    name="instance",
    summary="Instance segmentation: Mask R-CNN (small from-scratch and torchvision ResNet-50 FPN); COCO segm/bbox AP",
    implementation="cvkit_instance.task:InstanceTask",
    scoring="cvkit_instance.scoring:InstanceScoring",
    models=("maskrcnn-small", "maskrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn_v2"),
    dataset_formats=("coco", "voc"),
    metrics=("coco", "segm", "bbox"),
    builtin_datasets=("shapes",),
    default_data="builtin:shapes",
)
