#!/usr/bin/env python3
"""The web app end to end: `exoskin serve` on 127.0.0.1 with a temporary registry.

- the API's JSON equals the CLI's `--json` output, one check per endpoint (timing keys
  elapsed_s and phases_s, and the input's file name, aside; the analytic power and the
  claims documents hold neither and must be equal as parsed);
- the OpenAPI document validates (openapi-spec-validator);
- headless Chromium (Debian's chromium and chromium-driver) drives each page's main flow:
  the preset scenario's plot, a pasted label, a label photo read by OCR, a batch QR shown to
  the fake camera landing on the verified certificate, a trial with progress, the sample
  size by simulation (its limits shown, an out-of-range value refused at its field, the
  power curve drawn). Each flow must log no console error and keeps screenshots at 390x844
  and 1280x800 in out/screenshots; axe-core finds no serious or critical violation on any
  page; the simulation's, the trial's and the power's plots hold one panel each, and every
  plot text on every page renders at 11 CSS px or more at 390 px;
- load: 50 concurrent simulate requests get answers or 429s, the server stays healthy, and
  the resolver's latency is measured while jobs run.
"""
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import venv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".venv-stats")
PY = os.path.join(VENV, "bin", "python")
OUT = os.path.join(ROOT, "out")
SHOTS = os.path.join(OUT, "screenshots")
AXE = os.path.join(OUT, "node", "node_modules", "axe-core", "axe.min.js")
EXE = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "exoskin")
TIMING = {"elapsed_s", "phases_s"}


def ensure_venv():
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    if not os.path.exists(PY):
        print("creating", VENV, flush=True)
        venv.create(VENV, with_pip=True)
    try:
        subprocess.run([PY, "-c", "import selenium, openapi_spec_validator, PIL"], check=True, capture_output=True)
    except subprocess.CalledProcessError:
        subprocess.run([PY, "-m", "pip", "install", "-q", "selenium>=4.20", "openapi-spec-validator>=0.7", "pillow>=10"], check=True)
    os.execv(PY, [PY] + sys.argv)


def ensure_axe():
    if not os.path.exists(AXE):
        os.makedirs(os.path.join(OUT, "node"), exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "axe-core@4"],
                       cwd=os.path.join(OUT, "node"), check=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def http(method, url, body=None, ct=None):
    req = urllib.request.Request(url, data=body, method=method)
    if ct:
        req.add_header("Content-Type", ct)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def cli(*args, cwd=ROOT):
    r = subprocess.run([EXE, *args], cwd=cwd, capture_output=True, text=True)
    if r.returncode not in (0, 1):
        raise SystemExit(f"exoskin {' '.join(args)} exited {r.returncode}: {r.stderr}")
    return r.stdout


def strip(d, keys=TIMING):
    if isinstance(d, dict):
        return {k: strip(v, keys) for k, v in d.items() if k not in keys}
    if isinstance(d, list):
        return [strip(x, keys) for x in d]
    return d


def wait_job(base, job):
    while True:
        s, b = http("GET", f"{base}/api/v1/jobs/{job}")
        v = json.loads(b)
        if v["status"] in ("done", "failed", "cancelled"):
            return v
        time.sleep(0.2)


class Checks:
    def __init__(self):
        self.failures = []
        self.n = 0

    def ok(self, cond, what):
        self.n += 1
        print(("ok   " if cond else "FAIL ") + what, flush=True)
        if not cond:
            self.failures.append(what)


