"""CelebA's training crop in numpy: what editing an aligned photo needs, without TensorFlow.

`celeba.preprocess_image` (TensorFlow ops, for preparing the data in tf.data) and `crop_and_resize`
here give bit-identical images: both take rows 40:188 and columns 15:163 of an aligned 218x178
image and resize them to 64x64 with the antialiased bilinear filter of `tf.image.resize`, whose
float32 weights and summation order this module reproduces (tests/test_celeba.py checks).
"""

import numpy as np

ALIGNED_SHAPE = (218, 178, 3)  # [H, W, C] of the official aligned images.
CROP_ROWS, CROP_COLUMNS = (40, 188), (15, 163)  # Larsen et al. 2015: the central 148x148 face.
IMAGE_SIZE = 64


def _triangle_weights(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray]:
  """TensorFlow's antialiased bilinear resampling of one axis (`ScaleAndTranslate`, triangle
  kernel, its float32 arithmetic step by step).

  Returns:
    (starts int [out_size]: each output's first input index, weights float32 [out_size, S]: the
    weights of inputs starts[o] .. starts[o] + S - 1, zero past the span or the edge).
  """
  f32 = np.float32
  inv_scale = f32(1.0 / np.float64(f32(out_size) / f32(in_size)))
  kernel_scale = max(inv_scale, f32(1.0))  # Widened when shrinking: the antialiasing.
  one_over_kernel_scale = f32(1.0) / kernel_scale
  span = min(2 * int(np.ceil(kernel_scale)) + 1, in_size)
  starts = np.zeros(out_size, np.int64)
  weights = np.zeros((out_size, span), f32)
  for o in range(out_size):
    sample = f32(f32(o) + f32(0.5)) * inv_scale
    start = min(max(int(np.ceil(f32(sample - kernel_scale) - f32(0.5))), 0), in_size - 1)
    end = min(max(int(np.floor(f32(sample + kernel_scale) - f32(0.5))), 0), in_size - 1) + 1
    taps = [max(f32(1.0) - abs(f32((f32(i) + f32(0.5) - sample) * one_over_kernel_scale)), f32(0))
            for i in range(start, end)]
    total = f32(0.0)
    for tap in taps:
      total = f32(total + tap)
    weights[o, :len(taps)] = [f32(tap * (f32(1.0) / total)) for tap in taps]
    starts[o] = start
  return starts, weights


def _resize_axis(image: np.ndarray, axis: int, out_size: int) -> np.ndarray:
  """float32 `image` resized along `axis` (0 or 1), summing the taps in TensorFlow's order."""
  starts, weights = _triangle_weights(image.shape[axis], out_size)
  moved = np.moveaxis(image, axis, 0)
  out = np.zeros((out_size, *moved.shape[1:]), np.float32)
  for tap in range(weights.shape[1]):
    rows = np.minimum(starts + tap, len(moved) - 1)  # past the edge the weight is 0
    out += weights[:, tap].reshape(-1, *[1] * (moved.ndim - 1)) * moved[rows]
  return np.moveaxis(out, 0, axis)


def crop_and_resize(image: np.ndarray) -> np.ndarray:
  """An aligned CelebA photo as the training images were made: uint8 [218, 178, 3] -> uint8
  [64, 64, 3] (the face crop, antialiased bilinear resize, rounded).

  Raises:
    ValueError: for another dtype or shape.
  """
  image = np.asarray(image)
  if image.dtype != np.uint8 or image.shape != ALIGNED_SHAPE:
    raise ValueError(f"crop_and_resize expects an aligned CelebA photo (178 wide, 218 high): "
                     f"uint8 [218, 178, 3]; got {image.dtype} {list(image.shape)}.")
  face = image[CROP_ROWS[0]:CROP_ROWS[1], CROP_COLUMNS[0]:CROP_COLUMNS[1]].astype(np.float32)
  # TensorFlow resamples the rows first, then the columns.
  small = _resize_axis(_resize_axis(face, 0, IMAGE_SIZE), 1, IMAGE_SIZE)
  return np.clip(np.round(small), 0, 255).astype(np.uint8)
