//! The import graph of a crate's modules, read from its source with `syn`: one node per file
//! (`lib.rs` is the crate, `a/mod.rs` and `a.rs` are `a`), an edge from a file to the module
//! every `use` and every path in its code names (`crate::`, `super::`, `self::` or a child
//! module), resolved to the longest module prefix that exists.
//!
//! A path through a re-export (`crate::report::Report` where `report` has `pub use
//! model::Report`) is an edge to the module that defines the item (`report::model`). Not edges:
//! `mod` declarations, and a module's `pub use` of its own descendants (a folder's interface
//! re-exporting what its children define). Not read: `#[cfg(test)]` items (a test
//! module may reach anywhere) and paths inside macro calls (their tokens are not parsed).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// A module's path inside its crate (`[]` is the crate root).
pub type ModPath = Vec<String>;

pub struct Graph {
    pub modules: BTreeSet<ModPath>,
    /// From each module to the modules its code uses (itself excluded).
    pub edges: BTreeMap<ModPath, BTreeSet<ModPath>>,
}

pub fn name(m: &[String]) -> String {
    if m.is_empty() {
        "crate".into()
    } else {
        m.join("::")
    }
}

fn module_files(src: &Path, dir: &Path, out: &mut BTreeMap<ModPath, PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().unwrap() != "bin" {
                module_files(src, &path, out);
            }
            continue;
        }
        if path.extension().is_none_or(|x| x != "rs") {
            continue;
        }
        let rel = path.strip_prefix(src).unwrap().with_extension("");
        let mut m: ModPath = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
        if matches!(m.last().map(String::as_str), Some("mod" | "lib" | "main")) {
            m.pop();
        }
        out.insert(m, path);
    }
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && matches!(&a.meta, syn::Meta::List(l) if l.tokens.to_string() == "test")
    })
}

/// Every path a use tree names, with the name it is known by (`a::{b, c::d as e}` → `a::b` as
/// `b`, `a::c::d` as `e`; a glob names its module, known by no name).
fn use_paths(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<(Vec<String>, String)>) {
    let with = |prefix: &[String], last: &syn::Ident| [prefix, &[last.to_string()]].concat();
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_paths(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) if n.ident == "self" => {
            out.push((prefix.clone(), prefix.last().cloned().unwrap_or_default()))
        }
        syn::UseTree::Name(n) => out.push((with(prefix, &n.ident), n.ident.to_string())),
        syn::UseTree::Rename(r) => out.push((with(prefix, &r.ident), r.rename.to_string())),
        syn::UseTree::Glob(_) => out.push((prefix.clone(), String::new())),
        syn::UseTree::Group(g) => g.items.iter().for_each(|t| use_paths(t, prefix, out)),
    }
}

/// What one file names.
#[derive(Default)]
struct Paths {
    /// `(path, from a pub use)`.
    named: Vec<(Vec<String>, bool)>,
    /// Its `pub use` items: the name it gives and the path it names.
    reexports: Vec<(String, Vec<String>)>,
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs = match item {
            syn::Item::Mod(m) => &m.attrs,
            syn::Item::Fn(f) => &f.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Use(u) => &u.attrs,
            syn::Item::Struct(s) => &s.attrs,
            syn::Item::Enum(e) => &e.attrs,
            syn::Item::Const(c) => &c.attrs,
            syn::Item::Static(s) => &s.attrs,
            syn::Item::Trait(t) => &t.attrs,
            _ => return syn::visit::visit_item(self, item),
        };
        if is_cfg_test(attrs) {
            return;
        }
        if let syn::Item::Use(u) = item {
            let public = !matches!(u.vis, syn::Visibility::Inherited);
            let mut found = Vec::new();
            use_paths(&u.tree, &mut Vec::new(), &mut found);
            for (path, known_as) in found {
                if public && !known_as.is_empty() {
                    self.reexports.push((known_as, path.clone()));
                }
                self.named.push((path, public));
            }
            return;
        }
        syn::visit::visit_item(self, item);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        // One segment is a local name or an imported item, never a module reached anew.
        if path.segments.len() > 1 {
            let segments = path.segments.iter().map(|s| s.ident.to_string()).collect();
            self.named.push((segments, false));
        }
        syn::visit::visit_path(self, path);
    }
}

