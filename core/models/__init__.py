"""Pretrained image generators: what they are, where their weights come from, and running them.

The pipeline, in the order a newcomer meets it:

1. **What can be built** - :mod:`~core.models.registry`: one :class:`~core.models.registry.Architecture`
   entry per network (name, family ``translation``/``colorization``, builder, config inference from a
   state dict, input size multiple, colour hints, description). The networks themselves are in
   :mod:`core.models.networks` (CycleGAN ResNet, pix2pix U-Net, ECCV16/SIGGRAPH17, our color U-Net, the
   image-to-image lab's U-Net / coarse-to-fine models).
2. **Getting weights** - :mod:`~core.models.zoo` (the catalog of official models and their URLs) and
   :mod:`~core.models.download` (resumable, verified downloads into the model cache).
3. **Loading** - :mod:`~core.models.checkpoints` reads a weights file once and safely
   (``weights_only=True``) into its state dict and metadata; :mod:`~core.models.loading` detects the
   architecture, loads strictly and returns a :class:`~core.models.loading.LoadedModel` (module,
   registry entry, config, checkpoint metadata, dropped keys).
4. **Running** - :mod:`~core.models.translate` (image-to-image generators, aspect ratio kept, the
   official ``test.py`` pre/post-processing) and :mod:`~core.models.colorize` (the reference
   colorization pipeline with hints), with the CIE Lab maths in :mod:`~core.models.lab`.
5. **Outputs** - :mod:`~core.models.outputs`: PNG/zip export, safe file names.

Training (CycleGAN, the color U-Net, the image-to-image lab) is :mod:`core.models.training`; the shipped demo models and
their builder are :mod:`core.models.demo`; the command-line subcommands are
:mod:`~core.models.cli` (``translate``, ``models``), :mod:`~core.models.colorize_cli`
(``colorize``, ``train-colorizer``), :mod:`~core.models.training.cli` (``train-cyclegan``,
``train-i2i``) and
:mod:`~core.models.demo.cli` (``make-demo-models``). Image batches come in through :mod:`core.images.batches`.
"""
