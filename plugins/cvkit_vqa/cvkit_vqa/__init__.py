"""cvkit visual-question-answering plugin. This module stays light: cvkit imports it to list tasks."""

from cvkit.plugin import TaskSpec

spec = TaskSpec(
    name="vqa",
    summary="Visual question answering: iBOWIMG, CNN+LSTM fusion, question-guided attention; official VQA accuracy",
    implementation="cvkit_vqa.task:VqaTask",
    scoring="cvkit_vqa.scoring:VqaScoring",
    models=("attention", "lstm-fusion", "ibowimg"),
    dataset_formats=("vqa2",),
    builtin_datasets=("scenes",),
    default_data="builtin:scenes",
    metrics=("official", "official-2017"),
)
