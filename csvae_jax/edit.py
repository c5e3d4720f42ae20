"""The program csvae-edit (python -m csvae_jax.edit): edits an attribute of your own image with a
trained model and writes a PNG grid. The edits themselves are `switching.switch_attribute`.

  csvae-edit --workdir runs/celeba_glasses --image photo.jpg --attribute Eyeglasses --out edits.png
  python -m csvae_jax.edit --workdir runs/celeba_glasses --image photo.jpg --attribute Eyeglasses \\
      [--off] [--grid 5] [--labels Eyeglasses=0] --out edits.png

The image is prepared as the training images were where it can be: an aligned 178x218 CelebA-style
photo gets a CelebA model's training crop and resize, an image of the model's own size is used as
it is; any other photo is centre-cropped to a square and resized, with a note that edits work best
on faces aligned as in training. Only the workdir is read: no dataset, and nothing is written
there. The grid shows the input, its reconstruction, then the edits: for CSVAE a --grid x --grid
sweep of W_j around the attribute-present prior mean, w1 across and w2 up (or the default point
with --grid 1), for CondVAE(-info) --grid values of p from 0 to 3, for the VAE the mean shift.
"""

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
from absl import logging
import numpy as np
from PIL import Image

from csvae_jax import console
from csvae_jax import switching
from csvae_jax import plots
from csvae_jax import trained_model

flags.DEFINE_string("workdir", None, "The trained model's workdir.")
flags.DEFINE_string("image", None, "The image to edit (JPEG or PNG).")
flags.DEFINE_string("attribute", None, "The attribute to switch, e.g. Eyeglasses.")
flags.DEFINE_bool("off", False, "Switch the attribute off instead of on.")
flags.DEFINE_integer("grid", 5, "Switching on: points per side of the W grid (CSVAE) or values "
                     "of p (CondVAE). --off and the VAE give one edit.")
flags.DEFINE_list("labels", [], "The image's labels as name=0|1. The others: q(y|x)'s for a model "
                  "that infers labels (config.model.infer_labels); else the attribute's opposite "
                  "of the target, the rest 0.")
flags.DEFINE_string("out", "edits.png", "Output PNG.")
flags.mark_flags_as_required(["workdir", "image", "attribute"])
FLAGS = flags.FLAGS


def read_image(path: str, model: trained_model.TrainedModel) -> np.ndarray:
  """The image at `path` as the model's input: uint8 [*x_shape] (`switching.prepare_photo`)."""
  image = np.asarray(Image.open(path).convert("RGB" if model.spec.x_shape[-1] == 3 else "L"))
  return switching.prepare_photo(image, model, name=path)


def parse_labels(items: list[str]) -> dict[str, float]:
  """`--labels` items "name=0|1" as {name: 0.0 or 1.0}.

  Raises:
    ValueError: for an item of another form, naming it and the form expected.
  """
  labels = {}
  for item in items:
    name, _, value = item.partition("=")
    if not (name and value in ("0", "1")):
      raise ValueError(f"--labels {item}: give each label as name=0 or name=1, e.g. "
                       f"--labels {name or 'Eyeglasses'}=0.")
    labels[name] = float(value)
  return labels


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  console.setup()
  labels = parse_labels(FLAGS.labels)  # before the model loads: a typo fails at once
  model = trained_model.load(FLAGS.workdir)
  x = read_image(FLAGS.image, model)
  j = switching.attribute_index(model, FLAGS.attribute)
  y = switching.photo_labels(model, x, j, FLAGS.off, labels)
  on = not FLAGS.off
  if model.spec.has_w and FLAGS.grid > 1 and on:
    points = switching.w_grid(model, FLAGS.grid)
  elif model.spec.decodes_y and FLAGS.grid > 1 and on:
    points = np.linspace(*switching.P_RANGE, FLAGS.grid, dtype=np.float32)
  else:
    points = None
  edits = switching.switch_attribute(model, x, y, j, on=on, point=points)
  edits = edits if points is not None else edits[None]
  recon = switching.to_uint8(model.reconstruct(x, y)[0])
  if model.spec.has_w and points is not None:
    # The W grid drawn as in the figures (w1 across, w2 up); the first column holds the input
    # over its reconstruction.
    blank = np.full_like(x, 255)
    rows = plots.w_grid_rows(edits)
    left = [x, recon] + [blank] * (FLAGS.grid - 2)
    images = [image for r in range(FLAGS.grid) for image in (left[r], *rows[r])]
    columns = FLAGS.grid + 1
  else:
    images, columns = [x, recon, *edits], 2 + len(edits)
  plots.save_image_grid(FLAGS.out, images, columns)
  logging.info("Wrote %d edits of %s (%s %s) to %s", len(edits), FLAGS.image,
               model.spec.label_names[j], "off" if FLAGS.off else "on", FLAGS.out)


def run() -> None:
  """The console script's entry point."""
  console.run(main)


if __name__ == "__main__":
  run()
