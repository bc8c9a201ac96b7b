"""pytest over the Python package `exoskin` (crates/exoskin-py), against the CLI.

Run through scripts/check_python.py, which builds and installs the package into .venv-stats
and builds the CLI (target/release/exoskin, or $CARGO_TARGET_DIR/release/exoskin).
"""

import copy
import glob
import json
import os
import subprocess
import threading
import time
import tomllib

import pytest

import exoskin

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
CLI = os.path.join(TARGET, "release", "exoskin")
SCENARIOS = sorted(glob.glob("scenarios/*.toml", root_dir=ROOT))
# Keys whose values name files or measure time: the only ones allowed to differ.
VOLATILE = {"file", "elapsed_s", "phases_s"}


@pytest.fixture(autouse=True)
def _in_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def cli(*args, ok=True):
    p = subprocess.run([CLI, *args], capture_output=True, text=True, cwd=ROOT)
    if ok:
        assert p.returncode == 0, p.stderr
    return p


def cli_json(*args):
    return json.loads(cli(*args, "--json").stdout)


def strip(doc):
    """The document without the keys that hold file names or timings."""
    if isinstance(doc, dict):
        return {k: strip(v) for k, v in doc.items() if k not in VOLATILE}
    if isinstance(doc, list):
        return [strip(v) for v in doc]
    return doc


def cli_error(*args):
    """The CLI's message for bad input (exit 2), without the `error: ` prefix."""
    p = cli(*args, ok=False)
    assert p.returncode == 2, (p.returncode, p.stderr)
    msg = p.stderr.strip()
    assert msg.startswith("error: "), msg
    return msg[len("error: "):]


# ---------------------------------------------------------------- results equal the CLI's


def test_bundled_scenarios_exist():
    assert len(SCENARIOS) >= 9, SCENARIOS


@pytest.mark.parametrize("path", SCENARIOS)
def test_simulate_equals_cli_json(path):
    ours = exoskin.simulate(path)
    theirs = cli_json("simulate", path)
    # Same path given: even the file name agrees, so the whole documents are equal.
    assert ours == theirs
    assert ours["scenario"]["file"] == path


@pytest.mark.parametrize("path", SCENARIOS)
def test_toml_text_and_dict_inputs_equal_the_file(path):
    by_file = exoskin.simulate(path)
    text = open(os.path.join(ROOT, path), encoding="utf-8").read()
    by_text = exoskin.simulate(text)
    with open(os.path.join(ROOT, path), "rb") as f:
        by_dict = exoskin.simulate(tomllib.load(f))
    assert by_text["scenario"]["file"] == "<string>"
    assert by_dict["scenario"]["file"] == "<dict>"
    assert strip(by_text) == strip(by_file)
    assert strip(by_dict) == strip(by_file)


def test_dict_input_changes_the_run():
    with open(os.path.join(ROOT, "scenarios/in_vivo_microneedling.toml"), "rb") as f:
        base = tomllib.load(f)
    more = copy.deepcopy(base)
    more["product"]["particles_per_ml"] = base["product"]["particles_per_ml"] * 3
    a = exoskin.simulate(base)["transport"]["mass_balance"]["applied_per_cm2"]
    b = exoskin.simulate(more)["transport"]["mass_balance"]["applied_per_cm2"]
    assert b == pytest.approx(3 * a, rel=1e-12)


def test_trial_equals_cli_json():
    path = "trials/microneedling_split_face.toml"
    ours = exoskin.trial(path, participants=12, seed=7)
    theirs = cli_json("trial", path, "--participants", "12", "--seed", "7")
    assert strip(ours) == strip(theirs)
    assert ours["participants"] == theirs["participants"]
    assert ours["file"] == path


def test_equivalence_and_crossover_trials_equal_cli_json():
    for path in ["trials/ev_serum_equivalence.toml", "trials/serum_vehicle_crossover.toml"]:
        ours = exoskin.trial(path, participants=10, seed=3)
        theirs = cli_json("trial", path, "--participants", "10", "--seed", "3")
        assert strip(ours) == strip(theirs)
        assert {"flow", "tables", "repeated_measures"} <= set(ours)
        for e in ours["endpoints"]:
            assert "adjusted_p_value" in e
    eq = exoskin.trial("trials/ev_serum_equivalence.toml", participants=10, seed=3)
    assert all("tost_p_value" in e for e in eq["endpoints"])
    assert [t["endpoint"] for t in eq["tables"]] == ["hydration", "tewl", "elasticity"]


