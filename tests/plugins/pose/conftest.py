from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="session")
def task():
    from cvkit_pose import spec
    from cvkit_pose.task import PoseTask

    torch.set_num_threads(1)
    return PoseTask(spec)
