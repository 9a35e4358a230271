//! Making an object pass: for each field a check faults, the smallest change that satisfies
//! the check, classed **safe** (applied by default), **needs review** (applied only when
//! asked: it can change what the workload does at run time) or **cannot be fixed** (the
//! object asks for something the level forbids; it is reported with the reason and never
//! changed). The table, check by check, is docs/FIX.md.
//!
//! The changes are RFC 6902 JSON Patch operations on the object, each annotated with the
//! check it satisfies and its class. Fixing is a loop of evaluate, change, evaluate again,
//! so a change that uncovers another fault (a container whose `CAP_SYS_ADMIN` is removed
//! can then be given `allowPrivilegeEscalation: false`) is followed through, and what is
//! left at the end is exactly what `check` reports on the fixed object. Fixing a fixed
//! object changes nothing.
//!
//! A Windows pod (`spec.os.name: windows`) never gets a Linux-only field: such a fix is
//! reported as cannot be fixed instead.

use crate::admission::Detail;
use crate::checks::{Field, Finding};
use crate::cluster::Cluster;
use crate::field_path::{FieldPath, Segment};
use crate::response::ValidationResponse;
use crate::response::Verdict;
use crate::settings::Effect;
use crate::workload::object_kind;
use crate::{CheckId, Error};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{json, Map, Value};

/// How far a fix may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FixClass {
    /// Changes nothing a workload that runs today relies on in practice; applied by default.
    Safe,
    /// Can break a workload (an image that runs as root, a capability it uses); applied
    /// only when asked.
    NeedsReview,
    /// No change to the object satisfies the check without changing what it asks for.
    CannotFix,
}

impl FixClass {
    /// `safe`, `needs-review` or `cannot-fix`.
    pub fn as_str(self) -> &'static str {
        match self {
            FixClass::Safe => "safe",
            FixClass::NeedsReview => "needs-review",
            FixClass::CannotFix => "cannot-fix",
        }
    }
}

/// What the fixer may do: podsec's `fix` settings, or `podsec fix`'s flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FixOptions {
    /// Apply the changes classed needs review too.
    pub include_review: bool,
    /// The user id set where `runAsNonRoot: true` is added at the pod level and where
    /// `runAsUser: 0` is replaced (without it, `runAsUser: 0` is removed).
    pub run_as_user: Option<i64>,
}

/// One step of a JSON Patch path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
    /// `-`: past the end of a list (an `add` appends).
    End,
}

/// An RFC 6902 operation: `add`, `replace` or `remove`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOp {
    /// `add`.
    Add,
    /// `replace`.
    Replace,
    /// `remove`.
    Remove,
}

impl PatchOp {
    /// The operation's name in a patch.
    pub fn as_str(self) -> &'static str {
        match self {
            PatchOp::Add => "add",
            PatchOp::Replace => "replace",
            PatchOp::Remove => "remove",
        }
    }
}

/// One change: a JSON Patch operation and why it is made.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The operation.
    pub op: PatchOp,
    steps: Vec<Step>,
    /// The value an `add` or `replace` writes.
    pub value: Option<Value>,
    /// The check the change satisfies.
    pub check: CheckId,
    /// Its class ([`FixClass::Safe`] or [`FixClass::NeedsReview`]).
    pub class: FixClass,
    /// The field the check faulted, e.g. `spec.containers[0].securityContext.privileged`.
    pub field: FieldPath,
}

impl Change {
    /// The operation's JSON Pointer, e.g. `/spec/containers/0/securityContext`.
    pub fn path(&self) -> String {
        pointer(&self.steps)
    }

    /// The plain RFC 6902 operation, without podsec's annotations (what an API server is
    /// sent).
    pub fn operation(&self) -> Value {
        let mut op = Map::new();
        op.insert("op".to_owned(), Value::from(self.op.as_str()));
        op.insert("path".to_owned(), Value::String(self.path()));
        if let Some(value) = &self.value {
            op.insert("value".to_owned(), value.clone());
        }
        Value::Object(op)
    }

    /// One line for people: `set spec.containers[0].securityContext.allowPrivilegeEscalation
    /// = false`.
    pub fn describe(&self) -> String {
        let at = dotted(&self.steps);
        match (&self.op, &self.value) {
            (PatchOp::Remove, _) => format!("remove {at}"),
            (PatchOp::Add, Some(value)) if self.steps.last() == Some(&Step::End) => {
                format!("append {} to {at}", compact(value))
            }
            (_, Some(value)) => format!("set {at} = {}", compact(value)),
            (_, None) => format!("set {at}"),
        }
    }
}

/// RFC 6902 members first; the extra members (`check`, `class`, `field`) are ignored by
/// any JSON Patch implementation, as the RFC requires of unknown members.
impl Serialize for Change {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("op", self.op.as_str())?;
        map.serialize_entry("path", &self.path())?;
        if let Some(value) = &self.value {
            map.serialize_entry("value", value)?;
        }
        map.serialize_entry("check", self.check.as_str())?;
        map.serialize_entry("class", &self.class)?;
        map.serialize_entry("field", &self.field)?;
        map.end()
    }
}

