#!/usr/bin/env python3
"""Regenerates kernels/tests/golden/quantlib.json: QuantLib reference values that the Rust
tests (kernels/tests/validation.rs) compare our engines against. CI needs no Python: the golden
file is committed; rerun this after changing a case:

    pip install QuantLib
    python3 kernels/scripts/quantlib_refs.py

Every case holds our product and market JSON (notional = initial price = 100, so values are per
unit of underlying like QuantLib's NPV), the QuantLib engine used, its value, and the tolerance
the Rust test applies, with the reason for it.
"""
import datetime as dt
import json
import os

import QuantLib as ql

VAL = dt.date(2026, 1, 5)
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "golden", "quantlib.json")


def qd(d):
    return ql.Date(d.day, d.month, d.year)


def iso(d):
    return d.isoformat()


def market(s, r, q, v):
    return {"valuation_date": iso(VAL), "spot": s, "rate": r, "dividend": q, "vol": v}


def process(s, r, q, v):
    ql.Settings.instance().evaluationDate = qd(VAL)
    dc = ql.Actual365Fixed()
    spot = ql.QuoteHandle(ql.SimpleQuote(s))
    rts = ql.YieldTermStructureHandle(ql.FlatForward(qd(VAL), r, dc))
    qts = ql.YieldTermStructureHandle(ql.FlatForward(qd(VAL), q, dc))
    vts = ql.BlackVolTermStructureHandle(ql.BlackConstantVol(qd(VAL), ql.NullCalendar(), v, dc))
    return ql.BlackScholesMertonProcess(spot, qts, rts, vts)


def product(mat, legs, **extra):
    p = {"id": "ql", "underlying": "X", "notional": 100.0, "initial_price": 100.0,
         "start": iso(VAL), "maturity": iso(mat), "payoff": {"legs": legs}}
    p.update(extra)
    return p


cases = []


def add(name, engine, prod, mkt, value, checks, note, **kw):
    c = {"name": name, "quantlib_engine": engine, "quantlib_version": ql.__version__,
         "product": prod, "market": mkt, "value": value, "checks": checks, "note": note}
    c.update(kw)
    cases.append(c)


def leg(kind, k, **kw):
    d = {"type": kind, "strike": k}
    d.update(kw)
    return d


# European vanillas and digitals: AnalyticEuropeanEngine.
for (s, k, r, q, v, days, typ) in [
    (100, 100, 0.02, 0.01, 0.22, 365, "call"), (100, 100, 0.02, 0.01, 0.22, 365, "put"),
    (95, 110, 0.03, 0.0, 0.3, 182, "call"), (105, 90, 0.01, 0.02, 0.15, 730, "put"),
    (100, 120, 0.02, 0.01, 0.35, 91, "call"),
]:
    mat = VAL + dt.timedelta(days=days)
    opt = ql.EuropeanOption(ql.PlainVanillaPayoff(ql.Option.Call if typ == "call" else ql.Option.Put, k),
                            ql.EuropeanExercise(qd(mat)))
    opt.setPricingEngine(ql.AnalyticEuropeanEngine(process(s, r, q, v)))
    add(f"european_{typ}_S{s}_K{k}_T{days}", "AnalyticEuropeanEngine",
        product(mat, [leg(typ, float(k))]), market(s, r, q, v), opt.NPV(),
        {"analytic": 1e-10, "pde_fine": 1e-4, "mc_se": 3.0}, "Black-Scholes-Merton closed form")
for (s, k, cash, typ) in [(100, 105, 10.0, "call"), (100, 95, 10.0, "put")]:
    mat = VAL + dt.timedelta(days=182)
    opt = ql.EuropeanOption(ql.CashOrNothingPayoff(ql.Option.Call if typ == "call" else ql.Option.Put, k, cash),
                            ql.EuropeanExercise(qd(mat)))
    opt.setPricingEngine(ql.AnalyticEuropeanEngine(process(s, 0.02, 0.01, 0.25)))
    add(f"digital_{typ}_K{k}", "AnalyticEuropeanEngine (CashOrNothingPayoff)",
        product(mat, [{"type": f"digital_{typ}", "strike": float(k), "cash": cash / 100.0}]),
        market(s, 0.02, 0.01, 0.25), opt.NPV(), {"analytic": 1e-10, "pde_fine": 1e-4, "mc_se": 3.0},
        "cash-or-nothing closed form")

# Continuous single barriers with rebate: AnalyticBarrierEngine (Reiner-Rubinstein; knock-out
# rebates paid at hit, knock-in rebates at expiry).
BT = {("down", "in"): ql.Barrier.DownIn, ("up", "in"): ql.Barrier.UpIn,
      ("down", "out"): ql.Barrier.DownOut, ("up", "out"): ql.Barrier.UpOut}
