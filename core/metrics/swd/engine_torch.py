"""The torch engine of the SWD metric: the functions of :mod:`.reference` (NVIDIA
progressive_growing_of_gans ``metrics/sliced_wasserstein.py``, step by step) run on whole batches
on any torch device. It is what CUDA and MPS users get, and what ``engine="torch"`` runs on the
CPU; :class:`DescriptorSet` keeps a set's descriptors, :func:`level_distance` compares two sets
on one level.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import torch

from core.metrics.swd.reference import (
    apply_norm,
    channel_stats,
    extract_descriptors,
    image_moments,
    laplacian_pyramid,
    norm_vectors,
    sorted_l1,
)
from core.metrics.swd.sampling import BLOCK, Select
from core.metrics.swd.settings import SWDSettings
from core.runtime.progress import Progress, null_progress

__all__ = ["DescriptorSet", "level_distance", "level_rows", "matrix_distance", "release_level"]

#: directions per projection chunk at most
_MAX_CHUNK = 128
#: bytes per descriptor and direction: the two float32 projections, the sorted copies and the
#: differences, with the sort's own temporaries
_BYTES_PER_PROJECTION = 14

Blocks = Callable[[], Iterable[torch.Tensor]]


class DescriptorSet:
    """One set's descriptors on every level, kept on the host in image order (float32, or
    float16 with ``descriptor_dtype="float16"``) with their per-image channel sums; the pyramid
    of a batch lives on ``device`` only while its descriptors are gathered."""

    def __init__(
        self, sizes: list[tuple[int, int]], settings: SWDSettings, total: int | None, device: torch.device
    ) -> None:
        self.sizes, self.settings, self.device = sizes, settings, device
        self.store_dtype = torch.float32 if settings.descriptor_dtype == "float32" else torch.float16
        self.chunks: list[list[torch.Tensor] | None] = [[] for _ in sizes]  # per level: n x P x D blocks
        self.moments: list[list[np.ndarray]] = [[] for _ in sizes]  # per level: n x C x 2 blocks
        self.starts: list[int] = []  # first image of each chunk
        self.n_images = 0

    def add(self, images: torch.Tensor, centres: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
        """Descriptors of a uint8 n x 3 x H x W batch at the given centres (per level, each n x P)."""
        pyr = laplacian_pyramid(images.to(self.device), len(self.sizes))
        for lv, (level, (ys, xs)) in enumerate(zip(pyr, centres, strict=True)):
            desc = extract_descriptors(level, ys, xs, self.settings.patch_size).to("cpu", torch.float32)
            self.moments[lv].append(image_moments(desc, images.shape[1]))
            self.chunks[lv].append(desc.to(self.store_dtype))
        self.starts.append(self.n_images)
        self.n_images += images.shape[0]

    def stats(self, level: int, select: Select) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-channel mean and std of the descriptors of all (or the selected) images."""
        mom = np.concatenate(self.moments[level])
        if isinstance(select, int):
            mom = mom[:select]
        elif select is not None:
            mom = mom[select.numpy()]
        return channel_stats(mom, self.settings.descriptors_per_image * self.settings.patch_size**2)

    def count(self, select: Select) -> int:
        """How many images ``select`` names."""
        if select is None:
            return self.n_images
        return select if isinstance(select, int) else len(select)

    def blocks(self, level: int, select: Select) -> Blocks:
        """The rows (descriptors) of all (or the selected, sorted, or the first n) images, in
        image order, as blocks of at most BLOCK images' rows."""
        chunks, starts = self.chunks[level], np.array([*self.starts, self.n_images])
        ids = np.arange(self.count(select)) if not isinstance(select, torch.Tensor) else select.numpy()

        def gen() -> Iterator[torch.Tensor]:
            for s in range(0, len(ids), BLOCK):
                blk = ids[s : s + BLOCK]
                owner = np.searchsorted(starts, blk, side="right") - 1
                parts = []
                for c in np.unique(owner):
                    local = blk[owner == c] - starts[c]
                    lo, hi = int(local[0]), int(local[-1]) + 1
                    # a run of consecutive images is a view; a subset is gathered
                    parts.append(
                        chunks[c][lo:hi] if hi - lo == len(local) else chunks[c][torch.from_numpy(local)]
                    )
                rows = parts[0] if len(parts) == 1 else torch.cat(parts)
                yield rows.reshape(-1, rows.shape[-1])

        return gen

    def release(self, level: int) -> None:
        self.chunks[level] = None


