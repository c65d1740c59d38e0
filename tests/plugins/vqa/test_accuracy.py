"""The official VQA accuracy on hand-built cases worked out from the rules of GT-Vision-Lab/VQA's vqaEval.py."""

from __future__ import annotations

import pytest

from cvkit_vqa.accuracy import normalize_answer, process_punctuation, question_accuracy, vqa_accuracy
from cvkit_vqa.metric import VqaEvaluator


def entries(*answers: str) -> list[dict]:
    return [{"answer": a, "answer_confidence": "yes", "answer_id": i + 1} for i, a in enumerate(answers)]


def test_leave_one_out_subsets():
    # 3 of 10 say "2": dropping one of them leaves 2 matches (2/3), dropping another answer leaves 3 (1).
    gts = entries(*["2"] * 3, *["3"] * 7)
    assert question_accuracy("2", gts) == pytest.approx((3 * 2 / 3 + 7 * 1) / 10)
    assert question_accuracy("3", gts) == 1.0
    one = entries("2", *["3"] * 9)
    assert question_accuracy("2", one) == pytest.approx(9 * (1 / 3) / 10)
    assert question_accuracy("4", one) == 0.0


def test_normalisation_only_when_answers_differ_in_the_current_version():
    same = entries(*["yes"] * 10)
    assert question_accuracy("yes", same) == 1.0
    assert question_accuracy(" yes\n", same) == 1.0  # whitespace is always cleaned
    assert question_accuracy("Yes", same) == 0.0  # not lower-cased: the ten answers agree
    assert question_accuracy("Yes", same, "official-2017") == 1.0  # the 2017 script always normalises the result
    differ = entries(*["2"] * 3, *["3"] * 7)
    assert question_accuracy("two", differ) == pytest.approx(0.9)  # number words -> digits
    assert question_accuracy("two", differ, "official-2017") == pytest.approx(0.9)


def test_articles_punctuation_and_contractions():
    gts = entries(*["dog"] * 3, *["cat"] * 7)
    assert question_accuracy("a dog", gts) == pytest.approx(0.9)
    assert question_accuracy("the dog.", gts) == pytest.approx(0.9)
    shirts = entries(*["t-shirt"] * 5, *["tshirt"] * 5)  # "-" inside a word becomes a space
    assert question_accuracy("T-Shirt", shirts) == 1.0
    assert process_punctuation("t-shirt") == "t shirt"
    assert process_punctuation("t - shirt") == "t  shirt"  # next to a space: deleted, not replaced
    assert process_punctuation("1,000 people") == "1000 people"  # digit-comma-digit: deleted everywhere
    assert process_punctuation("3.5 yes.") == "3.5 yes"  # periods go unless a digit follows
    assert normalize_answer("dont") == "don't" and normalize_answer("None") == "0"
    assert question_accuracy("dont", entries(*["don't"] * 5, *["no"] * 5)) == 1.0


def test_period_rule_stops_after_32():
    assert process_punctuation("." * 40) == "." * 8


def test_whole_entries_are_left_out():
    # The official code leaves out every entry EQUAL to the one being left out: identical dicts go together.
    assert question_accuracy("yes", [{"answer": "yes"}] * 10) == 0.0


def test_per_type_means_and_evaluator_names():
    rows = [("yes", entries(*["yes"] * 10), "is there", "yes/no"),
            ("no", entries(*["yes"] * 10), "is there", "yes/no"),
            ("2", entries(*["2"] * 3, *["3"] * 7), "how many", "number")]
    acc = vqa_accuracy(rows)
    assert acc["overall"] == pytest.approx((1 + 0 + 0.9) / 3)
    assert acc["per_question_type"] == {"is there": 0.5, "how many": pytest.approx(0.9)}
    assert acc["per_answer_type"]["yes/no"] == 0.5
    ev = VqaEvaluator()
    ev.update([0, 1, 2], [{"answer": r[0]} for r in rows],
              [{"answers": r[1], "question_type": r[2], "answer_type": r[3]} for r in rows])
    out = ev.compute()
    assert out["accuracy"] == pytest.approx(acc["overall"])
    assert out["type_is_there"] == 0.5 and out["answer_yes_no"] == 0.5 and out["type_how_many"] == pytest.approx(0.9)
    with pytest.raises(Exception, match="official"):
        VqaEvaluator("bleu")
