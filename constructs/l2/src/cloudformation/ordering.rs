//! Ordering StackSets from their `dependson` / `antidependson` tags: the plan (levels, conflicts,
//! errors) and the `StackSetOrder` construct that stores it in SSM.

use super::*;

/// Why StackSets cannot be ordered. Each error names the construct paths involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// Two StackSets share a name.
    #[error("StackSet name {name:?} is used by '{first}' and '{second}'; StackSet names are unique per account and Region")]
    DuplicateName {
        /// The name.
        name: String,
        /// The first StackSet's path.
        first: String,
        /// The second one's.
        second: String,
    },
    /// A tag names a StackSet that is not ordered.
    #[error("'{path}': tag {tag} names StackSet {missing:?}, which is not among the ordered StackSets ({known}); add it to the order or remove the name")]
    UnknownStackSet {
        /// The StackSet with the tag.
        path: String,
        /// `dependson` or `antidependson`.
        tag: &'static str,
        /// The unknown name.
        missing: String,
        /// The known names, comma separated.
        known: String,
    },
    /// A StackSet names itself.
    #[error("'{path}': tag {tag} names the StackSet itself ({name:?}); remove it")]
    SelfReference {
        /// The StackSet.
        path: String,
        /// The tag.
        tag: &'static str,
        /// Its name.
        name: String,
    },
    /// A StackSet depends on one it excludes.
    #[error("'{path}': {name:?} is in both dependson and antidependson; a StackSet cannot need and exclude the same StackSet")]
    Contradiction {
        /// The StackSet.
        path: String,
        /// The name in both tags.
        name: String,
    },
    /// `dependson` forms a cycle.
    #[error("StackSet dependson cycle: {}; remove one of these dependson entries", cycle.iter().map(|(n, p)| format!("{n} ('{p}')")).collect::<Vec<_>>().join(" -> "))]
    Cycle {
        /// The cycle as (name, path), the first repeated at the end: `a -> b -> a` means
        /// `a` depends on `b`, which depends on `a`.
        cycle: Vec<(String, String)>,
    },
    /// Two mandatory StackSets exclude each other where both deploy.
    #[error("'{path}' ({name}) has antidependson {other:?} ('{other_path}'), both are mandatory, and both deploy to {target} in {region}; make one of them not mandatory or remove the overlap")]
    MandatoryConflict {
        /// The StackSet declaring `antidependson`.
        path: String,
        /// Its name.
        name: String,
        /// The excluded StackSet's name.
        other: String,
        /// Its path.
        other_path: String,
        /// The shared OU (or account).
        target: String,
        /// The shared Region.
        region: String,
    },
}

/// Where two StackSets that exclude each other both deploy, and which one the workflow
/// skips there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The StackSet declaring `antidependson`.
    pub stack_set: String,
    /// The StackSet it excludes.
    pub excludes: String,
    /// The shared OU (or account).
    pub target: String,
    /// The shared Region.
    pub region: String,
    /// The StackSet not deployed there.
    pub skipped: String,
}

impl Conflict {
    /// The warning text.
    pub fn message(&self, specs: &[StackSetSpec]) -> String {
        let path = |n: &str| {
            specs
                .iter()
                .find(|s| s.name == n)
                .map(|s| s.path.clone())
                .unwrap_or_default()
        };
        format!(
            "'{}' ({}) has antidependson {:?} ('{}') and both deploy to {} in {}; the workflow skips {} there",
            path(&self.stack_set),
            self.stack_set,
            self.excludes,
            path(&self.excludes),
            self.target,
            self.region,
            self.skipped
        )
    }
}

/// The order of a set of StackSets and their conflicts ([`plan_order`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackSetPlan {
    /// Names, every StackSet after those it depends on.
    pub order: Vec<String>,
    /// Waves: StackSets in one wave depend only on earlier waves.
    pub waves: Vec<Vec<String>>,
    /// Conflicts resolved by skipping one StackSet (warnings).
    pub conflicts: Vec<Conflict>,
    /// The specs, in order.
    pub stack_sets: Vec<StackSetSpec>,
}

fn overlaps(a: &str, b: &str) -> bool {
    a == b || a.starts_with("r-") || b.starts_with("r-")
}

