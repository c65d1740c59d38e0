"""cvkit multi-label classification plugin. This module stays light: cvkit imports it to list tasks."""

from cvkit.plugin import TaskSpec

spec = TaskSpec(
    name="multilabel",
    summary="Multi-label image classification: several labels per image, sigmoid scores, VOC devkit mAP",
    implementation="cvkit_multilabel.task:MultiLabelTask",
    scoring="cvkit_multilabel.scoring:MultiLabelScoring",
    models=("small-cnn",),
    dataset_formats=("voc", "coco", "csv"),
    builtin_datasets=("shapes",),
    default_data="builtin:shapes",
    metrics=("voc07", "voc"),
    extra_models="every torchvision classification model by name (resnet18, mobilenet_v3_small, ...)",
    torchvision_models="classification",
)
