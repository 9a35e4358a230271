//! The namespace-labels mode: Pod Security Admission's own decisions (upstream's
//! `admission/admission.go`), with podsec's checks and settings underneath.
//!
//! - Pods and workloads: the request's namespace is fetched from the host (one
//!   `get_resource`), its labels read into a [`NamespacePolicy`], and the object evaluated
//!   at each mode's level: enforce denies, audit writes the `audit-violations` annotation,
//!   warn returns warnings (only when the request is allowed). Workloads are denied in
//!   enforce mode unless `enforceWorkloads: false` (PSA's behaviour: warn and audit only).
//! - Namespaces: invalid Pod Security labels are refused (422) on create, and on update when
//!   they changed; an update that tightens enforce dry-runs the namespace's pods (one
//!   `list_resources_by_namespace`) and returns PSA's warnings; an exempt namespace with a
//!   policy of its own gets PSA's "is exempt" warning.

use crate::checks::{checks_for, run_checks, Context};
use crate::cluster::{controller_uid, Cluster, ListResourcesByNamespaceRequest, PodList};
use crate::evaluate::AUDIT_ANNOTATION;
use crate::evaluate::{forbidden_detail, Evaluation};
use crate::exemptions::{
    apply_check_exemptions, exclude_containers, object_exemption, request_exemption,
    runtime_class_exemption, Checked,
};
use crate::namespace_policy::{
    aggregate, policy_for_labels, LabelError, LevelVersion, NamespacePolicy, AUDIT_LEVEL_LABEL,
    AUDIT_VERSION_LABEL, ENFORCE_LEVEL_LABEL, ENFORCE_VERSION_LABEL, WARN_LEVEL_LABEL,
    WARN_VERSION_LABEL,
};
use crate::pod::{ObjectMeta, PodSpec};
use crate::request::{AdmissionRequest, KubeObject};
use crate::response::{ValidationResponse, Verdict};
use crate::settings::Settings;
use crate::workload::ResourceKind;
use crate::Level;
use std::collections::BTreeMap;

/// PSA's audit annotation naming the enforce policy a pod was evaluated at.
pub const ENFORCE_POLICY_ANNOTATION: &str = "enforce-policy";
/// PSA's audit annotation naming the exemption that let a request through.
pub const EXEMPT_ANNOTATION: &str = "exempt";
/// PSA's audit annotation for invalid namespace labels.
pub const ERROR_ANNOTATION: &str = "error";
/// PSA's limit on the pods checked when a namespace's enforce level tightens.
pub const NAMESPACE_MAX_PODS_TO_CHECK: usize = 3000;

/// The namespace policy of a request, or the answer when there is nothing to evaluate.
pub(crate) enum Lookup {
    /// Evaluate at this policy; the errors are the namespace's invalid labels.
    Policy(NamespacePolicy, Vec<LabelError>),
    /// Answer now.
    Answer(Box<Evaluation>),
}

/// Whether workload requests of `kind` are denied in enforce mode.
pub(crate) fn enforces(kind: ResourceKind, settings: &Settings) -> bool {
    kind == ResourceKind::Pod || settings.enforce_workloads
}

fn answer(verdict: Verdict, response: ValidationResponse) -> Lookup {
    Lookup::Answer(Box::new(Evaluation { response, verdict }))
}

