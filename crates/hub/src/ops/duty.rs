//! What a signed-in user must do before anything else (change a password an admin set, set
//! up the second factor his company requires): one question every page of the portal asks
//! before it does anything.

use super::{second_factor, signin, OpError};
use crate::auth::Principal;
use crate::state::State;

/// What a signed-in user must do before anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duty {
    /// Nothing.
    None,
    /// Change the password an admin set.
    ChangePassword,
    /// Set up the second factor his company requires.
    SetUpSecondFactor,
}

/// The signed-in user's [`Duty`] now.
pub async fn duty(st: &State, me: &Principal) -> Result<Duty, OpError> {
    // A session the company's identity provider opened used no password: none to change.
    let by_password = me.name != crate::accounts::PORTAL_OIDC_CREDENTIAL_NAME;
    if by_password && signin::must_change(st, me).await? {
        return Ok(Duty::ChangePassword);
    }
    if second_factor::required(st, me.company_id).await? && !second_factor::enabled(st, me).await? {
        return Ok(Duty::SetUpSecondFactor);
    }
    Ok(Duty::None)
}
