//! The pipeline in JavaScript and Python (work in progress).
