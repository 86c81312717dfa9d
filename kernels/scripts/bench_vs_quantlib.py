#!/usr/bin/env python3
"""Benchmark (a): our CPU Monte Carlo vs QuantLib's, same products, paths, steps and
antithetic sampling, side by side in one run.

    pip install QuantLib
    python3 kernels/scripts/bench_vs_quantlib.py [paths]

Runs `cargo bench -p kernels --bench pricing -- peer` (our side, all cores via rayon) and the
matching QuantLib engines (single-threaded, as QuantLib's MC is), then prints both values with
their standard errors and the throughput ratio (paths per second, ours / QuantLib). QuantLib
counts an antithetic pair as one sample, so it is asked for paths/2 samples. Our values are per
unit notional (×100 for QuantLib's per-unit-of-underlying scale).
"""
import datetime as dt
import json
import os
import subprocess
import sys
import time

import QuantLib as ql

PATHS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
VAL = dt.date(2026, 1, 5)
ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def qd(d):
    return ql.Date(d.day, d.month, d.year)


def process():
    ql.Settings.instance().evaluationDate = qd(VAL)
    dc = ql.Actual365Fixed()
    return ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(100.0)),
        ql.YieldTermStructureHandle(ql.FlatForward(qd(VAL), 0.01, dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(qd(VAL), 0.03, dc)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(qd(VAL), ql.NullCalendar(), 0.25, dc)))


def timed(opt):
    t = time.perf_counter()
    v = opt.NPV()
    s = time.perf_counter() - t
    return v, opt.errorEstimate(), s


def quantlib_cases():
    mat = qd(VAL + dt.timedelta(days=365))
    p = process()
    call = ql.PlainVanillaPayoff(ql.Option.Call, 100.0)
    out = {}
    e = ql.EuropeanOption(call, ql.EuropeanExercise(mat))
    e.setPricingEngine(ql.MCEuropeanEngine(p, "pseudorandom", timeSteps=1, antitheticVariate=True,
                                           requiredSamples=PATHS // 2, seed=42))
    out["european_call"] = (PATHS, 1) + timed(e)
    n = PATHS // 10
    b = ql.BarrierOption(ql.Barrier.UpOut, 120.0, 0.0, call, ql.EuropeanExercise(mat))
    b.setPricingEngine(ql.MCBarrierEngine(p, "pseudorandom", timeSteps=252, brownianBridge=True,
                                          antitheticVariate=True, requiredSamples=n // 2, seed=42))
    out["up_out_call_252"] = (n, 252) + timed(b)
    fix = [qd(VAL + dt.timedelta(days=int(round(365 * i / 12)))) for i in range(1, 13)]
    a = ql.DiscreteAveragingAsianOption(ql.Average.Arithmetic, 0.0, 0, fix, call, ql.EuropeanExercise(fix[-1]))
    a.setPricingEngine(ql.MCDiscreteArithmeticAPEngine(p, "pseudorandom", antitheticVariate=True,
                                                       requiredSamples=PATHS // 2, seed=42))
    out["arithmetic_asian_12"] = (PATHS, 12) + timed(a)
    return out


def ours():
    env = dict(os.environ, BENCH_PEER_PATHS=str(PATHS))
    r = subprocess.run(["cargo", "bench", "-q", "-p", "kernels", "--bench", "pricing", "--", "peer"],
                       cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return {d["case"]: d for d in (json.loads(l) for l in r.stdout.splitlines() if l.startswith("{"))}


def main():
    o = ours()
    q = quantlib_cases()
    print(f"{'case':22} {'paths':>9} {'steps':>5} {'ours value':>12} {'± se':>9} {'QL value':>12} {'± se':>9} "
          f"{'ours s':>8} {'QL s':>8} {'ratio':>7}")
    for case, (n, steps, v, se, s) in q.items():
        d = o[case]
        ratio = s / d["seconds"]
        print(f"{case:22} {n:>9} {steps:>5} {100 * d['value']:>12.5f} {100 * d['std_error']:>9.5f} {v:>12.5f} "
              f"{se:>9.5f} {d['seconds']:>8.3f} {s:>8.3f} {ratio:>6.1f}x")
    print(f"ours: {o['european_call']['threads']} threads ({o['european_call']['backend']}); QuantLib {ql.__version__}: 1 thread")


if __name__ == "__main__":
    main()
