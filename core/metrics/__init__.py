"""The stage "features or patch descriptors -> a number" of the pipeline, and the result.

- :mod:`~core.metrics.swd` -- per-level Sliced Wasserstein Distance on Laplacian-pyramid patches
  (Progressive GAN), which needs no network;
- :mod:`~core.metrics.fid` and :mod:`~core.metrics.kid` -- FID (TTUR) and KID (Binkowski et al.)
  on the features of :mod:`core.features`, with :mod:`~core.metrics.stats` the streaming float64
  statistics and their ``.npz`` files;
- :mod:`~core.metrics.prdc` -- precision/recall (Kynkäänniemi et al.) and density/coverage
  (Naeem et al.) on the same features, with per-image realism, coverage and possible copies;
- :mod:`~core.metrics.image_quality` -- PSNR/SSIM of one image against its original (the
  generator pages);
- :mod:`~core.metrics.compare` -- one comparison of two sets (shared decoding, cached features,
  noise floor, timings, warnings) and its :class:`~core.metrics.compare.CompareResult`, used by
  the CLI (:mod:`~core.metrics.cli`) and the Compare page;
- :mod:`~core.metrics.verdict` -- what a comparison means in plain words (noise floor, levels,
  KID's spread), and :mod:`~core.metrics.estimate` -- how long one will take on this machine and,
  while it runs, how long is left.
"""
