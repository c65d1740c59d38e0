"""VQA v2: ``v2_OpenEnded_mscoco_<split>2014_questions.json`` + ``v2_mscoco_<split>2014_annotations.json`` (in the
dataset folder, or its ``Questions/`` and ``Annotations/``) over COCO images ``COCO_<split>2014_<id:012d>.jpg``
in ``--images``, ``<split>2014/`` or ``images/<split>2014/``. Questions without annotations (the test splits)
cannot be scored and are refused."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from cvkit.contract import DatasetFormat, DatasetInfo, RawSplit
from cvkit.errors import BadInput
from cvkit.text import tokenize
from cvkit.vision.coco import read_json
from cvkit_vqa.accuracy import normalize_answer

MAX_ANSWERS_KEPT = 3000


def sample_source(image: str, question_id: Any) -> str:
    return f"{image}#{question_id}"


def _find(root: Path, sub: str, pattern: str) -> Path | None:
    for folder in (root, root / sub):
        found = sorted(folder.glob(pattern)) if folder.is_dir() else []
        if found:
            return found[0]
    return None


def question_files(root: Path, split: str) -> tuple[Path, Path]:
    q = _find(root, "Questions", f"*OpenEnded*_{split}*_questions.json") or _find(root, "Questions",
                                                                                  f"*_{split}*questions.json")
    if q is None:
        raise BadInput(root / f"v2_OpenEnded_mscoco_{split}2014_questions.json", f"no VQA questions for {split!r}")
    a = _find(root, "Annotations", f"*_{split}*_annotations.json")
    if a is None:
        raise BadInput(root / f"v2_mscoco_{split}2014_annotations.json",
                       f"no VQA annotations for {split!r} (test splits have none and cannot be scored)")
    return q, a


def image_folder(root: Path, split: str, subtype: str, images: str | None) -> Path:
    if images:
        return Path(images)
    for folder in (root / subtype, root / "images" / subtype, root / f"{split}2014", root / "images"):
        if folder.is_dir():
            return folder
    return root / subtype


def _list(doc: Any, key: str, f: Path) -> list[Any]:
    if not isinstance(doc, dict) or not isinstance(doc.get(key), list):
        raise BadInput(f, f"expected an object with a {key!r} list")
    return doc[key]


def read_questions(q_file: Path, root: Path, split: str, images: str | None
                   ) -> tuple[list[dict[str, Any]], Path, list[BadInput]]:
    """The questions of ``q_file`` with the path of their image; malformed entries come back as errors."""
    doc = read_json(q_file)
    subtype = str(doc.get("data_subtype") or f"{split}2014") if isinstance(doc, dict) else f"{split}2014"
    folder = image_folder(root, split, subtype, images)
    out, bad = [], []
    for j, q in enumerate(_list(doc, "questions", q_file)):
        if not (isinstance(q, dict) and isinstance(q.get("question"), str) and isinstance(q.get("image_id"), int)
                and isinstance(q.get("question_id"), (int, str))):
            bad.append(BadInput(q_file, "expected {image_id (int), question (str), question_id}",
                                where=f"questions[{j}]"))
            continue
        image = folder / f"COCO_{subtype}_{q['image_id']:012d}.jpg"
        out.append({**q, "image": str(image)})
    return out, folder, bad


def _answers_ok(a: Any) -> bool:
    return isinstance(a, list) and bool(a) and all(isinstance(x, dict) and isinstance(x.get("answer"), str)
                                                   for x in a)


class Vqa2Format(DatasetFormat):
    name = "vqa2"
    description = "VQA v2 questions + annotations JSON over COCO images"

    def detect(self, path: Path) -> bool:
        return path.is_dir() and (_find(path, "Questions", "*questions.json") is not None)

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        q_file, a_file = question_files(path, split)
        questions, folder, bad = read_questions(q_file, path, split, options.get("images"))
        anns: dict[Any, dict[str, Any]] = {}
        for j, a in enumerate(_list(read_json(a_file), "annotations", a_file)):
            if not (isinstance(a, dict) and "question_id" in a and _answers_ok(a.get("answers"))):
                bad.append(BadInput(a_file, "expected {question_id, answers: [{answer (str), ...}]}",
                                    where=f"annotations[{j}]"))
                continue
            anns[a["question_id"]] = a
        sources, targets = [], []
        for q in questions:
            a = anns.get(q["question_id"])
            if a is None:
                bad.append(BadInput(a_file, "no annotation for this question", where=f"question_id {q['question_id']}"))
                continue
            sources.append(sample_source(q["image"], q["question_id"]))
            targets.append({"question_id": q["question_id"], "image_id": q["image_id"], "image": q["image"],
                            "question": q["question"], "answers": a["answers"],
                            "question_type": str(a.get("question_type", "unknown")),
                            "answer_type": str(a.get("answer_type", "unknown"))})
        if bad and not options.get("skip_bad"):
            raise bad[0]
        if not sources:
            raise BadInput(q_file, f"no answered question in split {split!r}")
        words = Counter(w for t in targets for w in tokenize(t["question"]))
        answers = Counter(normalize_answer(a["answer"]) for t in targets for a in t["answers"])
        extra = {"word_counts": dict(sorted(words.items())),
                 "answer_counts": dict(answers.most_common(MAX_ANSWERS_KEPT)),
                 "questions_file": str(q_file), "images": str(folder), "split": split}
        info = DatasetInfo(q_file.stem, "vqa2", f"vqa2:{path}", split, [], extra)
        return RawSplit(info, sources, targets, [q_file, a_file], len(bad))
