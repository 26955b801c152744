"""Images in, RGB uint8 batches out: the pipeline stage between files on disk (or uploads, or
arrays) and every metric and model.

- :mod:`~core.images.sources`: where a set's entries come from (folder, zip, array file,
  uploads) and which file types are images, in the canonical order of
  :mod:`~core.images.ordering` (by relative path, whatever the arrival order);
- :mod:`~core.images.decode`: one image, bytes -> H x W x 3 RGB uint8, as pytorch-fid and
  clean-fid decode it;
- :mod:`~core.images.resize`: bicubic resizing and the mixed-size policies;
- :mod:`~core.images.imageset`: :class:`ImageSet`, a lazily read set streamed as batches;
- :mod:`~core.images.batches`: the one input contract, anything accepted -> uint8 N x 3 x H x W
  (layout rules in :mod:`~core.images.layout`);
- :mod:`~core.images.samples`: built-in procedural sample sets.
"""

from core.images.batches import ImageSource, as_uint8_nchw, count_images, iter_uint8_batches
from core.images.decode import load_image
from core.images.errors import ImageError
from core.images.imageset import ImageSet, decode_uploads, open_image_set
from core.images.resize import center_crop_resize, resize_uint8
from core.images.sources import BROWSER_WALK, IMAGE_EXTENSIONS, UPLOAD_IMAGE_TYPES, SkippedFile, WalkLimits

__all__ = [
    "BROWSER_WALK",
    "IMAGE_EXTENSIONS",
    "UPLOAD_IMAGE_TYPES",
    "ImageError",
    "ImageSet",
    "ImageSource",
    "SkippedFile",
    "WalkLimits",
    "as_uint8_nchw",
    "center_crop_resize",
    "count_images",
    "decode_uploads",
    "iter_uint8_batches",
    "load_image",
    "open_image_set",
    "resize_uint8",
]
