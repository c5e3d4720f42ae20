"""Procedural faces: the project's embedded image data set, cartoon faces rendered by numpy.

A face is a pure function of factors, `render(identities, attributes)`, so any identity can be
re-rendered with any attribute value and style: the ground truth of the paper's Method 2 and of
tests of what a model's W captured. Coordinates are u (left to right) and v (top to bottom) in
[-1, 1]; each shape is a signed distance (negative inside) turned into anti-aliased coverage.

Identity factors (`sample_identities`): float32 [N] in [0, 1] for each name in IDENTITY_FACTORS
except "background" (float32 [N, 3] in [0, 1], the background colour) and "hair_style" (int32 [N]
in [0, NUM_HAIR_STYLES): short, side fringe, long).
Attribute factors (`sample_attributes`), per name in LABEL_NAMES: `name` int32 [N] in {0, 1},
`name_style` int32 [N] in [0, NUM_STYLES[name]) (STYLE_NAMES) and `name_params` float32
[N, NUM_PARAMS] in [0, 1] (PARAM_NAMES), within-style variation. Attributes are drawn independently
of identity and of each other, so Eyeglasses and Facial_Hair co-occur.

`make_split` returns {"x": uint8 [N, S, S, 3], "y": float32 [N, 3] in {0, 1} (columns in
LABEL_NAMES order), "identity": int32 [N], and every factor as "factor/<name>" with the dtype and
shape above}. Style and params are drawn even where the attribute is absent (they do not change
the image then), so an edit only has to flip `name`.
"""

import os

import numpy as np

VERSION = 3  # Bump when rendering changes: it names the cache files.
LABEL_NAMES = ("Eyeglasses", "Facial_Hair", "Smiling")
STYLE_NAMES = {"Eyeglasses": ("round rims", "square rims", "sunglasses"),
               "Facial_Hair": ("moustache", "full beard", "goatee"),
               "Smiling": ("closed smile", "open smile with teeth", "wide grin")}
NUM_STYLES = {name: len(styles) for name, styles in STYLE_NAMES.items()}
PARAM_NAMES = {"Eyeglasses": ("lens size", "rim thickness", "frame colour"),
               "Facial_Hair": ("length", "darkness", "width"),
               "Smiling": ("width", "curvature", "lip thickness")}
NUM_PARAMS = 3
IDENTITY_FACTORS = {"face_width": 1, "face_height": 1, "jaw": 1, "skin_tone": 1, "hair_colour": 1,
                    "hairline": 1, "hair_volume": 1, "eye_spacing": 1, "eye_height": 1,
                    "eye_size": 1, "brow_thickness": 1, "nose_size": 1, "background": 3}
NUM_HAIR_STYLES = 3
_CENTRE = 0.08  # v of the face's centre: a little low, leaving room for hair.
_CHUNK = 256    # images rendered at once: their float32 canvas stays in cache.

_SKIN = np.array([[255, 226, 200], [241, 194, 160], [222, 168, 125], [186, 128, 88],
                  [140, 88, 58], [96, 60, 42]], np.float32) / 255
_HAIR = np.array([[25, 20, 18], [70, 45, 30], [120, 80, 45], [170, 75, 35], [225, 195, 120],
                  [180, 180, 180]], np.float32) / 255
_FRAME = np.array([[15, 15, 15], [110, 60, 25], [150, 20, 30], [20, 40, 120]], np.float32) / 255
_LIP = np.array([0.6, 0.15, 0.18], np.float32)


def _palette(colours: np.ndarray, t: np.ndarray) -> np.ndarray:
  """Piecewise-linear colour ramp: t [N] in [0, 1] -> [N, 1, 1, 3]."""
  position = np.asarray(t, np.float32) * (len(colours) - 1)
  low = np.clip(np.floor(position).astype(int), 0, len(colours) - 2)
  frac = (position - low)[:, None]
  return ((1 - frac) * colours[low] + frac * colours[low + 1])[:, None, None, :]


def _col(a) -> np.ndarray:
  """[N] factors -> float32 [N, 1, 1], to broadcast against a [1, H, W] window of the grid."""
  return np.asarray(a, np.float32)[:, None, None]


def _ellipse(u, v, cx, cy, a, b):
  """Approximate signed distance to an ellipse with centre (cx, cy) and radii (a, b)."""
  return (np.sqrt(((u - cx) / a) ** 2 + ((v - cy) / b) ** 2) - 1) * np.minimum(a, b)


