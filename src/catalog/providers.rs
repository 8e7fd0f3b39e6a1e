//! Providers as operators manage them: what a new provider or a change must look like, and the rows as
//! the admin API lists them. A provider's secret and public key are written here and never read back out
//! (listings say only whether one is set).

use super::{Protocol, HOUSE_PROVIDER};
use crate::money::Currency;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

pub const PROVIDER_ID_LENGTH: std::ops::RangeInclusive<usize> = 2..=32;
pub const PROVIDER_NAME_LENGTH_MAX: usize = 100;
/// A generic provider's HMAC secret: long enough to resist guessing, short enough to store.
pub const SECRET_LENGTH: std::ops::RangeInclusive<usize> = 16..=8_192;
pub const PUBLIC_KEY_LENGTH: std::ops::RangeInclusive<usize> = 64..=8_192;
pub const PUBLIC_KEY_PEM_HEADER: &str = "-----BEGIN PUBLIC KEY-----";
pub const LAUNCH_URL_LENGTH_MAX: usize = 1_024;
/// The most currencies one provider takes.
pub const PROVIDER_CURRENCIES_MAX: usize = 32;
/// The most providers one listing returns.
pub const PROVIDERS_LISTED_MAX: i64 = 1_000;

/// Why a provider or a change of one is refused; `code` is the error code clients see.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidProvider {
    pub code: &'static str,
    pub message: String,
}

fn invalid(code: &'static str, message: impl Into<String>) -> InvalidProvider {
    InvalidProvider {
        code,
        message: message.into(),
    }
}

/// `POST /api/v1/admin/providers`
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewProvider {
    pub id: String,
    pub name: String,
    pub protocol: String,
    pub secret: Option<SecretString>,
    pub public_key: Option<String>,
    #[serde(default)]
    pub launch_url: String,
    pub currencies: Vec<String>,
    #[serde(default = "active_by_default")]
    pub active: bool,
}

fn active_by_default() -> bool {
    true
}

/// `PATCH /api/v1/admin/providers/{id}`: each field present is changed (id and protocol never are).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ProviderChange {
    pub name: Option<String>,
    pub secret: Option<SecretString>,
    pub public_key: Option<String>,
    pub launch_url: Option<String>,
    pub currencies: Option<Vec<String>>,
    pub active: Option<bool>,
}

impl ProviderChange {
    /// The names of the fields this change sets (for the audit trail, which never holds a key).
    pub fn fields(&self) -> Vec<&'static str> {
        [
            ("name", self.name.is_some()),
            ("secret", self.secret.is_some()),
            ("public_key", self.public_key.is_some()),
            ("launch_url", self.launch_url.is_some()),
            ("currencies", self.currencies.is_some()),
            ("active", self.active.is_some()),
        ]
        .into_iter()
        .filter_map(|(field, set)| set.then_some(field))
        .collect()
    }
}

/// A provider as the admin API lists it: never its secret or key.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ProviderView {
    pub id: String,
    pub name: String,
    pub protocol: String,
    pub has_secret: bool,
    pub has_public_key: bool,
    pub launch_url: String,
    pub currencies: Vec<String>,
    pub active: bool,
    /// Catalog games of this provider, active or not.
    pub games: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Checks a new provider; on success its currencies are normalized (deduplicated, in given order).
pub fn validate_new(provider: &mut NewProvider) -> Result<Protocol, InvalidProvider> {
    validate_id(&provider.id)?;
    validate_name(&provider.name)?;
    let protocol = match Protocol::parse(&provider.protocol) {
        Some(protocol @ (Protocol::Generic | Protocol::Hub88)) => protocol,
        _ => return Err(invalid("invalid_protocol", "protocol is 'generic' or 'hub88'")),
    };
    validate_keys(protocol, provider.secret.as_ref(), provider.public_key.as_deref(), true)?;
    validate_launch_url(&provider.launch_url)?;
    provider.currencies = validate_currencies(&provider.currencies)?;
    Ok(protocol)
}

