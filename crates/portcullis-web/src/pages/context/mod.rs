//! The typed contexts of the HTML templates: one `*Page` per template, holding what
//! it reads, with the chrome every page shows.

mod flash;

pub(crate) use flash::Flash;
