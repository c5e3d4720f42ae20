"""Procedural faces: the project's embedded image dataset, cartoon faces rendered by numpy.

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
LABEL_NAMES order), "identity": int32 [N] (disjoint between the splits of `load`), and every
factor as "factor/<name>" with the dtype and shape above}. Style and params are drawn even where
the attribute is absent (they do not change the image then), so an edit only has to flip `name`.
Rendering is vectorised over chunks of faces: 20,000 64x64 faces take about 4 s on one core.
"""

import io

from etils import epath
import numpy as np

from csvae_jax import paths

VERSION = 4  # Bump when rendering changes: it names the cache files.
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
_LIP = np.array([0.8, 0.12, 0.16], np.float32)  # bright enough to show on a beard
_MOUTH = np.array([0.3, 0.04, 0.08], np.float32)
_WHITE, _GREY, _BLACK = (np.full(3, c, np.float32) for c in (0.96, 0.45, 0.08))


def _palette(colours: np.ndarray, t: np.ndarray) -> np.ndarray:
  """Piecewise-linear colour ramp: t [N] in [0, 1] -> [3, N, 1, 1]."""
  position = np.asarray(t, np.float32).reshape(-1) * (len(colours) - 1)
  low = np.clip(np.floor(position), 0, len(colours) - 2)
  frac = (position - low)[:, None]
  low = low.astype(int)
  return ((1 - frac) * colours[low] + frac * colours[low + 1]).T[:, :, None, None]


def _col(a) -> np.ndarray:
  """[N] factors -> float32 [N, 1, 1], to broadcast against a [1, h, S] window of the grid."""
  return np.asarray(a, np.float32)[:, None, None]


def _ellipse(u, v, cx, cy, a, b):
  """Approximate signed distance to an ellipse with centre (cx, cy) and radii (a, b)."""
  return (np.sqrt(((u - cx) / a) ** 2 + ((v - cy) / b) ** 2) - 1) * np.float32(np.minimum(a, b))


def _box(u, v, cx, cy, half_w, half_h):
  """Signed distance to an axis-aligned box with centre (cx, cy) and half sides (half_w, half_h)."""
  qx, qy = np.abs(u - cx) - half_w, np.abs(v - cy) - half_h
  outside = np.sqrt(np.maximum(qx, 0) ** 2 + np.maximum(qy, 0) ** 2)
  return outside + np.minimum(np.maximum(qx, qy), 0)


def _paint(canvas, colour, distance):
  """Blends colour [3, ...] into canvas [3, N, h, S] in place, over distance's shape [N, h, S]."""
  # Coverage falls from 1 to 0 across one pixel (2 / S) of the edge: anti-aliasing.
  coverage = np.clip(0.5 - distance * (canvas.shape[-1] / 2), 0, 1)
  for channel, value in zip(canvas, colour):
    channel += coverage * (value - channel)


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


def _grid(size):
  """Pixel centres: u [1, 1, S] (left to right) and v [1, S, 1] (top to bottom) in [-1, 1]."""
  coords = (np.arange(size, dtype=np.float32) + 0.5) * (2 / size) - 1
  return coords[None, None, :], coords[None, :, None]


def _rows(size, lo, hi):
  """The rows that hold v in [min(lo), max(hi)], plus two for anti-aliasing, as a slice."""
  first = int(np.floor((np.min(lo) + 1) * size / 2)) - 2
  last = int(np.ceil((np.max(hi) + 1) * size / 2)) + 2
  return slice(max(first, 0), min(last, size))


# Per attribute, the band of v it draws in (every style and params), for the rendering windows.
_BANDS = {"Facial_Hair": lambda g: (g["ey"] + 0.05, _CENTRE + g["fh"] + 0.15),
          "Smiling": lambda g: (g["mouth_y"] - 0.13, g["mouth_y"] + 0.22),
          "Eyeglasses": lambda g: (g["ey"] - 0.27, g["ey"] + 0.27)}


def attribute_regions(identities: dict[str, np.ndarray], image_size: int = 64
                      ) -> dict[str, np.ndarray]:
  """Where each attribute can change pixels, whatever its style and params.

  Args:
    identities: identity factors of N faces (see the module doc).
    image_size: S.

  Returns:
    {name: bool [N, S, S]} for each name in LABEL_NAMES; the pixels that switching the attribute
    on or off, or changing its style or params, can change (with two pixels of anti-aliasing).
  """
  u, v = _grid(image_size)
  g = _geometry(identities)
  margin = 4 / image_size  # two pixels of anti-aliasing
  ey, mouth_y = g["ey"], g["mouth_y"]
  beard_top = np.minimum(mouth_y - 0.18, ey + 0.34 - 0.26 * (u / g["fw"]) ** 2)
  lower_face = np.maximum(_face(u, v, g, 0.02, 0.12), beard_top - v)
  lens_half_h = 0.95 * (0.075 * g["es"] + 0.09) + 0.05  # largest round lens and rim
  return {"Eyeglasses": _box(u, v, 0, ey, g["fw"] + 0.06, lens_half_h) < margin,
          "Facial_Hair": lower_face < margin,
          "Smiling": _box(u, v, 0, mouth_y + 0.045, 0.38, 0.16) < margin}


