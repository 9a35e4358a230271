//! Hard limits on input. Each is far above what a real cluster produces and low enough that
//! evaluation stays in microseconds; input past a limit is rejected with a message naming it.

/// The largest request accepted, in bytes: an AdmissionReview carries the object and the old
/// object, each at most etcd's 1.5 MiB, so 8 MiB leaves room for both and their envelope.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024 * 1024;

/// The most containers (init, regular and ephemeral together) one pod spec may have.
pub const MAX_CONTAINERS: usize = 1024;

/// The most volumes one pod spec may have.
pub const MAX_VOLUMES: usize = 1024;

/// The deepest JSON nesting accepted in the fields podsec reads: serde_json's recursion
/// limit, which stops the parse with an error. Fields podsec does not read are skipped
/// without recursion, so nesting there costs only time linear in the request's size,
/// which [`MAX_REQUEST_BYTES`] bounds.
pub const MAX_NESTING_DEPTH: usize = 128;
