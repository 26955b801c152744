"""The image pool of CycleGAN's discriminator updates (Shrivastava et al. 2017, used by Zhu et al.
2017, section 4): the discriminators see a history of generated images, not only the latest.

Semantics of the official ``ImagePool.query`` (junyanz/pytorch-CycleGAN-and-pix2pix
``util/image_pool.py``), image by image of a batch: while the pool holds fewer than ``pool_size``
images, the new image is stored and returned; once it is full, with probability 1/2 a uniformly
chosen stored image is returned and replaced by the new one, otherwise the new image is returned
(and the pool is unchanged). ``pool_size = 0`` returns the batch as it is.

The draws (one uniform number per image once the pool is full, then an index when swapping) come
from the pool's own CPU ``torch.Generator``, so a checkpoint (:meth:`ImagePool.state_dict`: the
stored images and the generator state) continues exactly.
"""

from __future__ import annotations

import torch


class ImagePool:
    """A buffer of up to ``pool_size`` generated images; see the module docstring."""

    def __init__(self, pool_size: int = 50, generator: torch.Generator | None = None) -> None:
        if pool_size < 0:
            raise ValueError(f"pool_size must be >= 0, got {pool_size}")
        self.pool_size = int(pool_size)
        self.generator = generator if generator is not None else torch.Generator()
        self.images: list[torch.Tensor] = []

    def __len__(self) -> int:
        return len(self.images)

    @torch.no_grad()
    def query(self, images: torch.Tensor) -> torch.Tensor:
        """The batch the discriminator sees instead of ``images`` (N x C x H x W, detached)."""
        if self.pool_size == 0:
            return images.detach()
        out = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.pool_size:
                self.images.append(image.clone())
                out.append(image)
            elif float(torch.rand((), generator=self.generator)) > 0.5:
                i = int(torch.randint(0, self.pool_size, (1,), generator=self.generator))
                out.append(self.images[i].clone())
                self.images[i] = image.clone()
            else:
                out.append(image)
        return torch.cat(out, 0)

    def state_dict(self) -> dict:
        """The stored images (on the CPU, stacked; empty ``0``-row tensor when none) and the
        generator state: a plain dict for ``torch.save``."""
        stored = torch.cat([t.cpu() for t in self.images], 0) if self.images else torch.zeros(0)
        return {"pool_size": self.pool_size, "images": stored, "rng_state": self.generator.get_state()}

    def load_state_dict(self, state: dict, device: torch.device | str = "cpu") -> None:
        if int(state["pool_size"]) != self.pool_size:
            raise ValueError(f"pool size {state['pool_size']} in the checkpoint, {self.pool_size} asked")
        stored = state["images"]
        self.images = [stored[i : i + 1].to(device) for i in range(stored.shape[0])] if stored.numel() else []
        self.generator.set_state(state["rng_state"])