def test_power_equals_cli_json():
    path = "trials/microneedling_split_face.toml"
    ours = exoskin.power(path, replicates=100, max_participants=16)
    theirs = cli_json("power", path, "--replicates", "100", "--max-participants", "16")
    assert strip(ours) == strip(theirs)
    assert [p["n"] for p in ours["curve"]][-1] == 16


def test_power_with_assurance_draws_equals_cli_json():
    path = "trials/microneedling_split_face.toml"
    ours = exoskin.power(path, replicates=100, max_participants=16, assurance_draws=2)
    theirs = cli_json("power", path, "--replicates", "100", "--max-participants", "16",
                      "--assurance-draws", "2")
    assert strip(ours) == strip(theirs)
    assert ours["assurance"]["draws"] == 2
    assert isinstance(ours["treated_better"], bool)


def test_summary_equals_the_cli_and_leads_with_the_effect():
    path = "scenarios/course_microneedling_ev.toml"
    ours = exoskin.summary(path)
    assert ours == cli("simulate", path).stdout
    head = "\n".join(ours.splitlines()[:6])
    assert "the vesicles add" in head and "90 %" in head


def test_uncertainty_equals_cli_json():
    path = "scenarios/in_vivo_microneedling.toml"
    ours = exoskin.uncertainty(path, 20, seed=7)
    theirs = cli_json("simulate", path, "--uncertainty", "20", "--seed", "7")
    assert strip(dict(ours)) == strip(theirs)
    assert "bands" in ours["outcomes"] and "effect" in ours


def test_progress_hears_the_work_and_its_exception_stops_it():
    path = "scenarios/in_vivo_microneedling.toml"
    heard = []
    ours = exoskin.uncertainty(path, 20, seed=7, progress=lambda d, t, m: heard.append((d, t, m)))
    # the same document as without a callback
    assert strip(dict(ours)) == strip(dict(exoskin.uncertainty(path, 20, seed=7)))
    counts = [d for d, t, m in heard if m is None]
    assert counts == sorted(counts) and counts[-1] == 20
    assert all(t == 20 for _, t, _ in heard)
    # a trial's phases arrive as messages, its participants as counts
    said = []
    exoskin.trial("trials/microneedling_split_face.toml", participants=12, seed=7,
                  progress=lambda d, t, m: said.append(m))
    assert any(m and m.startswith("transport:") for m in said)
    assert said[-1] == "analysis: done"

    class Enough(Exception):
        pass

    calls = []

    def stop_after_3(done, total, message):
        calls.append(done)
        if done >= 3:
            raise Enough(f"{done} of {total}")

    with pytest.raises(Enough):
        exoskin.uncertainty(path, 256, seed=7, progress=stop_after_3)
    # once it raised, the callback is not called again and the members left are skipped
    assert len(calls) < 10 and max(calls) < 256


def test_sensitivity_equals_cli_json():
    path = "scenarios/in_vivo_microneedling.toml"
    ours = exoskin.sensitivity(path, "collagen_pct@2", method="morris", trajectories=2, seed=3)
    theirs = cli_json("sensitivity", path, "--output", "collagen_pct@2", "--method", "morris",
                      "--trajectories", "2", "--seed", "3")
    assert strip(ours) == strip(theirs)
    with pytest.raises(exoskin.InputError) as e:
        exoskin.sensitivity(path, "collagen_pct@2", method="fast")
    # Bad input: the input kind, still an ExoskinError (and a ValueError) for older callers.
    assert e.value.field == "method" and e.value.kind == "input"
    assert isinstance(e.value, exoskin.ExoskinError) and isinstance(e.value, ValueError)
    assert not isinstance(e.value, exoskin.SolverError)
    # The default: Morris screening, then Sobol on the few kept; the same document as the CLI.
    ours = exoskin.sensitivity(path, "collagen_pct@2", trajectories=2, samples=8, bootstrap=100,
                               keep=3, seed=3)
    theirs = cli_json("sensitivity", path, "--output", "collagen_pct@2", "--trajectories", "2",
                      "--samples", "8", "--bootstrap", "100", "--keep", "3", "--seed", "3")
    assert strip(ours) == strip(theirs)
    assert ours["method"] == "screened" and 1 <= len(ours["kept"]) <= 3
    assert sorted(r["parameter"] for r in ours["indices"]) == sorted(ours["kept"])


