//! The finite-volume network and its conservative implicit step.
//!
//! Any geometry (1D layers, a follicle column beside them, an axisymmetric unit cell) is
//! reduced to cells with a capacity and conductances between them. With the vehicle-
//! equivalent concentration `u = c / K` as unknown, a cell holds `m = kappa u` with
//! `kappa = K V` (V: volume per cm2 of skin, in um), and the flux between cells `a` and `b`
//! is `g (u_a - u_b)` with `g = area / sum(half-distance / (K D))`: the two-point flux that
//! honours `c_a / K_a = c_b / K_b` at an interface and is exact for piecewise-linear steady
//! profiles. First-order sinks (uptake, clearance, degradation, removal) take `rate * m`.
//!
//! Backward Euler gives the symmetric positive-definite M-matrix system
//! `(kappa (1 + dt L) + dt G) u' = m + dt g_b u_b`, so every step conserves mass to rounding
//! (each flux leaves one cell and enters another, each sink is booked where it is taken) and
//! keeps concentrations non-negative. Amounts are in `particles/mL * um`; multiply by
//! [`UM_ML_TO_PER_CM2`] for particles per cm2 of skin.

use crate::banded::{try_zeroed, BandedBatch};
use crate::error::TransportError;

/// `particles/mL * um` to particles per cm2: 1 um of depth over 1 cm2 is 1e-4 mL.
pub const UM_ML_TO_PER_CM2: f64 = 1e-4;

/// Sinks a cell can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    UptakeKeratinocytes = 0,
    UptakeFibroblasts = 1,
    Cleared = 2,
    Degraded = 3,
    Removed = 4,
}

pub const N_SINKS: usize = 5;
pub const SINK_NAMES: [&str; N_SINKS] = [
    "taken_up_keratinocytes",
    "taken_up_fibroblasts",
    "cleared",
    "degraded",
    "removed",
];

/// A conductance between two cells. `tracked` marks edges whose flux from `a` to `b` is
/// counted as entering a region of interest (the dermis).
#[derive(Debug, Clone, Copy)]
pub struct Edge {
    pub a: usize,
    pub b: usize,
    pub g: f64,
    pub tracked: bool,
}

/// A link from a cell to a fixed-concentration reservoir (infinite donor, sink receptor).
#[derive(Debug, Clone, Copy)]
pub struct Link {
    pub cell: usize,
    pub g: f64,
    /// Reservoir concentration (vehicle-equivalent), particles/mL.
    pub value: f64,
}

/// One size class's network.
#[derive(Debug, Clone, Default)]
pub struct Network {
    /// kappa = K V, um.
    pub capacity: Vec<f64>,
    /// Tissue volume per cm2, um (sets uptake capacity).
    pub volume: Vec<f64>,
    /// Compartment index of each cell (names held by the model).
    pub compartment: Vec<usize>,
    pub edges: Vec<Edge>,
    /// Links to reservoirs that feed the network (infinite donors).
    pub sources: Vec<Link>,
    /// Links to perfect sinks (receptor).
    pub drains: Vec<Link>,
    /// Sink rate constants, 1/h. Uptake entries are the unsaturated rates.
    pub sink_rate: Vec<[f64; N_SINKS]>,
}

impl Network {
    pub fn len(&self) -> usize {
        self.capacity.len()
    }

    pub fn is_empty(&self) -> bool {
        self.capacity.is_empty()
    }

    /// Append a cell; returns its index.
    pub fn push_cell(
        &mut self,
        capacity: f64,
        volume: f64,
        compartment: usize,
        rates: [f64; N_SINKS],
    ) -> usize {
        self.capacity.push(capacity);
        self.volume.push(volume);
        self.compartment.push(compartment);
        self.sink_rate.push(rates);
        self.capacity.len() - 1
    }

    pub fn bandwidth(&self) -> usize {
        self.edges
            .iter()
            .map(|e| e.a.abs_diff(e.b))
            .max()
            .unwrap_or(0)
    }
}

/// Flows booked during a run, in `particles/mL * um`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Accounts {
    pub sinks: [f64; N_SINKS],
    /// Amount that entered from source reservoirs.
    pub inflow: f64,
    /// Amount that left into drains.
    pub outflow: f64,
    /// Net amount across tracked edges.
    pub tracked: f64,
}