def api_equals_cli(base, tmp, cert_dir, pub, C):
    scen = "scenarios/in_vivo_microneedling.toml"
    with open(os.path.join(ROOT, scen), "rb") as f:
        s, b = http("POST", f"{base}/api/v1/simulate", f.read(), "application/toml")
    api = json.loads(b)
    want = json.loads(cli("simulate", scen, "--json"))
    api["scenario"]["file"] = want["scenario"]["file"]
    C.ok(s == 200 and api == want, "simulate: API JSON == `exoskin simulate --json`")

    label = "Ingredients: Aqua, Glycerin, Human Adipose Stem Cell Exosomes, Niacinamide, Phenoxyethanol, Parfum"
    p = os.path.join(tmp, "label.txt")
    with open(p, "w") as f:
        f.write(label)
    s, b = http("POST", f"{base}/api/v1/label", label.encode(), "text/plain")
    C.ok(s == 200 and json.loads(b) == json.loads(cli("label", p, "--json")), "label: API JSON == `exoskin label --json`")

    s, b = http("POST", f"{base}/api/v1/trial", json.dumps({"name": "microneedling_split_face", "participants": 6, "seed": 3}).encode(), "application/json")
    v = wait_job(base, json.loads(b)["job"])
    want = json.loads(cli("trial", "trials/microneedling_split_face.toml", "--json", "--participants", "6", "--seed", "3"))
    C.ok(s == 202 and v["status"] == "done" and strip(v["result"]) == strip(want), "trial: job result == `exoskin trial --json`")

    s, b = http("POST", f"{base}/api/v1/power", json.dumps({"name": "microneedling_split_face", "replicates": 100, "max_participants": 40}).encode(), "application/json")
    v = wait_job(base, json.loads(b)["job"])
    want = json.loads(cli("power", "trials/microneedling_split_face.toml", "--json", "--replicates", "100", "--max-participants", "40"))
    C.ok(s == 202 and v["status"] == "done" and strip(v["result"]) == strip(want), "power: job result == `exoskin power --json`")

    for body, flags in [({"effect_size": 0.5}, ["--effect-size", "0.5"]),
                        ({"difference": 1.5, "sd": 3, "test": "two-sample", "power": 0.9, "alpha": 0.01},
                         ["--difference", "1.5", "--sd", "3", "--test", "two-sample", "--power", "0.9", "--alpha", "0.01"])]:
        s, b = http("POST", f"{base}/api/v1/power", json.dumps(body).encode(), "application/json")
        want = json.loads(cli("power", *flags, "--json"))
        C.ok(s == 200 and json.loads(b) == want, f"power {body}: API JSON == `exoskin power {' '.join(flags)} --json`")
    s, b = http("POST", f"{base}/api/v1/power", json.dumps({"effect_size": 0.5, "sd": 1}).encode(), "application/json")
    e = json.loads(b)
    C.ok(s == 422 and e["field"] == "effect_size" and e["message"] == "give either --effect-size, or both --difference and --sd",
         "power: contradictory analytic inputs get 422 with the CLI's message")

    # The claims at 4 posterior draws (32 by default) keep this check short; the document
    # must equal the CLI's exactly after JSON parsing (it holds no timings or paths).
    t0 = time.perf_counter()
    s, b = http("POST", f"{base}/api/v1/claims", json.dumps({"draws": 4}).encode(), "application/json")
    v = wait_job(base, json.loads(b)["job"])
    t_api = time.perf_counter() - t0
    t0 = time.perf_counter()
    want = json.loads(cli("claims", "--draws", "4", "--json"))
    t_cli = time.perf_counter() - t0
    C.ok(s == 202 and v["status"] == "done" and v["result"] == want and v["done"] == v["total"] == len(want["claims"]),
         f"claims: job result == `exoskin claims --draws 4 --json` (API {t_api:.1f} s, CLI {t_cli:.1f} s)")
    s, b = http("POST", f"{base}/api/v1/claims", json.dumps({"draws": 0}).encode(), "application/json")
    e = json.loads(b)
    C.ok(s == 422 and e["field"] == "draws" and e["message"].startswith("--draws 0: must be between 1 and 10000"),
         "claims: draws 0 gets 422 with the CLI's message")

    at = "2026-06-01"
    with open(os.path.join(cert_dir, "certificate.json")) as f:
        cert = f.read()
    with open(pub) as f:
        key = f.read()
    s, b = http("POST", f"{base}/api/v1/certificates/verify", json.dumps({"certificate": cert, "pubkey": key, "at": at}).encode(), "application/json")
    want = json.loads(cli("batch", "verify", os.path.join(cert_dir, "certificate.json"), "--pubkey", pub, "--at", at, "--json"))
    C.ok(s == 200 and json.loads(b) == want and want["valid"], "certificates/verify: API JSON == `exoskin batch verify --json`")

    s, b = http("POST", f"{base}/api/v1/simulate", b"[experiment]\nkind = \"in_vivo\"\n", "application/toml")
    e = json.loads(b)
    C.ok(s == 422 and set(e) == {"field", "message", "kind"} and e["message"] and e["kind"] == "input",
         "bad scenario: 422 {field, message, kind: input}")


