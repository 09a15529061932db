//! A customer's managed system (sap-reference §2.2) and the rules its fields follow.
//!
//! Validation happens once, here, so the store and every entry point see the same rules and
//! the same messages.

use serde::{Deserialize, Serialize};

/// SIDs SAP reserves (they clash with database or operating-system words). A system may not
/// use one.
pub const RESERVED_SIDS: &[&str] = &[
    "ADD", "ALL", "AMD", "AND", "ANY", "ARE", "ASC", "AUX", "AVG", "BIN", "BIT", "CDC", "COM",
    "CON", "DBA", "END", "EPS", "FOR", "GET", "GID", "IBM", "INT", "KEY", "LOG", "LPT", "MAP",
    "MAX", "MIN", "MON", "NIX", "NOT", "NUL", "OFF", "OLD", "OMS", "OUT", "PAD", "PRN", "RAW",
    "REF", "ROW", "SAP", "SET", "SGA", "SHG", "SID", "SQL", "SUM", "SYS", "TMP", "TOP", "UID",
    "USE", "USR", "VAR",
];

/// What kind of system it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SystemType {
    /// An ABAP application server system.
    Abap,
    /// A Java application server system.
    Java,
    /// ABAP and Java in one system.
    DualStack,
    /// A HANA database system.
    Hana,
    /// Another database server.
    Database,
    /// Anything else (a terminal server, a web application, …).
    Other,
}

/// The system's lifecycle status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SystemStatus {
    /// In use; service connections may be opened.
    Active,
    /// Kept on record but not in use: windows may not be opened.
    Inactive,
}

macro_rules! names {
    ($t:ty, $what:literal, $($v:ident => $s:literal),+ $(,)?) => {
        impl $t {
            /// Every value.
            pub const ALL: &'static [$t] = &[$(<$t>::$v),+];
            /// The stored (and serialized) name.
            pub fn as_str(self) -> &'static str {
                match self { $(<$t>::$v => $s),+ }
            }
        }
        impl std::str::FromStr for $t {
            type Err = SystemError;
            fn from_str(s: &str) -> Result<Self, SystemError> {
                <$t>::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    SystemError::Invalid {
                        field: $what,
                        reason: format!(
                            "{s:?} is not one of: {}",
                            <$t>::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    }
                })
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

names!(SystemType, "system_type",
    Abap => "abap", Java => "java", DualStack => "dual_stack", Hana => "hana",
    Database => "database", Other => "other");
names!(SystemStatus, "status", Active => "active", Inactive => "inactive");

/// The fields a user maintains (everything but ids and timestamps).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemData {
    /// System ID: three characters, upper-case letters and digits, starting with a letter.
    pub sid: String,
    /// Two digits, `00`–`99` (the instance number that gives ports like 32NN).
    pub system_number: String,
    /// Kind of system.
    pub system_type: SystemType,
    /// Installed product, e.g. `SAP S/4HANA`.
    pub product: String,
    /// Its version, e.g. `2023 FPS01`.
    pub product_version: String,
    /// Installation number: ten digits.
    pub installation_number: String,
    /// Lifecycle status.
    pub status: SystemStatus,
    /// The customer requires EU data protection (access from the EU only).
    pub eu_data_protection: bool,
    /// The customer requires advanced secure support.
    pub advanced_secure_support: bool,
    /// Engineers' access requests may open a window without a customer admin (the line
    /// opener; RC-13).
    pub allow_independent_opening: bool,
    /// Free text.
    pub description: String,
}

/// A field did not follow its rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SystemError {
    /// One field is wrong; the reason says how.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field's name as the API spells it.
        field: &'static str,
        /// What is wrong and what is expected.
        reason: String,
    },
}

fn invalid(field: &'static str, reason: impl Into<String>) -> SystemError {
    SystemError::Invalid {
        field,
        reason: reason.into(),
    }
}