/// A field still at fault after fixing, with its class and why it was left.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Remaining {
    /// The check.
    pub check: CheckId,
    /// [`FixClass::NeedsReview`] (a fix exists but was not asked for) or
    /// [`FixClass::CannotFix`].
    pub class: FixClass,
    /// The field, e.g. `spec.hostNetwork`.
    pub field: FieldPath,
    /// Its value.
    pub value: Value,
    /// Why it is left: the reason it cannot be fixed, or the change that would fix it.
    pub reason: String,
}

/// The outcome of fixing one object.
#[derive(Debug, Clone, PartialEq)]
pub struct Fixed {
    /// The object with the changes applied.
    pub object: Value,
    /// The changes, in the order they were applied.
    pub changes: Vec<Change>,
    /// What still fails, field by field.
    pub remaining: Vec<Remaining>,
    /// The verdict on the fixed object.
    pub verdict: Verdict,
}

/// How many rounds of evaluate-and-change at most: each round fixes every fault it sees,
/// and a round only uncovers faults that an earlier change made reachable.
const MAX_ROUNDS: usize = 6;

/// Fixes `object`; `evaluate` decides an object (the same request with this object) and is
/// called once at the start and once after each round that changed something.
pub fn fix_with(
    object: Value,
    options: FixOptions,
    mut evaluate: impl FnMut(&Value) -> Result<Verdict, Error>,
) -> Result<Fixed, Error> {
    let first = evaluate(&object)?;
    let (object, changes, verdict) = fix_loop(object, options, first, &mut evaluate)?;
    let remaining = remaining(&object, &verdict.findings, options);
    Ok(Fixed {
        object,
        changes,
        remaining,
        verdict,
    })
}

/// The loop of [`fix_with`], from the verdict on `object` as it is: the fixed object, the
/// changes and the last verdict.
fn fix_loop(
    mut object: Value,
    options: FixOptions,
    first: Verdict,
    evaluate: &mut impl FnMut(&Value) -> Result<Verdict, Error>,
) -> Result<(Value, Vec<Change>, Verdict), Error> {
    let mut changes = Vec::new();
    let mut verdict = first;
    for _ in 0..MAX_ROUNDS {
        let applied = fix_round(&mut object, &verdict.findings, options);
        if applied.is_empty() {
            break;
        }
        changes.extend(applied);
        verdict = evaluate(&object)?;
    }
    Ok((object, changes, verdict))
}

/// Fixes a plain object as `podsec check` judges it: a CREATE in its namespace under
/// `settings`, without access to a cluster.
pub fn fix_object(
    object: Value,
    settings: &crate::Settings,
    options: FixOptions,
) -> Result<Fixed, Error> {
    fix_with(object, options, |object| verdict_of(object, settings))
}

/// The verdict `podsec check` gives a plain object under `settings`.
pub fn verdict_of(object: &Value, settings: &crate::Settings) -> Result<Verdict, Error> {
    let request = crate::manifest::create_request(object.clone());
    let text = serde_json::to_string(&request)
        .map_err(|e| Error::InvalidRequest(format!("the object does not serialise: {e}")))?;
    match serde_json::from_str::<crate::request::AdmissionRequest<'_>>(&text) {
        Ok(request) => Ok(crate::evaluate::evaluate_request(request, settings)?.verdict),
        // An object of a kind podsec does not evaluate may hold anything: nothing to fix.
        Err(_) if object_kind(object).is_none() => Ok(Verdict {
            allowed: true,
            skipped: Some("not a kind podsec evaluates".to_owned()),
            ..Verdict::default()
        }),
        Err(_) => Err(Error::InvalidObject(crate::request::describe_object_error(
            &text,
        ))),
    }
}

/// Kubewarden's `validate` in the mutating mode (setting `mutate: true`): a request that
/// is refused for its violations, and that the fixes the settings allow make pass, is
/// accepted with the fixed object as `mutated_object` (the host computes the patch) and a
/// warning naming each change. Everything else is answered as [`crate::validate_with`]
/// answers it: accepted requests untouched, and the denial when the fixes do not make the
/// object pass. Only CREATE and UPDATE requests are changed, and never with `effect: audit`.
pub fn validate_or_mutate(input: &[u8], cluster: &dyn Cluster) -> ValidationResponse {
    let mut mode = None;
    let evaluation =
        crate::evaluate::evaluate_reading(input, cluster, Detail::Response, |settings| {
            if settings.mutate && settings.effect == Effect::Deny {
                mode = Some(settings.fix);
            }
        });
    let evaluation = match evaluation {
        Ok(evaluation) => evaluation,
        Err(error) => return crate::evaluate::rejection(&error),
    };
    let Some(options) = mode else {
        return evaluation.response;
    };
    if evaluation.response.accepted || evaluation.response.code != Some(403) {
        return evaluation.response;
    }
    mutate(input, cluster, options, evaluation.verdict).unwrap_or(evaluation.response)
}

