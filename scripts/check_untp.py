#!/usr/bin/env python3
"""Validate `exoskin batch export ... --untp` against UNTP's Digital Conformity Credential schema.

Usage: python3 scripts/check_untp.py   (from the repository root)

Reads the UNTP DCC JSON Schema (draft 2020-12), the specification's sample instance and its
README from ../shared/standards/untp/ (beside the repository; they are not copied into it).
Reuses .venv-stats (the local virtual environment of check_stats_reference.py), installing
jsonschema there with the packages its format checks need (rfc3986-validator for `uri`,
rfc3339-validator for `date-time`) when missing, and re-runs itself there. Then:

1. validates the specification's own sample against the schema (the validator works);
2. builds target/release/exoskin, makes a throwaway key, issues a certificate for every
   bundled QC record in examples/qc/ (failing batches with --allow-failing) and validates
   `exoskin batch export CERT --untp` of each against the schema, with format checking, and
   against a strict copy of it in which no object may carry a member the schema does not
   declare (the schema allows any, so a misspelt optional member would pass unnoticed); the
   one member allowed beyond the schema is `idScheme` of an assessed product, which the
   schema leaves open and UNTP's JSON-LD context defines;
3. checks that `--out FILE` writes what stdout shows.

Remote `$ref`s are resolved from the local copies only (there is no network in CI); one that
cannot be is reported and fails the check. Formats the schema uses but no checker knows fail
the check too, except `byte` (OpenAPI's base64 format, which JSON Schema does not define).
Prints one summary line; on errors, each with its JSON path. Exit code 0 when all are valid.
"""
import copy
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_stats_reference import PY, ROOT, ensure_venv  # noqa: E402

UNTP_DIR = os.path.normpath(os.path.join(ROOT, "..", "shared", "standards", "untp"))
SCHEMA = os.path.join(UNTP_DIR, "untp-dcc-schema.json")
SAMPLE = os.path.join(UNTP_DIR, "untp-dcc-instance.json")
README = os.path.join(UNTP_DIR, "README.md")
EXE = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "exoskin")
PACKAGES = ["jsonschema>=4.18", "rfc3986-validator>=0.1.1", "rfc3339-validator>=0.1.4"]
# Formats JSON Schema does not define, so no checker can know them.
UNCHECKABLE_FORMATS = {"byte"}
# Members beyond the schema's, by the JSON pointer of the object schema that gets them.
EXTRA_MEMBERS = {
    "/$defs/ProductVerification/properties/product": {
        "idScheme": {
            "type": "object",
            "properties": {
                "type": {"type": "array", "items": {"type": "string"}},
                "id": {"type": "string", "format": "uri"},
                "name": {"type": "string"},
            },
            "required": ["id", "name"],
            "additionalProperties": False,
        },
    },
}
MAX_ERRORS_SHOWN = 20


def require_shared():
    missing = [p for p in (SCHEMA, SAMPLE) if not os.path.isfile(p)]
    if missing:
        print(f"FAIL: UNTP's schema and sample are expected in {UNTP_DIR} (the shared/ folder beside "
              f"the repository, which CI has); missing: {', '.join(os.path.basename(p) for p in missing)}")
        sys.exit(1)


def ensure_packages():
    ensure_venv()  # re-runs this script inside .venv-stats
    try:
        import jsonschema  # noqa: F401
        import referencing  # noqa: F401
        import rfc3339_validator  # noqa: F401
        import rfc3986_validator  # noqa: F401
    except ImportError:
        subprocess.run([PY, "-m", "pip", "install", "-q", *PACKAGES], check=True)
        os.execv(PY, [PY] + sys.argv)


def walk(node, pointer=""):
    """Every dict in a JSON document, with its JSON pointer."""
    if isinstance(node, dict):
        yield pointer, node
        for k, v in node.items():
            yield from walk(v, f"{pointer}/{k.replace('~', '~0').replace('/', '~1')}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{pointer}/{i}")


def strict_copy(schema):
    """The schema with `additionalProperties: false` on every object schema that lists its
    properties, plus the members of EXTRA_MEMBERS."""
    strict = copy.deepcopy(schema)
    for pointer, node in walk(strict):
        if isinstance(node.get("properties"), dict) and node.get("additionalProperties") is not False:
            node["additionalProperties"] = False
            node["properties"].update(EXTRA_MEMBERS.get(pointer, {}))
    return strict


def registry_for(schema):
    """A referencing registry that holds the schema and resolves other `$ref`s only from
    files in UNTP_DIR; the refs nothing local answers."""
    from referencing import Registry, Resource
    from referencing.exceptions import NoSuchResource
    from referencing.jsonschema import DRAFT202012

    local = {}
    for path in glob.glob(os.path.join(UNTP_DIR, "*.json")) + glob.glob(os.path.join(UNTP_DIR, "*.jsonld")):
        with open(path, encoding="utf-8") as f:
            local[os.path.basename(path)] = json.load(f)

    def retrieve(uri):
        name = uri.split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        if name in local:
            return Resource.from_contents(local[name], default_specification=DRAFT202012)
        raise NoSuchResource(ref=uri)

    refs = sorted({n[k] for _, n in walk(schema) for k in ("$ref", "$dynamicRef") if isinstance(n.get(k), str)})
    remote = [r for r in refs if not r.startswith("#")]
    unresolved = []
    for r in remote:
        try:
            retrieve(r)
        except NoSuchResource:
            unresolved.append(r)
    registry = Registry(retrieve=retrieve)
    if "$id" in schema:
        registry = registry.with_resource(schema["$id"], Resource.from_contents(schema, default_specification=DRAFT202012))
    return registry, refs, unresolved


