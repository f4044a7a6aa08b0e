//! Who may use the dashboard: one-time login links (a random token, stored
//! only as its SHA-256, used once, within 10 minutes), the session cookie
//! they set (HttpOnly, SameSite=Strict, Secure over https, 12 hours), and
//! the CSRF token every state-changing request must carry.

use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::archive::{Archive, Principal, Redeemed, Session};
use crate::tickets::StoreError;

/// How long a login link works.
pub const LINK_TTL: Duration = Duration::minutes(10);
/// How long a session lasts.
pub const SESSION_TTL: Duration = Duration::hours(12);
/// The session cookie's name.
pub const COOKIE: &str = "triage_session";

/// 32 random bytes from the operating system, as 64 hex digits.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    // The OS random source failing is unrecoverable for anything secure;
    // there is no weaker fallback on purpose.
    getrandom::getrandom(&mut b).expect("the operating system's random source works");
    hex(&b)
}

/// What the store keeps instead of a token.
pub fn hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Issues a one-time login link's token for `who`, valid from `now` for
/// ten minutes.
pub fn issue_login(
    archive: &dyn Archive,
    who: &Principal,
    now: OffsetDateTime,
) -> Result<String, StoreError> {
    let token = random_token();
    archive.create_login(&hash(&token), who, now, now + LINK_TTL)?;
    Ok(token)
}

/// The link for a token under the dashboard's public URL.
pub fn login_url(public_url: &str, token: &str) -> String {
    format!("{}/login/{token}", public_url.trim_end_matches('/'))
}

/// Redeems a link and opens a session: the cookie value and the session,
/// or why not.
pub fn log_in(
    archive: &dyn Archive,
    token: &str,
    now: OffsetDateTime,
) -> Result<Result<(String, Session), Redeemed>, StoreError> {
    // A token is 64 hex digits; anything else was never issued.
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(Err(Redeemed::Unknown));
    }
    match archive.redeem_login(&hash(token), now)? {
        Redeemed::Ok(principal) => {
            let id = random_token();
            let session = Session {
                principal,
                csrf: random_token(),
                expires_at: now + SESSION_TTL,
            };
            archive.create_session(&hash(&id), &session, now)?;
            Ok(Ok((id, session)))
        }
        other => Ok(Err(other)),
    }
}

/// The `Set-Cookie` value for a new session.
pub fn session_cookie(id: &str, secure: bool) -> String {
    format!(
        "{COOKIE}={id}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{}",
        SESSION_TTL.whole_seconds(),
        if secure { "; Secure" } else { "" }
    )
}

/// The cookie that ends a session in the browser.
pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The session id in a `Cookie` header, if any.
pub fn cookie_value(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// Compares a submitted CSRF token with the session's in constant time.
pub fn csrf_ok(session: &Session, submitted: Option<&str>) -> bool {
    let Some(s) = submitted else { return false };
    let (a, b) = (s.as_bytes(), session.csrf.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tickets::{SqliteStore, UserId};

    #[test]
    fn a_link_works_once_and_not_after_ten_minutes() {
        let store = SqliteStore::in_memory().unwrap();
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(1000);
        let who = Principal {
            user: UserId::new("42"),
            guild: Some("7".into()),
        };
        let token = issue_login(&store, &who, t0).unwrap();
        let (cookie, s) = log_in(&store, &token, t0 + Duration::minutes(9))
            .unwrap()
            .unwrap();
        assert_eq!(s.principal, who);
        assert_eq!(
            log_in(&store, &token, t0 + Duration::minutes(9)).unwrap(),
            Err(Redeemed::Used)
        );
        let late = issue_login(&store, &who, t0).unwrap();
        assert_eq!(
            log_in(&store, &late, t0 + LINK_TTL).unwrap(),
            Err(Redeemed::Expired)
        );
        assert_eq!(log_in(&store, "nope", t0).unwrap(), Err(Redeemed::Unknown));
        // The session lasts 12 hours, and only its hash is stored.
        let h = hash(&cookie);
        assert!(store
            .session(&h, t0 + Duration::hours(12))
            .unwrap()
            .is_some());
        assert!(store
            .session(&h, t0 + Duration::minutes(9) + SESSION_TTL)
            .unwrap()
            .is_none());
        assert!(store.session(&cookie, t0).unwrap().is_none());
        store.end_session(&h).unwrap();
        assert!(store
            .session(&h, t0 + Duration::hours(1))
            .unwrap()
            .is_none());
    }

    #[test]
    fn cookies_are_httponly_strict_and_secure_over_https() {
        let c = session_cookie("abc", true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure"));
        assert!(!session_cookie("abc", false).contains("Secure"));
        assert_eq!(cookie_value("a=1; triage_session=xyz; b=2"), Some("xyz"));
        assert_eq!(cookie_value("triage_session="), None);
    }
}
