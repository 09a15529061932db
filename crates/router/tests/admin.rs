//! Administration of a running router: information, cancel, reload, stop, soft shutdown.

mod common;

use common::*;
use portcullis_ni::rterr::RtErrKind;
use portcullis_ni::{AdminCommand, Message, ReturnCode, TalkMode};
use portcullis_router::admin_client::{self, AdminReply};
use portcullis_router::client::ClientError;
use portcullis_router::io::read_frame;

async fn admin(router: &TestRouter, command: AdminCommand) -> Result<AdminReply, ClientError> {
    admin_client::send("127.0.0.1", &router.port().to_string(), command, TIMEOUT).await
}

fn info() -> AdminCommand {
    AdminCommand::Info {
        password: String::new(),
    }
}

/// Reads frames until an `NI_RTERR` error arrives; returns its code.
async fn next_error(stream: &mut tokio::net::TcpStream) -> i32 {
    loop {
        let frame = tokio::time::timeout(TIMEOUT, read_frame(stream, 1 << 20))
            .await
            .expect("message in time")
            .expect("a message before the close");
        if let Ok(Message::RtErr(err)) = Message::parse(&frame) {
            if err.kind() == RtErrKind::Error {
                return err.return_code;
            }
        }
    }
}

#[tokio::test]
async fn info_lists_the_routed_clients() {
    let ni = ni_echo().await;
    let router = start_router(&format!("P * * {}\n", ni.port())).await;
    let mut stream = connect(
        &format!("{}/H/127.0.0.1/S/{}", router.hop(), ni.port()),
        TalkMode::Msg,
    )
    .await
    .unwrap();
    ni_roundtrip(&mut stream, b"routed").await;
    let Ok(AdminReply::Info(info)) = admin(&router, info()).await else {
        panic!("info answered")
    };
    assert_eq!(info.server.port, router.port());
    assert_eq!(info.server.pid, std::process::id());
    // The routed pair plus the admin connection itself.
    assert_eq!(info.clients.len(), 3, "{info:?}");
    let routed: Vec<_> = info.clients.iter().filter(|c| c.is_routed()).collect();
    assert_eq!(routed.len(), 2);
    assert_eq!(routed[0].partner, "127.0.0.1");
    assert_eq!(routed[0].service, ni.port().to_string());
    assert!(
        info.lines[0].starts_with("Total no. of clients: 3"),
        "{:?}",
        info.lines
    );
    assert!(info.lines.iter().any(|l| l.contains("saprouttab")));
}

#[tokio::test]
async fn the_info_password_is_checked() {
    let router = start_router_with("P * * *\n", |c| c.info_password = Some("infopw".into())).await;
    for wrong in ["", "infopW", "infopw2"] {
        let err = admin(
            &router,
            AdminCommand::Info {
                password: wrong.into(),
            },
        )
        .await
        .unwrap_err();
        assert_eq!(
            err.return_code(),
            ReturnCode::InfoDenied,
            "{wrong:?}: {err}"
        );
    }
    let ok = admin(
        &router,
        AdminCommand::Info {
            password: "infopw".into(),
        },
    )
    .await;
    assert!(matches!(ok, Ok(AdminReply::Info(_))), "{ok:?}");
}

#[tokio::test]
async fn cancel_ends_a_route_with_97_to_both_sides() {
    let (target, accepted) = one_shot_target().await;
    let router = start_router(&format!("P * * {}\n", target.port())).await;
    let mut client = connect(
        &format!("{}/H/127.0.0.1/S/{}", router.hop(), target.port()),
        TalkMode::Msg,
    )
    .await
    .unwrap();
    let mut server = accepted.await.unwrap();
    let Ok(AdminReply::Info(info)) = admin(&router, info()).await else {
        panic!()
    };
    let id = info.clients.iter().find(|c| c.is_routed()).unwrap().id;
    assert!(matches!(
        admin(&router, AdminCommand::Cancel { ids: vec![id] }).await,
        Ok(AdminReply::Done)
    ));
    assert_eq!(next_error(&mut client).await, ReturnCode::Canceled.code());
    assert_eq!(next_error(&mut server).await, ReturnCode::Canceled.code());

    let err = admin(&router, AdminCommand::Cancel { ids: vec![9999] })
        .await
        .unwrap_err();
    assert_eq!(err.return_code(), ReturnCode::NoClient);
}

