"""The embedded scenes' questions as the vqa task reads them: every relation question a scene allows is asked, the
images are those of the caption task, and questions an older cvkit wrote are refused."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from cvkit.errors import BadInput
from cvkit.plugin import get_task
from cvkit.vision import scenes

_PHRASE = {"left": "left of", "right": "right of", "above": "above", "below": "below"}


def _allowed_relations(objs):
    """(question, answer) of every relation question with one named object and exactly one answer object."""
    out = set()
    for t in objs:
        if sum(o["shape"] == t["shape"] and o["colour"] == t["colour"] for o in objs) > 1:
            continue
        for rel in scenes.RELATIONS:
            hits = [o for o in objs if o is not t and scenes.relation(o, t) == rel]
            if len(hits) == 1:
                out.add((f"what shape is {_PHRASE[rel]} the {t['colour']} {t['shape']}?", hits[0]["shape"]))
    return out


def test_every_allowed_relation_question_is_asked():
    per_scene = Counter()
    for i in range(200):
        _, objs = scenes.generate(0, "train", i)
        qs = scenes.questions(objs, np.random.default_rng([0, 0, i, 1]))
        asked = [(q["question"], q["answer"]) for q in qs if q["type"] == "relation"]
        assert len(asked) == len(set(asked)) and set(asked) == _allowed_relations(objs)
        types = Counter(q["type"] for q in qs)
        assert types["count"] == types["exist"] == 1 and types["color"] <= 1 and types["shape"] <= 1
        assert len(qs) <= 8
        per_scene[len(objs), len(asked)] += 1
    assert per_scene[3, 4] > 0 and per_scene[2, 2] > 0 and not per_scene[1, 1]


def test_question_ids_stay_per_image():
    """write_vqa numbers questions image_id * 10 + k: a scene's up to 8 questions never reach the next image's."""
    for i in range(300):
        _, objs = scenes.generate(0, "val", i)
        assert len(scenes.questions(objs, np.random.default_rng([0, 1, i, 1]))) < 10


def test_vqa_images_are_the_caption_images(tmp_path):
    scenes.write_captions(tmp_path / "cap", 12, 0)
    scenes.write_vqa(tmp_path / "vqa", 12, 0)
    for split in ("train", "val"):
        cap = sorted((tmp_path / "cap" / f"{split}2017").glob("*.jpg"))
        vqa = sorted((tmp_path / "vqa" / f"{split}2014").glob("*.jpg"))
        assert len(cap) == len(vqa) > 0
        assert all(a.read_bytes() == b.read_bytes() for a, b in zip(cap, vqa, strict=True))


def test_questions_of_an_older_version_are_refused(tmp_path):
    root = scenes.write_vqa(tmp_path / "scenes", 12, 0)
    fmt = get_task("vqa").formats()["vqa2"]
    assert fmt.load(root, "val", {}).targets
    q_file = root / "v2_OpenEnded_mscoco_val2014_questions.json"
    doc = json.loads(q_file.read_text())
    assert doc["info"]["version"] == scenes.VQA_VERSION
    doc["info"]["version"] = "1"
    q_file.write_text(json.dumps(doc))
    with pytest.raises(BadInput, match=r"version '1'.*delete"):
        fmt.load(root, "val", {})
    doc["info"]["description"] = "someone's own questions"  # other VQA v2 files keep any version
    q_file.write_text(json.dumps(doc))
    assert fmt.load(root, "val", {}).targets