/// Orders StackSets by their `dependson` tags: a topological order in which ties are
/// broken by name (so the same StackSets always give the same order), plus the
/// `antidependson` conflicts. Every problem is returned, not just the first.
///
/// ```
/// use cairn_constructs::cloudformation::{plan_order, OrderError, StackSetSpec, StackSetTags};
/// let spec = |n: &str, deps: &[&str]| StackSetSpec::new(n, &format!("Org/{n}"),
///     StackSetTags::default().depends_on(deps.iter().copied()));
/// let plan = plan_order(&[spec("c", &["b"]), spec("b", &["a"]), spec("a", &[]), spec("d", &[])]).unwrap();
/// assert_eq!(plan.order, ["a", "d", "b", "c"]);
///
/// let errors = plan_order(&[spec("a", &["c"]), spec("b", &["a"]), spec("c", &["b"])]).unwrap_err();
/// assert_eq!(errors[0].to_string(),
///     "StackSet dependson cycle: a ('Org/a') -> c ('Org/c') -> b ('Org/b') -> a ('Org/a'); remove one of these dependson entries");
/// ```
pub fn plan_order(specs: &[StackSetSpec]) -> std::result::Result<StackSetPlan, Vec<OrderError>> {
    let mut errors = Vec::new();
    let mut by_name: BTreeMap<&str, &StackSetSpec> = BTreeMap::new();
    for s in specs {
        if let Some(first) = by_name.get(s.name.as_str()) {
            errors.push(OrderError::DuplicateName {
                name: s.name.clone(),
                first: first.path.clone(),
                second: s.path.clone(),
            });
        } else {
            by_name.insert(&s.name, s);
        }
    }
    let known = by_name.keys().copied().collect::<Vec<_>>().join(", ");
    // deps[name] = the known names it depends on.
    let mut deps: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for s in by_name.values() {
        let mut mine = BTreeSet::new();
        for (tag, names) in [
            (TAG_DEPENDS_ON, &s.tags.depends_on),
            (TAG_ANTI_DEPENDS_ON, &s.tags.anti_depends_on),
        ] {
            for n in names {
                if n == &s.name {
                    errors.push(OrderError::SelfReference {
                        path: s.path.clone(),
                        tag,
                        name: n.clone(),
                    });
                } else if !by_name.contains_key(n.as_str()) {
                    errors.push(OrderError::UnknownStackSet {
                        path: s.path.clone(),
                        tag,
                        missing: n.clone(),
                        known: known.clone(),
                    });
                } else if tag == TAG_DEPENDS_ON {
                    mine.insert(n.as_str());
                }
            }
        }
        for n in &s.tags.depends_on {
            if s.tags.anti_depends_on.contains(n) {
                errors.push(OrderError::Contradiction {
                    path: s.path.clone(),
                    name: n.clone(),
                });
            }
        }
        deps.insert(&s.name, mine);
    }

    // Kahn's algorithm in waves, names sorted within a wave.
    let mut remaining: BTreeMap<&str, BTreeSet<&str>> = deps.clone();
    let mut order: Vec<String> = Vec::new();
    let mut waves: Vec<Vec<String>> = Vec::new();
    loop {
        let ready: Vec<&str> = remaining
            .iter()
            .filter(|(_, d)| d.is_empty())
            .map(|(n, _)| *n)
            .collect();
        if ready.is_empty() {
            break;
        }
        for n in &ready {
            remaining.remove(n);
        }
        for d in remaining.values_mut() {
            for n in &ready {
                d.remove(n);
            }
        }
        order.extend(ready.iter().map(|s| s.to_string()));
        waves.push(ready.iter().map(|s| s.to_string()).collect());
    }
    if let Some(start) = remaining.keys().next().copied() {
        // Every remaining StackSet depends on a remaining one: walk the smallest
        // dependency until a name repeats.
        let mut walk: Vec<&str> = vec![start];
        loop {
            let last = walk[walk.len() - 1];
            let Some(next) = remaining.get(last).and_then(|d| d.iter().next().copied()) else {
                break;
            };
            if let Some(pos) = walk.iter().position(|n| *n == next) {
                let mut cycle: Vec<&str> = walk[pos..].to_vec();
                cycle.push(next);
                errors.push(OrderError::Cycle {
                    cycle: cycle
                        .into_iter()
                        .map(|n| (n.to_string(), by_name[n].path.clone()))
                        .collect(),
                });
                break;
            }
            walk.push(next);
        }
    }

    // Conflicts.
    let mut conflicts = Vec::new();
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    for s in by_name.values() {
        for other in &s.tags.anti_depends_on {
            let Some(o) = by_name.get(other.as_str()) else {
                continue;
            };
            if o.name == s.name {
                continue;
            }
            let key = if s.name < o.name {
                (s.name.clone(), o.name.clone())
            } else {
                (o.name.clone(), s.name.clone())
            };
            if !seen.insert(key) {
                continue;
            }
            let mut shared: BTreeSet<(String, String)> = BTreeSet::new();
            for (t1, r1) in &s.targets {
                for (t2, r2) in &o.targets {
                    if r1 == r2 && overlaps(t1, t2) {
                        let t = if t1.starts_with("r-") { t2 } else { t1 };
                        shared.insert((t.clone(), r1.clone()));
                    }
                }
            }
            for (target, region) in shared {
                if s.tags.mandatory && o.tags.mandatory {
                    errors.push(OrderError::MandatoryConflict {
                        path: s.path.clone(),
                        name: s.name.clone(),
                        other: o.name.clone(),
                        other_path: o.path.clone(),
                        target,
                        region,
                    });
                } else {
                    let skipped = if o.tags.mandatory {
                        s.name.clone()
                    } else if s.tags.mandatory {
                        o.name.clone()
                    } else {
                        s.name.clone()
                    };
                    conflicts.push(Conflict {
                        stack_set: s.name.clone(),
                        excludes: o.name.clone(),
                        target,
                        region,
                        skipped,
                    });
                }
            }
        }
    }

    if !errors.is_empty() {
        return Err(errors);
    }
    let stack_sets = order
        .iter()
        .filter_map(|n| by_name.get(n.as_str()).map(|s| (*s).clone()))
        .collect();
    Ok(StackSetPlan {
        order,
        waves,
        conflicts,
        stack_sets,
    })
}

