//! The authorization matrix, role by role.

use super::*;

fn actor(role: Role, company: Option<Id>, auths: &[Authorization]) -> Actor {
    Actor {
        user_id: 7,
        role,
        company_id: company,
        authorizations: auths.iter().copied().collect(),
    }
}

#[test]
fn names_round_trip() {
    for r in Role::ALL {
        assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            format!("\"{}\"", r.as_str())
        );
    }
    let set = Authorizations::parse("maintain_access_data, open_service_connections").unwrap();
    assert_eq!(
        set.to_stored(),
        "open_service_connections,maintain_access_data"
    );
    assert_eq!(Authorizations::parse(&set.to_stored()).unwrap(), set);
    assert_eq!(Authorizations::parse("").unwrap(), Authorizations::none());
    assert!(matches!(
        Authorizations::parse("open_service_connection"),
        Err(AuthzError::UnknownAuthorization(s)) if s == "open_service_connection"
    ));
    assert!("Company_Admin".parse::<Role>().is_err());
}

#[test]
fn roles_fit_their_side() {
    assert!(Role::CompanyUser.check_company(None).is_err());
    assert!(Role::SupportEngineer.check_company(Some(1)).is_err());
    assert!(Role::Auditor.check_company(None).is_ok());
    assert!(Role::Auditor.check_company(Some(1)).is_ok());
    assert!(Role::Technical.check_company(Some(1)).is_ok());
}

#[test]
fn company_roles_never_reach_another_company_or_vendor_wide_data() {
    for role in [
        Role::CompanyAdmin,
        Role::CompanyUser,
        Role::Technical,
        Role::Auditor,
    ] {
        let a = actor(role, Some(1), &Authorization::ALL);
        for op in Op::ALL {
            assert_eq!(
                authorize(&a, op, Some(2)),
                Err(AuthzError::OtherCompany),
                "{role} {op:?}"
            );
            assert_eq!(
                authorize(&a, op, None),
                Err(AuthzError::OtherCompany),
                "{role} {op:?}"
            );
        }
    }
}

#[test]
fn company_users_need_the_matching_authorization() {
    let plain = actor(Role::CompanyUser, Some(1), &[]);
    assert_eq!(
        authorize(&plain, Op::OperateConnections, Some(1)),
        Err(AuthzError::MissingAuthorization(
            Authorization::OpenServiceConnections
        ))
    );
    assert_eq!(
        authorize(&plain, Op::MaintainSystems, Some(1)),
        Err(AuthzError::MissingAuthorization(
            Authorization::MaintainSystemData
        ))
    );
    let opener = actor(
        Role::CompanyUser,
        Some(1),
        &[Authorization::OpenServiceConnections],
    );
    let p = authorize(&opener, Op::OperateConnections, Some(1)).unwrap();
    assert_eq!(
        (p.op(), p.company(), p.user_id()),
        (Op::OperateConnections, Some(1), 7)
    );
    assert!(authorize(&opener, Op::MaintainSystems, Some(1)).is_err());
    assert!(authorize(&opener, Op::ManageGrants, Some(1)).is_err());
}

#[test]
fn every_dialog_user_may_create_his_own_route_password_and_a_technical_user_none() {
    for role in Role::ALL {
        let company = match role.company_scoped() {
            Some(false) => None,
            _ => Some(1),
        };
        let a = actor(role, company, &[]);
        let got = authorize(&a, Op::CreateRoutePassword, company);
        if role == Role::Technical {
            assert_eq!(
                got,
                Err(AuthzError::RoleDenied {
                    role,
                    op: Op::CreateRoutePassword
                })
            );
        } else {
            let p = got.unwrap_or_else(|e| panic!("{role}: {e}"));
            assert_eq!(
                (p.op(), p.company(), p.user_id()),
                (Op::CreateRoutePassword, company, 7)
            );
        }
    }
    // A vendor-wide auditor asks for vendor-wide (None), like every vendor user.
    assert!(authorize(
        &actor(Role::Auditor, None, &[]),
        Op::CreateRoutePassword,
        None
    )
    .is_ok());
}

#[test]
fn only_support_engineers_open_independently() {
    for role in Role::ALL {
        let company = match role.company_scoped() {
            Some(false) => None,
            _ => Some(1),
        };
        let a = actor(role, company, &Authorization::ALL);
        let got = authorize(&a, Op::OpenIndependently, Some(1));
        assert_eq!(
            got.is_ok(),
            role == Role::SupportEngineer,
            "{role}: {got:?}"
        );
    }
}

#[test]
fn a_vendor_admin_holds_no_key_of_a_customer_but_its_first_admin() {
    let admin = actor(Role::VendorAdmin, None, &[]);
    for op in Op::ALL {
        let got = authorize(&admin, op, Some(3));
        let allowed = matches!(
            op,
            Op::ReadCompany
                | Op::ReadUsers
                | Op::ReadConnectors
                | Op::ReadSystems
                | Op::ReadAudit
                | Op::ReadLogBook
                | Op::KeepFavourites
                | Op::CreateRoutePassword
                | Op::CreateCompany
                | Op::BootstrapCompanyAdmin
        );
        assert_eq!(got.is_ok(), allowed, "{op:?}: {got:?}");
    }
    // His own side: vendor users and their tokens.
    assert!(authorize(&admin, Op::ManageUsers, None).is_ok());
    assert!(authorize(&admin, Op::ManageTokens, None).is_ok());
    assert!(authorize(&admin, Op::BootstrapCompanyAdmin, None).is_err());
    // Nobody else bootstraps: a company admin makes further admins as users.
    for role in Role::ALL.into_iter().filter(|r| *r != Role::VendorAdmin) {
        let company = match role.company_scoped() {
            Some(false) => None,
            _ => Some(3),
        };
        let a = actor(role, company, &Authorization::ALL);
        assert!(
            authorize(&a, Op::BootstrapCompanyAdmin, Some(3)).is_err(),
            "{role}"
        );
    }
}

#[test]
fn vendor_roles() {
    let admin = actor(Role::VendorAdmin, None, &[]);
    assert!(authorize(&admin, Op::CreateCompany, None).is_ok());
    assert!(authorize(&admin, Op::OperateConnections, Some(3)).is_err());
    assert!(authorize(&admin, Op::OpenSession, Some(3)).is_err());
    let eng = actor(Role::SupportEngineer, None, &[]);
    assert!(authorize(&eng, Op::OpenSession, Some(3)).is_ok());
    assert!(authorize(&eng, Op::ReadSystems, Some(3)).is_ok());
    assert!(authorize(&eng, Op::OperateConnections, Some(3)).is_err());
    assert!(authorize(&eng, Op::OpenIndependently, Some(3)).is_ok());
    assert!(authorize(&admin, Op::OpenIndependently, Some(3)).is_err());
    assert!(authorize(&eng, Op::ReadAudit, Some(3)).is_err());
    let auditor = actor(Role::Auditor, None, &[]);
    assert!(authorize(&auditor, Op::ReadAudit, None).is_ok());
    assert!(authorize(&auditor, Op::OpenSession, Some(3)).is_err());
}