def openapi_valid(base, C):
    from openapi_spec_validator import validate
    s, b = http("GET", f"{base}/api/v1/openapi.json")
    doc = json.loads(b)
    try:
        validate(doc)
        good = True
    except Exception as e:  # noqa: BLE001 - report the validator's reason
        print(e)
        good = False
    C.ok(s == 200 and doc["openapi"].startswith("3.1") and good, "OpenAPI 3.1 document validates")


def qr_y4m(png, path, w=640, h=480, frames=20):
    from PIL import Image
    img = Image.new("RGB", (w, h), "white")
    q = Image.open(png).convert("RGB")
    side = min(w, h) - 60
    q = q.resize((side, side), Image.NEAREST)
    img.paste(q, ((w - side) // 2, (h - side) // 2))
    y, cb, cr = img.convert("YCbCr").split()
    cb = cb.resize((w // 2, h // 2))
    cr = cr.resize((w // 2, h // 2))
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            f.write(b"FRAME\n" + y.tobytes() + cb.tobytes() + cr.tobytes())


def label_png(text, path):
    from PIL import Image, ImageDraw, ImageFont
    font = None
    for f in ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"]:
        if os.path.exists(f):
            font = ImageFont.truetype(f, 40)
            break
    font = font or ImageFont.load_default(size=40)
    lines = text.split("\n")
    img = Image.new("RGB", (1400, 90 + 60 * len(lines)), "white")
    d = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        d.text((40, 40 + 60 * i), line, fill="black", font=font)
    img.save(path)


def browser(video):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for a in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-dev-shm-usage", f"--user-data-dir={tempfile.mkdtemp(prefix='exoskin-chromium-')}",
              "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
              f"--use-file-for-fake-video-capture={video}", "--window-size=390,844"]:
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    phone(d)
    return d


def phone(d):
    """A 390 x 844 phone viewport. Headless Chromium's windows are at least 500 px wide, so
    the window size alone would test a wider screen than a phone's."""
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                      {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})


def flow_end(d, name, C, axe_src):
    errors = [e for e in d.get_log("browser") if e["level"] == "SEVERE"]
    C.ok(not errors, f"{name}: no console errors {errors if errors else ''}")
    wide = d.execute_script("return document.documentElement.scrollWidth")
    C.ok(wide <= 390, f"{name}: no horizontal overflow at 390 px (page {wide} px wide)")
    # Whatever figures the page holds (none on most pages) read at 11 CSS px or more.
    svg_text_check(d, f"{name} (whole page)", "body", C, required=False)
    d.save_screenshot(os.path.join(SHOTS, f"{name}-390x844.png"))
    d.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    d.set_window_size(1280, 800)
    time.sleep(0.2)
    d.save_screenshot(os.path.join(SHOTS, f"{name}-1280x800.png"))
    d.set_window_size(390, 844)
    phone(d)
    d.execute_script(axe_src)
    res = d.execute_async_script("const done = arguments[arguments.length - 1]; axe.run(document).then(r => done(r.violations.map(v => [v.id, v.impact, v.nodes.length])));")
    bad = [v for v in res if v[1] in ("serious", "critical")]
    C.ok(not bad, f"{name}: axe finds no serious or critical violation {bad if bad else ''} ({len(res)} minor)")


# Every <text> of the SVGs under `scope`: its rendered size in CSS px (its font size in the
# SVG's units times the SVG's scale, rendered width over viewBox width), the scale, the
# panels in its SVG and the text.
SVG_TEXT_JS = """
const out = [];
document.querySelectorAll(arguments[0] + " svg").forEach(function (svg) {
  const vb = svg.viewBox.baseVal;
  const scale = vb && vb.width ? svg.getBoundingClientRect().width / vb.width : 1;
  const panels = svg.querySelectorAll("g.panel").length;
  svg.querySelectorAll("text").forEach(function (t) {
    out.push([parseFloat(getComputedStyle(t).fontSize) * scale, scale, panels, t.textContent]);
  });
});
return [window.innerWidth, out];
"""


def svg_text_check(d, name, scope, C, required=True):
    """At a 390 px wide viewport, every plot text under `scope` renders at 11 CSS px or more,
    and each figure holds one panel. With `required`, there must be plots under `scope`."""
    width, texts = d.execute_script(SVG_TEXT_JS, scope)
    small = sorted({(round(px, 2), t) for px, _, _, t in texts if px < 11.0})[:5]
    least = min((px for px, _, _, _ in texts), default=0.0)
    multi = {p for _, _, p, _ in texts if p != 1}
    if not texts and not required:
        C.ok(width == 390, f"{name}: no plots on the page at {width} px")
        return
    C.ok(width == 390 and texts and not small,
         f"{name}: {len(texts)} plot texts at {width} px, the smallest {least:.2f} CSS px (>= 11) {small if small else ''}")
    C.ok(not multi, f"{name}: one panel per figure {sorted(multi) if multi else ''}")


def power_flow(base, wait, d, C, axe_src):
    """The sample size by simulation: the limits shown next to its fields, an out-of-range
    value refused at its field, then a run whose curve is drawn."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select
    d.get(base + "/trial")
    Select(d.find_element(By.ID, "trial-name")).select_by_value("microneedling_split_face")
    limits = d.find_element(By.ID, "power-limits")
    text = limits.text
    C.ok(limits.is_displayed() and all(w in text for w in ("100 to 100000 simulated trials per sample size", "maximum participants: 4 to 100000",
                                                            "16 model draws", "past 600 s (10 min) is stopped")),
         f"power: the limits are shown next to the form ({text!r})")
    reps = d.find_element(By.ID, "power-replicates")
    reps.clear()
    reps.send_keys("5")
    d.find_element(By.ID, "run-power").click()
    err = wait.until(EC.visibility_of_element_located((By.ID, "power-replicates-error")))
    C.ok("5 is outside this server's range 100 to 100000" in err.text and reps.get_attribute("aria-invalid") == "true"
         and d.find_element(By.ID, "progress-box").get_attribute("hidden") is not None,
         f"power: replicates out of range is refused at the field before any job ({err.text!r})")
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", reps)
    d.save_screenshot(os.path.join(SHOTS, "power-field-error-390x844.png"))
    reps.clear()
    reps.send_keys("100")
    most = d.find_element(By.ID, "power-max-participants")
    most.clear()
    most.send_keys("80")
    d.find_element(By.ID, "run-power").click()
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#power-curve svg polyline")))
    answer = d.find_element(By.ID, "power-answer").text
    direction = d.find_element(By.ID, "power-direction").text
    lines = d.find_elements(By.CSS_SELECTOR, "#power-curve svg polyline.series")
    bands = d.find_elements(By.CSS_SELECTOR, "#power-curve svg polygon.band")
    target = d.find_elements(By.CSS_SELECTOR, "#power-curve svg line.reference")
    legend = [t.text for t in d.find_elements(By.CSS_SELECTOR, "#power-curve svg text")]
    C.ok("power_job=" in d.current_url and "replicates=100" in d.current_url and "max_participants=80" in d.current_url
         and d.find_element(By.ID, "power-replicates").get_attribute("value") == "100",
         "power: the run's inputs and job are in the URL and kept in the form")
    C.ok(re.search(r"^\d+ participants enrolled reach power 0\.8 for elasticity at day 84 \(± \d+\.\d, the Monte-Carlo standard error", answer)
         and direction.startswith("EV serum is the better side"),
         f"power: n first, then the better side ({answer!r}; {direction!r})")
    C.ok(len(lines) >= 2 and len(bands) == 2 and len(target) == 1 and "power" in legend and "assurance" in legend,
         f"power: the curve with its band, the assurance curve and the target line ({len(lines)} lines, {len(bands)} bands)")
    top = d.execute_script("return document.getElementById('power-result').getBoundingClientRect().top")
    C.ok(-1 <= top < 844, f"power: the result is scrolled into view (top at {top:.0f} px)")
    svg_text_check(d, "power", "#power-result", C)
    flow_end(d, "power-curve", C, axe_src)


def flows(base, qr_png, tmp, C):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    from selenium.webdriver.support import expected_conditions as EC
    os.makedirs(SHOTS, exist_ok=True)
    with open(AXE) as f:
        axe_src = f.read()
    video = os.path.join(tmp, "qr.y4m")
    qr_y4m(qr_png, video)
    d = browser(video)
    wait = WebDriverWait(d, 120)
    try:
        d.get(base + "/")
        flow_end(d, "home", C, axe_src)

        d.get(base + "/simulate")
        d.find_element(By.ID, "run").click()
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#result svg polyline")))
        C.ok("run=1" in d.current_url and d.find_element(By.ID, "mass-balance").is_displayed(), "simulate: preset run shows the plot and the mass balance, inputs in the URL")
        cards = d.find_elements(By.CSS_SELECTOR, "#effect .card")
        top = d.execute_script("return document.getElementById('result').getBoundingClientRect().top")
        C.ok(len(cards) >= 4 and 0 <= top < 844, f"simulate: what the vesicles add comes first ({len(cards)} cards), the result scrolled into view (top at {top:.0f} px)")
        title = d.find_element(By.ID, "result-title").text
        C.ok("per mL" in title, f"simulate: the result is titled from its inputs ({title!r})")
        svg_text_check(d, "simulate", "#result", C)
        d.execute_script("document.getElementById('outcomes-h').scrollIntoView({block: 'start'})")
        d.save_screenshot(os.path.join(SHOTS, "simulate-plots-390x844.png"))
        d.execute_script("window.scrollTo(0, 0); document.getElementById('result').scrollIntoView({block: 'start'})")
        flow_end(d, "simulate", C, axe_src)

        d.get(base + "/label")
        box = d.find_element(By.ID, "label-text")
        box.send_keys("Ingredients: Aqua, Glycerin, Human Adipose Stem Cell Exosomes, Methylisothiazolinone, Parfum")
        d.find_element(By.ID, "decode").click()
        wait.until(EC.presence_of_element_located((By.ID, "ingredients")))
        rows = d.find_elements(By.CSS_SELECTOR, "#ingredients li.ingredient")
        flags = d.find_elements(By.CSS_SELECTOR, "li.flag")
        C.ok(len(rows) == 5 and len(flags) >= 1, f"label: pasted list shows {len(rows)} ingredients with classes and {len(flags)} flags")
        flow_end(d, "label", C, axe_src)

        photo = os.path.join(tmp, "label.png")
        label_png("Ingredients: Aqua, Glycerin,\nNiacinamide, Phenoxyethanol", photo)
        d.get(base + "/label")
        if d.find_elements(By.ID, "label-photo"):
            d.find_element(By.ID, "label-photo").send_keys(photo)
            wait.until(EC.presence_of_element_located((By.ID, "ingredients")))
            names = [e.text.lower() for e in d.find_elements(By.CSS_SELECTOR, "#ingredients .name")]
            C.ok(any("glycerin" in n for n in names) and any("niacinamide" in n for n in names), f"label photo: OCR read back {names}")
            flow_end(d, "label-photo", C, axe_src)
        else:
            C.ok(False, "label photo: OCR is not installed on this machine")

        d.get(base + "/scan")
        d.find_element(By.ID, "start-camera").click()
        wait.until(lambda dr: "/01/" in dr.current_url)
        body = d.find_element(By.TAG_NAME, "body").text
        C.ok("/01/" in d.current_url and "Valid certificate" in body, f"scan: fake camera QR -> verified certificate page {d.current_url}")
        flow_end(d, "scan", C, axe_src)
        d.get(base + "/scan")
        flow_end(d, "scan-page", C, axe_src)

        d.get(base + "/trial")
        d.find_element(By.ID, "trial-participants").send_keys("8")
        d.find_element(By.ID, "run-trial").click()
        wait.until(lambda dr: "job=" in dr.current_url)
        wait.until(EC.presence_of_element_located((By.ID, "endpoints")))
        C.ok(len(d.find_elements(By.CSS_SELECTOR, "#endpoints tbody tr")) > 0 and d.find_elements(By.CSS_SELECTOR, "#trial-result svg"), "trial: run with progress, results per endpoint and visit with plots")
        svg_text_check(d, "trial", "#trial-result", C)
        flow_end(d, "trial", C, axe_src)
        # An uploaded trial file (a renamed copy of a bundled one) runs the same way.
        up = os.path.join(tempfile.mkdtemp(), "my_trial.toml")
        with open(up, "w") as f:
            f.write(open("trials/microneedling_split_face.toml").read().replace(
                'name = "Microneedling + EV serum vs vehicle, split-face, 12 weeks"', 'name = "Uploaded split-face trial"', 1))
        d.get(base + "/trial")
        d.find_element(By.ID, "trial-file").send_keys(up)
        wait.until(lambda dr: not dr.find_element(By.ID, "trial-name").is_enabled())
        d.find_element(By.ID, "trial-participants").send_keys("6")
        d.find_element(By.ID, "run-trial").click()
        wait.until(lambda dr: "job=" in dr.current_url)
        wait.until(EC.presence_of_element_located((By.ID, "endpoints")))
        C.ok(d.find_element(By.ID, "tr-h").text == "Uploaded split-face trial" and len(d.find_elements(By.CSS_SELECTOR, "#endpoints tbody tr")) > 0,
             "trial: an uploaded trial file runs with progress and shows its results")
        flow_end(d, "trial-upload", C, axe_src)
        d.find_element(By.ID, "run-power").click()
        wait.until(EC.presence_of_element_located((By.ID, "power-answer")))
        C.ok("participants" in d.find_element(By.ID, "power-answer").text or "No sample size" in d.find_element(By.ID, "power-answer").text, "trial: power with live progress")
        flow_end(d, "power", C, axe_src)
        power_flow(base, wait, d, C, axe_src)
        d.get(base + "/trial")
        d.find_element(By.ID, "an-effect").send_keys("0.5")
        d.find_element(By.ID, "run-analytic").click()
        wait.until(EC.presence_of_element_located((By.ID, "analytic-answer")))
        C.ok("effect_size=0.5" in d.current_url and d.find_element(By.ID, "analytic-answer").text.startswith("34 pairs"),
             "trial: analytic sample size form, inputs in the URL")
        flow_end(d, "power-analytic", C, axe_src)
    finally:
        d.quit()


def load(base, resolver_path, C):
    def lat(n=40):
        t = []
        for _ in range(n):
            t0 = time.perf_counter()
            s, _ = http("GET", base + resolver_path)
            t.append(time.perf_counter() - t0)
            assert s == 200, s
        t.sort()
        return statistics.median(t) * 1e3, t[int(0.95 * len(t)) - 1] * 1e3
    idle = lat()
    with open(os.path.join(ROOT, "scenarios/in_vivo_microneedling.toml"), "rb") as f:
        scen = f.read()
    codes = []
    lock = threading.Lock()

    def one():
        try:
            s, _ = http("POST", base + "/api/v1/simulate", scen, "application/toml")
        except OSError as e:
            s = repr(e)
        with lock:
            codes.append(s)
    threads = [threading.Thread(target=one) for _ in range(50)]
    _, b = http("POST", base + "/api/v1/power", json.dumps({"name": "microneedling_split_face", "replicates": 1000}).encode(), "application/json")
    for t in threads:
        t.start()
    busy = lat()
    for t in threads:
        t.join()
    job = json.loads(b)["job"]
    s, _ = http("DELETE", f"{base}/api/v1/jobs/{job}")
    C.ok(s == 202 and wait_job(base, job)["status"] == "cancelled", "load: DELETE cancels the running power job")
    s, _ = http("GET", base + "/healthz")
    print(f"load: 50 concurrent simulate -> {codes.count(200)} x 200, {codes.count(429)} x 429; resolver p50/p95 idle {idle[0]:.1f}/{idle[1]:.1f} ms, under load {busy[0]:.1f}/{busy[1]:.1f} ms")
    C.ok(set(codes) <= {200, 429} and len(codes) == 50 and codes.count(200) > 0, f"load: every request answered 200 or 429 {[c for c in codes if c not in (200, 429)]}")
    C.ok(s == 200, "load: /healthz still answers")
    # Our bound for a certificate page while every job worker is busy: p95 under 100 ms
    # (idle it is about 1 ms; jobs leave one core free).
    C.ok(busy[1] < 100.0, f"load: resolver p95 {busy[1]:.1f} ms under load stays under 100 ms")


def main():
    ensure_venv()
    ensure_axe()
    if not os.path.exists(EXE):
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "exoskin"], cwd=ROOT, check=True)
    C = Checks()
    tmp = tempfile.mkdtemp(prefix="exoskin-web-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    key = os.path.join(tmp, "lab.key")
    cli("batch", "keygen", "--out", key)
    token = os.path.join(tmp, "token")
    with open(token, "w") as f:
        f.write("web-check-token-0123456789")
    cert_dir = os.path.join(tmp, "cert")
    cli("batch", "issue", "examples/qc/pass_msc_serum.toml", "--key", key, "--out", cert_dir, "--resolver", base, "--issued-at", "2026-01-15")
    server = subprocess.Popen([EXE, "serve", "--db", os.path.join(tmp, "reg.sqlite3"), "--listen", f"127.0.0.1:{port}",
                               "--issuer-pubkey", key + ".pub", "--token-file", token, "--data-dir", ROOT, "--max-jobs", "8",
                               "--rate-per-client", "0"], cwd=ROOT)
    try:
        for _ in range(100):
            try:
                if http("GET", base + "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        cli("batch", "publish", os.path.join(cert_dir, "certificate.json"), "--registry", base, "--token-file", token)
        with open(os.path.join(cert_dir, "certificate.json")) as f:
            subject = json.load(f)["credentialSubject"]
        api_equals_cli(base, tmp, cert_dir, key + ".pub", C)
        openapi_valid(base, C)
        flows(base, os.path.join(cert_dir, "qr.png"), tmp, C)
        path = "/01/" + subject.get("gtin", "") + "/10/" + subject.get("lot", "") if isinstance(subject, dict) and subject.get("gtin") else None
        if path is None:
            s, b = http("POST", base + "/api/v1/qr", open(os.path.join(cert_dir, "qr.png"), "rb").read(), "image/png")
            path = json.loads(b)["path"]
        load(base, path, C)
        C.ok(server.poll() is None, "server still running after all flows")
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            C.ok(False, "server stops within 30 s of SIGTERM")
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{C.n - len(C.failures)} of {C.n} web checks passed; screenshots in {SHOTS}")
    if C.failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
