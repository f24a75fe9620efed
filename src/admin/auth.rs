//! Admin authentication and authorisation (RELIABILITY D6, H1–H3): bearer tokens stored as
//! SHA-256 digests and compared in constant time, roles with default deny, and a per-peer limit on
//! failed attempts.
//!
//! Owns: [`AdminToken`] (the secret, never printed), [`TokenDigest`], [`Authenticator`],
//! [`FailureLimiter`]. Which route needs which role is decided in the parent module's route table.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::config::{AdminRole, AdminSection};

/// The prefix of generated tokens, so secret scanners can recognise them.
pub const TOKEN_PREFIX: &str = "pgat_";

/// Longest `Authorization` value considered; longer ones are malformed.
const MAX_TOKEN_LEN: usize = 512;

/// An admin token in clear (presented by a client or freshly generated). `Debug` prints
/// `*****`; the bytes are zeroed on drop. There is deliberately no `PartialEq`: tokens are
/// compared only as digests, in constant time ([`TokenDigest::ct_eq`]).
pub struct AdminToken(Zeroizing<String>);

impl AdminToken {
    /// Wraps a token string.
    pub fn new(token: String) -> AdminToken {
        AdminToken(Zeroizing::new(token))
    }

    /// A fresh random token: 32 bytes from the OS RNG, hex, with [`TOKEN_PREFIX`].
    pub fn generate() -> AdminToken {
        use rand::RngCore;
        let mut b = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(&mut b[..]);
        AdminToken::new(format!("{TOKEN_PREFIX}{}", hex::encode(&b[..])))
    }

    /// The token text, to send it or to show it once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its SHA-256 digest, as stored in config.
    pub fn digest(&self) -> TokenDigest {
        TokenDigest(Sha256::digest(self.0.as_bytes()).into())
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(*****)")
    }
}

/// The SHA-256 of a token. Fixed length, so comparing digests leaks no length; compared only with
/// [`TokenDigest::ct_eq`].
#[derive(Clone, Copy)]
pub struct TokenDigest([u8; 32]);

impl TokenDigest {
    /// Parses 64 hex characters.
    pub fn from_hex(s: &str) -> Option<TokenDigest> {
        let b = hex::decode(s.trim()).ok()?;
        Some(TokenDigest(<[u8; 32]>::try_from(b).ok()?))
    }

    /// The digest as hex (for the config line).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Constant-time equality (`subtle::ConstantTimeEq` over `[u8; 32]`).
    pub fn ct_eq(&self, other: &TokenDigest) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenDigest(..)")
    }
}

/// An authenticated caller: the token's configured name and roles.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The token's name; the principal of the audit events its actions leave.
    pub name: String,
    /// Its roles.
    pub roles: Vec<AdminRole>,
}

impl Principal {
    /// Whether this principal may use a route that needs `role` (`admin` may use every route).
    pub fn may(&self, role: AdminRole) -> bool {
        self.roles.contains(&AdminRole::Admin) || self.roles.contains(&role)
    }
}

/// Why an authentication failed. All of them answer 401; the reason is only a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `Authorization` header.
    Missing,
    /// Not `Bearer <token>`, or an implausible token.
    Malformed,
    /// A well-formed token that matches no configured digest.
    Wrong,
    /// A configured token past its `expires` time.
    Expired,
}

impl AuthFailure {
    /// The metric label.
    pub fn reason(self) -> &'static str {
        match self {
            AuthFailure::Missing => "missing",
            AuthFailure::Malformed => "malformed",
            AuthFailure::Wrong => "wrong",
            AuthFailure::Expired => "expired",
        }
    }
}

/// The configured tokens, as digests.
#[derive(Debug)]
pub struct Authenticator {
    tokens: Vec<(TokenDigest, Principal, Option<u64>)>,
}

impl Authenticator {
    /// From the (validated) `[admin]` section; entries with an unparsable digest are skipped
    /// (validation already reported them).
    pub fn from_config(admin: &AdminSection) -> Authenticator {
        Authenticator {
            tokens: admin
                .tokens
                .iter()
                .filter_map(|t| {
                    // An unparsable time was reported by validation; fail closed anyway.
                    let expires = t
                        .expires
                        .as_deref()
                        .map(|e| crate::audit::cli::parse_time(e).unwrap_or(0));
                    Some((
                        TokenDigest::from_hex(&t.sha256)?,
                        Principal {
                            name: t.name.clone(),
                            roles: t.roles.clone(),
                        },
                        expires,
                    ))
                })
                .collect(),
        }
    }

