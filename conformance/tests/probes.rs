//! `cargo test -p exile-conformance`: every probe as a libtest test
//! (filtering, `--list`, `--ignored` work as in libtest).

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let contexts = match exile_conformance::harness::contexts() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot detect features: {e}");
            std::process::exit(1);
        }
    };
    let probes = exile_conformance::registry::all();
    let cases = exile_conformance::harness::cases(&probes, &contexts);
    let conclusion = libtest_mimic::run(&args, exile_conformance::harness::trials(cases));
    exile_conformance::fixture::cleanup();
    conclusion.exit();
}
