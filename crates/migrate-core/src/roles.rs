//! `ops/roles.sql` with its psql variables filled in, as `psql -v NAME=VALUE` fills them:
//! `:'name'` becomes a quoted literal and `:"name"` a quoted identifier, so any password and
//! any name are safe. `cargo xtask db-up` and the tests run the result; operators run the file
//! with psql itself.

use crate::quote::{ident, literal};

/// The values of the script's variables.
#[derive(Debug, Clone, Copy)]
pub struct Roles<'a> {
    /// `migrator`: owns the schema; only `migrate` connects as it.
    pub migrator: &'a str,
    pub migrator_password: &'a str,
    /// `runtime`: reads and writes rows; the api and workers.
    pub runtime: &'a str,
    pub runtime_password: &'a str,
    /// `database`
    pub database: &'a str,
}

/// `template` (the text of `ops/roles.sql`) with every variable replaced as psql would; a
/// variable the script uses and `roles` lacks is an error naming it.
pub fn render(template: &str, roles: &Roles<'_>) -> Result<String, String> {
    let values = [
        ("migrator", roles.migrator),
        ("migrator_password", roles.migrator_password),
        ("runtime", roles.runtime),
        ("runtime_password", roles.runtime_password),
        ("database", roles.database),
    ];
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(at) = rest.find([':']) {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let quote = from[1..].chars().next();
        let Some(quote @ ('\'' | '"')) = quote else {
            out.push(':');
            rest = &from[1..];
            continue;
        };
        let end = from[2..].find(quote).ok_or_else(|| {
            format!(
                "ops/roles.sql: an unclosed variable at {:?}",
                &from[..from.len().min(20)]
            )
        })?;
        let name = &from[2..2 + end];
        let value = values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| format!("ops/roles.sql uses the variable {name}, which has no value"))?;
        out.push_str(&if quote == '\'' {
            literal(value)
        } else {
            ident(value)
        });
        rest = &from[3 + end..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLES: Roles<'static> = Roles {
        migrator: "m",
        migrator_password: "pw1",
        runtime: "r",
        runtime_password: "p'w/2&\\$x",
        database: "my app",
    };

    #[test]
    fn variables_are_quoted_as_psql_quotes_them() {
        let sql = render(
            "SET a = :'migrator_password'; SET b = :'runtime_password'; ALTER DATABASE :\"database\" OWNER TO :\"migrator\"; SELECT 1::int;",
            &ROLES,
        )
        .unwrap();
        assert_eq!(
            sql,
            "SET a = 'pw1'; SET b = 'p''w/2&\\$x'; ALTER DATABASE \"my app\" OWNER TO \"m\"; SELECT 1::int;"
        );
    }

    #[test]
    fn an_unknown_variable_is_refused() {
        assert_eq!(
            render("SELECT :'nope';", &ROLES).unwrap_err(),
            "ops/roles.sql uses the variable nope, which has no value"
        );
    }
}