def _band(canvas, v, lo, hi):
  """Views of canvas [3, N, S, S] and v [1, S, 1] on the rows that hold v in [min(lo), max(hi)]."""
  rows = _rows(canvas.shape[-1], lo, hi)
  return canvas[:, :, rows], v[:, rows]


def _draw_head(canvas, u, v, g, people):
  """Everything that does not depend on the attributes, in place on canvas [3, N, S, S]."""
  skin = _palette(_SKIN, people["skin_tone"])
  hair = _palette(_HAIR, people["hair_colour"])
  style, volume = _col(people["hair_style"]), _col(people["hair_volume"])
  fw, fh, ex, ey, es = g["fw"], g["fh"], g["ex"], g["ey"], g["es"]
  canvas[:] = people["background"].T[:, :, None, None] * 0.5 + 0.42
  grow = 0.06 + 0.08 * volume
  back = np.maximum(_ellipse(u, v, 0, _CENTRE - 0.06, fw + grow, fh + grow - 0.02),
                    v - _CENTRE + 0.05)
  long_hair = _box(u, v, 0, _CENTRE + 0.25, fw + grow - 0.12, 0.3 + 0.1 * volume) - 0.14
  _paint(canvas, hair, np.where(style == 2, np.minimum(back, long_hair), back))
  window, vw = _band(canvas, v, ey - 0.1, ey + 0.22)
  ears = np.minimum(_ellipse(u, vw, -fw, ey + 0.06, 0.08, 0.13),
                    _ellipse(u, vw, fw, ey + 0.06, 0.08, 0.13))
  _paint(window, skin * 0.93, np.where(style == 2, np.float32(1), ears))  # long hair hides ears
  _paint(canvas, skin, _face(u, v, g))
  ratio = u / fw
  edge = np.select([style == 0, style == 1], [0.12 * ratio * ratio, 0.12 + 0.3 * ratio],
                   0.28 * np.abs(ratio) - 0.06)
  hairline = np.minimum(_CENTRE - fh + 0.16 + 0.2 * _col(people["hairline"]) + edge, ey - 0.22)
  window, vw = _band(canvas, v, _CENTRE - fh - 0.05, ey - 0.22)
  # Grown past the face's edge (onto the hair behind it) so that no skin halo is left there.
  _paint(window, hair, np.maximum(_face(u, vw, g) - 0.04, vw - hairline))
  window, vw = _band(canvas, v, ey - 0.15 * es - 0.07, ey + 0.06 * es)
  brow_half = 0.012 + 0.018 * _col(people["brow_thickness"])
  for side in (-1, 1):
    du = (u - side * ex) / 0.12
    brow = np.abs(vw - ey + 0.15 * es + 0.035 * (1 - du * du)) - brow_half
    _paint(window, hair * 0.6, np.maximum(brow, np.abs(du) * 0.12 - 0.12))
    _paint(window, _WHITE, _ellipse(u, vw, side * ex, ey, 0.075 * es, 0.055 * es))
    _paint(window, _BLACK, _ellipse(u, vw, side * ex, ey + 0.005, 0.042 * es, 0.042 * es))
  nose = 0.8 + 0.5 * _col(people["nose_size"])
  nose_y = (ey + g["mouth_y"]) / 2 + 0.03
  window, vw = _band(canvas, v, nose_y - 0.06 * nose, nose_y + 0.06 * nose)
  _paint(window, skin * 0.8, _ellipse(u, vw, 0, nose_y, 0.045 * nose, 0.06 * nose))