/// The import graph of the crate whose sources are under `src`.
pub fn read_crate(src: &Path) -> Graph {
    let mut files = BTreeMap::new();
    module_files(src, src, &mut files);
    let modules: BTreeSet<ModPath> = files.keys().cloned().collect();
    let read: BTreeMap<ModPath, Paths> = files
        .iter()
        .map(|(m, file)| {
            let text = std::fs::read_to_string(file).unwrap();
            let ast = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let mut paths = Paths::default();
            paths.visit_file(&ast);
            (m.clone(), paths)
        })
        .collect();
    let crate_ = Crate { modules, read: &read };
    let mut edges: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
    for (m, paths) in &read {
        for (path, public) in &paths.named {
            let Some(target) = crate_.resolve(m, path, 0) else { continue };
            let descendant = target.len() > m.len() && target.starts_with(m);
            if target == *m || (*public && descendant) {
                continue;
            }
            edges.entry(m.clone()).or_default().insert(target);
        }
    }
    Graph { modules: crate_.modules, edges }
}

struct Crate<'r> {
    modules: BTreeSet<ModPath>,
    read: &'r BTreeMap<ModPath, Paths>,
}

impl Crate<'_> {
    /// The module that defines what a path in module `m` names, if it is one of the crate's:
    /// the longest module prefix of the path, or where that module's re-export leads.
    fn resolve(&self, m: &[String], path: &[String], depth: usize) -> Option<ModPath> {
        let (first, rest) = path.split_first()?;
        let child = |c: &str| [m, &[c.to_string()]].concat();
        let mut full: ModPath = match first.as_str() {
            "crate" => Vec::new(),
            "self" => m.to_vec(),
            "super" => m[..m.len().checked_sub(1)?].to_vec(),
            c if self.modules.contains(&child(c)) => child(c),
            _ => return None,
        };
        let mut rest = rest;
        while rest.first().is_some_and(|s| s == "super") {
            full.pop()?;
            rest = &rest[1..];
        }
        full.extend(rest.iter().cloned());
        let k = (0..=full.len()).rev().find(|k| self.modules.contains(&full[..*k]))?;
        let module = full[..k].to_vec();
        // `module::item` where `module` re-exports `item`: follow it (a few steps at most).
        if let (Some(item), true) = (full.get(k), depth < 4) {
            let reexport = self.read[&module].reexports.iter().find(|(n, _)| n == item);
            if let Some((_, via)) = reexport {
                return self.resolve(&module, via, depth + 1).or(Some(module));
            }
        }
        Some(module)
    }
}

impl Graph {
    /// The import circles: every strongly connected set of more than one module.
    pub fn circles(&self) -> Vec<Vec<String>> {
        // Tarjan's algorithm; a crate has a few dozen modules.
        struct Walk<'g> {
            g: &'g Graph,
            index: BTreeMap<&'g ModPath, usize>,
            low: BTreeMap<&'g ModPath, usize>,
            stack: Vec<&'g ModPath>,
            circles: Vec<Vec<String>>,
        }
        impl<'g> Walk<'g> {
            fn visit(&mut self, v: &'g ModPath) {
                let i = self.index.len();
                self.index.insert(v, i);
                self.low.insert(v, i);
                self.stack.push(v);
                for w in self.g.edges.get(v).into_iter().flatten() {
                    if !self.index.contains_key(w) {
                        self.visit(w);
                        let low = self.low[v].min(self.low[w]);
                        self.low.insert(v, low);
                    } else if self.stack.contains(&w) {
                        let low = self.low[v].min(self.index[w]);
                        self.low.insert(v, low);
                    }
                }
                if self.low[v] == self.index[v] {
                    let at = self.stack.iter().rposition(|x| *x == v).unwrap();
                    let set: Vec<_> = self.stack.drain(at..).map(|m| name(m)).collect();
                    if set.len() > 1 {
                        self.circles.push(set);
                    }
                }
            }
        }
        let mut walk = Walk {
            g: self,
            index: BTreeMap::new(),
            low: BTreeMap::new(),
            stack: Vec::new(),
            circles: Vec::new(),
        };
        for m in &self.modules {
            if !walk.index.contains_key(m) {
                walk.visit(m);
            }
        }
        walk.circles
    }

    /// Edges between top-level modules that go from a lower layer to a higher one (`layers`
    /// lists the crate's top-level modules, top layer first), and the top-level modules no
    /// layer names.
    pub fn up_the_layers(&self, layers: &[&[&str]]) -> (Vec<String>, Vec<String>) {
        let layer_of = |m: &ModPath| {
            let top = m.first()?;
            layers.iter().position(|l| l.contains(&top.as_str()))
        };
        let unplaced = self
            .modules
            .iter()
            .filter(|m| m.len() == 1 && layer_of(m).is_none())
            .map(|m| name(m))
            .collect();
        let mut up = Vec::new();
        for (from, tos) in &self.edges {
            for to in tos {
                if let (Some(a), Some(b)) = (layer_of(from), layer_of(to)) {
                    if b < a {
                        up.push(format!("{} -> {}", name(from), name(to)));
                    }
                }
            }
        }
        (up, unplaced)
    }
}