def _sorted_distance(
    blocks: tuple[Blocks, Blocks],
    n_rows: int,
    dirs: torch.Tensor,
    device: torch.device,
    budget_bytes: int,
    norms: list[tuple[torch.Tensor, torch.Tensor]] | None = None,
    progress: Progress = null_progress,
    stage: str = "",
    done0: int = 0,
    total: int | None = None,
    per_direction: np.ndarray | None = None,
    keep_top: object | None = None,
) -> tuple[float, int]:
    """Mean over directions and descriptors of |sorted projections A - sorted projections B| of
    two sets of ``n_rows`` descriptors (each given as blocks of rows), each normalised first
    with its (mean, std) of ``norms``. Both sets, normalised, are kept on the device if they fit
    half the budget (else they are streamed again for every chunk of directions); the chunks of
    directions are sized so that the projections and their sort fit what is left.
    ``per_direction`` (float64, one per direction) also receives each direction's Σ |sorted
    differences|; ``keep_top`` (with it; a :class:`.explain.TopProjections`) is offered each
    chunk's projections. Returns (value, number of direction chunks)."""
    dim, n_dirs = dirs.shape
    vecs = [None, None] if norms is None else [norm_vectors(mu, sd, dim, device) for mu, sd in norms]

    def prepared(si: int) -> Iterator[torch.Tensor]:
        for blk in blocks[si]():
            blk = blk.to(device)
            yield blk.to(torch.float32) if vecs[si] is None else apply_norm(blk, *vecs[si])

    desc_bytes = 2 * n_rows * dim * 4
    cached: list[torch.Tensor] | None = None
    if desc_bytes <= budget_bytes // 2:
        cached = []
        for si in (0, 1):
            full = torch.empty((n_rows, dim), dtype=torch.float32, device=device)
            r0 = 0
            for blk in prepared(si):
                full[r0 : r0 + blk.shape[0]] = blk
                r0 += blk.shape[0]
            cached.append(full)
        left = budget_bytes - desc_bytes
    else:
        left = budget_bytes - 3 * 4 * BLOCK * 128 * dim  # room for a block in flight
    chunk = int(max(1, min(n_dirs, _MAX_CHUNK, left // max(2 * n_rows * _BYTES_PER_PROJECTION, 1))))
    dirs = dirs.to(device)
    total_l1 = 0.0
    for ci, c0 in enumerate(range(0, n_dirs, chunk)):
        dT = dirs[:, c0 : c0 + chunk].T.contiguous()  # (dc, dim)
        projs = []
        for si in (0, 1):
            if cached is not None:
                projs.append(dT @ cached[si].T)
            else:
                projs.append(torch.cat([dT @ blk.T for blk in prepared(si)], dim=1))
        rows_out = None if per_direction is None else per_direction[c0 : c0 + chunk]
        total_l1 += sorted_l1(*projs, per_row_out=rows_out)
        if keep_top is not None:
            keep_top.offer(c0, rows_out, projs, (n_rows, n_rows), None)
        del projs
        progress(stage, done0 + ci + 1, total)
    return total_l1 / (n_rows * n_dirs), math.ceil(n_dirs / chunk)


def level_distance(
    set_a: DescriptorSet,
    set_b: DescriptorSet,
    level: int,
    select_a: Select,
    select_b: Select,
    directions: torch.Tensor,
    budget_bytes: int,
    progress: Progress = null_progress,
    stage: str = "",
    done: int = 0,
    total: int | None = None,
    workspace: dict | None = None,
    per_direction: np.ndarray | None = None,
    release: bool = True,
    keep_top: object | None = None,
) -> tuple[float, int]:
    """Mean |sorted projections A - sorted projections B| on one level, each set normalised by
    its own channel statistics; ``select_*``: the images used (sorted indices, an int n for the
    first n images, None: all). The level's descriptors are released unless ``release`` is False
    (:func:`release_level` then). ``per_direction``, ``keep_top``: see
    :func:`_sorted_distance`. Returns (value, number of direction chunks)."""
    n_a, n_b = set_a.count(select_a), set_b.count(select_b)
    if n_a != n_b:
        raise ValueError(f"sliced_wasserstein needs equal descriptor counts, got {n_a} and {n_b} images")
    norms = [set_a.stats(level, select_a), set_b.stats(level, select_b)]
    out = _sorted_distance(
        (set_a.blocks(level, select_a), set_b.blocks(level, select_b)),
        n_a * set_a.settings.descriptors_per_image,
        directions,
        set_a.device,
        budget_bytes,
        norms,
        progress,
        stage,
        done,
        total,
        per_direction,
        keep_top,
    )
    if release:
        release_level(set_a, set_b, level)
    return out


def release_level(set_a: DescriptorSet, set_b: DescriptorSet, level: int) -> None:
    """Free one level's descriptors of both sets."""
    set_a.release(level)
    set_b.release(level)


def level_rows(
    desc: DescriptorSet, level: int, select: Select
) -> tuple[Iterator[torch.Tensor], None, np.ndarray]:
    """One level's descriptors of all (or the selected) images in image order, for
    :mod:`.explain` (as :func:`.engine_compiled.level_rows`: rows, no multiplicities, the rows
    per image: ``descriptors_per_image`` each)."""
    counts = np.full(desc.count(select), desc.settings.descriptors_per_image, dtype=np.int64)
    return iter(desc.blocks(level, select)()), None, counts


def matrix_distance(
    desc_a: torch.Tensor,
    desc_b: torch.Tensor,
    directions: torch.Tensor,
    budget_bytes: int,
    norms: list[tuple[torch.Tensor, torch.Tensor]] | None = None,
) -> float:
    """Mean |sorted projections| difference of two M x D descriptor matrices, on ``desc_a``'s
    device (``norms``: per set, the channel mean and std to normalise with first)."""
    step = BLOCK * 128

    def blocks(d: torch.Tensor) -> Blocks:
        return lambda: (d[s : s + step] for s in range(0, d.shape[0], step))

    value, _ = _sorted_distance(
        (blocks(desc_a), blocks(desc_b)), desc_a.shape[0], directions, desc_a.device, budget_bytes, norms
    )
    return value
