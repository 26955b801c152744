"""The layout rules (core.images.layout), stated once for the batch contract and array image sets."""

from __future__ import annotations

import pytest

from core.images.layout import ARRAY_CHANNELS, RGB_CHANNELS, image_layout


@pytest.mark.parametrize(
    "shape, array, tensor",
    [
        ((8, 32, 32, 3), "NHWC", "NHWC"),
        ((8, 3, 32, 32), "NCHW", "NCHW"),
        ((8, 3, 3, 3), "NHWC", "NCHW"),  # the tie: image-file convention vs torch's
        ((32, 32, 3), "HWC", "HWC"),
        ((8, 32, 32), None, None),  # gray stacks are not RGB
        ((8, 32, 32, 4), None, None),
        ((8, 1, 32, 32), None, None),
        ((32, 32), None, None),
        ((1, 8, 32, 32, 3), None, None),
    ],
)
def test_rgb_rules(shape, array, tensor):
    assert image_layout(shape, tensor=False, channels=RGB_CHANNELS) == array
    assert image_layout(shape, tensor=True, channels=RGB_CHANNELS) == tensor


@pytest.mark.parametrize(
    "shape, expected",
    [
        ((8, 32, 32, 4), "NHWC"),
        ((8, 32, 32, 1), "NHWC"),
        ((8, 4, 32, 32), "NCHW"),
        ((8, 1, 32, 32), "NCHW"),
        ((8, 3, 32, 4), "NHWC"),  # both ends are channel counts: arrays read channels-last
        ((8, 32, 32), "NHW"),
        ((32, 32, 3), "HWC"),
        ((8, 32, 32, 5), None),
        ((8, 32), None),
    ],
)
def test_array_set_rules_add_gray_and_rgba(shape, expected):
    assert image_layout(shape, tensor=False, channels=ARRAY_CHANNELS) == expected
