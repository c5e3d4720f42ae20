"""Flax modules for the four models of the paper: VAE, CondVAE, CondVAE-info and CSVAE.

Every model maps `(x, y, rng)` to a `ModelOutput` of distribution parameters and samples; losses live
in `losses.py`. Data enter and leave in their own units: each model standardises `x` with the fixed
`x_mean` / `x_std` of its `ModelSpec` before encoding and returns the decoder's Gaussian in the data's
units (a change of units only shifts the log-likelihood by a constant).
"""

import dataclasses
from typing import Any, Optional, Sequence

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp

KINDS = ("vae", "condvae", "condvae_info", "csvae")
KIND_NAMES = {"vae": "VAE", "condvae": "CondVAE", "condvae_info": "CondVAE-info",
              "csvae": "CSVAE"}  # as the paper writes them
LIKELIHOODS = ("gaussian", "gaussian_fixed", "bernoulli")
COMPUTE_DTYPES = ("float32", "bfloat16")
ADVERSARY_LABELS = ("observed", "inferred")  # what the adversary learns from, labels missing
# The bound of an example with missing labels: Kingma's expectation over q(y|x), or at q(y|x)'s
# likeliest values (`losses.likeliest_label_loss`).
MISSING_LABELS = ("expectation", "likeliest")
# The expectation decodes each example once per value of its k independent labels (2^k).
MAX_ENUMERATED_LABELS = 8


@dataclasses.dataclass(frozen=True)
class ModelSpec:
  """Everything needed to rebuild a model: typed fields derived once from the config and the data.

  Saved as JSON beside each checkpoint, so that `csvae_jax.load` needs no config file.
  """
  kind: str                       # one of KINDS
  x_shape: Sequence[int]          # shape of one example: (D,) vectors or (H, W, C) images
  num_labels: int                 # k, binary attributes
  z_dim: int = 2                  # Dz
  w_dim: int = 2                  # Dw, size of each W_i (CSVAE only)
  hidden: Sequence[int] = (64, 64)          # MLP widths (after the conv trunk for images)
  conv_channels: Sequence[int] = (32, 64, 128, 256)  # stride-2 convs of image encoders/decoder
  adversary_hidden: Sequence[int] = (64, 64)
  likelihood: str = "gaussian"    # one of LIKELIHOODS
  x_fixed_std: float = 0.1        # decoder std for "gaussian_fixed", in standardised units
  w_present_mean: float = 3.0     # p(w_i | y_i = 1) = N(mean, scale^2 I)
  w_present_scale: float = 1.0
  w_absent_mean: float = 0.0      # p(w_i | y_i = 0) = N(mean, scale^2 I)
  w_absent_scale: float = 0.1
  w_prior_centred: bool = False   # q(w|x,y) parameterised around p(w|y) (see `LatentModel.encode`)
  x_mean: Sequence[float] = ()    # [D] standardisation shift of vector data; () means none
  x_std: Sequence[float] = ()     # [D] standardisation scale; () means none
  label_names: Sequence[str] = () # k attribute names, in the order of y's columns
  compute_dtype: str = "float32"  # layers' compute dtype; params, outputs and losses stay float32
  infer_labels: bool = False      # q(y|x) for missing labels: the semi-supervised objective
  exclusive_labels: bool = False  # one label per example (TFD): q(y|x) a softmax, not k sigmoids
  adversary_labels: str = "observed"  # with infer_labels: N on the observed labels, or "inferred"
                                      # (also q(y|x)'s likeliest values of the missing ones)
  missing_labels: str = "expectation"  # with infer_labels: the bound over q(y|x) (Kingma's M2),
                                       # or "likeliest" (at q(y|x)'s likeliest labels)

  def __post_init__(self):
    if self.kind not in KINDS:
      raise ValueError(f"Unknown model kind {self.kind!r}; valid kinds: {', '.join(KINDS)}.")
    if self.likelihood not in LIKELIHOODS:
      raise ValueError(f"Unknown likelihood {self.likelihood!r}; valid: {', '.join(LIKELIHOODS)}.")
    if self.compute_dtype not in COMPUTE_DTYPES:
      raise ValueError(f"Unknown compute_dtype {self.compute_dtype!r}; valid: "
                       f"{', '.join(COMPUTE_DTYPES)}.")
    if self.likelihood == "bernoulli" and (self.x_mean or self.x_std):
      raise ValueError("A bernoulli likelihood needs data in [0, 1]: leave x_mean and x_std empty.")
    # Tuples keep the spec hashable (it is a static field of the modules) and JSON-friendly.
    for name in ("x_shape", "hidden", "conv_channels", "adversary_hidden", "x_mean", "x_std",
                 "label_names"):
      object.__setattr__(self, name, tuple(getattr(self, name)))
    if len(self.x_shape) not in (1, 3):
      raise ValueError(f"x_shape {self.x_shape} is neither a vector (D,) nor an image (H, W, C).")
    if self.infer_labels and not self.takes_y:
      raise ValueError("A VAE takes no labels: config.model.infer_labels needs another kind.")
    if self.adversary_labels not in ADVERSARY_LABELS or (
        self.adversary_labels == "inferred" and not self.infer_labels):
      raise ValueError(f"config.model.adversary_labels={self.adversary_labels!r}: valid are "
                       f"{', '.join(ADVERSARY_LABELS)}, and 'inferred' needs "
                       "config.model.infer_labels=True.")
    if self.missing_labels not in MISSING_LABELS or (
        self.missing_labels == "likeliest" and not self.infer_labels):
      raise ValueError(f"config.model.missing_labels={self.missing_labels!r}: valid are "
                       f"{', '.join(MISSING_LABELS)}, and 'likeliest' needs "
                       "config.model.infer_labels=True.")
    if (self.infer_labels and self.missing_labels == "expectation" and not self.exclusive_labels
        and self.num_labels > MAX_ENUMERATED_LABELS):
      raise ValueError(f"config.model.infer_labels sums the bound over the 2^k values of k labels; "
                       f"k={self.num_labels} is more than {MAX_ENUMERATED_LABELS}: train on fewer "
                       "attributes, or set config.model.missing_labels=likeliest.")

  @property
  def is_image(self) -> bool:
    return len(self.x_shape) == 3

  @property
  def display_name(self) -> str:
    return KIND_NAMES[self.kind]

  @property
  def has_w(self) -> bool:
    """CSVAE: the latent subspaces W_i, with their own encoder q(w|x,y) and priors p(w|y)."""
    return self.kind == "csvae"

  @property
  def has_adversary(self) -> bool:
    """CondVAE-info and CSVAE: an adversary predicts y from z."""
    return self.kind in ("condvae_info", "csvae")

  @property
  def encodes_y(self) -> bool:
    """CondVAE: q(z|x,y)."""
    return self.kind == "condvae"

  @property
  def decodes_y(self) -> bool:
    """CondVAE and CondVAE-info: p(x|z,y), so an edit sets y_j = p."""
    return self.kind in ("condvae", "condvae_info")

  @property
  def takes_y(self) -> bool:
    """Every kind but the VAE: its objective needs y, so missing labels need q(y|x)."""
    return self.kind != "vae"