def _draw_facial_hair(canvas, u, v, g, people, params, style):
  length, darkness, width = params
  hair = _palette(_HAIR, people["hair_colour"])
  # Never lighter than half the skin, so that a blond beard still shows on any face.
  colour = np.minimum(hair + (0.06 - hair) * (0.35 + 0.55 * darkness),
                      _palette(_SKIN, people["skin_tone"]) * 0.45)
  mouth_y, fw = g["mouth_y"], g["fw"]
  if style == 0:  # moustache with drooping ends
    half_w = 0.17 + 0.08 * width
    t = u / half_w
    shape = np.maximum(np.abs(v - (mouth_y - 0.1 + 0.06 * t * t))
                       - (0.045 + 0.03 * length) * (1 - 0.5 * t * t), np.abs(u) - half_w)
  elif style == 1:  # full beard, with sideburns up to the ears
    top = g["ey"] + 0.34 - (0.2 + 0.06 * width) * (u / fw) ** 2
    shape = np.maximum(_face(u, v, g, 0.02, 0.04 + 0.08 * length), top - v)
  else:  # goatee: from under the lower lip over the chin, narrowing downwards
    below = v - mouth_y - 0.06
    shape = np.maximum(np.maximum(_face(u, v, g, 0, 0.03 + 0.08 * length), -below),
                       np.abs(u) - (0.12 + 0.08 * width) + 0.2 * below)
  _paint(canvas, colour, shape)


def _draw_mouth(canvas, u, v, g, people, params, style):
  """A neutral line for style -1 (not smiling), else the smile of STYLE_NAMES["Smiling"]."""
  width, curve, thick = params
  mouth_y, lip = g["mouth_y"], 0.022 + 0.016 * thick
  if style == -1:
    _paint(canvas, _LIP, np.maximum(np.abs(v - mouth_y) - 0.018, np.abs(u) - 0.1))
    return
  half_w = np.float32(0.26 if style == 2 else 0.16) + 0.08 * width
  t2 = (u / half_w) ** 2
  inside = np.abs(u) - half_w
  if style == 0:  # closed: a line whose corners rise
    sag = 0.08 + 0.06 * curve
    _paint(canvas, _LIP, np.maximum(np.abs(v - mouth_y - sag * (0.5 - t2)) - lip, inside))
    return
  # Open: dark between a top lip and a sagging bottom lip, teeth below the top one; a grin is
  # wider, its top lip curves too and it shows two rows of teeth.
  top = mouth_y - 0.05 + (0.04 * (1 - t2) if style == 2 else 0)
  bottom = mouth_y - 0.05 + (0.12 + 0.06 * curve) * (1 - t2)
  opening = np.maximum(np.maximum(top - v, v - bottom), inside)
  _paint(canvas, _MOUTH, opening)
  _paint(canvas, _WHITE, opening if style == 2 else np.maximum(opening, v - top - 0.05))
  if style == 2:
    _paint(canvas, _GREY, np.maximum(opening, np.abs(v - (top + bottom) / 2) - 0.012))
  _paint(canvas, _LIP, np.abs(opening) - lip)


def _draw_glasses(canvas, u, v, g, people, params, style):
  size, thick, tint = params
  # Lenses grow with the eyes, so that clear ones always show the eye through them.
  radius, rim = 0.075 * g["es"] + 0.055 + 0.035 * size, 0.03 + 0.02 * thick
  ex, ey = g["ex"], g["ey"]
  frame, lenses, glints = 1.0, 1.0, 1.0
  for side in (-1, 1):
    cx = side * ex
    if style == 0:
      lens = _ellipse(u, v, cx, ey, radius, radius * 0.95)
    elif style == 1:
      lens = _box(u, v, cx, ey, radius * 1.05, radius * 0.75) - 0.01
    else:  # sunglasses: dark lenses with a slanted glint
      lens = _box(u, v, cx, ey + 0.01, radius * 1.15 - 0.05, radius * 0.8 - 0.05) - 0.05
      glint = np.abs(u - cx + 0.35 * radius + 0.7 * (v - ey)) - 0.03
      glints = np.minimum(glints, np.maximum(glint, lens + 0.04))
    frame, lenses = np.minimum(frame, np.abs(lens) - rim), np.minimum(lenses, lens)
  # Bridge between the lenses and arms out to the ears, on the line of the lenses' tops.
  bar = _box(u, v, 0, ey - 0.03, g["fw"] + 0.02, rim * 0.8)
  frame = np.minimum(frame, np.maximum(bar, np.minimum(ex - np.abs(u), np.abs(u) - ex - radius)))
  # Never lighter than half the skin, so that any frame shows on any face.
  colour = np.minimum(_palette(_FRAME, tint), _palette(_SKIN, people["skin_tone"]) * 0.5)
  if style == 2:
    _paint(canvas, colour * 0.35 + 0.03, lenses)
    _paint(canvas, colour * 0.35 + 0.45, glints)
  _paint(canvas, colour, frame)