/// Whether every faulted field has a fix `options` allow (possibly after another one):
/// when not, the object cannot pass, and nothing is tried.
fn all_fixable(object: &Value, findings: &[Finding], options: FixOptions) -> bool {
    let pod = Pod::of(object);
    findings.iter().all(|finding| {
        finding.fields.iter().all(
            |field| match rule(object, &pod, finding.check, field, options) {
                Rule::Fix(FixClass::Safe, _) => true,
                Rule::Fix(FixClass::NeedsReview, _) | Rule::CannotFix(FixClass::NeedsReview, _) => {
                    options.include_review
                }
                Rule::Fix(FixClass::CannotFix, _) | Rule::CannotFix(..) => false,
            },
        )
    })
}

/// The mutating answer for a refused request, or `None` to keep the refusal. Kept out of
/// line: its locals would otherwise widen the stack frame of every `validate`.
#[inline(never)]
fn mutate(
    input: &[u8],
    cluster: &dyn Cluster,
    options: FixOptions,
    first: Verdict,
) -> Option<ValidationResponse> {
    // Read as text, as every other request: one JSON reader type in the module.
    let mut request: Value = serde_json::from_str(std::str::from_utf8(input).ok()?).ok()?;
    let operation = request
        .get("request")
        .and_then(|r| r.get("operation"))
        .and_then(Value::as_str);
    if !matches!(operation, Some("CREATE" | "UPDATE")) {
        return None;
    }
    let object = request.get_mut("request")?.get_mut("object")?.take();
    if !all_fixable(&object, &first.findings, options) {
        return None;
    }
    let mut last = None;
    // The loop alone: the fields left are not needed, only whether the fixed object passes.
    let (fixed_object, changes, verdict) =
        fix_loop(object, options, first, &mut |candidate: &Value| {
            if let Some(slot) = request.get_mut("request").and_then(|r| r.get_mut("object")) {
                *slot = candidate.clone();
            }
            let bytes = serde_json::to_vec(&request).map_err(|e| {
                Error::InvalidRequest(format!("the request does not serialise: {e}"))
            })?;
            let evaluation = crate::evaluate_with(&bytes, cluster)?;
            last = Some(evaluation.response);
            Ok(evaluation.verdict)
        })
        .ok()?;
    if changes.is_empty() || !verdict.allowed {
        return None;
    }
    let mut response = last?;
    let changes: Vec<String> = changes.iter().map(Change::describe).collect();
    response.warnings.get_or_insert_with(Vec::new).push(format!(
        "podsec changed the object to pass: {}",
        changes.join("; ")
    ));
    response.mutated_object = Some(fixed_object);
    Some(response)
}

/// One round: every fault in `findings` that has a fix allowed by `options`, applied to
/// `object` in order.
fn fix_round(object: &mut Value, findings: &[Finding], options: FixOptions) -> Vec<Change> {
    let mut applied = Vec::new();
    let pod = Pod::of(object);
    for finding in findings {
        for field in &finding.fields {
            let Rule::Fix(class, intent) = rule(object, &pod, finding.check, field, options) else {
                continue;
            };
            if class == FixClass::NeedsReview && !options.include_review {
                continue;
            }
            // Carried out on the object itself, operation by operation.
            let mut operations = Vec::new();
            intent.collect(object, &mut operations);
            applied.extend(operations.into_iter().map(|(op, steps, value)| Change {
                op,
                steps,
                value,
                check: finding.check,
                class,
                field: field.path.clone(),
            }));
        }
    }
    applied
}

/// What is left of `findings` on the fixed object, each with its class and reason.
fn remaining(object: &Value, findings: &[Finding], options: FixOptions) -> Vec<Remaining> {
    let mut left = Vec::new();
    let pod = Pod::of(object);
    for finding in findings {
        for field in &finding.fields {
            let (class, reason) = match rule(object, &pod, finding.check, field, options) {
                Rule::CannotFix(class, reason) => (class, reason),
                Rule::Fix(FixClass::NeedsReview, intent) if !options.include_review => {
                    let would: Vec<String> = intent
                        .operations(object)
                        .into_iter()
                        .map(|(op, steps, value)| {
                            Change {
                                op,
                                steps,
                                value,
                                check: finding.check,
                                class: FixClass::NeedsReview,
                                field: field.path.clone(),
                            }
                            .describe()
                        })
                        .collect();
                    (
                        FixClass::NeedsReview,
                        format!(
                            "needs review: {} (podsec fix --include-review)",
                            would.join(", ")
                        ),
                    )
                }
                // A fix that was allowed but left the fault: nothing podsec knows satisfies it.
                Rule::Fix(..) => (
                    FixClass::CannotFix,
                    "no change podsec knows satisfies this check".to_owned(),
                ),
            };
            left.push(Remaining {
                check: finding.check,
                class,
                field: field.path.clone(),
                value: field.value.clone(),
                reason,
            });
        }
    }
    left
}

/// What to do about one field.
enum Rule {
    Fix(FixClass, Intent),
    /// Left as it is: [`FixClass::CannotFix`], or [`FixClass::NeedsReview`] when a change
    /// that needs review must come first.
    CannotFix(FixClass, String),
}

