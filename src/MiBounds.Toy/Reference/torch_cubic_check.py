#!/usr/bin/env python3
"""Does the PyTorch reference diverge on the cubic task too? Runs the peer's separable critic and bounds
(torch_staircase.py, one of the PyTorch peer scripts, passed by path and imported unchanged) on the cubic staircase, y -> y**3, with the sweep's settings
(dim 20, batch 64, Adam 5e-4, 4000 steps per level at 2..10 nats), and prints each level's median estimate or the
step at which the estimate became non-finite.

usage: torch_cubic_check.py PATH/torch_staircase.py nwj|tuba [SEED]
(apt-get install -y python3-torch; nothing in the build or tests depends on this script)
"""
import importlib.util, math, os, sys
for var in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS'):
    os.environ.setdefault(var, '1')
import torch  # noqa: E402

spec = importlib.util.spec_from_file_location("torch_staircase", sys.argv[1])
peer = importlib.util.module_from_spec(spec)
spec.loader.exec_module(peer)
estimator, seed = sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0
torch.set_num_threads(1)
torch.manual_seed(seed)
dim, batch = 20, 64
critic = peer.Separable(dim)
params = list(critic.parameters())
baseline = None
if estimator == 'tuba':
    baseline = peer.mlp(dim, 512, 1)
    params += list(baseline.parameters())
opt = torch.optim.Adam(params, lr=5e-4)
step = 0
for mi in [2, 4, 6, 8, 10]:
    rho = math.sqrt(1 - math.exp(-2.0 * mi / dim))
    values = []
    for _ in range(4000):
        x, e = torch.randn(batch, 2 * dim).chunk(2, 1)
        y = (rho * x + math.sqrt(1 - rho * rho) * e) ** 3
        s = critic(x, y)
        v = peer.nwj(s) if estimator == 'nwj' else peer.tuba(s, baseline(y).squeeze(1))
        opt.zero_grad(); (-v).backward(); opt.step()
        step += 1
        if not math.isfinite(v.item()):
            print(f"{estimator} seed {seed}: the estimate became {v.item()} at step {step} (MI level {mi})")
            sys.exit(0)
        values.append(v.item())
    values.sort()
    print(f"{estimator} seed {seed}, {mi} nats: median estimate {values[len(values) // 2]:.3f}", flush=True)
print(f"{estimator} seed {seed}: finite through {step} steps")
