#!/usr/bin/env python3
"""Side-by-side table: our sweep's summary.json against torch_staircase_stats.py's JSON lines.

usage: compare_with_torch.py SUMMARY_JSON REFERENCE_JSONL [TASK]
Per (critic, estimator, level): both last-1000-step means, their difference, and whether it lies within
max(0.3, 3·SE) nats, SE = sqrt(var_ours/n_ours + var_ref/n_ref) (i.i.d. approximation: the estimates are
autocorrelated, so this SE is optimistic). Also steps/s of each side. The reference's "alpha" is α = 0.5.
"""
import json, math, sys

summary = json.load(open(sys.argv[1]))
task = sys.argv[3] if len(sys.argv) > 3 else 'gaussian'
ref = [json.loads(l) for l in open(sys.argv[2]) if l.strip().startswith('{')]
name = {'alpha': 'alpha0.5'}
ours = {}
for r in summary:
    if r['task'] == task:
        ours[(r['critic'], r['estimator'], float(r['mi']))] = r
print('| critic | estimator | MI | ours | torch | diff | tol | ok | ours steps/s | torch steps/s |')
print('|---|---|---|---|---|---|---|---|---|---|')
bad = total = 0
for run in ref:
    est = name.get(run['estimator'], run['estimator'])
    for mi, mean_ref in run['final_mean_by_mi'].items():
        key = (run['critic'], est, float(mi))
        if key not in ours:
            continue
        o = ours[key]
        n_o = min(1000, o['steps'])
        se = math.sqrt(o['variance'] / n_o + run['var_by_mi'][mi] / run['n_by_mi'][mi])
        tol = max(0.3, 3 * se)
        diff = o['mean'] - mean_ref
        ok = abs(diff) <= tol
        total += 1
        bad += not ok
        levels = [x for x in summary if x['task'] == task and x['critic'] == run['critic'] and x['estimator'] == est]
        ours_sps = sum(x['steps'] for x in levels) / sum(x['steps'] / x['steps_per_second'] for x in levels)
        print(f"| {run['critic']} | {est} | {float(mi):g} | {o['mean']:.3f} | {mean_ref:.3f} | {diff:+.3f} | {tol:.3f} | {'yes' if ok else 'NO'} "
              f"| {ours_sps:.1f} | {run['steps_per_s']:.1f} |")
print(f'\n{total - bad} of {total} within tolerance')
