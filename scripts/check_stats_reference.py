#!/usr/bin/env python3
"""Compare exoskin-trials statistics with scipy.stats, statsmodels and pingouin (1e-6 unless
a check states otherwise: see check_designs).

Usage: python3 scripts/check_stats_reference.py   (from the repository root)

Creates .venv-stats (a local virtual environment) with scipy, statsmodels and pingouin if
needed, re-runs itself there, runs `cargo run --release -p exoskin-trials --example stats_reference`,
and compares every number. Rank-test modes compared: Wilcoxon with scipy's defaults
(zero_method="wilcox", correction=False, method="auto": exact without ties/zeros for n <= 50)
and the normal approximation with and without continuity correction; Mann-Whitney with
scipy's defaults (use_continuity=True, method="auto": exact when one sample has <= 8 values
and there are no ties) and forced exact/asymptotic modes. Exit code 0 when all agree.
"""
import json
import os
import subprocess
import sys
import venv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".venv-stats")
PY = os.path.join(VENV, "bin", "python")
TOL = 1e-6


def ensure_venv():
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    if not os.path.exists(PY):
        print("creating", VENV, flush=True)
        try:
            venv.create(VENV, with_pip=True)
        except Exception:
            # Debian ships ensurepip separately (python3-venv); install it when we can.
            import shutil
            if shutil.which("apt-get") is None or os.geteuid() != 0:
                raise
            ver = f"python{sys.version_info.major}.{sys.version_info.minor}-venv"
            env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
            subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "python3-venv", ver],
                           check=True, env=env)
            shutil.rmtree(VENV, ignore_errors=True)
            venv.create(VENV, with_pip=True)
    try:
        subprocess.run([PY, "-c", "import scipy, statsmodels, pingouin"], check=True, capture_output=True)
    except subprocess.CalledProcessError:
        subprocess.run([PY, "-m", "pip", "install", "-q", "scipy", "statsmodels", "pingouin"], check=True)
    os.execv(PY, [PY] + sys.argv)


