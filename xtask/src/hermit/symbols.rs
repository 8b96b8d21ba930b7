//! Which kernel symbols the application may see. The kernel library and the application both
//! contain Rust's core and compiler builtins; the application must only bind to the kernel's
//! system calls (`sys_*`) and its entry symbols, so every other global symbol of the library is
//! renamed with a `hermit` prefix (as Hermit's own build does with `objcopy --redefine-syms`).

use std::collections::BTreeSet;

/// Symbols the application links against besides the `sys_*` calls.
pub const ENTRY_SYMBOLS: [&str; 4] = ["_start", "__bss_start", "mcount", "runtime_entry"];
/// The prefix renamed symbols get (the library's name).
const PREFIX: &str = "hermit";

/// The `sys_*` symbols defined by the kernel crate's own objects, from `llvm-nm --defined-only
/// --extern-only -A` output (`archive:member: value type name`); members of other crates (core,
/// alloc, dependencies) are ignored.
pub fn system_calls(nm_output: &str) -> BTreeSet<String> {
    nm_output
        .lines()
        .filter_map(|line| {
            let (location, rest) = line.rsplit_once(": ")?;
            let member = location.rsplit(':').next()?;
            let name = rest.split_whitespace().last()?;
            (member.starts_with("hermit-") && name.starts_with("sys_")).then(|| name.to_string())
        })
        .collect()
}

/// The `--redefine-syms` file: one `old new` line for each of `all` (the library's global
/// symbols, one per line) that is not kept. Mangled names keep their mangling: `_ZN<rest>`
/// becomes `_ZN6hermit<rest>`; others become `hermit_<name>`.
pub fn renames(all: &str, kept: &BTreeSet<String>) -> String {
    let mut out = String::new();
    for symbol in all.lines().map(str::trim).filter(|s| !s.is_empty()) {
        if kept.contains(symbol) || ENTRY_SYMBOLS.contains(&symbol) {
            continue;
        }
        let renamed = match symbol.strip_prefix("_ZN") {
            Some(rest) => format!("_ZN{}{PREFIX}{rest}", PREFIX.len()),
            None => format!("{PREFIX}_{symbol}"),
        };
        out.push_str(&format!("{symbol} {renamed}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_calls_come_from_the_kernel_crate_only() {
        let nm = "libhermit.a:hermit-5f2c.hermit.abc-cgu.0.rcgu.o: 0000000000000010 T sys_write\n\
                  libhermit.a:hermit-5f2c.hermit.abc-cgu.0.rcgu.o: 0000000000000020 T memcpy\n\
                  libhermit.a:compiler_builtins-1.o: 0000000000000000 T sys_fake\n\
                  libhermit.a:hermit-5f2c.hermit.abc-cgu.1.rcgu.o: 0000000000000000 T sys_exit\n";
        let calls: Vec<String> = system_calls(nm).into_iter().collect();
        assert_eq!(calls, ["sys_exit", "sys_write"]);
    }

    #[test]
    fn everything_else_is_prefixed_and_mangled_names_stay_mangled() {
        let kept: BTreeSet<String> = ["sys_write".to_string()].into();
        let all = "sys_write\n_start\nmemcpy\n_ZN4core3fmt5write17h0123E\n\n";
        assert_eq!(
            renames(all, &kept),
            "memcpy hermit_memcpy\n_ZN4core3fmt5write17h0123E _ZN6hermit4core3fmt5write17h0123E\n"
        );
    }
}
