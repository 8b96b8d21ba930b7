//! The graph of a crate's top-level modules (an edge: a file of one names an item of another), its
//! cycles (strongly connected components) and its layers (each module above everything it uses).

use super::scan::{references, SourceFile};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// The node of the crate root's own items (functions and types defined in `lib.rs`/`main.rs`).
pub const ROOT: &str = "(root)";

/// `(from, to)` modules of an edge.
pub type EdgeKey = (String, String);
/// The file and line of the first path that makes an edge.
pub type Place = (PathBuf, usize);

/// A crate's top-level modules and, per edge, the first place that makes it.
#[derive(Default)]
pub struct Graph {
    pub nodes: BTreeSet<String>,
    pub edges: BTreeMap<EdgeKey, Place>,
}

impl Graph {
    /// The graph of the crate made of `files` (its module tree, root file first or anywhere).
    pub fn of(files: &[SourceFile]) -> Graph {
        let children: Vec<String> = files
            .iter()
            .filter(|f| f.module.len() == 1)
            .map(|f| f.module[0].clone())
            .collect();
        let mut graph = Graph::default();
        graph.nodes.extend(children.iter().cloned());
        graph.nodes.insert(ROOT.to_string());
        let scanned: Vec<_> = files
            .iter()
            .map(|f| (f, references(f, &children)))
            .collect();
        let aliases: BTreeMap<String, String> = scanned
            .iter()
            .filter(|(f, _)| f.module.is_empty())
            .flat_map(|(_, (_, a))| a.clone())
            .collect();
        for (file, (refs, _)) in &scanned {
            let from = file.module.first().cloned().unwrap_or(ROOT.to_string());
            for r in refs {
                let to = match r.target.first() {
                    Some(m) if children.contains(m) => m.clone(),
                    Some(name) => aliases.get(name).cloned().unwrap_or(ROOT.to_string()),
                    None => ROOT.to_string(),
                };
                if to != from {
                    let key = (from.clone(), to);
                    graph
                        .edges
                        .entry(key)
                        .or_insert((file.path.clone(), r.line));
                }
            }
        }
        graph
    }

    fn successors<'a>(&'a self, node: &'a str) -> impl Iterator<Item = &'a String> + 'a {
        self.edges
            .keys()
            .filter(move |(from, _)| from == node)
            .map(|(_, to)| to)
    }

    /// The strongly connected components with more than one module (each one a cycle or several).
    pub fn cycles(&self) -> Vec<BTreeSet<String>> {
        let mut tarjan = Tarjan::default();
        for node in &self.nodes {
            if !tarjan.index.contains_key(node) {
                tarjan.visit(self, node);
            }
        }
        tarjan
            .components
            .into_iter()
            .filter(|c| c.len() > 1)
            .collect()
    }

    /// Edges whose two ends are in one cycle.
    pub fn cycle_edges(&self) -> Vec<(&EdgeKey, &Place)> {
        let cycles = self.cycles();
        self.edges
            .iter()
            .filter(|((from, to), _)| cycles.iter().any(|c| c.contains(from) && c.contains(to)))
            .collect()
    }

    /// The modules by layer: layer 0 uses no other module, layer n uses something of layer n-1
    /// (a cycle's modules share one layer). Only the nodes that exist in the crate.
    pub fn layers(&self) -> Vec<Vec<String>> {
        let cycles = self.cycles();
        let group = |n: &String| -> BTreeSet<String> {
            cycles
                .iter()
                .find(|c| c.contains(n))
                .cloned()
                .unwrap_or_else(|| BTreeSet::from([n.clone()]))
        };
        let mut level: BTreeMap<String, usize> = BTreeMap::new();
        while level.len() < self.nodes.len() {
            let before = level.len();
            for node in &self.nodes {
                if level.contains_key(node) {
                    continue;
                }
                let members = group(node);
                let below: Vec<&String> = members
                    .iter()
                    .flat_map(|m| self.successors(m))
                    .filter(|s| !members.contains(*s))
                    .collect();
                if below.iter().all(|s| level.contains_key(*s)) {
                    let l = below.iter().map(|s| level[*s] + 1).max().unwrap_or(0);
                    for m in members {
                        level.insert(m, l);
                    }
                }
            }
            if level.len() == before {
                break;
            }
        }
        let mut layers: Vec<Vec<String>> = Vec::new();
        for (node, l) in level {
            if node == ROOT && !self.edges.keys().any(|(a, b)| a == ROOT || b == ROOT) {
                continue;
            }
            layers.resize(layers.len().max(l + 1), Vec::new());
            layers[l].push(node);
        }
        layers
    }
}

