"""Procedural face images: seeded cartoon faces with three binary attributes, styles and identities.

Everything is rendered with numpy from factors, so an identity (face shape, skin, hair, eyes,
background) can be re-rendered with any attribute value and style: ground truth for the paper's
Method 2 and for tests of what a model's W captured.

`make_split` returns {"x": uint8 [N, S, S, 3], "y": float32 [N, 3] in {0, 1} (columns in
LABEL_NAMES order), "identity": int32 [N], and every generating factor as "factor/<name>":
float32 [N] or [N, d] (identity factors) or int32 [N] (attribute presence and style)}.
Attributes are drawn independently of identity, so the label cannot be told from the identity.
"""

import os

import numpy as np

VERSION = 2  # Bump when rendering changes: it names the cache files.
LABEL_NAMES = ("Eyeglasses", "Facial_Hair", "Smiling")
NUM_STYLES = {"Eyeglasses": 3, "Facial_Hair": 3, "Smiling": 3}  # see _draw_* for each style
NUM_PARAMS = 2  # continuous within-style factors per attribute, in [0, 1]
IDENTITY_FACTORS = {"face_width": 1, "face_height": 1, "skin": 1, "hair_colour": 1,
                    "hairline": 1, "eye_spacing": 1, "eye_height": 1, "background": 3}

_SKIN = np.array([[255, 224, 196], [224, 172, 129], [141, 85, 54]], np.float32) / 255
_HAIR = np.array([[30, 25, 20], [110, 70, 35], [220, 190, 120], [170, 60, 30]], np.float32) / 255


def _palette(colours: np.ndarray, t: np.ndarray) -> np.ndarray:
  """Piecewise-linear colour ramp: t [N] in [0, 1] -> [N, 1, 1, 3]."""
  position = t * (len(colours) - 1)
  low = np.clip(np.floor(position).astype(int), 0, len(colours) - 2)
  frac = (position - low)[:, None]
  return ((1 - frac) * colours[low] + frac * colours[low + 1])[:, None, None, :]


def _coverage(distance: np.ndarray, pixel: float) -> np.ndarray:
  """Anti-aliased coverage of a shape from its signed distance (negative inside): [...]->[..., 1]."""
  return np.clip(0.5 - distance / pixel, 0.0, 1.0)[..., None]


def _ellipse(u, v, cx, cy, a, b):
  """Approximate signed distance to an ellipse with centre (cx, cy) and radii (a, b)."""
  return (np.sqrt(((u - cx) / a) ** 2 + ((v - cy) / b) ** 2) - 1.0) * np.minimum(a, b)


def _box(u, v, cx, cy, half_w, half_h):
  qx, qy = np.abs(u - cx) - half_w, np.abs(v - cy) - half_h
  outside = np.sqrt(np.maximum(qx, 0) ** 2 + np.maximum(qy, 0) ** 2)
  return outside + np.minimum(np.maximum(qx, qy), 0.0)


def _col(a: np.ndarray) -> np.ndarray:
  """[N] factors -> [N, 1, 1] to broadcast against the [1, S, S] grid."""
  return np.asarray(a, np.float32)[:, None, None]


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
  coords = (np.arange(size, dtype=np.float32) + 0.5) / size * 2 - 1
  return coords[None, None, :], coords[None, :, None]  # u (left-right), v (top-down) in [-1, 1]


def _geometry(identities):
  """Face and eye placement of each identity, as [N, 1, 1] arrays."""
  g = {"fw": _col(0.50 + 0.15 * identities["face_width"]),
       "fh": _col(0.62 + 0.12 * identities["face_height"]),
       "ex": _col(0.20 + 0.10 * identities["eye_spacing"]),
       "ey": _col(-0.18 + 0.12 * identities["eye_height"])}
  g["mouth_y"] = g["ey"] + 0.52 * g["fh"]
  return g


def attribute_regions(identities: dict[str, np.ndarray], image_size: int = 64
                      ) -> dict[str, np.ndarray]:
  """Where each attribute can change pixels, for the given identities: name -> bool [N, S, S]."""
  u, v = _grid(image_size)
  g = _geometry(identities)
  eyes = _box(u, v, 0.0, g["ey"], g["ex"] + 0.30, 0.24) < 0
  lower = (_ellipse(u, v, 0.0, g["mouth_y"] + 0.02, g["fw"] * 0.95, 0.42) < 0) & (
      v > g["ey"] + 0.15)
  mouth = _box(u, v, 0.0, g["mouth_y"], 0.36, 0.2) < 0
  return {"Eyeglasses": eyes, "Facial_Hair": lower, "Smiling": mouth}


def _paint(image, colour, coverage):
  return image * (1 - coverage) + colour * coverage