/// Fetches the request namespace's labels and reads its policy. A namespace that cannot
/// be fetched fails the request as PSA fails it (500, `failed to lookup namespace`) when
/// it would be enforced; a workload that is only warned about is let through with an
/// `error` audit annotation.
pub(crate) fn namespace_policy(
    namespace: &str,
    kind: ResourceKind,
    settings: &Settings,
    cluster: &dyn Cluster,
    mut verdict: Verdict,
) -> Lookup {
    // The policy is read from the labels while the host's answer is borrowed: no label is
    // copied.
    let read = cluster.get_namespace(namespace).and_then(|bytes| {
        // `from_str`, as for the request: one reader type keeps one copy of each
        // deserializer in the module.
        std::str::from_utf8(&bytes)
            .map_err(|e| e.to_string())
            .and_then(|text| {
                serde_json::from_str::<KubeObject<'_>>(text).map_err(|e| e.to_string())
            })
            .map_err(|e| format!("the host's answer is not a Namespace: {e}"))
            .map(|object| {
                let metadata = object.metadata.unwrap_or_default();
                policy_for_labels(
                    metadata
                        .labels
                        .iter()
                        .map(|(k, v)| (k.as_ref(), v.as_ref())),
                    &settings.defaults,
                    &settings.latest(),
                )
            })
    });
    let (policy, errors) = match read {
        Ok(read) => read,
        Err(error) => {
            let message = format!("failed to lookup namespace {namespace:?}: {error}");
            if enforces(kind, settings) {
                verdict.allowed = false;
                verdict.message = Some(message.clone());
                return answer(verdict, ValidationResponse::reject(message, 500));
            }
            verdict.skipped = Some(message.clone());
            let response = ValidationResponse {
                accepted: true,
                audit_annotations: Some(BTreeMap::from([(ERROR_ANNOTATION.to_owned(), message)])),
                ..ValidationResponse::default()
            };
            return answer(verdict, response);
        }
    };
    let nothing_to_report = if enforces(kind, settings) {
        policy.fully_privileged()
    } else {
        policy.warn.level == Level::Privileged && policy.audit.level == Level::Privileged
    };
    if errors.is_empty() && nothing_to_report {
        verdict.policy = Some(policy.describe());
        verdict.skipped = Some(format!(
            "namespace {namespace:?} is privileged in every mode podsec applies to a {}",
            kind.as_str()
        ));
        return answer(verdict, ValidationResponse::accept());
    }
    Lookup::Policy(policy, errors)
}

/// Evaluates a pod (or pod template) at each mode of `policy` and answers as PSA does.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conclude(
    mut verdict: Verdict,
    kind: ResourceKind,
    spec: &PodSpec<'_>,
    meta: &ObjectMeta<'_>,
    settings: &Settings,
    policy: &NamespacePolicy,
    errors: &[LabelError],
    object_label: Option<String>,
    detail: Detail,
) -> Evaluation {
    let paths = kind.pod_paths();
    // Taken out of the verdict while the checks read it, and put back at the end.
    let namespace_of_verdict = verdict.namespace.take();
    let namespace = namespace_of_verdict.as_deref().unwrap_or_default();
    let mut cache: Vec<(Level, u32, Checked)> = Vec::with_capacity(3);
    let mut evaluate = |lv: &LevelVersion| -> Checked {
        let minor = lv.version.minor();
        if let Some((_, _, checked)) = cache
            .iter()
            .find(|(level, m, _)| *level == lv.level && *m == minor)
        {
            return checked.clone();
        }
        let checked = findings_at(
            lv.level, minor, spec, meta, settings, paths, namespace, detail,
        );
        cache.push((lv.level, minor, checked.clone()));
        checked
    };
    // Warnings and audit annotations are PSA's text; a denied workload (which PSA never
    // denies) names the object, as podsec's fixed-level mode does.
    let prefix = object_label.map(|o| format!("{o}: ")).unwrap_or_default();
    let mut annotations = BTreeMap::new();
    if !errors.is_empty() {
        annotations.insert(
            ERROR_ANNOTATION.to_owned(),
            format!("Failed to parse policy: {}", aggregate(errors)),
        );
    }
    let mut response = ValidationResponse::accept();
    let mut shown = Checked::default();
    if enforces(kind, settings) {
        annotations.insert(ENFORCE_POLICY_ANNOTATION.to_owned(), policy.enforce.label());
        let enforced = evaluate(&policy.enforce);
        if !enforced.findings.is_empty() {
            let message = format!(
                "{prefix}violates PodSecurity \"{}\": {}",
                policy.enforce,
                forbidden_detail(&enforced.findings)
            );
            verdict.allowed = false;
            verdict.message = Some(message.clone());
            response = ValidationResponse::reject(message, 403);
            shown = enforced;
        }
    }
    let audit = evaluate(&policy.audit);
    if !audit.findings.is_empty() {
        annotations.insert(
            AUDIT_ANNOTATION.to_owned(),
            format!(
                "would violate PodSecurity \"{}\": {}",
                policy.audit,
                forbidden_detail(&audit.findings)
            ),
        );
    }
    if response.accepted {
        let warn = evaluate(&policy.warn);
        if !warn.findings.is_empty() {
            let warning = format!(
                "would violate PodSecurity \"{}\": {}",
                policy.warn,
                forbidden_detail(&warn.findings)
            );
            verdict.warnings.push(warning.clone());
            response.warnings = Some(vec![warning]);
            shown = warn;
        } else if shown.findings.is_empty() && shown.exempted.is_empty() {
            shown = if audit.findings.is_empty() && audit.exempted.is_empty() {
                warn
            } else {
                audit
            };
        }
    }
    if !annotations.is_empty() {
        response.audit_annotations = Some(annotations);
    }
    verdict.findings = shown.findings;
    verdict.exempted = shown.exempted;
    verdict.namespace = namespace_of_verdict;
    // Only the detailed answer shows the policy (`validate` returns the response alone).
    if detail == Detail::Verdict {
        verdict.policy = Some(policy.describe());
    }
    Evaluation { response, verdict }
}

