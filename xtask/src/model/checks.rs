//! The project's smoke checks, written once in `checks.json` beside the
//! Dockerfile rather than as flags on every command: the requests that
//! prove the service (a write among them: a POST with a JSON or form body,
//! the status it must answer, a field its JSON answer must have, and the
//! value it must have), the headers every request carries, and the path
//! that says the service is ready. A field's value is kept for the checks
//! after it (`{id}`, `Bearer {access_token}`), and a check may be asked
//! again until it holds (`within`: a job that a worker does).
//!
//! A header's value is a reference to a variable, `${NAME}`, or (in a
//! check's own headers) to an earlier answer, `{name}`, never a value: the
//! file is committed, and a token in it would be published.
//!
//! ```json
//! {
//!   "ready": "/status",
//!   "headers": { "X-Token": "${API_TOKEN}" },
//!   "checks": [
//!     { "path": "/items/1", "status": 404 },
//!     { "method": "POST", "path": "/login", "form": { "username": "a", "password": "b" }, "field": "access_token" },
//!     { "method": "POST", "path": "/jobs", "headers": { "Authorization": "Bearer {access_token}" },
//!       "json": { "n": 2 }, "status": 202, "field": "id" },
//!     { "path": "/jobs/{id}", "field": "state", "equals": "SUCCESS", "within": 20 }
//!   ]
//! }
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One request of a check, and what its answer must be.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    #[serde(default = "get")]
    pub method: String,
    pub path: String,
    /// A JSON body to send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<serde_json::Value>,
    /// A form to send (`application/x-www-form-urlencoded`, as an OAuth2
    /// password login takes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<BTreeMap<String, String>>,
    /// Headers of this request alone, each naming an earlier answer's
    /// value: `"Authorization": "Bearer {access_token}"`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default = "ok")]
    pub status: u16,
    /// A field the JSON answer must have, not null: `id`, or `data.id`.
    /// Its value is kept under its last name (`id`), for the paths of the
    /// checks after it: `/items/{id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The value the field must have: a job's `"SUCCESS"`, not only any state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<serde_json::Value>,
    /// Seconds within which the answer must come right: the check is
    /// asked again until then (a job that a worker does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<f64>,
}

fn get() -> String {
    "GET".into()
}

fn ok() -> u16 {
    200
}

impl Request {
    /// `GET path`, answering `status`.
    pub fn get(path: String, status: u16) -> Request {
        Request {
            method: get(),
            path,
            json: None,
            form: None,
            headers: BTreeMap::new(),
            status,
            field: None,
            equals: None,
            within: None,
        }
    }

    /// This request with each `{name}` of its path, its form's values and
    /// its headers replaced by the value an earlier answer gave under that
    /// name.
    pub fn with_values(&self, values: &BTreeMap<String, String>) -> Request {
        let fill = |text: &String| {
            values.iter().fold(text.clone(), |text, (name, value)| text.replace(&format!("{{{name}}}"), value))
        };
        let filled = |map: &BTreeMap<String, String>| map.iter().map(|(k, v)| (k.clone(), fill(v))).collect();
        Request {
            path: fill(&self.path),
            form: self.form.as_ref().map(filled),
            headers: filled(&self.headers),
            ..self.clone()
        }
    }

    /// The body to send, and its content type.
    pub fn body(&self) -> Option<(&'static str, Vec<u8>)> {
        if let Some(json) = &self.json {
            return Some(("application/json", json.to_string().into_bytes()));
        }
        let form = self.form.as_ref()?;
        let pairs: Vec<String> = form.iter().map(|(k, v)| format!("{}={}", form_encoded(k), form_encoded(v))).collect();
        Some(("application/x-www-form-urlencoded", pairs.join("&").into_bytes()))
    }

