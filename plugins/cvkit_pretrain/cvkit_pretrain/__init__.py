"""cvkit self-supervised pretraining plugin. This module stays light: cvkit imports it to list tasks."""

from cvkit.plugin import TaskSpec

spec = TaskSpec(
    name="pretrain",
    summary="Self-supervised pretraining (patch position, colourisation, rotation, SimCLR, autoencoder); "
            "linear-probe and k-NN evaluation",
    implementation="cvkit_pretrain.task:PretrainTask",
    models=("relpos", "colorize", "rotation", "simclr", "autoencoder", "supervised"),
    dataset_formats=("imagefolder", "coco"),
    builtin_datasets=("digits", "shapes"),
    default_data="builtin:digits",
    extra_models="the encoder is any torchvision ResNet (--model-arg encoder=resnet18, the default)",
)
