"""Evaluates the model in --workdir: metrics, the paper's tables and figures into --workdir/eval.

  python eval.py --workdir runs/swiss_roll      # with the config the checkpoint was trained with
  python eval.py --workdir runs/procedural      # images: + table1/2.{md,json}, styles.json, figures
  python eval.py --workdir runs/procedural --config configs/procedural.py \
      --config.eval.probe_max_train=2000         # other eval settings; model and data must match

The checkout's name for `csvae-eval` (csvae_jax/eval_cli.py), whose flags it takes.
"""

from csvae_jax import eval_cli

if __name__ == "__main__":
  eval_cli.run()
