from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="session")
def task():
    from cvkit_detect import spec
    from cvkit_detect.task import DetectTask

    torch.set_num_threads(1)
    return DetectTask(spec)
