//! The typed calls: one method per operation of the hub's REST API, named after what it does,
//! taking a request body of [`crate::requests`] and returning a view of [`crate::views`].
//! Company names in paths are percent-encoded.

use crate::http::ApiClient;
use crate::requests::*;
use crate::views::*;
use crate::ClientError;

type Result<T> = std::result::Result<T, ClientError>;

/// `/api/v1/companies/{company}` with the name encoded.
fn company_path(company: &str, rest: &str) -> String {
    format!("/api/v1/companies/{}{rest}", encode(company))
}

impl ApiClient {
    // ── service ──────────────────────────────────────────────────────────────────────────

    /// `GET /health`.
    pub async fn health(&self) -> Result<Health> {
        self.get("/api/v1/health").await
    }

    /// `GET /version`.
    pub async fn version(&self) -> Result<HubVersion> {
        self.get("/api/v1/version").await
    }

    // ── companies, tokens, users ─────────────────────────────────────────────────────────

    /// `POST /companies` (vendor admin).
    pub async fn create_company(&self, name: &str) -> Result<Company> {
        let body = NewCompany {
            name: name.to_string(),
        };
        self.post("/api/v1/companies", &body).await
    }

    /// `GET /companies`.
    pub async fn list_companies(&self) -> Result<Vec<Company>> {
        self.get("/api/v1/companies").await
    }

    /// The company named `name`, if the caller sees one (`GET /companies`, filtered here: the
    /// hub has no lookup by name).
    pub async fn find_company(&self, name: &str) -> Result<Option<Company>> {
        Ok(self
            .list_companies()
            .await?
            .into_iter()
            .find(|c| c.name == name))
    }

    /// `POST /companies/{company}/tokens`: a token with a user of its own.
    pub async fn create_company_token(
        &self,
        company: &str,
        body: &NewToken,
    ) -> Result<CreatedToken> {
        self.post(&company_path(company, "/tokens"), body).await
    }

    /// `GET /companies/{company}/tokens`.
    pub async fn list_company_tokens(&self, company: &str) -> Result<Vec<ApiToken>> {
        self.get(&company_path(company, "/tokens")).await
    }

    /// `POST /tokens/{id}/revoke`.
    pub async fn revoke_token(&self, id: Id) -> Result<TokenRevoked> {
        self.post(
            &format!("/api/v1/tokens/{id}/revoke"),
            &serde_json::json!({}),
        )
        .await
    }

    /// `POST /users`.
    pub async fn create_user(&self, body: &NewUser) -> Result<User> {
        self.post("/api/v1/users", body).await
    }

    /// `GET /users`: the vendor's users.
    pub async fn list_users(&self) -> Result<Vec<User>> {
        self.get("/api/v1/users").await
    }

    /// `GET /users?company={company}`: a company's users (`company` its id or name).
    pub async fn list_company_users(&self, company: &str) -> Result<Vec<User>> {
        self.get(&format!("/api/v1/users?company={}", encode(company)))
            .await
    }

    /// `PATCH /users/{id}`.
    pub async fn edit_user(&self, id: Id, body: &EditUser) -> Result<User> {
        self.patch(&format!("/api/v1/users/{id}"), body).await
    }

    /// `POST /users/{id}/disable`: also revokes his tokens and cuts his sessions.
    pub async fn disable_user(&self, id: Id) -> Result<User> {
        self.post(
            &format!("/api/v1/users/{id}/disable"),
            &serde_json::json!({}),
        )
        .await
    }

    /// `POST /users/{id}/tokens`.
    pub async fn create_user_token(&self, id: Id, body: &NewUserToken) -> Result<IssuedToken> {
        self.post(&format!("/api/v1/users/{id}/tokens"), body).await
    }

    /// `POST /users/{id}/password`: sets a user's portal password (a generated one-time
    /// password unless `body` chooses one).
    pub async fn set_user_password(&self, id: Id, body: &SetPassword) -> Result<PasswordSet> {
        self.post(&format!("/api/v1/users/{id}/password"), body)
            .await
    }

    /// `POST /users/{id}/totp/reset`: removes a user's second factor (a lost phone).
    pub async fn reset_user_totp(&self, id: Id) -> Result<User> {
        self.post(
            &format!("/api/v1/users/{id}/totp/reset"),
            &serde_json::json!({}),
        )
        .await
    }

    /// `POST /route-passwords`: a short-lived connection password for the caller.
    pub async fn create_route_password(
        &self,
        body: &NewRoutePassword,
    ) -> Result<IssuedRoutePassword> {
        self.post("/api/v1/route-passwords", body).await
    }