    /// The value of the field the answer `body` must have, under the
    /// field's last name: `("id", "3")` of `data.id`.
    pub fn value(&self, body: &[u8]) -> Option<(String, String)> {
        let field = self.field.as_deref()?;
        let answer: serde_json::Value = serde_json::from_slice(body).ok()?;
        let found = field.split('.').try_fold(&answer, |value, key| value.get(key))?;
        let text = match found {
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        Some((field.rsplit('.').next()?.to_string(), text))
    }

    /// What is wrong with the answer `status` and `body`, if anything.
    pub fn fault(&self, status: u16, body: &[u8]) -> Option<String> {
        if status != self.status {
            return Some(format!("answered {status}"));
        }
        let field = self.field.as_deref()?;
        let answer: serde_json::Value = match serde_json::from_slice(body) {
            Ok(answer) => answer,
            Err(_) => return Some(format!("answered {status} with no JSON, and `{field}` was expected")),
        };
        let found = field.split('.').try_fold(&answer, |value, key| value.get(key));
        match (found, &self.equals) {
            (Some(value), Some(wanted)) if value != wanted => {
                Some(format!("answered {status} with `{field}` {value}, not {wanted}"))
            }
            (Some(value), _) if !value.is_null() => None,
            _ => Some(format!("answered {status} without `{field}`")),
        }
    }
}

/// `text` as a form's key or value: letters, digits and `-._~` as they
/// are, a space as `+`, every other byte as `%XX`.
fn form_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `checks.json` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecksFile {
    #[serde(default)]
    pub ready: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub checks: Vec<Request>,
    /// The checks of the whole stack (`smoke --stack`).
    #[serde(default)]
    pub stack: StackChecks,
}

/// The checks that need the whole stack: a row written and read back, a
/// job a worker does. They go to the service built from the project's
/// image that publishes a port.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackChecks {
    #[serde(default)]
    pub checks: Vec<Request>,
}

const METHODS: [&str; 6] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

impl ChecksFile {
    /// Reads `text`; a sentence that says what is wrong, never a value
    /// (serde's own messages quote them).
    pub fn parse(text: &str) -> Result<ChecksFile, String> {
        let file: ChecksFile = serde_json::from_str(text).map_err(|e| {
            let what = match e.classify() {
                serde_json::error::Category::Data => {
                    "its fields are ready, headers (NAME: \"${VARIABLE}\"), checks (method, path, json or form, \
                     headers, status, field, equals, within) and stack (checks)"
                }
                _ => "it is not JSON",
            };
            format!("line {}, column {}: {what}", e.line(), e.column())
        })?;
        for check in file.checks.iter().chain(&file.stack.checks) {
            if !METHODS.contains(&check.method.as_str()) {
                return Err(format!("the method of {} must be one of {}", check.path, METHODS.join(", ")));
            }
            if !(100..=599).contains(&check.status) {
                return Err(format!("the status of {} {} must be from 100 to 599", check.method, check.path));
            }
            if check.within.is_some_and(|secs| !(secs > 0.0 && secs <= 600.0)) {
                return Err(format!("the within of {} {} must be seconds from 0 to 600", check.method, check.path));
            }
            if check.json.is_some() && check.form.is_some() {
                return Err(format!("{} {} sends json or a form, not both", check.method, check.path));
            }
            if check.equals.is_some() && check.field.is_none() {
                return Err(format!("the equals of {} {} needs the field it is about", check.method, check.path));
            }
            for (name, value) in &check.headers {
                if !names_an_answer(value) {
                    return Err(format!(
                        "the header {name} of {} {} must name an earlier answer's value, such as \"Bearer \
                         {{access_token}}\": the file is committed, and a value in it is published",
                        check.method, check.path
                    ));
                }
            }
        }
        for (name, value) in &file.headers {
            if variable(value).is_none() {
                return Err(format!(
                    "the header {name} must be a variable, such as \"${{API_TOKEN}}\": the file is committed, and a \
                     value in it is published"
                ));
            }
        }
        Ok(file)
    }
}

/// Whether a check's header names a value that an earlier answer gives:
/// `Bearer {access_token}`.
fn names_an_answer(value: &str) -> bool {
    value.split('{').skip(1).any(|rest| rest.split_once('}').is_some_and(|(name, _)| !name.is_empty()))
}

