//! Deciding a request, in pipeline order: the request is read ([`crate::request`]), the
//! settings resolved ([`crate::settings`]), the request routed by operation, kind and
//! subresource and the exemptions applied ([`crate::exemptions`]), the pod under review
//! taken from the workload ([`crate::workload`]) and PSA's update rule applied
//! ([`crate::update`]), the checks run ([`crate::checks`]), and the verdict turned into the
//! response ([`crate::response`]).

use crate::admission::{self, Detail, Lookup};
use crate::checks::Finding;
use crate::cluster::{Cluster, NoCluster};
use crate::exemptions::{exclude_containers, object_exemption, request_exemption, Exemption};
use crate::limits::{MAX_CONTAINERS, MAX_REQUEST_BYTES, MAX_VOLUMES};
use crate::pod::PodSpec;
use crate::request::{
    describe_object_error, AdmissionRequest, GroupVersionKind, KubeObject, LooseValidationRequest,
    ValidationRequest,
};
use crate::response::{SettingsValidationResponse, ValidationResponse, Verdict};
use crate::settings::{Effect, Settings};
use crate::update::significant_update;
use crate::workload::ResourceKind;
use crate::{Error, Level};
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// The audit annotation key under which the `audit` effect records violations.
pub const AUDIT_ANNOTATION: &str = "audit-violations";

/// A decided request: the Kubewarden response and the verdict behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// What a Kubewarden host returns to the API server.
    pub response: ValidationResponse,
    /// The detail: object identity, every violation with its field path.
    pub verdict: Verdict,
}

/// Kubewarden's `validate`: a `ValidationRequest` in, a `ValidationResponse` out. Input
/// that cannot be evaluated is rejected with code 400 and a message that says why.
pub fn validate(input: &[u8]) -> ValidationResponse {
    validate_with(input, &NoCluster)
}

/// [`validate`] with a host that answers questions about the cluster (the
/// namespace-labels mode asks for the request's Namespace).
pub fn validate_with(input: &[u8], cluster: &dyn Cluster) -> ValidationResponse {
    match evaluate_reading(input, cluster, Detail::Response, |_| {}) {
        Ok(evaluation) => evaluation.response,
        Err(error) => rejection(&error),
    }
}

/// The response for input that cannot be evaluated: rejected, code 400, the reason.
pub fn rejection(error: &Error) -> ValidationResponse {
    ValidationResponse::reject(format!("podsec: {error}"), 400)
}

/// Kubewarden's `validate_settings`: a settings document in, `{valid, message}` out.
pub fn validate_settings(input: &[u8]) -> SettingsValidationResponse {
    match Settings::from_slice(input) {
        Ok(_) => SettingsValidationResponse {
            valid: true,
            message: None,
        },
        Err(error) => SettingsValidationResponse {
            valid: false,
            message: Some(error.message().to_owned()),
        },
    }
}

/// Parses a `ValidationRequest` and decides it, without access to the cluster.
pub fn evaluate(input: &[u8]) -> Result<Evaluation, Error> {
    evaluate_with(input, &NoCluster)
}

/// Parses a `ValidationRequest` and decides it; `cluster` answers the namespace-labels
/// mode's questions.
pub fn evaluate_with(input: &[u8], cluster: &dyn Cluster) -> Result<Evaluation, Error> {
    evaluate_reading(input, cluster, Detail::Verdict, |_| {})
}

/// [`evaluate_with`] for `detail`, telling `seen` the settings once they are read (the
/// mutating mode learns whether it is on without reading them twice).
pub(crate) fn evaluate_reading(
    input: &[u8],
    cluster: &dyn Cluster,
    detail: Detail,
    mut seen: impl FnMut(&Settings),
) -> Result<Evaluation, Error> {
    if input.len() > MAX_REQUEST_BYTES {
        return Err(Error::TooLarge(format!(
            "the request is {} bytes; the limit is {MAX_REQUEST_BYTES}",
            input.len()
        )));
    }
    // One UTF-8 check for the whole document is cheaper than serde_json's per string.
    let text = std::str::from_utf8(input)
        .map_err(|e| Error::InvalidRequest(format!("the request is not UTF-8: {e}")))?;
    match serde_json::from_str::<ValidationRequest<'_>>(text) {
        Ok(request) => {
            let settings = read_settings(request.settings)?;
            seen(&settings);
            decide(*request.request, &settings, cluster, detail)
        }
        Err(error) => explain_unreadable(input, &error),
    }
}

