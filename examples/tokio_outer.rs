//! `#[tokio::main]` above `#[sdnotify::main]`: tokio's runtime wraps the annotated function.

#[tokio::main(flavor = "current_thread")]
#[sdnotify::main]
async fn main() -> Result<(), std::io::Error> {
    let delay = sdnotify::init! {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        std::time::Duration::from_millis(50)
    };
    sdnotify::status!("async and ready");
    tokio::time::sleep(delay).await;
    Ok(())
}
