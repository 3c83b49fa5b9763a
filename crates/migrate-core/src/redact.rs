//! Keeping passwords out of everything printed: one rule for the engine, the app and the
//! tooling. A URL keeps its shape with the password as `***`; so does a `key=value`
//! connection string. Both `password` and `sslpassword` count.

/// Masks the passwords of a `postgres://` URL (user-info, `?password=`, `?sslpassword=`) or of
/// a `key=value` connection string. Anything unparsable keeps only its scheme.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.has_host() || parsed.scheme().starts_with("postgres") => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            if parsed.query_pairs().any(|(k, _)| is_password_key(&k)) {
                let pairs: Vec<(String, String)> = parsed
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if is_password_key(&k) {
                            "***".into()
                        } else {
                            v.into_owned()
                        };
                        (k.into_owned(), v)
                    })
                    .collect();
                parsed.query_pairs_mut().clear().extend_pairs(pairs);
            }
            parsed.to_string()
        }
        _ if url.contains('=') && !url.contains("://") => url
            .split_whitespace()
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if is_password_key(k) => format!("{k}=***"),
                _ => pair.to_owned(),
            })
            .collect::<Vec<_>>()
            .join(" "),
        _ => match url.split_once("://") {
            Some((scheme, _)) => format!("{scheme}://*** (unparsable URL hidden)"),
            None => "*** (unparsable URL hidden)".into(),
        },
    }
}

/// Whether a connection parameter holds a secret.
pub fn is_password_key(key: &str) -> bool {
    key.eq_ignore_ascii_case("password") || key.eq_ignore_ascii_case("sslpassword")
}

/// Removes the passwords of `url` from a message written by something that saw the URL
/// (a driver's error, a child process's output), in every form they may take there.
pub fn redact_secrets_in(message: &str, url: &str) -> String {
    let mut out = message.replace(url, &redact_url(url));
    let Ok(parsed) = url::Url::parse(url) else {
        return out;
    };
    let mut secrets: Vec<String> = parsed.password().map(str::to_owned).into_iter().collect();
    secrets.extend(
        parsed
            .query_pairs()
            .filter(|(k, _)| is_password_key(k))
            .map(|(_, v)| v.into_owned()),
    );
    for secret in secrets {
        let decoded = percent_encoding::percent_decode_str(&secret)
            .decode_utf8_lossy()
            .into_owned();
        for form in [secret, decoded] {
            if form.len() >= 3 {
                out = out.replace(&form, "***");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_passwords_are_masked() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.internal:5432/app"),
            "postgres://app:***@db.internal:5432/app"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1:5432/app"),
            "postgres://postgres@127.0.0.1:5432/app"
        );
    }

    #[test]
    fn query_passwords_are_masked_and_other_parameters_kept() {
        let shown = redact_url(
            "postgresql://app@localhost/app?sslmode=verify-full&password=hunter2&sslpassword=keypass",
        );
        assert!(
            !shown.contains("hunter2") && !shown.contains("keypass"),
            "{shown}"
        );
        assert!(shown.contains("sslmode=verify-full"), "{shown}");
    }

    #[test]
    fn key_value_strings_are_masked() {
        assert_eq!(
            redact_url("host=localhost password=hunter2 sslpassword=x dbname=app"),
            "host=localhost password=*** sslpassword=*** dbname=app"
        );
    }

    #[test]
    fn secrets_are_removed_from_other_messages() {
        let url = "postgres://app:p%40ss@host/db?sslpassword=keypass";
        let message = format!("failed for {url} with password p@ss and key keypass");
        let clean = redact_secrets_in(&message, url);
        for secret in ["p@ss", "p%40ss", "keypass"] {
            assert!(!clean.contains(secret), "{clean}");
        }
    }
}