    /// Checks an `Authorization` header value. Every configured digest is compared (no early
    /// exit), each comparison in constant time.
    pub fn authenticate(&self, header: Option<&[u8]>) -> Result<Principal, AuthFailure> {
        let raw = header.ok_or(AuthFailure::Missing)?;
        let text = std::str::from_utf8(raw).map_err(|_| AuthFailure::Malformed)?;
        let (scheme, token) = text.split_once(' ').ok_or(AuthFailure::Malformed)?;
        let token = token.trim();
        if !scheme.eq_ignore_ascii_case("bearer")
            || token.is_empty()
            || token.len() > MAX_TOKEN_LEN
            || !token.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(AuthFailure::Malformed);
        }
        let presented = AdminToken::new(token.to_string()).digest();
        let mut found = None;
        for (digest, principal, expires) in &self.tokens {
            if digest.ct_eq(&presented) {
                found = Some((principal, *expires));
            }
        }
        let (principal, expires) = found.ok_or(AuthFailure::Wrong)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(u64::MAX, |d| d.as_millis() as u64);
        if expires.is_some_and(|e| now >= e) {
            return Err(AuthFailure::Expired);
        }
        Ok(principal.clone())
    }
}

/// Counts failed authentications per peer IP in fixed one-minute windows; a peer that reached the
/// limit gets 429 for the rest of its window, whatever it presents.
#[derive(Debug)]
pub struct FailureLimiter {
    max: u32,
    window: Duration,
    peers: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

/// Above this many tracked peers, expired windows are dropped on the next failure.
const MAX_TRACKED_PEERS: usize = 4096;

impl FailureLimiter {
    /// `max` failures per `window` per peer.
    pub fn new(max: u32, window: Duration) -> FailureLimiter {
        FailureLimiter {
            max,
            window,
            peers: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `ip` is over its limit now.
    pub fn blocked(&self, ip: IpAddr) -> bool {
        let peers = self.peers.lock().unwrap_or_else(|p| p.into_inner());
        peers
            .get(&ip)
            .is_some_and(|(start, n)| start.elapsed() < self.window && *n >= self.max)
    }

    /// Counts one failure from `ip`.
    pub fn record_failure(&self, ip: IpAddr) {
        let mut peers = self.peers.lock().unwrap_or_else(|p| p.into_inner());
        if peers.len() > MAX_TRACKED_PEERS {
            let window = self.window;
            peers.retain(|_, (start, _)| start.elapsed() < window);
        }
        let e = peers.entry(ip).or_insert((Instant::now(), 0));
        if e.0.elapsed() >= self.window {
            *e = (Instant::now(), 0);
        }
        e.1 = e.1.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AdminTokenEntry;

    fn auth(token: &AdminToken, roles: Vec<AdminRole>) -> Authenticator {
        Authenticator::from_config(&AdminSection {
            tokens: vec![AdminTokenEntry {
                name: "officer-1".into(),
                sha256: token.digest().to_hex(),
                roles,
                expires: None,
            }],
            ..AdminSection::default()
        })
    }

    /// H2 (T0): digests are `[u8; 32]` compared with `subtle::ConstantTimeEq`.
    #[test]
    fn digests_compare_in_constant_time_over_32_bytes() {
        let t = AdminToken::generate();
        let d: [u8; 32] = t.digest().0;
        assert!(bool::from(d.ct_eq(&t.digest().0)));
        assert!(t
            .digest()
            .ct_eq(&TokenDigest::from_hex(&t.digest().to_hex()).unwrap()));
        assert!(!t.digest().ct_eq(&AdminToken::generate().digest()));
    }

    #[test]
    fn tokens_never_print() {
        let t = AdminToken::generate();
        assert!(t.expose().starts_with(TOKEN_PREFIX) && t.expose().len() == 5 + 64);
        assert!(!format!("{t:?}").contains(&t.expose()[5..]));
        assert!(!format!("{:?}", t.digest()).contains(&t.digest().to_hex()));
    }

    #[test]
    fn bearer_tokens_authenticate() {
        let t = AdminToken::generate();
        let a = auth(&t, vec![AdminRole::Officer]);
        let ok = a
            .authenticate(Some(format!("Bearer {}", t.expose()).as_bytes()))
            .unwrap();
        assert_eq!(ok.name, "officer-1");
        assert!(ok.may(AdminRole::Officer) && !ok.may(AdminRole::Ops));
        assert_eq!(a.authenticate(None).unwrap_err(), AuthFailure::Missing);
        for bad in [
            "Basic abc",
            "Bearer",
            "Bearer ",
            "Bearer a b\u{7f}",
            "token",
        ] {
            assert_eq!(
                a.authenticate(Some(bad.as_bytes())).unwrap_err(),
                AuthFailure::Malformed,
                "{bad}"
            );
        }
        assert_eq!(
            a.authenticate(Some(b"Bearer pgat_wrong")).unwrap_err(),
            AuthFailure::Wrong
        );
    }

    #[test]
    fn the_limiter_blocks_after_max_failures_per_window() {
        let l = FailureLimiter::new(3, Duration::from_millis(200));
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..3 {
            assert!(!l.blocked(ip));
            l.record_failure(ip);
        }
        assert!(l.blocked(ip));
        assert!(!l.blocked("127.0.0.2".parse().unwrap()));
        std::thread::sleep(Duration::from_millis(250));
        assert!(!l.blocked(ip));
    }
}