/// What an evaluation is for: the response alone (Kubewarden's `validate`), or the verdict
/// too (`evaluate`, `podsec check`, the playground), whose findings name each field at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Detail {
    /// The response alone: findings without field paths, unless the settings need them.
    Response,
    /// The verdict with every field path.
    Verdict,
}

/// The findings of the checks at `level` and `minor`, less the disabled checks: the one
/// place both modes run the checks.
#[expect(
    clippy::too_many_arguments,
    reason = "the pod, where it sits, and what the evaluation is for: one call site per mode"
)]
pub(crate) fn findings_at(
    level: Level,
    minor: u32,
    spec: &PodSpec<'_>,
    meta: &ObjectMeta<'_>,
    settings: &Settings,
    paths: (&str, &str),
    namespace: &str,
    detail: Detail,
) -> Checked {
    let mut checks = checks_for(level, minor);
    checks.retain(|c| !settings.disabled_checks.contains(c));
    let (spec_path, meta_path) = paths;
    let ctx = Context {
        spec,
        meta,
        minor,
        params: &settings.params,
        spec_path,
        meta_path,
        // Check-scoped exemptions and the mutating mode read the fields' paths.
        field_paths: detail == Detail::Verdict
            || settings.mutate
            || !settings.check_exemptions.is_empty(),
    };
    let findings = run_checks(&checks, &ctx);
    if settings.check_exemptions.is_empty() {
        return Checked {
            findings,
            exempted: Vec::new(),
        };
    }
    apply_check_exemptions(findings, &ctx, namespace, settings)
}

