"""The GAN training lab: DCGAN (Radford et al. 2016) and WGAN / WGAN-GP (Arjovsky et al. 2017,
Gulrajani et al. 2017) trained on built-in or user images, writing run folders the Training lab
page scrubs.

- :mod:`~core.gan.config` and :mod:`~core.gan.data` -- a run's settings and its training images;
- :mod:`~core.gan.networks` -- the generator and critic/discriminator;
- :mod:`~core.gan.train` -- the training loop (resumable), with :mod:`~core.gan.quality` the SWD
  of samples against the training data at every snapshot;
- :mod:`~core.gan.frames` and :mod:`~core.gan.runs` -- the run folder: frames, animation, losses,
  status, checkpoint;
- :mod:`~core.gan.jobs` -- a training run on a background thread for the page;
- :mod:`~core.gan.demo` and :mod:`~core.gan.cli` -- the shipped demo runs and the subcommands.
"""
