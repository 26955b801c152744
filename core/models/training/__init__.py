"""Training generators GAN Lens ships itself: :mod:`~core.models.training.colorizer` trains the
color U-Net (the GAN training lab is :mod:`core.gan`)."""
