from __future__ import annotations

import pytest
import torch


def pytest_configure(config: pytest.Config) -> None:
    # pycocotools' decode passes copy=False to numpy's __array__: a third-party deprecation notice on every mask
    config.addinivalue_line("filterwarnings", "ignore:__array__ implementation doesn't accept a copy keyword")


@pytest.fixture(scope="session")
def task():
    from cvkit_promptseg import spec
    from cvkit_promptseg.task import PromptSegTask

    torch.set_num_threads(1)
    return PromptSegTask(spec)