#[derive(Default)]
struct Tarjan {
    next: usize,
    index: BTreeMap<String, usize>,
    low: BTreeMap<String, usize>,
    stack: Vec<String>,
    on_stack: BTreeSet<String>,
    components: Vec<BTreeSet<String>>,
}

impl Tarjan {
    fn visit(&mut self, graph: &Graph, node: &str) {
        self.index.insert(node.to_string(), self.next);
        self.low.insert(node.to_string(), self.next);
        self.next += 1;
        self.stack.push(node.to_string());
        self.on_stack.insert(node.to_string());
        for succ in graph.successors(node) {
            if !self.index.contains_key(succ) {
                self.visit(graph, succ);
                let low = self.low[node].min(self.low[succ]);
                self.low.insert(node.to_string(), low);
            } else if self.on_stack.contains(succ) {
                let low = self.low[node].min(self.index[succ]);
                self.low.insert(node.to_string(), low);
            }
        }
        if self.low[node] == self.index[node] {
            let mut component = BTreeSet::new();
            while let Some(top) = self.stack.pop() {
                self.on_stack.remove(&top);
                let done = top == node;
                component.insert(top);
                if done {
                    break;
                }
            }
            self.components.push(component);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::tokens::tokenize;

    fn crate_of(files: &[(&str, &str)]) -> Graph {
        let files: Vec<SourceFile> = files
            .iter()
            .map(|(module, source)| SourceFile {
                path: PathBuf::from(format!("{module}.rs")),
                module: module
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect(),
                tokens: tokenize(source),
            })
            .collect();
        Graph::of(&files)
    }

    #[test]
    fn a_use_back_up_makes_a_cycle_with_its_edges() {
        let graph = crate_of(&[
            ("", "mod a; mod b; mod c; pub use c::Top;"),
            ("a", "use crate::b::x;"),
            ("b", "fn f() { crate::a::y(); crate::c::z(); }"),
            ("c", ""),
            ("a::inner", "use super::super::b;"),
        ]);
        let cycles = graph.cycles();
        assert_eq!(cycles.len(), 1);
        assert_eq!(cycles[0], BTreeSet::from(["a".into(), "b".into()]));
        let edges: Vec<String> = graph
            .cycle_edges()
            .iter()
            .map(|((a, b), _)| format!("{a}->{b}"))
            .collect();
        assert_eq!(edges, ["a->b", "b->a"]);
        assert_eq!(
            graph.layers(),
            vec![vec!["c".to_string()], vec!["a".into(), "b".into()]]
        );
    }

    #[test]
    fn root_items_and_reexports_are_told_apart() {
        let graph = crate_of(&[
            (
                "",
                "mod entry; mod percpu; pub use percpu::Cpu; pub fn halt() {}",
            ),
            ("entry", "use crate::Cpu; fn f() { crate::halt(); }"),
            ("percpu", "fn g() { crate::halt() }"),
        ]);
        assert!(graph.cycles().is_empty());
        assert!(graph.edges.contains_key(&("entry".into(), "percpu".into())));
        assert!(graph.edges.contains_key(&("entry".into(), ROOT.into())));
        assert_eq!(
            graph.layers(),
            vec![
                vec![ROOT.to_string()],
                vec!["percpu".into()],
                vec!["entry".into()]
            ]
        );
    }
}