# Facial hair goes under the mouth, so a smile shows through a beard; glasses go over both.
_LAYERS = (("Facial_Hair", _draw_facial_hair), ("Smiling", _draw_mouth),
           ("Eyeglasses", _draw_glasses))


def _draw_attributes(canvas, u, v, g, people, attributes):
  """Draws each style of each attribute on the faces that have it, in place."""
  for name, draw in _LAYERS:
    present, style = attributes[name], attributes[f"{name}_style"]
    # Not smiling is a style of its own (a neutral mouth); absent eyewear or hair draws nothing.
    for s in range(-1 if name == "Smiling" else 0, NUM_STYLES[name]):
      select = np.flatnonzero((present == 0) if s == -1 else (present == 1) & (style == s))
      if not select.size:
        continue
      sub_g = {k: a[select] for k, a in g.items()}
      rows = _rows(canvas.shape[-1], *_BANDS[name](sub_g))
      crop = canvas[:, select, rows]
      params = tuple(_col(p) for p in attributes[f"{name}_params"][select].T)
      draw(crop, u, v[:, rows], sub_g, {k: a[select] for k, a in people.items()}, params, s)
      canvas[:, select, rows] = crop


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
  u, v = _grid(image_size)
  n = len(identities["skin_tone"])
  out = np.empty((n, image_size, image_size, 3), np.uint8)
  for start in range(0, n, _CHUNK):
    part = slice(start, start + _CHUNK)
    people = {k: a[part] for k, a in identities.items()}
    g = _geometry(people)
    canvas = np.empty((3, len(people["skin_tone"]), image_size, image_size), np.float32)
    _draw_head(canvas, u, v, g, people)
    _draw_attributes(canvas, u, v, g, people, {k: a[part] for k, a in attributes.items()})
    out[part] = np.moveaxis(np.clip(canvas * 255 + 0.5, 0, 255).astype(np.uint8), 0, -1)
  return out


def sample_identities(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
  """Identity factors of n faces.

  Args:
    rng: the source of randomness.
    n: how many.

  Returns:
    For each name in IDENTITY_FACTORS float32 [n] (or [n, 3] for "background") uniform in
    [0, 1], and "hair_style": int32 [n] in [0, NUM_HAIR_STYLES).
  """
  people = {name: rng.uniform(size=(n, dim) if dim > 1 else n).astype(np.float32)
            for name, dim in IDENTITY_FACTORS.items()}
  people["hair_style"] = rng.integers(0, NUM_HAIR_STYLES, n).astype(np.int32)
  return people


def sample_attributes(rng: np.random.Generator, n: int,
                      present_prob: float = 0.5) -> dict[str, np.ndarray]:
  """Attribute factors of n faces, each attribute present with `present_prob`, independently.

  Args:
    rng: the source of randomness.
    n: how many.
    present_prob: the probability of each attribute.

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


def rerender_switched(split: dict[str, np.ndarray], attribute: str, on: bool) -> np.ndarray:
  """The ground truth of an edit: the faces of `split` re-rendered with `attribute` switched on
  (in each face's stored style) or off, everything else unchanged: uint8 [N, S, S, 3]."""
  attributes = attribute_factors(split)
  attributes[attribute][:] = int(on)
  return rerender(split, attributes, split["x"].shape[1])


def load(num_train: int, num_validation: int, num_test: int, seed: int, image_size: int = 64,
         cache_dir: str | None = None) -> dict[str, dict[str, np.ndarray]]:
  """The three splits, from independent streams of `seed`.

  Args:
    num_train: examples in "train"; likewise num_validation and num_test.
    seed: everything is a function of it.
    image_size: S.
    cache_dir: where given, each split is written there once as .npz and read back later.

  Returns:
    {"train", "validation", "test"}, each as `make_split` returns it. Each split draws its own
    people, numbered after the examples of the splits before it, so identities are disjoint.
  """
  seeds = np.random.SeedSequence(seed).generate_state(3)
  sizes = {"train": num_train, "validation": num_validation, "test": num_test}
  splits, first_identity = {}, 0
  for (name, size), split_seed in zip(sizes.items(), seeds):
    path = cache_dir and (epath.Path(cache_dir) /
                          f"procedural_v{VERSION}_{name}_{size}_{seed}_{image_size}.npz")
    if path and path.exists():
      with path.open("rb") as f, np.load(f) as cached:
        split = dict(cached)
    else:
      split = make_split(size, int(split_seed), image_size)
      if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        np.savez(buffer, **split)
        paths.write_atomic(path, buffer.getvalue())
    split["identity"] = split["identity"] + np.int32(first_identity)
    splits[name] = split
    first_identity += size
  return splits