def _box(u, v, cx, cy, half_w, half_h):
  qx, qy = np.abs(u - cx) - half_w, np.abs(v - cy) - half_h
  return np.sqrt(np.maximum(qx, 0) ** 2 + np.maximum(qy, 0) ** 2) + np.minimum(np.maximum(qx, qy), 0)


def _paint(canvas, colour, distance, px):
  """Blends `colour` into canvas [N, h, w, 3] in place, over the shape of `distance` [N, h, w]."""
  coverage = np.clip(0.5 - distance * (1 / px), 0, 1)[..., None]
  canvas += coverage * (colour - canvas)


def _face(u, v, g, grow_w=0.0, grow_h=0.0):
  """Signed distance to the head, an ellipse narrowed below its centre towards the chin."""
  below = np.clip((v - _CENTRE) / g["fh"], 0, 1)
  width = (g["fw"] + grow_w) * (1 - 0.25 * g["jaw"] * below * below)
  return (np.sqrt((u / width) ** 2 + ((v - _CENTRE) / (g["fh"] + grow_h)) ** 2) - 1) * g["fw"]


def _geometry(identities):
  """Placement of each identity's features, as float32 [N, 1, 1] arrays."""
  g = {"fw": 0.5 + 0.12 * _col(identities["face_width"]),
       "fh": 0.64 + 0.1 * _col(identities["face_height"]),
       "jaw": _col(identities["jaw"]),
       "ex": 0.2 + 0.08 * _col(identities["eye_spacing"]),
       "ey": _CENTRE - 0.18 + 0.1 * _col(identities["eye_height"]),
       "es": 0.9 + 0.35 * _col(identities["eye_size"])}
  g["mouth_y"] = _CENTRE + 0.42 * g["fh"]
  return g


def _window(size, v0, v1):
  """Rows covering v in [v0, v1] (plus two pixels for anti-aliasing): (slice, u [1, 1, S], v)."""
  first = max(int(np.floor((v0 + 1) / 2 * size)) - 2, 0)
  last = min(int(np.ceil((v1 + 1) / 2 * size)) + 2, size)
  coords = (np.arange(size, dtype=np.float32) + 0.5) * (2 / size) - 1
  return slice(first, last), coords[None, None, :], coords[None, first:last, None]


def attribute_regions(identities: dict[str, np.ndarray], image_size: int = 64
                      ) -> dict[str, np.ndarray]:
  """Where each attribute can change pixels, for any style and params: name -> bool [N, S, S].

  Args:
    identities: identity factors of N faces (see the module doc).
    image_size: S.
  """
  _, u, v = _window(image_size, -1, 1)
  g = _geometry(identities)
  margin = 4 / image_size  # two pixels of anti-aliasing
  ey, mouth_y = g["ey"], g["mouth_y"]
  beard_top = np.minimum(ey + 0.2, ey + 0.34 - 0.26 * (u / g["fw"]) ** 2)
  lower_face = np.maximum(_face(u, v, g, 0.02, 0.12), beard_top - v)
  return {"Eyeglasses": _box(u, v, 0, ey, g["fw"] + 0.06, 0.26) < margin,
          "Facial_Hair": lower_face < margin,
          "Smiling": _box(u, v, 0, mouth_y + 0.045, 0.37, 0.16) < margin}