fn read_settings(raw: Option<&RawValue>) -> Result<Settings, Error> {
    match raw {
        Some(raw) => Settings::from_json(raw.get()),
        None => Ok(Settings::default()),
    }
}

/// The one-pass read failed. Read the request again with the objects left raw: an object
/// of a kind (or operation, or namespace) podsec does not evaluate is let through as it
/// would have been; otherwise the error names the field at fault.
fn explain_unreadable(input: &[u8], error: &serde_json::Error) -> Result<Evaluation, Error> {
    let text = std::str::from_utf8(input)
        .map_err(|e| Error::InvalidRequest(format!("the request is not UTF-8: {e}")))?;
    let loose: LooseValidationRequest<'_> = serde_json::from_str(text)
        .map_err(|e| Error::InvalidRequest(format!("not a ValidationRequest: {e}")))?;
    let settings = read_settings(loose.settings)?;
    let request = &loose.request;
    let head = RequestHead {
        operation: request.operation.as_deref(),
        kind: request.kind.as_ref(),
        sub_resource: request.sub_resource.as_deref(),
        namespace: request.namespace.as_deref(),
        name: None,
        username: request
            .user_info
            .as_ref()
            .and_then(|u| u.username.as_deref()),
    };
    let kind = match admit_to_checks(&head, &settings) {
        Gate::Check(kind) => kind,
        Gate::Skip(evaluation) => return Ok(*evaluation),
    };
    for (label, raw) in [("", request.object), ("oldObject: ", request.old_object)] {
        if let Some(raw) = raw {
            if serde_json::from_str::<KubeObject<'_>>(raw.get()).is_err() {
                let at = describe_object_error(raw.get());
                return Err(Error::InvalidObject(format!(
                    "{}: {label}{at}",
                    kind.as_str()
                )));
            }
        }
    }
    Err(Error::InvalidRequest(format!(
        "not a ValidationRequest: {error}"
    )))
}

/// Decides an admission request under validated settings, without access to the cluster.
pub fn evaluate_request(
    request: AdmissionRequest<'_>,
    settings: &Settings,
) -> Result<Evaluation, Error> {
    evaluate_request_with(request, settings, &NoCluster)
}

/// Decides an admission request under validated settings; `cluster` answers the
/// namespace-labels mode's questions.
pub fn evaluate_request_with(
    request: AdmissionRequest<'_>,
    settings: &Settings,
    cluster: &dyn Cluster,
) -> Result<Evaluation, Error> {
    decide(request, settings, cluster, Detail::Verdict)
}

