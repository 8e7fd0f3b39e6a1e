//! `sqlx::migrate!` embeds `migrations/` at compile time; without this, adding a migration and nothing
//! else leaves a build that does not know it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