/// Factored matrices kept at most, per run, when factors are reused (see
/// [`Stepper::reuse_factors`]); a Franz cell needs about 16 (the growing first steps, the cap,
/// and the steps cut to land on output times).
pub const MAX_CACHED_FACTORS: usize = 32;

/// Work space for one step of all size classes, reused to avoid allocation in the time loop.
#[derive(Debug, Clone)]
pub struct Stepper {
    lu: Factored,
    k: usize,
    diag: Vec<f64>,
    u: Vec<f64>,
    /// Whether the matrix depends on the step size alone (see [`Stepper::reuse_factors`]).
    reuse: bool,
    /// With reuse, the cells and edges each class books (built at the first step).
    plan: Option<Plan>,
    /// Factored matrices by the bits of their step size, and the slot the next one replaces
    /// once [`MAX_CACHED_FACTORS`] are held.
    factors: Vec<(u64, Factored)>,
    evict: usize,
}

/// What a step books when the networks stay as they are: per class, the cells with a sink
/// and the tracked edges. A cell without sinks adds exact zeros to the sums and an edge
/// that is not tracked adds nothing, so skipping them leaves every booked total as it was,
/// to the bit; a membrane stack has neither, and its step is then the solve.
#[derive(Debug, Clone)]
struct Plan {
    sink_cells: Vec<Vec<usize>>,
    tracked: Vec<Vec<usize>>,
}

impl Plan {
    fn new(nets: &[Network]) -> Self {
        Plan {
            sink_cells: nets
                .iter()
                .map(|net| {
                    let cells = net.sink_rate.iter().enumerate();
                    cells
                        .filter(|(_, r)| r.iter().any(|&x| x != 0.0))
                        .map(|(i, _)| i)
                        .collect()
                })
                .collect(),
            tracked: nets
                .iter()
                .map(|net| {
                    let edges = net.edges.iter().enumerate();
                    edges.filter(|(_, e)| e.tracked).map(|(j, _)| j).collect()
                })
                .collect(),
        }
    }
}

/// A factored step matrix. Without a border it is one banded matrix. With a border, cell 0
/// (the film on the skin, coupled to every surface cell) is kept out of the band, whose
/// width is then set by the rest of the grid:
/// `A = [d c^T; c B]` is solved with the band's factor and the Schur complement of `B`,
/// `x_0 = (b_0 - c^T B^-1 b') / (d - c^T B^-1 c)`, `x' = B^-1 b' - (B^-1 c) x_0`: one
/// extra solve per factorization and two dot products per step, exact like the banded
/// solve.
#[derive(Debug, Clone)]
struct Factored {
    band: BandedBatch,
    /// With a border: `c` (the border's column below the diagonal, band rows 0.., class
    /// innermost), `B^-1 c` and the Schur complement per class; empty without.
    col: Vec<f64>,
    inv_col: Vec<f64>,
    schur: Vec<f64>,
}

impl Factored {
    fn bordered(&self) -> bool {
        !self.schur.is_empty()
    }

    /// Factor the band, then (bordered) the Schur complement with the border's diagonal
    /// `d` (one entry per class).
    fn factor(&mut self, d: &[f64]) -> Result<(), crate::banded::NotPositiveDefinite> {
        let off = usize::from(self.bordered());
        self.band.factor().map_err(|mut e| {
            e.row += off;
            e
        })?;
        if self.bordered() {
            let k = self.band.systems();
            self.inv_col.copy_from_slice(&self.col);
            self.band.solve(&mut self.inv_col);
            for (s, (slot, ds)) in self.schur.iter_mut().zip(d).enumerate() {
                let mut cz = 0.0;
                for (c, z) in self.col[s..]
                    .iter()
                    .step_by(k)
                    .zip(self.inv_col[s..].iter().step_by(k))
                {
                    cz += c * z;
                }
                let schur = ds - cz;
                if !schur.is_finite() || schur <= 0.0 {
                    return Err(crate::banded::NotPositiveDefinite { system: s, row: 0 });
                }
                *slot = schur;
            }
        }
        Ok(())
    }

    /// Solve in place; `b` holds every cell (the border first when there is one).
    fn solve(&self, b: &mut [f64]) {
        if !self.bordered() {
            self.band.solve(b);
            return;
        }
        let k = self.band.systems();
        let (b0, rest) = b.split_at_mut(k);
        self.band.solve(rest);
        for s in 0..k {
            let mut cy = 0.0;
            for (c, y) in self.col[s..]
                .iter()
                .step_by(k)
                .zip(rest[s..].iter().step_by(k))
            {
                cy += c * y;
            }
            b0[s] = (b0[s] - cy) / self.schur[s];
        }
        for (i, x) in rest.iter_mut().enumerate() {
            *x -= self.inv_col[i] * b0[i % k];
        }
    }
}