def main():
    ensure_venv()
    import numpy as np
    from scipy import stats
    from statsmodels.stats.power import TTestPower, TTestIndPower
    from statsmodels.stats.proportion import proportion_confint

    out = subprocess.run(
        ["cargo", "run", "--release", "-q", "-p", "exoskin-trials", "--example", "stats_reference"],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout
    data = json.loads(out)
    checks = 0
    worst = [0.0, ""]
    failures = []

    devs = {}

    def close(what, ours, ref, tol=TOL, group=None):
        """`group` names a family of checks whose largest deviation is reported apart (and
        kept out of the overall largest deviation, which is for the 1e-6 checks)."""
        nonlocal checks
        checks += 1
        ref = float(ref)
        if ours is not None and np.isfinite(ours):
            dev = abs(ours - ref) / max(1.0, abs(ref))
            if group is None and dev > worst[0]:
                worst[0], worst[1] = dev, what
            if group is not None:
                devs[group] = max(devs.get(group, 0.0), dev)
        if ours is None or not np.isfinite(ours) or abs(ours - ref) > tol * max(1.0, abs(ref)):
            failures.append(f"{what}: ours {ours!r}, reference {ref!r}")

    for c in data["cases"]:
        n = c["name"]
        x, y = np.array(c["x"]), np.array(c["y"])
        m = min(len(x), len(y))
        xp, yp = x[:m], y[:m]
        d = xp - yp
        r = stats.ttest_rel(xp, yp)
        ci = r.confidence_interval(0.95)
        for k, v in [("statistic", r.statistic), ("p_value", r.pvalue), ("df", r.df),
                     ("ci95_low", ci.low), ("ci95_high", ci.high)]:
            close(f"{n} paired_t {k}", c["paired_t"][k], v)
        r = stats.ttest_ind(x, y, equal_var=False)
        ci = r.confidence_interval(0.95)
        for k, v in [("statistic", r.statistic), ("p_value", r.pvalue), ("df", r.df),
                     ("ci95_low", ci.low), ("ci95_high", ci.high)]:
            close(f"{n} welch_t {k}", c["welch_t"][k], v)
        has_ties = len(np.unique(np.abs(d[d != 0]))) < np.count_nonzero(d)
        if not has_ties and np.all(d != 0) or len(d) > 13:
            # scipy's auto mode is then exact (no ties/zeros, n <= 50) or asymptotic;
            # for tied data with n <= 13 scipy runs a permutation test, which we do not.
            r = stats.wilcoxon(d)
            close(f"{n} wilcoxon auto statistic", c["wilcoxon_auto"]["statistic"], r.statistic)
            close(f"{n} wilcoxon auto p", c["wilcoxon_auto"]["p_value"], r.pvalue)
        r = stats.wilcoxon(d, correction=True, method="asymptotic")
        close(f"{n} wilcoxon asymptotic+cc p", c["wilcoxon_asymptotic_corrected"]["p_value"], r.pvalue)
        r = stats.wilcoxon(d, correction=False, method="asymptotic")
        close(f"{n} wilcoxon asymptotic p", c["wilcoxon_asymptotic"]["p_value"], r.pvalue)
        r = stats.mannwhitneyu(x, y)
        close(f"{n} mannwhitney auto U", c["mannwhitney_auto"]["statistic"], r.statistic)
        close(f"{n} mannwhitney auto p", c["mannwhitney_auto"]["p_value"], r.pvalue)
        r = stats.mannwhitneyu(x, y, use_continuity=False, method="asymptotic")
        close(f"{n} mannwhitney asymptotic p", c["mannwhitney_asymptotic_nocc"]["p_value"], r.pvalue)
        # Effect sizes: the textbook formulas in numpy.
        close(f"{n} cohen_dz", c["cohen_dz"], d.mean() / d.std(ddof=1))
        sp = np.sqrt(((len(x) - 1) * x.var(ddof=1) + (len(y) - 1) * y.var(ddof=1)) / (len(x) + len(y) - 2))
        dd = (x.mean() - y.mean()) / sp
        close(f"{n} cohen_d", c["cohen_d"], dd)
        from scipy.special import gammaln
        df = len(x) + len(y) - 2
        j = np.exp(gammaln(df / 2) - 0.5 * np.log(df / 2) - gammaln((df - 1) / 2))
        close(f"{n} hedges_g", c["hedges_g"], dd * j)
    for i, c in enumerate(data["exact_small"]):
        r = stats.mannwhitneyu(c["x"], c["y"], method="exact")
        close(f"exact_small[{i}] U", c["mannwhitney_exact"]["statistic"], r.statistic)
        close(f"exact_small[{i}] p", c["mannwhitney_exact"]["p_value"], r.pvalue)
    for row in data["dists"]:
        if "t" in row:
            close(f"t.cdf({row['t']}, {row['df']})", row["t_cdf"], stats.t.cdf(row["t"], row["df"]))
            for q in row["nct"]:
                close(f"nct.cdf({row['t']}, {row['df']}, {q['nc']})", q["cdf"],
                      stats.nct.cdf(row["t"], row["df"], q["nc"]))
        else:
            close(f"t.ppf({row['p']}, {row['df']})", row["t_ppf"], stats.t.ppf(row["p"], row["df"]))
    for row in data["normals"]:
        if "x" in row:
            close(f"norm.cdf({row['x']})", row["cdf"], stats.norm.cdf(row["x"]))
        else:
            close(f"norm.ppf({row['p']})", row["ppf"], stats.norm.ppf(row["p"]))
    for row in data["power"]:
        es, a = row["effect_size"], row["alpha"]
        close(f"paired power es={es} a={a}", row["paired_power_n20"],
              TTestPower().power(es, 20, a, alternative="two-sided"))
        close(f"two-sample power es={es} a={a}", row["two_sample_power_n20"],
              TTestIndPower().power(es, 20, a, ratio=1.0, alternative="two-sided"))
        close(f"paired n(80%) es={es} a={a}", row["paired_n_80"],
              TTestPower().solve_power(es, nobs=None, alpha=a, power=0.8))
        close(f"two-sample n(80%) es={es} a={a}", row["two_sample_n_80"],
              TTestIndPower().solve_power(es, nobs1=None, alpha=a, power=0.8))
        close(f"paired n(90%) es={es} a={a}", row["paired_n_90"],
              TTestPower().solve_power(es, nobs=None, alpha=a, power=0.9))
    for row in data["wilson"]:
        lo, hi = proportion_confint(row["count"], row["n"], alpha=0.05, method="wilson")
        close(f"wilson {row['count']}/{row['n']} low", row["low"], lo)
        close(f"wilson {row['count']}/{row['n']} high", row["high"], hi)

    check_designs(data["designs"], close, devs)
    for g in sorted(devs):
        print(f"  {g}: largest deviation {devs[g]:.1e}")

    for f in failures:
        print("MISMATCH", f)
    print(f"stats reference check: {checks - len(failures)}/{checks} values agree with scipy "
          f"{stats.__name__ and __import__('scipy').__version__} / statsmodels "
          f"{__import__('statsmodels').__version__} to {TOL:g} unless stated above (largest deviation "
          f"of the {TOL:g} checks outside the families above {worst[0]:.1e}, {worst[1]})")
    sys.exit(1 if failures else 0)


def check_designs(d, close, devs):
    """Equivalence, non-inferiority and their power; multiplicity; ANCOVA; the crossover;
    the mixed model. Tolerances (relative to max(1, |reference|)): 1e-6 for closed forms
    (statsmodels ttost_paired/ttost_ind/ttest_ind/multipletests/OLS, pingouin tost, scipy);
    1e-6 for TOST power against an independent scipy quadrature of the same probability, and
    4 Monte-Carlo standard errors against 20000 simulated trials tested with statsmodels'
    ttost; for the mixed model, 1e-4 for the fixed effects and variance components against
    statsmodels MixedLM (reml=True), whose optimiser stops at about that precision, and for
    the standard errors against the generalised-least-squares formula evaluated with
    statsmodels' variance components; and 2e-3 against statsmodels' own standard errors
    (from the observed information, which differs from the expected information once visits
    are missing)."""
    import numpy as np
    import pandas as pd
    import pingouin as pg
    import statsmodels.api as sm
    import statsmodels.formula.api as smf
    from scipy import integrate, stats
    from statsmodels.stats.multitest import multipletests
    from statsmodels.stats.power import TTestPower, TTestIndPower
    from statsmodels.stats.weightstats import ttest_ind, ttost_ind, ttost_paired

    base_close = close

    def close(what, ours, ref, tol=TOL, group=None):
        # Each family's largest deviation is reported apart: tost, ni, power, multiplicity,
        # ancova, crossover (the first word of the check's name), and the mixed model.
        base_close(what, ours, ref, tol=tol, group=group or what.split("[")[0].split(" ")[0])

    def one(what, ours, p, t, df):
        close(f"{what} p", ours["p_value"], p)
        close(f"{what} t", ours["statistic"], t)
        close(f"{what} df", ours["df"], df)

    for i, c in enumerate(d["tost"]):
        x, y = np.array(c["x"]), np.array(c["y"])
        m = min(len(x), len(y))
        lo, hi, a, mg = c["low"], c["high"], c["alpha"], c["margin"]
        p, r1, r2 = ttost_paired(x[:m], y[:m], lo, hi)
        close(f"tost[{i}] paired p", c["paired"]["p_value"], p)
        one(f"tost[{i}] paired lower", c["paired"]["lower"], r1[1], r1[0], r1[2])
        one(f"tost[{i}] paired upper", c["paired"]["upper"], r2[1], r2[0], r2[2])
        ci = stats.ttest_rel(x[:m], y[:m]).confidence_interval(1 - 2 * a)
        close(f"tost[{i}] paired CI low", c["paired"]["ci_low"], ci.low)
        close(f"tost[{i}] paired CI high", c["paired"]["ci_high"], ci.high)
        for key, usevar, equal in [("welch", "unequal", False), ("pooled", "pooled", True)]:
            p, r1, r2 = ttost_ind(x, y, lo, hi, usevar=usevar)
            close(f"tost[{i}] {key} p", c[key]["p_value"], p)
            one(f"tost[{i}] {key} lower", c[key]["lower"], r1[1], r1[0], r1[2])
            one(f"tost[{i}] {key} upper", c[key]["upper"], r2[1], r2[0], r2[2])
            ci = stats.ttest_ind(x, y, equal_var=equal).confidence_interval(1 - 2 * a)
            close(f"tost[{i}] {key} CI low", c[key]["ci_low"], ci.low)
            close(f"tost[{i}] {key} CI high", c[key]["ci_high"], ci.high)
        if abs(lo + hi) < 1e-12:
            close(f"tost[{i}] paired vs pingouin", c["paired"]["p_value"],
                  pg.tost(x[:m], y[:m], bound=hi, paired=True).at["TOST", "pval"])
            close(f"tost[{i}] welch vs pingouin", c["welch"]["p_value"],
                  pg.tost(x, y, bound=hi, correction=True).at["TOST", "pval"])
            close(f"tost[{i}] pooled vs pingouin", c["pooled"]["p_value"],
                  pg.tost(x, y, bound=hi).at["TOST", "pval"])
        r = stats.ttest_1samp(x[:m] - y[:m], -mg, alternative="greater")
        one(f"ni[{i}] paired higher", c["ni_paired_higher"], r.pvalue, r.statistic, r.df)
        r = stats.ttest_1samp(x[:m] - y[:m], mg, alternative="less")
        one(f"ni[{i}] paired lower", c["ni_paired_lower"], r.pvalue, r.statistic, r.df)
        t, p, df = ttest_ind(x, y, alternative="larger", usevar="unequal", value=-mg)
        one(f"ni[{i}] welch higher", c["ni_welch_higher"], p, t, df)
        t, p, df = ttest_ind(x, y, alternative="smaller", usevar="unequal", value=mg)
        one(f"ni[{i}] welch lower", c["ni_welch_lower"], p, t, df)

    def tost_power_quad(delta, sd, lo, hi, n1, n2, alpha):
        if n2 == 0:
            f, df = 1 / np.sqrt(n1), n1 - 1
        else:
            f, df = np.sqrt(1 / n1 + 1 / n2), n1 + n2 - 2
        tc = stats.t.ppf(1 - alpha, df)
        se = sd * f
        smax = (hi - lo) / (2 * tc)  # sample SD times f below which both tests can reject

        def integrand(s):
            a, b = lo + tc * s, hi - tc * s
            q = df * (s / se) ** 2
            dens = stats.chi2.pdf(q, df) * 2 * df * s / se ** 2
            return (stats.norm.cdf((b - delta) / se) - stats.norm.cdf((a - delta) / se)) * dens

        return integrate.quad(integrand, 0, smax, epsabs=1e-12, epsrel=1e-10, limit=200)[0]

    rng = np.random.default_rng(20261207)
    mc_worst = 0.0
    for c in d["power"]:
        delta, sd, lo, hi, n1, n2, a = (c[k] for k in ["delta", "sd", "low", "high", "n1", "n2", "alpha"])
        what = f"power delta={delta} sd={sd} [{lo}, {hi}] n=({n1}, {n2}) a={a}"
        close(f"{what} TOST (quadrature)", c["tost_power"], tost_power_quad(delta, sd, lo, hi, n1, n2, a))
        # Monte Carlo with statsmodels' TOST on simulated data.
        reps = 20000
        hits = 0
        n1i, n2i = int(n1), int(n2)
        if n2i == 0:
            dd = rng.normal(delta, sd, size=(reps, n1i))
            mu, s = dd.mean(1), dd.std(1, ddof=1)
            t1 = (mu - lo) / (s / np.sqrt(n1i))
            t2 = (mu - hi) / (s / np.sqrt(n1i))
            dfv = n1i - 1
            hits = np.mean((stats.t.sf(t1, dfv) < a) & (stats.t.cdf(t2, dfv) < a))
            # spot-check the vectorised test against statsmodels on the first trials
            for k in range(20):
                p = ttost_paired(dd[k], np.zeros(n1i), lo, hi)[0]
                assert (p < a) == ((stats.t.sf(t1[k], dfv) < a) & (stats.t.cdf(t2[k], dfv) < a))
        else:
            xs = rng.normal(delta, sd, size=(reps, n1i))
            ys = rng.normal(0.0, sd, size=(reps, n2i))
            dfv = n1i + n2i - 2
            sp = np.sqrt(((n1i - 1) * xs.var(1, ddof=1) + (n2i - 1) * ys.var(1, ddof=1)) / dfv)
            se = sp * np.sqrt(1 / n1i + 1 / n2i)
            mu = xs.mean(1) - ys.mean(1)
            hits = np.mean((stats.t.sf((mu - lo) / se, dfv) < a) & (stats.t.cdf((mu - hi) / se, dfv) < a))
            for k in range(20):
                p = ttost_ind(xs[k], ys[k], lo, hi, usevar="pooled")[0]
                assert (p < a) == ((stats.t.sf((mu[k] - lo) / se[k], dfv) < a) & (stats.t.cdf((mu[k] - hi) / se[k], dfv) < a))
        mc_se = np.sqrt(max(hits * (1 - hits), 1e-4) / reps)
        z = abs(c["tost_power"] - hits) / mc_se
        mc_worst = max(mc_worst, z)
        close(f"{what} TOST (Monte Carlo, 4 SE)", c["tost_power"], hits, tol=4 * mc_se,
              group="TOST power vs Monte Carlo (absolute, in power)")
        mg = c["margin"]
        for key, sign in [("ni_power_higher", 1), ("ni_power_lower", -1)]:
            es = (sign * delta + mg) / sd
            if n2 == 0:
                ref = TTestPower().power(es, n1, a, alternative="larger")
            else:
                ref = TTestIndPower().power(es, n1, a, ratio=n2 / n1, alternative="larger")
            close(f"{what} {key}", c[key], ref)
        es = (delta + mg) / sd
        if n2 == 0:
            ref = TTestPower().solve_power(es, nobs=None, alpha=a, power=0.8, alternative="larger")
        else:
            ref = TTestIndPower().solve_power(es, nobs1=None, alpha=a, power=0.8, ratio=n2 / n1,
                                              alternative="larger")
        close(f"{what} NI n(80%)", c["ni_n_80"], ref, tol=1e-5)
        if n2 != 0:
            es = (abs(delta) + 0.3) / sd
            close(f"{what} two-sample n(80%) ratio {n2 / n1:g}", c["superiority_n_80"],
                  TTestIndPower().solve_power(es, nobs1=None, alpha=a, power=0.8, ratio=n2 / n1), tol=1e-5)
        if c["tost_n_80"] is not None:
            nn = c["tost_n_80"]
            back = tost_power_quad(delta, sd, lo, hi, nn, 0 if n2 == 0 else nn * n2 / n1, a)
            close(f"{what} TOST n(80%) gives 80 % (quadrature)", back, 0.8)
    print(f"  TOST power vs Monte Carlo: largest deviation {mc_worst:.2f} Monte-Carlo SE")

    for i, c in enumerate(d["multiplicity"]):
        p = np.array(c["p"])
        for key, method in [("holm", "holm"), ("hochberg", "simes-hochberg"), ("bonferroni", "bonferroni")]:
            ref = multipletests(p, method=method)[1]
            for k in range(len(p)):
                close(f"multiplicity[{i}] {key}[{k}]", c[key][k], ref[k])
        ref = np.maximum.accumulate(p)
        for k in range(len(p)):
            close(f"multiplicity[{i}] fixed_sequence[{k}]", c["fixed_sequence"][k], ref[k])

    for i, c in enumerate(d["ancova"]):
        df = pd.DataFrame({
            "change": c["x"] + c["y"],
            "treated": [1.0] * len(c["x"]) + [0.0] * len(c["y"]),
            "baseline": c["bx"] + c["by"]})
        fit = smf.ols("change ~ treated + baseline", df).fit()
        ci = fit.conf_int(0.05).loc["treated"]
        a = c["ancova"]
        close(f"ancova[{i}] estimate", a["estimate"], fit.params["treated"])
        close(f"ancova[{i}] se", a["se"], fit.bse["treated"])
        close(f"ancova[{i}] t", a["statistic"], fit.tvalues["treated"])
        close(f"ancova[{i}] p", a["p_value"], fit.pvalues["treated"])
        close(f"ancova[{i}] df", a["df"], fit.df_resid)
        close(f"ancova[{i}] CI low", a["ci_low"], ci[0])
        close(f"ancova[{i}] CI high", a["ci_high"], ci[1])
        anc = pg.ancova(data=df.assign(g=df.treated.map({1.0: "t", 0.0: "c"})), dv="change",
                        covar="baseline", between="g")
        close(f"ancova[{i}] p vs pingouin", a["p_value"], anc.set_index("Source").at["g", "p_unc"])

    for i, c in enumerate(d["crossover"]):
        rows = []
        for k, (y1, y2) in enumerate(c["tc"]):
            rows += [(f"a{k}", 1, 1, y1), (f"a{k}", 2, 0, y2)]
        for k, (y1, y2) in enumerate(c["ct"]):
            rows += [(f"b{k}", 1, 0, y1), (f"b{k}", 2, 1, y2)]
        df = pd.DataFrame(rows, columns=["subject", "period", "treated", "y"])
        fit = smf.ols("y ~ C(subject) + C(period) + treated", df).fit()
        for key, name in [("treatment", "treated"), ("period", "C(period)[T.2]")]:
            ci = fit.conf_int(0.05).loc[name]
            close(f"crossover[{i}] {key} estimate", c[key]["estimate"], fit.params[name])
            close(f"crossover[{i}] {key} se", c[key]["se"], fit.bse[name])
            close(f"crossover[{i}] {key} p", c[key]["p_value"], fit.pvalues[name])
            close(f"crossover[{i}] {key} df", c[key]["df"], fit.df_resid)
            close(f"crossover[{i}] {key} CI low", c[key]["ci_low"], ci[0])
            close(f"crossover[{i}] {key} CI high", c[key]["ci_high"], ci[1])
        s1 = [a + b for a, b in c["tc"]]
        s2 = [a + b for a, b in c["ct"]]
        r = stats.ttest_ind(s1, s2)
        close(f"crossover[{i}] carryover t", c["carryover"]["statistic"], r.statistic)
        close(f"crossover[{i}] carryover p", c["carryover"]["p_value"], r.pvalue)

    for i, c in enumerate(d["mixed"]):
        v = c["visits"]
        X = np.zeros((len(c["y"]), 2 * v))
        for r, (a, vis) in enumerate(zip(c["arm"], c["visit"])):
            X[r, vis] = 1.0
            X[r, v + vis] = a
        fit = sm.MixedLM(np.array(c["y"]), X, groups=np.array(c["group"])).fit(reml=True)
        g = "mixed model vs MixedLM"
        sb2 = float(np.asarray(fit.cov_re)[0, 0])
        for k in range(2 * v):
            close(f"mixed[{i}] beta[{k}]", c["beta"][k], fit.fe_params[k], tol=1e-4, group=g)
            close(f"mixed[{i}] se[{k}] vs MixedLM", c["se"][k], fit.bse_fe[k], tol=2e-3,
                  group="mixed model SE vs MixedLM (observed information)")
        close(f"mixed[{i}] participant variance", c["var_participant"], sb2, tol=1e-4, group=g)
        close(f"mixed[{i}] residual variance", c["var_residual"], fit.scale, tol=1e-4, group=g)
        # GLS standard errors at statsmodels' variance components.
        groups = np.array(c["group"])
        A = np.zeros((2 * v, 2 * v))
        for gid in np.unique(groups):
            Xi = X[groups == gid]
            Vi = fit.scale * np.eye(len(Xi)) + sb2 * np.ones((len(Xi), len(Xi)))
            A += Xi.T @ np.linalg.solve(Vi, Xi)
        gls = np.sqrt(np.diag(np.linalg.inv(A)))
        for k in range(2 * v):
            close(f"mixed[{i}] se[{k}] vs GLS", c["se"][k], gls[k], tol=1e-4, group=g)


if __name__ == "__main__":
    main()