    // ── connectors ───────────────────────────────────────────────────────────────────────

    /// `POST /companies/{company}/connectors`: a location and its enrolment token.
    pub async fn create_connector(
        &self,
        company: &str,
        location: &str,
    ) -> Result<ConnectorWithToken> {
        let body = NewConnector {
            location: location.to_string(),
        };
        self.post(&company_path(company, "/connectors"), &body)
            .await
    }

    /// `GET /companies/{company}/connectors`.
    pub async fn list_connectors(&self, company: &str) -> Result<Vec<Connector>> {
        self.get(&company_path(company, "/connectors")).await
    }

    /// `POST /connectors/{id}/revoke`: its tunnel is cut at once.
    pub async fn revoke_connector(&self, id: Id) -> Result<Connector> {
        self.post(
            &format!("/api/v1/connectors/{id}/revoke"),
            &serde_json::json!({}),
        )
        .await
    }

    /// `POST /connectors/{id}/enrollment-token`: a fresh one-time token.
    pub async fn new_enrollment_token(&self, id: Id) -> Result<ConnectorWithToken> {
        self.post(
            &format!("/api/v1/connectors/{id}/enrollment-token"),
            &serde_json::json!({}),
        )
        .await
    }

    // ── systems and service connections ──────────────────────────────────────────────────

    /// `POST /companies/{company}/systems`.
    pub async fn create_system(&self, company: &str, data: &SystemData) -> Result<System> {
        self.post(&company_path(company, "/systems"), data).await
    }

    /// `GET /companies/{company}/systems`.
    pub async fn list_systems(&self, company: &str) -> Result<Vec<SystemView>> {
        self.get(&company_path(company, "/systems")).await
    }

    /// `GET /companies/{company}/systems?…`: filtered and sorted by the hub as `query` says.
    pub async fn list_systems_where(
        &self,
        company: &str,
        query: &SystemQuery,
    ) -> Result<Vec<SystemView>> {
        self.get(&company_path(
            company,
            &format!("/systems{}", query.to_query()),
        ))
        .await
    }

    /// `GET /systems/{id}`.
    pub async fn get_system(&self, id: Id) -> Result<SystemView> {
        self.get(&format!("/api/v1/systems/{id}")).await
    }

    /// `PUT /systems/{id}`.
    pub async fn update_system(&self, id: Id, data: &SystemData) -> Result<System> {
        self.put(&format!("/api/v1/systems/{id}"), data).await
    }

    /// `DELETE /systems/{id}`: refused while service connections are set up for it.
    pub async fn delete_system(&self, id: Id) -> Result<()> {
        self.delete(&format!("/api/v1/systems/{id}")).await
    }

    /// `PUT /systems/{id}/favourite`: marks it as one of the caller's favourites.
    pub async fn favourite_system(&self, id: Id) -> Result<()> {
        self.put(
            &format!("/api/v1/systems/{id}/favourite"),
            &serde_json::json!({}),
        )
        .await
    }

    /// `DELETE /systems/{id}/favourite`: takes it off the caller's favourites.
    pub async fn unfavourite_system(&self, id: Id) -> Result<()> {
        self.delete(&format!("/api/v1/systems/{id}/favourite"))
            .await
    }

    /// `GET /systems/{id}/logbook`: everything about one system.
    pub async fn system_logbook(&self, id: Id) -> Result<Vec<AuditEvent>> {
        self.get(&format!("/api/v1/systems/{id}/logbook")).await
    }

    /// `GET /companies/{company}/connection-types`: the catalogue and the company's own.
    pub async fn list_connection_types(&self, company: &str) -> Result<Vec<ConnectionType>> {
        self.get(&company_path(company, "/connection-types")).await
    }

    /// `POST /companies/{company}/connection-types`: a type of the company's own.
    pub async fn create_connection_type(
        &self,
        company: &str,
        def: &ConnTypeDef,
    ) -> Result<ConnectionType> {
        self.post(&company_path(company, "/connection-types"), def)
            .await
    }

    /// `DELETE /connection-types/{id}`: a company's own type that no service connection uses.
    pub async fn delete_connection_type(&self, id: Id) -> Result<()> {
        self.delete(&format!("/api/v1/connection-types/{id}")).await
    }

