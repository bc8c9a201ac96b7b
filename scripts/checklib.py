"""What the registry checks share: the binary, a free loopback port, running the CLI, plain
HTTP GETs and the pass/fail tally (scripts/check_tlog.py, check_resolver.py,
check_status_list.py)."""
import os
import socket
import subprocess
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXE = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "exoskin")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def http(url):
    """GET `url`: (status, body bytes), error statuses included."""
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def cli(*args, ok=(0,)):
    """Run `exoskin ARGS`; exit the check when its exit code is not in `ok`."""
    r = subprocess.run([EXE, *args], capture_output=True, text=True, timeout=120)
    if r.returncode not in ok:
        raise SystemExit(f"exoskin {' '.join(args)} exited {r.returncode}: {r.stdout}{r.stderr}")
    return r


class Checks:
    """The tally: `ok(cond, what)` prints each check (a passing one is left out with
    quiet=True) and keeps the failures."""

    def __init__(self):
        self.failures = []
        self.n = 0

    def ok(self, cond, what, quiet=False):
        self.n += 1
        if not cond or not quiet:
            print(("ok   " if cond else "FAIL ") + what, flush=True)
        if not cond:
            self.failures.append(what)
