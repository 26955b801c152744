"""The GAN lab takes its images through the batch contract (core.images.batches)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from core.gan.data import load_training_data
from core.gan.quality import QualityTracker
from core.images import ImageError


def test_quality_tracker_reads_any_contract_layout_the_same():
    nhwc = np.random.default_rng(0).integers(0, 256, (12, 8, 8, 3), dtype=np.uint8)
    from_tensor = QualityTracker(torch.from_numpy(np.transpose(nhwc, (0, 3, 1, 2)).copy()), 4, n=6, seed=1)
    from_array = QualityTracker(nhwc, 4, n=6, seed=1)
    assert from_tensor.real.shape == (6, 3, 8, 8)
    assert torch.equal(from_tensor.real, from_array.real)
    with pytest.raises(ImageError, match=r"training images: images must be uint8"):
        QualityTracker(torch.zeros(4, 3, 8, 8), 4)


def test_training_data_from_a_folder_is_nchw_centre_cropped(tmp_path):
    rng = np.random.default_rng(1)
    imgs = [rng.integers(0, 256, (3, 5, 3), dtype=np.uint8) for _ in range(2)]  # 3 x 5 -> crop to 3 x 3
    for i, img in enumerate(imgs):
        Image.fromarray(img).save(tmp_path / f"{i}.png")
    data = load_training_data(tmp_path, 3)
    assert data.images.dtype == torch.uint8 and data.images.shape == (2, 3, 3, 3)
    want = np.stack([np.transpose(img[:, 1:4], (2, 0, 1)) for img in imgs])
    np.testing.assert_array_equal(data.images.numpy(), want)