def likeliest_labels(spec: ModelSpec, logits: jax.Array) -> jax.Array:
  """q(y|x)'s labels: logits [B, k] -> float32 [B, k] in {0, 1}, each label's likelier value (the
  likeliest class, one-hot, for exclusive labels)."""
  if spec.exclusive_labels:
    return jax.nn.one_hot(jnp.argmax(logits, -1), spec.num_labels, dtype=jnp.float32)
  return (logits > 0).astype(jnp.float32)


@flax.struct.dataclass
class ModelOutput:
  """Distribution parameters and reparametrised samples of one forward pass."""
  x_mu: jax.Array                  # [B, *x_shape] decoder mean in data units (logits for bernoulli)
  x_logvar: jax.Array              # [B, *x_shape] decoder log-variance (unused for bernoulli)
  z_mu: jax.Array                  # [B, Dz]
  z_logvar: jax.Array              # [B, Dz]
  z: jax.Array                     # [B, Dz] sample of q(z | x[, y])
  w_mu: Optional[jax.Array] = None       # [B, k * Dw] (CSVAE)
  w_logvar: Optional[jax.Array] = None   # [B, k * Dw]
  w: Optional[jax.Array] = None          # [B, k * Dw] sample of q(w | x, y)
  y_logits: Optional[jax.Array] = None   # [B, k] q(y | x) (`ModelSpec.infer_labels`)


class MLP(nn.Module):
  """ReLU MLP: hidden layers then a linear output of size `out_dim`, returned as float32."""
  hidden: Sequence[int]
  out_dim: int
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, h: jax.Array) -> jax.Array:
    for width in self.hidden:
      h = nn.relu(nn.Dense(width, dtype=self.dtype)(h))
    return nn.Dense(self.out_dim, dtype=self.dtype)(h).astype(jnp.float32)


