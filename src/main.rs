use clap::Parser;
use game_cluster::cli::{self, Cli};
use game_cluster::configuration::Settings;
use game_cluster::telemetry;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&settings.logging);
    actix_web::rt::System::new().block_on(cli::run(cli, settings))
}