/// Why a check's faults are never changed, for the checks whose every fault is so.
fn cannot_fix(check: CheckId) -> Option<&'static str> {
    Some(match check {
        CheckId::Privileged => "a privileged container gets the node's devices and every capability; run it in a namespace at level privileged, or exempt it",
        CheckId::HostNamespaces => "the pod shares the node's network, PID or IPC namespace, which is what it asks for; it needs a namespace at level privileged, or an exemption",
        CheckId::HostPathVolumes => "the pod mounts a directory of the node; replace the volume with one the level allows (emptyDir, a PersistentVolumeClaim, a ConfigMap…), or allow the path (allowedHostPaths)",
        CheckId::HostPorts => "the container binds a port of the node; reach it through a Service instead, or allow the port range (minPort, maxPort)",
        CheckId::WindowsHostProcess => "a HostProcess container runs on the Windows node itself; it needs a namespace at level privileged",
        CheckId::RestrictedVolumes => "the volume's type is not one the restricted level allows; replace it with a configMap, secret, projected, emptyDir, ephemeral, csi, downwardAPI or persistentVolumeClaim volume",
        _ => return None,
    })
}

fn cannot(reason: &str) -> Rule {
    Rule::CannotFix(FixClass::CannotFix, reason.to_owned())
}

/// The change a rule wants, independent of what the object holds now.
enum Intent {
    /// Set a field, creating its parents.
    Set(Vec<Segment>, Value),
    /// Add a value to a list unless it is there, creating the list.
    Append(Vec<Segment>, Vec<Value>),
    /// Remove a field if present.
    Remove(Vec<Segment>),
    /// Remove the first item of a list equal to the value (or whose `name` is it).
    RemoveItem(Vec<Segment>, Value),
    /// Several of the above.
    All(Vec<Intent>),
}

type Operation = (PatchOp, Vec<Step>, Option<Value>);

impl Intent {
    /// The operations that would carry the intent out on `object` as it is now (none when
    /// it is already carried out), without changing it.
    fn operations(&self, object: &Value) -> Vec<Operation> {
        let mut object = object.clone();
        let mut out = Vec::new();
        self.collect(&mut object, &mut out);
        out
    }

    /// Carries the intent out on `object`, recording each operation made.
    fn collect(&self, object: &mut Value, out: &mut Vec<Operation>) {
        let found = match self {
            Intent::Set(at, value) => set_operation(object, at, value.clone()),
            Intent::Append(list, values) => {
                for value in values {
                    if let Some((op, steps, value)) = append_operation(object, list, value) {
                        if apply(object, op, &steps, value.clone()) {
                            out.push((op, steps, value));
                        }
                    }
                }
                None
            }
            Intent::Remove(at) => {
                get(object, at).map(|_| (PatchOp::Remove, steps_of(at), None::<Value>))
            }
            Intent::RemoveItem(list, value) => match get(object, list) {
                Some(Value::Array(items)) => items
                    .iter()
                    .position(|item| item == value || item.get("name") == Some(value))
                    .map(|index| {
                        let mut steps = steps_of(list);
                        steps.push(Step::Index(index));
                        (PatchOp::Remove, steps, None)
                    }),
                _ => None,
            },
            Intent::All(intents) => {
                for intent in intents {
                    intent.collect(object, out);
                }
                None
            }
        };
        if let Some((op, steps, value)) = found {
            if apply(object, op, &steps, value.clone()) {
                out.push((op, steps, value));
            }
        }
    }
}

/// Where the pod spec and metadata sit in an object, and whether the pod is a Windows pod:
/// what every rule of a round asks, found once.
struct Pod {
    spec: Vec<Segment>,
    meta: Vec<Segment>,
    windows: bool,
}

impl Pod {
    fn of(object: &Value) -> Pod {
        let (spec, meta) =
            object_kind(object).map_or(("spec", "metadata"), |kind| kind.pod_paths());
        let segments = |path: &str| FieldPath::new(path).segments().unwrap_or_default();
        let spec = segments(spec);
        let windows =
            get(object, &below(&spec, "os.name")).and_then(Value::as_str) == Some("windows");
        Pod {
            spec,
            meta: segments(meta),
            windows,
        }
    }
}

fn key(name: &str) -> Segment {
    Segment::Key(name.to_owned())
}

/// `base` followed by the dotted `fields`.
fn below(base: &[Segment], fields: &str) -> Vec<Segment> {
    let mut path = base.to_vec();
    path.extend(fields.split('.').map(key));
    path
}

/// `path` without its last `count` segments.
fn parent(path: &[Segment], count: usize) -> Vec<Segment> {
    path.get(..path.len().saturating_sub(count))
        .unwrap_or_default()
        .to_vec()
}

/// The path of the container a path below the pod spec points into.
fn container_of(path: &[Segment], spec: &[Segment]) -> Option<Vec<Segment>> {
    let rest = path.strip_prefix(spec)?;
    match rest {
        [Segment::Key(list), Segment::Index(_), ..]
            if matches!(
                list.as_str(),
                "containers" | "initContainers" | "ephemeralContainers"
            ) =>
        {
            path.get(..spec.len().saturating_add(2)).map(<[_]>::to_vec)
        }
        _ => None,
    }
}

const WINDOWS: &str = "spec.os.name is windows: podsec adds no Linux-only field to a Windows pod";

