"""cvkit human-pose plugin. This module stays light: cvkit imports it to list tasks."""

from cvkit.plugin import TaskSpec

spec = TaskSpec(
    name="pose",
    summary="Human pose: top-down heatmap networks (SimpleBaseline, stacked hourglass), Keypoint R-CNN; "
    "MPII PCKh and COCO keypoint AP",
    implementation="cvkit_pose.task:PoseTask",
    scoring="cvkit_pose.scoring:PoseScoring",
    models=("simple-baseline", "hourglass", "keypoint-rcnn"),
    dataset_formats=("mpii", "coco"),
    builtin_datasets=("stickmen",),
    default_data="builtin:stickmen",
    metrics=("pckh", "pckh-strict", "oks"),
)