class ConvTrunk(nn.Module):
  """Stride-2 4x4 convolutions with ReLU (DCGAN-style): [B, H, W, C] -> [B, F] flattened."""
  channels: Sequence[int]
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    for width in self.channels:
      x = nn.relu(nn.Conv(width, (4, 4), strides=(2, 2), padding="SAME", dtype=self.dtype)(x))
    return x.reshape(x.shape[0], -1)


class ConvDecoder(nn.Module):
  """The mirror of `ConvTrunk`: [B, L] -> [B, H, W, C], doubling the size at each layer.

  Each layer is a nearest-neighbour 2x upsampling then a 3x3 convolution rather than a stride-2
  transposed convolution: no checkerboard artefacts, and 2.5x faster on CPU (measured).
  """
  channels: Sequence[int]
  x_shape: Sequence[int]
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, h: jax.Array) -> jax.Array:
    height, width, out_channels = self.x_shape
    factor = 2 ** len(self.channels)
    # Start at the trunk's output size; sizes that 2^n does not divide are cropped at the end.
    h0, w0 = -(-height // factor), -(-width // factor)
    h = nn.Dense(h0 * w0 * self.channels[-1], dtype=self.dtype)(h)
    h = nn.relu(h).reshape(-1, h0, w0, self.channels[-1])
    widths = (*reversed(self.channels[:-1]), out_channels)
    for i, c in enumerate(widths):
      h = jnp.repeat(jnp.repeat(h, 2, axis=1), 2, axis=2)
      h = nn.Conv(c, (3, 3), padding="SAME", dtype=self.dtype)(h)
      if i < len(widths) - 1:
        h = nn.relu(h)
    return h[:, :height, :width, :].astype(jnp.float32)


class LabelEncoder(nn.Module):
  """q(y | x): x [B, *x_shape] -> logits [B, k] (k sigmoids, or a softmax for exclusive labels).

  Its own `ConvTrunk` for images, so that the classifier's loss moves no other network's params.
  """
  hidden: Sequence[int]
  conv_channels: Sequence[int]
  num_labels: int
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    h = ConvTrunk(self.conv_channels, self.dtype)(x) if x.ndim == 4 else x
    return MLP(self.hidden, self.num_labels, self.dtype)(h)


class GaussianEncoder(nn.Module):
  """q(latent | x[, y]), a diagonal Gaussian: x [B, *x_shape] (+ y [B, k]) -> (mu, logvar) [B, out_dim].

  Images pass a `ConvTrunk` first; y, when given, joins after it (concatenated features). The two
  halves also run apart: `stage="trunk"` gives the features of x [B, F] (x itself for vectors),
  which do not depend on y, and `stage="head"` takes them in place of x.
  """
  hidden: Sequence[int]
  conv_channels: Sequence[int]
  out_dim: int
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, y: Optional[jax.Array] = None, stage: str = "all"):
    h = x if stage == "head" else (ConvTrunk(self.conv_channels, self.dtype)(x) if x.ndim == 4
                                   else x)
    if stage == "trunk":
      return h
    if y is not None:
      h = jnp.concatenate([h.astype(jnp.float32), y], axis=-1)
    out = MLP(self.hidden, 2 * self.out_dim, self.dtype)(h)
    return out[..., :self.out_dim], out[..., self.out_dim:]


def jit_init(init_fn, **jit_kwargs):
  """`jax.jit(init_fn, **jit_kwargs)` for a function that runs once, such as a network's `init`.

  On CPU XLA compiles it without LLVM's optimisations: the random draws of every parameter are
  many small kernels, and that compiles in a fifth of the time (the CelebA config, 9.8 s to 2.0 s
  on 2 cores) for the same values up to the last bit of some weights. Run op by op instead, an
  `init` compiles each kernel on its own, which takes longer still (the 32x32 classifier of
  `classifier.py` with channels (8, 16): 12 s, against 2.2 s compiled whole, on 2 cores).
  """
  options = {"xla_backend_optimization_level": 0} if jax.default_backend() == "cpu" else None
  return jax.jit(init_fn, compiler_options=options, **jit_kwargs)


