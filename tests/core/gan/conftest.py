"""The GAN tests use tiny networks: one intra-op thread is faster than several on a shared CPU
(thread oversubscription makes small convolutions 10x slower)."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