/// Checks a change of a provider speaking `protocol`; the house provider only changes name and active.
pub fn validate_change(protocol: Protocol, change: &mut ProviderChange) -> Result<(), InvalidProvider> {
    if protocol == Protocol::House {
        let fixed = change.secret.is_some()
            || change.public_key.is_some()
            || change.launch_url.is_some()
            || change.currencies.is_some();
        if fixed {
            return Err(invalid(
                "house_provider_fixed",
                format!("the {HOUSE_PROVIDER} provider only changes its name and active flag"),
            ));
        }
    }
    if let Some(name) = &change.name {
        validate_name(name)?;
    }
    if protocol != Protocol::House {
        validate_keys(protocol, change.secret.as_ref(), change.public_key.as_deref(), false)?;
    }
    if let Some(url) = &change.launch_url {
        validate_launch_url(url)?;
    }
    if let Some(currencies) = &change.currencies {
        change.currencies = Some(validate_currencies(currencies)?);
    }
    Ok(())
}

fn validate_id(id: &str) -> Result<(), InvalidProvider> {
    let allowed = id
        .bytes()
        .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || matches!(byte, b'_' | b'-'));
    if !PROVIDER_ID_LENGTH.contains(&id.len()) || !allowed || id == HOUSE_PROVIDER {
        return Err(invalid(
            "invalid_provider_id",
            format!(
                "a provider id is {} to {} of lower-case letters, digits, '_' or '-', and not '{HOUSE_PROVIDER}'",
                PROVIDER_ID_LENGTH.start(),
                PROVIDER_ID_LENGTH.end()
            ),
        ));
    }
    Ok(())
}

fn validate_name(name: &str) -> Result<(), InvalidProvider> {
    if name.trim().is_empty() || name.chars().count() > PROVIDER_NAME_LENGTH_MAX || name.chars().any(char::is_control) {
        return Err(invalid(
            "invalid_provider_name",
            format!("a provider name is 1 to {PROVIDER_NAME_LENGTH_MAX} characters, none of them control characters"),
        ));
    }
    Ok(())
}

/// A generic provider is verified with its HMAC secret, a Hub88 one with its RSA public key; each takes
/// only its own. `required`: a new provider must bring its key (a change may leave it as it is).
fn validate_keys(
    protocol: Protocol,
    secret: Option<&SecretString>,
    public_key: Option<&str>,
    required: bool,
) -> Result<(), InvalidProvider> {
    match protocol {
        Protocol::Generic => {
            if public_key.is_some() {
                return Err(invalid(
                    "invalid_public_key",
                    "a generic provider signs with a secret, not a public key",
                ));
            }
            let length = secret.map(|secret| secret.expose_secret().chars().count());
            if length.is_some_and(|length| !SECRET_LENGTH.contains(&length)) || (required && length.is_none()) {
                return Err(invalid(
                    "invalid_secret",
                    format!(
                        "a generic provider needs a secret of {} to {} characters",
                        SECRET_LENGTH.start(),
                        SECRET_LENGTH.end()
                    ),
                ));
            }
        }
        Protocol::Hub88 => {
            if secret.is_some() {
                return Err(invalid(
                    "invalid_secret",
                    "a hub88 provider signs with its RSA key: give its public_key, not a secret",
                ));
            }
            let pem_ok = |key: &str| {
                PUBLIC_KEY_LENGTH.contains(&key.len()) && key.trim_start().starts_with(PUBLIC_KEY_PEM_HEADER)
            };
            if public_key.is_some_and(|key| !pem_ok(key)) || (required && public_key.is_none()) {
                return Err(invalid(
                    "invalid_public_key",
                    format!("a hub88 provider needs its PEM public key, starting with {PUBLIC_KEY_PEM_HEADER}"),
                ));
            }
        }
        Protocol::House => return Err(invalid("invalid_protocol", "house games have no keys")),
    }
    Ok(())
}