/// The rule for one faulted field of `object`, a `pod`.
fn rule(object: &Value, pod: &Pod, check: CheckId, field: &Field, options: FixOptions) -> Rule {
    if let Some(reason) = cannot_fix(check) {
        return cannot(reason);
    }
    let Some(path) = field.path.segments() else {
        return cannot("the field path does not parse");
    };
    let (spec, windows) = (&pod.spec, pod.windows);
    let runtime_default = || json!({"type": "RuntimeDefault"});
    let linux = |class: FixClass, intent: Intent| {
        if windows {
            cannot(WINDOWS)
        } else {
            Rule::Fix(class, intent)
        }
    };
    let annotation = path.starts_with(&pod.meta)
        && matches!(path.get(pod.meta.len()), Some(Segment::Key(k)) if k == "annotations");
    match check {
        CheckId::Privileged
        | CheckId::HostNamespaces
        | CheckId::HostPathVolumes
        | CheckId::HostPorts
        | CheckId::WindowsHostProcess
        // Answered by `cannot_fix` above; listed so that a new check must choose its rule.
        | CheckId::RestrictedVolumes => cannot(cannot_fix(check).unwrap_or_default()),
        CheckId::CapabilitiesBaseline | CheckId::CapabilitiesRestricted => {
            match path.last() {
                Some(Segment::Index(_)) => Rule::Fix(
                    FixClass::NeedsReview,
                    Intent::RemoveItem(parent(&path, 1), field.value.clone()),
                ),
                _ if check == CheckId::CapabilitiesRestricted => linux(
                    FixClass::Safe,
                    Intent::Append(path, vec![Value::from("ALL")]),
                ),
                // `requiredDropCapabilities`: the names missing from `drop`.
                _ => {
                    let names = match &field.value {
                        Value::Array(names) => names.clone(),
                        other => vec![other.clone()],
                    };
                    linux(FixClass::Safe, Intent::Append(path, names))
                }
            }
        }
        CheckId::HostProbesAndHostLifecycle => {
            Rule::Fix(FixClass::NeedsReview, Intent::Remove(path))
        }
        CheckId::AppArmorProfile if annotation => linux(
            FixClass::Safe,
            Intent::Set(path, Value::from("runtime/default")),
        ),
        CheckId::AppArmorProfile => linux(
            FixClass::Safe,
            Intent::Set(parent(&path, 1), runtime_default()),
        ),
        CheckId::SeLinuxOptions => Rule::Fix(FixClass::NeedsReview, Intent::Remove(path)),
        CheckId::ProcMount | CheckId::ProcMountRestricted => {
            linux(FixClass::Safe, Intent::Set(path, Value::from("Default")))
        }
        CheckId::SeccompProfileBaseline | CheckId::SeccompProfileRestricted if annotation => linux(
            FixClass::Safe,
            Intent::Set(path, Value::from("runtime/default")),
        ),
        CheckId::SeccompProfileBaseline | CheckId::SeccompProfileRestricted => {
            if field.value.is_null() {
                // No profile anywhere: one at the pod level covers every container.
                linux(
                    FixClass::Safe,
                    Intent::Set(
                        below(spec, "securityContext.seccompProfile"),
                        runtime_default(),
                    ),
                )
            } else {
                linux(
                    FixClass::Safe,
                    Intent::Set(parent(&path, 1), runtime_default()),
                )
            }
        }
        CheckId::Sysctls => Rule::Fix(
            FixClass::NeedsReview,
            Intent::RemoveItem(parent(&path, 2), field.value.clone()),
        ),
        CheckId::AllowPrivilegeEscalation => {
            if let Some(container) = container_of(&path, spec) {
                let context = |fields: &str| get(object, &below(&container, fields));
                if context("securityContext.privileged") == Some(&Value::Bool(true)) {
                    return cannot(
                        "the container is privileged, and the API server refuses allowPrivilegeEscalation=false beside privileged=true",
                    );
                }
                let adds_sys_admin = context("securityContext.capabilities.add")
                    .and_then(Value::as_array)
                    .is_some_and(|caps| {
                        caps.iter()
                            .any(|c| c == "CAP_SYS_ADMIN" || c == "SYS_ADMIN")
                    });
                if adds_sys_admin && !windows {
                    return Rule::CannotFix(
                        FixClass::NeedsReview,
                        "needs review: the container adds CAP_SYS_ADMIN, which the API server refuses beside allowPrivilegeEscalation=false; remove it first (podsec fix --include-review)".to_owned(),
                    );
                }
            }
            linux(FixClass::Safe, Intent::Set(path, Value::Bool(false)))
        }
        CheckId::RunAsNonRoot => {
            let non_root = if field.value.is_null() {
                below(spec, "securityContext.runAsNonRoot")
            } else {
                path
            };
            let mut intents = vec![Intent::Set(non_root, Value::Bool(true))];
            if let Some(uid) = options.run_as_user {
                let pod_user = below(spec, "securityContext.runAsUser");
                if !windows && get(object, &pod_user).is_none() {
                    intents.push(Intent::Set(pod_user, Value::from(uid)));
                }
            }
            Rule::Fix(FixClass::NeedsReview, Intent::All(intents))
        }
        CheckId::RunAsUser => match options.run_as_user {
            Some(uid) if !windows => {
                Rule::Fix(FixClass::NeedsReview, Intent::Set(path, Value::from(uid)))
            }
            _ => Rule::Fix(FixClass::NeedsReview, Intent::Remove(path)),
        },
    }
}

