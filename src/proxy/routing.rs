//! Which policy and purpose apply to a request: the calling app (recognised by the SHA-256 of
//! the API key it sends, never by a header it could choose) and the `[[route]]` rules of the
//! server config, first match wins, else `server.policy`.
//!
//! Owns: [`Apps`], [`RouteTable`] and [`route_problems`] (the checks `serve`, reload and
//! `privgate check` share: every route names a loaded policy, the purpose is one the policy
//! permits, and the policy permits the transfer to every upstream the route can reach).

use http::HeaderMap;
use sha2::{Digest, Sha256};

use crate::config::{Config, RouteSection, Upstream};
use crate::policy::{CompiledPolicy, PolicySet};

/// The configured apps, by API-key digest.
#[derive(Debug, Clone, Default)]
pub struct Apps {
    keys: Vec<([u8; 32], String)>,
}

impl Apps {
    /// From `[[app]]` (hashes were validated with the config).
    pub fn new(config: &Config) -> Apps {
        let mut keys = Vec::new();
        for app in &config.apps {
            for h in &app.api_key_sha256 {
                if let Ok(Ok(d)) = hex::decode(h).map(<[u8; 32]>::try_from) {
                    keys.push((d, app.name.clone()));
                }
            }
        }
        Apps { keys }
    }

    /// The app whose API key the request carries (`Authorization: Bearer`, `x-api-key` or
    /// `x-goog-api-key`), if any. Costs one SHA-256 per request, and nothing when no app is
    /// configured.
    pub fn identify(&self, headers: &HeaderMap) -> Option<&str> {
        if self.keys.is_empty() {
            return None;
        }
        let key = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()))
            .or_else(|| headers.get("x-goog-api-key").and_then(|v| v.to_str().ok()))?;
        let digest: [u8; 32] = Sha256::digest(key.trim().as_bytes()).into();
        // Constant-time per entry, so timing tells nothing about how close a guess came.
        self.keys
            .iter()
            .find(|(d, _)| constant_time_eq(d, &digest))
            .map(|(_, name)| name.as_str())
    }
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The `[[route]]` rules and the fallback policy id.
#[derive(Debug, Clone)]
pub struct RouteTable {
    rules: Vec<RouteSection>,
    fallback: String,
}

/// What applies to one request.
#[derive(Debug, Clone)]
pub struct Selected<'t> {
    /// The policy id.
    pub policy_id: &'t str,
    /// The route's fixed purpose, if it has one.
    pub purpose: Option<&'t str>,
    /// The index of the matching `[[route]]`, `None` for the fallback.
    pub rule: Option<usize>,
}

impl RouteTable {
    /// From the config; `fallback` is the policy for paths no rule covers.
    pub fn new(config: &Config, fallback: &str) -> RouteTable {
        RouteTable {
            rules: config.routes.clone(),
            fallback: fallback.to_string(),
        }
    }

    /// The first rule covering `path` from `app`, else the fallback policy.
    pub fn select(&self, path: &str, app: Option<&str>) -> Selected<'_> {
        for (i, r) in self.rules.iter().enumerate() {
            if r.matches(path, app) {
                return Selected {
                    policy_id: r.policy.as_deref().unwrap_or(&self.fallback),
                    purpose: r.purpose.as_deref(),
                    rule: Some(i),
                };
            }
        }
        Selected {
            policy_id: &self.fallback,
            purpose: None,
            rule: None,
        }
    }

    /// Every policy id some request can get.
    pub fn policy_ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.fallback.as_str()).chain(
            self.rules
                .iter()
                .map(|r| r.policy.as_deref().unwrap_or(&self.fallback)),
        )
    }
}

/// The upstreams a path prefix can reach: `(config key, upstream)` for every provider endpoint
/// and generic route under it.
fn upstreams_under<'c>(config: &'c Config, prefix: &str) -> Vec<(String, &'c Upstream)> {
    let u = &config.upstreams;
    let mut out = Vec::new();
    for (provider, upstream) in [
        (crate::providers::Provider::OpenAi, &u.openai),
        (crate::providers::Provider::Anthropic, &u.anthropic),
        (crate::providers::Provider::Gemini, &u.gemini),
        (crate::providers::Provider::Ollama, &u.ollama),
    ] {
        let reachable = crate::providers::path_templates(provider)
            .iter()
            .any(|t| prefix == "/" || t.starts_with(prefix) || prefix.starts_with(t));
        if reachable {
            out.push((format!("upstreams.{}", provider.as_str()), upstream));
        }
    }
    for (i, g) in config.generic.iter().enumerate() {
        if prefix == "/" || g.path.starts_with(prefix) || prefix.starts_with(&g.path) {
            out.push((format!("generic[{i}].upstream"), &g.upstream));
        }
    }
    out
}