fn validate_launch_url(url: &str) -> Result<(), InvalidProvider> {
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    let characters_ok = !url
        .chars()
        .any(|character| character.is_whitespace() || character.is_control());
    let template_ok = scheme_ok && characters_ok && url.len() <= LAUNCH_URL_LENGTH_MAX;
    if !(url.is_empty() || template_ok) {
        return Err(invalid(
            "invalid_launch_url",
            format!(
                "launch_url is empty or an http(s) URL template of at most {LAUNCH_URL_LENGTH_MAX} bytes \
                 ({{token}}, {{game_code}}, {{player}}, {{currency}} and {{session}} are filled in)"
            ),
        ));
    }
    Ok(())
}

fn validate_currencies(currencies: &[String]) -> Result<Vec<String>, InvalidProvider> {
    let refused = || {
        invalid(
            "invalid_currencies",
            format!("currencies is a list of 1 to {PROVIDER_CURRENCIES_MAX} codes of 3 to 8 upper-case letters"),
        )
    };
    if currencies.is_empty() || currencies.len() > PROVIDER_CURRENCIES_MAX {
        return Err(refused());
    }
    let mut normalized: Vec<String> = Vec::with_capacity(currencies.len());
    for code in currencies {
        let currency = Currency::parse(code).map_err(|_| refused())?;
        if !normalized.iter().any(|known| known == currency.as_str()) {
            normalized.push(currency.as_str().to_owned());
        }
    }
    Ok(normalized)
}

const PROVIDER_VIEW: &str = "SELECT p.id, p.name, p.protocol, p.secret IS NOT NULL AS has_secret,
        p.public_key IS NOT NULL AS has_public_key, p.launch_url, p.currencies, p.active,
        (SELECT count(*) FROM games g WHERE g.provider_id = p.id) AS games, p.created_at, p.updated_at
    FROM providers p";

/// Every provider, by id.
pub async fn list(pool: &PgPool) -> Result<Vec<ProviderView>, sqlx::Error> {
    sqlx::query_as::<_, ProviderView>(&format!("{PROVIDER_VIEW} ORDER BY p.id LIMIT $1"))
        .bind(PROVIDERS_LISTED_MAX)
        .fetch_all(pool)
        .await
}

