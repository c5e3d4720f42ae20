#!/usr/bin/env bash
# One host's share of a run on a Cloud TPU slice (docs/accelerators.md#cloud-tpu-and-gpus):
# trains with --distributed (resuming from the workdir), evaluates with --distributed, then copies
# this host's log into the workdir. Start it detached on every host at once:
#   nohup bash scripts/tpu_pod_run.sh gs://BUCKET/runs/NAME --config configs/X.py:tpu ... &
set -uo pipefail
workdir=$1
shift
log=run_$(hostname).log
{ python train.py --distributed --workdir "$workdir" "$@" &&
  python eval.py --distributed --workdir "$workdir"; } > "$log" 2>&1
status=$?
gcloud storage cp "$log" "$workdir/logs/$log"
exit $status
