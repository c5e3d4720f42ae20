"""Tiny CelebA folders in the official on-disk formats, for tests and the input-pipeline benchmark.

`write_celeba` writes what a user downloads from the CelebA page: 178x218 RGB JPEGs in
img_align_celeba/ (or img_align_celeba.zip with that top-level folder), list_attr_celeba.txt with
the original's irregular spacing, trailing space and CRLF line endings, list_eval_partition.txt and
identity_CelebA.txt. Images are random blocks over a gradient; attributes are random with rates
near CelebA's.
"""

from collections.abc import Mapping
import io
import os
import zipfile

import numpy as np
from PIL import Image

ATTRIBUTE_NAMES = (
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs",
    "Big_Lips", "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows",
    "Chubby", "Double_Chin", "Eyeglasses", "Goatee", "Gray_Hair", "Heavy_Makeup", "High_Cheekbones",
    "Male", "Mouth_Slightly_Open", "Mustache", "Narrow_Eyes", "No_Beard", "Oval_Face", "Pale_Skin",
    "Pointy_Nose", "Receding_Hairline", "Rosy_Cheeks", "Sideburns", "Smiling", "Straight_Hair",
    "Wavy_Hair", "Wearing_Earrings", "Wearing_Hat", "Wearing_Lipstick", "Wearing_Necklace",
    "Wearing_Necktie", "Young")
WIDTH, HEIGHT = 178, 218
# Probability of the value 1, roughly CelebA's; attributes not listed get 0.2.
DEFAULT_RATES = {"Attractive": 0.5, "Eyeglasses": 0.15, "Male": 0.42, "Mouth_Slightly_Open": 0.48,
                 "No_Beard": 0.8, "Smiling": 0.48, "Young": 0.77}
# Mustache and goatee appear only on faces with a beard (No_Beard = -1), as in CelebA.
BEARD_ONLY_RATES = {"Mustache": 0.25, "Goatee": 0.35}
SPLIT_SHARES = (0.8, 0.1)  # train, validation; the rest is test, as CelebA's 81/10/10.


def write_jpeg(rng: np.random.Generator, width: int = WIDTH, height: int = HEIGHT) -> bytes:
  """A `width` x `height` RGB JPEG of random 20-pixel blocks over a colour gradient."""
  blocks = rng.integers(0, 128, size=(height // 20 + 1, width // 20 + 1, 3))
  pixels = np.repeat(np.repeat(blocks, 20, axis=0), 20, axis=1)[:height, :width]
  gradient = np.linspace(0, 127, height)[:, None, None] * rng.random(3)
  buffer = io.BytesIO()
  Image.fromarray((pixels + gradient).astype(np.uint8)).save(buffer, format="JPEG", quality=90)
  return buffer.getvalue()


def make_attributes(num_images: int, rng: np.random.Generator,
                    rates: Mapping[str, float] | None = None) -> np.ndarray:
  """int8 [num_images, 40] of 1/-1, columns in ATTRIBUTE_NAMES order.

  Args:
    num_images: rows.
    rng: the generator to draw from.
    rates: P(value 1) per attribute name, overriding DEFAULT_RATES.

  Returns:
    The values. Each split's first image wears glasses and its second has a beard (unless the
    rate of Eyeglasses is 0 or that of No_Beard is 1), so every subset has examples in every split.
  """
  rates = {**DEFAULT_RATES, **(rates or {})}
  probabilities = np.array([rates.get(name, 0.2) for name in ATTRIBUTE_NAMES])
  values = np.where(rng.random((num_images, len(ATTRIBUTE_NAMES))) < probabilities, 1, -1)
  column = {name: i for i, name in enumerate(ATTRIBUTE_NAMES)}
  for start in split_starts(num_images):
    if rates["Eyeglasses"] > 0:
      values[start, column["Eyeglasses"]] = 1
    if rates["No_Beard"] < 1 and start + 1 < num_images:
      values[start + 1, column["No_Beard"]] = -1
  has_beard = values[:, column["No_Beard"]] == -1
  for name, rate in BEARD_ONLY_RATES.items():
    values[:, column[name]] = np.where(has_beard & (rng.random(num_images) < rate), 1, -1)
  return values.astype(np.int8)


def split_starts(num_images: int) -> tuple[int, int, int]:
  """First row of train, validation and test: CelebA's splits are contiguous runs of files."""
  train = round(num_images * SPLIT_SHARES[0])
  validation = round(num_images * SPLIT_SHARES[1])
  return 0, train, train + validation


def filename(index: int) -> str:
  return f"{index + 1:06d}.jpg"


def attribute_file_text(values: np.ndarray, newline: str) -> str:
  """list_attr_celeba.txt: the count, the names with a trailing space, rows of `%2d` values."""
  lines = [str(len(values)), " ".join(ATTRIBUTE_NAMES) + " "]
  lines += [filename(i) + "".join(f" {v:2d}" for v in row) for i, row in enumerate(values)]
  return newline.join(lines) + newline


def write_celeba(root: str, num_images: int, *, seed: int = 0, zip_images: bool = False,
                 crlf: bool = True, with_identity: bool = True,
                 rates: Mapping[str, float] | None = None) -> str:
  """Writes a CelebA folder of `num_images` images in the official formats.

  Args:
    root: the folder to write (created if missing); it becomes the builder's manual dir.
    num_images: images 000001.jpg ..; split 80/10/10 in file order as CelebA's.
    seed: draws images, attributes and identities.
    zip_images: write img_align_celeba.zip (top-level folder img_align_celeba/) instead of the
      folder.
    crlf: end the text files' lines with CRLF as the originals, else LF.
    with_identity: also write identity_CelebA.txt (about 5 images per identity).
    rates: P(value 1) per attribute name, overriding DEFAULT_RATES.

  Returns:
    `root`.
  """
  rng = np.random.default_rng(seed)
  newline = "\r\n" if crlf else "\n"
  os.makedirs(root, exist_ok=True)
  names = [filename(i) for i in range(num_images)]
  if zip_images:
    with zipfile.ZipFile(os.path.join(root, "img_align_celeba.zip"), "w") as archive:
      archive.writestr("img_align_celeba/", b"")
      for name in names:
        archive.writestr(f"img_align_celeba/{name}", write_jpeg(rng))
  else:
    os.makedirs(os.path.join(root, "img_align_celeba"), exist_ok=True)
    for name in names:
      with open(os.path.join(root, "img_align_celeba", name), "wb") as f:
        f.write(write_jpeg(rng))
  # newline="" keeps the "\r\n" written here from being translated again.
  with open(os.path.join(root, "list_attr_celeba.txt"), "w", newline="") as f:
    f.write(attribute_file_text(make_attributes(num_images, rng, rates), newline))
  starts = split_starts(num_images)
  splits = np.searchsorted(starts, np.arange(num_images), side="right") - 1
  with open(os.path.join(root, "list_eval_partition.txt"), "w", newline="") as f:
    f.write("".join(f"{name} {split}{newline}" for name, split in zip(names, splits)))
  if with_identity:
    identities = rng.integers(1, max(num_images // 5, 1) + 1, size=num_images)
    with open(os.path.join(root, "identity_CelebA.txt"), "w", newline="") as f:
      f.write("".join(f"{name} {i}{newline}" for name, i in zip(names, identities)))
  return root
