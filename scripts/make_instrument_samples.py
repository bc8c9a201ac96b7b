#!/usr/bin/env python3
"""Write the synthetic instrument files in examples/instruments/, deterministically.

Usage: python3 scripts/make_instrument_samples.py   (from the repository root; standard library only)

The stated synthetic sample: a log-normal number-weighted size distribution with median
100 nm and geometric standard deviation 1.45 (sigma = ln 1.45), 3.0e8 particles/mL in the
measured (diluted) suspension, diluted 1:100 from a stock of 3.0e10 particles/mL. Each file
is written in its vendor's documented export layout (see examples/instruments/README.md):

- nanosight_experiment_summary.csv: NanoSight NTA 3.x Experiment Summary, three videos whose
  concentrations are 0.96, 1.00 and 1.04 times the stated one and whose sizes are scaled by
  0.99, 1.00 and 1.01; 1 nm bins from 0.5 to 349.5 nm; dilution factor 100;
- zetaview_size.txt: ZetaView size export, 5 nm bins from 2.5 to 497.5 nm (linear section),
  then the -1 separator and a short logarithmic section; dilution 100;
- nanofcm_events.fcs: FCS 3.1, big-endian float32, 1500 events with a `Size` parameter
  calibrated in nm ($P3CALIBRATION 1,nm), side scatter and one fluorescence parameter;
  $VOL 5 nL; the sizes are the log-normal's quantiles at (i + 0.5) / 1500 in a fixed
  shuffled order; a `/` inside $COM exercises the doubled-delimiter escape.

Running it again rewrites the same bytes.
"""
import math
import os
import struct

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
OUT = os.path.join(ROOT, "examples", "instruments")
MEDIAN_NM = 100.0
SIGMA = math.log(1.45)
CONC_PER_ML = 3.0e8
DILUTION = 100


def cdf(d, median=MEDIAN_NM):
    if d <= 0:
        return 0.0
    return 0.5 * (1.0 + math.erf(math.log(d / median) / (SIGMA * math.sqrt(2.0))))


def binned(centres, width, conc, median):
    return [conc * (cdf(c + width / 2, median) - cdf(max(c - width / 2, 0.0), median)) for c in centres]


def quantile(p, median=MEDIAN_NM):
    # Inverse of the normal CDF by bisection (the standard library has no erfinv).
    lo, hi = -10.0, 10.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if 0.5 * (1 + math.erf(mid / math.sqrt(2))) < p:
            lo = mid
        else:
            hi = mid
    return median * math.exp(SIGMA * (lo + hi) / 2)


def nanosight():
    conc_f = [0.96, 1.00, 1.04]
    size_f = [0.99, 1.00, 1.01]
    centres = [i + 0.5 for i in range(350)]
    videos = [binned(centres, 1.0, CONC_PER_ML * c, MEDIAN_NM * s) for c, s in zip(conc_f, size_f)]
    lines = [
        "NTA Version,NTA 3.4 Build 3.4.4",
        "Script Used,SOP_EV_3x60s.txt",
        "Time Capture Started,12/04/2026 10:15:02",
        "Operator,QC analyst",
        "Pre-treatment,",
        "Sample Name,EXO2604-12 (synthetic)",
        "Diluent,PBS 0.1 um filtered",
        "Remarks,synthetic file written by scripts/make_instrument_samples.py",
        "Camera Type,sCMOS",
        "Laser Type,Blue488",
        "Camera Level,14",
        "Temperature,25.0",
        "Viscosity,0.89 cP (Water)",
        f"Dilution factor,{DILUTION}",
        "Detect Threshold,5",
        "",
        "[Results]",
        ",Video 1,Video 2,Video 3",
        "Concentration (Particles / ml)," + ",".join(f"{sum(v):.4E}" for v in videos),
        "Particles per frame,52.1,54.3,56.0",
        "Validity of concentration measurement,Valid,Valid,Valid",
        "",
        "[Size Data]",
    ]
    z = {"D10": -1.2815515655446004, "D50": 0.0, "D90": 1.2815515655446004}
    for key in ["Mean", "Mode", "SD", "D10", "D50", "D90"]:
        row = []
        for s in size_f:
            m = MEDIAN_NM * s
            if key == "Mean":
                x = m * math.exp(SIGMA ** 2 / 2)
            elif key == "Mode":
                x = m * math.exp(-SIGMA ** 2)
            elif key == "SD":
                x = m * math.exp(SIGMA ** 2 / 2) * math.sqrt(math.exp(SIGMA ** 2) - 1)
            else:
                x = m * math.exp(SIGMA * z[key])
            row.append(f"{x:.1f}")
        lines.append(key + "," + ",".join(row))
    lines += ["", "Graph Data",
              "Bin centre (nm),Concentration (particles / ml),Concentration (particles / ml),"
              "Concentration (particles / ml),Concentration average,Standard Error"]
    for i, c in enumerate(centres):
        vals = [v[i] for v in videos]
        mean = sum(vals) / 3
        se = math.sqrt(sum((x - mean) ** 2 for x in vals) / 2) / math.sqrt(3)
        lines.append(f"{c:.1f}," + ",".join(f"{x:.4E}" for x in vals) + f",{mean:.4E},{se:.4E}")
    lines += ["", "Percentile,Size (nm)", "10,", "50,", "90,"]
    return "\r\n".join(lines) + "\r\n"


