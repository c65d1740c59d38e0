"""Dataset formats and the embedded scenes of the VQA task.

A sample is one question. ``RawSplit.sources[i]`` is ``"<image path>#<question_id>"`` (a question's identity:
several questions share an image); ``targets[i]`` is ``{"question_id", "image_id", "image", "question",
"answers" (the 10 answer entries as written), "question_type", "answer_type"}``. ``info.extra`` holds
``word_counts`` (question words), ``answer_counts`` (the 3,000 most frequent normalised answers) and, for
``eval --predictions``, ``questions_file`` and ``images`` (to map question ids back to samples).
"""

from __future__ import annotations

from cvkit.contract import BuiltinDataset, DatasetFormat

from .scenes import ScenesBuiltin
from .vqa2 import Vqa2Format, sample_source

FORMATS: dict[str, DatasetFormat] = {"vqa2": Vqa2Format()}
BUILTINS: dict[str, BuiltinDataset] = {"scenes": ScenesBuiltin()}

__all__ = ["BUILTINS", "FORMATS", "sample_source"]
