"""The CLI contract through a real subprocess: streams, exit codes, one-line errors, fast start-up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import cvkit


def test_help_and_tasks_import_no_torch_or_plugin_code() -> None:
    code = ("import sys; from cvkit.cli import app; from cvkit.plugin import discover; discover(); "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision', 'cv2', 'numpy') "
            "or m.endswith('.task')]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_tasks_json_lists_classify() -> None:
    proc = cvkit("tasks", "--json", check=True)
    tasks = {t["name"]: t for t in json.loads(proc.stdout)["tasks"]}
    assert tasks["classify"]["status"] == "ok"
    assert "imagenet" in tasks["classify"]["dataset_formats"]
    assert "digits" in tasks["classify"]["builtin_datasets"]


def test_missing_checkpoint_is_one_error_line(tmp_path: Path) -> None:
    proc = cvkit("eval", "--weights", str(tmp_path / "nope.pt"))
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [f"error: {tmp_path / 'nope.pt'}: no such checkpoint file"]


def test_usage_errors_exit_2() -> None:
    assert cvkit("train", "no-such-task").returncode == 2
    assert cvkit("train", "classify", "--optimizer", "lbfgs").returncode == 2
    proc = cvkit("train")
    assert proc.returncode == 2 and "missing TASK" in proc.stderr


def digits_val_dir(run: Path) -> Path:
    spec = json.loads((run / "summary.json").read_text())["dataset"]["spec"]
    return Path(spec.split(":", 1)[1]) / "val"


def test_predict_pipes_to_head_quietly(digits_run: Path) -> None:
    cmd = (f"{sys.executable} -m cvkit predict --weights {digits_run / 'best.pt'} {digits_val_dir(digits_run)} "
           "| head -n 1; echo rc=${PIPESTATUS[0]}")
    proc = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=120)
    lines = proc.stdout.strip().splitlines()
    assert json.loads(lines[0])["task"] == "classify"
    assert lines[-1] == "rc=0"
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


def test_completion_scripts_are_current() -> None:
    root = Path(__file__).resolve().parents[2]
    for shell in ("bash", "zsh", "fish"):
        out = subprocess.run([sys.executable, "-m", "cvkit.completions", shell], capture_output=True, text=True,
                             check=True).stdout
        assert (root / "completions" / f"cvkit.{shell}").read_text() == out, f"run `make completions` ({shell})"


def test_completion_answers_from_the_app() -> None:
    env = {"COMP_WORDS": "cvkit tr", "COMP_CWORD": "1", "_CVKIT_COMPLETE": "complete_bash"}
    assert cvkit(env=env).stdout.split() == ["train"]
