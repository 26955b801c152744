"""Training generators GAN Lens ships itself (the GAN training lab is :mod:`core.gan`):

* :mod:`~core.models.training.cyclegan` - CycleGAN (Zhu et al. 2017) between two image folders,
  exporting official-layout generators; :mod:`~core.models.training.image_pool` its image pool;
* :mod:`~core.models.training.colorizer` - the color U-Net (L -> ab);
* :mod:`~core.models.training.i2i` - the image-to-image lab (U-Net vs coarse-to-fine models, L1,
  PSNR curves), with :mod:`~core.models.training.stage_schedule` (train all / train each),
  :mod:`~core.models.training.degradations` (colorize, mosaic), :mod:`~core.models.training.i2i_data`
  (built-in and folder images, validation split), :mod:`~core.models.training.i2i_demo` (the shipped
  comparison) and :mod:`~core.models.training.i2i_summary` (its figures);
* :mod:`~core.models.training.configs` - their settings; :mod:`~core.models.training.data` - the
  images they train on; :mod:`~core.models.training.run_loop` - the loop that writes a Training
  lab run folder for all of them; :mod:`~core.models.training.cli` - ``train-cyclegan``, ``train-i2i``.
"""
