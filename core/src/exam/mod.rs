//! Exams: the JSON model, the blueprint, exam specs, validation with stable problem codes, and option shuffling.
//! Pure: no I/O, no runtime; builds for `wasm32-unknown-unknown`.

mod blueprint;
mod file;
mod json;
mod model;
mod read;
mod shuffle;
mod spec;
mod synthetic;
mod validate;

pub use blueprint::{Domain, Kn};
pub use file::{ExamFile, ExamFileError, FrontMatter, read_exam_file};
pub use json::ExamJson;
pub use model::{DomainField, Exam, ExamType, Question, UnknownExamType};
pub use shuffle::shuffle_options;
pub use spec::{Allocation, ExamSpec, ItemSlot, SpecError};
pub use synthetic::{synthetic_exam, synthetic_question};
pub use validate::{
    LabelRepair, Problem, ProblemCode, ValidationReport, key_is_strictly_longest, length_cue_limit, stem_key,
    strip_option_labels, validate_exam, validate_file, validate_item,
};