    /// `POST /systems/{id}/service-connections`.
    pub async fn create_service_connection(
        &self,
        system: Id,
        body: &NewServiceConnection,
    ) -> Result<ServiceConnection> {
        self.post(
            &format!("/api/v1/systems/{system}/service-connections"),
            body,
        )
        .await
    }

    /// `GET /companies/{company}/service-connections`.
    pub async fn list_service_connections(&self, company: &str) -> Result<Vec<ServiceConnection>> {
        self.get(&company_path(company, "/service-connections"))
            .await
    }

    /// `GET /companies/{company}/service-connections?…`: those `query` picks.
    pub async fn list_service_connections_where(
        &self,
        company: &str,
        query: &ServiceQuery,
    ) -> Result<Vec<ServiceConnection>> {
        self.get(&company_path(
            company,
            &format!("/service-connections{}", query.to_query()),
        ))
        .await
    }

    /// `DELETE /service-connections/{id}`: refused while a window is open or reserved.
    pub async fn delete_service_connection(&self, id: Id) -> Result<()> {
        self.delete(&format!("/api/v1/service-connections/{id}"))
            .await
    }

    /// `GET /service-connections/{id}`.
    pub async fn get_service_connection(&self, id: Id) -> Result<ServiceConnection> {
        self.get(&format!("/api/v1/service-connections/{id}")).await
    }

    /// `POST /service-connections/{id}/web-link`: a one-time browser link.
    pub async fn web_link(&self, service_connection: Id) -> Result<WebLink> {
        self.post(
            &format!("/api/v1/service-connections/{service_connection}/web-link"),
            &serde_json::json!({}),
        )
        .await
    }

    // ── windows and grants ───────────────────────────────────────────────────────────────

    /// `POST /service-connections/{id}/windows`.
    pub async fn open_window(&self, service_connection: Id, body: &OpenWindow) -> Result<Window> {
        self.post(
            &format!("/api/v1/service-connections/{service_connection}/windows"),
            body,
        )
        .await
    }

    /// `GET /service-connections/{id}/windows`.
    pub async fn list_windows(&self, service_connection: Id) -> Result<Vec<Window>> {
        self.get(&format!(
            "/api/v1/service-connections/{service_connection}/windows"
        ))
        .await
    }

    /// `GET /companies/{company}/windows`: the company's open and reserved windows.
    pub async fn list_company_windows(&self, company: &str) -> Result<Vec<Window>> {
        self.get(&company_path(company, "/windows")).await
    }

    /// `GET /windows/{id}`.
    pub async fn get_window(&self, id: Id) -> Result<Window> {
        self.get(&format!("/api/v1/windows/{id}")).await
    }

    /// `PATCH /windows/{id}`.
    pub async fn edit_window(&self, id: Id, body: &EditWindow) -> Result<Window> {
        self.patch(&format!("/api/v1/windows/{id}"), body).await
    }

    /// `POST /windows/{id}/close`: cuts its live sessions.
    pub async fn close_window(&self, id: Id) -> Result<Window> {
        self.post(
            &format!("/api/v1/windows/{id}/close"),
            &serde_json::json!({}),
        )
        .await
    }

    /// `POST /service-connections/{id}/grants`: a standing grant for technical user `user`.
    pub async fn create_grant(&self, service_connection: Id, user: &str) -> Result<Grant> {
        let body = NewGrant {
            user: user.to_string(),
        };
        self.post(
            &format!("/api/v1/service-connections/{service_connection}/grants"),
            &body,
        )
        .await
    }

    /// `GET /companies/{company}/grants`.
    pub async fn list_grants(&self, company: &str) -> Result<Vec<Grant>> {
        self.get(&company_path(company, "/grants")).await
    }

    /// `POST /grants/{id}/revoke`: cuts the sessions it allowed.
    pub async fn revoke_grant(&self, id: Id) -> Result<Grant> {
        self.post(
            &format!("/api/v1/grants/{id}/revoke"),
            &serde_json::json!({}),
        )
        .await
    }

    /// `GET /companies/{company}/summary`.
    pub async fn summary(&self, company: &str) -> Result<Summary> {
        self.get(&company_path(company, "/summary")).await
    }

    // ── audit ────────────────────────────────────────────────────────────────────────────

    /// `GET /audit` with `query`'s filters, oldest first.
    pub async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
        self.get(&format!("/api/v1/audit{}", query.to_query()))
            .await
    }

    /// `GET /audit/verify`.
    pub async fn verify_audit(&self) -> Result<VerifyReport> {
        self.get("/api/v1/audit/verify").await
    }
}
