"""Tiny Toronto Face Dataset files in the real on-disk format, for tests.

`write_tfd` writes TFD_48x48.mat (or TFD_96x96.mat) as MATLAB v5 with the real file's variables:
`images` uint8 [N, R, R], `labs_ex` [N, 1] (-1 unlabelled, 1..7 = anger, disgust, fear, happy,
sad, surprise, neutral), `labs_id` [N, 1] (-1 unknown) and `folds` [N, 5] (0 unlabelled, else 1
train, 2 valid, 3 test). Each image is its person's smooth base face plus a bright disc at a place
that depends on its expression, of random strength, plus noise: a linear classifier learns the
expressions, and faint discs make it unsure, so the confidence threshold discards some images.
`make_tfd` returns the same arrays plus the hidden true expression of every image.
`write_v73_stub` writes the header of a MATLAB 7.3 (HDF5) file, which scipy cannot read.
"""

import os

import numpy as np
import scipy.io

NUM_EXPRESSIONS = 7
# Disc centres (row, column) as fractions of the image side, one per expression: eyes, brows,
# nose, mouth corners and chin, so each expression marks a different part of the face.
_DISC_CENTRES = ((0.3, 0.3), (0.3, 0.7), (0.5, 0.5), (0.7, 0.3), (0.7, 0.7), (0.85, 0.5),
                 (0.15, 0.5))
_DISC_RADIUS = 0.1
_DISC_BRIGHTNESS = 90.0
_NOISE = 12.0
_IMAGES_PER_PERSON = 6
_UNKNOWN_IDENTITY_FRACTION = 0.1  # Labelled images whose identity is unknown (-1).


def make_tfd(num_images: int = 300, *, seed: int = 0, resolution: int = 48,
             labelled_fraction: float = 0.4) -> dict[str, np.ndarray]:
  """The variables of a TFD .mat file, plus the truth the file hides.

  Args:
    num_images: N.
    seed: draws faces, expressions, strengths, noise, identities and folds.
    resolution: R, the image side (48 or 96).
    labelled_fraction: the share of images with an expression label (TFD's is about 4%).

  Returns:
    {"images": uint8 [N, R, R], "labs_ex": int32 [N, 1], "labs_id": int32 [N, 1], "folds": int32
    [N, 5]} as in the file, and "true_labs_ex": int32 [N] in 1..7, every image's expression.
  """
  rng = np.random.default_rng(seed)
  num_people = max(num_images // _IMAGES_PER_PERSON, 1)
  coarse = rng.uniform(60, 160, size=(num_people, 4, 4))
  faces = np.kron(coarse, np.ones((resolution // 4, resolution // 4)))  # [people, R, R]
  rows, columns = np.mgrid[0:resolution, 0:resolution] / resolution
  discs = np.stack([(rows - r) ** 2 + (columns - c) ** 2 < _DISC_RADIUS ** 2
                    for r, c in _DISC_CENTRES]).astype(np.float64)  # [7, R, R]

  people = rng.integers(0, num_people, size=num_images)
  expressions = rng.integers(0, NUM_EXPRESSIONS, size=num_images)
  strength = rng.uniform(0.15, 1.0, size=(num_images, 1, 1))
  pixels = (faces[people] + _DISC_BRIGHTNESS * strength * discs[expressions]
            + rng.normal(0, _NOISE, size=(num_images, resolution, resolution)))
  images = np.clip(np.round(pixels), 0, 255).astype(np.uint8)

  labelled = rng.random(num_images) < labelled_fraction
  labs_ex = np.where(labelled, expressions + 1, -1)
  known = labelled & (rng.random(num_images) >= _UNKNOWN_IDENTITY_FRACTION)
  labs_id = np.where(known, people + 1, -1)
  # Each of the 5 official folds puts every labelled image in train, valid or test.
  folds = rng.choice([1, 2, 3], p=[0.7, 0.15, 0.15], size=(num_images, 5))
  folds[~labelled] = 0
  return {"images": images, "labs_ex": labs_ex[:, None].astype(np.int32),
          "labs_id": labs_id[:, None].astype(np.int32), "folds": folds.astype(np.int32),
          "true_labs_ex": (expressions + 1).astype(np.int32)}


def filename(resolution: int) -> str:
  return f"TFD_{resolution}x{resolution}.mat"


def write_tfd(root: str, num_images: int = 300, *, seed: int = 0, resolution: int = 48,
              labelled_fraction: float = 0.4) -> str:
  """Writes `make_tfd`'s file variables to root/TFD_RxR.mat, MATLAB v5 as the real file.

  Args:
    root: the folder to write (created if missing); it becomes the builder's manual dir.
    num_images, seed, resolution, labelled_fraction: as `make_tfd`.

  Returns:
    `root`.
  """
  variables = make_tfd(num_images, seed=seed, resolution=resolution,
                       labelled_fraction=labelled_fraction)
  del variables["true_labs_ex"]  # The real file does not know it.
  os.makedirs(root, exist_ok=True)
  scipy.io.savemat(os.path.join(root, filename(resolution)), variables, format="5")
  return root


def write_v73_stub(path: str) -> str:
  """Writes what a MATLAB 7.3 (HDF5) .mat file starts with, and nothing else.

  The 128-byte MAT header: 116 bytes of text, 8 of subsystem offset, version 0x0200 and the
  endianness mark "IM"; then the HDF5 superblock signature at offset 512, after the user block.

  Returns:
    `path`.
  """
  text = (b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jun  4 10:00:00 2018 "
          b"HDF5 schema 1.00 .")
  header = text.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM"
  with open(path, "wb") as f:
    f.write(header.ljust(512, b"\x00") + b"\x89HDF\r\n\x1a\n")
  return path
