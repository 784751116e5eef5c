#!/usr/bin/env python3
"""PyTorch CPU steps/s of one toy training step (critic forward, bound, backward, Adam), per cell, for comparison with
`dotnet run -c Release --project bench/MiBounds.Bench -- steps` (bench/MiBounds.Bench/StepCommands.cs).

Models and bounds follow torch_staircase.py, the PyTorch peer script of the staircase (the Poole et al. notebook protocol): separable
20-256-256-32 (g and h), concat 40-256-256-1 on all K^2 pairs, learned baseline 20-512-512-1 for tuba and alpha,
Adam lr 5e-4, loss = -objective, the estimate read with .item() every step. As in the C# harness, 8 batches of the
correlated Gaussian (2 nats) are drawn up front and cycled, so a step times the training work only.

Run:   /usr/bin/python3 bench/torch_steps.py [--critics separable,concat] [--bounds nwj,tuba,infonce,js,alpha0.5]
                                             [--batches 64,128] [--threads 2] [--repeats 5] [--seconds 1]
Serve: /usr/bin/python3 bench/torch_steps.py --serve --threads N
       reads one JSON request per line {"critic", "bound", "batch", "seconds"} and answers one JSON line
       {"steps_per_s", "steps", "steps_per_cpu_s"} after timing one repeat of that cell (models are kept between requests), so the C#
       `steps --compare` driver can alternate our repeats with PyTorch's on the same machine.
(apt-get install -y python3-torch libopenblas0-pthread). Nothing in the build or tests depends on this script.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time


def _threads_from_argv(default=2):
    if '--threads' in sys.argv:
        i = sys.argv.index('--threads')
        if i + 1 < len(sys.argv):
            return sys.argv[i + 1]
    return str(default)


# This torch build does its matrix products in OpenBLAS, whose own thread pool ignores torch.set_num_threads: pin every
# pool to --threads before torch loads, so "1 thread" really is one.
for _var in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ.setdefault(_var, _threads_from_argv())

import torch  # noqa: E402
import torch.nn as nn
import torch.nn.functional as F

DIM = 20
BATCH_POOL = 8


def mlp(din, hidden, dout, layers=2):
    seq, d = [], din
    for _ in range(layers):
        seq += [nn.Linear(d, hidden), nn.ReLU()]
        d = hidden
    seq.append(nn.Linear(d, dout))
    return nn.Sequential(*seq)


class Separable(nn.Module):
    def __init__(self, dim, hidden=256, embed=32):
        super().__init__()
        self.g, self.h = mlp(dim, hidden, embed), mlp(dim, hidden, embed)

    def forward(self, x, y):  # rows = y, columns = x
        return self.h(y) @ self.g(x).t()


class Concat(nn.Module):
    def __init__(self, dim, hidden=256):
        super().__init__()
        self.f = mlp(2 * dim, hidden, 1)

    def forward(self, x, y):
        k = x.shape[0]
        xt = x[None, :, :].expand(k, k, -1)  # [i, j] -> x_j
        yt = y[:, None, :].expand(k, k, -1)  # [i, j] -> y_i
        return self.f(torch.cat([xt, yt], 2).reshape(k * k, -1)).view(k, k)


def lme_offdiag(s):
    k = s.shape[0]
    s = s.masked_fill(torch.eye(k, dtype=torch.bool), float('-inf'))
    return torch.logsumexp(s.flatten(), 0) - math.log(k * (k - 1))


def tuba(s, log_base=None):
    if log_base is not None:
        s = s - log_base[:, None]
    return 1.0 + s.diag().mean() - lme_offdiag(s).exp()


def nwj(s):
    return tuba(s - 1.0)


def infonce(s):
    return math.log(s.shape[0]) + (s.diag() - torch.logsumexp(s, 1)).mean()


def js(s):
    k = s.shape[0]
    off = ~torch.eye(k, dtype=torch.bool)
    j = -F.softplus(-s.diag()).mean() - F.softplus(s[off]).mean()
    v = nwj(s + 1.0)  # reported value, with the +1 shift
    return j + (v - j).detach()


def log_loomean(s):
    # exact leave-one-out log-mean-exp per row: loo[i, j] = log mean_{k != j} e^{s[i, k]}
    k = s.shape[0]
    rep = s[:, None, :].expand(k, k, k).clone()
    rep[:, torch.arange(k), torch.arange(k)] = float('-inf')
    return torch.logsumexp(rep, 2) - math.log(k - 1)


def interpolated(s, log_base, alpha):
    k = s.shape[0]
    logit = math.log(alpha) - math.log(1 - alpha)
    loo = log_loomean(s)
    la, l1a = -F.softplus(torch.tensor(-logit)), -F.softplus(torch.tensor(logit))
    base = torch.logaddexp(la + loo, l1a + log_base[:, None])
    off = ~torch.eye(k, dtype=torch.bool)
    marg = (s - base.diag()[:, None])[off].exp().mean()
    joint = (s.diag()[:, None] - base)[off].mean()
    return 1.0 + joint - marg


class Workload:
    """One cell: a critic (+ baseline), Adam, and a pool of pre-drawn batches."""

    def __init__(self, critic, bound, batch, seed=0):
        torch.manual_seed(seed)
        self.bound = bound
        self.critic = Separable(DIM) if critic == 'separable' else Concat(DIM)
        params = list(self.critic.parameters())
        self.baseline = None
        if bound == 'tuba' or bound.startswith('alpha'):
            self.baseline = mlp(DIM, 512, 1)
            params += list(self.baseline.parameters())
        self.alpha = float(bound[5:]) if bound.startswith('alpha') else None
        self.opt = torch.optim.Adam(params, lr=5e-4)
        rho = math.sqrt(1 - math.exp(-2.0 * 2.0 / DIM))
        self.batches = []
        for _ in range(BATCH_POOL):
            x, e = torch.randn(batch, 2 * DIM).chunk(2, 1)
            self.batches.append((x.contiguous(), (rho * x + math.sqrt(1 - rho * rho) * e).contiguous()))
        self.next = 0

    def step(self):
        x, y = self.batches[self.next]
        self.next = (self.next + 1) % len(self.batches)
        s = self.critic(x, y)
        lb = self.baseline(y).squeeze(1) if self.baseline is not None else None
        b = self.bound
        if b == 'nwj': v = nwj(s)
        elif b == 'tuba': v = tuba(s, lb)
        elif b == 'infonce': v = infonce(s)
        elif b == 'js': v = js(s)
        elif self.alpha is not None: v = interpolated(s, lb, self.alpha)
        else: raise ValueError(f"unknown bound {b}")
        self.opt.zero_grad()
        (-v).backward()
        self.opt.step()
        return v.item()

    def measure(self, seconds, min_steps=3):
        """(steps per wall second, steps, steps per CPU second of this process) over at least `seconds` and `min_steps` steps."""
        n, t0, c0 = 0, time.perf_counter(), time.process_time()
        while True:
            self.step()
            n += 1
            dt = time.perf_counter() - t0
            if n >= min_steps and dt >= seconds:
                return n / dt, n, n / max(time.process_time() - c0, 1e-9)


_cache = {}


def workload(critic, bound, batch):
    key = (critic, bound, batch)
    if key not in _cache:
        _cache.clear()  # one cell at a time: keeps memory flat across a long comparison
        w = Workload(critic, bound, batch)
        for _ in range(3):
            w.step()  # warm up
        _cache[key] = w
    return _cache[key]


def serve():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            w = workload(req['critic'], req['bound'], int(req['batch']))
            sps, n, cpu = w.measure(float(req.get('seconds', 1.0)))
            print(json.dumps({'steps_per_s': sps, 'steps': n, 'steps_per_cpu_s': cpu}), flush=True)
        except Exception as ex:  # answer, so the driver can name the failure
            print(json.dumps({'error': f"{type(ex).__name__}: {ex}"}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--critics', default='separable,concat')
    ap.add_argument('--bounds', default='nwj,tuba,infonce,js,alpha0.5')
    ap.add_argument('--batches', default='64,128')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--repeats', type=int, default=5)
    ap.add_argument('--seconds', type=float, default=1.0)
    ap.add_argument('--serve', action='store_true')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.serve:
        serve()
        return
    print(f"# torch {torch.__version__}, threads={torch.get_num_threads()}, median of {a.repeats} repeats of >= {a.seconds} s",
          flush=True)
    for k in [int(b) for b in a.batches.split(',')]:
        for c in a.critics.split(','):
            for b in a.bounds.split(','):
                w = workload(c, b, k)
                samples = [w.measure(a.seconds) for _ in range(a.repeats)]
                print(json.dumps({'critic': c, 'bound': b, 'batch': k, 'threads': a.threads,
                                  'steps_per_s': statistics.median(s[0] for s in samples),
                                  'steps_per_cpu_s': statistics.median(s[2] for s in samples),
                                  'samples': [s[0] for s in samples]}), flush=True)


if __name__ == '__main__':
    main()
