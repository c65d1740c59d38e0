"""cvkit video-classification plugin. This module stays light: cvkit imports it to list tasks."""

from cvkit.plugin import TaskSpec

spec = TaskSpec(
    name="video",
    summary="Video classification: single-frame to slow fusion, CNN+LSTM, 3D CNNs and two-stream optical flow",
    implementation="cvkit_video.task:VideoTask",
    scoring="cvkit_video.scoring:VideoScoring",
    models=("single", "early", "late", "slow", "lrcn", "c3d", "flow", "two-stream", "i3d", "slowfast",
            "r3d_18", "mc3_18", "r2plus1d_18", "s3d", "mvit_v2_s"),
    dataset_formats=("sports1m", "videolist"),
    builtin_datasets=("motion",),
    default_data="builtin:motion",
)