fn transfer_problems(
    config: &Config,
    key: &str,
    prefix: &str,
    policy: &CompiledPolicy,
    out: &mut Vec<String>,
) {
    for (name, up) in upstreams_under(config, prefix) {
        if let Some(why) =
            policy.transfer_refusal(up.region.as_deref(), up.transfer_basis.as_deref())
        {
            out.push(format!(
                "{key}: policy {} forbids the transfer to {name} ({}): {why}",
                policy.id, up.url
            ));
        }
    }
}

/// Everything wrong between the config's routes and the loaded policies, one line each naming
/// the config key: unknown policies, purposes a policy does not permit, and (with `transfers`)
/// transfers a policy forbids (`server.policy` is checked against every upstream). `serve` and
/// reload refuse the first two; forbidden transfers are refused per request at run time.
pub fn route_problems(config: &Config, set: &PolicySet, transfers: bool) -> Vec<String> {
    let mut out = Vec::new();
    match set.get(&config.server.policy) {
        None => out.push(format!(
            "server.policy: policy {:?} not found (loaded: {})",
            config.server.policy,
            set.ids().join(", ")
        )),
        Some(p) if transfers => transfer_problems(config, "server.policy", "/", &p, &mut out),
        Some(_) => {}
    }
    for (i, r) in config.routes.iter().enumerate() {
        let id = r.policy.as_deref().unwrap_or(&config.server.policy);
        let Some(p) = set.get(id) else {
            out.push(format!(
                "route[{i}].policy: policy {id:?} not found (loaded: {})",
                set.ids().join(", ")
            ));
            continue;
        };
        if let Some(purpose) = &r.purpose {
            if !p.processing.permits_purpose(purpose) {
                out.push(format!(
                    "route[{i}].purpose: policy {} does not permit purpose {purpose:?} (it permits: {})",
                    p.id,
                    p.processing.purposes.join(", ")
                ));
            }
        }
        if transfers {
            transfer_problems(config, &format!("route[{i}]"), &r.path, &p, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        Config::parse("t.toml", text).unwrap()
    }

    #[test]
    fn first_matching_rule_wins_and_apps_are_known_by_key_hash() {
        let key_hash = hex::encode(Sha256::digest(b"sk-widget"));
        let c = config(&format!(
            r#"
[[app]]
name = "widget"
api_key_sha256 = ["{key_hash}"]
[[route]]
path = "/v1/chat/completions"
app = "widget"
policy = "strict"
purpose = "support"
[[route]]
path = "/v1/messages"
policy = "monitor"
"#
        ));
        let apps = Apps::new(&c);
        let table = RouteTable::new(&c, "gdpr-default");
        let mut h = HeaderMap::new();
        h.insert("authorization", "Bearer sk-widget".parse().unwrap());
        assert_eq!(apps.identify(&h), Some("widget"));
        let s = table.select("/v1/chat/completions", apps.identify(&h));
        assert_eq!((s.policy_id, s.purpose), ("strict", Some("support")));
        // Another key: not the app, so the app-only rule does not apply.
        h.insert("authorization", "Bearer sk-other".parse().unwrap());
        assert_eq!(apps.identify(&h), None);
        assert_eq!(
            table.select("/v1/chat/completions", None).policy_id,
            "gdpr-default"
        );
        assert_eq!(table.select("/v1/messages", None).policy_id, "monitor");
        // A prefix covers paths below it only at a segment boundary.
        assert_eq!(
            table.select("/v1/messagesX", None).policy_id,
            "gdpr-default"
        );
        let mut a = HeaderMap::new();
        a.insert("x-api-key", "sk-widget".parse().unwrap());
        assert_eq!(apps.identify(&a), Some("widget"));
    }

    #[test]
    fn route_problems_name_the_key() {
        let c = config(
            r#"
[upstreams.anthropic]
url = "https://api.anthropic.com"
region = "us"
transfer_basis = "none"
[[route]]
path = "/v1/messages"
policy = "nope"
[[route]]
path = "/v1/"
purpose = "marketing"
"#,
        );
        let mut set = PolicySet::embedded();
        set.insert(
            crate::policy::compile(
                "eu.toml",
                "id = \"gdpr-default\"\nversion = \"1\"\n[transfers]\nallowed_regions = [\"eu\"]\n[processing]\npurposes = [\"support\"]\n",
            )
            .unwrap(),
        );
        let problems = route_problems(&c, &set, true);
        assert_eq!(route_problems(&c, &set, false).len(), 2);
        let text = problems.join("\n");
        assert!(
            text.contains("route[0].policy: policy \"nope\" not found"),
            "{text}"
        );
        assert!(
            text.contains(
                "route[1].purpose: policy gdpr-default does not permit purpose \"marketing\""
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "route[1]: policy gdpr-default forbids the transfer to upstreams.anthropic"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "server.policy: policy gdpr-default forbids the transfer to upstreams.openai"
            ),
            "{text}"
        );
    }
}
