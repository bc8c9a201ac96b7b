//! `exoskin simulate`.
use clap::Args as ClapArgs;

#[derive(ClapArgs)]
pub struct Args {
    /// Scenario file (TOML).
    pub file: String,
}

pub fn run(_a: Args) -> anyhow::Result<u8> {
    Err(anyhow::anyhow!("exoskin simulate is not built yet"))
}
