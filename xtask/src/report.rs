//! What every task returns: a report that serialises to the one JSON
//! document on stdout, knows whether the task succeeded, and renders
//! itself for a person; and the `image` report, which every task that
//! builds extends.

use serde::Serialize;

use crate::engine::ImageInfo;

pub trait Report: Serialize {
    fn success(&self) -> bool;

    /// The report of a run that failed before its task began: a mistake
    /// in the command line. Same shape as the task's own report.
    fn failure(message: String) -> Self;

    /// What a person reads on stderr beside the JSON: a table, findings.
    /// By default its message.
    fn human(&self) -> String {
        message_of(self)
    }
}

/// A report's `message`, as a person reads it: failures say `error:`.
fn message_of<R: Report + ?Sized>(report: &R) -> String {
    let json = serde_json::to_value(report).unwrap_or_default();
    match (json["message"].as_str().unwrap_or_default(), report.success()) {
        ("", _) => String::new(),
        (message, true) => message.to_string(),
        (message, false) => format!("error: {message}"),
    }
}

/// A report that extends `image`'s with fields of its own (`#[serde(flatten)]`):
/// its task succeeded when the image report says so. `extends_image!`
/// implements it.
pub trait ExtendsImage: Serialize + Default {
    fn image(&self) -> &ImageReport;

    fn image_mut(&mut self) -> &mut ImageReport;

    /// What a person reads above the message, such as a table.
    fn details(&self) -> String;
}

/// `ExtendsImage` for a report whose field `image` is the flattened image
/// report; `details` renders what a person reads above its message.
macro_rules! extends_image {
    ($report:ty) => {
        $crate::report::extends_image!($report, |_| String::new());
    };
    ($report:ty, $details:expr) => {
        impl $crate::report::ExtendsImage for $report {
            fn image(&self) -> &$crate::report::ImageReport {
                &self.image
            }

            fn image_mut(&mut self) -> &mut $crate::report::ImageReport {
                &mut self.image
            }

            fn details(&self) -> String {
                let details: fn(&Self) -> String = $details;
                details(self)
            }
        }
    };
}
pub(crate) use extends_image;

impl<T: ExtendsImage> Report for T {
    fn success(&self) -> bool {
        self.image().success
    }

    fn failure(message: String) -> T {
        let mut report = T::default();
        *report.image_mut() = ImageReport::failure(message);
        report
    }

    fn human(&self) -> String {
        [self.details(), message_of(self)].into_iter().filter(|part| !part.is_empty()).collect::<Vec<_>>().join("\n")
    }
}

/// A report, serialised, with the exit code it calls for, and its human form.
pub struct Printed {
    pub json: String,
    pub human: String,
    pub code: u8,
}

impl Printed {
    /// Exit code 1 for a failure; `usage` (2) for a mistake in the command line.
    pub fn of(report: &impl Report) -> Printed {
        let json = serde_json::to_string_pretty(report).expect("reports serialise");
        Printed { json, human: report.human(), code: if report.success() { 0 } else { 1 } }
    }

    /// The report on one line: one of the lines a loop (`watch`) prints.
    pub fn line(report: &impl Report) -> Printed {
        let json = serde_json::to_string(report).expect("reports serialise");
        Printed { json, ..Printed::of(report) }
    }

    /// Text for stdout alone, such as `--help`: exit code 0.
    pub fn text(text: String) -> Printed {
        Printed { json: text, human: String::new(), code: 0 }
    }

    /// `printed`, as a mistake in the command line: exit code 2.
    pub fn usage(printed: Printed) -> Printed {
        Printed { code: 2, ..printed }
    }
}

/// The report of a command line that names no task.
#[derive(Debug, Serialize)]
pub struct NoTask {
    pub success: bool,
    pub message: String,
}

impl Report for NoTask {
    fn success(&self) -> bool {
        self.success
    }

    fn failure(message: String) -> NoTask {
        NoTask { success: false, message }
    }
}

/// The contract's output for `image`: these fields and no others.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageReport {
    /// Empty when no image was built.
    pub image_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Bytes, as the engine's image inspect counts them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl ImageReport {
    /// A failure of the image of `tag`, or of the command line (no tag).
    pub fn failed(tag: Option<String>, error: &anyhow::Error) -> ImageReport {
        ImageReport { tag, message: Some(format!("{error:#}")), ..ImageReport::default() }
    }

    /// The image `info` under `tag`: "{done} TAG (N MB){more}."
    pub fn of_image(tag: &str, info: &ImageInfo, done: &str, more: &str) -> ImageReport {
        ImageReport {
            message: Some(format!("{done} {tag} ({:.1} MB){more}.", info.size as f64 / 1e6)),
            image_id: info.id.clone(),
            tag: Some(tag.to_string()),
            size: Some(info.size),
            success: true,
        }
    }

    /// Records how a task that went on from this image ended.
    pub fn settle(&mut self, outcome: anyhow::Result<String>) {
        self.success = outcome.is_ok();
        self.message = Some(outcome.unwrap_or_else(|error| format!("{error:#}")));
    }
}

impl Report for ImageReport {
    fn success(&self) -> bool {
        self.success
    }

    fn failure(message: String) -> ImageReport {
        ImageReport { message: Some(message), ..ImageReport::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_image_report_has_only_the_contract_fields() {
        let failed = ImageReport::failed(Some("t:1".into()), &anyhow::anyhow!("no"));
        assert_eq!(
            serde_json::to_string(&failed).unwrap(),
            r#"{"imageId":"","tag":"t:1","success":false,"message":"no"}"#
        );
    }

    #[test]
    fn exit_codes_follow_the_report() {
        assert_eq!(Printed::of(&ImageReport { success: true, ..Default::default() }).code, 0);
        assert_eq!(Printed::of(&ImageReport::failure("no".into())).code, 1);
        let usage = Printed::usage(Printed::of(&NoTask::failure("`x` is not a task".into())));
        assert_eq!(
            (usage.code, usage.json.as_str()),
            (2, "{\n  \"success\": false,\n  \"message\": \"`x` is not a task\"\n}")
        );
    }
}
