//! A wallet batch whose COMMIT reached Postgres but whose answer never came back (the connection died
//! during COMMIT, as when the primary dies under it) is resolved by its idempotency keys once the ledger
//! is reachable again: the caller is answered with the stored outcome, the money moved exactly once,
//! never twice and never not at all. A TCP proxy between the wallet and the real Postgres cuts the
//! connection right after forwarding the COMMIT and then refuses connections for a while, like a primary
//! that died and a failover that takes time.

use crate::helpers::spawn_app;
use game_cluster::configuration::DatabaseSettings;
use game_cluster::db::Database;
use game_cluster::money::{Amount, Currency};
use game_cluster::wallet::ledger::{AccountId, IdempotencyKey, TransferKind, TransferRequest};
use game_cluster::wallet::Wallet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long the proxy refuses connections after it cut one: the "failover".
const OUTAGE: Duration = Duration::from_secs(3);

struct ProxyState {
    /// Cut the next connection that sends a COMMIT, after Postgres has answered it.
    armed: AtomicBool,
    cuts: AtomicUsize,
    refuse_until: Mutex<Option<Instant>>,
    /// Bumped at a cut: every open connection is closed too, as when the primary dies (the pool may
    /// hold other connections).
    outages: tokio::sync::watch::Sender<u64>,
}

impl Default for ProxyState {
    fn default() -> ProxyState {
        ProxyState {
            armed: AtomicBool::new(false),
            cuts: AtomicUsize::new(0),
            refuse_until: Mutex::new(None),
            outages: tokio::sync::watch::channel(0).0,
        }
    }
}

impl ProxyState {
    fn refusing(&self) -> bool {
        self.refuse_until
            .lock()
            .expect("not poisoned")
            .is_some_and(|until| Instant::now() < until)
    }

    fn cut(&self) {
        self.cuts.fetch_add(1, Ordering::SeqCst);
        *self.refuse_until.lock().expect("not poisoned") = Some(Instant::now() + OUTAGE);
        self.outages.send_modify(|count| *count += 1);
    }
}

/// Starts the proxy in front of `upstream` and returns its port.
async fn start_proxy(upstream: &DatabaseSettings, state: Arc<ProxyState>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let port = listener.local_addr().expect("an address").port();
    let upstream = format!("{}:{}", upstream.host, upstream.port);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(relay(client, upstream.clone(), state.clone()));
        }
    });
    port
}

/// sqlx sends COMMIT as a simple query: the statement's text ends with a NUL.
fn sends_commit(bytes: &[u8]) -> bool {
    bytes.windows(7).any(|window| window == b"COMMIT\0")
}

async fn relay(mut client: TcpStream, upstream: String, state: Arc<ProxyState>) {
    let mut outages = state.outages.subscribe();
    if state.refusing() {
        return;
    }
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.split();
    let (mut server_read, mut server_write) = server.split();
    let (mut from_client, mut from_server) = (vec![0u8; 65_536], vec![0u8; 65_536]);
    let mut commit_forwarded = false;
    loop {
        tokio::select! {
            _ = outages.changed() => return,
            read = client_read.read(&mut from_client) => {
                let n = match read { Ok(0) | Err(_) => return, Ok(n) => n };
                if sends_commit(&from_client[..n]) && state.armed.swap(false, Ordering::SeqCst) {
                    commit_forwarded = true;
                }
                if server_write.write_all(&from_client[..n]).await.is_err() {
                    return;
                }
            }
            read = server_read.read(&mut from_server) => {
                let n = match read { Ok(0) | Err(_) => return, Ok(n) => n };
                if commit_forwarded {
                    // Postgres answered the COMMIT, so it is durable; the wallet never hears it.
                    state.cut();
                    return;
                }
                if client_write.write_all(&from_server[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

#[actix_web::test]
async fn a_batch_whose_commit_answer_was_lost_is_resolved_by_its_keys_after_the_outage() {
    let app = spawn_app().await;
    let funded = 5_000_000;
    let player = AccountId(app.signup_funded("lost-commit", funded).await.account);
    let state = Arc::new(ProxyState::default());
    let mut settings = app.settings.clone();
    settings.database.port = start_proxy(&settings.database, state.clone()).await;
    settings.database.host = "127.0.0.1".into();
    settings.database.replica_host = None;
    let wallet = Wallet::start(
        &Database::connect_lazy(&settings.database),
        &settings.wallet,
        Currency::parse(&settings.wallet.currency).expect("a currency"),
    )
    .await
    .expect("the wallet starts through the proxy");

    state.armed.store(true, Ordering::SeqCst);
    let stake = 1_250_000;
    let started = Instant::now();
    let receipt = wallet
        .transfer(TransferRequest {
            key: IdempotencyKey::parse("lost-commit-stake").expect("a key"),
            debit: player,
            credit: wallet.house_for(player),
            amount: Amount::parse(stake).expect("an amount"),
            kind: TransferKind::Bet,
            reference: "test".into(),
            settles: None,
        })
        .await
        .expect("the transfer is answered once the ledger is back");

    assert_eq!(state.cuts.load(Ordering::SeqCst), 1, "the COMMIT's answer was cut once");
    assert!(
        started.elapsed() >= OUTAGE,
        "the batch waited out the outage ({:?})",
        started.elapsed()
    );
    assert!(receipt.replayed, "the retry found the committed transfer by its key");
    let posted: i64 = sqlx::query_scalar("SELECT count(*) FROM transfers WHERE idempotency_key = 'lost-commit-stake'")
        .fetch_one(&app.pool)
        .await
        .expect("the transfers load");
    assert_eq!(posted, 1, "stored exactly once");
    let balance: i64 = sqlx::query_scalar("SELECT balance FROM accounts WHERE id = $1")
        .bind(player.0)
        .fetch_one(&app.pool)
        .await
        .expect("the balance loads");
    assert_eq!(balance, funded - stake, "the stake was taken exactly once");
    assert!(app.audit_ok().await);
}
