//! A scratch schema on a PostgreSQL server for one bench run, shared by the
//! moderation examples: made fresh at the start, dropped at the end.

type Error = Box<dyn std::error::Error + Send + Sync>;

/// A fresh schema named `{prefix}_{pid}` on the server at `url`: the store
/// URL that uses it, and its name (for [`drop`]).
pub(crate) async fn schema(url: &str, prefix: &str) -> Result<(String, String), Error> {
    let schema = format!("{prefix}_{}", std::process::id());
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .await?;
    let sep = if url.contains('?') { '&' } else { '?' };
    // Unless the URL says otherwise, in clear like the baseline's plain
    // connections: TLS over loopback would measure the cipher, not the store.
    let clear = if url.contains("sslmode=") {
        ""
    } else {
        "&sslmode=disable"
    };
    Ok((
        format!("{url}{sep}options=-c%20search_path%3D{schema}{clear}"),
        schema,
    ))
}

/// Drops the schema [`schema`] made, with everything in it.
pub(crate) async fn drop(url: &str, schema: &str) -> Result<(), Error> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await?;
    Ok(())
}