/// One provider as listed.
pub async fn view(pool: &PgPool, id: &str) -> Result<Option<ProviderView>, sqlx::Error> {
    sqlx::query_as::<_, ProviderView>(&format!("{PROVIDER_VIEW} WHERE p.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Inserts a validated provider; `false` when the id is taken.
pub async fn create(pool: &PgPool, provider: &NewProvider, protocol: Protocol) -> Result<bool, sqlx::Error> {
    let created = sqlx::query(
        "INSERT INTO providers (id, name, protocol, secret, public_key, launch_url, currencies, active)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&provider.id)
    .bind(provider.name.trim())
    .bind(protocol.as_str())
    .bind(provider.secret.as_ref().map(|secret| secret.expose_secret().to_owned()))
    .bind(&provider.public_key)
    .bind(&provider.launch_url)
    .bind(&provider.currencies)
    .bind(provider.active)
    .execute(pool)
    .await?;
    Ok(created.rows_affected() == 1)
}

/// Applies a validated change; `false` when there is no such provider.
pub async fn update(pool: &PgPool, id: &str, change: &ProviderChange) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE providers SET name = COALESCE($2, name), secret = COALESCE($3, secret),
                public_key = COALESCE($4, public_key), launch_url = COALESCE($5, launch_url),
                currencies = COALESCE($6, currencies), active = COALESCE($7, active), updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(change.name.as_deref().map(str::trim))
    .bind(change.secret.as_ref().map(|secret| secret.expose_secret().to_owned()))
    .bind(&change.public_key)
    .bind(&change.launch_url)
    .bind(&change.currencies)
    .bind(change.active)
    .execute(pool)
    .await?;
    Ok(updated.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generic() -> NewProvider {
        NewProvider {
            id: "studio-1".into(),
            name: "Studio One".into(),
            protocol: "generic".into(),
            secret: Some(SecretString::from("0123456789abcdef")),
            public_key: None,
            launch_url: "https://studio.test/play?t={token}".into(),
            currencies: vec!["USD".into(), "EUR".into(), "USD".into()],
            active: true,
        }
    }

    fn code_of(change: impl FnOnce(&mut NewProvider)) -> Option<&'static str> {
        let mut provider = generic();
        change(&mut provider);
        validate_new(&mut provider).err().map(|error| error.code)
    }

    #[test]
    fn a_valid_provider_passes_with_its_currencies_deduplicated() {
        let mut provider = generic();
        assert_eq!(validate_new(&mut provider), Ok(Protocol::Generic));
        assert_eq!(provider.currencies, ["USD", "EUR"]);
    }

    #[test]
    fn each_bad_field_has_its_code() {
        assert_eq!(code_of(|p| p.id = "House".into()), Some("invalid_provider_id"));
        assert_eq!(code_of(|p| p.id = "house".into()), Some("invalid_provider_id"));
        assert_eq!(code_of(|p| p.id = "a".into()), Some("invalid_provider_id"));
        assert_eq!(code_of(|p| p.name = " ".into()), Some("invalid_provider_name"));
        assert_eq!(code_of(|p| p.protocol = "house".into()), Some("invalid_protocol"));
        assert_eq!(code_of(|p| p.protocol = "soap".into()), Some("invalid_protocol"));
        assert_eq!(code_of(|p| p.secret = None), Some("invalid_secret"));
        assert_eq!(code_of(|p| p.secret = Some("short".into())), Some("invalid_secret"));
        assert_eq!(
            code_of(|p| p.public_key = Some("x".repeat(80))),
            Some("invalid_public_key")
        );
        assert_eq!(code_of(|p| p.launch_url = "ftp://x".into()), Some("invalid_launch_url"));
        assert_eq!(
            code_of(|p| p.launch_url = "https://a b".into()),
            Some("invalid_launch_url")
        );
        assert_eq!(code_of(|p| p.launch_url = String::new()), None);
        assert_eq!(code_of(|p| p.currencies = vec![]), Some("invalid_currencies"));
        assert_eq!(
            code_of(|p| p.currencies = vec!["usd".into()]),
            Some("invalid_currencies")
        );
    }

    #[test]
    fn hub88_needs_a_pem_public_key_and_no_secret() {
        let pem = format!(
            "{PUBLIC_KEY_PEM_HEADER}\n{}\n-----END PUBLIC KEY-----\n",
            "A".repeat(64)
        );
        let hub88 = |secret: Option<&str>, key: Option<&str>| {
            let mut provider = generic();
            provider.protocol = "hub88".into();
            provider.secret = secret.map(SecretString::from);
            provider.public_key = key.map(str::to_owned);
            validate_new(&mut provider).err().map(|error| error.code)
        };
        assert_eq!(hub88(None, Some(&pem)), None);
        assert_eq!(hub88(None, None), Some("invalid_public_key"));
        assert_eq!(hub88(Some("0123456789abcdef"), Some(&pem)), Some("invalid_secret"));
    }

    #[test]
    fn the_house_provider_only_changes_name_and_active() {
        let mut change = ProviderChange {
            active: Some(false),
            ..Default::default()
        };
        assert!(validate_change(Protocol::House, &mut change).is_ok());
        let mut change = ProviderChange {
            currencies: Some(vec!["USD".into()]),
            ..Default::default()
        };
        let error = validate_change(Protocol::House, &mut change).unwrap_err();
        assert_eq!(error.code, "house_provider_fixed");
        assert_eq!(change.fields(), ["currencies"]);
    }
}
