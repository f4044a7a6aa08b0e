//! Choosing the store from a `--db` value: `postgres://…` or
//! `postgresql://…` opens the shared PostgreSQL store, anything else (a
//! path, `sqlite://path`) the embedded SQLite file. Also how a target is
//! shown in logs and errors: with any password in it replaced by `***`.

use std::path::Path;
use std::sync::Arc;

use super::{PgStore, SqliteStore, Store, StoreError};

/// Which backend a `--db` value names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbTarget<'a> {
    /// A PostgreSQL server URL (kept whole; it may hold a password).
    Postgres(&'a str),
    /// An SQLite file (a path, or a `sqlite://` URL of one).
    Sqlite(&'a Path),
}

impl<'a> DbTarget<'a> {
    pub fn parse(given: &'a Path) -> Self {
        match given.to_str() {
            Some(s) if s.starts_with("postgres://") || s.starts_with("postgresql://") => {
                DbTarget::Postgres(s)
            }
            _ => DbTarget::Sqlite(given),
        }
    }
}

/// Opens the store `given` names and brings its schema up to date.
pub fn open(given: &Path) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match DbTarget::parse(given) {
        DbTarget::Postgres(url) => Arc::new(PgStore::connect(url)?),
        DbTarget::Sqlite(path) => Arc::new(SqliteStore::open(path)?),
    })
}

/// `given` as it may be logged: the password of a URL replaced by `***`.
pub fn redact_target(given: &str) -> String {
    let Some((scheme, rest)) = given.split_once("://") else {
        return given.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    // A `password=` query parameter is a password too.
    let tail = redact_query_password(tail);
    format!("{scheme}://{authority}{tail}")
}

fn redact_query_password(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else {
        return tail.to_owned();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some(("password", _)) => "password=***".to_owned(),
            _ => kv.to_owned(),
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_postgres_and_paths_pick_sqlite() {
        assert_eq!(
            DbTarget::parse(Path::new("postgres://u@h/db")),
            DbTarget::Postgres("postgres://u@h/db")
        );
        assert_eq!(
            DbTarget::parse(Path::new("postgresql://u@h/db")),
            DbTarget::Postgres("postgresql://u@h/db")
        );
        assert!(matches!(
            DbTarget::parse(Path::new("sqlite:///tmp/x.db")),
            DbTarget::Sqlite(_)
        ));
        assert!(matches!(
            DbTarget::parse(Path::new("triage.db")),
            DbTarget::Sqlite(_)
        ));
    }

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact_target("postgres://triage:s3cret@db:5432/triage?pool_size=4"),
            "postgres://triage:***@db:5432/triage?pool_size=4"
        );
        assert_eq!(
            redact_target("postgres://db/triage?user=t&password=s3cret"),
            "postgres://db/triage?user=t&password=***"
        );
        assert_eq!(
            redact_target("postgres://t@db/triage?password=s3cret"),
            "postgres://t@db/triage?password=***"
        );
        assert_eq!(redact_target("triage.db"), "triage.db");
    }
}
