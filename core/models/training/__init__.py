"""Training generators GAN Lens ships itself (the GAN training lab is :mod:`core.gan`):

* :mod:`~core.models.training.cyclegan` - CycleGAN (Zhu et al. 2017) between two image folders,
  exporting official-layout generators; :mod:`~core.models.training.image_pool` its image pool;
* :mod:`~core.models.training.colorizer` - the color U-Net (L -> ab);
* :mod:`~core.models.training.configs` - their settings; :mod:`~core.models.training.data` - the
  images they train on; :mod:`~core.models.training.run_loop` - the loop that writes a Training
  lab run folder for both; :mod:`~core.models.training.cli` - ``train-cyclegan``.
"""