/// [`evaluate_request_with`] for `detail`.
fn decide(
    request: AdmissionRequest<'_>,
    settings: &Settings,
    cluster: &dyn Cluster,
    detail: Detail,
) -> Result<Evaluation, Error> {
    let head = RequestHead {
        operation: request.operation.as_deref(),
        kind: request.kind.as_ref(),
        sub_resource: request.sub_resource.as_deref(),
        namespace: request.namespace.as_deref(),
        name: request.name.as_deref(),
        username: request
            .user_info
            .as_ref()
            .and_then(|u| u.username.as_deref()),
    };
    if settings.namespace_labels && head.is_namespace() {
        return Ok(admission::namespace_request(
            &request,
            settings,
            cluster,
            head.verdict(),
        ));
    }
    let kind = match admit_to_checks(&head, settings) {
        Gate::Check(kind) => kind,
        Gate::Skip(evaluation) => return Ok(*evaluation),
    };
    let mut verdict = head.verdict();
    let labelled = if settings.namespace_labels {
        let namespace = head.namespace.unwrap_or("");
        match admission::namespace_policy(namespace, kind, settings, cluster, head.verdict()) {
            Lookup::Policy(policy, errors) => Some((policy, errors)),
            Lookup::Answer(evaluation) => return Ok(*evaluation),
        }
    } else {
        None
    };
    let is_update = request.operation.as_deref() == Some("UPDATE");
    let object = request.object.ok_or_else(|| {
        Error::InvalidObject(format!("the {} request has no object", kind.as_str()))
    })?;
    let mut pod = object.into_pod(kind);
    if verdict.name.is_none() {
        verdict.name = pod.object_meta.name.as_deref().map(str::to_owned);
    }
    if pod.spec.is_none() {
        return Err(missing_spec(kind, verdict.name.as_deref()));
    }
    if let Some(exemption) = object_exemption(&pod, settings) {
        return Ok(exempted(verdict, exemption, settings));
    }
    if is_update {
        if let Some(old) = request.old_object {
            let old = old.into_pod(kind);
            if !significant_update(kind, &pod, &old) {
                return Ok(skipped(
                    verdict,
                    "the update does not change what the checks read".to_owned(),
                ));
            }
        }
    }
    let Some(mut spec) = pod.spec.take() else {
        return Err(missing_spec(kind, verdict.name.as_deref()));
    };
    enforce_limits(&spec)?;
    exclude_containers(&mut spec, settings);
    if let Some((policy, errors)) = labelled {
        let object =
            (kind != ResourceKind::Pod).then(|| object_label(kind, verdict.name.as_deref()));
        return Ok(admission::conclude(
            verdict,
            kind,
            &spec,
            pod.pod_meta(),
            settings,
            &policy,
            &errors,
            object,
            detail,
        ));
    }

    let checked = admission::findings_at(
        settings.level,
        settings.version.minor(),
        &spec,
        pod.pod_meta(),
        settings,
        kind.pod_paths(),
        head.namespace.unwrap_or(""),
        detail,
    );
    verdict.exempted = checked.exempted;
    let object = (kind != ResourceKind::Pod).then(|| object_label(kind, verdict.name.as_deref()));
    Ok(conclude(verdict, checked.findings, settings, object))
}

/// The fields of a request that decide whether the checks run at all.
struct RequestHead<'r> {
    operation: Option<&'r str>,
    kind: Option<&'r GroupVersionKind<'r>>,
    sub_resource: Option<&'r str>,
    namespace: Option<&'r str>,
    name: Option<&'r str>,
    username: Option<&'r str>,
}

impl RequestHead<'_> {
    /// Whether the request is for a core/v1 Namespace.
    fn is_namespace(&self) -> bool {
        self.kind
            .is_some_and(|k| k.group.is_empty() && k.kind == "Namespace")
    }

    /// An allowing verdict naming the request's object.
    fn verdict(&self) -> Verdict {
        Verdict {
            kind: self.kind.map(|k| k.kind.to_string()),
            namespace: self.namespace.map(str::to_owned),
            name: self.name.map(str::to_owned),
            allowed: true,
            ..Verdict::default()
        }
    }
}

enum Gate {
    /// Run the checks for this kind.
    Check(ResourceKind),
    /// Answer without checks.
    Skip(Box<Evaluation>),
}

/// Routing, the privileged level and the request-level exemptions, in that order.
fn admit_to_checks(head: &RequestHead<'_>, settings: &Settings) -> Gate {
    let skip = |why: String| Gate::Skip(Box::new(skipped(head.verdict(), why)));
    let kind = match route(head.operation, head.kind, head.sub_resource) {
        Route::Evaluate(kind) => kind,
        Route::Skip(why) => return skip(why),
    };
    if settings.level == Level::Privileged && !settings.namespace_labels {
        return skip("the level is privileged".to_owned());
    }
    match request_exemption(head.namespace, head.username, settings) {
        Some(exemption) => Gate::Skip(Box::new(exempted(head.verdict(), exemption, settings))),
        None => Gate::Check(kind),
    }
}

enum Route {
    Evaluate(ResourceKind),
    Skip(String),
}

/// PSA's routing: which requests are evaluated at all.
fn route(
    operation: Option<&str>,
    gvk: Option<&GroupVersionKind<'_>>,
    subresource: Option<&str>,
) -> Route {
    let operation = operation.unwrap_or("");
    if operation != "CREATE" && operation != "UPDATE" {
        return Route::Skip(format!("{operation} requests are not evaluated"));
    }
    let Some(gvk) = gvk else {
        return Route::Skip("the request names no kind".to_owned());
    };
    let Some(kind) = ResourceKind::from_group_kind(&gvk.group, &gvk.kind) else {
        let group = if gvk.group.is_empty() {
            "core"
        } else {
            gvk.group.as_ref()
        };
        return Route::Skip(format!(
            "{group}/{} is not a kind podsec evaluates",
            gvk.kind
        ));
    };
    let subresource = subresource.unwrap_or("");
    let evaluated = subresource.is_empty()
        || (kind == ResourceKind::Pod && subresource == "ephemeralcontainers");
    if !evaluated {
        return Route::Skip(format!("the {subresource} subresource is not evaluated"));
    }
    Route::Evaluate(kind)
}

