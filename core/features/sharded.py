"""The sharded feature pass: the features and FID/KID statistics of one large image set computed
by many processes (GPUs, machines) launched with ``torchrun``, merged exactly.

``torchrun --nproc_per_node=K [--nnodes ...] -m core features SET --out DIR`` runs
:func:`feature_pass` in every rank (:mod:`core.runtime.distributed`):

1. rank 0 lists SET once into a manifest (:mod:`core.images.manifest`) and plans the shards
   (:func:`core.features.shards.plan_shards`: contiguous ranges of the manifest, a multiple of K
   of them), writes both to DIR and broadcasts them: no other rank lists the set;
2. each rank computes its shards (every K-th, from its rank) on its device with
   :func:`core.features.extract.extract_features` -- decoding on worker threads and resizing on a
   background thread overlap the network -- and writes each shard's float32 features (``.npy``),
   its float64 sums (a statistics ``.npz``) and, last, its record (:mod:`core.features.shards`);
3. the ranks all-reduce their float64 sums (n, Σx, Σxxᵀ) and rank 0 writes ``DIR/stats.npz``.

Since the statistics are sums, the result equals a single process's on the same images up to the
order of float64 additions (relative 1e-15 or so on the sums). ``resume=True`` keeps the manifest
and plan already in DIR (a different K is fine: shards are not tied to ranks) and skips every
shard that is complete and verified (SHA-256 of its files), so a rank that died recomputes only
its unfinished shards. This is the design of torch-fidelity's/clean-fid's feature extraction
spread the way ``torch.distributed`` data-parallel evaluation is (a sampler giving each rank a
disjoint part, then an all-reduce), with the shards on disk for KID/precision-recall, which need
features, not only sums.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from core.features.extract import DEFAULT_BATCH_SIZE, extract_features
from core.features.registry import DEFAULT_EXTRACTOR, FeatureExtractor, get_extractor
from core.features.shards import (
    MANIFEST_FILE,
    PASS_FILE,
    STATS_FILE,
    PassPlan,
    ShardError,
    plan_shards,
    rank_shards,
    shard_sums,
    verify_shard,
    write_shard,
)
from core.images.errors import ImageError
from core.images.manifest import Manifest
from core.metrics.stats import RunningStats, save_stats
from core.runtime.atomic import atomic_path
from core.runtime.distributed import Group
from core.runtime.progress import Progress, null_progress

__all__ = ["DEFAULT_MAX_SHARD", "FeaturePassResult", "feature_pass"]

#: Most images per shard by default: 10,000 Inception rows are 80 MB of float32, a loss of a few
#: minutes of one GPU's work when a rank dies.
DEFAULT_MAX_SHARD = 10_000


@dataclass
class FeaturePassResult:
    """What one rank saw of a finished pass (the totals are over all ranks)."""

    out: Path
    stats_path: Path
    images: int  # images in the manifest
    rows: int  # feature rows (images read)
    skipped: int  # images that could not be read
    shards: int
    computed: int  # shards computed in this run, all ranks
    reused: int  # shards found complete and verified (resume), all ranks
    world: int
    seconds: float
    rank_rows: int = 0  # rows this rank computed in this run
    rank_seconds: float = 0.0  # this rank's time in feature extraction (decode + network)
    #: decode + network throughput of the run: the sum over ranks of each rank's images/s while
    #: extracting (0 when nothing was computed)
    images_per_s: float = 0.0
    warnings: list[str] = field(default_factory=list)


def _prepare(
    source: str | Path, out: Path, ext: FeatureExtractor, mode: str, max_shard: int, world: int, resume: bool
) -> tuple[Manifest, PassPlan]:
    """Rank 0: the manifest and plan, read from DIR (resume) or made and written there."""
    from core import __version__

    if (out / PASS_FILE).is_file():
        if not resume:
            raise ValueError(
                f"{out} already holds a feature pass; add --resume to finish it, or choose an empty folder"
            )
        manifest = Manifest.load(out / MANIFEST_FILE)
        plan = PassPlan.from_json((out / PASS_FILE).read_text(encoding="utf-8"), str(out / PASS_FILE))
        if Path(source).expanduser().resolve() != Path(manifest.source):
            raise ValueError(f"{out} holds the features of {manifest.source}, not of {source}")
        if (plan.extractor, plan.mode) != (ext.id, mode):
            raise ValueError(
                f"{out} holds features of the extractor {plan.extractor!r} with the {plan.mode!r} "
                f"resize; this run asks for {ext.id!r} with {mode!r}: choose another folder"
            )
        if plan.manifest_digest != manifest.digest:
            raise ShardError(f"{out}: {PASS_FILE} was made for another manifest than {MANIFEST_FILE}")
        return manifest, plan
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        raise ValueError(f"{out}: the folder is not empty; give a new or empty folder for the features")
    manifest = Manifest.build(source)
    plan = PassPlan(
        ext.id,
        mode,
        ext.dim,
        manifest.digest,
        tuple(plan_shards(len(manifest), world, max_shard)),
        __version__,
    )
    for name, text in ((MANIFEST_FILE, manifest.to_json()), (PASS_FILE, plan.to_json())):
        with atomic_path(out / name, durable=True) as tmp:
            tmp.write_text(text, encoding="utf-8")
    return manifest, plan


def _shared_setup(group: Group, prepare) -> tuple[Manifest, PassPlan]:
    """Run ``prepare`` on rank 0 and hand its result (or its error) to every rank."""
    import json

    payload = None
    if group.is_main:
        try:
            manifest, plan = prepare()
            payload = json.dumps({"manifest": manifest.to_json(), "plan": plan.to_json()})
        except (ValueError, ImageError, OSError) as exc:
            payload = json.dumps({"error": str(exc)})
            group.broadcast_text(payload)
            raise
    d = json.loads(group.broadcast_text(payload))
    if "error" in d:
        raise ValueError(f"rank 0 could not start the pass: {d['error']}")
    return Manifest.from_json(d["manifest"]), PassPlan.from_json(d["plan"], "the pass plan")


def _compute_shard(
    manifest: Manifest,
    plan: PassPlan,
    i: int,
    ext: FeatureExtractor,
    model,
    group: Group,
    batch_size: int,
    progress: Progress,
) -> tuple[np.ndarray, list]:
    start, end = plan.bounds[i]
    images = manifest.image_set(start, end)
    stage = f"rank {group.rank}: shard {plan.shard_name(i)}"
    try:
        feats = extract_features(
            images,
            extractor=ext,
            mode=plan.mode,
            device=group.device,
            batch_size=batch_size,
            progress=progress,
            stage=stage,
            total=end - start,
            model=model,
        )
    except ImageError:
        if len(images.skipped) != len(images):  # a real error, not "no image of this shard decodes"
            raise
        feats = np.zeros((0, plan.dim), dtype=np.float32)
    finally:
        images.close()
    return feats, list(images.skipped)


def device_sums(feats: np.ndarray, device: torch.device) -> RunningStats:
    """The float64 sums (n, Σx, Σxxᵀ) of ``feats`` computed on ``device``: Σxxᵀ of a 10,000-row
    shard of 2048-d features is 84 GFLOP, seconds on one CPU thread (a torchrun rank's default)
    but milliseconds on the GPU that made the features."""
    n, d = feats.shape
    if n == 0:
        return RunningStats(d)
    x = torch.from_numpy(np.ascontiguousarray(feats)).to(device, torch.float64)
    if not torch.isfinite(x).all():
        raise ValueError("features contain NaN or infinite values")
    return RunningStats(d, n, x.sum(0).cpu().numpy(), (x.T @ x).cpu().numpy())


def feature_pass(
    source: str | Path,
    out: str | Path,
    group: Group,
    *,
    extractor: str | FeatureExtractor = DEFAULT_EXTRACTOR,
    mode: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_shard: int = DEFAULT_MAX_SHARD,
    resume: bool = False,
    progress: Progress = null_progress,
    model=None,
) -> FeaturePassResult:
    """Run this rank's part of the sharded pass of ``source`` into ``out`` (see the module
    docstring). Every rank of ``group`` must call it with the same arguments. ``model``: the
    extractor's model already on ``group.device`` (loaded here, once, if a shard needs it)."""
    t0 = time.perf_counter()
    ext = get_extractor(extractor)
    mode = ext.check_mode(mode)
    if max_shard < 1:
        raise ValueError("the shard size must be at least 1 image")
    out = Path(out).expanduser()
    manifest, plan = _shared_setup(
        group, lambda: _prepare(source, out, ext, mode, max_shard, group.world, resume)
    )
    if plan.dim != ext.dim:
        raise ValueError(f"{out}: the pass has dimension {plan.dim}, the extractor {ext.dim}")
    local = RunningStats(ext.dim)
    counts = np.zeros(5)  # rows, skipped, computed, reused, this rank's images/s
    rank_rows, rank_seconds = 0, 0.0
    for i in rank_shards(len(plan.bounds), group.rank, group.world):
        rec = verify_shard(out, plan, i) if resume else None
        if rec is not None:
            sums = shard_sums(out, plan, rec)
            counts += (rec.rows, len(rec.skipped), 0, 1, 0)
        else:
            if model is None:
                model = ext.load(group.device)
            t_shard = time.perf_counter()
            feats, skipped = _compute_shard(manifest, plan, i, ext, model, group, batch_size, progress)
            rank_seconds += time.perf_counter() - t_shard
            sums = device_sums(feats, group.device)
            rec = write_shard(out, plan, i, feats, skipped, sums)
            rank_rows += rec.rows
            counts += (rec.rows, len(rec.skipped), 1, 0, 0)
        local = local.merge(sums)
    counts[4] = rank_rows / rank_seconds if rank_seconds > 0 else 0.0
    if local.n != counts[0]:
        raise RuntimeError(
            f"rank {group.rank}: its sums count {local.n} images but its shards {int(counts[0])}"
        )
    # one all-reduce per array; counts (n included) are float64, exact below 2**53
    s, so, counts = group.sum_float64(local.sum, local.sum_outer, counts)
    rows, skipped, computed, reused = (int(c) for c in counts[:4])
    total = RunningStats(ext.dim, rows, s, so)
    stats_path = out / STATS_FILE
    warnings: list[str] = []
    if group.is_main:
        if total.n < 2:
            raise ValueError(f"{source}: only {total.n} image(s) could be read; statistics need at least 2")
        save_stats(stats_path, total.mean, total.covariance, extractor=ext.id, mode=mode, sums=total)
    if skipped:
        warnings.append(f"{skipped} image(s) could not be read and were left out (see the shard records)")
    group.barrier()  # the statistics file exists for every rank once this returns
    return FeaturePassResult(
        out,
        stats_path,
        len(manifest),
        rows,
        skipped,
        len(plan.bounds),
        computed,
        reused,
        group.world,
        time.perf_counter() - t0,
        rank_rows,
        rank_seconds,
        float(counts[4]),
        warnings,
    )