def draw_noise(spec: ModelSpec, rng: jax.Array, batch_size: int) -> dict[str, jax.Array]:
  """The standard normal draws of one forward pass: {"z": [B, Dz]} (+ {"w": [B, k*Dw]} for CSVAE).

  Drawn apart from the model so that a training loop can draw a whole chunk's noise at once
  (`jax.vmap` over keys gives the same values as drawing them one step at a time).
  """
  z_rng, w_rng = jax.random.split(rng)
  noise = {"z": jax.random.normal(z_rng, (batch_size, spec.z_dim))}
  if spec.has_w:
    noise["w"] = jax.random.normal(w_rng, (batch_size, spec.num_labels * spec.w_dim))
  return noise


def reparametrize(mu: jax.Array, logvar: jax.Array, eps: jax.Array) -> jax.Array:
  """mu + sigma * eps: a sample of N(mu, exp(logvar)) from standard normal eps, differentiable in
  mu and logvar; shapes [..., d]."""
  return mu + jnp.exp(0.5 * logvar) * eps


class LatentModel(nn.Module):
  """One of the four models of the paper (section 3 and 4), picked by `spec.kind`.

  | kind         | encoder           | decoder      |
  | vae          | q(z|x)            | p(x|z)       |
  | condvae      | q(z|x,y)          | p(x|z,y)     |
  | condvae_info | q(z|x)            | p(x|z,y)     |  (+ adversary r(y|z), `Adversary`)
  | csvae        | q(z|x), q(w|x,y)  | p(x|w,z)     |  (+ adversary q_delta(y|z), `Adversary`)

  Methods `encode`, `decode` and `__call__` take x [B, *x_shape] in data units, y [B, k] in
  {0, 1}. Vectors go through MLPs, images (H, W, C) through conv nets (docs/design.md#networks).
  """
  spec: ModelSpec

  def setup(self):
    s = self.spec
    dtype = jnp.dtype(s.compute_dtype)
    self.encoder_z = GaussianEncoder(s.hidden, s.conv_channels, s.z_dim, dtype)
    if s.has_w:
      self.encoder_w = GaussianEncoder(s.hidden, s.conv_channels, s.num_labels * s.w_dim, dtype)
    if s.is_image:
      conv = ConvDecoder(s.conv_channels, s.x_shape, dtype)
      self.decoder = (nn.Sequential([MLP(tuple(reversed(s.hidden[:-1])), s.hidden[-1], dtype),
                                     nn.relu, conv]) if s.hidden else conv)
    else:
      self.decoder = MLP(tuple(reversed(s.hidden)), s.x_shape[0], dtype)
    if s.likelihood == "gaussian":
      # One learned log-variance per data dimension (standardised units), shared by all inputs.
      self.x_logvar = self.param("x_logvar", nn.initializers.zeros, s.x_shape)
    if s.infer_labels:
      self.label_encoder = LabelEncoder(s.hidden, s.conv_channels, s.num_labels, dtype)

  def _per_dim(self, values: Sequence[float]) -> jax.Array:
    """Per-coordinate constants of vector data as [1, D], broadcastable against [B, D]."""
    return jnp.asarray(values, jnp.float32)[None, :]

  def _standardise(self, x: jax.Array) -> jax.Array:
    if self.spec.x_mean:
      return (x - self._per_dim(self.spec.x_mean)) / self._per_dim(self.spec.x_std)
    return x

  def classify(self, x: jax.Array) -> jax.Array:
    """q(y | x) (`spec.infer_labels`): x [B, *x_shape] in data units -> logits [B, k]."""
    return self.label_encoder(self._standardise(x))

  def features(self, x: jax.Array) -> dict[str, jax.Array]:
    """What the encoders compute of x before y joins: {"z": [B, F]} (+ {"w": [B, F]}), the conv
    trunks' outputs (x standardised, for vectors). x: [B, *x_shape] in data units."""
    h = self._standardise(x)
    out = {"z": self.encoder_z(h, stage="trunk")}
    if self.spec.has_w:
      out["w"] = self.encoder_w(h, stage="trunk")
    return out

  def encode(self, x: jax.Array, y: jax.Array) -> dict[str, jax.Array]:
    """Posterior parameters: {"z_mu", "z_logvar": [B, Dz]} (+ {"w_mu", "w_logvar": [B, k*Dw]}).

    Args:
      x: [B, *x_shape] in data units (images in [0, 1]). y: [B, k] labels in {0, 1}.
    """
    return self.encode_features(self.features(x), y)

  def encode_features(self, features: dict[str, jax.Array], y: jax.Array) -> dict[str, jax.Array]:
    """`encode` from x's `features`, for labels y [B, k]."""
    z_mu, z_logvar = self.encoder_z(features["z"], y if self.spec.encodes_y else None,
                                    stage="head")
    out = {"z_mu": z_mu, "z_logvar": z_logvar}
    if self.spec.has_w:
      w_mu, w_logvar = self.encoder_w(features["w"], y, stage="head")
      if self.spec.w_prior_centred:
        # The network outputs offsets from p(w|y): an untrained encoder already puts examples
        # with the attribute in the present cluster, and KL_w starts near zero.
        prior_mu, prior_logvar = w_prior(self.spec, y)
        w_mu, w_logvar = w_mu + prior_mu, w_logvar + prior_logvar
      out["w_mu"], out["w_logvar"] = w_mu, w_logvar
    return out

  def decode(self, z: jax.Array, w: Optional[jax.Array] = None,
             y: Optional[jax.Array] = None) -> tuple[jax.Array, jax.Array]:
    """p(x | latents): (mean or logits [B, *x_shape], logvar [B, *x_shape]), in data units.

    Args:
      z: [B, Dz].
      w: [B, k*Dw], CSVAE only.
      y: [B, k] labels in [0, 1] (or switching points p), CondVAE and CondVAE-info only.
    """
    s = self.spec
    if s.has_w:
      h = jnp.concatenate([w, z], axis=-1)
    elif s.decodes_y:
      h = jnp.concatenate([z, y], axis=-1)
    else:
      h = z
    x_mu = self.decoder(h)
    x_logvar = (self.x_logvar if s.likelihood == "gaussian"
                else jnp.full(s.x_shape, 2.0 * jnp.log(s.x_fixed_std)))
    x_logvar = jnp.broadcast_to(x_logvar, x_mu.shape)
    if s.x_mean:
      x_std = self._per_dim(s.x_std)
      x_mu = x_mu * x_std + self._per_dim(s.x_mean)
      x_logvar = x_logvar + 2.0 * jnp.log(x_std)
    return x_mu, x_logvar

  def reconstruct_sample(self, x: jax.Array, y: jax.Array,
                         noise: dict[str, jax.Array]) -> ModelOutput:
    """Encodes, samples the latents and decodes: x [B, *x_shape], y [B, k] -> ModelOutput
    (without q(y|x)). noise: `draw_noise(spec, rng, B)`, the standard normal draws behind z (w)."""
    return self.sample_from_features(self.features(x), y, noise)

  def sample_from_features(self, features: dict[str, jax.Array], y: jax.Array,
                           noise: dict[str, jax.Array]) -> ModelOutput:
    """`reconstruct_sample` from x's `features`: a pass for other labels y [B, k] reuses them."""
    post = self.encode_features(features, y)
    z = reparametrize(post["z_mu"], post["z_logvar"], noise["z"])
    w = reparametrize(post["w_mu"], post["w_logvar"], noise["w"]) if self.spec.has_w else None
    x_mu, x_logvar = self.decode(z, w, y)
    return ModelOutput(x_mu=x_mu, x_logvar=x_logvar, z=z, w=w, **post)

  def __call__(self, x: jax.Array, y: jax.Array, noise: dict[str, jax.Array]) -> ModelOutput:
    """`reconstruct_sample`, plus q(y|x)'s logits where the model infers labels."""
    out = self.reconstruct_sample(x, y, noise)
    return out.replace(y_logits=self.classify(x)) if self.spec.infer_labels else out


class Adversary(nn.Module):
  """q_delta(y | z) (CSVAE) or r_psi(y | z) (CondVAE-info): z [B, Dz] -> logits [B, k]."""
  hidden: Sequence[int]
  num_labels: int
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, z: jax.Array) -> jax.Array:
    return MLP(self.hidden, self.num_labels, self.dtype)(z)


def w_prior(spec: ModelSpec, y: jax.Array) -> tuple[jax.Array, jax.Array]:
  """p(w | y) of section 4.2 as (mean, logvar), each [B, k*Dw], from labels y [B, k] in {0, 1}.

  Attribute present: N(w_present_mean, w_present_scale^2); absent: N(w_absent_mean, ...).
  docs/design.md#priors-on-w says why "present" sits away from the origin.
  """
  y_w = jnp.repeat(y, spec.w_dim, axis=-1)
  mean = y_w * spec.w_present_mean + (1.0 - y_w) * spec.w_absent_mean
  logvar = 2.0 * jnp.log(y_w * spec.w_present_scale + (1.0 - y_w) * spec.w_absent_scale)
  return mean, logvar