def render(identities: dict[str, np.ndarray], attributes: dict[str, np.ndarray],
           image_size: int = 64) -> np.ndarray:
  """Draws faces: identity factors [N] (see IDENTITY_FACTORS) and attribute factors
  (`name`: int 0/1 [N], `name_style`: int [N], `name_params`: float [N, NUM_PARAMS]) -> uint8
  [N, S, S, 3]."""
  u, v = _grid(image_size)
  px = 2.0 / image_size
  n = len(identities["skin"])
  g = _geometry(identities)
  skin = _palette(_SKIN, identities["skin"])
  hair = _palette(_HAIR, identities["hair_colour"])
  image = np.broadcast_to(identities["background"][:, None, None, :] * 0.5 + 0.45,
                          (n, image_size, image_size, 3)).astype(np.float32)
  # Hair: a larger ellipse behind the face, visible above the hairline.
  top = -g["fh"] + 0.05 + 0.25 * _col(identities["hairline"])
  hair_shape = np.maximum(_ellipse(u, v, 0.0, -0.05, g["fw"] + 0.1, g["fh"] + 0.1), v - top - 0.35)
  image = _paint(image, hair, _coverage(hair_shape, px))
  face = np.maximum(_ellipse(u, v, 0.0, 0.05, g["fw"], g["fh"]), top - v)
  image = _paint(image, skin, _coverage(face, px))
  for side in (-1, 1):
    image = _paint(image, 0.1, _coverage(_ellipse(u, v, side * g["ex"], g["ey"], 0.07, 0.05), px))
  # The mouth goes over facial hair, so a smile shows through a beard.
  image = _draw_facial_hair(image, u, v, px, g, hair, attributes)
  image = _draw_mouth(image, u, v, px, g, attributes)
  image = _draw_glasses(image, u, v, px, g, attributes)
  return np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)


def _params(attributes, name):
  p = attributes[f"{name}_params"]
  return _col(attributes[name]), _col(attributes[f"{name}_style"]), _col(p[:, 0]), _col(p[:, 1])


def _draw_mouth(image, u, v, px, g, attributes):
  """Neutral: a flat line. Smiling styles: 0 closed curve, 1 open mouth with teeth, 2 wide grin."""
  on, style, width, depth = _params(attributes, "Smiling")
  # Styles differ beyond their within-style range: a grin is wider than any closed smile.
  half = np.where(on > 0, np.where(style == 2, 0.32, 0.18) + 0.07 * width, 0.14)
  sag = np.where(on > 0, 0.12 + 0.08 * depth + 0.06 * (style == 1), 0.0)
  dx = u / half
  inside = np.abs(dx) < 1
  # The lower lip sags in the middle (a smile); an open mouth is dark between it and a flat top
  # lip, with a band of teeth under the top.
  lower = g["mouth_y"] + sag * (1 - dx ** 2)
  line = np.where(inside, np.abs(v - lower) - np.where(style == 2, 0.04, 0.025), 1.0)
  opened = inside & (on > 0) & (style == 1)
  cavity = np.where(opened, np.maximum(v - lower, g["mouth_y"] - v), 1.0)
  image = _paint(image, np.array([0.3, 0.05, 0.08], np.float32), _coverage(cavity, px))
  teeth = np.where(opened, np.maximum(cavity, v - g["mouth_y"] - 0.05), 1.0)
  image = _paint(image, np.float32(0.97), _coverage(teeth, px))
  return _paint(image, np.array([0.75, 0.1, 0.15], np.float32), _coverage(line, px))


def _draw_facial_hair(image, u, v, px, g, hair, attributes):
  """Styles: 0 moustache, 1 full beard, 2 goatee; params: size, darkness."""
  on, style, size, dark = _params(attributes, "Facial_Hair")
  colour = hair * (0.75 - 0.5 * dark[..., None]) + 0.03
  mouth_y = g["mouth_y"]
  moustache = _box(u, v, 0.0, mouth_y - 0.1, 0.16 + 0.1 * size, 0.03 + 0.025 * size) - 0.02
  jaw = _ellipse(u, v, 0.0, mouth_y - 0.05, g["fw"] * 0.97, 0.30 + 0.12 * size)
  beard = np.maximum(jaw, g["ey"] + 0.25 - v)
  goatee = _ellipse(u, v, 0.0, mouth_y + 0.2 + 0.03 * size, 0.1 + 0.05 * size,
                    0.09 + 0.05 * size)
  shape = np.where(style == 0, moustache, np.where(style == 1, beard, goatee))
  return _paint(image, colour, _coverage(np.where(on > 0, shape, 1.0), px))


