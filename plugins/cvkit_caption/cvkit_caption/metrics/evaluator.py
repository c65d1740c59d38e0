"""The caption evaluator: one hypothesis per image against its references, scored over the whole split.

Text is tokenised with :func:`cvkit.text.tokenize` (the coco-caption PTB rules, in Python) before scoring.
Metrics: ``BLEU-1``..``BLEU-4``, ``ROUGE-L``, ``CIDEr-D`` (equal to pycocoevalcap's Bleu, Rouge and Cider on the
same tokens), ``exact_match`` (the hypothesis equals one of the references) and, on the embedded scenes,
``slot_color``, ``slot_shape`` and ``slot_relation``: the colour (shape, relation) words of the hypothesis, in
order, are those of one of the references. METEOR and SPICE need Java and are not computed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from cvkit.contract import DatasetInfo, Evaluator
from cvkit.text import normalize, tokenize
from cvkit.vision.scenes import slots
from cvkit_caption.metrics.scores import caption_scores


class CaptionEvaluator(Evaluator):
    primary = "CIDEr-D"

    def __init__(self, info: DatasetInfo) -> None:
        self.scenes = bool(info.extra.get("scenes"))
        self.rows: dict[int, tuple[str, list[str]]] = {}

    def update(self, indices: Sequence[int], predictions: Sequence[Any], targets: Sequence[Any]) -> None:
        for i, pred, refs in zip(indices, predictions, targets, strict=True):
            self.rows[int(i)] = (str(pred.get("caption", "")), list(refs))

    def state(self) -> Any:
        return self.rows

    def merge(self, states: Iterable[Any]) -> None:
        self.rows = {}
        for s in states:
            self.rows.update(s)

    def compute(self) -> dict[str, float]:
        keys = sorted(self.rows)
        hyps = {k: normalize(self.rows[k][0]) for k in keys}
        refs = {k: [normalize(r) for r in self.rows[k][1]] for k in keys}
        out = caption_scores(refs, hyps)
        n = max(1, len(keys))
        out["exact_match"] = sum(hyps[k] in refs[k] for k in keys) / n
        if self.scenes:
            for slot in ("color", "shape", "relation"):
                hits = 0
                for k in keys:
                    mine = slots(tokenize(hyps[k]))[slot]
                    hits += any(slots(tokenize(r))[slot] == mine for r in refs[k])
                out[f"slot_{slot}"] = hits / n
        return out

    def details(self) -> dict[str, Any]:
        keys = sorted(self.rows)[:20]
        return {"examples": [{"index": k, "caption": self.rows[k][0], "references": self.rows[k][1]} for k in keys]}
