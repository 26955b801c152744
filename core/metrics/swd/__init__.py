"""Per-pyramid-level Sliced Wasserstein Distance (SWD) of Karras et al. 2018 (Progressive GAN),
following NVIDIA ``tkarras/progressive_growing_of_gans``, ``metrics/sliced_wasserstein.py``.

For each of the two image sets: a Laplacian pyramid of every image (full resolution down to
``min_res``, 16 px), ``descriptors_per_image`` (128) random 7x7x3 neighbourhoods per image and
level, normalised per colour channel by the set's own mean and std; then, per level,
``n_repeats`` x ``n_directions`` (4 x 128) random unit directions, both sets' projections sorted
and compared by their mean absolute difference. Values are x 1e3 per level (the reference's
``SWDx1e3_<res>``), and their average. A seed makes a result bit-reproducible (same device and
``memory_budget_mb``), whatever the batch size.

How the pieces fit:

* :mod:`.reference` -- the algorithm in plain torch, function by function against the
  reference (pyramid, patch centres, descriptors, normalisation, directions, sorted distance);
* :mod:`.engine_torch` -- those functions run on whole batches on any device: the CUDA/MPS
  path, and ``engine="torch"`` on the CPU;
* :mod:`.engine_compiled` -- the CPU engine: the same values by exact shortcuts (merged repeated
  centres, normalisation folded into the directions, the distance without sorting), driving
* :mod:`.kernels` -- its Numba kernels (compiled on first use, cached next to the file;
  :func:`compile_kernels` does it ahead of time);
* :mod:`.sampling` -- the seeded random streams both engines share (so they see the same
  centres, directions and subset);
* :mod:`.api` -- :func:`swd` (input via :mod:`core.images.batches`, engine choice, the level
  loop) and :func:`sliced_wasserstein`, with :mod:`.settings` the parameters.

Not comparable: ``koshian2/swd-pytorch`` scales its random directions by their standard
deviation instead of their L2 length (a factor ~sqrt(147) ≈ 12 larger), so its values are
about 12x the reference's.
"""

from core.metrics.swd.api import (
    Engine,
    SWDDescriptors,
    SWDLevel,
    SWDResult,
    compile_kernels,
    descriptor_memory_bytes,
    sliced_wasserstein,
    swd,
    swd_descriptors,
    swd_of_first,
)
from core.metrics.swd.reference import level_sizes
from core.metrics.swd.settings import SWDSettings

__all__ = [
    "Engine",
    "SWDDescriptors",
    "SWDLevel",
    "SWDResult",
    "SWDSettings",
    "compile_kernels",
    "descriptor_memory_bytes",
    "level_sizes",
    "sliced_wasserstein",
    "swd",
    "swd_descriptors",
    "swd_of_first",
]