def zetaview():
    centres = [2.5 + 5 * i for i in range(100)]
    conc = binned(centres, 5.0, CONC_PER_ML, MEDIAN_NM)
    per_track = 2.0e5  # particles/mL one tracked particle stands for (synthetic)
    lines = [
        "Original File: C:\\ZetaView\\Data\\EXO2604-12_synthetic.avi\tSection: 1",
        "Operator: QC analyst",
        "Experiment: EXO2604-12",
        "ZetaView S/N: 000-000 (synthetic)",
        "Software: ZetaView 8.05.16 SP3\tAnalyze: 8.05.16",
        "SOP: EV_488_scatter",
        "Sample: EXO2604-12 (synthetic)",
        "Electrolyte: PBS",
        "pH: 7.4 entered",
        "Temperature: 25.00 sensed",
        "Viscosity: 0.89",
        "Date: 2026-04-12",
        "Time: 10:40:11",
        "Remarks: synthetic file written by scripts/make_instrument_samples.py",
        "Number of Traces: 2841",
        f"Dilution:: {DILUTION:.2f}",
        "Laser Wavelength nm: 488.00",
        "",
        "Size Distribution",
        "Size / nm\tNumber\tConcentration / cm-3\tVolume / nm^3\tArea / nm^2",
    ]
    for c, w in zip(centres, conc):
        n = round(w / per_track)
        lines.append(f"{c:.3E}\t{n:.3E}\t{w:.3E}\t{n * math.pi / 6 * c ** 3:.3E}\t{n * math.pi * c ** 2:.3E}")
    lines.append("\t".join(["-1.000E+0"] * 5))
    for i in range(10):
        c = 10 * 1.5 ** i
        lines.append(f"{c:.3E}\t0.000E+0\t0.000E+0\t0.000E+0\t0.000E+0")
    return "\r\n".join(lines) + "\r\n"


def fcs():
    n = 1500
    sizes = [quantile((i + 0.5) / n) for i in range(n)]
    # A fixed shuffle (linear congruential generator, glibc constants).
    state = 20260412
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        state = (1103515245 * state + 12345) % 2 ** 31
        j = state % (i + 1)
        order[i], order[j] = order[j], order[i]
    events = []
    for k in order:
        d = sizes[k]
        state = (1103515245 * state + 12345) % 2 ** 31
        fl = 50.0 + (state % 1000) / 10.0
        ssc = 1.0e-4 * d ** 4 / 1000.0
        events.append((ssc, fl, d))
    data = b"".join(struct.pack(">fff", *e) for e in events)
    d = "/"
    kw = [
        ("$BEGINANALYSIS", "0"), ("$ENDANALYSIS", "0"), ("$BEGINSTEXT", "0"), ("$ENDSTEXT", "0"),
        ("$BYTEORD", "4,3,2,1"), ("$DATATYPE", "F"), ("$MODE", "L"), ("$NEXTDATA", "0"),
        ("$PAR", "3"), ("$TOT", str(n)), ("$CYT", "NanoFCM Flow NanoAnalyzer (synthetic)"),
        ("$DATE", "12-APR-2026"), ("$VOL", "5"),
        ("$COM", "EXO2604-12 / 1:100 in PBS (synthetic file)"),
        ("$P1N", "SS-H"), ("$P1S", "Side scatter"), ("$P1B", "32"), ("$P1R", "1000000"), ("$P1E", "0,0"),
        ("$P2N", "FL1-H"), ("$P2S", "CD63-FITC"), ("$P2B", "32"), ("$P2R", "1000000"), ("$P2E", "0,0"),
        ("$P3N", "Size"), ("$P3S", "Particle size"), ("$P3B", "32"), ("$P3R", "1000"), ("$P3E", "0,0"),
        ("$P3CALIBRATION", "1,nm"),
    ]

    def esc(s):
        return s.replace(d, d + d)

    begin, end = 0, 0
    for _ in range(5):
        pairs = kw + [("$BEGINDATA", str(begin)), ("$ENDDATA", str(end))]
        text = d + "".join(esc(k) + d + esc(v) + d for k, v in pairs)
        text_begin = 58
        text_end = text_begin + len(text) - 1
        new_begin = text_end + 1
        new_end = new_begin + len(data) - 1
        if (new_begin, new_end) == (begin, end):
            break
        begin, end = new_begin, new_end
    header = "FCS3.1    " + "".join(f"{v:>8}" for v in [text_begin, text_end, begin, end, 0, 0])
    return header.encode("ascii") + text.encode("ascii") + data


def main():
    os.makedirs(OUT, exist_ok=True)
    files = {
        "nanosight_experiment_summary.csv": nanosight().encode("ascii"),
        "zetaview_size.txt": zetaview().encode("ascii"),
        "nanofcm_events.fcs": fcs(),
    }
    total = 0
    for name, data in files.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        total += len(data)
    print(f"wrote {len(files)} files to {os.path.relpath(OUT, ROOT)} ({total} bytes)")


if __name__ == "__main__":
    main()
