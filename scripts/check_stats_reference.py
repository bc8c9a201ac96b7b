#!/usr/bin/env python3
"""Compare exoskin-trials statistics with scipy.stats and statsmodels to 1e-6.

Usage: python3 scripts/check_stats_reference.py   (from the repository root)

Creates .venv-stats (a local virtual environment) with scipy and statsmodels if needed,
re-runs itself there, runs `cargo run -p exoskin-trials --example stats_reference` and
compares every number. Rank-test modes compared: Wilcoxon with scipy's defaults
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
        subprocess.run([PY, "-c", "import scipy, statsmodels"], check=True, capture_output=True)
    except subprocess.CalledProcessError:
        subprocess.run([PY, "-m", "pip", "install", "-q", "scipy", "statsmodels"], check=True)
    os.execv(PY, [PY] + sys.argv)


def main():
    ensure_venv()
    import numpy as np
    from scipy import stats
    from statsmodels.stats.power import TTestPower, TTestIndPower
    from statsmodels.stats.proportion import proportion_confint

    out = subprocess.run(
        ["cargo", "run", "-q", "-p", "exoskin-trials", "--example", "stats_reference"],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout
    data = json.loads(out)
    checks = 0
    worst = [0.0, ""]
    failures = []

    def close(what, ours, ref, tol=TOL):
        nonlocal checks
        checks += 1
        ref = float(ref)
        if ours is not None and np.isfinite(ours):
            dev = abs(ours - ref) / max(1.0, abs(ref))
            if dev > worst[0]:
                worst[0], worst[1] = dev, what
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

    for f in failures:
        print("MISMATCH", f)
    print(f"stats reference check: {checks - len(failures)}/{checks} values agree with scipy "
          f"{stats.__name__ and __import__('scipy').__version__} / statsmodels "
          f"{__import__('statsmodels').__version__} to {TOL:g} (largest deviation {worst[0]:.1e}, {worst[1]})")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
