"""cvkit dense-regression plugin (depth and surface normals). This module stays light: cvkit imports it to list
tasks."""

from cvkit.plugin import TaskSpec

spec = TaskSpec(
    name="dense",
    summary="Dense regression: per-pixel depth and surface normals (U-Net, FCN, encoder-decoder, DeepLab-style); "
            "AbsRel, RMSE, delta<1.25, angular error",
    implementation="cvkit_dense.task:DenseTask",
    scoring="cvkit_dense.scoring:DenseScoring",
    models=("unet", "fcn", "encoder-decoder", "deeplab", "mean-map"),
    dataset_formats=("depthfolder", "kitti", "nyu"),
    builtin_datasets=("rooms",),
    default_data="builtin:rooms",
    metrics=("per-image", "pooled"),
)