def _draw_head(canvas, u, v, g, identities, px):
  """Everything that does not depend on the attributes, in place on canvas [N, S, S, 3]."""
  skin = _palette(_SKIN, identities["skin_tone"])
  hair = _palette(_HAIR, identities["hair_colour"])
  style, volume = _col(identities["hair_style"]), _col(identities["hair_volume"])
  fw, fh, ex, ey = g["fw"], g["fh"], g["ex"], g["ey"]
  canvas[:] = identities["background"][:, None, None, :] * 0.5 + 0.42
  grow = 0.06 + 0.08 * volume
  back = np.maximum(_ellipse(u, v, 0, _CENTRE - 0.06, fw + grow, fh + grow - 0.02),
                    v - _CENTRE + 0.05)
  long_hair = _box(u, v, 0, _CENTRE + 0.25, fw + grow - 0.12, 0.3 + 0.1 * volume) - 0.14
  _paint(canvas, hair, np.where(style == 2, np.minimum(back, long_hair), back), px)
  # Long hair covers the ears.
  ears = np.minimum(_ellipse(u, v, -fw, ey + 0.06, 0.08, 0.13),
                    _ellipse(u, v, fw, ey + 0.06, 0.08, 0.13))
  _paint(canvas, skin * 0.93, np.where(style == 2, 1.0, ears), px)
  face = _face(u, v, g)
  _paint(canvas, skin, face, px)
  hairline = _CENTRE - fh + 0.16 + 0.2 * _col(identities["hairline"])
  ratio = u / fw
  edge = np.select([style == 0, style == 1], [0.12 * ratio * ratio, 0.12 + 0.3 * ratio],
                   0.28 * np.abs(ratio) - 0.06)
  # Grown past the face's edge (onto the hair behind it) so no skin halo is left there.
  _paint(canvas, hair, np.maximum(face - 0.04, v - np.minimum(hairline + edge, ey - 0.22)), px)
  brow_half = 0.012 + 0.018 * _col(identities["brow_thickness"])
  for side in (-1, 1):
    du = (u - side * ex) / 0.12
    brow_v = ey - 0.15 * g["es"] - 0.035 * (1 - du * du)
    _paint(canvas, hair * 0.6, np.maximum(np.abs(v - brow_v) - brow_half, np.abs(du) * 0.12 - 0.12),
           px)
    _paint(canvas, 0.97, _ellipse(u, v, side * ex, ey, 0.075 * g["es"], 0.055 * g["es"]), px)
    _paint(canvas, 0.08, _ellipse(u, v, side * ex, ey + 0.005, 0.042 * g["es"], 0.042 * g["es"]), px)
  nose = 0.8 + 0.5 * _col(identities["nose_size"])
  _paint(canvas, skin * 0.8, _ellipse(u, v, 0, (ey + g["mouth_y"]) / 2 + 0.03, 0.045 * nose,
                                      0.06 * nose), px)


def _draw_facial_hair(canvas, u, v, g, identities, params, style, px):
  length, darkness, width = params
  hair = _palette(_HAIR, identities["hair_colour"])
  # Never lighter than half the skin, so that a blond beard still shows on any face.
  colour = np.minimum(hair + (0.06 - hair) * (0.35 + 0.55 * darkness[..., None]),
                      _palette(_SKIN, identities["skin_tone"]) * 0.45)
  mouth_y, fw = g["mouth_y"], g["fw"]
  if style == 0:  # moustache with drooping ends
    half_w = 0.15 + 0.08 * width
    t = u / half_w
    shape = np.maximum(np.abs(v - (mouth_y - 0.08 + 0.06 * t * t))
                       - (0.03 + 0.025 * length) * (1 - 0.5 * t * t), np.abs(u) - half_w)
  elif style == 1:  # full beard, with sideburns up to the ears
    top = g["ey"] + 0.34 - (0.2 + 0.06 * width) * (u / fw) ** 2
    shape = np.maximum(_face(u, v, g, 0.02, 0.04 + 0.08 * length), top - v)
  else:  # goatee: from under the lower lip over the chin, narrowing downwards
    below = v - mouth_y - 0.06
    shape = np.maximum(np.maximum(_face(u, v, g, 0, 0.03 + 0.08 * length), -below),
                       np.abs(u) - (0.12 + 0.08 * width) + 0.2 * below)
  _paint(canvas, colour, shape, px)


def _draw_mouth(canvas, u, v, g, params, style, px):
  """A neutral line for style -1 (not smiling), else the smile of STYLE_NAMES["Smiling"]."""
  width, curve, thick = params
  mouth_y, lip = g["mouth_y"], 0.018 + 0.016 * thick
  if style == -1:
    _paint(canvas, _LIP, np.maximum(np.abs(v - mouth_y) - 0.018, np.abs(u) - 0.11), px)
    return
  half_w = np.where(style == 2, 0.25, 0.13) + 0.08 * width
  t2 = (u / half_w) ** 2
  inside = np.abs(u) - half_w
  if style == 0:  # closed: a line whose corners rise
    sag = 0.05 + 0.06 * curve
    _paint(canvas, _LIP, np.maximum(np.abs(v - mouth_y - sag * (0.5 - t2)) - lip, inside), px)
    return
  # Open: dark between a top lip and a sagging bottom lip, teeth below the top one; a grin is
  # wider, its top lip curves too and it shows two rows of teeth.
  top = mouth_y - 0.05 + (0.04 * (1 - t2) if style == 2 else 0)
  bottom = mouth_y - 0.05 + (0.1 + 0.06 * curve) * (1 - t2)
  opening = np.maximum(np.maximum(top - v, v - bottom), inside)
  _paint(canvas, np.array([0.3, 0.04, 0.08], np.float32), opening, px)
  teeth = opening if style == 2 else np.maximum(opening, v - top - 0.05)
  _paint(canvas, 0.96, teeth, px)
  if style == 2:
    _paint(canvas, 0.45, np.maximum(opening, np.abs(v - (top + bottom) / 2) - 0.012), px)
  _paint(canvas, _LIP, np.abs(opening) - lip, px)