fn steps_of(path: &[Segment]) -> Vec<Step> {
    path.iter()
        .map(|segment| match segment {
            Segment::Key(name) => Step::Key(name.clone()),
            Segment::Index(index) => Step::Index(*index),
        })
        .collect()
}

/// `value` below the keys of `path` (`None` when `path` holds a list index: podsec never
/// creates list items by index).
fn nest(path: &[Segment], value: Value) -> Option<Value> {
    path.iter()
        .rev()
        .try_fold(value, |inner, segment| match segment {
            Segment::Key(name) => {
                let mut map = Map::new();
                map.insert(name.clone(), inner);
                Some(Value::Object(map))
            }
            Segment::Index(_) => None,
        })
}

/// The operation that makes the field at `path` hold `value`, creating the objects above
/// it; `None` when it already does or when a list item on the way is missing.
fn set_operation(object: &Value, path: &[Segment], value: Value) -> Option<Operation> {
    let mut node = object;
    for (depth, segment) in path.iter().enumerate() {
        let here = path.get(..=depth)?;
        let rest = path.get(depth.saturating_add(1)..)?;
        let child = match (segment, node) {
            (Segment::Key(name), Value::Object(map)) => map.get(name),
            (Segment::Index(index), Value::Array(items)) => items.get(*index),
            _ => return None,
        };
        let Some(child) = child else {
            return match segment {
                Segment::Key(_) => Some((PatchOp::Add, steps_of(here), Some(nest(rest, value)?))),
                Segment::Index(_) => None,
            };
        };
        match rest.first() {
            None if *child == value => return None,
            None => return Some((PatchOp::Replace, steps_of(here), Some(value))),
            Some(Segment::Key(_)) if !child.is_object() => {
                // `securityContext: null` (or a scalar): replaced by the object it must be.
                return Some((PatchOp::Replace, steps_of(here), Some(nest(rest, value)?)));
            }
            Some(Segment::Index(_)) if !child.is_array() => return None,
            Some(_) => node = child,
        }
    }
    None
}

/// The operation that adds `value` to the list at `list` unless it is there.
fn append_operation(object: &Value, list: &[Segment], value: &Value) -> Option<Operation> {
    match get(object, list) {
        Some(Value::Array(items)) if items.contains(value) => None,
        Some(Value::Array(_)) => {
            let mut steps = steps_of(list);
            steps.push(Step::End);
            Some((PatchOp::Add, steps, Some(value.clone())))
        }
        _ => set_operation(object, list, Value::Array(vec![value.clone()])),
    }
}

/// The value at `path`, if there is one.
fn get<'v>(object: &'v Value, path: &[Segment]) -> Option<&'v Value> {
    path.iter().try_fold(object, |node, segment| match segment {
        Segment::Key(name) => node.get(name.as_str()),
        Segment::Index(index) => node.get(*index),
    })
}

/// Applies one operation; false when its path does not lead anywhere.
fn apply(object: &mut Value, op: PatchOp, steps: &[Step], value: Option<Value>) -> bool {
    let Some((last, parents)) = steps.split_last() else {
        return false;
    };
    let mut node = object;
    for step in parents {
        let next = match (step, node) {
            (Step::Key(name), Value::Object(map)) => map.get_mut(name),
            (Step::Index(index), Value::Array(items)) => items.get_mut(*index),
            _ => None,
        };
        let Some(next) = next else { return false };
        node = next;
    }
    match (op, last, node, value) {
        (PatchOp::Add | PatchOp::Replace, Step::Key(name), Value::Object(map), Some(value)) => {
            map.insert(name.clone(), value);
            true
        }
        (PatchOp::Add, Step::End, Value::Array(items), Some(value)) => {
            items.push(value);
            true
        }
        (PatchOp::Replace, Step::Index(index), Value::Array(items), Some(value)) => {
            match items.get_mut(*index) {
                Some(slot) => {
                    *slot = value;
                    true
                }
                None => false,
            }
        }
        (PatchOp::Remove, Step::Key(name), Value::Object(map), _) => map.remove(name).is_some(),
        (PatchOp::Remove, Step::Index(index), Value::Array(items), _) if *index < items.len() => {
            items.remove(*index);
            true
        }
        _ => false,
    }
}

/// RFC 6901: `~` is `~0`, `/` is `~1`.
fn pointer(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        out.push('/');
        match step {
            Step::Key(name) => out.push_str(&name.replace('~', "~0").replace('/', "~1")),
            Step::Index(index) => out.push_str(&index.to_string()),
            Step::End => out.push('-'),
        }
    }
    out
}

/// The steps as a field path (`spec.containers[0].securityContext`), for people.
fn dotted(steps: &[Step]) -> String {
    let mut path = FieldPath::root();
    for step in steps {
        path = match step {
            Step::Key(name) if name.contains(['.', '/']) => path.key(name),
            Step::Key(name) => path.child(name),
            Step::Index(index) => path.index(*index),
            Step::End => path,
        };
    }
    path.to_string()
}

