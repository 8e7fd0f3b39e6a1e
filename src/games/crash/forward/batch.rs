//! Gathering a room's bets into batches for the leader, and handing each bet its own answer back.

use crate::games::crash::room::{PlaceBet, PlacedBet};
use crate::games::crash::GameError;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How bets are gathered into one call to the leader.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    /// A batch takes the bets that arrive this long after its first one...
    pub window: Duration,
    /// ...up to this many.
    pub bets_max: usize,
}

/// A bet waiting to be forwarded, with the way back to the player's request.
pub(super) struct QueuedBet {
    pub(super) bet: PlaceBet,
    pub(super) reply: oneshot::Sender<Result<PlacedBet, GameError>>,
}

/// Waits for a first bet, then takes whatever else arrives within the window after it, up to the batch
/// maximum. False once the queue is closed and empty.
pub(super) async fn collect_batch<T>(waiting: &mut mpsc::Receiver<T>, batch: &mut Vec<T>, limits: BatchLimits) -> bool {
    if waiting.recv_many(batch, limits.bets_max).await == 0 {
        return false;
    }
    let deadline = tokio::time::Instant::now() + limits.window;
    while batch.len() < limits.bets_max {
        let room_left = limits.bets_max - batch.len();
        match tokio::time::timeout_at(deadline, waiting.recv_many(batch, room_left)).await {
            Ok(received) if received > 0 => {}
            _ => break,
        }
    }
    true
}

