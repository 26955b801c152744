"""Demo models that ship with GAN Lens, so the Translate and Colorize pages work offline out of
the box. Both are trained by GAN Lens' own trainers on data that ships with its dependencies,
on the CPU, by ``make demo-models`` (:mod:`~core.models.demo.build`):

* ``demo_discs2squares`` / ``demo_squares2discs``: the two generators of one small CycleGAN
  (:mod:`core.models.training.cyclegan`) trained between procedural images of
  :func:`core.images.samples.make_shapes` - random discs on a gradient and random squares on a
  gradient, unpaired, 64 x 64, in the fixed colours of
  :data:`core.images.examples.SHAPES_PALETTE` (instance norm cannot carry an image's absolute
  colours, so fixed colours let the generators give them back). They turn discs into squares
  and back on images like those (the examples of :func:`core.images.examples.example_images`),
  at that size; they know nothing else.
* ``demo_colorizer``: a small color U-Net (:mod:`core.models.training.colorizer`) trained on
  random crops of the left 427 x 427 square of scikit-learn's two sample photos (``china.jpg``,
  ``flower.jpg``); the rest of each photo is held out to measure it. Plausible on those photos,
  poor on anything else: two photos are not a training set.

The weights, and ``manifest.json`` (what each was trained on, steps, seed, size, SHA-256, the
measured quality checks and the command that rebuilt it), are in ``weights/``; the model zoo
lists them (:func:`core.models.zoo.demo_models`) and the model cache treats them as present
(:func:`core.models.download.cache_status`).
"""