impl Stepper {
    /// Work space for `k` systems of `n` cells and bandwidth `bw`; with `border`, cell 0 is
    /// solved as a border of the band (see [`bandwidth_without_first`]) and `bw` is the
    /// band's width without it.
    /// Fails with [`TransportError::OutOfMemory`] when the work space cannot be allocated.
    pub fn new(n: usize, bw: usize, k: usize, border: bool) -> Result<Self, TransportError> {
        let nb = if border { n - 1 } else { n };
        let extra = if border { nb * k } else { 0 };
        Ok(Stepper {
            lu: Factored {
                band: BandedBatch::try_zeros(nb, bw, k)?,
                col: try_zeroed(extra, "the border column")?,
                inv_col: try_zeroed(extra, "the border column")?,
                schur: vec![0.0; if border { k } else { 0 }],
            },
            k,
            diag: try_zeroed(n.saturating_mul(k), "the step matrix")?,
            u: try_zeroed(n.saturating_mul(k), "the step matrix")?,
            reuse: false,
            plan: None,
            factors: Vec::new(),
            evict: 0,
        })
    }

    /// Declare that the networks and the uptake saturations given to every later
    /// [`step`](Self::step) stay as they are, so that the step's matrix depends on the step
    /// size alone. The factor of each distinct step size is then kept (up to
    /// [`MAX_CACHED_FACTORS`]) and reused: a repeated step costs a triangular solve pair
    /// instead of an assembly and a factorization, with the same result to the last bit.
    /// Turning it off (or on again) drops the kept factors.
    pub fn reuse_factors(&mut self, on: bool) {
        self.reuse = on;
        self.plan = None;
        self.factors.clear();
        self.evict = 0;
    }

    /// The number of factored matrices kept for reuse.
    pub fn cached_factors(&self) -> usize {
        self.factors.len()
    }

    /// Assemble `(kappa (1 + dt L) + dt G)` of every class into `self.lu` and factor it.
    fn assemble_and_factor(
        &mut self,
        nets: &[Network],
        dt: f64,
        saturation: &[f64],
        time_h: f64,
    ) -> Result<(), TransportError> {
        let k = self.k;
        let n = nets[0].len();
        let off = usize::from(self.lu.bordered());
        self.lu.band.clear();
        self.lu.col.iter_mut().for_each(|x| *x = 0.0);
        for (s, net) in nets.iter().enumerate() {
            let cells = net.capacity.iter().zip(&net.sink_rate).zip(saturation);
            for (i, ((cap, r), sat)) in cells.enumerate() {
                let total = (r[0] + r[1]) * sat + r[2] + r[3] + r[4];
                self.diag[i * k + s] = cap * (1.0 + dt * total);
            }
            for l in net.sources.iter().chain(&net.drains) {
                self.diag[l.cell * k + s] += dt * l.g;
            }
        }
        // Off-diagonals edge by edge, all classes at once (the topology is shared); with a
        // border, cell 0's edges go to its column and the band's rows start at cell 1.
        for (ei, e) in nets[0].edges.iter().enumerate() {
            let (hi, lo) = if e.a >= e.b { (e.a, e.b) } else { (e.b, e.a) };
            let slot = if off == 1 && lo == 0 {
                &mut self.lu.col[(hi - 1) * k..hi * k]
            } else {
                self.lu.band.entry_mut(hi - off, lo - off)
            };
            for (s, net) in nets.iter().enumerate() {
                let w = dt * net.edges[ei].g;
                slot[s] -= w;
                self.diag[e.a * k + s] += w;
                self.diag[e.b * k + s] += w;
            }
        }
        for i in off..n {
            self.lu
                .band
                .entry_mut(i - off, i - off)
                .copy_from_slice(&self.diag[i * k..(i + 1) * k]);
        }
        // The assembly is an M-matrix with positive capacities: SPD for physical inputs
        // (validation keeps them so; a failure here reports the cell). The Cholesky solve is
        // backward stable, so the booked flows close the mass balance to about 1e-13 over a
        // 12-week run (tests require 1e-9).
        self.lu
            .factor(&self.diag[..k])
            .map_err(|e| TransportError::NotPositiveDefinite {
                class: e.system,
                cell: e.row,
                time_h,
            })
    }

