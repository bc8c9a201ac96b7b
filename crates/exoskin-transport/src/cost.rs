//! What a transport run will cost, known before it starts: cells, band, size classes, the
//! exact number of time steps, the memory of the solver's work space and an estimate of the
//! compute time. Every front end (CLI, HTTP API, pages, Python, sweeps) checks it against a
//! [`Budget`] before running, so a request for a grid of a million cells in 32 classes over
//! two years is refused in microseconds with the figure that is too large, instead of
//! allocating tens of gigabytes.
//!
//! The step count is exact: the time grid depends on the doses and the time settings alone
//! ([`crate::engine`]'s clock), so it is counted without solving. Memory counts the band
//! factors, the step matrix, the state, the networks and the recorded series. Time is the
//! band work (a factorization costs `n bw^2` per class, a solve and the assembly a few
//! `n bw`) at rates measured on the bundled scenarios ([`OPERATIONS_PER_S`]).

use crate::engine::count_steps;
use crate::network::{MAX_CACHED_FACTORS, N_SINKS};
use crate::{franz, invivo};
use exoskin_model::scenario::{
    FranzCell, InVivo, DEFAULT_DT_MAX_H, DEFAULT_FRANZ_CELLS_PER_LAYER,
    DEFAULT_IN_VIVO_CELLS_PER_LAYER, DEFAULT_RADIAL_CELLS, DEFAULT_SIZE_CLASSES,
};
use exoskin_model::{Scenario, TransportParams};
use serde::Serialize;
use std::fmt;

/// Assembly and solve operations (`n bw` per class and step) per second of one core, and
/// factorization operations (`n bw^2` per class), which run as vector operations across the
/// classes. Both are lower bounds over the bundled scenarios and a ladder of finer grids on
/// the reference machine, so estimates err long (by 1.3x to 13x; docs/benchmarks.md, "Cost
/// estimates", and `cargo run --release -p exoskin-transport --example cost_calibration`).
pub const OPERATIONS_PER_S: f64 = 1.0e9;
/// See [`OPERATIONS_PER_S`].
pub const FACTOR_OPERATIONS_PER_S: f64 = 1.0e10;

/// Bytes per cell and size class besides the band: the step matrix's diagonal and
/// right-hand side, the state, and the network (capacity, volume, compartment, sink rates
/// and about two and a half edges of 32 bytes).
const BYTES_PER_CELL_CLASS: f64 = 8.0 * 4.0 + 24.0 + 8.0 * N_SINKS as f64 + 80.0;

/// What a run needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cost {
    /// Cells of the grid (one network per size class).
    pub cells: usize,
    /// Half-width of the factored band.
    pub bandwidth: usize,
    /// Size classes (independent systems).
    pub classes: usize,
    /// Time steps (exact).
    pub steps: u64,
    /// Factorizations (every step when properties change with time).
    pub factorizations: u64,
    /// Work space, bytes.
    pub memory_bytes: f64,
    /// Estimated compute time on one core, s (see [`OPERATIONS_PER_S`]).
    pub seconds: f64,
    /// The scenario key that drives the cost most, named in a refusal.
    #[serde(skip)]
    field: &'static str,
}

/// The most a run may take.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    pub memory_bytes: f64,
    pub seconds: f64,
}

impl Budget {
    /// The default of every front end: 2 GiB and an estimated 10 minutes.
    pub const DEFAULT: Budget = Budget {
        memory_bytes: 2.0 * GIB,
        seconds: 600.0,
    };
}

impl Default for Budget {
    fn default() -> Budget {
        Budget::DEFAULT
    }
}

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Which limit a run exceeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    Memory,
    Time,
}

/// A run refused before it starts: the key to change, the estimate and the limit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct TooCostly {
    /// The scenario key that drives the cost most (`numerics.cells_per_layer`, ...).
    pub field: &'static str,
    pub resource: Resource,
    pub estimate: f64,
    pub limit: f64,
    pub cost: Cost,
}

impl fmt::Display for TooCostly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.cost;
        let what = match self.resource {
            Resource::Memory => format!(
                "about {} of memory, more than the limit of {}",
                bytes(self.estimate),
                bytes(self.limit)
            ),
            Resource::Time => format!(
                "about {} of computing, more than the limit of {}",
                duration(self.estimate),
                duration(self.limit)
            ),
        };
        write!(
            f,
            "this run would need {what} ({} cells x {} size classes, band {}, {} time steps); \
             lower `{}` (or the other grid and step settings) to run it",
            c.cells, c.classes, c.bandwidth, c.steps, self.field
        )
    }
}

fn bytes(b: f64) -> String {
    if b >= GIB {
        format!("{:.1} GiB", b / GIB)
    } else {
        format!("{:.0} MiB", (b / (1024.0 * 1024.0)).max(1.0))
    }
}

fn duration(s: f64) -> String {
    match s {
        s if s >= 2.0 * 86400.0 => format!("{:.0} days", s / 86400.0),
        s if s >= 7200.0 => format!("{:.0} h", s / 3600.0),
        s if s >= 120.0 => format!("{:.0} min", s / 60.0),
        s => format!("{s:.0} s"),
    }
}

impl Cost {
    /// This run followed by other work of `seconds` on one core, in no more memory (the
    /// response runs that read it).
    pub fn add_seconds(&mut self, seconds: f64) {
        self.seconds += seconds;
    }

