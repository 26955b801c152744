"""Running a module that other sessions share without changing it.

Loaded models are shared by every session of the app (``st.cache_resource``), so inference must
never switch their modes or move them: :func:`inference_view` returns a per-call copy of the
module *tree* (each module shallow-copied: the weight and buffer tensors are the shared ones, not
copies) whose flags are set for this call only:

* every module in eval mode (Dropout off, BatchNorm on its stored running statistics);
* ``bn_stats="image"``: every BatchNorm normalises with the statistics of the batch it is given
  (as the official pix2pix ``test.py`` without ``--eval``) and does not update its stored ones;
* ``device``: when the module's tensors live elsewhere, the view holds copies on ``device`` (the
  shared module stays where it is).

Run the view under ``torch.inference_mode()`` / ``no_grad``; the shared module's state dict,
training flags and device are unchanged by it, whatever other threads do at the same time.
"""

from __future__ import annotations

import copy
from typing import Literal

import torch
from torch import nn

BnStats = Literal["image", "running"]


def module_device(module: nn.Module) -> torch.device:
    """The device of ``module``'s first parameter or buffer (the CPU for a module without any)."""
    for t in (*module.parameters(), *module.buffers()):
        return t.device
    return torch.device("cpu")


def uses_batchnorm(module: nn.Module) -> bool:
    """Whether ``module`` has BatchNorm layers, i.e. whether ``bn_stats`` changes its output."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


def _view(module: nn.Module, bn_stats: BnStats, device: torch.device | None) -> nn.Module:
    view = copy.copy(module)  # a new object; its __dict__ is a new dict holding the same values
    own = view.__dict__  # set directly: nothing of the shared module is written to
    own["training"] = False
    if bn_stats == "image" and isinstance(module, nn.modules.batchnorm._BatchNorm):
        own["training"] = True  # batch statistics ...
        own["track_running_stats"] = False  # ... and the stored ones neither passed nor updated
    if device is not None:
        own["_parameters"] = {
            k: None if p is None else nn.Parameter(p.detach().to(device), requires_grad=False)
            for k, p in module._parameters.items()
        }
        own["_buffers"] = {k: None if b is None else b.to(device) for k, b in module._buffers.items()}
    own["_modules"] = {
        k: None if m is None else _view(m, bn_stats, device) for k, m in module._modules.items()
    }
    return view


def inference_view(
    module: nn.Module, bn_stats: BnStats = "running", device: str | torch.device | None = None
) -> nn.Module:
    """A view of ``module`` for one inference call (see the module docstring); ``module`` itself
    is not modified. ``ValueError`` for an unknown ``bn_stats``."""
    if bn_stats not in ("image", "running"):
        raise ValueError(f"bn_stats must be 'image' or 'running', got {bn_stats!r}")
    target = None if device is None else torch.device(device)
    if target is not None:
        here = module_device(module)
        if here.type == target.type and (target.index is None or target.index == here.index):
            target = None
    return _view(module, bn_stats, target)
