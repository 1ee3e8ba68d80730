//! `cargo test -p exile-conformance`: every probe as a libtest test
//! (filtering, `--list`, `--ignored` work as in libtest).
//!
//! libtest takes one name filter; to run several groups at once set
//! `EXILE_PROBES` to comma-separated name prefixes, e.g.
//! `EXILE_PROBES=vow::,seccomp::rule:: cargo test -p exile-conformance --test probes`
//! (what the mutation runs in the issue notes use).

fn main() {
    let mut args = libtest_mimic::Arguments::from_args();
    // Probes fork; a child forked while another test thread holds a lock
    // (std's stdout lock, which libtest-mimic takes to print results) would
    // deadlock on its first println!. One thread unless asked otherwise.
    if args.test_threads.is_none() {
        args.test_threads = Some(1);
    }
    let contexts = match exile_conformance::harness::contexts() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot detect features: {e}");
            std::process::exit(1);
        }
    };
    let mut probes = exile_conformance::registry::all();
    if let Ok(prefixes) = std::env::var("EXILE_PROBES") {
        let prefixes: Vec<&str> = prefixes.split(',').filter(|p| !p.is_empty()).collect();
        probes.retain(|p| prefixes.iter().any(|prefix| p.name.starts_with(prefix)));
        if probes.is_empty() {
            eprintln!("EXILE_PROBES={prefixes:?} selects no probe");
            std::process::exit(1);
        }
    }
    let cases = exile_conformance::harness::cases(&probes, &contexts);
    let conclusion = libtest_mimic::run(&args, exile_conformance::harness::trials(cases));
    exile_conformance::fixture::cleanup();
    conclusion.exit();
}
