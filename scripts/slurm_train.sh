#!/bin/bash
# Example: train on 2 nodes x 8 GPUs under SLURM, one torchrun agent per node (srun starts them), meeting at a
# c10d rendezvous on the first node. Submit with `sbatch scripts/slurm_train.sh`; adapt paths, partition and sizes.
# A requeued or resubmitted job continues from last.pt; SLURM's SIGTERM before the time limit makes cvkit save
# last.pt mid-epoch (exact resume).
#SBATCH --job-name=cvkit-train
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=8
#SBATCH --cpus-per-task=64
#SBATCH --time=24:00:00
#SBATCH --signal=TERM@300
#SBATCH --requeue
#SBATCH --output=%x-%j.log
set -euo pipefail

DATA=${DATA:-shards:/shared/datasets/imagenet-shards}   # written once by `cvkit data shard ... --out DIR`
OUT=${OUT:-/shared/runs/imagenet-resnet50}             # on a filesystem every node sees
# torchrun must be the one of the Python environment cvkit is installed in (activate it first)

HEAD_NODE=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
PORT=${PORT:-29500}
RESUME=()
if [ -f "$OUT/last.pt" ]; then
  RESUME=(--resume "$OUT/last.pt")
fi

export OMP_NUM_THREADS=8
# export NCCL_SOCKET_IFNAME=ib0   # the interface between nodes, when NCCL picks the wrong one

srun --kill-on-bad-exit=1 torchrun \
  --nnodes "$SLURM_NNODES" --nproc-per-node 8 \
  --rdzv-backend c10d --rdzv-endpoint "$HEAD_NODE:$PORT" --rdzv-id "$SLURM_JOB_ID" \
  -m cvkit train classify \
    --data "$DATA" --model resnet50 --epochs 90 --batch-size 64 --lr 0.2 --optimizer sgd \
    --img-size 224 --workers 8 --amp --out "$OUT" --exist-ok "${RESUME[@]}"