#[tokio::test]
async fn reload_keeps_routed_connections_and_applies_to_new_ones() {
    let ni = ni_echo().await;
    let router = start_router(&format!("P * * {}\n", ni.port())).await;
    let route = format!("{}/H/127.0.0.1/S/{}", router.hop(), ni.port());
    let mut flowing = connect(&route, TalkMode::Msg).await.unwrap();
    ni_roundtrip(&mut flowing, b"before the reload").await;

    router.write_table("D * * *\n");
    assert!(matches!(
        admin(&router, AdminCommand::NewRouteTable).await,
        Ok(AdminReply::Done)
    ));
    ni_roundtrip(&mut flowing, b"after the reload").await;
    assert_eq!(
        refused(connect(&route, TalkMode::Msg).await).return_code,
        -94
    );

    // An invalid table is refused by name and line; the loaded one stays in force.
    router.write_table(&format!("P * * {}\nP * * * * extra\n", ni.port()));
    let err = admin(&router, AdminCommand::NewRouteTable)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");
    assert_eq!(
        refused(connect(&route, TalkMode::Msg).await).return_code,
        -94
    );
    ni_roundtrip(&mut flowing, b"still flowing").await;
    assert_eq!(
        router.log_text().matches("READ ROUTTAB").count(),
        2,
        "start and one good reload"
    );
}

#[tokio::test]
async fn stop_ends_routes_with_98_and_the_router() {
    let (target, accepted) = one_shot_target().await;
    let mut router = start_router(&format!("P * * {}\n", target.port())).await;
    let mut client = connect(
        &format!("{}/H/127.0.0.1/S/{}", router.hop(), target.port()),
        TalkMode::Msg,
    )
    .await
    .unwrap();
    let _server = accepted.await.unwrap();
    assert!(matches!(
        admin(&router, AdminCommand::Stop).await,
        Ok(AdminReply::Done)
    ));
    assert_eq!(next_error(&mut client).await, ReturnCode::Shutdown.code());
    router.stopped().await;
    assert!(tokio::net::TcpStream::connect(router.addr).await.is_err());
}

#[tokio::test]
async fn soft_shutdown_refuses_new_routes_and_ends_with_the_last_one() {
    let ni = ni_echo().await;
    let mut router = start_router(&format!("P * * {}\n", ni.port())).await;
    let route = format!("{}/H/127.0.0.1/S/{}", router.hop(), ni.port());
    let mut flowing = connect(&route, TalkMode::Msg).await.unwrap();
    assert!(matches!(
        admin(&router, AdminCommand::SoftShutdown).await,
        Ok(AdminReply::Done)
    ));
    let refusal = refused(connect(&route, TalkMode::Msg).await);
    assert_eq!(refusal.code(), Some(ReturnCode::Shutdown));
    ni_roundtrip(&mut flowing, b"existing routes go on").await;
    drop(flowing);
    router.stopped().await;
}

#[tokio::test]
async fn other_commands_are_acknowledged() {
    let router = start_router("P * * *\n").await;
    for command in [
        AdminCommand::ToggleTrace,
        AdminCommand::HideErrorInfo,
        AdminCommand::DumpBuffers,
        AdminCommand::FlushBuffers,
    ] {
        let reply = admin(&router, command.clone()).await;
        assert!(
            matches!(reply, Ok(AdminReply::Done)),
            "{command:?}: {reply:?}"
        );
    }
    let err = admin(&router, AdminCommand::SetTracePeer([0; 32]))
        .await
        .unwrap_err();
    assert_eq!(err.return_code(), ReturnCode::Invalid);
    let trace = std::fs::read_to_string(router.dir.path().join("dev_rout")).unwrap();
    assert!(trace.contains("trace level now"), "{trace}");
}