fn enforce_limits(spec: &PodSpec<'_>) -> Result<(), Error> {
    if spec.container_count() > MAX_CONTAINERS {
        return Err(Error::TooLarge(format!(
            "the pod has {} containers; the limit is {MAX_CONTAINERS}",
            spec.container_count()
        )));
    }
    if spec.volumes.len() > MAX_VOLUMES {
        return Err(Error::TooLarge(format!(
            "the pod has {} volumes; the limit is {MAX_VOLUMES}",
            spec.volumes.len()
        )));
    }
    Ok(())
}

/// The error for an object of an evaluated kind without a pod spec.
fn missing_spec(kind: ResourceKind, name: Option<&str>) -> Error {
    let (spec_path, _) = kind.pod_paths();
    Error::InvalidObject(format!("{} has no {spec_path}", object_label(kind, name)))
}

/// `Deployment "web"`, for messages about workloads.
fn object_label(kind: ResourceKind, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("{} \"{name}\"", kind.as_str()),
        None => kind.as_str().to_owned(),
    }
}

/// An exempt request; in the namespace-labels mode with PSA's `exempt` annotation.
fn exempted(verdict: Verdict, exemption: Exemption, settings: &Settings) -> Evaluation {
    let mut evaluation = skipped(verdict, exemption.why);
    if settings.namespace_labels && !exemption.psa_name.is_empty() {
        evaluation.response.audit_annotations = Some(BTreeMap::from([(
            admission::EXEMPT_ANNOTATION.to_owned(),
            exemption.psa_name.to_owned(),
        )]));
    }
    evaluation
}

fn skipped(mut verdict: Verdict, why: String) -> Evaluation {
    verdict.skipped = Some(why);
    Evaluation {
        response: ValidationResponse::accept(),
        verdict,
    }
}

/// PSA's aggregate text: `reason (detail), reason (detail)`.
pub fn forbidden_detail(findings: &[Finding]) -> String {
    // Written in place: one string, not one per finding and a join.
    let mut out = String::new();
    for (i, finding) in findings.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        finding.write_text(&mut out);
    }
    out
}

