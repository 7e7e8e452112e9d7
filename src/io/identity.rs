//! Input-versus-output identity: the one check, used by every command that
//! writes, that an output never names one of its inputs (I/O layer).

use std::path::Path;

/// Whether two paths name the same existing file (device and inode, so
/// `./x.h5`, `../d/x.h5`, hard links and symbolic links all count).
pub fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// Refuses an output that is one of the job's inputs, through any path or
/// link: a usage error (exit 2) before any work, so an input is never
/// overwritten. `out_source` and each input's source say where the path
/// came from (`--out`, `config file x.toml`), for the message.
pub fn refuse_input_as_output(
    out: &Path,
    out_source: &str,
    inputs: &[(&str, &Path)],
) -> anyhow::Result<()> {
    for (source, input) in inputs {
        if same_file(out, input) {
            return Err(crate::config::usage(format!(
                "output '{}' (from {out_source}) is the same file as input '{}' (from {source}): tessera never overwrites its input; choose another output name",
                out.display(),
                input.display()
            )));
        }
    }
    Ok(())
}