/// A value on one line.
fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Settings;

    fn settings(json: Value) -> Settings {
        Settings::from_value(&json).unwrap_or_default()
    }

    fn fix(object: Value, level: &str, options: FixOptions) -> Fixed {
        let settings = settings(json!({"level": level}));
        match fix_object(object, &settings, options) {
            Ok(fixed) => fixed,
            Err(error) => panic!("fix failed: {error}"),
        }
    }

    fn pod(container: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
               "spec": {"containers": [container]}})
    }

    #[test]
    fn restricted_safe_fixes_leave_run_as_non_root_for_review() {
        let fixed = fix(
            pod(json!({"name": "app", "image": "nginx"})),
            "restricted",
            FixOptions::default(),
        );
        let ops: Vec<(String, String)> = fixed
            .changes
            .iter()
            .map(|c| (c.op.as_str().to_owned(), c.path()))
            .collect();
        assert_eq!(
            ops,
            [
                (
                    "add".to_owned(),
                    "/spec/containers/0/securityContext".to_owned()
                ),
                (
                    "add".to_owned(),
                    "/spec/containers/0/securityContext/capabilities".to_owned()
                ),
                ("add".to_owned(), "/spec/securityContext".to_owned()),
            ]
        );
        assert!(!fixed.verdict.allowed);
        let left: Vec<(CheckId, FixClass)> =
            fixed.remaining.iter().map(|r| (r.check, r.class)).collect();
        assert_eq!(left, [(CheckId::RunAsNonRoot, FixClass::NeedsReview)]);
        assert!(fixed.remaining[0].reason.contains("runAsNonRoot = true"));
    }

    #[test]
    fn review_fixes_make_the_pod_pass_and_fixing_again_changes_nothing() {
        let options = FixOptions {
            include_review: true,
            run_as_user: Some(1000),
        };
        let fixed = fix(
            pod(json!({"name": "app", "image": "nginx",
                "securityContext": {"capabilities": {"add": ["SYS_ADMIN", "NET_BIND_SERVICE", "NET_RAW"]},
                                    "procMount": "Unmasked", "runAsUser": 0}})),
            "restricted",
            options,
        );
        assert!(fixed.verdict.allowed, "{:?}", fixed.remaining);
        let context = &fixed.object["spec"]["containers"][0]["securityContext"];
        assert_eq!(context["capabilities"]["add"], json!(["NET_BIND_SERVICE"]));
        assert_eq!(context["capabilities"]["drop"], json!(["ALL"]));
        assert_eq!(context["allowPrivilegeEscalation"], json!(false));
        assert_eq!(context["procMount"], json!("Default"));
        assert_eq!(context["runAsUser"], json!(1000));
        assert_eq!(
            fixed.object["spec"]["securityContext"]["runAsNonRoot"],
            json!(true)
        );
        let again = fix(fixed.object.clone(), "restricted", options);
        assert!(again.changes.is_empty());
        assert_eq!(again.object, fixed.object);
    }

    #[test]
    fn privileged_containers_are_left_with_reasons() {
        let fixed = fix(
            pod(json!({"name": "app", "image": "x", "securityContext": {"privileged": true}})),
            "restricted",
            FixOptions {
                include_review: true,
                run_as_user: None,
            },
        );
        let left: Vec<(CheckId, FixClass)> =
            fixed.remaining.iter().map(|r| (r.check, r.class)).collect();
        assert_eq!(
            left,
            [
                (CheckId::Privileged, FixClass::CannotFix),
                (CheckId::AllowPrivilegeEscalation, FixClass::CannotFix),
            ]
        );
        let context = &fixed.object["spec"]["containers"][0]["securityContext"];
        assert_eq!(context["privileged"], json!(true));
        assert!(context.get("allowPrivilegeEscalation").is_none());
    }

    #[test]
    fn windows_pods_get_no_linux_fields() {
        let object = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "w"},
            "spec": {"os": {"name": "windows"}, "containers": [{"name": "app", "image": "x"}]}});
        let settings = settings(json!({"level": "restricted", "version": "v1.24"}));
        let fixed = match fix_object(
            object,
            &settings,
            FixOptions {
                include_review: true,
                run_as_user: Some(1000),
            },
        ) {
            Ok(fixed) => fixed,
            Err(error) => panic!("{error}"),
        };
        let paths: Vec<String> = fixed.changes.iter().map(Change::path).collect();
        assert_eq!(paths, ["/spec/securityContext"]);
        assert_eq!(
            fixed.object["spec"]["securityContext"],
            json!({"runAsNonRoot": true})
        );
        assert!(fixed
            .remaining
            .iter()
            .all(|r| r.class == FixClass::CannotFix && r.reason == WINDOWS));
    }

    #[test]
    fn workloads_are_fixed_in_their_template_and_patches_read_as_rfc_6902() {
        let object = json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
            "spec": {"jobTemplate": {"spec": {"template": {
                "metadata": {"annotations": {"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}},
                "spec": {"containers": [{"name": "a", "image": "x",
                    "securityContext": {"seccompProfile": {"type": "Unconfined"}}}]}}}}}});
        let fixed = fix(object, "baseline", FixOptions::default());
        assert!(fixed.verdict.allowed);
        let patch = serde_json::to_value(&fixed.changes).unwrap_or_default();
        assert_eq!(
            patch,
            json!([{"op": "replace",
                "path": "/spec/jobTemplate/spec/template/spec/containers/0/securityContext/seccompProfile",
                "value": {"type": "RuntimeDefault"}, "check": "seccompProfile_baseline",
                "class": "safe",
                "field": "spec.jobTemplate.spec.template.spec.containers[0].securityContext.seccompProfile.type"}])
        );
        let old = fix(fixed.object, "baseline", FixOptions::default());
        assert!(old.changes.is_empty());
        let settings = settings(json!({"level": "baseline", "version": "v1.18"}));
        let object = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p",
            "annotations": {"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}},
            "spec": {"containers": [{"name": "a", "image": "x"}]}});
        let fixed = fix_object(object, &settings, FixOptions::default());
        let Ok(fixed) = fixed else {
            panic!("fix failed")
        };
        assert_eq!(
            fixed.changes.first().map(Change::path).as_deref(),
            Some("/metadata/annotations/seccomp.security.alpha.kubernetes.io~1pod")
        );
        assert_eq!(
            fixed.changes.first().map(Change::describe).as_deref(),
            Some("set metadata.annotations[seccomp.security.alpha.kubernetes.io/pod] = \"runtime/default\"")
        );
    }

    #[test]
    fn null_security_contexts_are_replaced_and_lists_appended() {
        let fixed = fix(
            pod(json!({"name": "a", "image": "x", "securityContext": null})),
            "restricted",
            FixOptions::default(),
        );
        assert_eq!(
            fixed.changes.first().map(|c| (c.op, c.path())),
            Some((
                PatchOp::Replace,
                "/spec/containers/0/securityContext".to_owned()
            ))
        );
        let fixed = fix(
            pod(
                json!({"name": "a", "image": "x", "securityContext": {"allowPrivilegeEscalation": false,
                "capabilities": {"drop": ["NET_RAW"]}}}),
            ),
            "restricted",
            FixOptions::default(),
        );
        assert_eq!(
            fixed.changes.first().map(|c| (c.path(), c.describe())),
            Some((
                "/spec/containers/0/securityContext/capabilities/drop/-".to_owned(),
                "append \"ALL\" to spec.containers[0].securityContext.capabilities.drop".to_owned()
            ))
        );
    }

    fn review(settings: Value, object: Value, operation: &str) -> Vec<u8> {
        let request = json!({"settings": settings, "request": {
            "uid": "1", "operation": operation, "namespace": "default",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "userInfo": {"username": "u"}, "object": object}});
        serde_json::to_vec(&request).unwrap_or_default()
    }

    #[test]
    fn the_mutating_mode_accepts_what_safe_fixes_make_pass() {
        let runs_as_non_root = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"securityContext": {"runAsNonRoot": true},
                     "containers": [{"name": "app", "image": "nginx"}]}});
        let on = json!({"level": "restricted", "mutate": true});
        let response = validate_or_mutate(
            &review(on.clone(), runs_as_non_root.clone(), "CREATE"),
            &crate::cluster::NoCluster,
        );
        assert!(response.accepted, "{response:?}");
        let Some(object) = &response.mutated_object else {
            panic!("no mutated object")
        };
        assert_eq!(
            object["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"],
            json!(false)
        );
        let warnings = response.warnings.unwrap_or_default();
        assert!(warnings.iter().any(|w| w.starts_with(
            "podsec changed the object to pass: set spec.containers[0].securityContext = "
        )));
        // Off, or a fix that is not enough, or another operation: the plain answer.
        let off = json!({"level": "restricted"});
        let plain = crate::validate(&review(off.clone(), runs_as_non_root.clone(), "CREATE"));
        assert!(!plain.accepted);
        assert_eq!(
            validate_or_mutate(
                &review(off, runs_as_non_root.clone(), "CREATE"),
                &crate::cluster::NoCluster
            ),
            plain
        );
        let root = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "app", "image": "nginx"}]}});
        let refused = validate_or_mutate(
            &review(on.clone(), root.clone(), "CREATE"),
            &crate::cluster::NoCluster,
        );
        assert_eq!(
            refused,
            crate::validate(&review(on.clone(), root.clone(), "CREATE"))
        );
        assert!(!refused.accepted && refused.mutated_object.is_none());
        // With the review fixes and a user id, the root pod passes too.
        let review_on = json!({"level": "restricted", "mutate": true,
            "fix": {"includeReview": true, "runAsUser": 1000}});
        let fixed = validate_or_mutate(
            &review(review_on, root.clone(), "CREATE"),
            &crate::cluster::NoCluster,
        );
        assert!(fixed.accepted);
        let spec = fixed
            .mutated_object
            .map(|o| o["spec"]["securityContext"].clone());
        assert_eq!(
            spec,
            Some(
                json!({"runAsNonRoot": true, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}})
            )
        );
        let delete = validate_or_mutate(&review(on, root, "DELETE"), &crate::cluster::NoCluster);
        assert!(delete.accepted && delete.mutated_object.is_none());
    }
}