/// `${NAME}` → `NAME`.
pub fn variable(value: &str) -> Option<&str> {
    let name = value.strip_prefix("${")?.strip_suffix('}')?;
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    (!name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit()) && name.chars().all(word)).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_of_checks_is_read() {
        let file = ChecksFile::parse(
            r#"{"ready": "/status", "headers": {"X-Token": "${API_TOKEN}"},
                "checks": [{"path": "/items/1", "status": 404},
                           {"method": "POST", "path": "/items", "json": {"name": "pen"}, "status": 201, "field": "id"}]}"#,
        )
        .unwrap();
        assert_eq!(file.ready.as_deref(), Some("/status"));
        assert_eq!(file.checks[0], Request::get("/items/1".into(), 404));
        assert_eq!((file.checks[1].method.as_str(), file.checks[1].field.as_deref()), ("POST", Some("id")));
        assert_eq!(variable(&file.headers["X-Token"]), Some("API_TOKEN"));
    }

    #[test]
    fn mistakes_are_named_and_literal_header_values_refused() {
        for (text, says) in [
            (r#"{"headers": {"X-Token": "s3cret-value"}}"#, "the header X-Token must be a variable"),
            (r#"{"checks": [{"method": "FETCH", "path": "/"}]}"#, "the method of / must be one of"),
            (r#"{"checks": [{"path": "/", "status": 99}]}"#, "must be from 100 to 599"),
            (r#"{"checks": [{"path": "/", "expect": 200}]}"#, "its fields are"),
            (r#"{"checks": [{"path": 7}]}"#, "its fields are"),
            ("{", "it is not JSON"),
        ] {
            let error = ChecksFile::parse(text).unwrap_err();
            assert!(error.contains(says), "{text}: {error}");
            assert!(!error.contains("s3cret"), "{error}");
        }
    }

    #[test]
    fn an_answer_is_judged_by_status_and_field() {
        let post = Request { field: Some("data.id".into()), ..Request::get("/items".into(), 201) };
        assert_eq!(post.fault(201, br#"{"data": {"id": 3}}"#), None);
        assert_eq!(post.fault(500, b""), Some("answered 500".into()));
        assert_eq!(post.fault(201, br#"{"data": {"id": null}}"#), Some("answered 201 without `data.id`".into()));
        assert_eq!(post.fault(201, b"ok"), Some("answered 201 with no JSON, and `data.id` was expected".into()));
        assert_eq!(Request::get("/".into(), 200).fault(200, b"<html>"), None);
    }

    #[test]
    fn a_form_login_gives_a_token_to_the_checks_after_it_and_a_job_is_polled_for_its_value() {
        let file = ChecksFile::parse(
            r#"{"checks": [
                {"method": "POST", "path": "/login", "form": {"username": "a b", "password": "p&q"}, "field": "access_token"},
                {"path": "/jobs/1", "headers": {"Authorization": "Bearer {access_token}"}, "field": "state",
                 "equals": "SUCCESS", "within": 20}]}"#,
        )
        .unwrap();
        let [login, job] = &file.checks[..] else { panic!() };
        assert_eq!(login.body(), Some(("application/x-www-form-urlencoded", b"password=p%26q&username=a+b".to_vec())));
        let values = BTreeMap::from([("access_token".to_string(), "t0k".to_string())]);
        assert_eq!(job.with_values(&values).headers["Authorization"], "Bearer t0k");
        assert_eq!(job.fault(200, br#"{"state": "SUCCESS"}"#), None);
        assert_eq!(
            job.fault(200, br#"{"state": "STARTED"}"#),
            Some(r#"answered 200 with `state` "STARTED", not "SUCCESS""#.into())
        );
        for (text, says) in [
            (r#"{"checks": [{"path": "/", "headers": {"Authorization": "Bearer abc"}}]}"#, "must name an earlier"),
            (r#"{"checks": [{"path": "/", "json": {}, "form": {}}]}"#, "not both"),
            (r#"{"checks": [{"path": "/", "equals": 1}]}"#, "needs the field"),
        ] {
            assert!(ChecksFile::parse(text).unwrap_err().contains(says), "{text}");
        }
    }

    #[test]
    fn a_later_check_uses_what_an_earlier_answer_gave() {
        let file = ChecksFile::parse(
            r#"{"stack": {"checks": [
                {"method": "POST", "path": "/jobs", "json": {"a": 2}, "status": 202, "field": "data.id"},
                {"path": "/jobs/{id}", "field": "result", "within": 10}]}}"#,
        )
        .unwrap();
        let [post, get] = &file.stack.checks[..] else { panic!() };
        let (name, value) = post.value(br#"{"data": {"id": "ab-1"}}"#).unwrap();
        assert_eq!((name.as_str(), value.as_str()), ("id", "ab-1"));
        assert_eq!(post.value(br#"{"data": {"id": 7}}"#).unwrap().1, "7");
        let values = BTreeMap::from([(name, value)]);
        assert_eq!((get.with_values(&values).path.as_str(), get.within), ("/jobs/ab-1", Some(10.0)));
        let never = r#"{"stack": {"checks": [{"path": "/", "within": 0}]}}"#;
        assert!(ChecksFile::parse(never).unwrap_err().contains("the within of GET / must be"));
    }
}
