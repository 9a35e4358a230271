//! Hard limits on input. Each is far above what a real cluster produces and low enough that
//! evaluation stays in microseconds; input past a limit is rejected with a message naming it.

/// The largest request accepted, in bytes: an AdmissionReview carries the object and the old
/// object, each at most etcd's 1.5 MiB, so 8 MiB leaves room for both and their envelope.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024 * 1024;

/// The most containers (init, regular and ephemeral together) one pod spec may have.
pub const MAX_CONTAINERS: usize = 1024;

/// The most volumes one pod spec may have.
pub const MAX_VOLUMES: usize = 1024;

/// The deepest JSON nesting accepted anywhere in a request; checked in one pass over the
/// bytes before parsing, so a deeply nested document fails fast.
pub const MAX_NESTING_DEPTH: usize = 128;