/// Checks a SID.
pub fn check_sid(sid: &str) -> Result<(), SystemError> {
    let b = sid.as_bytes();
    let ok = b.len() == 3
        && b[0].is_ascii_uppercase()
        && b.iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if !ok {
        return Err(invalid(
            "sid",
            format!("{sid:?} is not a system ID: three characters, upper-case letters A-Z and digits, starting with a letter (e.g. PRD)"),
        ));
    }
    if RESERVED_SIDS.contains(&sid) {
        return Err(invalid(
            "sid",
            format!("{sid} is reserved by SAP and cannot be a system ID"),
        ));
    }
    Ok(())
}

impl SystemData {
    /// Checks every field; the first wrong one is reported.
    pub fn validate(&self) -> Result<(), SystemError> {
        check_sid(&self.sid)?;
        let nr = self.system_number.as_bytes();
        if nr.len() != 2 || !nr.iter().all(u8::is_ascii_digit) {
            return Err(invalid(
                "system_number",
                format!(
                    "{:?} is not a system number: two digits, 00 to 99",
                    self.system_number
                ),
            ));
        }
        let inst = self.installation_number.as_bytes();
        if inst.len() != 10 || !inst.iter().all(u8::is_ascii_digit) {
            return Err(invalid(
                "installation_number",
                format!(
                    "{:?} is not an installation number: ten digits",
                    self.installation_number
                ),
            ));
        }
        for (field, v, max) in [
            ("product", &self.product, 120),
            ("product_version", &self.product_version, 60),
            ("description", &self.description, 2000),
        ] {
            if v.chars().count() > max {
                return Err(invalid(field, format!("at most {max} characters")));
            }
            if v.chars().any(|c| c.is_control() && c != '\n') {
                return Err(invalid(field, "control characters are not allowed"));
            }
        }
        if self.product.trim().is_empty() {
            return Err(invalid(
                "product",
                "name the installed product (e.g. SAP S/4HANA)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> SystemData {
        SystemData {
            sid: "PRD".into(),
            system_number: "00".into(),
            system_type: SystemType::Abap,
            product: "SAP S/4HANA".into(),
            product_version: "2023".into(),
            installation_number: "0020123456".into(),
            status: SystemStatus::Active,
            eu_data_protection: true,
            advanced_secure_support: false,
            allow_independent_opening: false,
            description: "ERP production".into(),
        }
    }

    #[test]
    fn a_good_system_passes() {
        sample().validate().unwrap();
    }

    #[test]
    fn each_field_has_its_rule() {
        type Change = fn(&mut SystemData);
        let cases: &[(&str, Change)] = &[
            ("sid", |s| s.sid = "prd".into()),
            ("sid", |s| s.sid = "1PR".into()),
            ("sid", |s| s.sid = "PRDX".into()),
            ("sid", |s| s.sid = "SAP".into()),
            ("system_number", |s| s.system_number = "0".into()),
            ("system_number", |s| s.system_number = "1a".into()),
            ("installation_number", |s| {
                s.installation_number = "12345".into()
            }),
            ("product", |s| s.product = " ".into()),
            ("description", |s| s.description = "x".repeat(2001)),
            ("product_version", |s| s.product_version = "a\u{7}".into()),
        ];
        for (field, change) in cases {
            let mut s = sample();
            change(&mut s);
            match s.validate() {
                Err(SystemError::Invalid { field: f, .. }) => assert_eq!(f, *field, "{s:?}"),
                other => panic!("{s:?}: {other:?}"),
            }
        }
        assert_eq!(
            check_sid("SAP").unwrap_err().to_string(),
            "sid: SAP is reserved by SAP and cannot be a system ID"
        );
    }

    #[test]
    fn enum_names_parse_with_a_helpful_error() {
        assert_eq!(
            "dual_stack".parse::<SystemType>(),
            Ok(SystemType::DualStack)
        );
        let e = "abap4".parse::<SystemType>().unwrap_err().to_string();
        assert!(
            e.contains("abap, java, dual_stack, hana, database, other"),
            "{e}"
        );
        assert_eq!(
            "inactive".parse::<SystemStatus>(),
            Ok(SystemStatus::Inactive)
        );
    }
}