    /// Advance every class `m[s]` by `dt` hours on its network `nets[s]` (same topology:
    /// the same cells and edges in the same order, only capacities and conductances differ).
    /// `saturation[i]` in [0, 1] scales the uptake rates of cell i. Books sinks and
    /// boundary flows into `acc[s]`, adds this step's uptake per cell (all classes) to
    /// `uptake_out`, and returns the new concentrations `u`, row i of class s at `i * k + s`.
    /// A matrix that is not positive definite (a non-physical property) or a state that is
    /// not finite is an error, with nothing booked; `time_h` (the step's end) goes into it.
    #[allow(clippy::too_many_arguments)]
    pub fn step(
        &mut self,
        nets: &[Network],
        m: &mut [Vec<f64>],
        dt: f64,
        saturation: &[f64],
        acc: &mut [Accounts],
        uptake_out: &mut [f64],
        time_h: f64,
    ) -> Result<&[f64], TransportError> {
        let k = self.k;
        for (s, net) in nets.iter().enumerate() {
            if k == 1 {
                self.u.copy_from_slice(&m[s]);
            } else {
                for (i, v) in m[s].iter().enumerate() {
                    self.u[i * k + s] = *v;
                }
            }
            for l in net.sources.iter().chain(&net.drains) {
                self.u[l.cell * k + s] += dt * l.g * l.value;
            }
        }
        let key = dt.to_bits();
        let kept = if self.reuse {
            self.factors.iter().position(|(d, _)| *d == key)
        } else {
            None
        };
        if kept.is_none() {
            self.assemble_and_factor(nets, dt, saturation, time_h)?;
            if self.reuse {
                if self.factors.len() < MAX_CACHED_FACTORS {
                    self.factors.push((key, self.lu.clone()));
                } else {
                    self.factors[self.evict] = (key, self.lu.clone());
                    self.evict = (self.evict + 1) % MAX_CACHED_FACTORS;
                }
            }
        }
        let lu = match kept {
            Some(j) => &self.factors[j].1,
            None => &self.lu,
        };
        lu.solve(&mut self.u);
        // Every entry is looked at (no early exit, so the check vectorizes); the first bad
        // one is found only on failure.
        if self.u.iter().fold(false, |bad, x| bad | !x.is_finite()) {
            let p = self.u.iter().position(|x| !x.is_finite()).unwrap_or(0);
            return Err(TransportError::NonFinite {
                class: p % k,
                cell: p / k,
                time_h,
            });
        }
        if self.reuse && self.plan.is_none() {
            self.plan = Some(Plan::new(nets));
        }
        let u = &self.u;
        for (s, net) in nets.iter().enumerate() {
            let acc = &mut acc[s];
            if k == 1 {
                for ((held, cap), x) in m[s].iter_mut().zip(&net.capacity).zip(u) {
                    *held = cap * x;
                }
            } else {
                for ((i, held), cap) in m[s].iter_mut().enumerate().zip(&net.capacity) {
                    *held = cap * u[i * k + s];
                }
            }
            // Sums of rate * amount over the cells, times dt once at the end.
            let mut sinks = [0.0; N_SINKS];
            let mut book = |i: usize| {
                let (r, sat, held) = (&net.sink_rate[i], saturation[i], m[s][i]);
                let up = [r[0] * sat * held, r[1] * sat * held];
                uptake_out[i] += dt * (up[0] + up[1]);
                sinks[0] += up[0];
                sinks[1] += up[1];
                for j in 2..N_SINKS {
                    sinks[j] += r[j] * held;
                }
            };
            match &self.plan {
                Some(plan) => plan.sink_cells[s].iter().for_each(|&i| book(i)),
                None => (0..net.len()).for_each(book),
            }
            for (total, v) in acc.sinks.iter_mut().zip(sinks) {
                *total += dt * v;
            }
            for l in &net.sources {
                acc.inflow += dt * l.g * (l.value - u[l.cell * k + s]);
            }
            for l in &net.drains {
                acc.outflow += dt * l.g * (u[l.cell * k + s] - l.value);
            }
            let mut track = |e: &Edge| {
                if e.tracked {
                    acc.tracked += dt * e.g * (u[e.a * k + s] - u[e.b * k + s]);
                }
            };
            match &self.plan {
                Some(plan) => plan.tracked[s].iter().for_each(|&j| track(&net.edges[j])),
                None => net.edges.iter().for_each(track),
            }
        }
        Ok(&self.u)
    }
}

