"""One lease of a GPU without TensorFlow: the label-fraction runs (with their alpha screen) and the
last edit-point seeds, 16 processes at once, packaged into OUT/results.tar.gz at the deadline.

Run from the repository root with this folder copied to .gpu/ beside the wheels of ml-collections
1.1.0 and clu 0.0.12 (.gpu/whl, installed into PYTHONPATH first) and the two judges (.gpu/judge0,
.gpu/judge1: runs/point_screen/classifier and runs/label_fractions/classifier trained on a CPU):

  python3 .gpu/driver.py OUT DEADLINE_S [tiny] [evalonly]
"""
import glob
import json
import os
import subprocess
import sys
import tarfile
import time

OUT, BUDGET = sys.argv[1], float(sys.argv[2])
TINY = "tiny" in sys.argv
EVAL_ONLY = "evalonly" in sys.argv
START = time.time()
CONFIG = "configs/tiny_images.py" if TINY else "configs/procedural.py"
S = "docs/experiments/2026-12-02-protocol-screen/best_settings.json"
PY = [sys.executable, ".gpu/launch.py"]
COMMON = [f"--config={CONFIG}", "--config.train.steps_per_dispatch=" + ("10" if TINY else "50")]
ALPHAS = (1.0, 10.0) if TINY else (1.0, 10.0, 100.0)
MAX_RUNNING = 3 if TINY else 16
SEMI = {"semi_csvae": ("csvae", ["--config.model.infer_labels=True"]),
        "semi_condvae": ("condvae", ["--config.model.infer_labels=True"])}
os.makedirs("logs", exist_ok=True)
os.makedirs("runs/alpha_screen", exist_ok=True)


def log(*a):
  print(f"[{time.time() - START:6.0f} s]", *a, flush=True)


def compare(name, workdir, kind, seed, split, data_seed, extra=(), env=None):
  return dict(name=name, env=env or {}, cmd=PY + [
      "scripts/compare.py", *COMMON, f"--workdir={workdir}", f"--kinds={kind}",
      f"--seeds={seed}", f"--split={split}", f"--config.data.seed={data_seed}",
      f"--settings={S}", *extra])


def fractions(name, method, fraction, seed, extra=()):
  return dict(name=name, env={}, cmd=PY + [
      "scripts/label_fractions.py", *COMMON, "--config.data.seed=1",
      "--workdir=runs/label_fractions", f"--runs={fraction}={seed}", f"--methods={method}",
      f"--settings={S}", *extra])


def screen(method, alpha):
  kind, extra = SEMI[method]
  return compare(f"screen_{method}_{alpha:g}", f"runs/alpha_screen/{method}_alpha{alpha:g}",
                 kind, 0, "validation", 0, extra + [
                     "--config.data.label_fraction=0.1", "--config.data.label_seed=0",
                     "--config.data.unlabelled=missing", f"--config.loss.alpha={alpha}"])


def best_alpha(method):
  scores = {}
  for alpha in ALPHAS:
    kind = SEMI[method][0]
    path = f"runs/alpha_screen/{method}_alpha{alpha:g}/{kind}/seed0/eval/table1_validation.json"
    if not os.path.exists(path):
      return None
    scores[alpha] = json.load(open(path))["mean_accuracy"]
  best = max(ALPHAS, key=lambda a: (round(scores[a], 3), -a))
  log(method, "screen, validation Method 1:", scores, "-> alpha", best)
  return best


def judges():
  for folder in ("runs/alpha_screen/semi_csvae_alpha{}", "runs/alpha_screen/semi_condvae_alpha{}"):
    for alpha in ALPHAS:
      dst = folder.format(f"{alpha:g}") + "/classifier"
      os.makedirs(dst, exist_ok=True)
      subprocess.run(["cp", "-r", *glob.glob(".gpu/judge0/*"), dst], check=True)
  for root, judge in (("runs/point_screen", "judge0"), ("runs/label_fractions", "judge1"),
                      ("runs/lf_reference", "judge1")):
    os.makedirs(root + "/classifier", exist_ok=True)
    subprocess.run(["cp", "-r", *glob.glob(f".gpu/{judge}/*"), root + "/classifier"], check=True)


def render():
  if TINY:
    return
  procs = [subprocess.Popen(PY + [".gpu/render.py", str(s)]) for s in (0, 1)]
  for p in procs:
    p.wait()


def package():
  files = [f for pattern in ("runs/**/eval/*.json", "runs/**/eval/*.md", "runs/**/summary*",
                             "runs/**/runs.json", "runs/**/classifier/*.json", "logs/*")
           for f in glob.glob(pattern, recursive=True)]
  with tarfile.open(os.path.join(OUT, "results.tar.gz"), "w:gz") as tar:
    for f in sorted(set(files)):
      tar.add(f)
  log("packaged", len(files), "files")


def main():
  if not TINY:
    judges()
  render()
  log("data rendered")
  hi = {"JAX_DEFAULT_MATMUL_PRECISION": "highest"}
  queue = [screen(m, a) for m in SEMI for a in ALPHAS]
  queue += [fractions(f"{m}_0.1_{s}", m, 0.1, s) for s in (10, 11, 12)
            for m in ("labelled_only", "pseudo_labels")]
  queue += [compare(f"point_seed{s}", "runs/point_screen", "csvae", s, "validation", 0, env=hi)
            for s in (6, 7)]
  queue += [fractions(f"{m}_0.01_10", m, 0.01, 10) for m in ("labelled_only", "pseudo_labels")]
  queue += [] if EVAL_ONLY else [compare(f"ref_{k}_{s}", "runs/lf_reference", k, s, "test", 1)
            for s in (10, 11, 12) for k in ("csvae", "condvae")]
  running, done, phase2 = {}, {}, set()
  while True:
    for method in SEMI:
      if not EVAL_ONLY and method not in phase2 and (alpha := best_alpha(method)) is not None:
        phase2.add(method)
        extra = [f"--config.loss.alpha={alpha}"]
        queue[:0] = [fractions(f"{method}_0.1_{s}", method, 0.1, s, extra) for s in (10, 11, 12)]
        queue.insert(3, fractions(f"{method}_0.01_10", method, 0.01, 10, extra))
    while queue and len(running) < MAX_RUNNING:
      job = queue.pop(0)
      logf = open(f"logs/{job['name']}.log", "w")
      env = {**os.environ, "PYTHONUNBUFFERED": "1", **job["env"]}
      running[job["name"]] = (subprocess.Popen(job["cmd"], stdout=logf, stderr=subprocess.STDOUT,
                                               env=env), time.time())
      log("start", job["name"])
    for name, (proc, t0) in list(running.items()):
      if proc.poll() is not None:
        done[name] = proc.returncode
        del running[name]
        log("end", name, "rc", proc.returncode, f"{time.time() - t0:.0f} s")
    failed = [n for n, rc in done.items() if rc]
    if len(failed) >= 3 and time.time() - START < 200:
      log("aborting: early failures", failed)
      break
    if not running and not queue and all(m in phase2 or best_alpha(m) is None for m in SEMI):
      break
    if time.time() - START > BUDGET:
      log("deadline; still running:", list(running), "queued:", [j["name"] for j in queue])
      break
    time.sleep(2)
  for proc, _ in running.values():
    proc.kill()
  json.dump({"done": done, "seconds": time.time() - START},
            open("logs/driver_summary.json", "w"), indent=1)
  package()


main()