def test_export_sbml_equals_the_cli_file(tmp_path):
    path = "scenarios/in_vivo_microneedling.toml"
    out = tmp_path / "model.xml"
    cli("export", "sbml", path, "--out", str(out))
    assert exoskin.export_sbml(path) == out.read_text(encoding="utf-8")


def test_plot_effect_draws_the_median_and_band_of_each_outcome(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    r = exoskin.simulate("scenarios/course_microneedling_ev.toml")
    ax = exoskin.plot_effect(r)
    e = r["effect"]
    assert len(ax.lines) == 5  # four medians and the zero line
    assert list(ax.lines[0].get_ydata()) == e["outcomes"]["collagen_pct"]["p50"]
    assert len(ax.collections) == 4  # the 90 % bands
    out = tmp_path / "effect.png"
    ax.figure.savefig(out)
    assert out.stat().st_size > 10_000
    with pytest.raises(exoskin.ExoskinError):
        exoskin.plot_effect(exoskin.simulate("scenarios/franz_cell_single_layer.toml"))


def test_label_equals_cli_json():
    path = "examples/labels/serum.txt"
    text = open(os.path.join(ROOT, path), encoding="utf-8").read()
    assert exoskin.label(text) == cli_json("label", path)


def test_verify(tmp_path):
    key = str(tmp_path / "issuer.pem")
    cli("batch", "keygen", "--out", key)
    out = tmp_path / "cert"
    cli("batch", "issue", "examples/qc/pass_msc_serum.toml", "--key", key, "--out", str(out),
        "--issued-at", "2026-01-01")
    cert = str(out / "certificate.json")
    printed = cli("batch", "verify", cert, "--pubkey", key + ".pub", "--at", "2026-02-01").stdout

    v = exoskin.verify(cert, key + ".pub", at="2026-02-01")
    assert v["valid"] is True
    assert f"VALID: {v['id']} (GTIN {v['gtin']} lot {v['lot']})" in printed
    assert v["assessment_pass"] is True
    # The same through the parsed dict and the key's did:key.
    did = v["issuer_did"]
    with open(cert, encoding="utf-8") as f:
        doc = json.load(f)
    assert exoskin.verify(doc, did, at="2026-02-01")["valid"] is True

    # Altered after signing: not valid, with the CLI's reason.
    doc["credentialSubject"]["lot"] = "FORGED-1"
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(doc))
    bad = exoskin.verify(str(forged), key + ".pub", at="2026-02-01")
    cli_out = cli("batch", "verify", str(forged), "--pubkey", key + ".pub", "--at", "2026-02-01",
                  ok=False)
    assert bad["valid"] is False
    assert cli_out.returncode == 1
    assert f"INVALID: {bad['reason']}" in cli_out.stdout

    # Another issuer's key is not trusted.
    other = str(tmp_path / "other.pem")
    cli("batch", "keygen", "--out", other)
    mismatch = exoskin.verify(cert, other + ".pub", at="2026-02-01")
    assert mismatch["valid"] is False and "issuer mismatch" in mismatch["reason"]

    with pytest.raises(exoskin.ExoskinError) as e:
        exoskin.verify(cert, str(tmp_path / "missing.pub"))
    assert e.value.field == "pubkey"


