//! `database.sql` (docker-compose's first start) must give exactly the schema the migrations
//! give, and must tell the server that those migrations are already applied.

use std::{fmt::Write, path::PathBuf, process::Command};

use gallery::db::MIGRATOR;
use sqlx::{Connection, Executor, PgConnection, Row};

use crate::helpers::{admin_execute, database_url};

/// Where `database.sql` lives: the repository root.
fn database_sql_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../database.sql")
}

/// What `database.sql` must contain: every migration, then the migrator's bookkeeping.
fn render_database_sql() -> String {
    let mut sql = String::from(
        "-- Max Photo Gallery: the whole schema, for a fresh database (docker-compose's first start).\n\
         --\n\
         -- Generated from backend/migrations; do not edit. After changing a migration run\n\
         --   UPDATE_DATABASE_SQL=1 scripts/test.sh   (or that variable with `cargo test --test api schema`)\n\
         -- The server applies the same migrations at start; the rows at the end tell it that they\n\
         -- are already applied here.\n\nbegin;\n",
    );
    for migration in MIGRATOR.iter() {
        write!(
            sql,
            "\n-- migration {} ({})\n{}\n",
            migration.version,
            migration.description,
            migration.sql.as_ref().trim_end()
        )
        .unwrap();
    }
    // The same table sqlx's migrator creates, so both databases dump identically.
    sql.push_str(
        "\n-- sqlx's record of applied migrations\n\
         create table if not exists _sqlx_migrations (\n    \
             version bigint primary key,\n    \
             description text not null,\n    \
             installed_on timestamptz not null default now(),\n    \
             success boolean not null,\n    \
             checksum bytea not null,\n    \
             execution_time bigint not null\n);\n\n\
         insert into _sqlx_migrations (version, description, success, checksum, execution_time) values\n",
    );
    let rows: Vec<String> = MIGRATOR
        .iter()
        .map(|migration| {
            let checksum: String = migration
                .checksum
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            format!(
                "    ({}, '{}', true, '\\x{checksum}', 0)",
                migration.version,
                migration.description.replace('\'', "''")
            )
        })
        .collect();
    sql.push_str(&rows.join(",\n"));
    sql.push_str(";\n\ncommit;\n");
    sql
}

#[test]
fn database_sql_is_generated_from_the_current_migrations() {
    let expected = render_database_sql();
    if std::env::var_os("UPDATE_DATABASE_SQL").is_some() {
        std::fs::write(database_sql_path(), &expected).unwrap();
    }
    let actual = std::fs::read_to_string(database_sql_path()).unwrap_or_default();
    assert!(
        actual == expected,
        "database.sql is out of date with backend/migrations; regenerate it with \
         UPDATE_DATABASE_SQL=1 cargo test --test api schema"
    );
}