def errors_of(validator, doc):
    from jsonschema.exceptions import relevance
    return sorted(validator.iter_errors(doc), key=lambda e: (e.json_path, relevance(e)))


def exoskin(*args):
    return subprocess.run([EXE, *args], cwd=ROOT, capture_output=True, text=True)


def main():
    require_shared()
    ensure_packages()
    from jsonschema import Draft202012Validator

    with open(SCHEMA, encoding="utf-8") as f:
        schema = json.load(f)
    with open(SAMPLE, encoding="utf-8") as f:
        sample = json.load(f)
    commit = ""
    if os.path.isfile(README):
        with open(README, encoding="utf-8") as f:
            m = re.search(r"commit ([0-9a-f]{40})", f.read())
            commit = m.group(1)[:7] if m else ""
    failures = []

    Draft202012Validator.check_schema(schema)
    registry, refs, unresolved = registry_for(schema)
    for r in unresolved:
        failures.append(f"schema: $ref {r} cannot be resolved from the local copies in {UNTP_DIR} "
                        "(remote references are not fetched)")
    checker = Draft202012Validator.FORMAT_CHECKER
    formats = sorted({n["format"] for _, n in walk(schema) if isinstance(n.get("format"), str)})
    checked = [f for f in formats if f in checker.checkers]
    for f in formats:
        if f not in checker.checkers and f not in UNCHECKABLE_FORMATS:
            failures.append(f"schema: format `{f}` is used but nothing checks it (install {' '.join(PACKAGES)})")
    validator = Draft202012Validator(schema, registry=registry, format_checker=checker)
    strict = Draft202012Validator(strict_copy(schema), registry=registry, format_checker=checker)

    def report(label, errs):
        for e in errs[:MAX_ERRORS_SHOWN]:
            failures.append(f"{label}: {e.json_path}: {e.message}")
        if len(errs) > MAX_ERRORS_SHOWN:
            failures.append(f"{label}: ... and {len(errs) - MAX_ERRORS_SHOWN} more errors")

    sample_errors = errors_of(validator, sample)
    report("UNTP's sample", sample_errors)

    subprocess.run(["cargo", "build", "--release", "-q", "--bin", "exoskin"], cwd=ROOT, check=True)
    records = sorted(glob.glob(os.path.join(ROOT, "examples", "qc", "*.toml"))
                     + glob.glob(os.path.join(ROOT, "examples", "qc", "*.json")))
    exported = valid = 0
    with tempfile.TemporaryDirectory() as tmp:
        key = os.path.join(tmp, "lab.key")
        r = exoskin("batch", "keygen", "--out", key)
        if r.returncode != 0:
            failures.append(f"batch keygen: exit {r.returncode}: {r.stderr.strip()}")
            records = []
        for i, rec in enumerate(records):
            name = os.path.basename(rec)
            out = os.path.join(tmp, os.path.splitext(name)[0])
            r = exoskin("batch", "issue", rec, "--key", key, "--out", out, "--resolver", "id.example.com",
                        "--allow-failing", "--issued-at", "2026-11-23T12:00:00Z")
            if r.returncode != 0:
                failures.append(f"{name}: batch issue: exit {r.returncode}: {r.stderr.strip()}")
                continue
            cert = os.path.join(out, "certificate.json")
            r = exoskin("batch", "export", cert, "--untp")
            if r.returncode != 0:
                failures.append(f"{name}: batch export --untp: exit {r.returncode}: {r.stderr.strip()}")
                continue
            exported += 1
            doc = json.loads(r.stdout)
            errs = errors_of(validator, doc)
            strict_errs = [e for e in errors_of(strict, doc) if e.validator == "additionalProperties"]
            report(f"export of {name}", errs)
            report(f"export of {name} (strict)", strict_errs)
            if not errs and not strict_errs:
                valid += 1
            if i == 0:
                dcc = os.path.join(out, "dcc.json")
                r2 = exoskin("batch", "export", cert, "--untp", "--out", dcc)
                if r2.returncode != 0:
                    failures.append(f"{name}: batch export --untp --out: exit {r2.returncode}: {r2.stderr.strip()}")
                else:
                    with open(dcc, encoding="utf-8") as f:
                        if f.read() != r.stdout:
                            failures.append(f"{name}: --out wrote other bytes than stdout shows")
    if exported != len(records) or not records:
        failures.append(f"{exported} of {len(records)} example certificates exported")

    print(f"untp: UNTP DCC schema (spec-untp {commit or '?'}, JSON Schema 2020-12, {len(refs)} $refs, "
          f"formats checked: {', '.join(checked) or 'none'}): the specification's sample is "
          f"{'valid' if not sample_errors else 'INVALID'}; {valid} of {len(records)} exports of the "
          f"bundled example certificates are valid, with no member the schema does not declare")
    for f in failures:
        print("FAIL:", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
