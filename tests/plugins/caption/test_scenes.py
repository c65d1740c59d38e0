"""The synthetic scenes (cvkit.vision.scenes): deterministic, unambiguous layouts, truthful captions and answers."""

from __future__ import annotations

import math

import numpy as np

from cvkit.text import tokenize
from cvkit.vision import scenes


def test_deterministic_per_seed_split_and_index():
    a, objs_a = scenes.generate(0, "train", 5)
    b, objs_b = scenes.generate(0, "train", 5)
    c, _ = scenes.generate(1, "train", 5)
    assert np.array_equal(a, b) and objs_a == objs_b and not np.array_equal(a, c)
    assert a.shape == (64, 64, 3) and a.dtype == np.uint8


def test_layouts_are_unambiguous_and_captions_true():
    vocab = set()
    for i in range(150):
        img, objs = scenes.generate(0, "val", i)
        assert 1 <= len(objs) <= 3
        for p in objs:
            x, y = round(p["x"]), round(p["y"])
            assert np.abs(img[y, x].astype(int) - scenes.COLOURS[p["colour"]]).max() < 40  # painted where it says
            for q in objs:
                if p is not q:
                    assert math.hypot(p["x"] - q["x"], p["y"] - q["y"]) > p["r"] + q["r"]
        refs = scenes.captions(objs)
        assert len(refs) == 5 and len(set(refs)) == 5
        for ref in refs:
            vocab.update(tokenize(ref))
            assert sorted(scenes.slots(tokenize(ref))["shape"]) == sorted(o["shape"] for o in objs)
        if len(objs) == 2:
            a, b = objs
            dx, dy = abs(a["x"] - b["x"]), abs(a["y"] - b["y"])
            assert max(dx, dy) >= 1.6 * min(dx, dy)
            assert f"{scenes.relation(a, b)}" in refs[0]
        if len(objs) == 3:
            xs = sorted(o["x"] for o in objs)
            assert min(xs[1] - xs[0], xs[2] - xs[1]) >= 9
    assert len(vocab) == 29


def test_answers_are_true():
    for i in range(150):
        _, objs = scenes.generate(0, "train", i)
        for q in scenes.questions(objs, np.random.default_rng(i)):
            words = q["question"].rstrip("?").split()
            if q["type"] == "count":
                shape = words[2][:-1] if words[2] != "shapes" else None
                assert int(q["answer"]) == sum(shape is None or o["shape"] == shape for o in objs)
            elif q["type"] == "exist":
                colour, shape = words[3], words[4]
                assert (q["answer"] == "yes") == any(o["colour"] == colour and o["shape"] == shape for o in objs)
            elif q["type"] == "color":
                assert [o["colour"] for o in objs if o["shape"] == words[-1]] == [q["answer"]]
            elif q["type"] == "shape":
                assert [o["shape"] for o in objs if o["colour"] == words[-2]] == [q["answer"]]
            else:
                assert q["type"] == "relation" and q["answer"] in scenes.SHAPES