for (ud, io, typ, k, h, reb) in [
    ("down", "out", "call", 100, 90, 3.0), ("down", "out", "call", 90, 95, 0.0),
    ("up", "out", "call", 100, 120, 2.0), ("up", "out", "put", 100, 110, 0.0),
    ("down", "out", "put", 100, 85, 1.0), ("down", "in", "call", 100, 90, 2.0),
    ("up", "in", "call", 100, 115, 0.0), ("down", "in", "put", 100, 90, 1.5),
    ("up", "in", "put", 95, 105, 0.0),
]:
    s, r, q, v = 100.0, 0.03, 0.01, 0.25
    mat = VAL + dt.timedelta(days=365)
    opt = ql.BarrierOption(BT[(ud, io)], float(h), reb,
                           ql.PlainVanillaPayoff(ql.Option.Call if typ == "call" else ql.Option.Put, k),
                           ql.EuropeanExercise(qd(mat)))
    opt.setPricingEngine(ql.AnalyticBarrierEngine(process(s, r, q, v)))
    add(f"barrier_{ud}_{io}_{typ}_K{k}_H{h}_R{reb}", "AnalyticBarrierEngine",
        product(mat, [leg(typ, float(k))], barrier={"direction": ud, "kind": io, "level": float(h),
                                                    "monitoring": "continuous", "rebate": reb / 100.0,
                                                    "rebate_timing": "at_hit"}),
        market(s, r, q, v), opt.NPV(), {"analytic": 1e-10, "pde_fine": 1e-4, "mc_se": 3.5},
        "Reiner-Rubinstein closed form; MC uses 252 steps/year with the Brownian-bridge correction "
        "(a residual O(dt) bias allowed for by 3.5 SE)")

# American puts and calls: FdBlackScholesVanillaEngine on a fine grid (2000 x 2000, Douglas).
for (s, k, r, q, v, days, typ) in [(100, 100, 0.05, 0.0, 0.2, 365, "put"), (90, 100, 0.03, 0.01, 0.3, 182, "put"),
                                     (100, 100, 0.02, 0.05, 0.25, 365, "call")]:
    mat = VAL + dt.timedelta(days=days)
    opt = ql.VanillaOption(ql.PlainVanillaPayoff(ql.Option.Call if typ == "call" else ql.Option.Put, k),
                           ql.AmericanExercise(qd(VAL), qd(mat)))
    opt.setPricingEngine(ql.FdBlackScholesVanillaEngine(process(s, r, q, v), 4000, 4000, 0))
    add(f"american_{typ}_S{s}_K{k}_T{days}", "FdBlackScholesVanillaEngine(4000 t, 4000 x)",
        product(mat, [leg(typ, float(k))], exercise="american"), market(s, r, q, v), opt.NPV(),
        {"pde_fine": 2e-4}, "finite differences on both sides: agreement to 2e-4 relative")

# Discrete Asians on monthly fixings (explicit dates shared with QuantLib).
fix = [VAL + dt.timedelta(days=int(round(365 * i / 12))) for i in range(1, 13)]
for (k, typ) in [(100, "call"), (95, "put")]:
    s, r, q, v = 100.0, 0.03, 0.01, 0.25
    mat = fix[-1]
    sched = {"dates": [iso(d) for d in fix]}
    geo = ql.DiscreteAveragingAsianOption(ql.Average.Geometric, 1.0, 0, [qd(d) for d in fix],
                                          ql.PlainVanillaPayoff(ql.Option.Call if typ == "call" else ql.Option.Put, k),
                                          ql.EuropeanExercise(qd(mat)))
    geo.setPricingEngine(ql.AnalyticDiscreteGeometricAveragePriceAsianEngine(process(s, r, q, v)))
    add(f"asian_geometric_{typ}_K{k}", "AnalyticDiscreteGeometricAveragePriceAsianEngine",
        product(mat, [leg(typ, float(k))], averaging={"kind": "geometric", "schedule": sched}),
        market(s, r, q, v), geo.NPV(), {"analytic": 1e-10, "mc_se": 3.0}, "discrete geometric closed form")
    ari = ql.DiscreteAveragingAsianOption(ql.Average.Arithmetic, 0.0, 0, [qd(d) for d in fix],
                                          ql.PlainVanillaPayoff(ql.Option.Call if typ == "call" else ql.Option.Put, k),
                                          ql.EuropeanExercise(qd(mat)))
    ari.setPricingEngine(ql.ChoiAsianEngine(process(s, r, q, v)))
    add(f"asian_arithmetic_{typ}_K{k}", "ChoiAsianEngine",
        product(mat, [leg(typ, float(k))], averaging={"kind": "arithmetic", "schedule": sched}),
        market(s, r, q, v), ari.NPV(), {"mc_se": 3.0},
        "Choi (2018) spectral method, accurate to ~1e-8: our MC must be within 3 SE")

json.dump({"generator": "kernels/scripts/quantlib_refs.py", "quantlib_version": ql.__version__,
           "cases": cases}, open(OUT, "w"), indent=1)
print(f"wrote {len(cases)} cases to {OUT}")
