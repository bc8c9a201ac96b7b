//! `exoskin label`: ingredient-list decoding (issue: labels). Filled in by the labels work.
use clap::Args as ClapArgs;

#[derive(ClapArgs)]
pub struct Args {
    /// Ingredient text file, or - for stdin.
    pub file: Option<String>,
}

pub fn run(_a: Args) -> anyhow::Result<u8> {
    Err(anyhow::anyhow!("exoskin label is not built yet"))
}
