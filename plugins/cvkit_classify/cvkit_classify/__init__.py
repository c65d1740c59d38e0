"""cvkit image-classification plugin. This module stays light: cvkit imports it to list tasks."""

from cvkit.plugin import TaskSpec

spec = TaskSpec(
    name="classify",
    summary="Image classification: k-NN and linear classifiers through CNNs and ViTs",
    implementation="cvkit_classify.task:ClassifyTask",
    scoring="cvkit_classify.scoring:ClassifyScoring",
    models=("knn", "softmax", "svm", "mlp", "sample-cnn", "sample-cnn-gap", "sift-bow", "vit-tiny"),
    dataset_formats=("imagenet", "imagefolder"),
    builtin_datasets=("digits",),
    default_data="builtin:digits",
    runtime="cvkit_classify.runtime",
    extra_models="every torchvision classification model by name (resnet18, vit_b_16, ...)",
    torchvision_models="classification",
)
