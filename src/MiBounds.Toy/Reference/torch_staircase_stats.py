#!/usr/bin/env python3
"""Runs the peer PyTorch staircase (torch_staircase.py, one of the PyTorch peer scripts,
passed by path; not part of this repository) unchanged and
also reports, per MI level, the variance and count of the last-1000-step estimates
(the peer prints only their mean), so the side-by-side comparison can use standard errors.

usage: torch_staircase_stats.py PATH/torch_staircase.py [the peer's own options]
"""
import importlib.util, json, sys
import numpy as np

spec = importlib.util.spec_from_file_location("torch_staircase", sys.argv[1])
peer = importlib.util.module_from_spec(spec)
spec.loader.exec_module(peer)


class RecordingNumpy:
    """Stands in for numpy inside the peer: np.mean is called once per level on the last-1000 slice."""
    def __init__(self):
        self.slices = []

    def mean(self, values):
        self.slices.append(list(values))
        return np.mean(values)

    def __getattr__(self, name):
        return getattr(np, name)


recorder = RecordingNumpy()
peer.np = recorder
original_run = peer.run


def run_with_stats(*args, **kwargs):
    recorder.slices.clear()
    result = original_run(*args, **kwargs)
    levels = list(result['final_mean_by_mi'].keys())
    result['var_by_mi'] = {mi: float(np.var(s, ddof=1)) if len(s) > 1 else 0.0 for mi, s in zip(levels, recorder.slices)}
    result['n_by_mi'] = {mi: len(s) for mi, s in zip(levels, recorder.slices)}
    return result


peer.run = run_with_stats
sys.argv = [sys.argv[0]] + sys.argv[2:]
ap_args = peer.argparse.ArgumentParser()
ap_args.add_argument('--steps-per-level', type=int, default=4000)
ap_args.add_argument('--critics', default='concat,separable')
ap_args.add_argument('--estimators', default='nwj,tuba,infonce,js,alpha')
ap_args.add_argument('--threads', type=int, default=2)
a = ap_args.parse_args()
peer.torch.set_num_threads(a.threads)
for c in a.critics.split(','):
    for e in a.estimators.split(','):
        print(json.dumps(peer.run(e, c, a.steps_per_level)), flush=True)
