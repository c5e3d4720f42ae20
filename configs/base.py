"""Every config field with its default. Experiments import this and override a few lines.

Durations are in steps. The defaults that the paper does not fix are ours;
docs/design.md#choices-the-paper-leaves-open says why.
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.seed = 0  # Model init, batch order and sampling noise; the data have their own seed.

  config.data = ml_collections.ConfigDict()
  config.data.name = "swiss_roll"  # One of csvae_jax.data.DATASETS.
  config.data.seed = 0             # Generated data (swiss roll, procedural) and the judge's
                                   # init; CelebA's subsets and TFD's split are fixed.
  config.data.num_train = 10_000   # Generated data only. Paper 5.1: make_swiss_roll(n_samples=10000).
  config.data.num_validation = 2_000  # Generated images only.
  config.data.num_test = 2_000     # Held-out points for evaluation (generated data only).
  config.data.image_size = 64      # Procedural images are image_size x image_size x 3.
  config.data.manual_dir = ""      # CelebA / TFD: the folder holding the files you downloaded.
  config.data.data_dir = "~/tensorflow_datasets"  # Where CelebA / TFD are prepared, once.
  config.data.subset = "glasses"   # CelebA: glasses | facial_hair | glasses_facial_hair.
  config.data.resolution = "48x48"  # TFD: 48x48 | 96x96.
  # Labels with holes (csvae_jax/data/partial_labels.py): the share of the train and validation
  # examples whose labels the model sees, drawn per joint label vector with label_seed; the test
  # split keeps every label. TFD's labels are partial already: 1 only.
  config.data.label_fraction = 1.0
  config.data.label_seed = 0
  # The examples without labels: missing (kept, y_mask 0) | drop (removed: train on the labelled
  # only) | pseudo (labelled by a classifier fitted on the labelled ones, kept where it is >= 0.9
  # sure of every label, removed otherwise: paper 5.2.1's TFD protocol).
  config.data.unlabelled = "missing"

  config.model = ml_collections.ConfigDict()
  config.model.kind = "csvae"      # vae | condvae | condvae_info | csvae
  config.model.z_dim = 2
  config.model.w_dim = 2           # Size of each W_i (paper: 2).
  config.model.hidden = (64, 64)   # Encoder MLP widths (after the conv trunk for images); the
                                   # decoder mirrors them.
  config.model.conv_channels = (32, 64, 128, 256)  # Image encoders' stride-2 convs, mirrored.
  config.model.adversary_hidden = (64, 64)
  config.model.likelihood = "gaussian"  # gaussian (learned per-dim variance) | gaussian_fixed | bernoulli
  config.model.x_fixed_std = 0.1   # Decoder std for gaussian_fixed.
  config.model.w_present_mean = 3.0   # p(w_i | y_i = 1) = N(3, 1): "present" is away from the
  config.model.w_present_scale = 1.0  # origin, as the paper's text and grids intend
                                      # (docs/design.md#priors-on-w).
  config.model.w_absent_mean = 0.0    # p(w_i | y_i = 0) = N(0, 0.1^2).
  config.model.w_absent_scale = 0.1
  config.model.w_prior_centred = False  # mu_w, logvar_w = p(w|y)'s + the encoder's offsets.
  config.model.compute_dtype = "float32"  # or "bfloat16" on GPU/TPU: f32 params and losses.
  config.model.infer_labels = False  # q(y|x) and the bound over missing labels (Kingma's M2)
  # With infer_labels, the labels the adversary learns from: "observed" only, or "inferred" (the
  # observed, and q(y|x)'s likeliest values of the missing ones).
  config.model.adversary_labels = "observed"
  # With infer_labels, the bound of an example with missing labels: "expectation" over q(y|x)
  # (Kingma's M2: one decoder pass per label combination, 2^k), or "likeliest" (at q(y|x)'s
  # likeliest labels: one pass; q(y|x) learns from the observed labels alone).
  config.model.missing_labels = "expectation"

  config.loss = ml_collections.ConfigDict()  # Weights of the encoder/decoder objective.
  config.loss.beta_x = 5.0   # -log p(x | w, z)
  config.loss.beta_z = 1.0   # KL(q(z|x) || N(0, I))
  config.loss.beta_w = 1.0   # KL(q(w|x,y) || p(w|y))
  config.loss.beta_h = 100.0  # M2 (CSVAE) or minus the adversary's cross-entropy (CondVAE-info)
  # With config.model.infer_labels: the weight of q(y|x)'s cross-entropy on observed labels, per
  # example (Kingma et al. 2014's alpha = 0.1 N for an objective summed over N examples).
  config.loss.alpha = 0.1
  # With config.model.infer_labels: the examples with a missing label enter the bound weighted
  # min(1, step / unlabelled_ramp_steps), while q(y|x) learns from the observed ones (0: weight 1
  # from the first step, Kingma's objective).
  config.loss.unlabelled_ramp_steps = 0
  # With config.model.missing_labels=likeliest: an example with a missing label enters the bound
  # only where q(y|x) gives each of its filled labels at least this probability (0: every one;
  # the paper's pseudo-labels keep >= 0.9).
  config.loss.label_confidence = 0.0

  config.optim = ml_collections.ConfigDict()
  for player in ("vae", "adversary"):
    optim = ml_collections.ConfigDict()
    optim.learning_rate = 3e-3
    optim.schedule = "cosine"      # constant | cosine (linear warmup, cosine decay)
    optim.warmup_steps = 200
    optim.final_lr_factor = 0.01   # Cosine decays to learning_rate * final_lr_factor.
    optim.b1 = 0.9
    optim.b2 = 0.999
    optim.grad_clip = 0.0          # Global-norm clipping (q(y|x)'s gradient counts); 0 disables.
    config.optim[player] = optim

  config.train = ml_collections.ConfigDict()
  config.train.num_steps = 20_000
  config.train.batch_size = 256          # Global batch, split over all devices.
  # > 0 with missing labels: each batch holds this many examples with a label (data/pipeline.py).
  config.train.labelled_per_batch = 0
  config.train.steps_per_dispatch = 500  # Steps run by one compiled call (lax.scan).
  config.train.log_every = 1000          # Multiples of steps_per_dispatch.
  config.train.eval_every = 5000
  config.train.ckpt_every = 5000
  config.train.max_checkpoints = 3

  config.eval = ml_collections.ConfigDict()
  config.eval.probe_max_train = 10_000   # Training-set latent means used to fit the probes.
  # Held-out examples of the periodic eval during training, and the examples per switch that
  # Method 1 scores (a published figure: change it for both or neither).
  config.eval.max_examples = 2_000
  # The tables of image models: examples per switch choosing Method 1's best point, pairs per
  # switch choosing Method 2's point and pairs per switch it scores.
  config.eval.search_examples = 256
  config.eval.search_pairs = 128
  config.eval.pairs = 256
  # The attribute classifier of Method 1 (images only): trained once, kept beside the model.
  config.eval.classifier_channels = (16, 32, 64, 128)
  config.eval.classifier_steps = 1_000
  config.eval.classifier_batch_size = 64
  config.eval.classifier_learning_rate = 1e-3
  return config