def test_simulate_certificate_equals_cli_json(tmp_path):
    key = str(tmp_path / "lab.pem")
    cli("batch", "keygen", "--out", key)
    out = tmp_path / "cert"
    cli("batch", "issue", "examples/qc/pass_msc_serum.toml", "--key", key, "--out", str(out),
        "--issued-at", "2026-09-02")
    cert = str(out / "certificate.json")
    theirs = cli_json("simulate", "--certificate", cert, "--pubkey", key + ".pub", "--on",
                      "2026-10-01", "--uncertainty", "20", "--seed", "7", "--quiet")
    ours = exoskin.simulate_certificate(cert, pubkey=key + ".pub", on="2026-10-01", members=20,
                                        seed=7)
    assert strip(dict(ours)) == strip(theirs)
    assert ours["batch"]["verified"] is True and ours["batch"]["age_days"] == 172
    # The parsed dict and the key's did:key give the same document.
    with open(cert, encoding="utf-8") as f:
        doc = json.load(f)
    did = ours["batch"]["issuer"]["id"]
    again = exoskin.simulate_certificate(doc, pubkey=did, on="2026-10-01", members=20, seed=7)
    assert strip(dict(again)) == strip(theirs)

    # Past its expiry: refused as the CLI refuses it, unless allowed.
    msg = cli_error("simulate", "--certificate", cert, "--on", "2028-05-01")
    with pytest.raises(exoskin.InputError) as e:
        exoskin.simulate_certificate(cert, on="2028-05-01")
    assert e.value.field == "certificate"
    assert str(e.value) in msg and "expired on 2028-04-11" in str(e.value)
    late = exoskin.simulate_certificate(cert, on="2028-05-01", allow_expired=True, members=20)
    assert late["batch"]["expired"] is True


# ---------------------------------------------------------------- exceptions


def write_variant(tmp_path, name, old, new):
    text = open(os.path.join(ROOT, "scenarios/in_vivo_microneedling.toml"), encoding="utf-8").read()
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1))
    return str(path)


def test_bad_value_carries_field_and_cli_message(tmp_path):
    path = write_variant(tmp_path, "neg.toml", "particles_per_ml = 1.0e10",
                         "particles_per_ml = -5.0")
    with pytest.raises(exoskin.ExoskinError) as e:
        exoskin.simulate(path)
    assert isinstance(e.value, ValueError)
    assert e.value.field == "product.particles_per_ml"
    assert str(e.value) == e.value.message == cli_error("simulate", path)
    assert "outside the allowed range" in str(e.value)
    assert f"{path}:10:" in str(e.value)


def test_unknown_key_carries_field_and_cli_message(tmp_path):
    path = write_variant(tmp_path, "unknown.toml", "particles_per_ml = 1.0e10",
                         "particles_per_ml = 1.0e10\nparticle_per_ml = 3.0")
    with pytest.raises(exoskin.ExoskinError) as e:
        exoskin.simulate(path)
    assert e.value.field == "product.particle_per_ml"
    assert str(e.value) == cli_error("simulate", path)


def test_missing_file_message(tmp_path):
    path = str(tmp_path / "no_such_scenario.toml")
    with pytest.raises(exoskin.ExoskinError) as e:
        exoskin.simulate(path)
    assert e.value.field is None
    assert str(e.value) == cli_error("simulate", path)
    assert "cannot read the scenario file" in str(e.value)


def test_a_run_past_the_budget_is_refused_before_it_starts():
    # The numerics maxima of a reported attack (43 GB): refused at once, naming the key,
    # with the same message as the CLI.
    with open(os.path.join(ROOT, "scenarios/in_vivo_microneedling.toml"), "rb") as f:
        d = tomllib.load(f)
    d["numerics"] = {"cells_per_layer": 2000, "radial_cells": 200, "dt_max_h": 0.00876}
    d["product"]["size"]["classes"] = 32
    t0 = time.monotonic()
    with pytest.raises(exoskin.ExoskinError) as e:
        exoskin.simulate(d)
    assert time.monotonic() - t0 < 5
    assert e.value.field == "numerics.cells_per_layer"
    assert "more than the limit of 2.0 GiB" in str(e.value)


def test_text_and_dict_errors_name_the_field():
    with open(os.path.join(ROOT, "scenarios/in_vivo_microneedling.toml"), "rb") as f:
        d = tomllib.load(f)
    d["product"]["particles_per_ml"] = -1.0
    with pytest.raises(exoskin.ExoskinError) as e:
        exoskin.simulate(d)
    assert e.value.field == "product.particles_per_ml"
    assert str(e.value).startswith("<dict>:")
    d["product"]["particles_per_ml"] = None
    with pytest.raises(exoskin.ExoskinError) as e:
        exoskin.simulate(d)
    assert e.value.field == "product.particles_per_ml"
    with pytest.raises(exoskin.ExoskinError) as e:
        exoskin.simulate("[experiment]\nkind = 'on_the_moon'\n")
    assert e.value.field == "experiment.kind"


