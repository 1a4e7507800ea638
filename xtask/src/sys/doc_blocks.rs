//! The blocks of docs/reference.md that the code writes, each between
//! `<!-- NAME:begin -->` and `<!-- NAME:end -->` (the flag tables, the
//! rule tables): the unit test of the code that declares a block compares
//! it with what the code makes, and with UPDATE_DOCS=1 writes it instead,
//! so that the docs cannot drift from the declarations.

use std::sync::Mutex;

/// One block written at a time: two tests that each read the file, put
/// their block in and write it back would lose the first one's.
static WRITING: Mutex<()> = Mutex::new(());

/// Fails when block `name` of docs/reference.md differs from `generated`,
/// saying to run the test `test` (a filter of its name) with UPDATE_DOCS=1,
/// which writes the block instead.
pub fn check_reference_block(name: &str, generated: &str, test: &str) {
    let _writing = WRITING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let path = super::project::root().join("docs/reference.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let (begin, end) = (format!("<!-- {name}:begin -->\n"), format!("<!-- {name}:end -->"));
    let start = text.find(&begin).unwrap_or_else(|| panic!("docs/reference.md has no {begin:?} marker")) + begin.len();
    let stop = text.find(&end).unwrap_or_else(|| panic!("docs/reference.md has no {end:?} marker"));
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, format!("{}{}\n{}", &text[..start], generated.trim(), &text[stop..])).unwrap();
        return;
    }
    let (doc, code) = (text[start..stop].trim(), generated.trim());
    let differs = doc.lines().zip(code.lines()).find(|(doc, code)| doc != code);
    assert!(
        differs.is_none() && doc.lines().count() == code.lines().count(),
        "docs/reference.md's {name} block differs from the code ({differs:?}): \
         run `UPDATE_DOCS=1 cargo test -p xtask --lib {test}`"
    );
}
