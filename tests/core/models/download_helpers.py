"""Helpers for the download tests: a generator checkpoint in the official layout and a zoo entry
that points at the loopback server."""

from __future__ import annotations

from pathlib import Path

import torch

from core.models.networks.cyclegan import ResnetGenerator
from core.models.zoo import ModelSpec


def write_generator(path: Path, seed: int = 0) -> bytes:
    """A random-init 9-block CycleGAN generator (ngf 4), saved as the official repo does."""
    torch.manual_seed(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ResnetGenerator(ngf=4, n_blocks=9).state_dict(), path)
    return path.read_bytes()


def zoo_spec(server, name: str, sha: str | None = None) -> ModelSpec:
    """A zoo entry for ``<server>/<name>.pth`` (SHA-256 digest or prefix, or None)."""
    return ModelSpec(name, "cyclegan_resnet_9blocks", server.url_for(f"{name}.pth"), sha, "test model")