/// Gives every waiting bet its answer: its own when the batch was answered, else the batch's error.
pub(super) fn answer_each(
    replies: Vec<oneshot::Sender<Result<PlacedBet, GameError>>>,
    outcome: Result<Vec<Result<PlacedBet, GameError>>, GameError>,
) {
    match outcome {
        Ok(answers) if answers.len() == replies.len() => {
            for (reply, answer) in replies.into_iter().zip(answers) {
                // A player who stopped waiting (a closed socket) needs no answer.
                let _ = reply.send(answer);
            }
        }
        Ok(answers) => {
            // A leader that answered a different number of bets broke the protocol; what it decided is
            // unknown, and each player's retry with the same client_bet_id finds out.
            tracing::error!(
                bets = replies.len(),
                answers = answers.len(),
                "the leader's answers do not match the batch"
            );
            for reply in replies {
                let _ = reply.send(Err(GameError::OutcomeUnknown));
            }
        }
        Err(error) => {
            for reply in replies {
                let _ = reply.send(Err(error.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::games::crash::forward::{BetAnswer, BetAnswers};
    use crate::games::crash::{BetStatus, BetView};
    use std::time::Instant;
    use uuid::Uuid;

    fn limits(window_ms: u64, bets_max: usize) -> BatchLimits {
        BatchLimits {
            window: Duration::from_millis(window_ms),
            bets_max,
        }
    }

    fn placed(client_bet_id: &str) -> PlacedBet {
        PlacedBet {
            bet: BetView {
                bet_id: Uuid::now_v7(),
                round_id: 7,
                room: "aviator".into(),
                client_bet_id: client_bet_id.into(),
                amount: 1_000_000,
                auto_cashout: None,
                status: BetStatus::Open,
                cashout_multiplier: None,
                payout: None,
            },
            balance: Some(9_000_000),
            replayed: false,
        }
    }

    /// A batch stops at its maximum; what is left over starts the next batch.
    #[tokio::test]
    async fn a_batch_takes_at_most_its_maximum() {
        let (queue, mut waiting) = mpsc::channel(16);
        for bet in 0..5 {
            queue.send(bet).await.unwrap();
        }
        let mut batch = Vec::new();
        let started = Instant::now();
        assert!(collect_batch(&mut waiting, &mut batch, limits(10_000, 3)).await);
        assert_eq!(batch, vec![0, 1, 2]);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "a full batch does not wait out its window"
        );
        batch.clear();
        drop(queue);
        assert!(collect_batch(&mut waiting, &mut batch, limits(0, 3)).await);
        assert_eq!(batch, vec![3, 4]);
        batch.clear();
        assert!(
            !collect_batch(&mut waiting, &mut batch, limits(0, 3)).await,
            "closed and empty"
        );
    }

    /// A bet that arrives within the window joins the batch; with no window only the waiting bets go.
    #[tokio::test]
    async fn the_window_gathers_late_bets() {
        let (queue, mut waiting) = mpsc::channel(16);
        queue.send(1).await.unwrap();
        let late = queue.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            late.send(2).await.unwrap();
        });
        let mut batch = Vec::new();
        assert!(collect_batch(&mut waiting, &mut batch, limits(500, 8)).await);
        assert_eq!(batch, vec![1, 2]);

        queue.send(3).await.unwrap();
        let mut batch = Vec::new();
        assert!(collect_batch(&mut waiting, &mut batch, limits(0, 8)).await);
        assert_eq!(batch, vec![3], "without a window a batch takes only what is waiting");
    }

    type Answer = Result<PlacedBet, GameError>;

    fn waiters(count: usize) -> (Vec<oneshot::Sender<Answer>>, Vec<oneshot::Receiver<Answer>>) {
        (0..count).map(|_| oneshot::channel()).unzip()
    }

    /// Each waiting bet receives its own answer, in the batch's order.
    #[test]
    fn answers_go_to_their_own_waiters() {
        let (replies, mut answers) = waiters(3);
        let outcome = vec![Ok(placed("a")), Err(GameError::BettingClosed), Ok(placed("c"))];
        answer_each(replies, Ok(outcome));
        assert_eq!(answers[0].try_recv().unwrap().unwrap().bet.client_bet_id, "a");
        assert_eq!(answers[1].try_recv().unwrap().unwrap_err(), GameError::BettingClosed);
        assert_eq!(answers[2].try_recv().unwrap().unwrap().bet.client_bet_id, "c");
    }

    /// A failed call fails every bet of the batch with the call's code; an answer of the wrong length
    /// leaves every bet's fate unknown.
    #[test]
    fn a_failed_batch_fails_every_bet_with_its_code() {
        let (replies, answers) = waiters(3);
        answer_each(replies, Err(GameError::OutcomeUnknown));
        for mut answer in answers {
            assert_eq!(answer.try_recv().unwrap().unwrap_err().code(), "outcome_unknown");
        }
        let (replies, answers) = waiters(2);
        answer_each(replies, Err(GameError::RoomUnavailable));
        for mut answer in answers {
            assert_eq!(answer.try_recv().unwrap().unwrap_err().code(), "room_unavailable");
        }
        let (replies, answers) = waiters(2);
        answer_each(replies, Ok(vec![Ok(placed("only one"))]));
        for mut answer in answers {
            assert_eq!(answer.try_recv().unwrap().unwrap_err(), GameError::OutcomeUnknown);
        }
    }

    /// Through the wire a refused bet keeps its status and code; an unknown code becomes internal_error.
    #[test]
    fn refusals_keep_their_codes_over_the_wire() {
        let answers = BetAnswers {
            answers: vec![
                BetAnswer::from(Ok(placed("a"))),
                BetAnswer::from(Err(GameError::TooManyBets(3))),
                BetAnswer::Refused {
                    status: 500,
                    code: "something_new".into(),
                    message: "?".into(),
                },
            ],
        };
        let wire: BetAnswers = serde_json::from_slice(&serde_json::to_vec(&answers).unwrap()).unwrap();
        let outcomes: Vec<Result<PlacedBet, GameError>> = wire.into();
        assert_eq!(outcomes[0].as_ref().unwrap().bet.client_bet_id, "a");
        let refused = outcomes[1].as_ref().unwrap_err();
        assert_eq!((refused.code(), refused.status().as_u16()), ("too_many_bets", 409));
        assert_eq!(outcomes[2].as_ref().unwrap_err().code(), "internal_error");
    }
}