/// A Namespace request in the namespace-labels mode.
pub(crate) fn namespace_request(
    request: &AdmissionRequest<'_>,
    settings: &Settings,
    cluster: &dyn Cluster,
    mut verdict: Verdict,
) -> Evaluation {
    let skip = |mut verdict: Verdict, why: &str| {
        verdict.skipped = Some(why.to_owned());
        Evaluation {
            response: ValidationResponse::accept(),
            verdict,
        }
    };
    if request
        .sub_resource
        .as_deref()
        .is_some_and(|s| !s.is_empty())
    {
        return skip(verdict, "namespace subresources are not evaluated");
    }
    let operation = request.operation.as_deref().unwrap_or("");
    if operation != "CREATE" && operation != "UPDATE" {
        return skip(verdict, "only namespace creates and updates are evaluated");
    }
    let labels_of = |object: Option<&crate::request::KubeObject<'_>>| -> Vec<(String, String)> {
        object
            .and_then(|o| o.metadata.as_ref())
            .map(|m| {
                m.labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let name = request
        .object
        .as_ref()
        .and_then(|o| o.metadata.as_ref())
        .and_then(|m| m.name.as_deref())
        .or(request.name.as_deref())
        .unwrap_or("")
        .to_owned();
    if verdict.name.is_none() && !name.is_empty() {
        verdict.name = Some(name.clone());
    }
    let latest = settings.latest();
    let labels = labels_of(request.object.as_deref());
    let read = |labels: &[(String, String)]| {
        policy_for_labels(
            labels.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            &settings.defaults,
            &latest,
        )
    };
    let (policy, errors) = read(&labels);
    verdict.policy = Some(policy.describe());
    let invalid = |mut verdict: Verdict| {
        let message = format!("Namespace {name:?} is invalid: {}", aggregate(&errors));
        verdict.allowed = false;
        verdict.message = Some(message.clone());
        Evaluation {
            response: ValidationResponse::reject(message, 422),
            verdict,
        }
    };
    let exempt_namespace = {
        let namespace = request
            .namespace
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(&name);
        request_exemption(Some(namespace), None, settings)
            .is_some_and(|e| e.psa_name == "namespace")
    };
    let warn = |mut verdict: Verdict, warnings: Vec<String>| {
        verdict.warnings = warnings.clone();
        Evaluation {
            response: ValidationResponse {
                accepted: true,
                warnings: (!warnings.is_empty()).then_some(warnings),
                ..ValidationResponse::default()
            },
            verdict,
        }
    };
    if operation == "CREATE" {
        if !errors.is_empty() {
            return invalid(verdict);
        }
        if exempt_namespace {
            if let Some(warning) = exempt_warning(&name, &policy, &labels, settings) {
                return warn(verdict, vec![warning]);
            }
        }
        // Evaluated, and allowed: the labels were checked.
        return warn(verdict, Vec::new());
    }
    let old_labels = labels_of(request.old_object.as_deref());
    let (old_policy, old_errors) = read(&old_labels);
    if !errors.is_empty() && (old_errors.is_empty() || old_errors != errors) {
        return invalid(verdict);
    }
    if policy.enforce == old_policy.enforce {
        return skip(verdict, "the enforce level did not change");
    }
    if policy.enforce.level == Level::Privileged {
        return skip(verdict, "the new enforce level is privileged");
    }
    if policy.enforce.version == old_policy.enforce.version
        && policy.enforce.level <= old_policy.enforce.level
    {
        return skip(verdict, "the enforce level was relaxed");
    }
    if exempt_namespace {
        return match exempt_warning(&name, &policy, &labels, settings) {
            Some(warning) => warn(verdict, vec![warning]),
            None => skip(verdict, "the namespace is exempt"),
        };
    }
    let warnings = check_existing_pods(&name, &policy.enforce, settings, cluster);
    warn(verdict, warnings)
}

/// PSA's warning for an exempt namespace that labels a policy of its own: the
/// non-privileged modes it labels, or nothing when its policy is fully privileged or the
/// same as the defaults.
fn exempt_warning(
    name: &str,
    policy: &NamespacePolicy,
    labels: &[(String, String)],
    settings: &Settings,
) -> Option<String> {
    if policy.fully_privileged() || policy.equivalent(&settings.defaults) {
        return None;
    }
    let has = |key: &str| labels.iter().any(|(k, _)| k == key);
    let parts: Vec<String> = [
        (
            "enforce",
            &policy.enforce,
            ENFORCE_LEVEL_LABEL,
            ENFORCE_VERSION_LABEL,
        ),
        (
            "audit",
            &policy.audit,
            AUDIT_LEVEL_LABEL,
            AUDIT_VERSION_LABEL,
        ),
        ("warn", &policy.warn, WARN_LEVEL_LABEL, WARN_VERSION_LABEL),
    ]
    .into_iter()
    .filter(|(_, lv, level, version)| lv.level != Level::Privileged && (has(level) || has(version)))
    .map(|(mode, lv, _, _)| format!("{mode}={lv}"))
    .collect();
    Some(format!(
        "namespace {name:?} is exempt from Pod Security, and the policy ({}) will be ignored",
        parts.join(", ")
    ))
}

/// The message when the pods cannot be listed.
pub const LIST_FAILED: &str = "failed to list pods while checking new PodSecurity enforce level";

/// PSA's dry run of a new enforce level over a namespace's pods: one pod per controller
/// first, at most [`NAMESPACE_MAX_PODS_TO_CHECK`], pods with the same reasons folded into
/// one warning naming the lexically first (`web-1 (and 3 other pods): privileged`).
fn check_existing_pods(
    namespace: &str,
    enforce: &LevelVersion,
    settings: &Settings,
    cluster: &dyn Cluster,
) -> Vec<String> {
    let Ok(bytes) =
        cluster.list_resources_by_namespace(&ListResourcesByNamespaceRequest::pods(namespace))
    else {
        return vec![LIST_FAILED.to_owned()];
    };
    let list = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|text| serde_json::from_str::<PodList<'_>>(text).ok());
    let Some(list) = list else {
        return vec![LIST_FAILED.to_owned()];
    };
    let mut items = list.items;
    // PSA's order: one pod per controller first, then the other replicas.
    let mut first: Vec<usize> = Vec::with_capacity(items.len());
    let mut replicas = Vec::new();
    let mut controllers: Vec<&str> = Vec::new();
    for (index, pod) in items.iter().enumerate() {
        if runtime_class_exemption(pod.spec.as_deref(), settings).is_some() {
            continue;
        }
        match controller_uid(pod.metadata.as_ref()) {
            Some(uid) if controllers.contains(&uid) => replicas.push(index),
            Some(uid) => {
                controllers.push(uid);
                first.push(index);
            }
            None => first.push(index),
        }
    }
    first.extend(replicas);
    let total = first.len();
    first.truncate(NAMESPACE_MAX_PODS_TO_CHECK);
    let checked = first.len();
    // (reasons, lexically first pod name, pod count), in first-seen order.
    let mut groups: Vec<(String, String, usize)> = Vec::new();
    let paths = ResourceKind::Pod.pod_paths();
    for index in first {
        let Some(pod) = items.get_mut(index) else {
            continue;
        };
        let mut pod = std::mem::take(pod).into_pod(ResourceKind::Pod);
        if object_exemption(&pod, settings).is_some() {
            continue;
        }
        let Some(mut spec) = pod.spec.take() else {
            continue;
        };
        exclude_containers(&mut spec, settings);
        let meta = pod.object_meta;
        let findings = findings_at(
            enforce.level,
            enforce.version.minor(),
            &spec,
            &meta,
            settings,
            paths,
            namespace,
            Detail::Response,
        )
        .findings;
        if findings.is_empty() {
            continue;
        }
        let reasons: Vec<&str> = findings.iter().map(|f| f.reason.as_ref()).collect();
        let reasons = reasons.join(", ");
        let pod_name = meta.name.as_deref().unwrap_or("").to_owned();
        match groups.iter_mut().find(|(r, _, _)| *r == reasons) {
            Some((_, first_name, count)) => {
                if pod_name < *first_name {
                    *first_name = pod_name;
                }
                *count = count.saturating_add(1);
            }
            None => groups.push((reasons, pod_name, 1)),
        }
    }
    let mut warnings = Vec::new();
    if checked < total {
        warnings.push(format!(
            "new PodSecurity enforce level only checked against the first {checked} of {total} existing pods"
        ));
    }
    if !groups.is_empty() {
        warnings.push(format!(
            "existing pods in namespace {namespace:?} violate the new PodSecurity enforce level \"{enforce}\""
        ));
    }
    // In byte order, as PSA sorts them (kept sorted on insertion: no sort routine for one
    // list of a few strings).
    let mut pods: Vec<String> = Vec::with_capacity(groups.len());
    for (reasons, name, count) in groups {
        let warning = match count {
            1 => format!("{name}: {reasons}"),
            2 => format!("{name} (and 1 other pod): {reasons}"),
            n => format!("{name} (and {} other pods): {reasons}", n.saturating_sub(1)),
        };
        let at = pods.partition_point(|w| *w <= warning);
        pods.insert(at, warning);
    }
    warnings.extend(pods);
    warnings
}
