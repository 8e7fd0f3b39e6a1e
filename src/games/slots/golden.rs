//! Golden rounds: fixed seeds whose events (SHA-256 of their JSON) and wins are pinned, so that any
//! change to what a round shows or pays fails here, on purpose. A deliberate change of the engine's
//! results updates these values in the same commit (and bumps the shipped games' baselines).

use super::draws::{FairDraws, FastDraws};
use super::round::{play_round, Round};
use super::sim::baseline::events_hash;
use super::testkit::{lines_game, ways_game};
use super::Definition;

/// Where a golden round's draws come from.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// A paid round: server seed, client seed, nonce.
    Fair(&'static str, &'static str, u64),
    /// A simulation round: seed, simulation id.
    Sim(u64, u64),
}

pub fn play(definition: &Definition, mode: &str, source: Source) -> Round {
    let mode = definition.mode(mode).expect("the mode exists");
    match source {
        Source::Fair(server, client, nonce) => play_round(definition, mode, &mut FairDraws::new(server, client, nonce)),
        Source::Sim(seed, id) => play_round(definition, mode, &mut FastDraws::for_round(seed, id)),
    }
}

/// (game, mode, source, win in centi-bet, events hash).
type Golden = (&'static str, &'static str, Source, u64, &'static str);

const GOLDEN: &[Golden] = &[
    (
        "lines20",
        "base",
        Source::Fair(SERVER, CLIENT, 1),
        0,
        "8b09df7876e313d76b8580c3c788c9c742caf308e73073d7e6e2f180ef8b8c14",
    ),
    (
        "lines20",
        "base",
        Source::Fair(SERVER, CLIENT, 2),
        0,
        "82e5acdc8a2eb095a2cc28015e0505189aad0e1b1835069b0c5dcbc44b5c99bd",
    ),
    (
        "lines20",
        "base",
        Source::Sim(42, 1),
        0,
        "cbd07b505eeaa3c474b92a5b2c7aac03ff9e0efb5aa9c9ae5031fb2ec8d0c4b7",
    ),
    // Free spins with a retrigger.
    (
        "lines20",
        "base",
        Source::Sim(42, 62992),
        1045,
        "6689925e286310e8d271f07032a9713b823df3c2e83daaef69e1b93130a79f09",
    ),
    (
        "lines20",
        "bonus",
        Source::Fair(SERVER, CLIENT, 1),
        30,
        "f58708c7af18c115349b3591218e8b91da7942aed3e3a6c251c0e7513b87f688",
    ),
    (
        "lines20",
        "bonus",
        Source::Fair(SERVER, CLIENT, 2),
        30,
        "62a6a9757cc13171601ec73d2dde6c162551c5184a606cd51f33d0cbf664587f",
    ),
    (
        "lines20",
        "bonus",
        Source::Sim(42, 1),
        695,
        "5c17813667a2b7bbed5259334450aff3e364ca98dd15d1416308fa5262598fbb",
    ),
    (
        "lines20",
        "bonus",
        Source::Sim(42, 1170),
        3020,
        "718675f014078d14562a99fbfaaeeb82aeac8fb2b901e84172c1ecf223b473d5",
    ),
    (
        "ways6x4",
        "base",
        Source::Fair(SERVER, CLIENT, 1),
        0,
        "059c939897b92953820deae1abd1473b15a23b1287b8a15e9082f48a8a4e8f85",
    ),
    (
        "ways6x4",
        "base",
        Source::Fair(SERVER, CLIENT, 2),
        49,
        "e7f9d9ef8447646b586f2c6650473fd98b3ed7bbc41dd6387ce7a57293f30076",
    ),
    (
        "ways6x4",
        "base",
        Source::Sim(42, 1),
        4,
        "a20365c4c858939d044bb451ed48dae377791ed8ed22b4861d9ed1061ad7f6e1",
    ),
    // More than three cascades.
    (
        "ways6x4",
        "base",
        Source::Sim(42, 3),
        1975,
        "3816429fe93ec4a2fa8f2690d09ec88e4964d3adbd2da026a85bcdaecf60a0e6",
    ),
    (
        "ways6x4",
        "bonus",
        Source::Fair(SERVER, CLIENT, 1),
        5687,
        "8bff508732b5d31f18bf20383c715d0c472769c839be77357a93ca797a422d8a",
    ),
    (
        "ways6x4",
        "bonus",
        Source::Fair(SERVER, CLIENT, 2),
        9770,
        "c497990ae8642cfcb2c97bba4361028545abf4cc16d7234542617c0b2e6631fe",
    ),
    (
        "ways6x4",
        "bonus",
        Source::Sim(42, 1),
        5464,
        "edfaf507eff5edc7216bc257964f46f1f5f1084668fa93cb0fd89c673ec0237e",
    ),
];

const SERVER: &str = "golden server seed";
const CLIENT: &str = "golden client seed";

#[test]
fn golden_rounds_are_unchanged() {
    // Each pinned round of the fixtures plays to the same events and win as when it was pinned.
    let games = [lines_game(), ways_game()];
    for (game, mode, source, win, hash) in GOLDEN {
        let definition = games.iter().find(|definition| definition.id() == *game).unwrap();
        let round = play(definition, mode, *source);
        assert_eq!(
            (round.summary.win_centibet, events_hash(&round).as_str()),
            (*win, *hash),
            "{game} {mode} {source:?}"
        );
    }
}

#[test]
fn shipped_games_golden_rounds_are_unchanged() {
    // The golden rounds a shipped game's baseline.json records (see `sim::baseline`); no game is fine.
    let root = std::path::Path::new(super::load::GAMES_DIR);
    for id in super::load::list_games(root).unwrap_or_default() {
        let definition = super::load::load_game(root, &id).unwrap();
        let Some(baseline) = super::sim::baseline::read(&root.join(&id)).unwrap() else {
            continue;
        };
        for (mode, recorded) in &baseline.modes {
            if recorded.math_version != definition.math_version() {
                continue; // The baseline check reports that, by name.
            }
            let mode = definition.mode(mode).unwrap();
            let failures = super::sim::baseline::golden_failures(&definition, mode, &recorded.golden);
            assert!(failures.is_empty(), "{id}: {failures:?}");
        }
    }
}
