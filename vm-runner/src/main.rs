//! `exile-vm-runner` command line; see the crate documentation and
//! `vm-runner/README.md`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use exile_vm_runner::config::Config;
use exile_vm_runner::init_build::{self, InitChoice};
use exile_vm_runner::kernel;
use exile_vm_runner::runner::{self, AccelChoice, RunOptions};

const AFTER_HELP: &str = "\
Kernels come from Debian: for each entry, the suite's linux-image-cloud-amd64 is resolved
with apt in a private state directory (sources derived from this machine's apt
configuration, suite swapped, signatures verified), and the kernel is cached by package
version under ~/.cache/exile-vm (or $EXILE_VM_CACHE).

Each kernel boots with the init as /init of an initramfs; the init writes JSON lines to
ttyS1 (one per probe, then a summary with the detected features) and powers off.

Exit status: 0 every kernel passed; 1 a probe failed, a must-feature mismatched, or a boot
failed or timed out; 2 bad configuration or a missing prerequisite (qemu, apt, disk).

Environment: EXILE_VM_CACHE (cache dir), EXILE_VM_QEMU (qemu binary),
EXILE_VM_DEBIAN_MIRROR (archive URI when the host's apt has no Debian source),
EXILE_VM_STATIC_TARGET_DIR (target dir of the static init build).

Examples:
  exile-vm-runner --list
  exile-vm-runner --test-init --kernel bookworm      # smoke-test the boot chain
  exile-vm-runner --out target/vm-matrix             # the whole matrix, with reports";

/// Boot the exile conformance suite on a matrix of real Debian kernels in
/// QEMU and report, per kernel, which mechanisms work and every probe's
/// verdict.
#[derive(Debug, Parser)]
#[command(version, about, after_help = AFTER_HELP)]
struct Cli {
    /// Boot only this kernel (repeatable; names from --list). Default: all.
    #[arg(long = "kernel", value_name = "NAME")]
    kernels: Vec<String>,
    /// Print the kernel names of the configuration, one per line, and exit.
    #[arg(long)]
    list: bool,
    /// With --list: print the names as a JSON array (for CI matrices).
    #[arg(long, requires = "list")]
    json: bool,
    /// Write matrix.md, matrix.json, junit.xml and the boot logs into DIR.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Use this statically linked binary as /init instead of building
    /// exile-conformance.
    #[arg(long, value_name = "PATH", conflicts_with = "test_init")]
    init: Option<PathBuf>,
    /// Boot the minimal exile-vm-testinit instead of the conformance suite
    /// (a fast smoke test of kernels, initramfs and serial protocol).
    #[arg(long)]
    test_init: bool,
    /// Seconds before a boot is declared hung. Under TCG a boot with the
    /// whole suite (about 520 probes) takes 40-70 s on an idle 2-core host
    /// and over 2 minutes on a loaded one.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    timeout: u64,
    /// Boots in parallel (default: the number of CPUs).
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// The kernel matrix (default: ./kernels.toml, else the workspace's).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Accelerator: auto uses KVM only when it really runs a guest here.
    #[arg(long, value_enum, default_value_t = AccelChoice::Auto)]
    accel: AccelChoice,
    /// Cache directory (default: $EXILE_VM_CACHE, $XDG_CACHE_HOME/exile-vm,
    /// ~/.cache/exile-vm).
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
    /// Fetch the package lists again even if they are fresh (< 6 h).
    #[arg(long)]
    refresh: bool,
    /// Guest memory in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 512)]
    memory: u32,
}

fn default_config() -> PathBuf {
    let here = PathBuf::from("kernels.toml");
    if here.is_file() {
        here
    } else {
        init_build::workspace_root().join("kernels.toml")
    }
}

fn write_reports(dir: &Path, m: &exile_vm_runner::matrix::Matrix) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("matrix.md"), m.render_markdown())?;
    std::fs::write(dir.join("matrix.json"), m.render_json())?;
    std::fs::write(dir.join("junit.xml"), m.render_junit())?;
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config_path = cli.config.clone().unwrap_or_else(default_config);
    let config = match Config::load(&config_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("exile-vm-runner: {e}");
            return ExitCode::from(2);
        }
    };
    if cli.list {
        let names: Vec<&str> = config.kernels.iter().map(|k| k.name.as_str()).collect();
        if cli.json {
            println!("{}", serde_json::to_string(&names).unwrap_or_default());
        } else {
            for n in names {
                println!("{n}");
            }
        }
        return ExitCode::SUCCESS;
    }
    let kernels = match config.select(&cli.kernels) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("exile-vm-runner: {e}");
            return ExitCode::from(2);
        }
    };
    let cache = cli.cache.clone().unwrap_or_else(kernel::default_cache_root);
    let logs = cli
        .out
        .clone()
        .unwrap_or_else(|| cache.join("runs").join("latest"));
    let init = match (&cli.init, cli.test_init) {
        (Some(p), _) => InitChoice::Path(p.clone()),
        (None, true) => InitChoice::TestInit,
        (None, false) => InitChoice::Conformance,
    };
    let jobs = cli
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let opts = RunOptions {
        kernels,
        init,
        timeout: Duration::from_secs(cli.timeout.max(1)),
        jobs,
        accel: cli.accel,
        cache,
        logs: logs.clone(),
        refresh: cli.refresh,
        etc_apt: PathBuf::from("/etc/apt"),
        mirror_override: std::env::var("EXILE_VM_DEBIAN_MIRROR").ok(),
        memory_mib: cli.memory,
    };
    let log = |line: &str| eprintln!("{line}");
    let matrix = match runner::run(&opts, &log) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("exile-vm-runner: {e}");
            return ExitCode::from(2);
        }
    };
    print!("{}", matrix.render_table());
    match &cli.out {
        Some(dir) => match write_reports(dir, &matrix) {
            Ok(()) => eprintln!(
                "reports: {}/{{matrix.md,matrix.json,junit.xml}}",
                dir.display()
            ),
            Err(e) => {
                eprintln!("exile-vm-runner: writing reports to {}: {e}", dir.display());
                return ExitCode::from(2);
            }
        },
        None => eprintln!("boot logs: {}", logs.display()),
    }
    if matrix.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
