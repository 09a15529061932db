//! What `open_store` reports when it cannot prepare its data directory: the path and the cause,
//! as typed fields, so a caller can tell which file is at fault without parsing a message.

use portcullis_hub::{open_store, HubConfig, HubError, RawHubConfig};

#[tokio::test]
async fn a_data_dir_that_cannot_be_created_is_named_with_its_cause() {
    // A directory cannot be created below a regular file, whoever runs the test.
    let scratch =
        std::env::temp_dir().join(format!("portcullis-start-errors-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let file = scratch.join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let mut config = HubConfig::try_from(RawHubConfig::default()).unwrap();
    config.data_dir = file.join("data");

    let result = open_store(&config).await;
    let _ = std::fs::remove_dir_all(&scratch);
    match result {
        Err(err @ HubError::Io { .. }) => {
            let shown = err.to_string();
            let HubError::Io { path, source } = err else {
                unreachable!()
            };
            assert_eq!(path, file.join("data"));
            assert!(
                shown.starts_with(&format!("{}: ", path.display())),
                "{shown}"
            );
            assert!(shown.ends_with(&source.to_string()), "{shown}");
        }
        Err(other) => panic!("expected HubError::Io, got {other:?}"),
        Ok(_) => panic!("a store opened in a data directory below a file"),
    }
}