def _draw_glasses(image, u, v, px, g, attributes):
  """Styles: 0 round rims, 1 square rims, 2 dark sunglasses; params: lens size, rim tint."""
  on, style, size, tint = _params(attributes, "Eyeglasses")
  radius = 0.11 + 0.06 * size
  thickness = 0.025
  frame = np.full(np.broadcast_shapes(u.shape, v.shape, radius.shape), 1.0, np.float32)
  lens = frame.copy()
  for side in (-1, 1):
    cx = side * g["ex"]
    round_lens = _ellipse(u, v, cx, g["ey"], radius, radius * 0.9)
    square_lens = _box(u, v, cx, g["ey"], radius, radius * 0.75)
    shape = np.where(style == 0, round_lens, square_lens)
    frame = np.minimum(frame, np.abs(shape) - thickness)
    lens = np.minimum(lens, shape)
  bridge = _box(u, v, 0.0, g["ey"] - 0.02, g["ex"] - radius + 0.01, thickness)
  frame = np.minimum(frame, bridge)
  rim = np.stack([0.1 + 0.6 * tint, 0.1 + 0.2 * tint, 0.1 + 0.05 * tint], -1)
  image = _paint(image, 0.08, _coverage(np.where((on > 0) & (style == 2), lens, 1.0), px))
  return _paint(image, rim, _coverage(np.where(on > 0, frame, 1.0), px))


def sample_identities(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
  """Identity factors, each float32 [n] in [0, 1] ("background": [n, 3])."""
  return {name: rng.uniform(size=(n, dim) if dim > 1 else n).astype(np.float32)
          for name, dim in IDENTITY_FACTORS.items()}


def sample_attributes(rng: np.random.Generator, n: int,
                      present_prob: float = 0.5) -> dict[str, np.ndarray]:
  """Per attribute: `name` int32 [n] 0/1, `name_style` int32 [n], `name_params` float32 [n, 2]."""
  out = {}
  for name in LABEL_NAMES:
    out[name] = (rng.uniform(size=n) < present_prob).astype(np.int32)
    out[f"{name}_style"] = rng.integers(0, NUM_STYLES[name], n).astype(np.int32)
    out[f"{name}_params"] = rng.uniform(size=(n, NUM_PARAMS)).astype(np.float32)
  return out


def identity_factors(split: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
  """The identity factors stored in a split (see IDENTITY_FACTORS)."""
  return {name: split[f"factor/{name}"] for name in IDENTITY_FACTORS}


def attribute_factors(split: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
  """Copies of the attribute factors stored in a split, ready to edit and `rerender`."""
  return {f"{name}{suffix}": split[f"factor/{name}{suffix}"].copy()
          for name in LABEL_NAMES for suffix in ("", "_style", "_params")}


def make_split(num_examples: int, seed: int, image_size: int = 64,
               num_identities: int | None = None) -> dict[str, np.ndarray]:
  """`num_examples` faces of `num_identities` (default N // 4) identities; see the module doc."""
  rng = np.random.default_rng(seed)
  num_identities = num_identities or max(1, num_examples // 4)
  people = sample_identities(rng, num_identities)
  identity = rng.integers(0, num_identities, num_examples).astype(np.int32)
  identities = {k: v[identity] for k, v in people.items()}
  attributes = sample_attributes(rng, num_examples)
  split = {"x": render(identities, attributes, image_size),
           "y": np.stack([attributes[name] for name in LABEL_NAMES], 1).astype(np.float32),
           "identity": identity}
  split.update({f"factor/{k}": v for k, v in {**identities, **attributes}.items()})
  return split


def rerender(split: dict[str, np.ndarray], attributes: dict[str, np.ndarray],
             image_size: int = 64) -> np.ndarray:
  """The identities of `split` drawn with new attribute factors: uint8 [N, S, S, 3]."""
  return render(identity_factors(split), attributes, image_size)


def load(num_train: int, num_validation: int, num_test: int, seed: int, image_size: int = 64,
         cache_dir: str | None = None) -> dict[str, dict[str, np.ndarray]]:
  """{"train", "validation", "test"} splits from independent streams of `seed`.

  Identities are numbered per split (each split draws its own people). With `cache_dir`, the
  splits are written there once as .npz (rendering takes about 2 ms an image) and read back.
  """
  seeds = np.random.SeedSequence(seed).generate_state(3)
  sizes = {"train": num_train, "validation": num_validation, "test": num_test}
  splits = {}
  for (name, size), split_seed in zip(sizes.items(), seeds):
    path = None
    if cache_dir:
      path = os.path.join(cache_dir, f"procedural_v{VERSION}_{name}_{size}_{seed}_{image_size}.npz")
      if os.path.exists(path):
        with np.load(path) as cached:
          splits[name] = dict(cached)
        continue
    splits[name] = make_split(size, int(split_seed), image_size)
    if path:
      os.makedirs(cache_dir, exist_ok=True)
      tmp = path + ".tmp.npz"  # np.savez adds .npz; rename makes the write atomic.
      np.savez(tmp, **splits[name])
      os.replace(tmp, path)
  return splits
