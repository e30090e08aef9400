//! The `azemu` binary: the command line lives in the library (`src/cli/`).

fn main() {
    azemu::cli::main()
}