impl StackSetPlan {
    /// The plan as the JSON the workflow reads:
    /// `{"version":1,"order":[..],"waves":[[..]],"stackSets":[{"name","mandatory",
    /// "selfHealing","dependsOn","antiDependsOn","regions","targets":[{"target","region"}]}],
    /// "conflicts":[{"stackSet","excludes","target","region","skipped"}]}`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        let sets: Vec<serde_json::Value> = self
            .stack_sets
            .iter()
            .map(|s| {
                let mut regions: Vec<&str> = Vec::new();
                for (_, r) in &s.targets {
                    if !regions.contains(&r.as_str()) {
                        regions.push(r);
                    }
                }
                json!({
                    "name": s.name,
                    "mandatory": s.tags.mandatory,
                    "selfHealing": s.tags.self_healing,
                    "dependsOn": s.tags.depends_on,
                    "antiDependsOn": s.tags.anti_depends_on,
                    "regions": regions,
                    "targets": s.targets.iter().map(|(t, r)| json!({"target": t, "region": r})).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({
            "version": 1,
            "order": self.order,
            "waves": self.waves,
            "stackSets": sets,
            "conflicts": self.conflicts.iter().map(|c| json!({
                "stackSet": c.stack_set,
                "excludes": c.excludes,
                "target": c.target,
                "region": c.region,
                "skipped": c.skipped,
            })).collect::<Vec<_>>(),
        })
    }
}

/// Settings of a [`StackSetOrder`].
#[derive(Debug, Clone, PartialEq)]
pub struct StackSetOrderProps {
    /// The StackSets to order.
    pub stack_sets: Vec<StackSet>,
    /// The SSM parameter name, e.g. `/stacksets/order`.
    pub parameter_name: String,
    /// `Description` of the parameter.
    pub description: Option<String>,
}

impl StackSetOrderProps {
    /// The order of `stack_sets` in the parameter `name`.
    pub fn new(name: &str, stack_sets: &[StackSet]) -> Self {
        StackSetOrderProps {
            stack_sets: stack_sets.to_vec(),
            parameter_name: name.into(),
            description: None,
        }
    }
}

/// The deployment order of StackSets, written as JSON ([`StackSetPlan::to_json`]) into an
/// SSM `String` parameter (child `Parameter`; the Advanced tier when the JSON is over 4 KB,
/// an error over 8 KB).
///
/// Ordering problems ([`OrderError`]) are one [`Error::InvalidProps`](cairn_core::Error::InvalidProps) listing all of
/// them; conflicts resolved by skipping a StackSet are warnings. Each StackSet's resource depends on the StackSets it `dependson` (`DependsOn`
/// in one stack, a stack dependency across stacks), so a first deployment creates them in
/// order.
///
/// ```
/// use cairn_constructs::cloudformation::{
///     DeploymentTarget, StackSet, StackSetOrder, StackSetOrderProps, StackSetProps, StackSetTags,
///     StackSetTemplate,
/// };
/// use cairn_core::App;
///
/// # fn main() -> cairn_core::Result<()> {
/// let mut app = App::new();
/// let stack = app.stack("Org")?;
/// let body = r#"{"Resources":{"T":{"Type":"AWS::SNS::Topic"}}}"#;
/// let target = || vec![DeploymentTarget::new(["ou-ab12-cdef3456"], ["us-east-1"])];
/// let mut sets = Vec::new();
/// for (name, dep) in [("a", "c"), ("b", "a"), ("c", "b")] {
///     sets.push(StackSet::new(&mut app, stack, name, StackSetProps {
///         tags: StackSetTags::default().depends_on([dep]),
///         ..StackSetProps::new(name, StackSetTemplate::body(body), target())
///     })?);
/// }
/// let err = StackSetOrder::new(&mut app, stack, "Order", StackSetOrderProps::new("/order", &sets))
///     .unwrap_err().to_string();
/// assert!(err.contains("a ('Org/a') -> c ('Org/c') -> b ('Org/b') -> a ('Org/a')"), "{err}");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct StackSetOrder {
    node: NodeId,
    parameter: StringParameter,
    plan: StackSetPlan,
}

impl StackSetOrder {
    /// Orders `props.stack_sets` and writes the order parameter as construct `id` under
    /// `scope`.
    pub fn new(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        props: StackSetOrderProps,
    ) -> Result<StackSetOrder> {
        let stack_sets = &props.stack_sets;
        let node = app.construct(scope, id)?;
        let specs: Vec<StackSetSpec> = stack_sets.iter().map(|s| s.spec.clone()).collect();
        let plan = plan_order(&specs).map_err(|errors| {
            crate::props_error(app, node, errors.iter().map(ToString::to_string).collect())
        })?;
        let json = plan.to_json().to_string();
        let tier = match json.len() {
            0..=4096 => ParameterTier::Standard,
            4097..=8192 => ParameterTier::Advanced,
            n => {
                return Err(app.invalid_props(
                    node,
                    format!("the order JSON is {n} bytes, over the 8 KB limit of an SSM parameter; split the StackSets into several orders"),
                ))
            }
        };
        for c in &plan.conflicts {
            app.annotate(node, Level::Warning, c.message(&specs));
        }
        // First deployments create StackSets in order.
        for s in stack_sets {
            for dep in &s.spec.tags.depends_on {
                if let Some(d) = stack_sets.iter().find(|x| &x.spec.name == dep) {
                    match (app.stack_of(s.node), app.stack_of(d.node)) {
                        (Some(mine), Some(theirs)) if mine != theirs => {
                            app.add_dependency(mine, theirs)?;
                        }
                        _ => {
                            let opts = app.resource_options_mut(s.resource.node())?;
                            if !opts.depends_on.contains(&d.resource.node()) {
                                opts.depends_on.push(d.resource.node());
                            }
                        }
                    }
                }
            }
        }
        let parameter = StringParameter::new(
            app,
            node,
            "Parameter",
            StringParameterProps {
                parameter_name: Some(props.parameter_name.as_str().into()),
                description: Some(
                    props
                        .description
                        .clone()
                        .unwrap_or_else(|| "Deployment order of the StackSets (JSON)".into()),
                ),
                tier,
                ..StringParameterProps::new(json)
            },
        )?;
        Ok(StackSetOrder {
            node,
            parameter,
            plan,
        })
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The parameter holding the order.
    pub fn parameter(&self) -> StringParameter {
        self.parameter
    }

    /// The plan.
    pub fn plan(&self) -> &StackSetPlan {
        &self.plan
    }

    /// The StackSet names in order.
    pub fn order(&self) -> Vec<String> {
        self.plan.order.clone()
    }

    /// Grants reading the order parameter.
    pub fn grant_read(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        self.parameter.grant_read(app, grantee)
    }
}

construct!(StackSet, StackSetOrder);
node_from!(StackSet, StackSetOrder);
