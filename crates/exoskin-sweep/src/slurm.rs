//! The Slurm engine: a job array with one task per shard, and a merge job to run after it.

use crate::spec::Spec;
use std::path::Path;

/// A word quoted for a POSIX shell.
pub fn sh(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The two batch scripts: `sweep.sbatch` (array `0-(shards-1)`, each task runs its shard
/// with as many threads as Slurm gave it) and `merge.sbatch`. `exe` is the `exoskin`
/// binary, `spec` and `dir` as the tasks will see them (absolute paths are safest).
/// `then`, a shell command line, runs after the merge (an analysis's last step).
pub fn scripts(
    spec: &Spec,
    exe: &Path,
    spec_path: &Path,
    dir: &Path,
    then: Option<&str>,
) -> (String, String) {
    // #SBATCH lines are not read by a shell: the log path goes there as it is.
    let dir_raw = dir.display().to_string();
    let (exe, spec_path, dir) = (
        sh(&exe.display().to_string()),
        sh(&spec_path.display().to_string()),
        sh(&dir_raw),
    );
    let sweep = format!(
        "#!/bin/bash\n\
         # exoskin sweep: one array task per shard ({shards} shards, {rows} rows).\n\
         # Submit: jobid=$(sbatch --parsable sweep.sbatch)\n\
         #SBATCH --job-name=exoskin-sweep\n\
         #SBATCH --array=0-{last}\n\
         #SBATCH --cpus-per-task=1\n\
         #SBATCH --output={dir_raw}/slurm-%A_%a.out\n\
         set -euo pipefail\n\
         exec {exe} sweep {spec_path} --out {dir} --shard \"$SLURM_ARRAY_TASK_ID\" \
         --threads \"${{SLURM_CPUS_PER_TASK:-1}}\"\n",
        shards = spec.shards,
        rows = spec.row_count(),
        last = spec.shards - 1,
    );
    let merge = format!(
        "#!/bin/bash\n\
         # exoskin sweep merge: joins the shards once every array task has succeeded.\n\
         # Submit after the array: sbatch --dependency=afterok:$jobid merge.sbatch\n\
         #SBATCH --job-name=exoskin-sweep-merge\n\
         #SBATCH --cpus-per-task=1\n\
         #SBATCH --output={dir_raw}/slurm-merge-%j.out\n\
         set -euo pipefail\n\
         {exe} sweep merge {dir} --out {dir}/sweep.parquet\n{then}",
        then = then.map(|t| format!("{t}\n")).unwrap_or_default(),
    );
    (sweep, merge)
}

#[cfg(test)]
mod tests {
    use super::sh;

    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(sh("/a/b.toml"), "/a/b.toml");
        assert_eq!(sh("a b"), "'a b'");
        assert_eq!(sh("it's"), r"'it'\''s'");
    }
}