def test_option_errors_equal_cli():
    path = "trials/microneedling_split_face.toml"
    with pytest.raises(exoskin.ExoskinError) as e:
        exoskin.power(path, power=1.5)
    assert e.value.field == "power"
    assert str(e.value) == cli_error("power", path, "--power", "1.5")
    with pytest.raises(exoskin.ExoskinError) as e:
        exoskin.power(path, replicates=5)
    assert e.value.field == "replicates"
    assert str(e.value) == cli_error("power", path, "--replicates", "5")
    with pytest.raises(exoskin.ExoskinError) as e:
        exoskin.trial(path, participants=1)
    assert e.value.field == "participants"
    assert str(e.value) == cli_error("trial", path, "--participants", "1")
    with pytest.raises(exoskin.ExoskinError) as e:
        exoskin.label("")
    assert e.value.field is None


# ---------------------------------------------------------------- pandas and Arrow


def test_to_pandas_holds_the_json_series():
    r = exoskin.simulate("scenarios/in_vivo_microneedling.toml")
    frames = r.to_pandas()
    assert set(frames) == {"transport", "outcomes"}
    tr, out = frames["transport"], frames["outcomes"]
    assert tr["times_h"].tolist() == r["transport"]["times_h"]
    assert tr["compartments_per_cm2.dermis"].tolist() == r["transport"]["compartments_per_cm2"]["dermis"]
    assert out["times_d"].tolist() == r["outcomes"]["times_d"]
    assert out["collagen_pct"].tolist() == r["outcomes"]["collagen_pct"]
    assert len(tr.columns) >= 8 and len(out.columns) >= 10


def test_franz_cell_has_transport_only():
    frames = exoskin.simulate("scenarios/franz_cell_single_layer.toml").to_pandas()
    assert set(frames) == {"transport"}
    assert "cumulative_receptor_per_cm2" in frames["transport"].columns


def test_pandas_round_trip(tmp_path):
    import pandas as pd
    from pandas.testing import assert_frame_equal

    frames = exoskin.simulate("scenarios/in_vivo_daily_12_weeks.toml").to_pandas()
    for name, df in frames.items():
        pq = tmp_path / f"{name}.parquet"
        df.to_parquet(pq)
        assert_frame_equal(pd.read_parquet(pq), df, check_exact=True)
        csv = tmp_path / f"{name}.csv"
        df.to_csv(csv, index=False)
        # The C parser's default float conversion is not exact (pandas 3.0.6 still rounds the
        # last digit of some values): ask for the round-trip conversion.
        back = pd.read_csv(csv, float_precision="round_trip")
        assert_frame_equal(back, df, check_exact=True)


def test_arrow_tables_equal_pandas():
    r = exoskin.simulate("scenarios/in_vivo_microneedling.toml")
    tables = r.to_arrow()
    frames = r.to_pandas()
    for name, table in tables.items():
        assert table.column_names == list(frames[name].columns)
        assert table.to_pandas().equals(frames[name])


# ---------------------------------------------------------------- the GIL


def test_threads_run_concurrently_with_the_gil_released():
    # The bundled microneedling run on a finer (r, z) grid: about half a second, long enough
    # to tell a stall from scheduling noise.
    with open("scenarios/in_vivo_microneedling.toml") as f:
        path = f.read() + "\n[numerics]\nradial_cells = 60\n"
    expected = exoskin.simulate(path)
    results = [None, None]

    def work(i):
        results[i] = exoskin.simulate(path)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    # While both runs are in native code, this thread keeps running Python: with the GIL
    # held by a run, it would stall for the whole run.
    ticks = [time.perf_counter()]
    while any(t.is_alive() for t in threads):
        ticks.append(time.perf_counter())
        time.sleep(0.001)
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    assert results[0] == expected and results[1] == expected
    longest_stall = max(b - a for a, b in zip(ticks, ticks[1:]))
    assert wall > 0.2, "the runs are too short to tell"
    # Held, the GIL would stall this thread for a whole run: half the wall time or more.
    assert longest_stall < 0.25 * wall, (longest_stall, wall)
