//! `exoskin batch` and `exoskin serve`: batch certificates and the registry.
use clap::{Args as ClapArgs, Subcommand};

#[derive(Subcommand)]
pub enum BatchCommand {
    /// Generate an Ed25519 key pair.
    Keygen,
}

#[derive(ClapArgs)]
pub struct ServeArgs {}

pub fn run(_c: BatchCommand) -> anyhow::Result<u8> {
    Err(anyhow::anyhow!("exoskin batch is not built yet"))
}

pub fn serve(_a: ServeArgs) -> anyhow::Result<u8> {
    Err(anyhow::anyhow!("exoskin serve is not built yet"))
}