/// The bandwidth of a network's matrix without cell 0's edges: when it is much smaller than
/// [`Network::bandwidth`], cell 0 (the film, coupled to every surface cell of a grid numbered
/// by columns) is better solved as a border of the band (see [`Stepper::new`]).
pub fn bandwidth_without_first(net: &Network) -> usize {
    net.edges
        .iter()
        .filter(|e| e.a != 0 && e.b != 0)
        .map(|e| e.a.abs_diff(e.b))
        .max()
        .unwrap_or(0)
}

/// A 1D segment split into uniform cells.
#[derive(Debug, Clone)]
pub struct Segment {
    pub thickness_um: f64,
    pub cells: usize,
}

/// Cell faces of a stack of segments, from 0 down.
pub fn faces(segments: &[Segment]) -> Vec<f64> {
    let mut f = vec![0.0];
    let mut z = 0.0;
    for s in segments {
        let h = s.thickness_um / s.cells as f64;
        for k in 1..=s.cells {
            f.push(if k == s.cells {
                z + s.thickness_um
            } else {
                z + h * k as f64
            });
        }
        z += s.thickness_um;
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A grid numbered by columns whose cell 0 (a film) touches the top cell of every column,
    /// with sinks, a drain and per-class conductances.
    fn film_over_columns(classes: usize, cols: usize, rows: usize) -> Vec<Network> {
        (0..classes)
            .map(|s| {
                let mut net = Network::default();
                net.push_cell(5.0, 5.0, 0, [0.0, 0.0, 0.0, 0.02, 0.0]);
                let at = |c: usize, r: usize| 1 + c * rows + r;
                for c in 0..cols {
                    for r in 0..rows {
                        let rate = 0.01 * ((c + r) % 4) as f64;
                        net.push_cell(1.0 + 0.1 * r as f64, 1.0, 1, [rate, 0.0, 0.0, 0.0, 0.0]);
                    }
                }
                let scale = 1.0 / (1.0 + s as f64);
                for c in 0..cols {
                    net.edges.push(Edge {
                        a: 0,
                        b: at(c, 0),
                        g: 2.0 * scale,
                        tracked: false,
                    });
                    for r in 0..rows {
                        if r + 1 < rows {
                            let g = (1.0 + 0.2 * ((r + c) % 5) as f64) * scale;
                            net.edges.push(Edge {
                                a: at(c, r),
                                b: at(c, r + 1),
                                g,
                                tracked: r == 2,
                            });
                        }
                        if c + 1 < cols {
                            let g = 0.7 * scale;
                            net.edges.push(Edge {
                                a: at(c, r),
                                b: at(c + 1, r),
                                g,
                                tracked: false,
                            });
                        }
                    }
                }
                net.drains.push(Link {
                    cell: at(cols - 1, rows - 1),
                    g: 1.0,
                    value: 0.0,
                });
                net
            })
            .collect()
    }

    #[test]
    fn a_bordered_first_cell_gives_the_plain_band_solution() {
        // The film coupled to every column makes the plain band as wide as the grid; as a
        // border the band is one column wide. Both are exact: the states agree to rounding.
        let (classes, cols, rows) = (3, 9, 5);
        let nets = film_over_columns(classes, cols, rows);
        let n = nets[0].len();
        assert_eq!(nets[0].bandwidth(), (cols - 1) * rows + 1);
        assert_eq!(bandwidth_without_first(&nets[0]), rows);
        let run = |border: bool| {
            let bw = if border { rows } else { nets[0].bandwidth() };
            let mut st = Stepper::new(n, bw, classes, border).unwrap();
            let mut m: Vec<Vec<f64>> = (0..classes)
                .map(|_| {
                    let mut v = vec![0.0; n];
                    v[0] = 1e6;
                    v
                })
                .collect();
            let mut acc = vec![Accounts::default(); classes];
            let sat = vec![0.7; n];
            let mut up = vec![0.0; n];
            for step in 0..40 {
                let dt = 0.01 * 1.2f64.powi(step % 10);
                st.step(&nets, &mut m, dt, &sat, &mut acc, &mut up, 0.0)
                    .unwrap();
            }
            (m, acc)
        };
        let (mb, ab) = run(true);
        let (mp, ap) = run(false);
        for s in 0..classes {
            for i in 0..n {
                assert!(
                    (mb[s][i] - mp[s][i]).abs() <= 1e-12 * 1e6,
                    "class {s} cell {i}"
                );
            }
            assert!((ab[s].tracked - ap[s].tracked).abs() <= 1e-12 * 1e6);
            assert!((ab[s].outflow - ap[s].outflow).abs() <= 1e-12 * 1e6);
            // Mass balance of the bordered run: held + sinks + drained = applied.
            let held: f64 = mb[s].iter().sum();
            let sunk: f64 = ab[s].sinks.iter().sum();
            assert!((held + sunk + ab[s].outflow - 1e6).abs() < 1e-13 * 1e6);
        }
    }

    #[test]
    fn a_closed_network_conserves_and_equilibrates_partitioned() {
        // Two cells with partition 1 and 4: at equilibrium u is equal, so m splits 1:4.
        let mut net = Network::default();
        net.push_cell(1.0, 1.0, 0, [0.0; N_SINKS]);
        net.push_cell(4.0, 1.0, 1, [0.0; N_SINKS]);
        net.edges.push(Edge {
            a: 0,
            b: 1,
            g: 2.0,
            tracked: true,
        });
        let mut st = Stepper::new(2, 1, 1, false).unwrap();
        let mut mm = vec![vec![10.0, 0.0]];
        let mut accs = vec![Accounts::default()];
        let sat = vec![1.0; 2];
        let mut up = vec![0.0; 2];
        for _ in 0..200 {
            st.step(
                std::slice::from_ref(&net),
                &mut mm,
                0.5,
                &sat,
                &mut accs,
                &mut up,
                0.0,
            )
            .unwrap();
        }
        let (m, acc) = (&mm[0], &accs[0]);
        assert!((m[0] + m[1] - 10.0).abs() < 1e-13);
        assert!(
            (m[0] - 2.0).abs() < 1e-10 && (m[1] - 8.0).abs() < 1e-10,
            "{m:?}"
        );
        assert!((acc.tracked - 8.0).abs() < 1e-10);
    }

    /// A three-layer chain with a source, a drain and sinks, for `classes` size classes
    /// (conductances scaled per class).
    fn chain(classes: usize) -> Vec<Network> {
        (0..classes)
            .map(|s| {
                let mut net = Network::default();
                for i in 0..30 {
                    let k = [0.5, 1.5, 0.8][i / 10];
                    net.push_cell(
                        k * 2.0,
                        2.0,
                        i / 10,
                        [
                            if i % 4 == 1 { 0.02 } else { 0.0 },
                            0.0,
                            0.01 * (i % 3) as f64,
                            0.0,
                            0.0,
                        ],
                    );
                }
                for i in 0..29 {
                    net.edges.push(Edge {
                        a: i,
                        b: i + 1,
                        g: (1.0 + 0.3 * (i % 7) as f64) / (1.0 + s as f64),
                        tracked: i == 19,
                    });
                }
                net.sources.push(Link {
                    cell: 0,
                    g: 3.0,
                    value: 1e6,
                });
                net.drains.push(Link {
                    cell: 29,
                    g: 2.0,
                    value: 0.0,
                });
                net
            })
            .collect()
    }

    #[test]
    fn reused_factors_give_the_same_steps_as_fresh_ones() {
        // With reuse the step also books only the cells with sinks and the tracked edges
        // (the plan); without, every cell and edge: the totals must agree to the bit, uptake
        // per cell included.
        for classes in [1, 3] {
            let nets = chain(classes);
            let n = nets[0].len();
            let sat: Vec<f64> = (0..n).map(|i| 0.25 + 0.02 * i as f64).collect();
            let mut fresh = Stepper::new(n, 1, classes, false).unwrap();
            let mut kept = Stepper::new(n, 1, classes, false).unwrap();
            kept.reuse_factors(true);
            let (mut m1, mut m2) = (vec![vec![0.0; n]; classes], vec![vec![0.0; n]; classes]);
            let mut a1 = vec![Accounts::default(); classes];
            let mut a2 = a1.clone();
            let (mut up1, mut up2) = (vec![0.0; n], vec![0.0; n]);
            // Step sizes that repeat, as the engine's do (growth, cap, cut steps).
            let dts = [
                0.001, 0.0013, 0.00169, 0.01, 0.01, 0.004, 0.01, 0.01, 0.004, 0.0013,
            ];
            for (j, &dt) in dts.iter().cycle().take(200).enumerate() {
                let t = j as f64;
                fresh
                    .step(&nets, &mut m1, dt, &sat, &mut a1, &mut up1, t)
                    .unwrap();
                kept.step(&nets, &mut m2, dt, &sat, &mut a2, &mut up2, t)
                    .unwrap();
            }
            // The same factorization code runs either way: equal to the last bit.
            assert_eq!(m1, m2);
            assert_eq!(a1, a2);
            assert_eq!(up1, up2);
            assert_eq!(kept.cached_factors(), 5);
            assert!(a1[0].tracked > 0.0 && a1[0].outflow > 0.0);
            assert!(a1[0].sinks[0] > 0.0 && a1[0].sinks[2] > 0.0);
            assert_eq!(
                up1.iter().filter(|&&x| x > 0.0).count(),
                (1..n).step_by(4).count()
            );
        }
    }

    #[test]
    fn the_factor_cache_is_bounded_and_stays_exact_when_full() {
        let nets = chain(1);
        let n = nets[0].len();
        let sat = vec![0.0; n];
        let mut fresh = Stepper::new(n, 1, 1, false).unwrap();
        let mut kept = Stepper::new(n, 1, 1, false).unwrap();
        kept.reuse_factors(true);
        let (mut m1, mut m2) = (vec![vec![0.0; n]], vec![vec![0.0; n]]);
        let (mut a1, mut a2) = (vec![Accounts::default()], vec![Accounts::default()]);
        let mut up = vec![0.0; n];
        // More distinct step sizes than the cache holds, each used twice in a row.
        for j in 0..2 * (MAX_CACHED_FACTORS + 8) {
            let dt = 1e-3 * (1.0 + (j / 2) as f64);
            fresh
                .step(&nets, &mut m1, dt, &sat, &mut a1, &mut up, 0.0)
                .unwrap();
            kept.step(&nets, &mut m2, dt, &sat, &mut a2, &mut up, 0.0)
                .unwrap();
        }
        assert_eq!(kept.cached_factors(), MAX_CACHED_FACTORS);
        assert_eq!(m1, m2);
        assert_eq!(a1, a2);
    }

    #[test]
    fn a_non_physical_network_is_an_error_not_a_panic() {
        // A zero capacity with no links: the matrix is singular.
        let mut net = Network::default();
        net.push_cell(0.0, 1.0, 0, [0.0; N_SINKS]);
        let mut st = Stepper::new(1, 0, 1, false).unwrap();
        let r = st.step(
            std::slice::from_ref(&net),
            &mut [vec![1.0]],
            1.0,
            &[1.0],
            &mut [Accounts::default()],
            &mut [0.0],
            2.5,
        );
        assert_eq!(
            r.unwrap_err(),
            TransportError::NotPositiveDefinite {
                class: 0,
                cell: 0,
                time_h: 2.5
            }
        );
        // A capacity that overflows the step: the state is not finite.
        let mut net = Network::default();
        net.push_cell(1e-310, 1.0, 0, [0.0; N_SINKS]);
        let r = st.step(
            std::slice::from_ref(&net),
            &mut [vec![1e300]],
            1.0,
            &[1.0],
            &mut [Accounts::default()],
            &mut [0.0],
            3.0,
        );
        assert!(
            matches!(r, Err(TransportError::NonFinite { cell: 0, .. })),
            "{r:?}"
        );
    }

    #[test]
    fn a_single_sink_decays_as_backward_euler_and_books_the_loss() {
        let mut net = Network::default();
        net.push_cell(2.0, 1.0, 0, [0.0, 0.0, 0.1, 0.0, 0.0]);
        let mut st = Stepper::new(1, 0, 1, false).unwrap();
        let mut m = vec![vec![1.0]];
        let mut acc = vec![Accounts::default()];
        let mut up = vec![0.0];
        st.step(
            std::slice::from_ref(&net),
            &mut m,
            1.0,
            &[1.0],
            &mut acc,
            &mut up,
            1.0,
        )
        .unwrap();
        assert!((m[0][0] - 1.0 / 1.1).abs() < 1e-15);
        assert!((m[0][0] + acc[0].sinks[Sink::Cleared as usize] - 1.0).abs() < 1e-15);
    }
}
