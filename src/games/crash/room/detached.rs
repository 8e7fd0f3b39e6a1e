//! Work that the round actor starts and finishes, run off its context.
//!
//! actix polls every future spawned into an actor's context each time the actor wakes, so a room with
//! thousands of stakes or cashouts in flight spent thousands of polls on every message and every
//! completion (quadratic in a burst). Such work runs on its own task instead, and its result comes back
//! to the room as a message that finishes it.

use super::CrashRoom;
use actix::prelude::*;
use futures_util::FutureExt;
use std::future::Future;

/// The rest of a detached piece of work, run in the room with its result.
type Continuation = Box<dyn FnOnce(&mut CrashRoom, &mut Context<CrashRoom>) + Send>;

#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct Resume(Continuation);

impl Handler<Resume> for CrashRoom {
    type Result = ();

    fn handle(&mut self, Resume(continuation): Resume, ctx: &mut Context<Self>) {
        continuation(self, ctx);
    }
}

impl CrashRoom {
    /// Runs `work` on its own task and then `finish` in the room with its output. If the room has stopped
    /// by then (its leadership ended), the work still completes and `finish` is skipped: recovery by the
    /// next leader settles what the room left open.
    pub(super) fn detach<T, W, F>(&self, ctx: &Context<Self>, work: W, finish: F)
    where
        T: Send + 'static,
        W: Future<Output = T> + 'static,
        F: FnOnce(&mut CrashRoom, T, &mut Context<CrashRoom>) + Send + 'static,
    {
        let room = ctx.address();
        // A combinator, not an `async` block: a block that awaits a future it captured keeps two copies of
        // it (the capture and the awaited one), which doubled every stake's task to 5.6 KiB.
        actix::spawn(work.map(move |output| {
            room.do_send(Resume(Box::new(move |room, ctx| finish(room, output, ctx))));
        }));
    }
}
