//! `#[sdnotify::main]` above `#[tokio::main]`: the attribute wraps the async body itself.

#[sdnotify::main]
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), std::io::Error> {
    let delay = sdnotify::init! {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        std::time::Duration::from_millis(50)
    };
    sdnotify::status!("async and ready");
    tokio::time::sleep(delay).await;
    Ok(())
}
