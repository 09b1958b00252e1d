//! placeholder: module being written.
