//! The `*ERR*` block: the text of an `NI_RTERR` error message (sap-reference §1.6.1).
//!
//! Twenty-one NUL-terminated strings: `*ERR*`, the nineteen fields of [`ErrorInfo`] in wire
//! order, `*ERR*`. Fields are decimal numbers or free ASCII text; a decoder reads them as
//! lossy UTF-8 because an errno text may come from a localised C library.

use crate::error::NiError;
use crate::return_code::ReturnCode;
use crate::wire::Reader;

/// First and last string of the block.
pub const ERR_MARKER: &str = "*ERR*";
/// The component string SAProuter puts in its errors.
pub const COMPONENT: &str = "NI (network interface)";
/// Strings in a block: two markers and nineteen fields.
const STRINGS: usize = 21;

/// The fields of an `*ERR*` block, in wire order. Every field is text, as on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorInfo {
    /// Position of this error in the chain (`"1"`).
    pub counter: String,
    /// The error text, e.g. `route permission denied (10.0.0.9 to 10.0.0.1, 3200)`.
    pub error: String,
    /// The return code as a decimal string (`"-94"`).
    pub return_code: String,
    /// The component (`"NI (network interface)"`).
    pub component: String,
    /// SAP release (`"721"`); leaks the version.
    pub release: String,
    /// NI version (`"40"`).
    pub ni_version: String,
    /// Source module (`"nirout.cpp"`); leaks the build.
    pub module: String,
    /// Source line (`"3964"`); leaks the build.
    pub line: String,
    /// Detail, e.g. the function name (`"NiRClientHandle"`).
    pub detail: String,
    /// When it happened, `%a %b %d %H:%M:%S %Y` ([`format_error_time`]).
    pub time: String,
    /// The failing system call.
    pub system_call: String,
    /// The errno, decimal.
    pub errno: String,
    /// The errno's text.
    pub errno_text: String,
    /// How many times the error occurred (`"1"`).
    pub error_count: String,
    /// Where: `SAProuter 40.4 on 'host'`; leaks version and host name.
    pub location: String,
    /// Four further strings, normally empty.
    pub reserved: [String; 4],
}

/// What a router may add to its errors when details are not hidden (`-Z` off).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorContext {
    /// Release string.
    pub release: String,
    /// Source module.
    pub module: String,
    /// Source line.
    pub line: String,
    /// Detail (function name or similar).
    pub detail: String,
    /// Failing system call.
    pub system_call: String,
    /// Location, e.g. `Portcullis 0.1 on 'gw1'`.
    pub location: String,
}

impl ErrorInfo {
    /// The error a router answers with.
    ///
    /// With `hide_detail` (SAProuter `-Z`, Portcullis's default) release, module, line,
    /// detail, system call and location stay empty, so an anonymous peer learns the code and
    /// the text but nothing to fingerprint the router with. Errno fields are always empty:
    /// a router's local errno is nobody else's business. `time` is preformatted by the caller
    /// (this crate reads no clock); see [`format_error_time`].
    pub fn for_router(
        code: ReturnCode,
        error: impl Into<String>,
        ni_version: u8,
        time: impl Into<String>,
        context: &ErrorContext,
        hide_detail: bool,
    ) -> ErrorInfo {
        let mut info = ErrorInfo {
            counter: "1".into(),
            error: error.into(),
            return_code: code.code().to_string(),
            component: COMPONENT.into(),
            ni_version: ni_version.to_string(),
            time: time.into(),
            error_count: "1".into(),
            ..ErrorInfo::default()
        };
        if !hide_detail {
            info.release = context.release.clone();
            info.module = context.module.clone();
            info.line = context.line.clone();
            info.detail = context.detail.clone();
            info.system_call = context.system_call.clone();
            info.location = context.location.clone();
        }
        info
    }

    fn fields(&self) -> [&str; STRINGS - 2] {
        let [r0, r1, r2, r3] = &self.reserved;
        [
            &self.counter,
            &self.error,
            &self.return_code,
            &self.component,
            &self.release,
            &self.ni_version,
            &self.module,
            &self.line,
            &self.detail,
            &self.time,
            &self.system_call,
            &self.errno,
            &self.errno_text,
            &self.error_count,
            &self.location,
            r0,
            r1,
            r2,
            r3,
        ]
    }

    /// Encodes the block. A field containing a NUL is cut there (the wire cannot carry it).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut push = |s: &str| {
            out.extend_from_slice(s.split('\0').next().unwrap_or_default().as_bytes());
            out.push(0);
        };
        push(ERR_MARKER);
        for field in self.fields() {
            push(field);
        }
        push(ERR_MARKER);
        out
    }

    /// Decodes a block: exactly 21 NUL-terminated strings, the first and last `*ERR*`.
    pub fn decode(text: &[u8]) -> Result<ErrorInfo, NiError> {
        let mut r = Reader::new(text);
        let mut strings: Vec<String> = Vec::with_capacity(STRINGS);
        while r.remaining() > 0 {
            if strings.len() == STRINGS {
                return Err(NiError::BadErrorInfo {
                    reason: "more than 21 strings",
                });
            }
            let s = r.cstr("error information string")?;
            strings.push(String::from_utf8_lossy(s).into_owned());
        }
        let Ok(strings) = <[String; STRINGS]>::try_from(strings) else {
            return Err(NiError::BadErrorInfo {
                reason: "fewer than 21 strings",
            });
        };
        let [first, counter, error, return_code, component, release, ni_version, module, line, detail, time, system_call, errno, errno_text, error_count, location, r0, r1, r2, r3, last] =
            strings;
        if first != ERR_MARKER || last != ERR_MARKER {
            return Err(NiError::BadErrorInfo {
                reason: "not enclosed in *ERR* markers",
            });
        }
        Ok(ErrorInfo {
            counter,
            error,
            return_code,
            component,
            release,
            ni_version,
            module,
            line,
            detail,
            time,
            system_call,
            errno,
            errno_text,
            error_count,
            location,
            reserved: [r0, r1, r2, r3],
        })
    }

    /// The return-code field as a number, if it is one.
    pub fn return_code_value(&self) -> Option<i32> {
        self.return_code.parse().ok()
    }
}

/// `unix_secs` (UTC) in the `*ERR*` time format, `%a %b %d %H:%M:%S %Y`:
/// `Mon Jan 01 00:00:00 2024`.
pub fn format_error_time(unix_secs: i64) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix_secs.div_euclid(86_400);
    let secs = unix_secs.rem_euclid(86_400);
    // 1970-01-01 was a Thursday.
    let weekday = DAYS
        .get(days.saturating_add(4).rem_euclid(7) as usize)
        .unwrap_or(&"???");
    // Civil date from a day count (proleptic Gregorian, eras of 400 years = 146 097 days).
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe
        .saturating_add(era.saturating_mul(400))
        .saturating_add(i64::from(month <= 2));
    let month = MONTHS.get((month - 1) as usize).unwrap_or(&"???");
    format!(
        "{weekday} {month} {day:02} {:02}:{:02}:{:02} {year}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
#[path = "error_info_tests.rs"]
mod tests;