fn conclude(
    mut verdict: Verdict,
    findings: Vec<Finding>,
    settings: &Settings,
    object: Option<String>,
) -> Evaluation {
    if findings.is_empty() {
        return Evaluation {
            response: ValidationResponse::accept(),
            verdict,
        };
    }
    let label = settings.policy_label();
    let detail = forbidden_detail(&findings);
    verdict.findings = findings;
    // `[object: ]violates PodSecurity "label": detail`, as PSA words it.
    let object = object.as_deref().map_or(["", ""], |o| [o, ": "]);
    let text = |verb: &str| {
        [
            object[0],
            object[1],
            verb,
            " PodSecurity \"",
            &label,
            "\": ",
            &detail,
        ]
        .concat()
    };
    let response = match settings.effect {
        Effect::Deny => {
            let message = text("violates");
            verdict.allowed = false;
            verdict.message = Some(message.clone());
            ValidationResponse::reject(message, 403)
        }
        Effect::Audit => {
            let warning = text("would violate");
            verdict.warnings = vec![warning.clone()];
            ValidationResponse {
                accepted: true,
                warnings: Some(vec![warning.clone()]),
                audit_annotations: Some(BTreeMap::from([(AUDIT_ANNOTATION.to_owned(), warning)])),
                ..ValidationResponse::default()
            }
        }
    };
    Evaluation { response, verdict }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod_request(spec: serde_json::Value) -> Vec<u8> {
        let request = json!({"request": {"uid": "1", "operation": "CREATE", "namespace": "default",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "object": {"metadata": {"name": "p"}, "spec": spec}}, "settings": {}});
        serde_json::to_vec(&request).unwrap()
    }

    #[test]
    fn validate_answers_as_evaluate_without_field_paths() {
        let spec = json!({"hostNetwork": true, "containers": [
            {"name": "a", "securityContext": {"privileged": true,
                "capabilities": {"add": ["NET_ADMIN"]}}},
            {"name": "b", "securityContext": {"privileged": true}}]});
        let input = pod_request(spec);
        let evaluation = evaluate(&input).unwrap();
        assert!(!evaluation.response.accepted);
        assert_eq!(validate(&input), evaluation.response);
        // The verdict names every field; validate's answer never shows them.
        let paths: Vec<String> = evaluation
            .verdict
            .findings
            .iter()
            .flat_map(|f| f.fields.iter().map(|field| field.path.to_string()))
            .collect();
        assert!(paths.contains(&"spec.containers[1].securityContext.privileged".to_owned()));
        assert!(paths.iter().all(|p| !p.is_empty()), "{paths:?}");
        // Check-scoped exemptions match fields, so validate still reads them there.
        let mut request: serde_json::Value = serde_json::from_slice(&input).unwrap();
        request["settings"] = json!({"exemptions": [{"checks": ["privileged", "capabilities_baseline"],
            "containers": ["a"]}]});
        let input = serde_json::to_vec(&request).unwrap();
        let evaluation = evaluate(&input).unwrap();
        assert_eq!(validate(&input), evaluation.response);
        let message = evaluation.response.message.unwrap_or_default();
        assert!(
            message.contains(r#"container "b" must not set securityContext.privileged=true"#),
            "{message}"
        );
        assert!(!message.contains("NET_ADMIN"), "{message}");
    }

    #[test]
    fn oversized_requests_are_rejected() {
        let big = vec![b' '; MAX_REQUEST_BYTES + 1];
        let error = evaluate(&big).unwrap_err();
        assert!(
            error.to_string().contains("the limit is 8388608"),
            "{error}"
        );
        let response = validate(&big);
        assert!(!response.accepted);
        assert_eq!(response.code, Some(400));
    }

    #[test]
    fn too_many_containers_or_volumes_are_rejected() {
        let containers: Vec<_> = (0..=MAX_CONTAINERS)
            .map(|i| json!({"name": format!("c{i}")}))
            .collect();
        let error = evaluate(&pod_request(json!({"containers": containers}))).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("1025 containers; the limit is 1024"),
            "{error}"
        );
        let volumes: Vec<_> = (0..=MAX_VOLUMES)
            .map(|i| json!({"name": format!("v{i}"), "emptyDir": {}}))
            .collect();
        let error =
            evaluate(&pod_request(json!({"containers": [], "volumes": volumes}))).unwrap_err();
        assert!(error.to_string().contains("1025 volumes"), "{error}");
    }

    #[test]
    fn deep_nesting_is_an_error_where_read_and_harmless_where_skipped() {
        // Fields podsec reads: serde_json's recursion limit stops the parse with an error.
        let mut spec = json!({"containers": []});
        for _ in 0..70 {
            spec = json!({"containers": [], "template": {"spec": spec}});
        }
        let request = json!({"request": {"uid": "1", "operation": "CREATE", "namespace": "default",
            "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "object": {"metadata": {"name": "d"}, "spec": spec}}});
        let error = evaluate(&serde_json::to_vec(&request).unwrap()).unwrap_err();
        assert!(
            error.to_string().contains("recursion limit exceeded"),
            "{error}"
        );
        // Fields podsec skips: skipped iteratively, whatever the depth (no stack growth).
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        let text = format!(
            r#"{{"request": {{"uid": "1", "operation": "CREATE", "namespace": "default", "kind": {{"group": "", "version": "v1", "kind": "Pod"}}, "object": {{"metadata": {{"name": "p"}}, "spec": {{"containers": [{{"name": "c", "env": {deep}}}]}}}}}}}}"#
        );
        assert!(evaluate(text.as_bytes()).unwrap().response.accepted);
    }

    #[test]
    fn settings_validation_answers_like_kubewarden() {
        assert_eq!(
            serde_json::to_string(&validate_settings(b"{}")).unwrap(),
            r#"{"valid":true}"#
        );
        let bad = validate_settings(br#"{"level": 1}"#);
        assert!(!bad.valid);
        assert_eq!(
            bad.message.as_deref(),
            Some("level must be a string, not a number")
        );
    }
}