def _draw_glasses(canvas, u, v, g, params, style, px):
  size, thick, tint = params
  radius, rim = 0.11 + 0.06 * size, 0.035 + 0.025 * thick
  ex, ey = g["ex"], g["ey"]
  frame, lenses = 1.0, 1.0
  for side in (-1, 1):
    if style == 0:
      lens = _ellipse(u, v, side * ex, ey, radius, radius * 0.95)
    elif style == 1:
      lens = _box(u, v, side * ex, ey, radius * 1.05, radius * 0.72) - 0.01
    else:
      lens = _box(u, v, side * ex, ey + 0.01, radius * 1.1 - 0.05, radius * 0.85 - 0.05) - 0.05
    frame, lenses = np.minimum(frame, np.abs(lens) - rim), np.minimum(lenses, lens)
  # Bridge between the lenses and arms out to the ears, on the line of the lenses' tops.
  bar = _box(u, v, 0, ey - 0.03, g["fw"] + 0.02, rim * 0.8)
  frame = np.minimum(frame, np.maximum(bar, np.minimum(ex - np.abs(u), np.abs(u) - ex - radius)))
  colour = _palette(_FRAME, tint[:, 0, 0])
  if style == 2:
    _paint(canvas, colour * 0.35 + 0.03, lenses, px)
  _paint(canvas, colour, frame, px)


def _draw_attributes(canvas, u, v, g, identities, attributes, px):
  """Draws, on the examples that have it, each style of each attribute, in place."""
  def subset(select):
    return ({k: a[select] for k, a in g.items()}, {k: a[select] for k, a in identities.items()})

  def params(name, select):
    return tuple(_col(p) for p in attributes[f"{name}_params"][select].T)

  # Facial hair goes under the mouth, so a smile shows through a beard; glasses go over both.
  layers = [("Facial_Hair", lambda c, u, v, g, i, p, s: _draw_facial_hair(c, u, v, g, i, p, s, px)),
            ("Smiling", lambda c, u, v, g, i, p, s: _draw_mouth(c, u, v, g, p, s, px)),
            ("Eyeglasses", lambda c, u, v, g, i, p, s: _draw_glasses(c, u, v, g, p, s, px))]
  for name, draw in layers:
    present, style = attributes[name], attributes[f"{name}_style"]
    # Not smiling is a style of its own (a neutral mouth); absent eyewear or hair draws nothing.
    groups = range(-1 if name == "Smiling" else 0, NUM_STYLES[name])
    for s in groups:
      select = np.flatnonzero((present == 0) if s == -1 else (present == 1) & (style == s))
      if select.size:
        crop = canvas[select]
        draw(crop, u, v, *subset(select), params(name, select), s)
        canvas[select] = crop


def render(identities: dict[str, np.ndarray], attributes: dict[str, np.ndarray],
           image_size: int = 64) -> np.ndarray:
  """Draws N faces.

  Args:
    identities: identity factors, each [N] or [N, d] (see the module doc).
    attributes: attribute factors of the same N faces (see the module doc).
    image_size: S, the side of the square images.

  Returns:
    uint8 [N, S, S, 3].
  """
  _, u, v = _window(image_size, -1, 1)
  px = 2 / image_size
  n = len(identities["skin_tone"])
  out = np.empty((n, image_size, image_size, 3), np.uint8)
  for start in range(0, n, _CHUNK):
    part = slice(start, start + _CHUNK)
    people = {k: a[part] for k, a in identities.items()}
    g = _geometry(people)
    canvas = np.empty((len(people["skin_tone"]), image_size, image_size, 3), np.float32)
    _draw_head(canvas, u, v, g, people, px)
    _draw_attributes(canvas, u, v, g, people, {k: a[part] for k, a in attributes.items()}, px)
    out[part] = np.clip(canvas * 255 + 0.5, 0, 255).astype(np.uint8)
  return out


