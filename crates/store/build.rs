//! `sqlx::migrate!` embeds the migration files at compile time; without this, editing a
//! migration would not trigger a rebuild and the binary would carry the stale SQL.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
