#!/usr/bin/env python3
"""Generates the Chinese confirmation set of the `extraction` suite (evals/data/extraction/zh/).

GENERATED TEST DOCUMENTS, NOT REAL CONFIRMATIONS. Each document renders the economic terms of a
real trade or request from the shared data (an FpML/CDM sample, a message of the RFQ development
set, or the shared 雪球 examples; `provenance` names it) in the form Chinese firms use for OTC
derivative confirmations under the SAC/NAFMII master agreements (交易确认书 with 甲方/乙方). Party
names are invented (no real firm is named); dates are placed where the source has none (a request
has no trade date) and are stated as such in `provenance`. The expected key terms are computed from
the same trade data, so the text and the expectation cannot disagree.

Five layouts: labelled list (A), letter with the roles in a sentence (B), two-column table
flattened to text (C), NAFMII-style swap confirmation (D), and a layout used only by the held-out
documents (E), written before any extraction rule was tuned on this set. The split is fixed here:
`held_out` documents are never looked at while tuning.

Run: python3 make_zh.py  (writes documents.jsonl and expected.json beside this file)
"""

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))

DIGITS = "零壹贰叁肆伍陆柒捌玖"
SMALL = "〇一二三四五六七八九"


def daxie(amount):
    """An amount in yuan in 大写 capitals: 10,000,000 → 壹仟万元整."""
    yuan = int(round(amount * 100)) // 100
    fen = int(round(amount * 100)) % 100

    def four(n):
        units = ["", "拾", "佰", "仟"]
        s, zero = "", False
        for i in range(3, -1, -1):
            d = (n // 10**i) % 10
            if d == 0:
                zero = bool(s)
            else:
                if zero:
                    s += "零"
                    zero = False
                s += DIGITS[d] + units[i]
        return s

    parts = []
    yi, rest = divmod(yuan, 10**8)
    wan, ge = divmod(rest, 10**4)
    if yi:
        parts.append(four(yi) + "亿")
    if wan:
        if yi and wan < 1000:
            parts.append("零")
        parts.append(four(wan) + "万")
    if ge:
        if (yi or wan) and ge < 1000:
            parts.append("零")
        parts.append(four(ge))
    s = "".join(parts) + "元"
    if fen == 0:
        return s + "整"
    jiao, f = divmod(fen, 10)
    if jiao:
        s += DIGITS[jiao] + "角"
    if f:
        s += DIGITS[f] + "分"
    return s


def small_date(iso):
    """2026-03-05 → 二〇二六年三月五日."""
    y, m, d = (int(x) for x in iso.split("-"))

    def num(n):
        if n < 10:
            return SMALL[n]
        if n == 10:
            return "十"
        if n < 20:
            return "十" + SMALL[n % 10]
        return SMALL[n // 10] + "十" + (SMALL[n % 10] if n % 10 else "")

    return "".join(SMALL[int(c)] for c in str(y)) + "年" + num(m) + "月" + num(d) + "日"


def date_form(iso, style):
    y, m, d = (int(x) for x in iso.split("-"))
    return {
        "cn": f"{y}年{m}月{d}日",
        "iso": iso,
        "small": small_date(iso),
        "slash": f"{y}/{m:02d}/{d:02d}",
        "dot": f"{y}.{m}.{d}",
    }[style]


def money_form(amount, style, currency="CNY"):
    """An amount as Chinese confirmations write it."""
    if currency != "CNY":
        sym = {"USD": "美元", "EUR": "欧元"}[currency]
        return f"{sym}{amount:,.2f}" if style != "code" else f"{currency} {amount:,.2f}"
    if style == "yuan":
        return f"人民币{amount:,.2f}元"
    if style == "wan":
        w = amount / 10000
        return f"{w:,.0f}万元" if w == int(w) else f"{w:,.2f}万元"
    if style == "yi":
        return f"人民币{amount / 1e8:g}亿元"
    if style == "daxie":
        return f"人民币{daxie(amount)}（¥{amount:,.2f}）"
    if style == "code":
        return f"CNY {amount:,.2f}"
    raise ValueError(style)


def pct(x):
    return f"{x:g}%"


# ---------------------------------------------------------------------------------------------
# Parties (invented names).
DEALERS = [
    "恒川证券股份有限公司",
    "北辰证券股份有限公司",
    "东临证券有限责任公司",
    "华岳资本管理有限公司",
    "江海银行股份有限公司",
    "南屿证券股份有限公司",
]
CLIENTS = [
    "明远一号私募证券投资基金",
    "上海青禾投资管理有限公司",
    "苏州远帆实业有限公司",
    "杭州澄泉资产管理有限公司",
    "深圳启衡投资合伙企业（有限合伙）",
    "宁波和岸贸易有限公司",
    "成都锦序私募基金管理有限公司",
    "天津航川物产有限公司",
]

# ---------------------------------------------------------------------------------------------
# Trades. `src` is the provenance; `dates_placed` says the dates were placed for a request.
R = "shared/data/rfq/dev.jsonl"
AC = "shared/data/rfq/autocall-terms/autocall_snowball_term_parameters.json (illustrative 雪球)"
FP = "shared/data/cdm/fpml-cdm/"
IRS = "shared/data/confirmations/irs-letter/interest-rate-swap-sample.md"

TRADES = [
    # --- vanilla ---
    dict(id="zh-vanilla-50etf-call", src=R + ": 50ETF 1个月 平值看涨 名义本金1000万", kind="vanilla",
         und=("上证50ETF", "510050.SH"), opt="call", style="european", strike=100, tenor_m=1,
         notional=10_000_000, premium_pct=1.85, trade="2026-03-05", init=2.853),
    dict(id="zh-vanilla-300-put", src=R + ": 沪深300 3M 95% put, 5000w notional", kind="vanilla",
         und=("沪深300指数", "000300.SH"), opt="put", style="european", strike=95, tenor_m=3,
         notional=50_000_000, premium_pct=1.62, trade="2026-04-13", init=3912.46),
    dict(id="zh-vanilla-stm-american-call", src=FP + "fpml-5-13-incomplete-products-equity-options/eqd-ex01-american-call-stock-long-form.fpml.xml",
         kind="vanilla_shares", und=("STMicroelectronics N.V.普通股", "STM-FP"), opt="call",
         style="american", strike_price=32.00, ccy="EUR", n_options=150_000, entitlement=1,
         premium=405_000, premium_date="2001-07-17", trade="2001-07-13", expiry="2005-09-27"),
    dict(id="zh-vanilla-300etf-american-put", src=R + ": 300ETF 美式看跌 行权价98% 两个月 名义本金三千万", kind="vanilla",
         und=("沪深300ETF", "510300.SH"), opt="put", style="american", strike=98, tenor_m=2,
         notional=30_000_000, premium_pct=1.31, trade="2026-05-11", init=4.012),
    dict(id="zh-vanilla-cyb-call", src=R + ": 创业板 3个月 欧式看涨 虚值5% 1000万", kind="vanilla",
         und=("创业板指数", "399006.SZ"), opt="call", style="european", strike=105, tenor_m=3,
         notional=10_000_000, premium_pct=2.07, trade="2026-06-02", init=2145.33),
    dict(id="zh-commodity-rb-put", src=R + ": 螺纹 看跌 平值 1个月 名义 500w", kind="commodity",
         und=("螺纹钢期货RB2610合约", "RB2610.SHF"), opt="put", style="european", strike=100, tenor_m=1,
         notional=5_000_000, premium_pct=1.48, trade="2026-07-06", init=3218.0),
    dict(id="zh-commodity-gas-put", src=FP + "fpml-5-13-products-commodity-derivatives/com-ex46-simple-financial-put-option.fpml.xml",
         kind="commodity_price", und=("亨利港天然气（NATURAL GAS-LOUISIANA (HENRY HUB)-GAS DAILY）", None),
         opt="put", style="european", strike_price=1.95, ccy="USD", premium=40_500,
         premium_date="2012-04-12", trade="2012-04-10", expiry="2012-09-30"),
    # --- digital ---
    dict(id="zh-digital-sse50-call", src=R + ": 上证50 二元看涨 行权价102 1个月 100万", kind="digital",
         und=("上证50指数", "000016.SH"), opt="call", strike=102, tenor_m=1, notional=1_000_000,
         payout=4, premium_pct=1.9, trade="2026-03-18", init=2688.12),
    dict(id="zh-digital-50etf-call", src=R + ": 6M 50ETF 102% digital call, payout 5%, notional 5mm", kind="digital",
         und=("上证50ETF", "510050.SH"), opt="call", strike=102, tenor_m=6, notional=5_000_000,
         payout=5, premium_pct=2.2, trade="2026-08-03", init=2.911),
    # --- shark fin (barrier) ---
    dict(id="zh-sharkfin-gold-call", src=R + ": 黄金 鲨鱼鳍 看涨 3个月 障碍110 名义2000万", kind="sharkfin",
         und=("黄金期货AU2612合约", "AU2612.SHF"), opt="call", strike=100, barrier=110, part=100,
         tenor_m=3, notional=20_000_000, premium_pct=1.2, trade="2026-09-07", init=612.40,
         family="commodity_option"),
    dict(id="zh-sharkfin-500-call", src=R + ": 中证500 鲨鱼鳍 看涨 敲出价 115 参与率 100% 6个月 1000万", kind="sharkfin",
         und=("中证500指数", "000905.SH"), opt="call", strike=100, barrier=115, part=100, tenor_m=6,
         notional=10_000_000, premium_pct=1.6, trade="2026-02-09", init=5890.12),
    dict(id="zh-sharkfin-300-put", src=R + ": 沪深300 鲨鱼鳍看跌 障碍90 3M 名义1亿", kind="sharkfin",
         und=("沪深300指数", "000300.SH"), opt="put", strike=100, barrier=90, part=80, tenor_m=3,
         notional=100_000_000, premium_pct=1.05, trade="2026-10-12", init=3877.5),
    # --- snowball / phoenix ---
    dict(id="zh-snowball-500-103-75", src=R + ": 中证500 雪球 12个月 敲出103 敲入75", kind="snowball",
         und=("中证500指数", "000905.SH"), ko=103, ki=75, coupon=15.2, tenor_m=12, lockup=3,
         notional=10_000_000, trade="2026-01-12", init=5712.38),
    dict(id="zh-snowball-1000-100-70", src=R + ": 中证1000 雪球 敲出100 敲入70 24个月", kind="snowball",
         und=("中证1000指数", "000852.SH"), ko=100, ki=70, coupon=12.8, tenor_m=24, lockup=3,
         notional=20_000_000, trade="2026-02-23", init=6120.77),
    dict(id="zh-snowball-500etf-102-78", src=R + ": 500ETF 雪球 敲出 102 敲入 78 票息 15% 期限 18个月", kind="snowball",
         und=("中证500ETF", "510500.SH"), ko=102, ki=78, coupon=15, tenor_m=18, lockup=6,
         notional=5_000_000, trade="2026-04-20", init=6.482),
    dict(id="zh-snowball-illustrative-105-70", src=AC + ": 中证500, 敲出105%, 敲入70%, 18% p.a., 12个月", kind="snowball",
         und=("中证500指数", "000905.SH"), ko=105, ki=70, coupon=18, tenor_m=12, lockup=0,
         notional=10_000_000, trade="2026-05-06", init=5820.06),
    dict(id="zh-phoenix-kc50", src=R + ": 科创50 凤凰 敲出103 敲入80 派息线80 12m", kind="phoenix",
         und=("科创50指数", "000688.SH"), ko=103, ki=80, cb=80, coupon=9.6, tenor_m=12, lockup=3,
         notional=10_000_000, trade="2026-06-15", init=1012.35),
    # --- swaps ---
    dict(id="zh-equity-swap-shire", src=FP + "fpml-5-13-products-equity-swaps/eqs-ex01-single-underlyer-execution-long-form.fpml.xml",
         kind="equity_swap", und=("Shire Pharmaceuticals Group美国存托凭证", "SHPGY.O"),
         notional=28_469_376, ccy="USD", float_index="USD-LIBOR-BBA", tenor="1M", day_count="ACT/360",
         trade="2001-09-24", effective="2001-09-27", termination="2002-09-24"),
    dict(id="zh-irs-letter", src=IRS, kind="irs", notional=300_000_000, ccy="USD", fixed=4.09,
         float_index="USD-LIBOR-BBA", tenor="3M", day_count="30/360", trade="2005-06-23",
         effective="2005-06-27", termination="2008-06-18"),
    # ---------------- held out (layout E and the same layouts on other trades) ----------------
    dict(id="zh-ho-vanilla-if-call", src=R + ": IF 三个月 平值看涨", kind="vanilla", held=True,
         und=("沪深300股指期货IF2609合约", "IF2609.CFE"), opt="call", style="european", strike=100,
         tenor_m=3, notional=8_000_000, premium_pct=2.9, trade="2026-06-22", init=3920.2),
    dict(id="zh-ho-snowball-1000-103-75", src=R + ": 有没有一年期的中证1000雪球，敲出103敲入75", kind="snowball", held=True,
         und=("中证1000指数", "000852.SH"), ko=103, ki=75, coupon=16.5, tenor_m=12, lockup=3,
         notional=30_000_000, trade="2026-07-20", init=6301.4),
    dict(id="zh-ho-sharkfin-500-call", src=R + ": 中证500 鲨鱼鳍 看涨 敲出价 115 参与率 100%", kind="sharkfin", held=True,
         und=("中证500指数", "000905.SH"), opt="call", strike=100, barrier=112, part=90, tenor_m=6,
         notional=15_000_000, premium_pct=1.45, trade="2026-08-17", init=5934.8),
    dict(id="zh-ho-digital-50etf", src=R + ": 6M 50ETF 102% digital call, payout 5%", kind="digital", held=True,
         und=("上证50ETF", "510050.SH"), opt="call", strike=103, tenor_m=3, notional=2_000_000,
         payout=5, premium_pct=2.4, trade="2026-09-21", init=2.874),
    dict(id="zh-ho-vanilla-510050-put", src=R + ": 510050 95 put 1m 10mm", kind="vanilla", held=True,
         und=("上证50ETF", "510050.SH"), opt="put", style="european", strike=95, tenor_m=1,
         notional=10_000_000, premium_pct=0.74, trade="2026-10-26", init=2.902),
    dict(id="zh-ho-snowball-csi1000-100-65", src=R + ": CSI1000 12M autocall KO 100% KI 65%, notional 10m CNY", kind="snowball", held=True,
         und=("中证1000指数", "000852.SH"), ko=100, ki=65, coupon=11.4, tenor_m=12, lockup=3,
         notional=10_000_000, trade="2026-11-09", init=6245.0),
    dict(id="zh-ho-vanilla-stm-call", src=FP + "fpml-5-13-products-equity-options/eqd-ex12-vanilla-short-form.fpml.xml (10,000 options, premium 27,000) with the underlier and strike of eqd-ex01",
         kind="vanilla_shares", held=True, und=("STMicroelectronics N.V.普通股", "STM-FP"), opt="call",
         style="european", strike_price=32.00, ccy="EUR", n_options=10_000, entitlement=1,
         premium=27_000, premium_date="2001-09-27", trade="2001-09-25", expiry="2002-09-27"),
    dict(id="zh-ho-equity-swap-300", src=R + " (沪深300 underlying) with the financing terms of " + FP + "fpml-5-13-products-equity-swaps/eqs-ex06-single-index-long-form.fpml.xml",
         kind="equity_swap_fixed", held=True, und=("沪深300指数", "000300.SH"), notional=50_000_000, ccy="CNY",
         fixed=3.2, day_count="ACT/365", trade="2026-03-30", effective="2026-03-31", termination="2026-09-30"),
]


def add_months(iso, months):
    y, m, d = (int(x) for x in iso.split("-"))
    m0 = m - 1 + months
    y, m = y + m0 // 12, m0 % 12 + 1
    d = min(d, [31, 29 if y % 4 == 0 else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1])
    return f"{y}-{m:02d}-{d:02d}"


def next_day(iso, n=1):
    import datetime
    d = datetime.date.fromisoformat(iso) + datetime.timedelta(days=n)
    while d.weekday() >= 5:
        d += datetime.timedelta(days=1)
    return d.isoformat()


def expected(t, dealer, client):
    """The key terms the document states (shared/schemas/key-terms.md)."""
    k = {"party_a": dealer, "party_b": client, "trade_date": t["trade"]}
    kind = t["kind"]
    # Buyer of the option: the client (乙方), the dealer sells.
    if kind in ("vanilla", "commodity", "digital", "sharkfin", "snowball", "phoenix",
                "vanilla_shares", "commodity_price"):
        k["buyer"], k["seller"] = "party_b", "party_a"
    if kind in ("vanilla", "commodity", "digital", "sharkfin"):
        k["product_type"] = t.get("family") or ("commodity_option" if kind == "commodity" else "equity_option")
        k["underlier"] = {"name": t["und"][0], "id": t["und"][1]}
        k["option_type"] = t["opt"]
        if "style" in t:
            k["exercise_style"] = t["style"]
        k["strike"] = {"value": t["strike"], "unit": "percent"}
        k["notional"] = {"amount": t["notional"], "currency": "CNY"}
        k["effective_date"] = t["effective"]
        k["expiration_date"] = t["expiry"]
        k["premium"] = {"amount": t["premium_amt"], "currency": "CNY", "payment_date": t["premium_date"]}
        k["settlement"] = "cash"
        k["initial_price"] = {"value": t["init"]}
        if kind == "digital":
            k["payout_pct"] = t["payout"]
        if kind == "sharkfin":
            k["barrier"] = {"kind": "knock_out", "direction": "up" if t["opt"] == "call" else "down",
                            "level": t["barrier"]}
            k["participation_pct"] = t["part"]
    elif kind in ("vanilla_shares", "commodity_price"):
        k["product_type"] = "equity_option" if kind == "vanilla_shares" else "commodity_option"
        k["underlier"] = {"name": t["und"][0]} | ({"id": t["und"][1]} if t["und"][1] else {})
        k["option_type"] = t["opt"]
        k["exercise_style"] = t["style"]
        k["strike"] = {"value": t["strike_price"], "unit": "price", "currency": t["ccy"]}
        if "n_options" in t:
            k["number_of_options"] = t["n_options"]
            k["option_entitlement"] = t["entitlement"]
        k["expiration_date"] = t["expiry"]
        k["premium"] = {"amount": t["premium"], "currency": t["ccy"], "payment_date": t["premium_date"]}
        k["settlement"] = "physical" if kind == "vanilla_shares" else "cash"
    elif kind in ("snowball", "phoenix"):
        k["product_type"] = kind
        k["underlier"] = {"name": t["und"][0], "id": t["und"][1]}
        k["notional"] = {"amount": t["notional"], "currency": "CNY"}
        k["effective_date"] = t["effective"]
        k["expiration_date"] = t["expiry"]
        k["initial_price"] = {"value": t["init"]}
        k["settlement"] = "cash"
        a = {"knock_out_pct": t["ko"], "knock_out_observation": "monthly",
             "knock_in_pct": t["ki"], "knock_in_observation": "daily",
             "coupon_rate": round(t["coupon"] / 100, 6)}
        a["lockup_months"] = t["lockup"]  # stated either way: 锁定期N个月 or 无锁定期
        if kind == "phoenix":
            a["coupon_barrier_pct"] = t["cb"]
        k["autocall"] = a
    elif kind in ("equity_swap", "equity_swap_fixed"):
        k["product_type"] = "equity_swap"
        k["underlier"] = {"name": t["und"][0], "id": t["und"][1]}
        k["notional"] = {"amount": t["notional"], "currency": t["ccy"]}
        k["effective_date"] = t["effective"]
        k["termination_date"] = t["termination"]
        k["day_count"] = t["day_count"]
        if kind == "equity_swap":
            k["floating_rate_index"] = t["float_index"]
            k["floating_rate_tenor"] = t["tenor"]
        else:
            k["fixed_rate"] = round(t["fixed"] / 100, 6)
        k["settlement"] = "cash"
    elif kind == "irs":
        k["product_type"] = "interest_rate_swap"
        k["notional"] = {"amount": t["notional"], "currency": t["ccy"]}
        k["effective_date"] = t["effective"]
        k["termination_date"] = t["termination"]
        k["fixed_rate"] = round(t["fixed"] / 100, 6)
        k["floating_rate_index"] = t["float_index"]
        k["floating_rate_tenor"] = t["tenor"]
        k["day_count"] = t["day_count"]
    return k


OPT = {"call": "看涨", "put": "看跌"}
STYLE = {"european": "欧式", "american": "美式"}


def option_lines(t, v):
    """The trade's terms as (label, value) pairs, in the document's forms `v`."""
    kind = t["kind"]
    D = lambda iso: date_form(iso, v["date"])  # noqa: E731
    M = lambda amt: money_form(amt, v["money"])  # noqa: E731
    rows = [("交易日", D(t["trade"]))]
    if kind in ("vanilla", "commodity", "digital", "sharkfin"):
        style = STYLE.get(t.get("style"), "")
        name = {"vanilla": f"{OPT[t['opt']]}期权",
                "commodity": f"商品{style}{OPT[t['opt']]}期权",
                "digital": f"二元{OPT[t['opt']]}期权",
                "sharkfin": f"单鲨{OPT[t['opt']]}期权（鲨鱼鳍）"}[kind]
        rows += [
            ("期权类型", name),
        ]
        if "style" in t:
            rows.append(("行权方式", f"{STYLE[t['style']]}"))
        rows += [
            ("标的资产", f"{t['und'][0]}（{t['und'][1]}）"),
            ("起始日", D(t["effective"])),
            ("期初价格", f"{t['init']:g}"),
            ("行权价格", f"期初价格的{pct(t['strike'])}"),
            ("名义本金", M(t["notional"])),
        ]
        if kind == "sharkfin":
            rows += [
                ("障碍价格", f"期初价格的{pct(t['barrier'])}"),
                ("参与率", pct(t["part"])),
                ("敲出补偿", "无"),
            ]
        if kind == "digital":
            rows += [("收益率", f"名义本金的{pct(t['payout'])}（期末价格达到行权价格时支付）")]
        rows += [
            ("到期日", D(t["expiry"])),
            ("期权费", f"{M(t['premium_amt'])}（名义本金的{pct(t['premium_pct'])}）"),
            ("期权费支付日", D(t["premium_date"])),
            ("结算方式", "现金结算"),
        ]
    elif kind in ("vanilla_shares", "commodity_price"):
        ccy = t["ccy"]
        rows += [
            ("期权类型", f"{OPT[t['opt']]}期权"),
            ("行权方式", STYLE[t["style"]]),
            ("标的资产", t["und"][0] + (f"（{t['und'][1]}）" if t["und"][1] else "")),
            ("行权价格", money_form(t["strike_price"], "code" if v["money"] == "code" else "x", ccy)),
        ]
        if "n_options" in t:
            rows += [("期权数量", f"{t['n_options']:,}份"), ("每份期权对应标的数量", "1股")]
        rows += [
            ("到期日", D(t["expiry"])),
            ("期权费", money_form(t["premium"], "code" if v["money"] == "code" else "x", ccy)),
            ("期权费支付日", D(t["premium_date"])),
            ("结算方式", "实物交割" if kind == "vanilla_shares" else "现金结算"),
        ]
    elif kind in ("snowball", "phoenix"):
        rows += [
            ("产品类型", "雪球结构场外期权" if kind == "snowball" else "凤凰结构场外期权"),
            ("挂钩标的", f"{t['und'][0]}（{t['und'][1]}）"),
            ("名义本金", M(t["notional"])),
            ("起始日", D(t["effective"])),
            ("期初价格", f"{t['init']:g}"),
            ("敲出价格", f"期初价格的{pct(t['ko'])}"),
            ("敲出观察日", "每月观察一次" + (f"（锁定期{t['lockup']}个月）" if t["lockup"] else "（无锁定期）")),
            ("敲入价格", f"期初价格的{pct(t['ki'])}"),
            ("敲入观察", "每日观察"),
        ]
        if kind == "phoenix":
            rows += [("派息价格", f"期初价格的{pct(t['cb'])}")]
        rows += [
            ("票息", f"{pct(t['coupon'])}（年化）"),
            ("到期日", D(t["expiry"])),
            ("结算方式", "现金结算"),
        ]
    return rows


def fmt_money_x(amount, ccy):
    return money_form(amount, "x", ccy)


def render(t, layout, v, dealer, client, ref):
    D = lambda iso: date_form(iso, v["date"])  # noqa: E731
    kind = t["kind"]
    lines = []
    if kind in ("irs",):
        title = "利率互换交易确认书"
    elif kind.startswith("equity_swap"):
        title = "收益互换交易确认书"
    elif kind in ("snowball", "phoenix"):
        title = "场外期权交易确认书（" + ("雪球结构" if kind == "snowball" else "凤凰结构") + "）"
    else:
        title = "场外期权交易确认书"
    master = ("《中国证券期货市场场外衍生品交易主协议（2014年版）》" if kind not in ("irs",)
              else "《中国银行间市场金融衍生产品交易主协议（2009年版）》")

    if kind in ("irs", "equity_swap", "equity_swap_fixed"):
        return render_swap(t, layout, v, dealer, client, ref, title, master)

    rows = option_lines(t, v)
    if layout == "A":
        lines += [title, f"确认书编号：{ref}", "（本文件为测试用生成文件，非真实交易）", "",
                  f"甲方：{dealer}", f"乙方：{client}", "", "一、交易要素"]
        lines += [f"{i + 1}. {a}：{b}" for i, (a, b) in enumerate(rows)]
        lines += ["", "二、交易双方", "期权买方：乙方", "期权卖方：甲方",
                  f"三、本确认书适用甲乙双方签署的{master}及其补充协议。"]
    elif layout == "B":
        lines += [title, "（测试用生成文件）", f"致：{client}", f"发自：{dealer}",
                  f"日期：{D(t['trade'])}", "",
                  f"本确认书旨在确认{dealer}（以下简称“甲方”）与{client}（以下简称“乙方”）于"
                  f"{D(t['trade'])}达成的场外衍生品交易（以下简称“本交易”）的条款。本确认书构成双方签署的"
                  f"{master}项下的交易确认书。",
                  "乙方向甲方买入下述期权，甲方同意向乙方卖出该期权。", ""]
        for a, b in rows:
            if a == "期权费支付日":
                continue
            lines.append(f"{a}：{b}")
        pd = [b for a, b in rows if a == "期权费支付日"]
        if pd:
            lines += ["", f"乙方应于{pd[0]}（“期权费支付日”）向甲方一次性支付全部期权费。"]
        lines += ["甲方：" + dealer + "（盖章）", "乙方：" + client + "（盖章）"]
    elif layout == "C":
        lines += [title, f"编号 {ref}", "测试用生成文件", "", f"甲方（期权卖方）  {dealer}",
                  f"乙方（期权买方）  {client}", "", "条款  内容"]
        lines += [f"{a}  {b}" for a, b in rows]
        lines += ["", f"双方确认本交易受{master}约束。"]
    elif layout == "E":
        lines += [f"{title}", f"交易编号：{ref}", "说明：本文件系测试生成，不代表真实交易。", "",
                  f"本交易由{client}（“乙方”）作为期权买方、{dealer}（“甲方”）作为期权卖方，"
                  f"于{D(t['trade'])}达成，具体条款如下：", ""]
        for i, (a, b) in enumerate(rows):
            num = "（" + "一二三四五六七八九十"[i % 10] + "）" if i < 10 else f"（{i + 1}）"
            lines.append(f"{num}{a}：{b}")
        lines += ["", "甲方签章：", "乙方签章："]
    return "\n".join(lines) + "\n"


def render_swap(t, layout, v, dealer, client, ref, title, master):
    D = lambda iso: date_form(iso, v["date"])  # noqa: E731
    ccy = t["ccy"]
    money = money_form(t["notional"], v["money"]) if ccy == "CNY" else money_form(t["notional"], "x", ccy)
    dc = {"ACT/360": "实际/360", "ACT/365": "实际/365", "30/360": "30/360"}[t["day_count"]]
    lines = [title, f"交易编号：{ref}", "（测试用生成文件，非真实交易）", "", f"甲方：{dealer}", f"乙方：{client}", ""]
    rows = [("交易日", D(t["trade"])), ("名义本金", money), ("起息日", D(t["effective"])),
            ("到期日", D(t["termination"]))]
    if t["kind"] == "irs":
        lines.insert(7, f"甲乙双方于{D(t['trade'])}达成如下利率互换交易，适用{master}：")
        rows += [("固定利率支付方", "乙方"), ("固定利率", f"{t['fixed']:.2f}%"),
                 ("浮动利率支付方", "甲方"), ("浮动利率", f"{t['float_index']}，期限{t['tenor'][:-1]}个月"),
                 ("计息基准", dc)]
    elif t["kind"] == "equity_swap":
        rows += [("标的资产", f"{t['und'][0]}（{t['und'][1]}）"), ("权益收益支付方", "甲方"),
                 ("浮动利率支付方", "乙方"), ("浮动利率", f"{t['float_index']}，期限{t['tenor'][:-1]}个月"),
                 ("计息基准", dc), ("结算方式", "现金结算")]
    else:
        rows += [("挂钩标的", f"{t['und'][0]}（{t['und'][1]}）"), ("固定收益率", f"{pct(t['fixed'])}（年化）"),
                 ("固定收益支付方", "乙方"), ("计息基准", dc), ("结算方式", "现金结算")]
    if layout == "E":
        lines += [f"{a}：{b}" for a, b in rows]
    else:
        lines += [f"{i + 1}、{a}：{b}" for i, (a, b) in enumerate(rows)]
    lines += ["", "甲方（盖章）", "乙方（盖章）"]
    return "\n".join(lines) + "\n"


VARIANTS = [
    dict(date="cn", money="yuan"),
    dict(date="small", money="wan"),
    dict(date="iso", money="daxie"),
    dict(date="slash", money="yi"),
    dict(date="dot", money="code"),
]


def main():
    docs, exp = [], []
    dev_layouts = ["A", "B", "C"]
    for i, t in enumerate(TRADES):
        held = t.get("held", False)
        # Dates a request does not have: effective the next business day, expiry by the tenor,
        # the premium paid on the effective date.
        if "tenor_m" in t:
            t["effective"] = next_day(t["trade"])
            t["expiry"] = add_months(t["effective"], t["tenor_m"])
            t["premium_date"] = t["effective"]
        if "premium_pct" in t:
            t["premium_amt"] = round(t["notional"] * t["premium_pct"] / 100, 2)
        dealer = DEALERS[i % len(DEALERS)]
        client = CLIENTS[(i * 3) % len(CLIENTS)]
        kind = t["kind"]
        if kind in ("irs", "equity_swap", "equity_swap_fixed"):
            layout = "E" if held else "D"
        elif held:
            layout = ["E", "A", "B", "C"][i % 4]
        else:
            layout = dev_layouts[i % 3]
        v = VARIANTS[i % len(VARIANTS)]
        if kind in ("irs", "equity_swap") and v["money"] in ("wan", "yi", "daxie"):
            v = dict(v, money="x")
        ref = f"TEST-{2026 if t['trade'] >= '2026' else int(t['trade'][:4])}-{i + 1:04d}"
        text = render(t, layout, v, dealer, client, ref)
        k = expected(t, dealer, client)
        provenance = t["src"]
        if "tenor_m" in t:
            provenance += "; trade, start, expiry and premium dates placed for this document"
        docs.append({"id": t["id"], "lang": "zh", "held_out": held, "layout": layout,
                     "forms": v, "provenance": provenance, "text": text})
        exp.append({"id": t["id"], "source": f"zh#{t['id']}", "lang": "zh", "held_out": held,
                    "key_terms": k})
    with open(os.path.join(HERE, "documents.jsonl"), "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    about = ("Expected key terms of the generated Chinese confirmations (documents.jsonl, made by "
             "make_zh.py from real trades' data; generated test documents, not real confirmations). "
             "Buyer/seller name party_a (甲方, the dealer) and party_b (乙方, the client).")
    with open(os.path.join(HERE, "expected.json"), "w", encoding="utf-8") as f:
        json.dump({"about": about, "documents": exp}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"{len(docs)} documents ({sum(d['held_out'] for d in docs)} held out)")


if __name__ == "__main__":
    main()
