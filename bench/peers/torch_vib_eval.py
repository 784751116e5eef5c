#!/usr/bin/env python3
"""PyTorch peer of `bench eval --compare` (MiBounds): the VIB evaluation paths users wait on, timed on CPU.

The model is MiBounds' VIB at K = 256 (784-1024-1024-2K encoder, sigma = softplus(s - 5), linear decoder), untrained:
the work, not the weights, is measured. Pixels are scaled to [-1, 1], so radii in [0, 1] units double on the input.
  --work test12   12-sample predictive accuracy (log of the softmax averaged over 12 codes) on 10 000 images,
                  batches of 500 without gradients
  --work pgd40    PGD (40 steps of 0.01 from a random start, radius 0.1) against the same 12-sample prediction on
                  1000 images in batches of 100, then the prediction on the adversaries
  --work cw       untargeted Carlini-Wagner L2 against the same 12-sample prediction on 100 images: 5 binary-search
                  steps over c from 1e-3 x 100 Adam iterations (lr 1e-2) in tanh space, confidence 0, no early abort
                  (so both sides do exactly 500 forward and backward passes), then the prediction on the adversaries;
                  the same algorithm as MiBounds' CarliniWagner.Attack
The images are the first rows of the training split (only the timing is reported). Prints one JSON line
{"work", "threads", "seconds", "accuracy"}.
usage: torch_vib_eval.py --work test12|pgd40|cw [--threads 1] [--data DIR]
"""
import argparse, gzip, json, math, os, time
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F


def idx(path):
    with gzip.open(path, 'rb') as f:
        data = f.read()
    nd = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], 'big') for i in range(nd)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


def images(directory, count):
    path = os.path.join(directory, 'train-images-idx3-ubyte.gz')
    if os.path.exists(path):
        x = idx(path)[:count].reshape(count, 784)
        y = idx(os.path.join(directory, 'train-labels-idx1-ubyte.gz'))[:count]
    else:  # the same fallback as the bench: random pixels, labels i mod 10
        rng = np.random.default_rng(5)
        x = rng.integers(0, 256, size=(count, 784), dtype=np.uint8)
        y = np.arange(count) % 10
    return torch.tensor(x, dtype=torch.float32) / 255 * 2 - 1, torch.tensor(y, dtype=torch.long)


def carlini_wagner_accuracy(predict, clean, label, searches=5, iterations=100, lr=1e-2, c0=1e-3, kappa=0.0):
    """Untargeted C&W L2 (x = tanh(w0 + delta) in [-1, 1]; Adam on delta; c binary-searched per image), then accuracy."""
    n = clean.shape[0]
    w0 = torch.atanh(clean.clamp(-1, 1) * 0.999999)
    onehot = F.one_hot(label, 10).float()
    c = torch.full((n,), c0, dtype=torch.float64)
    lower = torch.zeros(n, dtype=torch.float64)
    upper = torch.full((n,), 1e10, dtype=torch.float64)
    best_l2 = torch.full((n,), math.inf)
    best = clean.clone()
    for _ in range(searches):
        delta = torch.zeros_like(clean, requires_grad=True)
        opt = torch.optim.Adam([delta], lr=lr)
        ct = c.float()
        succeeded = torch.zeros(n, dtype=torch.bool)
        for _ in range(iterations):
            opt.zero_grad()
            x = torch.tanh(w0 + delta)
            z = predict(x)
            margin = z.gather(1, label[:, None]).squeeze(1) - (z - onehot * 1e9).max(1).values
            f = (margin + kappa).relu() - kappa
            dist = ((x - clean) ** 2).sum(1)
            (dist + ct * f).sum().backward()
            with torch.no_grad():
                ok = margin < -kappa
                succeeded |= ok
                better = ok & (dist < best_l2)
                best_l2 = torch.where(better, dist, best_l2)
                best[better] = x[better]
            opt.step()
        upper = torch.where(succeeded, torch.minimum(upper, c), upper)
        lower = torch.where(succeeded, lower, torch.maximum(lower, c))
        c = torch.where(succeeded | (upper < 1e9), (lower + upper) / 2, c * 10)
    with torch.no_grad():
        return (predict(best).argmax(1) == label).sum().item() / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--work', choices=['test12', 'pgd40', 'cw'], required=True)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--data', default='/usr/share/datasets/fashion-mnist')
    ap.add_argument('--samples', type=int, default=12)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    k = 256
    enc = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 2 * k))
    dec = nn.Linear(k, 10)
    for p in list(enc.parameters()) + list(dec.parameters()):
        p.requires_grad_(False)

    def predict(x):
        p = enc(x)
        mu, sd = p[:, :k], F.softplus(p[:, k:] - 5)
        n = x.shape[0]
        z = mu.repeat(a.samples, 1) + sd.repeat(a.samples, 1) * torch.randn(a.samples * n, k)
        logp = F.log_softmax(dec(z), 1).view(a.samples, n, 10)
        return torch.logsumexp(logp, 0) - math.log(a.samples)

    def accuracy(x, y, batch):
        correct = 0
        with torch.no_grad():
            for s in range(0, len(y), batch):
                correct += (predict(x[s:s + batch]).argmax(1) == y[s:s + batch]).sum().item()
        return correct / len(y)

    if a.work == 'test12':
        x, y = images(a.data, 10000)
        t0 = time.perf_counter()
        acc = accuracy(x, y, 500)
        dt = time.perf_counter() - t0
    elif a.work == 'cw':
        x, y = images(a.data, 100)
        t0 = time.perf_counter()
        acc = carlini_wagner_accuracy(predict, x, y)
        dt = time.perf_counter() - t0
    else:
        x, y = images(a.data, 1000)
        eps, step = 2 * 0.1, 2 * 0.01
        t0 = time.perf_counter()
        correct = 0
        for s in range(0, 1000, 100):
            clean, label = x[s:s + 100], y[s:s + 100]
            adv = (clean + torch.empty_like(clean).uniform_(-eps, eps)).clamp(-1, 1)
            for _ in range(40):
                adv.requires_grad_(True)
                loss = -predict(adv).gather(1, label[:, None]).sum()
                g, = torch.autograd.grad(loss, adv)
                with torch.no_grad():
                    adv = torch.max(torch.min(adv + step * g.sign(), clean + eps), clean - eps).clamp(-1, 1)
            with torch.no_grad():
                correct += (predict(adv).argmax(1) == label).sum().item()
        acc = correct / 1000
        dt = time.perf_counter() - t0
    print(json.dumps({'work': a.work, 'threads': a.threads, 'seconds': dt, 'accuracy': acc}), flush=True)


if __name__ == '__main__':
    main()