def sample_identities(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
  """Identity factors of n faces (see the module doc for keys, dtypes and shapes)."""
  people = {name: rng.uniform(size=(n, dim) if dim > 1 else n).astype(np.float32)
            for name, dim in IDENTITY_FACTORS.items()}
  people["hair_style"] = rng.integers(0, NUM_HAIR_STYLES, n).astype(np.int32)
  return people


def sample_attributes(rng: np.random.Generator, n: int,
                      present_prob: float = 0.5) -> dict[str, np.ndarray]:
  """Attribute factors of n faces, each present with `present_prob` independently.

  Returns:
    Per name in LABEL_NAMES: `name` int32 [n] in {0, 1}, `name_style` int32 [n] in
    [0, NUM_STYLES[name]), `name_params` float32 [n, NUM_PARAMS] in [0, 1].
  """
  out = {}
  for name in LABEL_NAMES:
    out[name] = (rng.uniform(size=n) < present_prob).astype(np.int32)
    out[f"{name}_style"] = rng.integers(0, NUM_STYLES[name], n).astype(np.int32)
    out[f"{name}_params"] = rng.uniform(size=(n, NUM_PARAMS)).astype(np.float32)
  return out


def identity_factors(split: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
  """The identity factors stored in a split, keyed as `sample_identities` keys them."""
  return {name: split[f"factor/{name}"] for name in (*IDENTITY_FACTORS, "hair_style")}


def attribute_factors(split: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
  """Copies of the attribute factors stored in a split, ready to edit and `rerender`."""
  return {f"{name}{suffix}": split[f"factor/{name}{suffix}"].copy()
          for name in LABEL_NAMES for suffix in ("", "_style", "_params")}


def make_split(num_examples: int, seed: int, image_size: int = 64,
               num_identities: int | None = None) -> dict[str, np.ndarray]:
  """N faces of `num_identities` people, each with independently drawn attributes.

  Args:
    num_examples: N.
    seed: everything is a function of it.
    image_size: S.
    num_identities: people to draw (default N // 4); examples are dealt to them in turn, so each
      has N // num_identities or one more: pairs of one face with different attributes.

  Returns:
    {"x": uint8 [N, S, S, 3], "y": float32 [N, 3], "identity": int32 [N] in [0, num_identities),
    "factor/<name>": each identity and attribute factor} (see the module doc).
  """
  rng = np.random.default_rng(seed)
  num_identities = num_identities or max(1, num_examples // 4)
  people = sample_identities(rng, num_identities)
  identity = rng.permutation(np.arange(num_examples) % num_identities).astype(np.int32)
  identities = {k: a[identity] for k, a in people.items()}
  attributes = sample_attributes(rng, num_examples)
  split = {"x": render(identities, attributes, image_size),
           "y": np.stack([attributes[name] for name in LABEL_NAMES], 1).astype(np.float32),
           "identity": identity}
  split.update({f"factor/{k}": a for k, a in {**identities, **attributes}.items()})
  return split


def rerender(split: dict[str, np.ndarray], attributes: dict[str, np.ndarray],
             image_size: int = 64) -> np.ndarray:
  """The faces of `split` (its stored identity factors) with new attribute factors.

  Args:
    split: from `make_split` or `load`, N examples.
    attributes: attribute factors for the N examples, e.g. `attribute_factors(split)` edited.
    image_size: S.

  Returns:
    uint8 [N, S, S, 3].
  """
  return render(identity_factors(split), attributes, image_size)


def load(num_train: int, num_validation: int, num_test: int, seed: int, image_size: int = 64,
         cache_dir: str | None = None) -> dict[str, dict[str, np.ndarray]]:
  """{"train", "validation", "test"} splits (see `make_split`) from independent streams of `seed`.

  Each split draws its own people, and its identity numbers start after the previous splits'
  example counts, so identities are disjoint between splits. With `cache_dir`, each split is
  written there once as .npz and read back by later calls.
  """
  seeds = np.random.SeedSequence(seed).generate_state(3)
  sizes = {"train": num_train, "validation": num_validation, "test": num_test}
  splits, first_identity = {}, 0
  for (name, size), split_seed in zip(sizes.items(), seeds):
    path = cache_dir and os.path.join(
        cache_dir, f"procedural_v{VERSION}_{name}_{size}_{seed}_{image_size}.npz")
    if path and os.path.exists(path):
      with np.load(path) as cached:
        split = dict(cached)
    else:
      split = make_split(size, int(split_seed), image_size)
      if path:
        os.makedirs(cache_dir, exist_ok=True)
        tmp = path + ".tmp.npz"  # np.savez adds .npz; the rename makes the write atomic.
        np.savez(tmp, **split)
        os.replace(tmp, path)
    split["identity"] = split["identity"] + np.int32(first_identity)
    splits[name] = split
    first_identity += size
  return splits