#[tokio::test]
async fn database_sql_and_the_migrations_give_identical_schemas() {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let migrated = format!("test_migrated_{suffix}");
    let from_file = format!("test_from_file_{suffix}");
    admin_execute(&format!(r#"create database "{migrated}""#)).await;
    admin_execute(&format!(r#"create database "{from_file}""#)).await;

    let mut connection = PgConnection::connect(database_url(&migrated).as_str())
        .await
        .unwrap();
    MIGRATOR
        .run(&mut connection)
        .await
        .expect("the migrations apply");

    let database_sql = std::fs::read_to_string(database_sql_path()).expect("database.sql exists");
    let mut file_connection = PgConnection::connect(database_url(&from_file).as_str())
        .await
        .unwrap();
    file_connection
        .execute(sqlx::raw_sql(sqlx::AssertSqlSafe(database_sql)))
        .await
        .expect("database.sql applies");

    let (from_file_dump, migrated_dump) = (schema_dump(&from_file), schema_dump(&migrated));
    if let Some(difference) = first_difference(&from_file_dump, &migrated_dump) {
        panic!(
            "pg_dump --schema-only differs between database.sql and the migrations:\n{difference}"
        );
    }
    assert_eq!(
        applied_migrations(&mut file_connection).await,
        applied_migrations(&mut connection).await,
        "database.sql records other migrations than the migrator applied"
    );

    // The server starting on a database.sql database finds nothing left to do.
    MIGRATOR
        .run(&mut file_connection)
        .await
        .expect("the migrator accepts database.sql's bookkeeping");
    assert_eq!(
        applied_migrations(&mut file_connection).await.len(),
        MIGRATOR.iter().count()
    );
}

/// `pg_dump --schema-only` of a database, without the per-run `\restrict` keys.
fn schema_dump(database: &str) -> String {
    let output = Command::new("pg_dump")
        .args(["--schema-only", "--no-owner", "--no-privileges", "--dbname"])
        .arg(database_url(database).as_str())
        .output()
        .expect("pg_dump runs (scripts/test.sh puts PostgreSQL's programs on PATH)");
    assert!(
        output.status.success(),
        "pg_dump failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter(|line| !line.starts_with("\\restrict") && !line.starts_with("\\unrestrict"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where two texts first differ, with the lines around it; `None` when they are equal.
fn first_difference(left: &str, right: &str) -> Option<String> {
    if left == right {
        return None;
    }
    let (left, right): (Vec<&str>, Vec<&str>) = (left.lines().collect(), right.lines().collect());
    let at = (0..left.len().max(right.len()))
        .find(|&i| left.get(i) != right.get(i))
        .unwrap_or(0);
    let excerpt = |lines: &[&str]| lines[at.min(lines.len())..(at + 6).min(lines.len())].join("\n");
    Some(format!(
        "at line {}:\n--- database.sql\n{}\n--- migrations\n{}",
        at + 1,
        excerpt(&left),
        excerpt(&right)
    ))
}

async fn applied_migrations(connection: &mut PgConnection) -> Vec<(i64, String, bool, Vec<u8>)> {
    sqlx::query(
        "select version, description, success, checksum from _sqlx_migrations order by version",
    )
    .fetch_all(connection)
    .await
    .unwrap()
    .into_iter()
    .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
    .collect()
}

/// The visibility rule is checked for every row a read looks at: PostgreSQL must inline it
/// into the statement, so that a public collection costs a column test and only a private one
/// that is not the viewer's reaches the profile requests (a function call per row cost a feed
/// page a quarter of its database time).
#[tokio::test]
async fn the_visibility_rule_is_inlined_into_the_statements_that_apply_it() {
    let database = format!("test_inlined_{}", uuid::Uuid::new_v4().simple());
    admin_execute(&format!(r#"create database "{database}""#)).await;
    let mut connection = PgConnection::connect(database_url(&database).as_str())
        .await
        .unwrap();
    MIGRATOR.run(&mut connection).await.unwrap();

    let plan: Vec<String> = sqlx::query_scalar(
        "explain (verbose, costs off)
         select id from users where collection_visible_to(id, is_private, 7)",
    )
    .fetch_all(&mut connection)
    .await
    .unwrap();
    let plan = plan.join("\n");
    assert!(
        !plan.contains("collection_visible_to"),
        "the rule runs as a function call per row:\n{plan}"
    );
    assert!(
        plan.contains("(NOT users.is_private) OR")
            && plan.contains("profile_access_granted(users.id, '7'::bigint)"),
        "the inlined rule is not the one expected:\n{plan}"
    );
}

/// A statement given an array of ids is planned again at every call, on PostgreSQL's own
/// choice, unless its transaction asks for the generic plans: the transactions in which
/// objects change hands do, and the connection goes back to the pool without the setting.
#[tokio::test]
async fn transactions_for_generic_plans_plan_each_statement_once() {
    let database = format!("test_generic_plans_{}", uuid::Uuid::new_v4().simple());
    admin_execute(&format!(r#"create database "{database}""#)).await;
    // One connection: every transaction below runs on it, with its prepared statements.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(database_url(&database).as_str())
        .await
        .unwrap();
    sqlx::query("create table objects (id bigint primary key)")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("insert into objects select generate_series(1, 10000)")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("analyze objects").execute(&pool).await.unwrap();
    let lookup = "select id from objects where id = any($1)";
    // PostgreSQL settles on a plan after its first five calls.
    let calls = 8;
    let plans = async || -> (i64, i64) {
        let row = sqlx::query(
            "select generic_plans, custom_plans from pg_prepared_statements where statement = $1",
        )
        .bind(lookup)
        .fetch_one(&pool)
        .await
        .unwrap();
        (row.get(0), row.get(1))
    };

    let mut transaction = gallery::db::begin_with_generic_plans(&pool).await.unwrap();
    for id in 1..=calls {
        let found: Vec<i64> = sqlx::query_scalar(lookup)
            .bind(vec![id, id + 1])
            .fetch_all(&mut *transaction)
            .await
            .unwrap();
        assert_eq!(found, [id, id + 1]);
    }
    transaction.commit().await.unwrap();
    assert_eq!(plans().await, (calls, 0), "(generic plans, custom plans)");

    let mut transaction = pool.begin().await.unwrap();
    for id in 1..=calls {
        sqlx::query(lookup)
            .bind(vec![id])
            .fetch_all(&mut *transaction)
            .await
            .unwrap();
    }
    transaction.commit().await.unwrap();
    let (_, custom) = plans().await;
    assert_eq!(
        custom, calls,
        "outside such a transaction PostgreSQL plans this statement at every call"
    );
}
