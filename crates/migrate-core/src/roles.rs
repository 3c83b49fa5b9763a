//! `ops/roles.sql` with its placeholders filled in: the same text for `cargo xtask db-up`, the
//! tests, and (with `sed`) operators.

/// The values of the template's placeholders.
#[derive(Debug, Clone, Copy)]
pub struct Roles<'a> {
    /// `{migrator}`: owns the schema; only `migrate` connects as it.
    pub migrator: &'a str,
    pub migrator_password: &'a str,
    /// `{runtime}`: reads and writes rows; the api and workers.
    pub runtime: &'a str,
    pub runtime_password: &'a str,
    /// `{database}`
    pub database: &'a str,
}

/// `template` (the text of `ops/roles.sql`) with every placeholder replaced. Names must be
/// lowercase letters, digits and underscores, and passwords free of quotes and dollar signs:
/// the template puts them in identifiers and literals without escaping.
pub fn render(template: &str, roles: &Roles<'_>) -> Result<String, String> {
    for name in [roles.migrator, roles.runtime, roles.database] {
        let plain = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !plain {
            return Err(format!(
                "{name:?} cannot be a role or database name in ops/roles.sql: use lowercase letters, digits, underscores"
            ));
        }
    }
    for password in [roles.migrator_password, roles.runtime_password] {
        if password.contains(['\'', '"', '$', '\\']) {
            return Err("a password for ops/roles.sql may not hold quotes, `$` or `\\`".to_owned());
        }
    }
    Ok(template
        .replace("{migrator_password}", roles.migrator_password)
        .replace("{runtime_password}", roles.runtime_password)
        .replace("{migrator}", roles.migrator)
        .replace("{runtime}", roles.runtime)
        .replace("{database}", roles.database))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLES: Roles<'static> = Roles {
        migrator: "m",
        migrator_password: "pw1",
        runtime: "r",
        runtime_password: "pw2",
        database: "app",
    };

    #[test]
    fn placeholders_are_filled() {
        let sql = render("CREATE ROLE \"{migrator}\" PASSWORD '{migrator_password}'; GRANT x ON \"{database}\" TO \"{runtime}\";", &ROLES).unwrap();
        assert_eq!(
            sql,
            "CREATE ROLE \"m\" PASSWORD 'pw1'; GRANT x ON \"app\" TO \"r\";"
        );
    }

    #[test]
    fn unsafe_values_are_refused() {
        assert!(
            render(
                "",
                &Roles {
                    migrator: "Bad-Name",
                    ..ROLES
                }
            )
            .is_err()
        );
        assert!(
            render(
                "",
                &Roles {
                    runtime_password: "it's",
                    ..ROLES
                }
            )
            .is_err()
        );
    }
}
