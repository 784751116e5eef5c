#!/usr/bin/env python3
"""PyTorch CPU matmul GFLOP/s at the GEMM benchmark shapes (bench/MiBounds.Bench/GemmCommands.cs), for comparison.

Run: /usr/bin/python3 bench/torch_matmul.py [--threads 2] [--repeats 9]
(apt-get install -y python3-torch libopenblas0-pthread). Nothing in the build or tests depends on this script.
Each sample times enough calls for >= 20 ms; the median of the samples is printed.
"""
import argparse
import statistics
import time

import torch

# (name, transA, transB, m, n, k): C[m x n] = op(A)[m x k] . op(B)[k x n], same as GemmShapes.All.
SHAPES = [
    ("concat-fwd 4096x256.(256x256)T", False, True, 4096, 256, 256),
    ("concat-dx  4096x256.256x256", False, False, 4096, 256, 256),
    ("concat-dW  (4096x256)T.4096x256", True, False, 256, 256, 4096),
    ("square     1024x1024.1024x1024", False, False, 1024, 1024, 1024),
    ("toy-fwd1   64x20.(256x20)T", False, True, 64, 256, 20),
    ("toy-fwd2   64x256.(256x256)T", False, True, 64, 256, 256),
    ("toy-fwd3   64x256.(32x256)T", False, True, 64, 32, 256),
    ("toy-dx3    64x32.32x256", False, False, 64, 256, 32),
    ("toy-dx2    64x256.256x256", False, False, 64, 256, 256),
    ("toy-dx1    64x256.256x20", False, False, 64, 20, 256),
    ("toy-dW3    (64x32)T.64x256", True, False, 32, 256, 64),
    ("toy-dW2    (64x256)T.64x256", True, False, 256, 256, 64),
    ("toy-dW1    (64x256)T.64x20", True, False, 256, 20, 64),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--filter", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, threads={torch.get_num_threads()}, median of {args.repeats} samples (each >= 20 ms)")
    g = torch.Generator().manual_seed(1)
    for name, ta, tb, m, n, k in SHAPES:
        if args.filter and args.filter.lower() not in name.lower():
            continue
        a = torch.rand((k, m) if ta else (m, k), generator=g) * 2 - 1
        b = torch.rand((n, k) if tb else (k, n), generator=g) * 2 - 1
        opa = a.t() if ta else a  # transposed views, as our engine passes transA/transB without copying
        opb = b.t() if tb else b
        c = torch.empty(m, n)
        flop = 2.0 * m * n * k
        reps = 1
        while True:
            t0 = time.perf_counter()
            for _ in range(reps):
                torch.mm(opa, opb, out=c)
            if time.perf_counter() - t0 >= 0.02:
                break
            reps *= 2
        samples, cpu_samples = [], []
        for _ in range(args.repeats):
            c0 = time.process_time()
            t0 = time.perf_counter()
            for _ in range(reps):
                torch.mm(opa, opb, out=c)
            wall = time.perf_counter() - t0
            cpu = time.process_time() - c0
            samples.append(flop * reps / wall / 1e9)
            cpu_samples.append(flop * reps / cpu / 1e9)
        med = statistics.median(samples)
        # GFLOP per CPU-second is less sensitive to other processes than wall-clock GFLOP/s on a busy machine.
        print(f"{name:<34}  t={args.threads}: {med:7.1f} GFLOP/s ({flop / med / 1e3:8.1f} us, "
              f"{statistics.median(cpu_samples):6.1f} GFLOP/cpu-s)")


if __name__ == "__main__":
    main()
