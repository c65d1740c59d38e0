"""cvkit object-detection plugin. This module stays light: cvkit imports it to list tasks."""

from cvkit.plugin import TaskSpec

spec = TaskSpec(
    name="detect",
    summary="Object detection: CenterNet, YOLO grid, Faster R-CNN, RetinaNet, FCOS, SSDlite, HOG+SVM; VOC and COCO mAP",
    implementation="cvkit_detect.task:DetectTask",
    scoring="cvkit_detect.scoring:DetectScoring",
    models=(
        "centernet",
        "yolo-grid",
        "fasterrcnn_mobilenet_v3_large_fpn",
        "fasterrcnn_resnet50_fpn",
        "retinanet_resnet50_fpn",
        "fcos_resnet50_fpn",
        "ssdlite320_mobilenet_v3_large",
        "hog-svm",
        "hog-people",
    ),
    dataset_formats=("voc", "coco"),
    builtin_datasets=("shapes",),
    default_data="builtin:shapes",
    metrics=("coco", "voc07", "voc", "voc07-strict", "voc-strict"),
)
