"""The SWD metric of Karras et al. 2018 (Progressive GAN), per pyramid level, as NVIDIA
progressive_growing_of_gans ``metrics/sliced_wasserstein.py`` computes it: :func:`swd` on two
image sets, :func:`sliced_wasserstein` on two descriptor matrices, and the result types.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass, field
from types import ModuleType
from typing import Literal

import numpy as np
import torch

from core.images.batches import ImageSource, count_images, iter_uint8_batches
from core.metrics.swd import engine_compiled, engine_torch
from core.metrics.swd.explain import ExplainSettings, SWDExplanation, TopProjections, explain_level
from core.metrics.swd.reference import channel_stats, image_moments, level_sizes, random_directions
from core.metrics.swd.sampling import BLOCK, PatchCentres, Select, seeded_generator
from core.metrics.swd.settings import SWDSettings
from core.runtime.device import resolve_device
from core.runtime.progress import Progress, null_progress

__all__ = [
    "Engine",
    "SWDDescriptors",
    "SWDLevel",
    "SWDResult",
    "compile_kernels",
    "descriptor_memory_bytes",
    "sliced_wasserstein",
    "swd",
    "swd_descriptors",
    "swd_of_first",
]

#: "compiled": the Numba CPU engine; "torch": the reference functions on any torch device;
#: "auto": compiled on the CPU, torch on CUDA/MPS.
Engine = Literal["torch", "compiled", "auto"]
_DEFAULT_BUDGET_MB = 1024


CHANNELS = ("R", "G", "B")


@dataclass
class SWDLevel:
    resolution: int  # image height at this level (the reference's label, e.g. SWDx1e3_64)
    value: float  # SWD x 1e3
    shape: tuple[int, int] = (0, 0)  # (height, width) of the level
    #: per set ("A", "B"), the channels whose descriptors have no spread on this level: each set
    #: is normalised by its own per-channel std, so the value cannot see differences there
    flat: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass
class SWDResult:
    levels: list[SWDLevel]
    average: float  # mean of the level values
    n_images: int  # images per set actually used
    seed: int | None
    settings: SWDSettings
    n_images_a: int = 0
    n_images_b: int = 0
    note: str | None = None
    warnings: list[str] = field(default_factory=list)
    #: with ``swd(..., explain=...)``: which patches make each level's value (:mod:`.explain`)
    explanation: SWDExplanation | None = None

    def to_dict(self) -> dict:
        """JSON-ready dict (plain floats, ints, strings, lists); the explanation, when there is
        one, as :meth:`SWDExplanation.to_dict` (without the patch pixels)."""
        out = {
            "levels": [
                {
                    "resolution": lv.resolution,
                    "value": float(lv.value),
                    "shape": [int(lv.shape[0]), int(lv.shape[1])],
                    "flat": {k: list(v) for k, v in lv.flat.items()},
                }
                for lv in self.levels
            ],
            "average": float(self.average),
            "n_images": int(self.n_images),
            "n_images_a": int(self.n_images_a),
            "n_images_b": int(self.n_images_b),
            "seed": self.seed,
            "settings": asdict(self.settings),
            "note": self.note,
            "warnings": list(self.warnings),
        }
        if self.explanation is not None:
            out["explanation"] = self.explanation.to_dict()
        return out


def descriptor_memory_bytes(
    n_images: int, height: int, width: int, settings: SWDSettings = SWDSettings()
) -> int:
    """Host memory held by the descriptors of ONE set over all levels (x2 for both sets); the
    compiled engine keeps less on small levels (merged repeated centres: this is the bound)."""
    n_lv = len(level_sizes(height, width, settings.min_res, settings.n_levels))
    per = settings.descriptors_per_image * 3 * settings.patch_size**2
    bytes_per = 4 if settings.descriptor_dtype == "float32" else 2
    return n_images * n_lv * per * bytes_per


def _engine_module(engine: Engine, device: torch.device) -> ModuleType:
    if engine == "auto":
        return engine_compiled if device.type == "cpu" else engine_torch
    if engine == "compiled":
        if device.type != "cpu":
            raise ValueError(
                f"engine='compiled' runs on the CPU only, not on {device}; "
                "use engine='torch' (or 'auto') there, or device='cpu'"
            )
        return engine_compiled
    if engine == "torch":
        return engine_torch
    raise ValueError(f"engine must be 'torch', 'compiled' or 'auto', got {engine!r}")


def _collect(
    images: ImageSource,
    label: str,
    set_id: int,
    base: int,
    st: SWDSettings,
    eng: ModuleType,
    device: torch.device,
    batch_size: int | None,
    budget_bytes: int,
    progress: Progress,
    expect_hw: tuple[int, int] | None,
) -> tuple[object, tuple[int, int]]:
    """One set's descriptors on every level (an ``eng.DescriptorSet``) and its image size."""
    total = count_images(images)
    stage = f"SWD descriptors {label}"
    progress(stage, 0, total)
    desc = None
    sizes: list[tuple[int, int]] = []
    centres: PatchCentres | None = None
    hw: tuple[int, int] | None = None
    done = 0
    bs = batch_size or BLOCK
    # the batch size changes no value: centres are drawn per block of images, every descriptor
    # comes from its own image
    for batch in iter_uint8_batches(images, batch_size or BLOCK, f"set {label}"):
        if batch.shape[0] == 0:
            continue
        bhw = (int(batch.shape[2]), int(batch.shape[3]))
        if hw is None:
            hw = bhw
            if min(hw) < st.min_res:
                raise ValueError(
                    f"set {label}: images are {hw[0]} x {hw[1]} px; SWD needs at least "
                    f"{st.min_res} x {st.min_res} (min_res)"
                )
            if expect_hw is not None and hw != expect_hw:
                raise ValueError(
                    f"sets A and B have different resolutions: {expect_hw[0]} x {expect_hw[1]} "
                    f"vs {hw[0]} x {hw[1]}; resize them to a common size first"
                )
            sizes = level_sizes(hw[0], hw[1], st.min_res, st.n_levels)
            centres = PatchCentres(base, set_id, sizes, st)
            desc = eng.DescriptorSet(sizes, st, total, device)
            if batch_size is None:  # pyramid working set ≈ 12 float32 copies of the batch
                bs = max(1, min(512, budget_bytes // (12 * 4 * 3 * hw[0] * hw[1])))
        elif bhw != hw:
            raise ValueError(
                f"set {label}: all images must have the same size; got {hw[0]} x {hw[1]} "
                f"and then {bhw[0]} x {bhw[1]}"
            )
        for s in range(0, batch.shape[0], bs):
            sub = batch[s : s + bs]
            n = sub.shape[0]
            desc.add(sub, [centres.get(lv, done, n) for lv in range(len(sizes))])
            done += n
            progress(stage, done, total)
    if hw is None or done < 2:
        raise ValueError(f"set {label}: SWD needs at least 2 images, got {done}")
    return desc, hw


def swd(
    set_a: ImageSource,
    set_b: ImageSource,
    *,
    settings: SWDSettings = SWDSettings(),
    seed: int | None = 0,
    device: str | torch.device = "auto",
    engine: Engine = "auto",
    batch_size: int | None = None,
    memory_budget_mb: float = _DEFAULT_BUDGET_MB,
    progress: Progress = null_progress,
    explain: ExplainSettings | None = None,
) -> SWDResult:
    """Per-level SWD x 1e3 between two sets of uint8 RGB images (see :mod:`core.metrics.swd`).

    ``set_a``/``set_b``: anything :mod:`core.images.batches` accepts (uint8 tensors or arrays,
    NCHW or NHWC, or an iterable of such batches); all images of both sets must share one H x W
    (>= min_res). With different numbers of images, min(N_a, N_b) are drawn (seeded) from the
    larger set and ``note`` says so. ``seed=None`` draws a fresh seed.
    ``engine``: "compiled" (Numba, CPU only), "torch" (any device) or "auto" (compiled on the
    CPU, torch elsewhere); they agree to float32 rounding.
    ``batch_size``: images per pyramid batch (None: from ``memory_budget_mb``); it does not change
    the result. ``memory_budget_mb`` bounds the working memory (pyramid batches, projection and
    sort chunks); the stored descriptors come on top (:func:`descriptor_memory_bytes`).
    ``explain``: also say which patches make each level's value (``result.explanation``, see
    :mod:`core.metrics.swd.explain`); the values are the same with or without it.
    """
    settings.validate()
    if explain is not None:
        explain.validate()
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    dev = resolve_device(device)
    eng = _engine_module(engine, dev)
    budget = int(memory_budget_mb * 2**20)
    base = secrets.randbits(63) if seed is None else int(seed)
    set_a_desc, hw = _collect(set_a, "A", 0, base, settings, eng, dev, batch_size, budget, progress, None)
    set_b_desc, _ = _collect(set_b, "B", 1, base, settings, eng, dev, batch_size, budget, progress, hw)
    na, nb = set_a_desc.n_images, set_b_desc.n_images
    n = min(na, nb)
    sel_a = sel_b = None
    note = None
    if na != nb:
        pick = torch.randperm(max(na, nb), generator=seeded_generator(base, 3))[:n].sort().values
        if na > nb:
            sel_a = pick
        else:
            sel_b = pick
        big = "A" if na > nb else "B"
        note = (
            f"set A has {na} images and set B {nb}: {n} images were drawn at random (seeded) from "
            f"set {big} so that both sets give the same number of descriptors, as the reference's "
            "sort-matching requires"
        )
    levels, explained = _level_values(
        set_a_desc, set_b_desc, sel_a, sel_b, hw, base, settings, eng, budget, progress, explain=explain
    )
    average = float(np.mean([lv.value for lv in levels]))
    return SWDResult(
        levels=levels,
        average=average,
        n_images=n,
        seed=seed,
        settings=settings,
        n_images_a=na,
        n_images_b=nb,
        note=note,
        warnings=_flat_warnings(levels),
        explanation=None if explain is None else SWDExplanation(explained, explain),
    )


def _level_values(
    set_a_desc,
    set_b_desc,
    sel_a: Select,
    sel_b: Select,
    hw: tuple[int, int],
    base: int,
    settings: SWDSettings,
    eng: ModuleType,
    budget: int,
    progress: Progress,
    workspace: dict | None = None,
    release: bool = True,
    explain: ExplainSettings | None = None,
) -> tuple[list[SWDLevel], list]:
    """Per level: SWD x 1e3 of the selected images of both sets (directions seeded by ``base``),
    with the channels that are flat in either set; and, with ``explain``, each level's
    explanation (:func:`.explain.explain_level`, else an empty list). ``release``: free each
    level's descriptors once it is measured (False keeps them for the next call)."""
    sizes = level_sizes(hw[0], hw[1], settings.min_res, settings.n_levels)
    dim = 3 * settings.patch_size**2
    levels: list[SWDLevel] = []
    explained = []
    workspace = {} if workspace is None else workspace
    stage = "SWD distance"
    done = 0
    total = None
    for lv, (h, w) in enumerate(sizes):
        flat = {
            label: names
            for label, d, sel in (("A", set_a_desc, sel_a), ("B", set_b_desc, sel_b))
            if (
                names := tuple(
                    c for c, s in zip(CHANNELS, d.stats(lv, sel)[1].tolist(), strict=True) if s <= 0
                )
            )
        }
        dirs = random_directions(
            dim, settings.n_directions, settings.n_repeats, seeded_generator(base, 2, lv)
        )
        per_dir = None if explain is None else np.empty(dirs.shape[1], dtype=np.float64)
        kept = None if explain is None else TopProjections(explain.n_directions)
        value, k = eng.level_distance(
            set_a_desc,
            set_b_desc,
            lv,
            sel_a,
            sel_b,
            dirs,
            budget,
            progress,
            stage,
            done,
            total,
            workspace,
            per_direction=per_dir,
            release=release and explain is None,  # the explanation reads the level's patches first
            keep_top=kept,
        )
        if explain is not None:
            explained.append(
                explain_level(
                    eng, (set_a_desc, set_b_desc), (sel_a, sel_b), lv, sizes, hw, per_dir, kept, base, explain
                )
            )
            if release:
                eng.release_level(set_a_desc, set_b_desc, lv)
        if total is None:
            total = k * len(sizes)
        done += k
        levels.append(SWDLevel(resolution=h, value=value * 1e3, shape=(h, w), flat=flat))
    progress(stage, done, done)
    return levels, explained


@dataclass
class SWDDescriptors:
    """One set's SWD descriptors on every level, collected once (:func:`swd_descriptors`) and
    compared on its first n images as often as needed (:func:`swd_of_first`): what :func:`swd`
    collects, kept. ``set_id`` 0 plays set A, 1 set B (each has its own patch centres)."""

    descriptors: object  # the engine's DescriptorSet
    size: tuple[int, int]  # (height, width) of the images
    seed: int
    set_id: int
    settings: SWDSettings
    engine: ModuleType = field(repr=False)

    @property
    def n_images(self) -> int:
        return self.descriptors.n_images


def swd_descriptors(
    images: ImageSource,
    *,
    set_id: int,
    seed: int,
    settings: SWDSettings = SWDSettings(),
    device: str | torch.device = "auto",
    engine: Engine = "auto",
    batch_size: int | None = None,
    memory_budget_mb: float = _DEFAULT_BUDGET_MB,
    progress: Progress = null_progress,
    size: tuple[int, int] | None = None,
) -> SWDDescriptors:
    """The descriptors :func:`swd` draws from ``images`` as its set A (``set_id=0``) or set B
    (``set_id=1``) with ``seed``: patch centres depend on the seed, the set and the image's
    position, so the first n images' rows are those of a set of only these n images.
    ``size``: the (height, width) the images must have (None: any one size)."""
    settings.validate()
    if set_id not in (0, 1):
        raise ValueError(f"set_id must be 0 (set A) or 1 (set B), got {set_id}")
    dev = resolve_device(device)
    eng = _engine_module(engine, dev)
    label = "AB"[set_id]
    budget = int(memory_budget_mb * 2**20)
    desc, hw = _collect(
        images, label, set_id, int(seed), settings, eng, dev, batch_size, budget, progress, size
    )
    return SWDDescriptors(desc, hw, int(seed), set_id, settings, eng)


def swd_of_first(
    a: SWDDescriptors,
    b: SWDDescriptors,
    n: int,
    *,
    memory_budget_mb: float = _DEFAULT_BUDGET_MB,
    progress: Progress = null_progress,
    workspace: dict | None = None,
) -> SWDResult:
    """SWD between the first ``n`` images of ``a`` and of ``b``, bit for bit what
    ``swd(A[:n], B[:n], seed=seed)`` gives on the same engine and budget (patch centres,
    normalisation by each subset's own statistics, directions), without collecting again;
    the descriptors are kept for the next call. ``workspace``: scratch kept between calls."""
    if (a.set_id, b.set_id) != (0, 1):
        raise ValueError("swd_of_first compares descriptors collected as set A (set_id 0) and set B (1)")
    if a.seed != b.seed or a.settings != b.settings or a.engine is not b.engine:
        raise ValueError("both sets' descriptors must come from the same seed, settings and engine")
    if a.size != b.size:
        raise ValueError(
            f"sets A and B have different resolutions: {a.size[0]} x {a.size[1]} vs {b.size[0]} x {b.size[1]}"
        )
    if not 2 <= n <= min(a.n_images, b.n_images):
        raise ValueError(f"n must be 2..{min(a.n_images, b.n_images)} (images in both sets), got {n}")
    sel_a = None if n == a.n_images else n
    sel_b = None if n == b.n_images else n
    budget = int(memory_budget_mb * 2**20)
    levels, _ = _level_values(
        a.descriptors,
        b.descriptors,
        sel_a,
        sel_b,
        a.size,
        a.seed,
        a.settings,
        a.engine,
        budget,
        progress,
        workspace,
        release=False,
    )
    return SWDResult(
        levels=levels,
        average=float(np.mean([lv.value for lv in levels])),
        n_images=n,
        seed=a.seed,
        settings=a.settings,
        n_images_a=n,
        n_images_b=n,
        warnings=_flat_warnings(levels),
    )


def _flat_warnings(levels: list[SWDLevel]) -> list[str]:
    """One warning per distinct flat pattern: which sets have no variation in which channels, on
    which levels (the reference would divide by zero there; the value does not see those
    channels, e.g. two flat sets of different colours give 0)."""
    by_pattern: dict[tuple, list[int]] = {}
    for lv in levels:
        if lv.flat:
            by_pattern.setdefault(tuple(sorted(lv.flat.items())), []).append(lv.resolution)
    out = []
    for pattern, resolutions in by_pattern.items():
        groups: dict[tuple[str, ...], list[str]] = {}
        for label, names in pattern:
            groups.setdefault(names, []).append(label)
        who = "; ".join(
            f"{'sets ' + ' and '.join(labels) if len(labels) > 1 else 'set ' + labels[0]} have no variation in "
            f"{', '.join(names)}".replace("set A have", "set A has").replace("set B have", "set B has")
            for names, labels in groups.items()
        )
        out.append(
            f"SWD at {', '.join(f'{r} px' for r in resolutions)}: {who} (e.g. one flat colour). Each set is "
            "normalised by its own per-channel spread, so SWD cannot see differences in those channels "
            "there: the values of those levels (marked !) are not meaningful; two flat sets of "
            "different colours give 0"
        )
    return out


def sliced_wasserstein(
    desc_a: torch.Tensor,
    desc_b: torch.Tensor,
    *,
    n_directions: int = 128,
    n_repeats: int = 4,
    generator: torch.Generator | None = None,
    directions: torch.Tensor | None = None,
    normalize: bool = False,
    memory_budget_mb: float = _DEFAULT_BUDGET_MB,
    engine: Engine = "auto",
) -> float:
    """The reference's ``sliced_wasserstein(A, B, dir_repeats, dirs_per_repeat)`` on two M x D
    descriptor matrices (not multiplied by 1e3): mean |sorted projection differences| over
    descriptors and directions. ``directions`` (D x K, unit columns) overrides the random draw of
    :func:`random_directions`; ``normalize=True`` first normalises each set per channel as the
    reference's ``finalize_descriptors`` (which the reference applies before calling it).
    Computed on ``desc_a``'s device (``engine`` as in :func:`swd`), directions in chunks that
    fit ``memory_budget_mb``."""
    if desc_a.ndim != 2 or desc_a.shape != desc_b.shape:
        raise ValueError(
            f"descriptor matrices must both be M x D with the same shape, got "
            f"{tuple(desc_a.shape)} and {tuple(desc_b.shape)}"
        )
    dim = desc_a.shape[1]
    if not (torch.isfinite(desc_a).all() and torch.isfinite(desc_b).all()):
        raise ValueError("descriptors must be finite (found NaN or infinity)")
    if directions is None:
        directions = random_directions(dim, n_directions, n_repeats, generator)
    if directions.ndim != 2 or directions.shape[0] != dim:
        raise ValueError(f"directions must be {dim} x K, got {tuple(directions.shape)}")
    norms = None
    if normalize:
        n_ch = 3 if dim % 3 == 0 else 1
        norms = [channel_stats(image_moments(d[:, None], n_ch), dim // n_ch) for d in (desc_a, desc_b)]
    eng = _engine_module(engine, desc_a.device)
    return eng.matrix_distance(
        desc_a, desc_b, directions.to(torch.float32), int(memory_budget_mb * 2**20), norms
    )


def compile_kernels() -> float:
    """Compile the kernels of the compiled CPU engine (:mod:`core.metrics.swd.kernels`) into their
    on-disk cache by a tiny run of it (the Makefile does this at install, so that the first real
    comparison does not wait for the compiler). Returns the seconds it took."""
    t0 = time.perf_counter()
    g = torch.Generator().manual_seed(0)
    # 64 px: a level with single rows (64) and levels with merged repeats (32, 16); equal sets
    # (normalisation folded into the directions) and unequal ones (a subset, normalised first)
    a = torch.randint(0, 256, (4, 3, 64, 64), dtype=torch.uint8, generator=g)
    b = torch.randint(0, 256, (4, 3, 64, 64), dtype=torch.uint8, generator=g)
    for b_images in (b, b[:3]):
        swd(
            a,
            b_images,
            seed=0,
            device="cpu",
            engine="compiled",
            settings=SWDSettings(n_directions=4, n_repeats=1),
        )
    return time.perf_counter() - t0
