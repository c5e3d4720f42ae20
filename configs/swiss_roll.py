"""CSVAE on the swiss roll (paper 5.1, Figure 2): Z = W = R^2, 10,000 points.

  python train.py --config configs/swiss_roll.py --workdir /tmp/swiss_roll
  python eval.py  --config configs/swiss_roll.py --workdir /tmp/swiss_roll

Both together take under a minute on 2 CPU cores. Expected in /tmp/swiss_roll/eval/metrics.json:
w_label_probe_accuracy ~1.0, z_label_probe_accuracy ~0.5, relative_recon_mse < 0.002.
Other kinds: --config.model.kind=vae|condvae|condvae_info.
"""

from configs import base


def get_config():
  return base.get_config()
