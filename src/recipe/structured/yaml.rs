//! yaml edits (to be written).

use super::{Applied, Edit, EditError};

pub(super) fn apply(text: &str, edits: &[Edit]) -> Result<Applied, EditError> {
    let _ = edits;
    Err(EditError::Parse {
        format: "yaml",
        line: 1,
        message: format!(
            "{} edits are not implemented yet ({} bytes)",
            "yaml",
            text.len()
        ),
    })
}