    /// `Err` naming the driving key when the run needs more than `b` allows.
    pub fn check(&self, b: &Budget) -> Result<(), TooCostly> {
        let over = |resource, estimate: f64, limit: f64| TooCostly {
            field: self.field,
            resource,
            estimate,
            limit,
            cost: self.clone(),
        };
        if self.memory_bytes > b.memory_bytes {
            return Err(over(Resource::Memory, self.memory_bytes, b.memory_bytes));
        }
        if self.seconds > b.seconds {
            return Err(over(Resource::Time, self.seconds, b.seconds));
        }
        Ok(())
    }
}

/// Stop counting steps here: a run this long is refused whatever its grid.
const STEP_COUNT_LIMIT: u64 = 50_000_000;

/// The cost of the transport run of `s` (`None` for kinds without transport).
pub fn estimate(s: &Scenario, p: &TransportParams) -> Option<Cost> {
    match s {
        Scenario::CellCulture(_) => None,
        Scenario::InVivo(v) => Some(in_vivo(v, p)),
        Scenario::FranzCell(f) => Some(franz_cell(f, p)),
    }
}

/// The cost of one transport pass of an in-vivo scenario.
pub fn in_vivo(v: &InVivo, p: &TransportParams) -> Cost {
    let (cells, bandwidth) = invivo::grid_shape(v, p);
    let n = &v.numerics;
    let steps = count_steps(
        &v.application_times_h(),
        [
            v.experiment.duration_h,
            v.experiment.output_interval_h,
            n.dt_initial_h,
            n.dt_max_h,
            n.dt_quiet_max_h,
            invivo::QUIET_AFTER_H,
        ],
        STEP_COUNT_LIMIT,
    );
    let channels = bandwidth > 2;
    let field = driver(&[
        (
            "numerics.cells_per_layer",
            n.cells_per_layer as f64 / DEFAULT_IN_VIVO_CELLS_PER_LAYER as f64,
        ),
        (
            "numerics.radial_cells",
            if channels {
                n.radial_cells as f64 / DEFAULT_RADIAL_CELLS as f64
            } else {
                0.0
            },
        ),
        (
            "product.size.classes",
            v.product.size_classes as f64 / DEFAULT_SIZE_CLASSES as f64,
        ),
        ("numerics.dt_max_h", DEFAULT_DT_MAX_H / n.dt_max_h),
    ])
    .unwrap_or("experiment.duration_h");
    // Properties change with time (film, channels): a factorization every step.
    cost(
        cells,
        bandwidth,
        v.product.size_classes,
        steps,
        steps,
        1,
        v.experiment.duration_h / v.experiment.output_interval_h,
        field,
    )
}

/// The cost of a Franz cell run.
pub fn franz_cell(f: &FranzCell, p: &TransportParams) -> Cost {
    let classes = franz::size_classes(f);
    let dt_max = franz::largest_step_h(f, &classes, p);
    let dose = if f.donor.infinite { vec![] } else { vec![0.0] };
    let n = &f.numerics;
    let steps = count_steps(
        &dose,
        [
            f.experiment.duration_h,
            f.experiment.output_interval_h,
            n.dt_initial_h.min(dt_max),
            dt_max,
            dt_max,
            f64::INFINITY,
        ],
        STEP_COUNT_LIMIT,
    );
    let cells = usize::from(!f.donor.infinite) + f.layers.len() * n.cells_per_layer;
    let field = driver(&[
        (
            "numerics.cells_per_layer",
            n.cells_per_layer as f64 / DEFAULT_FRANZ_CELLS_PER_LAYER as f64,
        ),
        (
            "vesicles.classes",
            classes.len() as f64 / DEFAULT_SIZE_CLASSES as f64,
        ),
    ])
    .unwrap_or("experiment.duration_h");
    // Constant properties: one factorization per distinct step size, the kept
    // factors (at most MAX_CACHED_FACTORS) held in memory.
    let distinct = (2 * MAX_CACHED_FACTORS) as u64;
    cost(
        cells,
        1,
        classes.len(),
        steps,
        steps.min(distinct),
        1 + MAX_CACHED_FACTORS,
        f.experiment.duration_h / f.experiment.output_interval_h,
        field,
    )
}

/// The key whose value is furthest above its default (`None` when all are at or below); the
/// ratios are value over default (step: default over value).
fn driver(ratios: &[(&'static str, f64)]) -> Option<&'static str> {
    ratios
        .iter()
        .filter(|(_, r)| *r > 1.0)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(k, _)| *k)
}

#[allow(clippy::too_many_arguments)]
fn cost(
    cells: usize,
    bandwidth: usize,
    classes: usize,
    steps: u64,
    factorizations: u64,
    band_copies: usize,
    outputs: f64,
    field: &'static str,
) -> Cost {
    let (n, bw, k) = (cells as f64, bandwidth as f64, classes as f64);
    let band = 8.0 * n * (bw + 1.0) * k * band_copies as f64;
    let series = 8.0 * (outputs + 1.0) * (16.0 + N_SINKS as f64);
    let memory_bytes = band + BYTES_PER_CELL_CLASS * n * k + 8.0 * 6.0 * n + series;
    let per_factor = n * (bw + 1.0) * (bw + 1.0) * k;
    let per_step = n * (4.0 * (bw + 1.0) + 20.0) * k;
    let seconds = factorizations as f64 * per_factor / FACTOR_OPERATIONS_PER_S
        + steps as f64 * per_step / OPERATIONS_PER_S;
    Cost {
        cells,
        bandwidth,
        classes,
        steps,
        factorizations,
        memory_bytes,
        seconds,
        field,
    }
}
