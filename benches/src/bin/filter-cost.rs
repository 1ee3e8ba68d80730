//! `filter-cost`: instructions executed per system call, per rule set and
//! compiler, from exile's interpreter (deterministic); in markdown also the
//! instructions executed by the two calls `syscall-cost` times.
//!
//! ```text
//! cargo run --release -p exile-benches --bin filter-cost            # markdown table
//! cargo run --release -p exile-benches --bin filter-cost -- --json  # one JSON object per line
//! ```

use exile_benches::measure;

fn main() {
    let mut json = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--json" => json = true,
            "-h" | "--help" => {
                println!("usage: filter-cost [--json]");
                return;
            }
            other => {
                eprintln!("filter-cost: unknown argument {other:?} (usage: filter-cost [--json])");
                std::process::exit(2);
            }
        }
    }
    let rows = measure::table();
    if json {
        for row in &rows {
            println!("{}", measure::json_line(row));
        }
    } else {
        print!("{}", measure::markdown(&rows));
        println!("\nInstructions executed by the calls `syscall-cost` times:\n");
        print!("{}", measure::probe_markdown());
    }
}
