"""The generator networks, each with the official module layout so released weights load with
``load_state_dict(strict=True)``:

* :mod:`~core.models.networks.cyclegan` - the CycleGAN ResNet generator
  (junyanz/pytorch-CycleGAN-and-pix2pix ``ResnetGenerator``);
* :mod:`~core.models.networks.pix2pix` - the pix2pix U-Net (``UnetGenerator``) and per-image
  BatchNorm as the official ``test.py``;
* :mod:`~core.models.networks.colorization` - ECCV16 and SIGGRAPH17 (richzhang/colorization);
* :mod:`~core.models.networks.color_unet` - GAN Lens' own colorization U-Net.

Each file also says how to read its configuration from a state dict; :mod:`core.models.registry`
registers them all, in one place.
"""
