//! Turns `data/common-passwords.txt` into a sorted, de-duplicated static array, so
//! the common-password check is a binary search with nothing built at run time.

use std::fmt::Write as _;

fn main() {
    println!("cargo::rerun-if-changed=data/common-passwords.txt");
    let text =
        std::fs::read_to_string("data/common-passwords.txt").expect("data/common-passwords.txt is readable");
    let mut words: Vec<String> =
        text.lines().map(|l| l.trim().to_lowercase()).filter(|l| !l.is_empty()).collect();
    words.sort_unstable();
    words.dedup();
    let mut out = String::from(
        "/// The bundled common passwords, lower-cased, sorted.\npub static LIST: &[&str] = &[\n",
    );
    for w in &words {
        writeln!(out, "    {w:?},").expect("writing to a String cannot fail");
    }
    out.push_str("];\n");
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("common_passwords.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
}
