//! Which images a build made itself, as its output tells.
//!
//! The legacy builder commits an image for every step and prints its id,
//! after ` ---> Using cache` when the step came from the cache: from an
//! image that was there before, perhaps someone else's. A stage's steps
//! come from the cache up to the first one that changed and are all made
//! anew from there, so a stage's top image is this build's exactly when
//! its last step was not from the cache. BuildKit keeps the stages before
//! the last in its own cache, as no image, and Buildah prints no step's id
//! when given `--iidfile`, as every build of ours is: their output names
//! no stage image, and the iidfile names the last.

/// The short ids (12 digits) of the stage tops that the build whose
/// output is `output` made itself, the last stage's too; none for
/// BuildKit's and Buildah's output.
pub fn stage_tops_made(output: &str) -> Vec<String> {
    let mut made = Vec::new();
    // The image of the stage's latest step, and whether this build made it.
    let mut top: Option<(&str, bool)> = None;
    let (mut from, mut cached) = (false, false);
    for line in output.lines().map(|line| line.trim_start_matches("\u{1b}[0m").trim()) {
        if let Some(instruction) = legacy_step(line) {
            from = instruction.eq_ignore_ascii_case("FROM");
            cached = false;
            if from {
                made.extend(top.take().filter(|(_, ours)| *ours).map(|(id, _)| id.to_string()));
            }
        } else if line == "---> Using cache" {
            cached = true;
        } else if let Some(id) = line.strip_prefix("---> ").filter(|id| is_short_id(id)) {
            // A FROM step's image is the base, which nobody made here.
            top = Some((id, !from && !cached));
        }
    }
    made.extend(top.filter(|(_, ours)| *ours).map(|(id, _)| id.to_string()));
    made
}

/// The instruction of a legacy builder's step line, `Step 4/19 : FROM …`.
fn legacy_step(line: &str) -> Option<&str> {
    let (number, step) = line.strip_prefix("Step ")?.split_once(" : ")?;
    number.split_once('/').filter(|(n, of)| is_number(n) && is_number(of))?;
    step.split_whitespace().next()
}

fn is_number(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

fn is_short_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A two-stage build, as Docker 28's legacy builder printed it.
    const MADE: &str = "Sending build context to Docker daemon  3.072kB
Step 1/7 : ARG BASE=xtask-standin/python:bookworm-slim
Step 2/7 : FROM ${BASE} AS b
 ---> 2be53607e943
Step 3/7 : WORKDIR /x
 ---> Running in f53160d6c093
Removing intermediate container f53160d6c093
 ---> 35e9dfd6305a
Step 4/7 : RUN echo hi-2107 > f
 ---> Running in 2b2c8f2489a7
\u{1b}[91m ---> 000000000000 is what the step printed
\u{1b}[0mRemoving intermediate container 2b2c8f2489a7
 ---> 8bd281339caa
Step 5/7 : FROM ${BASE}
 ---> 2be53607e943
Step 6/7 : COPY --from=b /x/f /f
 ---> d6311e7f7d9f
Step 7/7 : CMD [\"cat\", \"/f\"]
 ---> Running in 88acf9531d1a
Removing intermediate container 88acf9531d1a
 ---> 58c4371b4bf3
Successfully built 58c4371b4bf3
";

    #[test]
    fn a_legacy_build_made_the_tops_of_the_stages_it_ran() {
        assert_eq!(stage_tops_made(MADE), ["8bd281339caa", "58c4371b4bf3"]);
    }

    #[test]
    fn a_stage_from_the_cache_is_not_the_build_s() {
        let cached = "Step 2/7 : FROM ${BASE} AS b
 ---> 2be53607e943
Step 3/7 : WORKDIR /x
 ---> Using cache
 ---> 35e9dfd6305a
Step 4/7 : RUN echo hi-2107 > f
 ---> Using cache
 ---> 8bd281339caa
Step 5/7 : FROM ${BASE}
 ---> 2be53607e943
Step 6/7 : USER 10001:10001
 ---> Using cache
 ---> d6311e7f7d9f
Step 7/7 : COPY app/ .
 ---> 0f9e8d7c6b5a
Successfully built 0f9e8d7c6b5a
";
        assert_eq!(stage_tops_made(cached), ["0f9e8d7c6b5a"]);
        // A stage that is its base alone.
        assert!(stage_tops_made("Step 1/1 : FROM scratch\n ---> \nSuccessfully built 1a2b3c4d5e6f\n").is_empty());
    }

    /// Candidate builds twice when the cache held other build args: both count.
    #[test]
    fn two_builds_in_one_output_are_read_each() {
        assert_eq!(stage_tops_made(&MADE.repeat(2)), ["8bd281339caa", "58c4371b4bf3"].repeat(2));
    }

    #[test]
    fn other_builders_name_no_stage_image() {
        let buildkit = "#5 [builder 2/4] WORKDIR /app\n#5 CACHED\n#9 exporting to image\n#9 writing image sha256:58c4371b4bf3ae36e2a59fad4a7f834aa9cf513acbecbe9583f1e692d584d1a2 done\n";
        let buildah = "[1/2] STEP 1/4: FROM localhost/xtask-standin/python:bookworm AS builder\n[1/2] STEP 2/4: WORKDIR /app\n--> Using cache 4a8b0c2d9e1f4a8b0c2d9e1f4a8b0c2d9e1f4a8b0c2d9e1f4a8b0c2d9e1f4a8b\n[2/2] COMMIT\n";
        assert!(stage_tops_made(buildkit).is_empty());
        assert!(stage_tops_made(buildah).is_empty());
    }
}
